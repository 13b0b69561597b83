"""Content-addressed response cache: key = SHA-256 of model id + the exact Converse request.

The request carries every inference parameter and the full prompt, so any change to either is a
different key. Only successful answers are cached: a failed call is asked again. Entries are written
atomically (temp file + rename), so a crashed run never leaves a torn entry.

The cache exists so that a retried shard pays for nothing twice, not so that a new night re-measures
nothing: each entry records the run that measured it, and by default only that run may use it (its
retries and reruns). Reuse across runs is an explicit choice of the caller (`lookup(..., any_run=True)`),
and the row it produces says which run the answer came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_key(model_id: str, request: dict[str, Any]) -> str:
    canonical = json.dumps({"model_id": model_id, "request": request}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def lookup(self, key: str, run_id: str, *, any_run: bool = False) -> dict[str, Any] | None:
        """The entry for `key` if the run may use it: measured by `run_id`, or by any run when `any_run`."""
        entry = self.get(key)
        if entry is None or (not any_run and entry.get("run_id") != run_id):
            return None
        return entry

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entry, handle, ensure_ascii=False)
        os.replace(tmp, path)

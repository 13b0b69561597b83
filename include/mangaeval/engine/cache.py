"""Content-addressed response cache: key = SHA-256 of model id + the exact Converse request.

The request carries every inference parameter and the full prompt, so any change to either is a
different key. Only successful answers are cached: a failed call is asked again. Entries are written
whole (an S3 PutObject, or a local temp file + rename), so a crashed run never leaves a torn entry.

The cache exists so that a retried shard pays for nothing twice, not so that a new night re-measures
nothing: each entry records the run that measured it, and by default only that run may use it (its
retries and reruns). Reuse across runs is an explicit choice of the caller (`lookup(..., any_run=True)`),
and the row it produces says which run the answer came from.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mangaeval.request_hash import canonical_json, prompt_hash  # noqa: F401  (prompt_hash: the fixtures' key)


def cache_key(model_id: str, request: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({"model_id": model_id, "request": request}).encode()).hexdigest()


class ResponseCache:
    """Entries in an object store: a local folder or `s3://bucket/prefix` (what distributed workers share)."""

    def __init__(self, location: str | Path):
        from mangaeval.objectstore import open_store

        self.location = str(location)
        self.store = open_store(self.location)

    @staticmethod
    def _key(key: str) -> str:
        return f"{key[:2]}/{key}.json"

    def lookup(self, key: str, run_id: str, *, any_run: bool = False) -> dict[str, Any] | None:
        """The entry for `key` if the run may use it: measured by `run_id`, or by any run when `any_run`."""
        entry = self.get(key)
        if entry is None or (not any_run and entry.get("run_id") != run_id):
            return None
        return entry

    def get(self, key: str) -> dict[str, Any] | None:
        found = self.store.get(self._key(key))
        if found is None:
            return None
        try:
            return json.loads(found[0].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None  # a foreign or damaged entry: asked again, then overwritten

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self.store.put(self._key(key), json.dumps(entry, ensure_ascii=False).encode("utf-8"))  # whole-object write

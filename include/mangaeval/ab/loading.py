"""Event files into the warehouse: every row checked, malformed rows quarantined with their reason, and a
file (re)loaded as a whole, keyed by its source, in one transaction: an hourly rerun leaves the same rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mangaeval.events.schema import parse_file

TABLE_OF_KIND = {"requests": "request_events", "sessions": "session_events"}


def kind_of(key: str) -> str:
    """`requests` or `sessions` from an object key (events/requests/... or events/sessions/...)."""
    for kind in TABLE_OF_KIND:
        if f"/{kind}/" in f"/{key}" or Path(key).name.startswith(kind):
            return kind
    raise ValueError(f"{key}: cannot tell request from session events (expected .../requests/... or .../sessions/...)")


def load_event_file(warehouse: Any, path: str | Path, kind: str, load_id: str) -> dict[str, Any]:
    parsed = parse_file(path, kind, source=load_id)
    rows = parsed.rows.assign(load_id=load_id)
    quarantine = pd.DataFrame(parsed.quarantined, columns=["source", "line", "kind", "reason", "raw"]).assign(load_id=load_id)
    warehouse.replace_many({TABLE_OF_KIND[kind]: ({"load_id": load_id}, rows), "event_quarantine": ({"load_id": load_id}, quarantine)})
    return {"load_id": load_id, "kind": kind, "loaded": len(rows), "quarantined": len(quarantine),
            "problems": [f"{q['source']}:{q['line']}: {q['reason']}" for q in parsed.quarantined[:20]]}

"""Event files into the warehouse: every row checked, malformed rows quarantined with their reason, and a
file (re)loaded as a whole, keyed by its source, in one transaction: an hourly rerun leaves the same rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from mangaeval.events.schema import ParsedEvents, parse_file

TABLE_OF_KIND = {"requests": "request_events", "sessions": "session_events"}
QUARANTINE_COLUMNS = ["source", "line", "kind", "reason", "raw"]


def kind_of(key: str) -> str:
    """`requests` or `sessions` from an object key (events/requests/... or events/sessions/...)."""
    for kind in TABLE_OF_KIND:
        if f"/{kind}/" in f"/{key}" or Path(key).name.startswith(kind):
            return kind
    raise ValueError(f"{key}: cannot tell request from session events (expected .../requests/... or .../sessions/...)")


def load_event_file(warehouse: Any, path: str | Path, kind: str, load_id: str) -> dict[str, Any]:
    parsed = parse_file(path, kind, source=load_id)
    rows = parsed.rows.assign(load_id=load_id)
    quarantine = pd.DataFrame(parsed.quarantined, columns=QUARANTINE_COLUMNS).assign(load_id=load_id)
    resent: list[dict[str, Any]] = []
    then = _quarantine_resent_sessions(warehouse, parsed, load_id, resent) if kind == "sessions" else None
    counts = warehouse.replace_many({TABLE_OF_KIND[kind]: ({"load_id": load_id}, rows), "event_quarantine": ({"load_id": load_id}, quarantine)},
                                    then=then)
    problems = parsed.quarantined + resent
    return {"load_id": load_id, "kind": kind, "loaded": counts[TABLE_OF_KIND[kind]] - len(resent), "quarantined": len(problems),
            "problems": [f"{q['source']}:{q['line']}: {q['reason']}" for q in problems[:20]]}


def _quarantine_resent_sessions(warehouse: Any, parsed: ParsedEvents, load_id: str, resent: list[dict[str, Any]]):
    """In the load's transaction: move this load's session events whose session another load already brought
    into the quarantine (the first load keeps it; a reload of either file gives the same result)."""
    def then(cur: Any) -> None:
        duplicates = warehouse.fetch_in(cur, "ab/ab_resent_sessions.sql", {"load_id": load_id})
        if duplicates.empty:
            return
        by_session = {(row["experiment_id"], row["session_id"]): (line, row) for line, row in zip(parsed.lines, parsed.rows.to_dict("records"))}
        for experiment_id, session_id, loaded_from in duplicates.itertuples(index=False):
            line, row = by_session[(experiment_id, session_id)]
            warehouse.execute_in(cur, "ab/ab_drop_resent_session.sql", {"load_id": load_id, "experiment_id": experiment_id, "session_id": session_id})
            resent.append({"source": load_id, "line": line, "kind": "sessions",
                           "reason": f"session {session_id!r} of experiment {experiment_id!r} already loaded from {loaded_from} (re-sent event)",
                           "raw": json.dumps(row, ensure_ascii=False, default=str)[:2000]})
        warehouse.insert_in(cur, "event_quarantine", pd.DataFrame(resent, columns=QUARANTINE_COLUMNS).assign(load_id=load_id))
    return then


def rebuild_session_totals(warehouse: Any, experiment_id: str) -> None:
    """Recompute one experiment's request_session_totals from its events, in one transaction. Loads keep the
    totals in step on their own; this is for events written around the loader, or a repair."""
    with warehouse.transaction() as cur:
        warehouse.execute_script_in(cur, "ab/request_session_totals_touch_experiment.sql", {"experiment_id": experiment_id})
        warehouse.execute_script_in(cur, "ab/request_session_totals_refresh.sql", {"load_id": None})

"""What each task of the hourly `ab_analysis` DAG does, as plain functions (the DAG file only wires them).

Events land in the object store (MANGAEVAL_EVENTS_URI: a folder or s3://bucket/prefix; default the data
folder) under `events/requests/dt=YYYY-MM-DD/hour=HH/<file>.jsonl|.parquet` and `events/sessions/...`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mangaeval.errors import MangaEvalError

log = logging.getLogger(__name__)
EVENT_SUFFIXES = (".jsonl", ".json", ".parquet")


def events_store():
    from mangaeval.objectstore import open_store

    return open_store(os.environ.get("MANGAEVAL_EVENTS_URI"))


def hour_prefixes(start: datetime, end: datetime) -> list[str]:
    """The hourly partitions of [start, end), as key prefixes under events/<kind>/."""
    hours, current = [], start.replace(minute=0, second=0, microsecond=0)
    while current < end:
        hours.append(f"dt={current:%Y-%m-%d}/hour={current:%H}/")
        current += timedelta(hours=1)
    return hours


def event_keys(store, start: datetime | None, end: datetime | None) -> list[str]:
    keys = []
    for kind in ("requests", "sessions"):
        prefixes = [f"events/{kind}/"] if start is None else [f"events/{kind}/{p}" for p in hour_prefixes(start, end)]
        for prefix in prefixes:
            keys += [k for k in store.list(prefix) if k.endswith(EVENT_SUFFIXES)]
    return keys


def load_events(start: datetime | None, end: datetime | None, warehouse_uri: str | None = None) -> dict[str, Any]:
    """Load every event file of the interval (all of them when start is None), each keyed by its object key, then
    advance the request events' watermark (mangaeval.events.watermark): a canary judges a window only once it has
    passed the window's end. A failed load raises before the watermark moves."""
    from mangaeval.ab.loading import kind_of, load_event_file
    from mangaeval.events import watermark
    from mangaeval.warehouse import connect

    store = events_store()
    keys = event_keys(store, start, end)
    warehouse = connect(warehouse_uri)
    loaded, quarantined = 0, 0
    try:
        warehouse.require_schema()
        with tempfile.TemporaryDirectory() as tmp:
            for key in keys:
                found = store.get(key)
                if found is None:
                    raise MangaEvalError(f"{store.uri}/{key}: listed but gone")
                local = Path(tmp) / Path(key).name
                local.write_bytes(found[0])
                result = load_event_file(warehouse, local, kind_of(key), f"{store.uri}/{key}")
                loaded += result["loaded"]
                quarantined += result["quarantined"]
                if result["quarantined"]:
                    log.warning("%s: %d malformed row(s) quarantined (table event_quarantine), e.g.\n%s", key, result["quarantined"],
                                "\n".join(result["problems"][:5]))
        complete = watermark.after_load(warehouse, start, end)
    finally:
        warehouse.close()
    log.info("loaded %d event row(s) from %d file(s); %d quarantined; request events complete through %s", loaded, len(keys),
             quarantined, complete)
    return {"files": len(keys), "loaded": loaded, "quarantined": quarantined,
            "complete_through": complete.isoformat() if complete else None}


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    from mangaeval.ab.experiments import load_experiments

    known = load_experiments()
    wanted = params.get("experiments") or sorted(known)
    unknown = [e for e in wanted if e not in known]
    if unknown:
        raise MangaEvalError(f"experiments {unknown} are not in include/config/experiments.yaml (known: {sorted(known)})")
    as_of = params.get("as_of")
    if as_of:
        try:
            parsed = datetime.fromisoformat(as_of)
        except ValueError:
            raise MangaEvalError(f"as_of {as_of!r} is not an ISO-8601 time") from None
        if parsed.tzinfo is None:
            raise MangaEvalError(f"as_of {as_of!r} needs a time zone (e.g. 2026-11-24T10:00:00Z)")
    return {"experiments": wanted, "as_of": as_of, "apply_proposals": bool(params.get("apply_proposals")),
            "reload_all": bool(params.get("reload_all"))}


def analyze_experiments(plan: dict[str, Any], as_of: datetime, manual: bool, warehouse_uri: str | None = None) -> dict[str, Any]:
    """Analyse each running experiment as of `as_of`; store the look; publish proposals; apply them only when a
    person asked (a manual run with apply_proposals) or the experiment allows automation."""
    from mangaeval.ab.analysis import utc_naive
    from mangaeval.ab.experiments import load_experiments
    from mangaeval.ab.publishing import apply_proposal, current_experiments, proposal_for, write_proposal
    from mangaeval.ab.service import analyze_experiment, store_report
    from mangaeval.objectstore import open_store
    from mangaeval.warehouse import connect

    experiments = load_experiments()
    as_of = utc_naive(plan["as_of"] or as_of)
    routing_store = open_store()
    published = current_experiments(routing_store) or {"experiments": []}
    stopped = {e["id"] for e in published["experiments"] if e.get("status") == "stopped"}
    blocked = {e["id"]: e.get("blocked_reason", "") for e in published["experiments"] if e.get("status") == "blocked"}
    warehouse = connect(warehouse_uri)
    summary = {}
    try:
        warehouse.require_schema()
        for experiment_id in plan["experiments"]:
            experiment = experiments[experiment_id]
            if experiment_id in stopped:
                summary[experiment_id] = {"decision": "STOPPED", "reasons": ["stopped earlier (rolled back); not analysed"]}
                continue
            if experiment_id in blocked:
                summary[experiment_id] = {"decision": "BLOCKED", "reasons": [blocked[experiment_id]]}
                log.error("%s", blocked[experiment_id])
                continue
            if as_of < utc_naive(experiment.start_time):
                summary[experiment_id] = {"decision": "NOT_STARTED", "reasons": [f"starts at {experiment.to_public_dict()['start_time']}"]}
                continue
            doc = analyze_experiment(warehouse, experiment, as_of, store=False)
            proposal = proposal_for(doc, experiment)
            entry = {"decision": doc["decision"], "reasons": doc["reasons"], "srm": doc["srm"]["status"]}
            if proposal:
                entry["proposal"] = write_proposal(routing_store, proposal)
                if experiment.allow_automation or (manual and plan["apply_proposals"]):
                    entry["applied"] = apply_proposal(routing_store, proposal, experiments)
                else:
                    entry["applied"] = None
                    log.warning("%s: %s proposed (%s); apply it with a manual run of ab_analysis with apply_proposals=true",
                                experiment_id, doc["decision"], entry["proposal"])
            store_report(warehouse, doc, as_of, proposal)
            log.info("%s as of %s: %s\n  %s", experiment_id, as_of, doc["decision"], "\n  ".join(doc["reasons"]))
            summary[experiment_id] = entry
    finally:
        warehouse.close()
    return {"as_of": as_of.isoformat(), "experiments": summary}

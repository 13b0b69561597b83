"""What a rollout changes in production besides its split, through the routing ledger:

- before it starts: it refuses intents where an A/B experiment is running or another rollout is active, and
  records the ledger version it starts from (`canary/<rollout>/routing_base.json`);
- when its last stage promotes: the routing table serves the candidate on its intents (a `canary_completion`
  entry, held against nightly runs), then `canary/<rollout>/completed.json`, then a split with no canary
  traffic (the table serves the candidate now, so nothing moves for users and the next rollout starts clean);
- after a rollback: its intents get back the routes of the version it started from (an entry only where a
  route differs).
"""

from __future__ import annotations

import json
from typing import Any

from mangaeval.canary import split
from mangaeval.errors import MangaEvalError
from mangaeval.objectstore import ObjectStore, PreconditionFailed
from mangaeval.routing import ledger, precedence
from mangaeval.routing.activity import active_rollout, running_experiments
from mangaeval.traffic import covered  # a rollout's intents: "*" or none = every intent of the mix


def base_key(rollout_id: str) -> str:
    return f"canary/{split.checked_rollout_id(rollout_id)}/routing_base.json"


def refuse_overlap(store: ObjectStore, rollout_id: str, intents: list[str], now: str) -> None:
    """MangaEvalError naming the experiment or rollout that already moves one of these intents."""
    routes = (ledger.read_head(store).document or {}).get("routes", {})
    wanted = set(covered(intents))
    for experiment_id, e in running_experiments(store, now, routes).items():
        overlap = sorted(wanted & set(e["intents"]))
        if overlap:
            raise MangaEvalError(f"rollout {rollout_id} cannot start: A/B experiment {experiment_id} is running on {overlap} "
                                 "(end or roll it back first, or leave these intents out)")
    other = active_rollout(store)
    if other and other["rollout_id"] != rollout_id and wanted & set(other["intents"]):
        raise MangaEvalError(f"rollout {rollout_id} cannot start: rollout {other['rollout_id']} is active on "
                             f"{sorted(wanted & set(other['intents']))} (stage {other['stage']}, {other['canary_pct']:g}% canary)")


def record_base(store: ObjectStore, rollout_id: str) -> int:
    """The ledger version the rollout starts from (kept from the first attempt: a retried start re-uses it)."""
    key = base_key(rollout_id)
    head = ledger.read_head(store)
    try:
        store.put(key, json.dumps({"rollout_id": rollout_id, "ledger_version": head.version}).encode(), if_none_match=True)
    except PreconditionFailed:
        pass
    found = store.get(key)
    return int(json.loads(found[0])["ledger_version"])


def _figures(judgement: dict[str, Any]) -> dict[str, Any]:
    metrics = judgement.get("metrics", {})
    return {"mean_quality": metrics.get("quality", {}).get("canary_value"), "latency_p95_ms": metrics.get("latency", {}).get("canary_value"),
            "mean_cost_usd": metrics.get("cost_per_request", {}).get("canary_value"), "pass_rate": None}


def complete(store: ObjectStore, rollout_id: str, candidate: Any, intents: list[str], stage: int, judgement: dict[str, Any],
             at: str) -> dict[str, Any]:
    """The last stage promoted: the routing table takes over the candidate's intents, then the split is retired."""
    from mangaeval.routing.document import make_route

    at = ledger.utc_stamp(at)
    head = ledger.read_head(store)
    if head.document is None:
        raise MangaEvalError(f"{store.uri}: no routing table to complete rollout {rollout_id} into; run model_evaluation first")
    routes = head.document["routes"]
    targets = covered(intents)
    set_by = {"kind": "canary_completion", "id": rollout_id, "stage": stage, "at": at}
    figures = _figures(judgement)

    def route_for(intent: str, current: dict[str, Any] | None) -> dict[str, Any]:
        return make_route(candidate, figures, f"rollout {rollout_id} completed: stage {stage} (100%) promoted", set_by=set_by,
                          held=precedence.held_reason(set_by), dataset_version=(current or {}).get("dataset_version"),
                          figures_from=f"rollout {rollout_id}, stage {stage} canary traffic",
                          baseline_cost_usd=(current or {}).get("baseline_cost_usd"))

    from mangaeval.routing.activity import frozen_intents

    frozen = frozen_intents(store, at, routes, skip_rollout=rollout_id)
    result = ledger.commit(store, set_by, precedence.live_winner("canary_completion", targets, route_for, frozen), at,
                           initial=lambda: head.document, evidence={"judgement": judgement.get("metrics", {})})
    if result["declined"]:
        raise MangaEvalError(f"rollout {rollout_id}: completed, but the routing table refused it: "
                             + "; ".join(f"{d['intent']}: {d['why']}" for d in result["declined"]) + " (its 100% split stays current)")
    record = {"rollout_id": rollout_id, "completed_at": at, "ledger_version": result["version"], "intents": targets}
    try:
        store.put(split.completed_key(rollout_id), json.dumps(record, indent=2).encode(), if_none_match=True)
    except PreconditionFailed:
        pass  # a retried completion: the first record stands
    retired = split.retire(store, rollout_id, len(targets) and stage)
    return {"routing": {k: v for k, v in result.items() if k != "changes"}, "changes": result["changes"], "split": retired}


def restore(store: ObjectStore, rollout_id: str, intents: list[str], at: str) -> dict[str, Any]:
    """After a rollback: the routes of the version the rollout started from, where they differ now."""
    found = store.get(base_key(rollout_id))
    if found is None:
        return {"changed": False, "note": "the rollout never started: nothing to restore"}
    version = int(json.loads(found[0])["ledger_version"])
    before = ledger.document_at(store, version)
    if before is None:
        return {"changed": False, "note": "no routing table before the rollout"}
    set_by = {"kind": "canary_rollback", "id": rollout_id, "at": ledger.utc_stamp(at)}
    targets = {i: before["routes"][i] for i in covered(intents) if i in before["routes"]}
    result = ledger.commit(store, set_by, precedence.restore("canary_rollback", targets, version, set_by, f"rollout {rollout_id} rolled back"),
                           set_by["at"], initial=lambda: before)
    return {k: v for k, v in result.items() if k != "changes"} | {"changes": result["changes"]}

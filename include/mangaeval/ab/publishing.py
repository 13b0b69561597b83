"""What the A/B system publishes to the object store, each the safe way (immutable version, then `current`
by a conditional write):

- `experiments/current.json`: the experiments the chatbot assigns sessions for (mangaeval.ab.assignment);
- `ab/proposals/<experiment>/<time>.json`: a decision to promote or roll back, as a proposed change. It is
  applied only by a human-triggered run (or an experiment with allow_automation). PROMOTE routes the
  experiment's intents to the treatment configuration through the routing ledger (an `ab_promotion` entry,
  held against nightly runs) and ends the experiment; ROLLBACK stops the experiment (treatment share 0), so
  every session gets control again, and restores the routes the ledger had when the experiment started.

An experiment is published as running only if no rollout holds one of its intents (mangaeval.routing.activity).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mangaeval.ab.experiments import Experiment
from mangaeval.errors import MangaEvalError
from mangaeval.objectstore import ObjectStore, PreconditionFailed

EXPERIMENTS_CURRENT = "experiments/current.json"
SCHEMA_VERSION = 1


def _bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _swap_current(store: ObjectStore, key: str, data: bytes, expected: tuple[bytes, str] | None) -> bool:
    if expected is not None and expected[0] == data:
        return False
    try:
        store.put_if_unchanged(key, data, expected[1] if expected else None)
    except PreconditionFailed as exc:
        raise MangaEvalError(f"{store.uri}/{key}: changed by another publisher after we read it; nothing overwritten ({exc})") from None
    return True


def current_experiments(store: ObjectStore) -> dict[str, Any] | None:
    found = store.get(EXPERIMENTS_CURRENT)
    return json.loads(found[0]) if found else None


def publish_experiments(store: ObjectStore, experiments: dict[str, Experiment], stop: dict[str, str] | None = None) -> dict[str, Any]:
    """Publish the experiments config; experiments stopped earlier (or in `stop`: id -> why) stay stopped. An
    experiment not yet running refuses to start on an intent under rollout: it is published `blocked`
    (treatment share 0) with the rollout named, and starts at a later publication once the rollout is over."""
    expected = store.get(EXPERIMENTS_CURRENT)
    previous = json.loads(expected[0]) if expected else {"experiments": []}
    stopped = {e["id"]: e.get("stopped_reason", "") for e in previous.get("experiments", []) if e.get("status") == "stopped"}
    stopped.update(stop or {})
    blocked = _blocked_by_rollout(store, experiments, stopped, {e["id"] for e in previous.get("experiments", []) if e.get("status") == "running"})
    entries = []
    for experiment in sorted(experiments.values(), key=lambda e: e.id):
        entry = {**experiment.to_public_dict(), "status": "running"}
        if experiment.id in stopped:
            entry.update(status="stopped", treatment_share=0.0, stopped_reason=stopped[experiment.id])
        elif experiment.id in blocked:
            entry.update(status="blocked", treatment_share=0.0, blocked_reason=blocked[experiment.id])
        entries.append(entry)
    doc = {"schema_version": SCHEMA_VERSION, "experiments": entries}
    data = _bytes(doc)
    version = hashlib.sha256(data).hexdigest()[:16]
    version_key = f"experiments/versions/{version}.json"
    if store.get(version_key) is None:
        store.put(version_key, data, if_none_match=True)
    if store.get(version_key)[0] != data:
        raise MangaEvalError(f"{store.uri}/{version_key}: read-back differs from what was written")
    changed = _swap_current(store, EXPERIMENTS_CURRENT, data, expected)
    return {"current": f"{store.uri}/{EXPERIMENTS_CURRENT}", "version": version, "changed": changed, "experiments": len(entries),
            "blocked": blocked}


def _blocked_by_rollout(store: ObjectStore, experiments: dict[str, Experiment], stopped: dict[str, str], running: set[str]) -> dict[str, str]:
    """experiment id -> why it may not start (a rollout holds one of its intents)."""
    from mangaeval.routing.activity import active_rollout, experiment_intents
    from mangaeval.routing.ledger import read_head

    rollout = active_rollout(store)
    if rollout is None:
        return {}
    routes = (read_head(store).document or {}).get("routes", {})
    blocked = {}
    for experiment in experiments.values():
        if experiment.id in stopped or experiment.id in running:
            continue  # already running before the rollout (the rollout refused to start on its intents) or over
        intents = experiment_intents(experiment.intents, experiment.control_config_id, routes)
        overlap = sorted(set(intents) & set(rollout["intents"]))
        if overlap:
            blocked[experiment.id] = (f"experiment {experiment.id} cannot start: intent(s) {overlap} are under rollout "
                                      f"{rollout['rollout_id']} (stage {rollout['stage']}, {rollout['canary_pct']:g}% canary); "
                                      "it starts once the rollout completes or is rolled back")
    return blocked


def proposal_for(report: dict[str, Any], experiment: Experiment) -> dict[str, Any] | None:
    """The routing change a PROMOTE or ROLLBACK decision proposes (None for every other decision)."""
    if report["decision"] not in ("PROMOTE_TREATMENT", "ROLLBACK"):
        return None
    action = "route_to_treatment" if report["decision"] == "PROMOTE_TREATMENT" else "stop_experiment"
    return {"schema_version": SCHEMA_VERSION, "experiment_id": experiment.id, "analyzed_at": report["analyzed_at"],
            "decision": report["decision"], "action": action, "intents": list(experiment.intents),
            "control_config_id": experiment.control_config_id, "treatment_config_id": experiment.treatment_config_id,
            "reasons": report["reasons"], "automatic": experiment.allow_automation,
            "start_time": experiment.to_public_dict()["start_time"], "figures": _treatment_figures(report)}


def _treatment_figures(report: dict[str, Any]) -> dict[str, Any]:
    """What the treatment showed on live traffic (the route's figures after a promotion), rounded as the routing
    document rounds them: a rerun of the same look must write the same proposal, and SQL sums of floats may
    differ in their last digits between runs."""
    from mangaeval.routing.document import ROUNDING

    metrics = report.get("metrics", {})

    def treatment(name: str, value: Any) -> float | None:
        return None if value is None else round(float(value), ROUNDING[name])

    return {"mean_quality": treatment("mean_quality", metrics.get("quality", {}).get("treatment_mean")),
            "mean_cost_usd": treatment("mean_cost_usd", metrics.get("cost_usd", {}).get("treatment_mean")),
            "latency_p95_ms": treatment("latency_p95_ms", (report.get("latency_p95") or {}).get("treatment", {}).get("p95")),
            "pass_rate": None, "treatment_n": metrics.get("quality", {}).get("treatment_n")}


def proposal_key(proposal: dict[str, Any]) -> str:
    stamp = proposal["analyzed_at"].replace(":", "").replace("-", "")
    return f"ab/proposals/{proposal['experiment_id']}/{stamp}.json"


def write_proposal(store: ObjectStore, proposal: dict[str, Any]) -> str:
    key = proposal_key(proposal)
    data = _bytes(proposal)
    try:
        store.put(key, data, if_none_match=True)
    except PreconditionFailed:
        existing = json.loads(store.get(key)[0])
        # The same look again (a rerun): the decision must match; its figures are measurements and the first stand.
        if {k: v for k, v in existing.items() if k != "figures"} != {k: v for k, v in proposal.items() if k != "figures"}:
            raise MangaEvalError(f"{store.uri}/{key}: a different proposal exists for this analysis time") from None
    return f"{store.uri}/{key}"


def apply_proposal(store: ObjectStore, proposal: dict[str, Any], experiments: dict[str, Experiment]) -> dict[str, Any]:
    """Carry out a proposal through the routing ledger. PROMOTE: the experiment's intents to the treatment
    (held), then the experiment ends. ROLLBACK: the experiment stops, then its intents get back the routes
    the ledger had when it started (nothing to write when they never changed)."""
    from mangaeval.routing import ledger, precedence
    from mangaeval.routing.activity import experiment_intents

    experiment_id = proposal["experiment_id"]
    at = ledger.utc_stamp(proposal["analyzed_at"])
    actor = {"id": experiment_id, "look": proposal["analyzed_at"], "at": at}
    head = ledger.read_head(store)
    if head.document is None:
        raise MangaEvalError(f"{store.uri}: no current routing table to change; run model_evaluation first")
    if proposal["action"] == "stop_experiment":
        why = f"rolled back at {proposal['analyzed_at']}: " + "; ".join(proposal["reasons"])
        stopped = publish_experiments(store, experiments, stop={experiment_id: why})
        intents = experiment_intents(proposal["intents"], proposal["control_config_id"], head.document["routes"])
        start = ledger.version_at(store, ledger.utc_stamp(proposal.get("start_time") or proposal["analyzed_at"]))
        before = ledger.document_at(store, start) if start else None
        targets = {i: before["routes"][i] for i in intents if before and i in before["routes"]}
        restored = ledger.commit(store, {**actor, "kind": "ab_rollback"},
                                 precedence.restore("ab_rollback", targets, start, {**actor, "kind": "ab_rollback"}, f"A/B experiment {experiment_id} rolled back"),
                                 at, initial=lambda: head.document, evidence={"reasons": proposal["reasons"], "restored_from_version": start})
        return {"action": "stop_experiment", **stopped, "routing": restored}
    from mangaeval.models import load_configurations, load_model_catalog
    from mangaeval.routing.document import make_route

    configs = load_configurations(None, load_model_catalog())
    treatment = proposal["treatment_config_id"]
    if treatment not in configs:
        raise MangaEvalError(f"proposal {experiment_id}: treatment configuration {treatment!r} is not in configurations.yaml")
    intents = experiment_intents(proposal["intents"], proposal["control_config_id"], head.document["routes"])
    if not intents:
        raise MangaEvalError(f"proposal {experiment_id}: no intent is routed to {proposal['control_config_id']!r}; nothing to change")
    missing = [i for i in intents if i not in head.document["routes"]]
    if missing:
        raise MangaEvalError(f"proposal {experiment_id}: intent(s) {missing} are not in the current routing table")
    set_by = {**actor, "kind": "ab_promotion"}
    figures = proposal.get("figures") or {}

    def route_for(intent: str, current: dict[str, Any] | None) -> dict[str, Any]:
        return make_route(configs[treatment], figures, f"A/B experiment {experiment_id}: {proposal['decision']} at {proposal['analyzed_at']}",
                          set_by=set_by, held=precedence.held_reason(set_by), dataset_version=(current or {}).get("dataset_version"),
                          figures_from=f"A/B experiment {experiment_id}, treatment arm on live traffic (n = {figures.get('treatment_n')})",
                          baseline_cost_usd=(current or {}).get("baseline_cost_usd"))

    from mangaeval.routing.activity import frozen_intents

    frozen = frozen_intents(store, at, head.document["routes"], skip_experiment=experiment_id)
    result = ledger.commit(store, set_by, precedence.live_winner("ab_promotion", intents, route_for, frozen), at,
                           initial=lambda: head.document, evidence={"reasons": proposal["reasons"], "figures": figures})
    ended = publish_experiments(store, experiments, stop={experiment_id: f"promoted at {proposal['analyzed_at']}: treatment now serves"})
    return {"action": "route_to_treatment", "intents": intents, **result, "experiments": ended}

"""What the A/B system publishes to the object store, each the safe way (immutable version, then `current`
by a conditional write):

- `experiments/current.json`: the experiments the chatbot assigns sessions for (mangaeval.ab.assignment);
- `ab/proposals/<experiment>/<time>.json`: a decision to promote or roll back, as a proposed change. It is
  applied only by a human-triggered run (or an experiment with allow_automation): PROMOTE routes the
  experiment's intents to the treatment configuration in the routing table; ROLLBACK stops the experiment
  (treatment share 0), so every session gets control again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
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
    """Publish the experiments config; experiments stopped earlier (or in `stop`: id -> why) stay stopped."""
    expected = store.get(EXPERIMENTS_CURRENT)
    previous = json.loads(expected[0]) if expected else {"experiments": []}
    stopped = {e["id"]: e.get("stopped_reason", "") for e in previous.get("experiments", []) if e.get("status") == "stopped"}
    stopped.update(stop or {})
    entries = []
    for experiment in sorted(experiments.values(), key=lambda e: e.id):
        entry = {**experiment.to_public_dict(), "status": "running"}
        if experiment.id in stopped:
            entry.update(status="stopped", treatment_share=0.0, stopped_reason=stopped[experiment.id])
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
    return {"current": f"{store.uri}/{EXPERIMENTS_CURRENT}", "version": version, "changed": changed, "experiments": len(entries)}


def proposal_for(report: dict[str, Any], experiment: Experiment) -> dict[str, Any] | None:
    """The routing change a PROMOTE or ROLLBACK decision proposes (None for every other decision)."""
    if report["decision"] not in ("PROMOTE_TREATMENT", "ROLLBACK"):
        return None
    action = "route_to_treatment" if report["decision"] == "PROMOTE_TREATMENT" else "stop_experiment"
    return {"schema_version": SCHEMA_VERSION, "experiment_id": experiment.id, "analyzed_at": report["analyzed_at"],
            "decision": report["decision"], "action": action, "intents": list(experiment.intents),
            "control_config_id": experiment.control_config_id, "treatment_config_id": experiment.treatment_config_id,
            "reasons": report["reasons"], "automatic": experiment.allow_automation}


def proposal_key(proposal: dict[str, Any]) -> str:
    stamp = proposal["analyzed_at"].replace(":", "").replace("-", "")
    return f"ab/proposals/{proposal['experiment_id']}/{stamp}.json"


def write_proposal(store: ObjectStore, proposal: dict[str, Any]) -> str:
    key = proposal_key(proposal)
    data = _bytes(proposal)
    try:
        store.put(key, data, if_none_match=True)
    except PreconditionFailed:
        if store.get(key)[0] != data:
            raise MangaEvalError(f"{store.uri}/{key}: a different proposal exists for this analysis time") from None
    return f"{store.uri}/{key}"


def apply_proposal(store: ObjectStore, proposal: dict[str, Any], experiments: dict[str, Experiment]) -> dict[str, Any]:
    """Carry out a proposal: PROMOTE -> a new routing table (conditional write), ROLLBACK -> experiment stopped."""
    if proposal["action"] == "stop_experiment":
        why = f"rolled back at {proposal['analyzed_at']}: " + "; ".join(proposal["reasons"])
        return {"action": "stop_experiment", **publish_experiments(store, experiments, stop={proposal["experiment_id"]: why})}
    from mangaeval.models import load_configurations, load_model_catalog
    from mangaeval.routing.document import _config_block, validate_document
    from mangaeval.routing.publish import current_document, publish

    current = current_document(store)
    if current is None:
        raise MangaEvalError(f"{store.uri}: no current routing table to change; run model_evaluation first")
    configs = load_configurations(None, load_model_catalog())
    treatment = proposal["treatment_config_id"]
    if treatment not in configs:
        raise MangaEvalError(f"proposal {proposal['experiment_id']}: treatment configuration {treatment!r} is not in configurations.yaml")
    intents = proposal["intents"] or [i for i, r in current["routes"].items() if r["config_id"] == proposal["control_config_id"]]
    if not intents:
        raise MangaEvalError(f"proposal {proposal['experiment_id']}: no intent is routed to {proposal['control_config_id']!r}; nothing to change")
    document = json.loads(json.dumps(current))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    document["run_id"] = f"ab__{proposal['experiment_id']}__{proposal['analyzed_at'].replace(':', '')}"
    document["generated_at"] = stamp
    for intent in intents:
        route = document["routes"].get(intent)
        if route is None:
            raise MangaEvalError(f"proposal {proposal['experiment_id']}: intent {intent!r} is not in the current routing table")
        route.update(_config_block(configs[treatment]))
        route.update(mean_quality=None, pass_rate=None, latency_p95_ms=None, mean_cost_usd=None, flagged=False,
                     reason=f"A/B experiment {proposal['experiment_id']}: {proposal['decision']} at {proposal['analyzed_at']}")
    validate_document(document)
    return {"action": "route_to_treatment", "intents": intents, **publish(store, document)}

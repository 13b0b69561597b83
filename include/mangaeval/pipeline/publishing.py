"""The pipeline's view of the routing ledger: what serves now, the version a run's decisions are based on,
and committing a nightly run's decisions on top of that version."""

from __future__ import annotations

import logging
from typing import Any

from mangaeval.objectstore import open_store
from mangaeval.routing import ledger

log = logging.getLogger(__name__)


def routing_head() -> ledger.Head:
    return ledger.read_head(open_store())


def current_routing_document() -> dict[str, Any] | None:
    return routing_head().document


def current_routing_map(base: dict[str, Any] | None = None) -> dict[str, str]:
    """intent -> configuration serving it, as of `base` (a Head.to_dict() read earlier) or now."""
    document = ledger.head_at(open_store(), base).document
    return {intent: route["config_id"] for intent, route in (document or {}).get("routes", {}).items()}


def commit_nightly(decision: dict[str, Any], run_id: str, moment: Any, base: dict[str, Any] | None) -> dict[str, Any]:
    from mangaeval.intents import intent_names
    from mangaeval.models import ModelConfig, load_configurations, load_model_catalog
    from mangaeval.pipeline.proposals import nightly_proposals
    from mangaeval.routing import precedence
    from mangaeval.routing.activity import frozen_intents
    from mangaeval.routing.document import genesis_document
    from mangaeval.routing.projection import project
    from mangaeval.warehouse.policy import load_policy

    store, policy, rules = open_store(), load_policy(), precedence.load_precedence()
    configurations = dict(load_configurations(None, load_model_catalog()))
    for config in decision.get("candidate_configs", []):  # a manual run's candidate can win a route
        configurations[config["id"]] = ModelConfig(**config)
    at = ledger.utc_stamp(moment)
    intents = decision.get("intents") or sorted(decision["recommendation"])
    proposals, thin = nightly_proposals(decision, intents, decision["dataset_version"], configurations, policy, rules, run_id, at)
    head = ledger.head_at(store, base)
    frozen = frozen_intents(store, at, (head.document or {}).get("routes"))
    result = ledger.commit(store, {"kind": "nightly", "id": run_id, "at": at, "dataset_version": decision["dataset_version"]},
                           precedence.nightly(proposals, thin, frozen, rules, at), at, base=base,
                           initial=lambda: genesis_document(list(intent_names()), configurations, policy.default_config_id, at),
                           evidence={"intents_measured": intents, "dataset_version": decision["dataset_version"]})
    document = ledger.read_head(store).document
    for d in result["declined"]:
        log.warning("routing: %s not changed: %s", d["intent"], d["why"])
    return {**{k: v for k, v in result.items() if k != "changes"}, "routes_changed": sorted(c["intent"] for c in result["changes"]),
            "changes": [{k: c[k] for k in ("intent", "kind", "from", "to")} for c in result["changes"]],
            "routes": {i: r["config_id"] for i, r in (document or {}).get("routes", {}).items()},
            "projection": project(document, policy) if document else None, "run_projection": decision["projection"]}

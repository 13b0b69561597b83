"""Building blocks for the routing-ledger tests and the race benchmark: synthetic scored results for a run,
the nightly decision on them (the same SQL as the DAG, on an in-memory DuckDB), and commits by each writer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mangaeval.intents import intent_names
from mangaeval.results import rows_to_frame

PROFILES = {  # config -> (quality, cost per call, P95-ish latency)
    "sonnet-3-5-v2": (0.88, 0.008, 1900), "sonnet-4-5": (0.89, 0.009, 2000), "haiku-3-5": (0.86, 0.0027, 800),
    "nova-lite": (0.70, 0.0002, 500), "haiku-3": (0.80, 0.0008, 600),
}


def results(run_id: str, intents: list[str], configs: dict[str, float] | None = None, cases: int = 40, seed: int = 1,
            dataset_version: str = "v1", quality: dict[tuple[str, str], float] | None = None, noise: float = 0.03) -> pd.DataFrame:
    """Scored rows for `configs` (config -> quality mean, default PROFILES) on `cases` cases per intent; the same
    case ids and per-case difficulty for every configuration, so paired comparisons are meaningful."""
    rng = np.random.default_rng(seed)
    configs = configs or {c: p[0] for c, p in PROFILES.items()}
    rows = []
    for intent in intents:
        difficulty = rng.normal(0, 0.05, cases)
        for config, mean in configs.items():
            mean = (quality or {}).get((intent, config), mean)
            _, cost, latency = PROFILES.get(config, (mean, 0.001, 900))
            jitter = rng.normal(0, noise, cases)
            for case in range(cases):
                q = float(np.clip(mean + difficulty[case] + jitter[case], 0, 1))
                rows.append({"run_id": run_id, "config_id": config, "model_id": f"m-{config}", "intent": intent,
                             "test_id": f"{intent}-{case:03d}", "language": "en", "dataset_version": dataset_version, "prompt_version": "v1",
                             "response_text": "x", "status": "ok", "error_code": None, "attempts": 1, "cache_hit": False, "wall_ms": 1.0,
                             "input_tokens": 500, "output_tokens": 100, "cost_usd": float(cost * rng.uniform(0.9, 1.1)),
                             "latency_ms": int(rng.normal(latency * 0.8, 100)), "quality_score": q, "passed": q >= 0.75})
    return rows_to_frame(pd.DataFrame(rows).astype(object).to_dict("records"))


def nightly_decision(frame: pd.DataFrame, current: dict[str, str] | None, dataset_version: str = "v1") -> dict[str, Any]:
    from mangaeval.warehouse import decide

    decision = decide(frame, current)
    decision["dataset_version"] = dataset_version
    decision["intents"] = sorted(set(frame["intent"]))
    decision["candidate_configs"] = []
    return decision


def run_nightly(store, run_id: str, at: str, intents: list[str] | None = None, base: dict | None = None, **kwargs) -> dict[str, Any]:
    """A nightly run's decide + publish against `store` (MANGAEVAL_ROUTING_URI must point at it)."""
    from mangaeval.pipeline.publishing import commit_nightly, current_routing_map

    frame = results(run_id, intents or list(intent_names()), **kwargs)
    decision = nightly_decision(frame, current_routing_map(base), kwargs.get("dataset_version", "v1"))
    return commit_nightly(decision, run_id, at, base)


def ab_promotion(experiment_id: str, intents: list[str], treatment: str, analyzed_at: str, control: str = "sonnet-3-5-v2") -> dict:
    return {"schema_version": 1, "experiment_id": experiment_id, "analyzed_at": analyzed_at, "decision": "PROMOTE_TREATMENT",
            "action": "route_to_treatment", "intents": intents, "control_config_id": control, "treatment_config_id": treatment,
            "reasons": ["quality +0.02 (always-valid p < 0.05)"], "automatic": False, "start_time": "2026-11-20T00:00:00Z",
            "figures": {"mean_quality": 0.9, "mean_cost_usd": 0.0083, "latency_p95_ms": 1950.0, "pass_rate": None, "treatment_n": 45000}}


def seed_routes(store, mapping: dict[str, str], at: str = "2026-11-25T02:00:00Z", actor_id: str = "nightly-1",
                dataset_version: str = "v1") -> dict[str, Any]:
    """A first routing table (intent -> configuration) written through the ledger, as a nightly run would."""
    from mangaeval.models import load_configurations, load_model_catalog
    from mangaeval.routing import ledger
    from mangaeval.routing.document import genesis_document, make_route

    configs = load_configurations(None, load_model_catalog())
    set_by = {"kind": "nightly", "id": actor_id, "at": at}

    def decide(state, version):
        return [{"intent": i, "kind": "switch", "from": None, "to": c, "reason": "seeded",
                 "route": make_route(configs[c], {"mean_quality": 0.85, "pass_rate": 0.9, "latency_p95_ms": 1500.0, "mean_cost_usd": 0.005},
                                     "seeded", set_by=set_by, dataset_version=dataset_version, baseline_cost_usd=0.008)}
                for i, c in sorted(mapping.items())], []

    return ledger.commit(store, {**set_by, "kind": "nightly"}, decide, at,
                         initial=lambda: genesis_document(sorted(mapping), configs, "sonnet-3-5-v2", at))

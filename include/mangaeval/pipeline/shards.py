"""Fan-out: one shard per (configuration, intent), grouped by model tier (one Airflow pool per tier) and
chunked so no mapped task exceeds Airflow's `max_map_length`; and running one shard end to end."""

from __future__ import annotations

import math
from typing import Any

from mangaeval.pipeline.params import RunPlan
from mangaeval.pipeline.storage import shard_uri, write_frame

# Tiers of models.yaml; the DAG maps one task per tier so each draws on its own pool (`bedrock_<tier>`).
TIERS = ("sonnet", "haiku", "nova", "custom")


def plan_shards(plan: RunPlan) -> list[dict[str, Any]]:
    from mangaeval.models import load_model_catalog

    catalog = load_model_catalog()
    return [{"config": config.to_dict(), "intent": intent, "tier": catalog[config.model_id].tier}
            for config in plan.configs for intent in plan.intents]


def chunk(shards: list[dict[str, Any]], max_map_length: int) -> list[list[dict[str, Any]]]:
    """At most `max_map_length` chunks, shards spread evenly over them (order kept)."""
    if not shards:
        return []
    size = math.ceil(len(shards) / max(1, max_map_length))
    return [shards[i:i + size] for i in range(0, len(shards), size)]


def chunks_by_tier(shards: list[dict[str, Any]], max_map_length: int) -> dict[str, list[list[dict[str, Any]]]]:
    unknown = sorted({s["tier"] for s in shards} - set(TIERS))
    if unknown:
        raise ValueError(f"model tier(s) {unknown} have no pool; add them to TIERS and create pools bedrock_<tier>")
    return {tier: chunk([s for s in shards if s["tier"] == tier], max_map_length) for tier in TIERS}


def run_shard(shard: dict[str, Any], plan: RunPlan, run_id: str, results_root: str, endpoint_url: str | None,
              cache_uri: str, sagemaker_endpoint_url: str | None = None) -> dict[str, Any]:
    """Evaluate and score one (configuration, intent); write its Parquet; return its URI and counts.

    The response cache is the run's own (a retried shard pays for no call twice; a new run asks again), unless the
    plan chose to reuse answers across runs.
    """
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.engine import EngineSettings, EvaluationEngine
    from mangaeval.golden import load_dataset, sample_cases
    from mangaeval.models import ModelConfig, load_model_catalog
    from mangaeval.scoring import Scorer

    config = ModelConfig(**shard["config"])
    dataset = load_dataset(plan.dataset_version)
    cases = sample_cases([c for c in dataset.cases if c.intent == shard["intent"]], plan.limit, plan.sample_seed)  # as the plan counted
    client = BedrockClient(ClientSettings.from_env(endpoint_url=endpoint_url, sagemaker_endpoint_url=sagemaker_endpoint_url))
    settings = EngineSettings.from_files(use_cache=plan.use_cache, reuse_across_runs=plan.reuse_answers, cache_dir=str(cache_uri))
    frame, stats = EvaluationEngine(client, load_model_catalog(), settings).evaluate(
        [config], cases, run_id=run_id, dataset_version=dataset.version)
    frame = Scorer().score_frame(frame, cases)
    uri = write_frame(shard_uri(results_root, run_id, config.id, shard["intent"]), frame)
    return {"uri": uri, "config_id": config.id, "intent": shard["intent"], "rows": len(frame), "ok": stats.ok,
            "errors": stats.errors, "model_calls": stats.calls_made, "cache_hits": stats.cache_hits}

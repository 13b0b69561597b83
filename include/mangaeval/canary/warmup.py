"""The warm-up: synthetic requests to the candidate before any live traffic, so its cold start (model load,
connection pools, caches) is paid by nobody. Latencies are recorded as request events under the rollout's
warm-up experiment id and never judged. Live: golden cases of the covered intents through the Bedrock
client (AWS or the model double); simulated: the scenario's candidate consumes its first requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from mangaeval.events.schema import REQUEST_COLUMNS
from mangaeval.models import ModelConfig


def live_warm_up(config: ModelConfig, intents: list[str], requests: int, experiment_id: str, started_at: datetime,
                 endpoint_url: str | None = None, dataset: str = "v1", concurrency: int = 4) -> pd.DataFrame:
    """`requests` calls to the candidate with golden-case prompts (cycled), as request-event rows (unscored)."""
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.golden import load_dataset
    from mangaeval.models import load_model_catalog
    from mangaeval.prompts import build_request

    cases = [c for c in load_dataset(dataset).cases if c.intent in intents or intents == ["*"]]
    if requests <= 0 or not cases:
        return pd.DataFrame(columns=REQUEST_COLUMNS)
    price = load_model_catalog()[config.model_id]
    client = BedrockClient(ClientSettings.from_env(endpoint_url=endpoint_url))
    picked = [cases[i % len(cases)] for i in range(requests)]

    def call(index: int) -> dict[str, Any]:
        case = picked[index]
        result = client.converse(config.model_id, build_request(config, case))
        ok = result.status == "ok"
        return {"event_time": started_at + timedelta(milliseconds=index), "experiment_id": experiment_id,
                "session_id": f"warmup-{index}", "arm": "treatment", "config_id": config.id, "intent": case.intent,
                "quality_score": None,  # a warm-up answer is never scored or judged
                "latency_ms": float(result.latency_ms if ok and result.latency_ms is not None else result.wall_ms),
                "input_tokens": int(result.input_tokens or 0), "output_tokens": int(result.output_tokens or 0),
                "cost_usd": price.cost_usd(result.input_tokens or 0, result.output_tokens or 0) if ok else 0.0,
                "error_code": None if ok else (result.error_code or "error")}

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        rows = list(pool.map(call, range(requests)))
    return pd.DataFrame(rows, columns=REQUEST_COLUMNS)


def summary(events: pd.DataFrame) -> dict[str, Any]:
    ok = events[events["error_code"].isna()]["latency_ms"].to_numpy(dtype=float)
    doc: dict[str, Any] = {"requests": int(len(events)), "errors": int(events["error_code"].notna().sum())}
    if len(ok):
        doc.update({"p50_ms": float(np.percentile(ok, 50)), "p95_ms": float(np.percentile(ok, 95)), "max_ms": float(ok.max())})
    return doc

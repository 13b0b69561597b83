"""The warm-up: synthetic requests to the candidate before any live traffic, so its cold start (model load,
connection pools, caches) is paid by nobody. Latencies are recorded as request events under the rollout's
warm-up experiment id and never judged. Live: golden cases of the covered intents through the Bedrock
client (AWS or the model double); simulated: the scenario's candidate consumes its first requests.

A warm-up whose calls fail (an error rate above the policy's ceiling, or no call answered) stops the rollout
before any live traffic: a candidate that cannot answer synthetic requests must not meet users.
(Example from the field: Claude Haiku 4.5 refuses a request carrying both temperature and top_p, HTTP 400.)"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mangaeval.errors import MangaEvalError
from mangaeval.events.schema import REQUEST_COLUMNS
from mangaeval.models import ModelConfig

if TYPE_CHECKING:
    from mangaeval.canary.policy import CanaryPolicy


class WarmUpFailed(MangaEvalError):
    """The candidate's warm-up calls failed: the rollout stops before any live traffic (version 0 stays current)."""


def live_warm_up(config: ModelConfig, intents: list[str], requests: int, experiment_id: str, started_at: datetime,
                 endpoint_url: str | None = None, dataset: str | None = None, concurrency: int = 4,
                 sagemaker_endpoint_url: str | None = None) -> pd.DataFrame:
    """`requests` calls to the candidate with golden-case prompts (cycled), as request-event rows (unscored)."""
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.golden import load_dataset
    from mangaeval.invoker import ModelInvoker
    from mangaeval.models import load_model_catalog
    from mangaeval.prompts import build_request

    from mangaeval.golden import DEFAULT_VERSION

    cases = [c for c in load_dataset(dataset or DEFAULT_VERSION).cases if c.intent in intents or intents == ["*"]]
    if requests <= 0 or not cases:
        return pd.DataFrame(columns=REQUEST_COLUMNS)
    catalog = load_model_catalog()
    price = catalog[config.model_id]
    invoker = ModelInvoker(BedrockClient(ClientSettings.from_env(endpoint_url=endpoint_url, sagemaker_endpoint_url=sagemaker_endpoint_url)),
                           catalog)
    picked = [cases[i % len(cases)] for i in range(requests)]

    def call(index: int) -> dict[str, Any]:
        case = picked[index]
        result = invoker.call(config, build_request(config, case))
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


def warm_up_failure(events: pd.DataFrame, ceiling: float, config_id: str) -> str | None:
    """Why the warm-up stops the rollout, or None: more failed calls than the error-rate ceiling allows, or none
    answered. The message names the counts and the most common error code."""
    requests = int(len(events))
    if requests == 0:
        return None  # no warm-up asked for: nothing to judge it by
    codes = Counter(events["error_code"].dropna())
    errors = sum(codes.values())
    if errors < requests and errors / requests <= ceiling:
        return None
    code, count = codes.most_common(1)[0]
    what = "no call succeeded" if errors == requests else f"error rate {errors / requests:.1%} above the {ceiling:.0%} ceiling"
    return (f"warm-up of {config_id}: {errors} of {requests} calls failed ({what}); most common error {code} ({count} of "
            f"{errors}): the rollout stops before any live traffic, split version 0 (no canary) stays current")


def check_warm_up(events: pd.DataFrame, policy: "CanaryPolicy", config_id: str) -> None:
    reason = warm_up_failure(events, policy.error_ceiling, config_id)
    if reason:
        raise WarmUpFailed(reason)

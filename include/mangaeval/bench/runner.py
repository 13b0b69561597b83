"""The suite: per configuration, latency (warm-up reported apart, then the measurement phase), throughput under N
concurrent workers, cost per query type, and the chatbot chain timed per stage (prompt building, the call, scoring).

Every request of the measurement phase runs the whole chain: `build_request` (what the live bot sends), the call
through `ModelInvoker` (the configuration's invoke id or its SageMaker endpoint; client wall time, retries included,
is the latency), and the scorer on the answer. Failed calls are counted by error code, never timed as answers and
never costed as $0. Raw per-request samples (with each request's prompt id) are kept in the result: the regression
rule resamples them (mangaeval.bench.rule)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from mangaeval.bench.prompts import BenchPrompt, prompt_set
from mangaeval.golden import DEFAULT_VERSION
from mangaeval.bench.stats import describe

SCHEMA = "mangaeval.bench/1"
DEFAULT_REQUESTS = 300  # what the rule needs to see a 20% P95 increase 95% of the time (bench_rule_validity.py)
BENCHMARKS = ("latency", "throughput", "cost", "chain")


@dataclass(frozen=True)
class SuiteSettings:
    requests: int = DEFAULT_REQUESTS  # measurement phase, per configuration
    warmup: int = 10
    latency_concurrency: int = 4  # requests in flight in the measurement phase (1 = strictly one after another)
    workers: int = 10  # throughput phase
    throughput_requests: int = 100
    stream: bool = False  # converse-stream: adds time to first token
    dataset: str = DEFAULT_VERSION
    sample_seed: int = 0
    n_boot: int = 2000

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _call(invoker: Any, scorer: Any, config: Any, spec: Any, prompt: BenchPrompt, stream: bool, score: bool) -> dict[str, Any]:
    from mangaeval.prompts import build_request

    t0 = time.perf_counter()
    request = build_request(config, prompt.case)
    t1 = time.perf_counter()
    result = invoker.call(config, request, stream=stream)
    t2 = time.perf_counter()
    row: dict[str, Any] = {"key": prompt.case.test_id, "intent": prompt.case.intent, "source": prompt.source, "status": result.status,
                           "error_code": result.error_code, "build_ms": (t1 - t0) * 1000.0, "call_ms": (t2 - t1) * 1000.0,
                           "wall_ms": result.wall_ms, "service_ms": result.latency_ms, "ttft_ms": result.first_token_ms}
    if result.status == "ok":
        row.update(input_tokens=result.input_tokens, output_tokens=result.output_tokens,
                   cost_usd=spec.cost_usd(result.input_tokens or 0, result.output_tokens or 0))
        if score:
            quality = scorer.score(prompt.case, result.text or "")
            row["score_ms"] = (time.perf_counter() - t2) * 1000.0
            row["quality"] = quality.quality_score if prompt.source == "golden" else None  # the ten have no reference
    return row


def _run_pool(fn: Callable[[BenchPrompt], dict[str, Any]], prompts: list[BenchPrompt], concurrency: int,
              tick: Callable[[], None]) -> tuple[list[dict[str, Any]], float]:
    rows: list[dict[str, Any] | None] = [None] * len(prompts)

    def one(i: int) -> None:
        rows[i] = fn(prompts[i])
        tick()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(one, range(len(prompts))))
    return [r for r in rows if r is not None], time.perf_counter() - start


def _ok(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["status"] == "ok"]


def _cycle(prompts: list[BenchPrompt], n: int) -> list[BenchPrompt]:
    return [prompts[i % len(prompts)] for i in range(n)] if prompts else []


def bench_config(invoker: Any, scorer: Any, config: Any, prompts: list[BenchPrompt], settings: SuiteSettings,
                 tick: Callable[[], None] = lambda: None) -> dict[str, Any]:
    from mangaeval.bench.cost import per_query_type

    spec = invoker.spec(config)
    boot = dict(n_boot=settings.n_boot)
    call = lambda score: (lambda p: _call(invoker, scorer, config, spec, p, settings.stream, score))  # noqa: E731
    warm, _ = _run_pool(call(False), _cycle(prompts, settings.warmup), 1, tick)
    rows, _ = _run_pool(call(True), prompts, settings.latency_concurrency, tick)
    load, elapsed = _run_pool(call(False), _cycle(prompts, settings.throughput_requests), settings.workers, tick)
    ok, ok_load = _ok(rows), _ok(load)
    errors = Counter(r["error_code"] for r in rows if r["status"] != "ok")
    latency = {"requests": len(rows), "ok": len(ok), "errors": dict(errors), "concurrency": settings.latency_concurrency,
               "stats": describe([r["wall_ms"] for r in ok], **boot),
               "service_latency": describe([r["service_ms"] for r in ok], **boot),
               "samples_ms": [round(r["wall_ms"], 3) for r in ok], "keys": [r["key"] for r in ok]}
    if settings.stream:
        latency["ttft"] = describe([r["ttft_ms"] for r in ok if r["ttft_ms"] is not None], **boot)
        latency["ttft_samples_ms"] = [round(r["ttft_ms"], 3) for r in ok if r["ttft_ms"] is not None]
        latency["ttft_keys"] = [r["key"] for r in ok if r["ttft_ms"] is not None]
    quality = [r["quality"] for r in ok if r.get("quality") is not None]
    return {
        "model_id": config.model_id, "invoke_id": spec.invoke_id if spec.api == "converse" else spec.endpoint_name,
        "warmup": {"requests": len(warm), "ok": len(_ok(warm)), "stats": describe([r["wall_ms"] for r in _ok(warm)], **boot)},
        "latency": latency,
        "throughput": {"workers": settings.workers, "requests": len(load), "ok": len(ok_load), "elapsed_s": elapsed,
                       "rps": len(ok_load) / elapsed if elapsed > 0 else None,
                       "errors": dict(Counter(r["error_code"] for r in load if r["status"] != "ok")),
                       "latency": describe([r["wall_ms"] for r in ok_load], **boot),
                       "samples_ms": [round(r["wall_ms"], 3) for r in ok_load], "keys": [r["key"] for r in ok_load]},
        "cost": {**per_query_type(ok), "samples_usd": [r["cost_usd"] for r in ok], "keys": [r["key"] for r in ok]},
        "chain": {"build_ms": describe([r["build_ms"] for r in ok], **boot), "call_ms": describe([r["call_ms"] for r in ok], **boot),
                  "score_ms": describe([r["score_ms"] for r in ok if "score_ms" in r], **boot),
                  "total_ms": describe([r["build_ms"] + r["call_ms"] + r.get("score_ms", 0.0) for r in ok], **boot),
                  "quality_mean": sum(quality) / len(quality) if quality else None, "scored_golden": len(quality)},
    }


def run_suite(invoker: Any, configs: list[Any], settings: SuiteSettings, *, environment: str, endpoint: str | None,
              progress: Callable[[int], None] | None = None, routing: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every configuration benchmarked at once (each in its own threads: a slow model does not hold up the others)."""
    from mangaeval.bench.cost import routing_savings
    from mangaeval.scoring import Scorer, load_scoring_config

    scorer = Scorer(load_scoring_config())
    prompts = prompt_set(settings.requests, settings.dataset, settings.sample_seed)
    lock = threading.Lock()

    def tick() -> None:
        if progress:
            with lock:
                progress(1)

    start = time.perf_counter()
    created = datetime.now(timezone.utc)
    with ThreadPoolExecutor(max_workers=len(configs)) as pool:
        futures = {c.id: pool.submit(bench_config, invoker, scorer, c, prompts, settings, tick) for c in configs}
        per_config = {cid: f.result() for cid, f in futures.items()}
    return {
        "schema": SCHEMA, "result_id": created.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6],
        "created_at": created.isoformat(), "environment": environment, "endpoint": endpoint, "settings": settings.to_dict(),
        "prompts": {"total": len(prompts), "standard": sum(p.source == "standard" for p in prompts),
                    "golden": sum(p.source == "golden" for p in prompts)},
        "configs": per_config, "routing": routing_savings(per_config, routing),
        "elapsed_s": time.perf_counter() - start,
    }


def total_requests(settings: SuiteSettings, n_configs: int) -> int:
    return n_configs * (settings.warmup + settings.requests + settings.throughput_requests)

"""Evaluation-engine benchmarks (issue 2 targets). Prints figures; asserts nothing about time.

1. Concurrency efficiency: double at a fixed latency L, concurrency C, N calls: measured / (N x L / C).
   Target: <= 1.15.
2. Engine throughput with the double at zero latency (time scale 0): calls/s. Target: >= 500.
   Printed beside a single-thread raw boto3 loop measured in the same run, as the baseline.
3. A rerun with the cache on: model calls made (target 0).
4. 30% throttling: ok + error = cases.

Usage: python benchmarks/engine_bench.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from mangaeval.bedrock import BedrockClient, ClientSettings
from mangaeval.double.server import DoubleProcess
from mangaeval.engine import EngineSettings, EvaluationEngine
from mangaeval.engine.ratelimit import Quota
from mangaeval.golden import load_dataset
from mangaeval.models import load_configurations, load_model_catalog
from mangaeval.prompts import build_request

NO_ERRORS = ["throttle_rate=0", "timeout_rate=0", "unavailable_rate=0", "model_error_rate=0", "cold_start_calls=0"]


def calls_on(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_double/stats") as response:
        return json.loads(response.read())["total_calls"]


def cases_x(n: int):
    cases = load_dataset("v0").cases
    return [cases[i % len(cases)] for i in range(n)]


def distinct_configs(n_configs: int):
    """Distinct configurations on ONE model, so every call is a distinct request (no cache hits)."""
    base = load_configurations()["nova-micro"]
    return [base.__class__(**{**base.to_dict(), "id": f"bench-{i}", "temperature": round(0.01 * i, 2)}) for i in range(n_configs)]


def engine(url: str, concurrency: int, cache_dir: Path | None = None, unlimited_quota: bool = False) -> EvaluationEngine:
    client = BedrockClient(ClientSettings(endpoint_url=url, backoff_base_s=0.05, max_attempts=8, max_pool_connections=concurrency + 4))
    settings = EngineSettings.from_files(use_cache=cache_dir is not None, cache_dir=cache_dir, concurrency_override=concurrency)
    if unlimited_quota:  # measure the engine, not the requests/min quota it would otherwise respect
        settings = EngineSettings(use_cache=settings.use_cache, cache_dir=cache_dir, concurrency_override=concurrency,
                                  default_quota=Quota(concurrency, 10**9, 10**12))
    return EvaluationEngine(client, load_model_catalog(), settings)


def bench_concurrency(latency_ms: int, concurrency: int, n: int) -> dict:
    configs = distinct_configs(max(1, n // 240))
    cases = load_dataset("v0").cases[: n // len(configs)]
    n = len(configs) * len(cases)
    overrides = NO_ERRORS + [f"first_token_ms={latency_ms}", "tokens_per_s=0", "jitter_ms=0"]
    with DoubleProcess(time_scale=1.0, overrides=overrides) as double:
        eng = engine(double.url, concurrency, unlimited_quota=True)
        eng.evaluate(configs[:1], cases[:concurrency], run_id="warm", dataset_version="v0")  # open the connections
        start = time.perf_counter()
        frame, stats = eng.evaluate(configs, cases, run_id="bench", dataset_version="v0")
        elapsed = time.perf_counter() - start
    ideal = n * latency_ms / 1000.0 / concurrency
    return {"calls": n, "latency_ms": latency_ms, "concurrency": concurrency, "elapsed_s": round(elapsed, 3),
            "ideal_s": round(ideal, 3), "ratio_measured_over_ideal": round(elapsed / ideal, 3), "target": "<= 1.15",
            "ok": stats.ok}


def bench_throughput(n: int, concurrency: int) -> dict:
    configs = distinct_configs(max(1, n // 240))
    cases = load_dataset("v0").cases[: n // len(configs)]
    n = len(configs) * len(cases)
    with DoubleProcess(time_scale=0.0, overrides=NO_ERRORS) as double:
        eng = engine(double.url, concurrency, unlimited_quota=True)
        eng.evaluate(configs[:1], cases[:concurrency], run_id="warm", dataset_version="v0")
        start = time.perf_counter()
        _, stats = eng.evaluate(configs, cases, run_id="bench", dataset_version="v0")
        engine_rate = n / (time.perf_counter() - start)
        # Baseline: the bare boto3 call in a single-thread loop against the same double.
        client = BedrockClient(ClientSettings(endpoint_url=double.url))
        requests = [(configs[0].model_id, build_request(configs[0], c)) for c in cases[:300]]
        start = time.perf_counter()
        for model_id, request in requests:
            client.converse(model_id, request)
        raw_rate = len(requests) / (time.perf_counter() - start)
    return {"calls": n, "concurrency": concurrency, "engine_calls_per_s": round(engine_rate, 1),
            "baseline_raw_boto3_single_thread_calls_per_s": round(raw_rate, 1),
            "ratio_engine_over_baseline": round(engine_rate / raw_rate, 2), "target": ">= 500 calls/s", "ok": stats.ok}


def bench_cache_rerun() -> dict:
    configs = [load_configurations()[c] for c in ("sonnet-3-5-v2", "haiku-3-5")]
    cases = load_dataset("v0").cases
    with tempfile.TemporaryDirectory() as tmp, DoubleProcess(time_scale=0.0, overrides=NO_ERRORS) as double:
        first_frame, first = engine(double.url, 16, Path(tmp)).evaluate(configs, cases, run_id="a", dataset_version="v0")
        before = calls_on(double.url)
        _, second = engine(double.url, 16, Path(tmp)).evaluate(configs, cases, run_id="b", dataset_version="v0")
        rerun_calls = calls_on(double.url) - before
    return {"rows": len(first_frame), "first_run_model_calls": first.calls_made, "rerun_model_calls": rerun_calls,
            "rerun_cache_hits": second.cache_hits, "target": "rerun makes 0 model calls"}


def bench_throttling(rate: float) -> dict:
    configs = [load_configurations()[c] for c in ("sonnet-3-5-v2", "haiku-3-5")]
    cases = load_dataset("v0").cases
    overrides = ["timeout_rate=0", "unavailable_rate=0", "model_error_rate=0", f"throttle_rate={rate}"]
    with DoubleProcess(time_scale=0.0, overrides=overrides) as double:
        frame, stats = engine(double.url, 16).evaluate(configs, cases, run_id="t", dataset_version="v0")
        calls = calls_on(double.url)
    return {"throttle_rate": rate, "cases": len(frame), "ok": stats.ok, "error": stats.errors,
            "accounted_for": stats.ok + stats.errors == len(configs) * len(cases), "model_calls": calls,
            "mean_attempts": round(float(frame["attempts"].astype(float).mean()), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller N (a smoke run)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    n = 480 if args.quick else 1920
    results = {
        "concurrency_efficiency": bench_concurrency(latency_ms=100, concurrency=16, n=n),
        "throughput_zero_latency": bench_throughput(n=2 * n, concurrency=16),
        "cache_rerun": bench_cache_rerun(),
        "throttling_30pct": bench_throttling(0.3),
    }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, figures in results.items():
            print(f"{name}:")
            for key, value in figures.items():
                print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

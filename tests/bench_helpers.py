"""Benchmark suite results built by hand for the Benchmarks page's tests: shaped as mangaeval.bench.runner writes them,
reduced to what mangaeval.bench.warehouse.rows reads, with figures chosen so each change vs the previous result is
known in advance."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

START = datetime(2026, 11, 1, 3, 0, tzinfo=timezone.utc)


def figures(p95: float, *, rps: float = 20.0, cost: float = 0.001, errors: int = 0) -> dict[str, Any]:
    """One configuration's figures: P50 and P99 derived from P95, its 95% interval +-10%."""
    return {"p95": p95, "p50": p95 / 2, "p99": p95 * 1.5, "rps": rps, "cost": cost, "errors": errors}


def config_section(config_id: str, f: dict[str, Any], requests: int = 100) -> dict[str, Any]:
    p95 = f["p95"]
    stats = {"n": requests - f["errors"], "mean": f["p50"] * 1.1, "mean_ci": [f["p50"], f["p50"] * 1.2], "p50": f["p50"],
             "p50_ci": [f["p50"] * 0.95, f["p50"] * 1.05], "p95": p95, "p95_ci": [p95 * 0.9, p95 * 1.1], "p99": f["p99"],
             "p99_ci": [f["p99"] * 0.8, f["p99"] * 1.2]}
    return {"model_id": f"model-of-{config_id}",
            "latency": {"stats": stats, "errors": {"ThrottlingException": f["errors"]} if f["errors"] else {}, "requests": requests},
            "throughput": {"rps": f["rps"], "ok": 40, "latency": {"n": 40, "p95": p95 * 1.4}},
            "cost": {"cost_per_query_usd": f["cost"], "samples_usd": [f["cost"]] * 10, "monthly_usd": f["cost"] * 1_000_000}}


def bench_result(result_id: str, day: int, configs: dict[str, dict[str, Any]], environment: str = "double") -> dict[str, Any]:
    """A result made `day` days after START in `environment`, with one section per configuration (see figures)."""
    return {"schema": "mangaeval.bench/1", "result_id": result_id, "created_at": (START + timedelta(days=day)).isoformat(),
            "environment": environment, "configs": {cid: config_section(cid, f) for cid, f in configs.items()}}


# Two weeks on the double (haiku-3-5's P95 25% worse, nova-lite's 8% worse: under the 10% mark; sonnet only in the
# first) and one older result on AWS, so the latest result's environment (the page's default) is the double.
FIRST = bench_result("r1-double", 0, {"haiku-3-5": figures(1000, rps=30, cost=0.0016), "nova-lite": figures(800, rps=40, cost=0.0001),
                                      "sonnet-3-5-v2": figures(2400, rps=10, cost=0.006, errors=5)})
SECOND = bench_result("r2-double", 7, {"haiku-3-5": figures(1250, rps=24, cost=0.0016), "nova-lite": figures(864, rps=40, cost=0.00011, errors=2)})
AWS = bench_result("r0-aws", 3, {"haiku-3-5": figures(1500, rps=12, cost=0.0016)}, environment="aws")
RESULTS = (FIRST, AWS, SECOND)


def load_all(uri: str, results: tuple[dict[str, Any], ...] = RESULTS) -> None:
    from mangaeval.bench.warehouse import load

    for result in results:
        load(result, uri)

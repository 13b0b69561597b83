"""A suite result as rows of the warehouse's `benchmark_results` (view `mart_benchmark_trend`), replaced by result id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# (benchmark, figure, path into the configuration's section, unit): the figures a dashboard plots over time
FIGURE_ROWS = [
    ("latency", "latency_mean_ms", ("latency", "stats"), "mean", "ms"), ("latency", "latency_p50_ms", ("latency", "stats"), "p50", "ms"),
    ("latency", "latency_p95_ms", ("latency", "stats"), "p95", "ms"), ("latency", "latency_p99_ms", ("latency", "stats"), "p99", "ms"),
    ("latency", "warmup_mean_ms", ("warmup", "stats"), "mean", "ms"), ("latency", "ttft_p95_ms", ("latency", "ttft"), "p95", "ms"),
    ("throughput", "throughput_p95_ms", ("throughput", "latency"), "p95", "ms"),
    ("chain", "chain_build_mean_ms", ("chain", "build_ms"), "mean", "ms"), ("chain", "chain_call_mean_ms", ("chain", "call_ms"), "mean", "ms"),
    ("chain", "chain_score_mean_ms", ("chain", "score_ms"), "mean", "ms"),
]


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    created = datetime.fromisoformat(result["created_at"]).replace(tzinfo=None)  # naive UTC, as the other tables
    base = {"result_id": result["result_id"], "created_at": created, "environment": result["environment"]}
    out = []
    for cid, c in result["configs"].items():
        def add(benchmark: str, figure: str, value: Any, ci: list[float] | None, n: int | None, unit: str) -> None:
            if value is not None:
                out.append({**base, "config_id": cid, "model_id": c["model_id"], "benchmark": benchmark, "figure": figure,
                            "value": float(value), "ci_low": ci[0] if ci else None, "ci_high": ci[1] if ci else None, "n": n, "unit": unit})
        for benchmark, figure, (section, sub), stat, unit in FIGURE_ROWS:
            stats = (c.get(section) or {}).get(sub) or {}
            add(benchmark, figure, stats.get(stat), stats.get(f"{stat}_ci"), stats.get("n"), unit)
        add("throughput", "throughput_rps", c["throughput"]["rps"], None, c["throughput"]["ok"], "req/s")
        add("cost", "cost_per_query_usd", c["cost"]["cost_per_query_usd"], None, len(c["cost"]["samples_usd"]), "USD")
        add("cost", "monthly_usd", c["cost"]["monthly_usd"], None, None, "USD")
        add("latency", "error_rate", sum(c["latency"]["errors"].values()) / max(1, c["latency"]["requests"]), None, c["latency"]["requests"], "share")
    return out


def load(result: dict[str, Any], uri: str | None = None) -> int:
    from mangaeval.warehouse import connect

    warehouse = connect(uri)
    try:
        warehouse.require_schema()
        import pandas as pd

        from mangaeval.warehouse.base import COLUMNS

        frame = pd.DataFrame(rows(result), columns=COLUMNS["benchmark_results"])
        frame["n"] = frame["n"].astype("Int64")  # a count, None for a figure without one: not 40.0 (PostgreSQL's COPY refuses it)
        return warehouse.replace_keyed("benchmark_results", {"result_id": result["result_id"]}, frame)
    finally:
        warehouse.close()

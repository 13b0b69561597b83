"""Per configuration x intent summary of a result frame: tokens, cost, latency percentiles, errors, and
mean quality and pass rate with 95% cluster-bootstrap confidence intervals (whole clusters resampled:
mangaeval.clusters, mangaeval.cluster_stats), with the number of clusters beside the number of scored cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mangaeval.cluster_stats import cluster_bootstrap_ci
from mangaeval.clusters import with_cluster_ids

ALL_INTENTS = "ALL"


def bootstrap_ci(values: np.ndarray, clusters: Any = None, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Percentile bootstrap CI of the mean resampling whole clusters (each value its own without `clusters`), seeded so
    a summary is reproducible; None below two clusters."""
    return cluster_bootstrap_ci(values, clusters, confidence)


def _quality_summary(ok: pd.DataFrame) -> dict[str, Any]:
    if "quality_score" not in ok:
        return {}
    scored = ok[ok["quality_score"].notna()]
    quality = scored["quality_score"].astype("float64").to_numpy()
    passed = scored["passed"].astype("bool").astype("float64").to_numpy()
    clusters = scored["cluster_id"].astype(object).to_numpy()
    q_low, q_high = bootstrap_ci(quality, clusters)
    p_low, p_high = bootstrap_ci(passed, clusters)
    return {
        "scored": int(quality.size),
        "clusters": int(len(set(clusters))),
        "mean_quality": float(quality.mean()) if quality.size else None,
        "mean_quality_ci95": [q_low, q_high],
        "pass_rate": float(passed.mean()) if passed.size else None,
        "pass_rate_ci95": [p_low, p_high],
    }


def _percentile(values: pd.Series, q: float) -> float | None:
    clean = values.dropna().astype("float64").to_numpy()
    return float(np.percentile(clean, q)) if clean.size else None  # linear, as PERCENTILE_CONT


def _group_summary(group: pd.DataFrame) -> dict[str, Any]:
    ok = group[group["status"] == "ok"]
    calls, n_ok = len(group), len(ok)
    cost = ok["cost_usd"].astype("float64")
    return {
        "calls": calls,
        "ok": n_ok,
        "errors": calls - n_ok,
        "error_rate": (calls - n_ok) / calls if calls else None,
        "mean_input_tokens": float(ok["input_tokens"].astype("float64").mean()) if n_ok else None,
        "mean_output_tokens": float(ok["output_tokens"].astype("float64").mean()) if n_ok else None,
        "total_cost_usd": float(cost.sum()) if n_ok else 0.0,
        "mean_cost_usd": float(cost.mean()) if n_ok else None,
        "latency_p50_ms": _percentile(ok["latency_ms"], 50),
        "latency_p95_ms": _percentile(ok["latency_ms"], 95),
        "latency_p99_ms": _percentile(ok["latency_ms"], 99),
        "cache_hits": int(group["cache_hit"].astype("bool").sum()),
        **_quality_summary(ok),
    }


def summarize(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per (config, intent), then one per config over all intents (intent = 'ALL')."""
    frame = with_cluster_ids(frame)  # results from before clusters: each case its own
    rows: list[dict[str, Any]] = []
    for (config_id, intent), group in frame.groupby(["config_id", "intent"], sort=True):
        rows.append({"config_id": config_id, "intent": intent, **_group_summary(group)})
    for config_id, group in frame.groupby("config_id", sort=True):
        rows.append({"config_id": config_id, "intent": ALL_INTENTS, **_group_summary(group)})
    return rows


def format_summary(rows: list[dict[str, Any]]) -> str:
    table = pd.DataFrame(rows)
    if table.empty:
        return "(no results)"
    columns = ["config_id", "intent", "calls", "errors", "mean_input_tokens", "mean_output_tokens",
               "mean_cost_usd", "total_cost_usd", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]
    names = ["config", "intent", "calls", "errors", "in_tok", "out_tok", "cost/call $", "total $", "p50 ms", "p95 ms", "p99 ms"]
    if "mean_quality" in table:
        table["quality [95% CI]"] = [_with_ci(m, ci, "{:.3f}") for m, ci in zip(table["mean_quality"], table["mean_quality_ci95"])]
        table["pass [95% CI]"] = [_with_ci(m, ci, "{:.0%}") for m, ci in zip(table["pass_rate"], table["pass_rate_ci95"])]
        table["cases/clusters"] = [f"{s}/{g}" for s, g in zip(table["scored"], table["clusters"])]
        columns += ["cases/clusters", "quality [95% CI]", "pass [95% CI]"]
        names += ["cases/clusters", "quality [95% CI]", "pass [95% CI]"]
    shown = table[columns].copy()
    shown.columns = names
    formats = {"in_tok": "{:.0f}", "out_tok": "{:.0f}", "cost/call $": "{:.6f}", "total $": "{:.4f}",
               "p50 ms": "{:.0f}", "p95 ms": "{:.0f}", "p99 ms": "{:.0f}"}
    for column, fmt in formats.items():
        shown[column] = shown[column].map(lambda v, f=fmt: "-" if v is None or pd.isna(v) else f.format(v))
    return shown.to_string(index=False)


def _with_ci(mean: float | None, ci: list[float | None] | None, fmt: str) -> str:
    if mean is None or pd.isna(mean):
        return "-"
    if not ci or ci[0] is None:
        return fmt.format(mean)
    return f"{fmt.format(mean)} [{fmt.format(ci[0])}, {fmt.format(ci[1])}]"

"""Per configuration x intent summary of a result frame: tokens, cost, latency percentiles, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

ALL_INTENTS = "ALL"


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
    }


def summarize(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per (config, intent), then one per config over all intents (intent = 'ALL')."""
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
    shown = table[["config_id", "intent", "calls", "errors", "mean_input_tokens", "mean_output_tokens",
                   "mean_cost_usd", "total_cost_usd", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]].copy()
    shown.columns = ["config", "intent", "calls", "errors", "in_tok", "out_tok", "cost/call $", "total $", "p50 ms", "p95 ms", "p99 ms"]
    formats = {"in_tok": "{:.0f}", "out_tok": "{:.0f}", "cost/call $": "{:.6f}", "total $": "{:.4f}",
               "p50 ms": "{:.0f}", "p95 ms": "{:.0f}", "p99 ms": "{:.0f}"}
    for column, fmt in formats.items():
        shown[column] = shown[column].map(lambda v, f=fmt: "-" if v is None or pd.isna(v) else f.format(v))
    return shown.to_string(index=False)

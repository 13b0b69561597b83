"""`decide`: the warehouse's decisions for result rows, on an in-memory DuckDB running the same SQL files:
aggregates, Pareto frontier, recommendation (the routing document) and monthly projection."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mangaeval.errors import MangaEvalError
from mangaeval.results import RESULT_SCHEMA, conform_types
from mangaeval.warehouse.base import Warehouse, connect
from mangaeval.warehouse.cases import case_rows
from mangaeval.warehouse.live_calibration import calibrated_projection, model_price_rows
from mangaeval.warehouse.pairs import quality_pairs
from mangaeval.warehouse.policy import RoutingPolicy, intent_mix_rows, load_policy

REQUIRED = ["run_id", "config_id", "model_id", "intent", "test_id", "status", "cost_usd", "latency_ms", "input_tokens",
            "output_tokens", "quality_score", "passed"]


def run_tables(frame: pd.DataFrame, run_id: str, policy: RoutingPolicy, current_routing: dict[str, str] | None) -> dict[str, Any]:
    intents = sorted(set(frame["intent"]))
    return {
        "eval_results": frame,
        "quality_pairs": quality_pairs(frame),
        "routing_policy": [policy.row(run_id)],
        "intent_mix": intent_mix_rows(run_id, intents),
        "current_routing": [{"run_id": run_id, "intent": i, "config_id": c} for i, c in sorted((current_routing or {}).items())],
        "eval_cases": case_rows(frame, run_id),
        "model_prices": model_price_rows(run_id, frame),  # what the calibrated projection splits costs with
    }


def check_results(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    if frame.empty:
        raise MangaEvalError(f"{where}: no result rows")
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise MangaEvalError(f"{where}: missing column(s) {missing}; score the results first (mangaeval score results)"
                             if "quality_score" in missing else f"{where}: missing column(s) {missing}")
    runs = sorted(set(frame["run_id"]))
    if len(runs) != 1:
        raise MangaEvalError(f"{where}: expected the rows of one run, found runs {runs}")
    for column in RESULT_SCHEMA.names:  # optional columns of the layout
        if column not in frame.columns:
            frame = frame.assign(**{column: None})
    return conform_types(frame, where)  # 812.0 in latency_ms is read as 812; 812.5 is refused naming the row


def decisions_document(warehouse: Warehouse, run_id: str) -> dict[str, Any]:
    frames = warehouse.decisions(run_id)
    aggregates = frames["aggregates"].astype(object).where(frames["aggregates"].notna(), None).to_dict("records")
    frontier: dict[str, list[str]] = {}
    for row in frames["frontier"].itertuples():
        frontier.setdefault(row.intent, []).append(row.config_id)
    recommendation = {}
    for row in frames["recommendation"].astype(object).where(frames["recommendation"].notna(), None).to_dict("records"):
        recommendation[row.pop("intent")] = {**row, "flagged": bool(row["flagged"])}
    by_config = frames["projection_by_config"]
    by_intent = frames["projection_by_intent"]
    recommended_total = None if by_intent["recommended_monthly_usd"].isna().any() else float(by_intent["recommended_monthly_usd"].sum())
    baseline_total = None if by_intent["baseline_monthly_usd"].isna().any() else float(by_intent["baseline_monthly_usd"].sum())
    projection = {
        "recommended_monthly_usd": recommended_total,
        "baseline_monthly_usd": baseline_total,
        "savings_monthly_usd": None if recommended_total is None or baseline_total is None else baseline_total - recommended_total,
        "per_configuration": {r.config_id: (float(r.monthly_usd) if r.intents_missing == 0 else None) for r in by_config.itertuples()},
        "per_intent": by_intent.astype(object).where(by_intent.notna(), None).to_dict("records"),
        "calibrated": calibrated_projection(warehouse, run_id),  # the same at live traffic's token sizes, or why not
    }
    pairs = frames["pairs"].astype(object).where(frames["pairs"].notna(), None).to_dict("records")
    return {"run_id": run_id, "aggregates": aggregates, "frontier": frontier, "recommendation": recommendation, "projection": projection,
            "pairs": pairs}


def decide(frame: pd.DataFrame, current_routing: dict[str, str] | None = None, policy: RoutingPolicy | None = None,
           where: str = "results") -> dict[str, Any]:
    frame = check_results(frame, where)
    run_id = str(frame["run_id"].iloc[0])
    policy = policy or load_policy()
    warehouse = connect("duckdb:///:memory:")
    try:
        warehouse.ensure_schema()
        warehouse.load_run(run_id, run_tables(frame, run_id, policy, current_routing))
        return decisions_document(warehouse, run_id)
    finally:
        warehouse.close()

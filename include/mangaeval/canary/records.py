"""The warehouse side of a rollout: events in (simulated windows, the warm-up), sides out (aggregated in
SQL), and every stage's metrics and decision stored (canary_stage_metrics, canary_decisions)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from mangaeval.canary.policy import Stage
from mangaeval.canary.rollout import RolloutPlan, StageOutcome, Window
from mangaeval.canary.sides import Side
from mangaeval.canary.simulator import SimulatedTraffic
from mangaeval.events import watermark
from mangaeval.events.watermark import REQUESTS_SOURCE
from mangaeval.warehouse.base import Warehouse

# The threshold each metric's row carries in canary_stage_metrics.threshold (the rest are in `detail`).
PRINCIPAL_THRESHOLD = {"quality": "min_ratio", "latency": "max_ratio_lower_bound", "error_rate": "ceiling",
                       "cost_per_request": "budget_ratio"}


def warmup_experiment_id(rollout_id: str) -> str:
    """Warm-up events live under their own experiment id: stored, and outside every judged window by construction."""
    return f"{rollout_id}.warmup"


def store_events(warehouse: Warehouse, load_id: str, events: pd.DataFrame) -> int:
    frame = events.copy()
    frame.insert(0, "load_id", load_id)
    return warehouse.replace_keyed("request_events", {"load_id": load_id}, frame)


def stage_rows(rollout_id: str, outcome: StageOutcome) -> dict[str, list[dict[str, Any]]]:
    metrics = []
    for name, metric in outcome.judgement["metrics"].items():
        key = PRINCIPAL_THRESHOLD.get(name)
        detail = {**metric, "baseline_window": [t.isoformat() for t in outcome.baseline_window]}
        metrics.append({"rollout_id": rollout_id, "stage": outcome.stage, "traffic_pct": outcome.traffic_pct,
                        "window_start": outcome.window_start, "window_end": outcome.window_end, "metric": name,
                        "status": metric["status"], "baseline_value": metric.get("baseline_value"),
                        "canary_value": metric.get("canary_value"), "threshold": metric.get("thresholds", {}).get(key),
                        "detail": json.dumps(detail, default=str)})
    earlier = [f"earlier look ({look['window_end']}): {look['verdict']}: {'; '.join(look['reasons'])}" for look in outcome.looks[:-1]]
    decision = {"rollout_id": rollout_id, "stage": outcome.stage, "traffic_pct": outcome.traffic_pct, "decided_at": outcome.decided_at,
                "verdict": outcome.verdict, "action": outcome.action, "reasons": json.dumps(outcome.reasons + earlier),
                "split_version": outcome.split_version}
    return {"canary_stage_metrics": metrics, "canary_decisions": [decision]}


def store_stage(warehouse: Warehouse, rollout_id: str, outcome: StageOutcome) -> dict[str, int]:
    key = {"rollout_id": rollout_id, "stage": outcome.stage}
    return warehouse.replace_many({table: (key, rows) for table, rows in stage_rows(rollout_id, outcome).items()})


def store_failure(warehouse: Warehouse, rollout_id: str, stage: int, traffic_pct: float, reasons: list[str], at: datetime) -> None:
    """A stage that could not be judged (a task failed) is recorded as ERROR, rolled back."""
    warehouse.replace_keyed("canary_decisions", {"rollout_id": rollout_id, "stage": stage}, [{
        "rollout_id": rollout_id, "stage": stage, "traffic_pct": traffic_pct, "decided_at": at, "verdict": "ERROR",
        "action": "rollback", "reasons": json.dumps(reasons), "split_version": 0}])


def simulator_source(rollout_id: str) -> str:
    """The watermark source of a simulated rollout's events (never the live loader's)."""
    return f"simulator/{rollout_id}"


class WarehouseFeed:
    """Window sides from the warehouse's request_events, judged once the events' watermark has passed the window
    (live: the hourly loader's; simulate: this feed's own). In simulate mode it first loads the simulator's
    traffic for each window slice (idempotently, keyed by rollout, stage and slice) and marks it complete."""

    def __init__(self, warehouse: Warehouse, rollout_id: str, traffic: SimulatedTraffic | None = None):
        self.warehouse, self.rollout_id, self.traffic = warehouse, rollout_id, traffic
        self.source = REQUESTS_SOURCE if traffic is None else simulator_source(rollout_id)

    def open_slice(self, stage: Stage, part: int, start: datetime, end: datetime) -> None:
        if self.traffic is None:
            return  # live: the bot's events arrive through the event loader, which moves the watermark
        baseline, canary = self.traffic.window(stage.index, part, stage.traffic_pct, start, (end - start).total_seconds())
        prefix = f"{self.rollout_id}-s{stage.index}p{part}"
        events = pd.concat([baseline.to_events(self.rollout_id, f"{prefix}-b"), canary.to_events(self.rollout_id, f"{prefix}-c")],
                           ignore_index=True)
        store_events(self.warehouse, f"canary/{self.rollout_id}/stage{stage.index}/part{part}", events)
        watermark.record(self.warehouse, self.source, end)  # the slice is written whole: nothing of it is still expected

    def complete_through(self) -> datetime | None:
        return watermark.complete_through(self.warehouse, self.source)

    def side(self, arm: str, window: Window) -> Side:
        params = {"rollout_id": self.rollout_id, "arm": arm, "window_start": window[0], "window_end": window[1]}
        summary = self.warehouse.query("canary/window_side.sql", params).to_dict(orient="records")
        latencies = self.warehouse.query("canary/window_latencies.sql", params)["latency_ms"].to_numpy(dtype=float)
        row = summary[0] if summary and int(summary[0]["requests"] or 0) > 0 else None
        return Side.from_summary(row, latencies if row else np.empty(0))

    def sides(self, baseline_window: Window, canary_window: Window) -> tuple[Side, Side]:
        return self.side("control", baseline_window), self.side("treatment", canary_window)


def warehouse_sink(warehouse: Warehouse):
    def record(plan: RolloutPlan, outcome: StageOutcome) -> None:
        store_stage(warehouse, plan.rollout_id, outcome)

    return record

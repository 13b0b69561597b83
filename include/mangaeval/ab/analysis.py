"""A/B analysis: sufficient statistics from the warehouse (SQL in sql/ab/), then per-metric comparisons.

Only sums leave the warehouse (sessions, sums, squares, cross products per arm; the P95 and its interval
bounds): the analysis of 10M request events moves a few dozen numbers into Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from mangaeval.ab.experiments import METRICS, Experiment
from mangaeval.errors import MangaEvalError
from mangaeval.ab.stats import ArmSums, Comparison, compare, holm, quantile_interval_fractions, sample_ratio_mismatch

ARMS = ("control", "treatment")
BOTH_ARMS = "both"  # the arm label sql/ab/ab_request_sums.sql gives sessions seen in both arms
P95 = 0.95
REQUEST_METRICS = {  # metric -> (denominator x, numerator y) columns of sql/ab/ab_request_sums.sql
    "quality": ("scored", "quality"),
    "latency_ms": ("ok", "latency_ms"),
    "cost_usd": ("requests", "cost_usd"),
    "error_rate": ("requests", "failed"),
}
SESSION_METRICS = ("cart_add", "escalated", "continued", "duration_s")
# Spread of the mSPRT's normal mixture: the effect size each sequential test is tuned for. Quality uses the
# experiment's minimum effect; the others a 10% relative change (or 1 point of error rate).
RELATIVE_MIXTURE = 0.10
ERROR_RATE_MIXTURE = 0.01


@dataclass
class SufficientStats:
    """Everything the analysis reads, per arm."""

    requests: dict[str, dict[str, float]] = field(default_factory=dict)  # arm -> row of ab_request_sums.sql
    sessions: dict[str, dict[str, float]] = field(default_factory=dict)  # arm -> row of ab_session_sums.sql
    p95: dict[str, dict[str, float]] = field(default_factory=dict)  # arm -> requests, p95, p95_low, p95_high
    sessions_in_both_arms: int = 0


def _rows_by_arm(frame) -> dict[str, dict[str, float]]:
    return {row["arm"]: {k: (float(v) if v is not None else 0.0) for k, v in row.items() if k != "arm"} for row in frame.to_dict("records")}


def sufficient_stats(warehouse, experiment_id: str, as_of: datetime) -> SufficientStats:
    """Run the sufficient-statistics SQL for one experiment up to `as_of` (naive UTC)."""
    params = {"experiment_id": experiment_id, "as_of": as_of}
    requests = _rows_by_arm(warehouse.query("ab/ab_request_sums.sql", params))
    counted = int(warehouse.query("ab/ab_request_count.sql", params).iloc[0, 0] or 0)
    summed = int(round(sum(row["requests"] for row in requests.values())))
    if summed != counted:
        raise MangaEvalError(f"experiment {experiment_id!r}: request_session_totals account for {summed} request(s) up to {as_of}, "
                             f"request_events hold {counted}: the totals are out of step (events written around the loader?); "
                             f"run `mangaeval ab rebuild-totals --experiment {experiment_id}`")
    both = requests.pop(BOTH_ARMS, {})  # sessions seen in both arms: reported, excluded from both
    found = SufficientStats(requests=requests, sessions=_rows_by_arm(warehouse.query("ab/ab_session_sums.sql", params)),
                            sessions_in_both_arms=int(both.get("sessions", 0)))
    n_ok = [int(found.requests.get(arm, {}).get("ok", 0)) for arm in ARMS]
    if min(n_ok) > 0:
        q_low, q_high = quantile_interval_fractions(min(n_ok))
        bounds = {**params, "fractions": [P95, q_low, q_high], "q_low": q_low, "q_high": q_high}
        for row in warehouse.query("ab/ab_latency_p95.sql", bounds).to_dict("records"):
            found.p95[row["arm"]] = {k: float(row[k]) for k in ("requests", "p95", "p95_low", "p95_high")}
    return found


def previous_look(warehouse, experiment_id: str, as_of: datetime) -> dict[str, dict[str, float]]:
    frame = warehouse.query("ab/ab_previous_sequential.sql", {"experiment_id": experiment_id, "as_of": as_of})
    return {row["metric"]: row for row in frame.to_dict("records")}


def arm_sums(stats: SufficientStats, metric: str, arm: str) -> ArmSums | None:
    if metric in REQUEST_METRICS:
        row = stats.requests.get(arm)
        if not row:
            return None
        x, y = REQUEST_METRICS[metric]
        return ArmSums(int(row["sessions"]), row[x], row[y], row[f"{x}_sq"], row[f"{y}_sq"], row[f"{y}_x_{x}"])
    row = stats.sessions.get(arm)
    if not row:
        return None
    return ArmSums.of_session_metric(int(row["sessions"]), row[metric], row[f"{metric}_sq"])


def mixture_sd(metric: str, control_mean: float, experiment: Experiment) -> float:
    if metric == "quality":
        return experiment.min_effect
    if metric == "error_rate":
        return ERROR_RATE_MIXTURE
    return RELATIVE_MIXTURE * abs(control_mean) if control_mean and math.isfinite(control_mean) else math.nan


def session_counts(stats: SufficientStats) -> tuple[int, int, str]:
    """Sessions per arm for the sample-ratio check: session events when there are any, else request sessions."""
    source = stats.sessions if stats.sessions else stats.requests
    return (int(source.get("control", {}).get("sessions", 0)), int(source.get("treatment", {}).get("sessions", 0)),
            "session_events" if stats.sessions else "request_events")


@dataclass
class Analysis:
    experiment: Experiment
    as_of: datetime
    comparisons: dict[str, Comparison]
    srm: dict[str, Any]
    p95: dict[str, Any]
    sessions_in_both_arms: int
    holm_adjusted: dict[str, float]


def analyze(stats: SufficientStats, experiment: Experiment, as_of: datetime, previous: dict[str, dict] | None = None) -> Analysis:
    previous = previous or {}
    comparisons: dict[str, Comparison] = {}
    for metric in METRICS:
        control, treatment = arm_sums(stats, metric, "control"), arm_sums(stats, metric, "treatment")
        if control is None or treatment is None or control.n < 2 or treatment.n < 2:
            continue
        control_mean = control.mean_and_variance()[0]
        comparisons[metric] = compare(control, treatment, session_metric=metric in SESSION_METRICS,
                                      tau=mixture_sd(metric, control_mean, experiment), alpha=experiment.alpha,
                                      previous=previous.get(metric))
    control_n, treatment_n, source = session_counts(stats)
    srm_p = sample_ratio_mismatch(control_n, treatment_n, experiment.treatment_share)
    srm_status = "no_data" if math.isnan(srm_p) else ("mismatch" if srm_p < experiment.srm_p_value else "ok")
    srm = {"p_value": None if math.isnan(srm_p) else srm_p, "status": srm_status, "control_sessions": control_n,
           "treatment_sessions": treatment_n, "expected_treatment_share": experiment.treatment_share, "counted_from": source,
           "threshold": experiment.srm_p_value}
    p95 = {arm: dict(stats.p95[arm]) for arm in ARMS if arm in stats.p95}
    if len(p95) == 2 and p95["control"]["p95"] > 0:
        p95["ratio"] = p95["treatment"]["p95"] / p95["control"]["p95"]
    goals = {m: comparisons[m].p_value_sequential for m in experiment.goal_metrics if m in comparisons}
    return Analysis(experiment, as_of, comparisons, srm, p95, stats.sessions_in_both_arms, holm(goals))


def utc_naive(value: datetime | str | None) -> datetime:
    """A time as naive UTC (how the warehouse stores event times); None = now."""
    if value is None:
        return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)

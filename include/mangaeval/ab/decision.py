"""The decision of an A/B analysis, from the sequential (always-valid) results, with its reasons spelled out.

Order: an invalid split blocks everything; then the minimum sample; then guardrails (one-sided, per metric);
then quality (Holm across the goal metrics); then cost; then the maximum duration.
"""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from mangaeval.ab.analysis import Analysis, utc_naive
from mangaeval.ab.experiments import Guardrail

PROMOTE, REVIEW, ROLLBACK, CONTINUE, INVALID, STOP = (
    "PROMOTE_TREATMENT", "REVIEW", "ROLLBACK", "CONTINUE", "INVALID", "STOP_NO_DIFFERENCE")
# Which direction of a metric hurts: +1 = higher is worse.
HARM_SIGN = {"escalated": 1, "error_rate": 1, "latency_ms": 1, "cost_usd": 1, "continued": -1, "cart_add": -1, "duration_s": -1}


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}g}"


def evaluate_guardrail(analysis: Analysis, guardrail: Guardrail) -> dict[str, Any]:
    """`breached` (significantly worse, by more than the margin as estimated), `non_inferior` (the worst
    plausible harm is under the margin), `inconclusive`, or `no_data`."""
    if guardrail.metric == "latency_p95_ms":
        return _p95_guardrail(analysis, guardrail)
    comparison = analysis.comparisons.get(guardrail.metric)
    if comparison is None:
        return {"metric": guardrail.metric, "status": "no_data"}
    sign = HARM_SIGN.get(guardrail.metric, 1)
    harm = sign * comparison.effect
    harm_low, harm_high = sorted((sign * comparison.cs_low, sign * comparison.cs_high))
    margin = guardrail.margin(comparison.control_mean)
    p_ni = float(stats.norm.cdf((harm - margin) / comparison.std_error)) if comparison.std_error > 0 else math.nan
    if math.isfinite(harm_low) and harm_low > 0 and harm > margin:
        status = "breached"
    elif math.isfinite(harm_high) and harm_high < margin:
        status = "non_inferior"
    else:
        status = "inconclusive"
    return {"metric": guardrail.metric, "status": status, "harm": harm, "margin": margin, "harm_cs_low": harm_low,
            "harm_cs_high": harm_high, "p_value_non_inferiority": p_ni}


def _p95_guardrail(analysis: Analysis, guardrail: Guardrail) -> dict[str, Any]:
    p95 = analysis.p95
    if "control" not in p95 or "treatment" not in p95:
        return {"metric": "latency_p95_ms", "status": "no_data"}
    control, treatment = p95["control"], p95["treatment"]
    margin = guardrail.margin(control["p95"])
    sla = analysis.experiment.latency_sla_p95_ms
    if treatment["p95_low"] > control["p95_high"] + margin:
        status, why = "breached", f"treatment P95 >= {_fmt(treatment['p95_low'])} ms exceeds control's <= {_fmt(control['p95_high'])} ms by more than {_fmt(margin)} ms"
    elif treatment["p95_low"] > sla >= control["p95"]:
        status, why = "breached", f"treatment P95 >= {_fmt(treatment['p95_low'])} ms is over the {sla:g} ms SLA that control meets"
    elif treatment["p95_high"] < control["p95_low"] + margin:
        status, why = "non_inferior", ""
    else:
        status, why = "inconclusive", ""
    return {"metric": "latency_p95_ms", "status": status, "margin": margin, "control_p95": control["p95"],
            "treatment_p95": treatment["p95"], "why": why}


def decide(analysis: Analysis) -> dict[str, Any]:
    e = analysis.experiment
    reasons: list[str] = []
    srm = analysis.srm
    guardrails = {g.metric: evaluate_guardrail(analysis, g) for g in e.guardrails}
    if analysis.sessions_in_both_arms:
        reasons.append(f"warning: {analysis.sessions_in_both_arms} session(s) appear in both arms (assignment or logging bug): excluded from both")

    def result(decision: str) -> dict[str, Any]:
        return {"decision": decision, "reasons": reasons, "guardrails": guardrails}

    if srm["status"] == "mismatch":
        reasons.insert(0, f"sample-ratio mismatch: {srm['control_sessions']} control vs {srm['treatment_sessions']} treatment sessions "
                          f"against a {e.treatment_share:g} treatment share (chi-square p = {_fmt(srm['p_value'], 3)} < {e.srm_p_value:g}); "
                          "no result is trustworthy until assignment or logging is fixed")
        return result(INVALID)
    control_n, treatment_n = srm["control_sessions"], srm["treatment_sessions"]
    if min(control_n, treatment_n) < e.min_samples_per_arm:
        reasons.insert(0, f"under the minimum sample: {control_n} control and {treatment_n} treatment sessions, "
                          f"{e.min_samples_per_arm} per arm needed")
        return result(CONTINUE)
    breached = [g for g in guardrails.values() if g["status"] == "breached"]
    if breached:
        for g in breached:
            if g["metric"] == "latency_p95_ms":
                reasons.append(f"guardrail latency_p95_ms breached: {g['why']}")
            else:
                reasons.append(f"guardrail {g['metric']} breached: treatment worse by {_fmt(g['harm'])} (always-valid interval of the harm "
                               f"[{_fmt(g['harm_cs_low'])}, {_fmt(g['harm_cs_high'])}] excludes 0; margin {_fmt(g['margin'])})")
        return result(ROLLBACK)
    quality = analysis.comparisons.get("quality")
    if quality is None:
        reasons.append("no scored quality in one arm yet")
        return result(STOP if analysis.as_of >= utc_naive(e.end_time) else CONTINUE)
    alpha = e.alpha
    q_p = analysis.holm_adjusted.get("quality", math.nan)
    q_text = (f"quality {_fmt(quality.control_mean)} -> {_fmt(quality.treatment_mean)} (effect {quality.effect:+.4f}, always-valid "
              f"interval [{_fmt(quality.cs_low)}, {_fmt(quality.cs_high)}], sequential p = {_fmt(quality.p_value_sequential, 3)}, "
              f"Holm-adjusted {_fmt(q_p, 3)})")
    cost = analysis.comparisons.get("cost_usd")
    cost_delta = cost.effect if cost is not None else math.nan
    cost_text = f"cost {'n/a' if cost is None else f'{cost_delta:+.5f}'} USD/request"
    if q_p < alpha and quality.effect < 0:
        reasons.append(f"treatment worse: {q_text}")
        return result(ROLLBACK)
    if q_p < alpha and quality.effect >= e.min_effect - 1e-12:
        if math.isfinite(cost_delta) and cost_delta < e.max_cost_increase_usd:
            reasons.append(f"treatment better by at least the minimum effect {e.min_effect:g}: {q_text}; {cost_text}, "
                           f"under the {e.max_cost_increase_usd:g} USD/request allowance")
            return result(PROMOTE)
        reasons.append(f"treatment better: {q_text}; but {cost_text} is at or above the {e.max_cost_increase_usd:g} USD/request "
                       "allowance: a person weighs quality against cost")
        return result(REVIEW)
    cost_p = analysis.holm_adjusted.get("cost_usd", math.nan)
    if cost is not None and cost_p < alpha and cost_delta < 0 and quality.cs_low > -e.min_effect:
        reasons.append(f"similar quality at lower cost: {cost_text} (Holm-adjusted sequential p = {_fmt(cost_p, 3)}); quality cannot be "
                       f"worse by the minimum effect {e.min_effect:g}: {q_text}")
        return result(PROMOTE)
    if q_p < alpha and 0 < quality.effect < e.min_effect:
        reasons.append(f"treatment better, but by less than the minimum effect {e.min_effect:g}: {q_text}")
    if analysis.as_of >= utc_naive(e.end_time):
        reasons.insert(0, f"maximum duration of {e.max_duration_days:g} days reached without a decisive difference: {q_text}; {cost_text}")
        return result(STOP)
    reasons.insert(0, f"not yet conclusive: {q_text}; {cost_text}")
    return result(CONTINUE)


def report(analysis: Analysis) -> dict[str, Any]:
    """The analysis and its decision as one JSON-able document (the CLI's --json, the warehouse rows)."""
    decided = decide(analysis)
    metrics = {}
    for name, c in analysis.comparisons.items():
        doc = c.to_dict()
        doc["holm_adjusted_p_value_sequential"] = analysis.holm_adjusted.get(name)
        doc["role"] = "goal" if name in analysis.experiment.goal_metrics else (
            "guardrail" if name in decided["guardrails"] else "secondary")
        metrics[name] = doc
    return {
        "experiment_id": analysis.experiment.id,
        "registered": analysis.experiment.registered,
        "analyzed_at": analysis.as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "decision": decided["decision"],
        "reasons": decided["reasons"],
        "srm": analysis.srm,
        "metrics": {k: {kk: (None if isinstance(vv, float) and not math.isfinite(vv) else vv) for kk, vv in v.items()}
                    for k, v in metrics.items()},
        "latency_p95": analysis.p95,
        "guardrails": decided["guardrails"],
        "sessions_in_both_arms": analysis.sessions_in_both_arms,
        "experiment": analysis.experiment.to_dict(),
    }

"""The canary judge: canary vs baseline request events over the same window, four metrics, one verdict.

Each metric is `pass`, `fail`, `no-data` (a side has nothing to measure), `inconclusive` (quality only: not
yet shown within the margin, not shown outside it) or `error` (could not be computed). Verdict precedence:

1. a metric without baseline data -> HOLD (never a comparison against a made-up number);
2. half or more of the metrics without canary data -> ROLLBACK;
3. a metric that failed to compute -> HOLD (a failure to compute never advances a stage);
4. fewer canary requests than the tests need for their power at their margins (power.py; never fewer than
   `min_requests_per_side` on either side) -> HOLD (insufficient samples);
5. any metric `fail` -> ROLLBACK;
6. anything `inconclusive` or `no-data` left -> HOLD;
7. otherwise PROMOTE.

Every verdict carries, last in its reasons and in `samples.power`, what each test could detect at the sample
reached: a verdict on too little traffic says how little it could see.

Rollback-side tests use `fail_alpha_per_stage` (alpha / number of stages): a rollout looks once per stage, so
a candidate as good as its baseline is rolled back at most about alpha of the time over the whole rollout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy import stats

from mangaeval.canary import power as power_module
from mangaeval.canary.policy import CanaryPolicy
from mangaeval.canary.sides import Side

METRICS = ("quality", "latency", "error_rate", "cost_per_request")
PROMOTE, HOLD, ROLLBACK = "PROMOTE", "HOLD", "ROLLBACK"


@dataclass
class Judgement:
    verdict: str
    reasons: list[str]
    metrics: dict[str, dict[str, Any]]
    samples: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return json_ready({"verdict": self.verdict, "reasons": self.reasons, "samples": self.samples, "metrics": self.metrics})


def json_ready(value: Any) -> Any:
    """JSON-ready (XCom, the warehouse, --json): numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _no_data(missing: str, why: str, thresholds: dict[str, Any]) -> dict[str, Any]:
    return {"status": "no-data", "missing": missing, "reason": why, "thresholds": thresholds}


def _missing_side(baseline_ok: bool, canary_ok: bool) -> str:
    return "both" if not baseline_ok and not canary_ok else ("baseline" if not baseline_ok else "canary")


# --- quality: non-inferiority of the mean on the relative scale -------------------------------------------------
def quality_metric(baseline: Side, canary: Side, policy: CanaryPolicy) -> dict[str, Any]:
    margin = 1.0 - policy.quality_max_relative_drop  # the lowest acceptable canary/baseline ratio
    thresholds = {"min_ratio": margin, "floor": policy.quality_floor, "alpha": policy.alpha, "fail_alpha": policy.fail_alpha_per_stage}
    b_ok = baseline.quality_n >= 2 and baseline.quality_mean is not None and baseline.quality_mean > 0
    c_ok = canary.quality_n >= 2 and canary.quality_mean is not None
    if not (b_ok and c_ok):
        return _no_data(_missing_side(b_ok, c_ok), "fewer than 2 scored answers (or a zero baseline mean) to compare", thresholds)
    mb, mc = baseline.quality_mean, canary.quality_mean
    ratio = mc / mb
    # Delta method for the ratio of two independent means: Var(R) ~ Var(mc)/mb^2 + mc^2 Var(mb)/mb^4.
    se = math.sqrt((canary.quality_var or 0.0) / canary.quality_n / mb**2 + mc**2 * (baseline.quality_var or 0.0) / baseline.quality_n / mb**4)
    z_pass, z_fail = stats.norm.ppf(1 - policy.alpha), stats.norm.ppf(1 - policy.fail_alpha_per_stage)
    lower, upper = ratio - z_pass * se, ratio + z_fail * se
    if se > 0:
        p_value = float(stats.norm.sf((ratio - margin) / se))  # H0: ratio <= margin
    else:
        p_value = 0.0 if ratio > margin else 1.0
    if mc < policy.quality_floor:
        status, why = "fail", f"canary mean {mc:.3f} below the floor {policy.quality_floor:.2f}"
    elif upper < margin:
        status, why = "fail", f"canary/baseline {ratio:.3f}, upper bound {upper:.3f} < {margin:.2f}: more than {policy.quality_max_relative_drop:.0%} below baseline"
    elif p_value < policy.alpha:
        status, why = "pass", f"canary/baseline {ratio:.3f}, lower bound {lower:.3f} > {margin:.2f} (p = {p_value:.2g})"
    else:
        status, why = "inconclusive", f"canary/baseline {ratio:.3f} in [{lower:.3f}, {upper:.3f}]: not yet shown within {policy.quality_max_relative_drop:.0%}"
    return {"status": status, "reason": why, "baseline_value": mb, "canary_value": mc, "ratio": ratio, "ratio_se": se,
            "ratio_lower": lower, "ratio_upper": upper, "p_value": p_value, "baseline_n": baseline.quality_n,
            "canary_n": canary.quality_n, "thresholds": thresholds}


# --- latency: P95 ratio with a bootstrap interval, Mann-Whitney beside it ----------------------------------------
def nearest_rank(sorted_values: np.ndarray, q: float) -> float:
    k = max(1, math.ceil(q * len(sorted_values)))
    return float(sorted_values[k - 1])


def bootstrap_quantile(sorted_values: np.ndarray, q: float, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of the nearest-rank quantile, drawn from their exact resampling distribution: the k-th
    order statistic of a resample is <= x_(j) iff Binomial(n, j/n) >= k. Same distribution as resampling the data,
    without materialising resamples (a window holds tens of thousands of requests)."""
    n = len(sorted_values)
    k = max(1, math.ceil(q * n))
    cdf = stats.binom.sf(k - 1, n, np.arange(1, n + 1) / n)
    index = np.minimum(np.searchsorted(cdf, rng.random(resamples), side="left"), n - 1)
    return sorted_values[index]


def latency_metric(baseline: Side, canary: Side, policy: CanaryPolicy) -> dict[str, Any]:
    q = policy.latency_quantile
    thresholds = {"max_ratio_lower_bound": policy.latency_max_ratio, "sla_ms": policy.latency_sla_ms, "quantile": q,
                  "fail_alpha": policy.fail_alpha_per_stage, "bootstrap_resamples": policy.bootstrap_resamples}
    b_ok, c_ok = len(baseline.latencies) > 0, len(canary.latencies) > 0
    if not (b_ok and c_ok):
        return _no_data(_missing_side(b_ok, c_ok), "no answered request with a latency", thresholds)
    b, c = np.sort(baseline.latencies), np.sort(canary.latencies)
    pb, pc = nearest_rank(b, q), nearest_rank(c, q)
    rng = np.random.default_rng(policy.bootstrap_seed)
    ratios = bootstrap_quantile(c, q, policy.bootstrap_resamples, rng) / bootstrap_quantile(b, q, policy.bootstrap_resamples, rng)
    lower = float(np.quantile(ratios, policy.fail_alpha_per_stage))
    upper = float(np.quantile(ratios, 1 - policy.fail_alpha_per_stage))
    mw = stats.mannwhitneyu(c, b, alternative="greater")
    ratio = pc / pb if pb > 0 else float("inf")
    over_sla, regressed = pc > policy.latency_sla_ms, lower > policy.latency_max_ratio
    if over_sla or regressed:
        status = "fail"
        why = "; ".join(([f"canary P{q * 100:g} {pc:,.0f} ms above the {policy.latency_sla_ms:,.0f} ms SLA"] if over_sla else [])
                        + [f"P{q * 100:g} {pc:,.0f} vs {pb:,.0f} ms, ratio {ratio:.2f} (lower bound {lower:.2f}"
                           + (f" > {policy.latency_max_ratio:.2f})" if regressed else ")")])
    else:
        status, why = "pass", f"P{q * 100:g} {pc:,.0f} vs {pb:,.0f} ms, ratio {ratio:.2f} (lower bound {lower:.2f} <= {policy.latency_max_ratio:.2f})"
    return {"status": status, "reason": why, "baseline_value": pb, "canary_value": pc, "ratio": ratio, "ratio_lower": lower,
            "ratio_upper": upper, "baseline_n": len(b), "canary_n": len(c),
            "mann_whitney": {"u": float(mw.statistic), "p_value_greater": float(mw.pvalue),
                             "prob_canary_slower": float(mw.statistic) / (len(b) * len(c))},
            "thresholds": thresholds}


# --- error rate: one-sided two-proportion test (Fisher's exact) and an absolute ceiling -----------------------------------------
def error_rate_metric(baseline: Side, canary: Side, policy: CanaryPolicy) -> dict[str, Any]:
    thresholds = {"ceiling": policy.error_ceiling, "fail_alpha": policy.fail_alpha_per_stage}
    b_ok, c_ok = baseline.requests > 0, canary.requests > 0
    if not (b_ok and c_ok):
        return _no_data(_missing_side(b_ok, c_ok), "no requests", thresholds)
    pb, pc = baseline.errors / baseline.requests, canary.errors / canary.requests
    pooled = (baseline.errors + canary.errors) / (baseline.requests + canary.requests)
    se = math.sqrt(pooled * (1 - pooled) * (1 / baseline.requests + 1 / canary.requests))
    z = (pc - pb) / se if se > 0 else 0.0  # se = 0: both sides all-ok (or all-failed): no difference
    # Errors are rare (~0.5%): a few per side, where the z-test's normal tail is too light and rolls back
    # more often than alpha says. Fisher's exact test (one-sided) decides; z is reported beside it.
    table = [[canary.errors, canary.requests - canary.errors], [baseline.errors, baseline.requests - baseline.errors]]
    p_value = float(stats.fisher_exact(table, alternative="greater")[1])
    if pc > policy.error_ceiling:
        status, why = "fail", f"canary error rate {pc:.2%} above the ceiling {policy.error_ceiling:.0%}"
    elif p_value < policy.fail_alpha_per_stage:
        status, why = "fail", f"error rate {pc:.2%} vs {pb:.2%}: significant increase (p = {p_value:.2g} < {policy.fail_alpha_per_stage:g})"
    else:
        status, why = "pass", f"error rate {pc:.2%} vs {pb:.2%} (p = {p_value:.2g})"
    return {"status": status, "reason": why, "baseline_value": pb, "canary_value": pc, "z": z, "p_value": p_value, "test": "fisher_exact",
            "baseline_n": baseline.requests, "canary_n": canary.requests, "thresholds": thresholds}


# --- cost per answered request against the budget ratio ----------------------------------------------------------
def cost_metric(baseline: Side, canary: Side, policy: CanaryPolicy) -> dict[str, Any]:
    thresholds = {"budget_ratio": policy.cost_budget_ratio}
    b_ok = baseline.cost_n > 0 and (baseline.cost_mean or 0) > 0
    c_ok = canary.cost_n > 0 and canary.cost_mean is not None
    if not (b_ok and c_ok):
        return _no_data(_missing_side(b_ok, c_ok), "no answered request with a cost (or a zero baseline cost)", thresholds)
    ratio = canary.cost_mean / baseline.cost_mean
    if ratio > policy.cost_budget_ratio:
        status, why = "fail", f"cost per request ${canary.cost_mean:.5f} vs ${baseline.cost_mean:.5f}: ratio {ratio:.2f} > budget {policy.cost_budget_ratio:.2f}"
    else:
        status, why = "pass", f"cost per request ${canary.cost_mean:.5f} vs ${baseline.cost_mean:.5f}: ratio {ratio:.2f}"
    return {"status": status, "reason": why, "baseline_value": baseline.cost_mean, "canary_value": canary.cost_mean, "ratio": ratio,
            "baseline_n": baseline.cost_n, "canary_n": canary.cost_n, "thresholds": thresholds}


CALCULATORS: dict[str, Callable[[Side, Side, CanaryPolicy], dict[str, Any]]] = {
    "quality": quality_metric, "latency": latency_metric, "error_rate": error_rate_metric, "cost_per_request": cost_metric}


def latency_spread(latencies: np.ndarray, policy: CanaryPolicy) -> float | None:
    """A side's spread of log P95 per request, from the lognormal through its observed P50 and P95: the model the
    plan assumes (canary.yaml's planning P50/P95). The bootstrap's own spread of a quantile is too noisy to size a
    sample with (~28% at 275 requests, twice that in the sample it asks for); two quantiles are steady (~8%)."""
    if len(latencies) < 2:
        return None
    ordered = np.sort(latencies)
    p50, p95 = nearest_rank(ordered, 0.5), nearest_rank(ordered, 0.95)
    if p50 <= 0 or p95 <= p50:
        return None
    return power_module.lognormal_quantile_spread(p50, p95, policy.latency_quantile)


def observed_spreads(baseline: Side, canary: Side, policy: CanaryPolicy) -> power_module.Spreads:
    """The spreads the window shows, for the power figures. The canary's own are used once it has the policy's floor
    of requests (fewer say little about a spread); until then it is assumed to spread like its baseline, and a
    side with nothing to show takes the policy's planning assumptions."""
    planned = power_module.planning_spreads(policy)
    floor = policy.min_requests_per_side

    def quality_spread(side: Side) -> float | None:
        if side.quality_n < 2 or not baseline.quality_mean or side.quality_var is None:
            return None
        return math.sqrt(max(side.quality_var, 0.0)) / baseline.quality_mean

    q_base = quality_spread(baseline)
    q_base = planned.quality_baseline if q_base is None else q_base
    q_canary = quality_spread(canary) if canary.quality_n >= floor else None
    l_base = latency_spread(baseline.latencies, policy) or planned.latency_baseline
    l_canary = latency_spread(canary.latencies, policy) if len(canary.latencies) >= floor else None
    error_rate = baseline.errors / baseline.requests if baseline.requests else planned.baseline_error_rate
    side = canary if canary.requests >= floor else baseline
    answered = len(side.latencies) / side.requests if side.requests else planned.answered_share
    return power_module.Spreads(q_base, q_canary or q_base, l_base, l_canary or l_base, error_rate, max(answered, 1e-6))


def judge(baseline: Side, canary: Side, policy: CanaryPolicy, baseline_fixed: bool = False) -> Judgement:
    """`baseline_fixed`: the baseline does not grow with the canary's window (the last stage compares against the
    previous stage's window), which is what the power figures assume when they say how many canary requests are needed."""
    metrics: dict[str, dict[str, Any]] = {}
    for name, calculate in CALCULATORS.items():
        try:
            metrics[name] = calculate(baseline, canary, policy)
        except Exception as exc:  # reported, and the verdict cannot advance on it
            metrics[name] = {"status": "error", "reason": f"could not compute: {type(exc).__name__}: {exc}"}
    try:
        report = power_module.power_report(observed_spreads(baseline, canary, policy), canary.requests, baseline.requests,
                                           baseline_fixed, policy)
    except Exception as exc:  # no power figure, no judgement: an infinite need holds the stage
        report = power_module.unknown_power(canary.requests, baseline.requests, baseline_fixed, policy, f"{type(exc).__name__}: {exc}")
    for name, figures in report["tests"].items():
        metrics[name]["power"] = figures
    samples = {"baseline_requests": baseline.requests, "canary_requests": canary.requests,
               "min_requests_per_side": policy.min_requests_per_side, "needed_canary_requests": report["needed_canary_requests"],
               "power": report}
    verdict, reasons = decide(metrics, samples)
    return Judgement(verdict, reasons + [power_module.describe(report)], metrics, samples)


def _shortfall(metrics: dict[str, dict[str, Any]], samples: dict[str, Any]) -> list[str]:
    """Why the sample is too small, or nothing: each side's floor, then the tests' power at their margins."""
    floor = samples["min_requests_per_side"]
    short = [f"{side} {samples[f'{side}_requests']:,}" for side in ("baseline", "canary") if samples[f"{side}_requests"] < floor]
    if short:
        return [f"insufficient samples: {' and '.join(short)} requests, need {floor:,} per side"]
    needed, reached = samples.get("needed_canary_requests", 0), samples["canary_requests"]
    if reached >= needed:
        return []
    binding = [f"{name}: {m['power']['what']} detectable {_figure(name, m['power']['detectable'])}, margin {_figure(name, m['power']['margin'])}"
               for name, m in metrics.items() if m.get("power") and reached < m["power"]["needed_canary_requests"]]
    why = " (the previous stage's baseline is too small)" if samples["power"].get("baseline_fixed") and not samples["power"].get("error") else ""
    need = f"more than any window can reach{why}" if math.isinf(needed) else f"{needed:,.0f}"
    return [f"insufficient samples: canary {reached:,} requests, need {need} for power {samples['power']['power']:.0%} at the margins"
            + (f" ({'; '.join(binding)})" if binding else "")]


def _figure(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if name == "latency" else f"{value:.1%}"


def decide(metrics: dict[str, dict[str, Any]], samples: dict[str, Any]) -> tuple[str, list[str]]:
    def named(status: str, missing: tuple[str, ...] | None = None) -> list[str]:
        return [n for n, m in metrics.items() if m["status"] == status and (missing is None or m.get("missing") in missing)]

    no_baseline = named("no-data", ("baseline", "both"))
    if samples["baseline_requests"] == 0 or no_baseline:
        what = "no baseline requests in the window" if samples["baseline_requests"] == 0 else f"no baseline data for {', '.join(no_baseline)}"
        return HOLD, [f"{what}: nothing to compare the canary against (never a made-up baseline)"]
    no_canary = named("no-data")
    if 2 * len(no_canary) >= len(metrics):
        return ROLLBACK, [f"{len(no_canary)} of {len(metrics)} metrics without canary data ({', '.join(no_canary)})"]
    errors = named("error")
    if errors:
        return HOLD, [f"{n}: {metrics[n]['reason']}" for n in errors]
    short = _shortfall(metrics, samples)
    if short:
        return HOLD, short
    failed = named("fail")
    if failed:
        return ROLLBACK, [f"{n}: {metrics[n]['reason']}" for n in failed]
    open_ = named("inconclusive") + no_canary
    if open_:
        return HOLD, [f"{n}: {metrics[n]['reason']}" for n in open_]
    return PROMOTE, [f"{n}: {m['reason']}" for n, m in metrics.items()]

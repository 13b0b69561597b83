"""How much traffic the judge needs: each test's power at its margin.

For each test, at a given canary and baseline sample, the smallest change it tells from no change with the
policy's target power (its *detectable* change), and the canary sample at which that reaches the policy's margin
(the *needed* sample). A stage is judged only once it holds the largest of those needs:

| test | detectable at the sample (one-sided, target power) | margin |
|---|---|---|
| quality | relative drop of the mean: (z(1-alpha) + z(power)) x se of canary/baseline | `quality.max_relative_drop` |
| latency | P95 ratio: exp((z(1-fail_alpha) + z(power)) x se of log P95 ratio) | `latency.max_ratio` |
| error rate | the canary error rate a one-sided two-proportion test at fail_alpha detects against the baseline's | `error_rate.ceiling` |

For quality this is also the non-inferiority test's power: at the needed sample a candidate as good as its
baseline is shown within the margin with the target power. Cost per request is a point check against its budget
ratio (tokens x price vary little): it sets no minimum.

A test's standard error is `spread / sqrt(n)` per side, so the same figures serve the judge (spreads observed in
the window) and the plan (spreads the policy assumes before any traffic): `Spreads`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

from scipy import stats

from mangaeval.canary.policy import CanaryPolicy

INFINITE = math.inf
MAX_SEARCH = 1e9  # canary requests: beyond this a need is "never" (a fixed baseline too small, a zero spread...)


@dataclass(frozen=True)
class Spreads:
    """Per-request spread of each test's estimate, per side: the estimate's standard error is spread / sqrt(n)."""

    quality_baseline: float  # sd of a scored answer's quality / the baseline mean (the test is on the ratio)
    quality_canary: float
    latency_baseline: float  # sd of log(P95 estimate) x sqrt(answered requests)
    latency_canary: float
    baseline_error_rate: float
    answered_share: float = 1.0  # answered (scored, timed) requests per request: requests -> the quality/latency n

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def lognormal_quantile_spread(p50_ms: float, p95_ms: float, quantile: float) -> float:
    """sd of log(quantile estimate) x sqrt(n) for lognormal latencies through P50 and P95: the order statistic's
    asymptotic variance q(1 - q) / (n f(x_q)^2), on the log scale sigma^2 q(1 - q) / (n phi(z_q)^2)."""
    sigma = math.log(p95_ms / p50_ms) / stats.norm.ppf(0.95)
    z = stats.norm.ppf(quantile)
    return sigma * math.sqrt(quantile * (1 - quantile)) / stats.norm.pdf(z)


def planning_spreads(policy: CanaryPolicy) -> Spreads:
    """What the plan assumes before any traffic: a candidate that spreads like the baseline of canary.yaml's `planning`."""
    quality = policy.planning_quality_sd / policy.planning_quality_mean
    latency = lognormal_quantile_spread(policy.planning_latency_p50_ms, policy.planning_latency_p95_ms, policy.latency_quantile)
    return Spreads(quality, quality, latency, latency, policy.planning_error_rate, 1.0 - policy.planning_error_rate)


def _z(p: float) -> float:
    return float(stats.norm.ppf(p))


def quality_drop(s: Spreads, n_canary: float, n_baseline: float, policy: CanaryPolicy) -> float:
    """The smallest relative drop of mean quality told from none (one-sided at alpha) with the target power."""
    se = math.sqrt(s.quality_canary**2 / n_canary + s.quality_baseline**2 / n_baseline)
    return (_z(1 - policy.alpha) + _z(policy.power)) * se


def latency_ratio(s: Spreads, n_canary: float, n_baseline: float, policy: CanaryPolicy) -> float:
    """The smallest P95 ratio (canary / baseline) told from 1 (one-sided at fail_alpha) with the target power."""
    se = math.sqrt(s.latency_canary**2 / n_canary + s.latency_baseline**2 / n_baseline)
    return math.exp(min((_z(1 - policy.fail_alpha_per_stage) + _z(policy.power)) * se, 700.0))  # capped: tiny samples overflow


def error_rate(s: Spreads, n_canary: float, n_baseline: float, policy: CanaryPolicy) -> float:
    """The smallest canary error rate a one-sided two-proportion test at fail_alpha tells from the baseline's with
    the target power. Normal approximation with Yates' continuity correction: the judge decides by Fisher's exact
    test, which at a handful of errors is more conservative than the plain normal test (its power at the plain
    need is ~0.6 for a 0.8 target, ~0.75 with the correction)."""
    p0, za, zb = s.baseline_error_rate, _z(1 - policy.fail_alpha_per_stage), _z(policy.power)
    correction = 0.5 * (1 / n_canary + 1 / n_baseline)

    def power_gap(p1: float) -> float:
        pooled = (p1 * n_canary + p0 * n_baseline) / (n_canary + n_baseline)
        null_se = math.sqrt(pooled * (1 - pooled) * (1 / n_canary + 1 / n_baseline))
        alt_se = math.sqrt(p1 * (1 - p1) / n_canary + p0 * (1 - p0) / n_baseline)
        return (p1 - p0) - correction - za * null_se - zb * alt_se  # >= 0: detected with at least the target power

    low, high = p0, 1.0
    if power_gap(high) < 0:
        return 1.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (low, mid) if power_gap(mid) >= 0 else (mid, high)
    return high


# test -> (detectable change, its margin in the policy, which count of requests the test runs on)
TESTS: dict[str, tuple[Callable[[Spreads, float, float, CanaryPolicy], float], Callable[[CanaryPolicy], float], str]] = {
    "quality": (quality_drop, lambda p: p.quality_max_relative_drop, "answered"),
    "latency": (latency_ratio, lambda p: p.latency_max_ratio, "answered"),
    "error_rate": (error_rate, lambda p: p.error_ceiling, "requests"),
}
WHAT = {"quality": "relative quality drop", "latency": "P95 ratio", "error_rate": "canary error rate"}


def _count(kind: str, requests: float, s: Spreads) -> float:
    return requests * s.answered_share if kind == "answered" else requests


def needed_canary_requests(test: str, s: Spreads, baseline_for: Callable[[float], float], policy: CanaryPolicy) -> float:
    """The fewest canary requests at which `test` detects its margin, the baseline growing as `baseline_for(canary
    requests)` says (in the same window: in proportion; at 100%: fixed, the previous stage's). INFINITE if never."""
    detectable, margin_of, kind = TESTS[test]
    margin = margin_of(policy)
    if test == "error_rate" and s.baseline_error_rate >= margin:
        return 0.0  # the baseline is at the ceiling already: the ceiling's point check decides, power cannot add to it

    def reached(n: float) -> bool:
        nb = baseline_for(n)
        return nb > 0 and detectable(s, max(_count(kind, n, s), 1e-9), max(_count(kind, nb, s), 1e-9), policy) <= margin

    if not reached(MAX_SEARCH):
        return INFINITE
    low, high = 1.0, MAX_SEARCH
    if reached(low):
        return low
    while high - low > 0.5:  # bisection on requests: detectability only improves with more of them
        mid = math.sqrt(low * high) if high / low > 2 else (low + high) / 2
        low, high = (low, mid) if reached(mid) else (mid, high)
    return float(math.ceil(high))


def power_report(s: Spreads, canary_requests: float, baseline_requests: float, baseline_fixed: bool,
                 policy: CanaryPolicy) -> dict[str, Any]:
    """Per test: the change detectable at the sample reached, its margin, and the canary requests needed for the
    margin; overall: the largest need (never below the policy's floor)."""
    ratio = baseline_requests / canary_requests if canary_requests > 0 else 0.0

    def baseline_for(n: float) -> float:
        return baseline_requests if baseline_fixed else n * ratio

    tests: dict[str, dict[str, Any]] = {}
    for name, (detectable, margin_of, kind) in TESTS.items():
        at = None
        if canary_requests > 0 and baseline_requests > 0:
            at = detectable(s, max(_count(kind, canary_requests, s), 1e-9), max(_count(kind, baseline_requests, s), 1e-9), policy)
        needed = needed_canary_requests(name, s, baseline_for, policy) if baseline_requests > 0 else INFINITE
        tests[name] = {"detectable": at, "margin": margin_of(policy), "needed_canary_requests": needed, "what": WHAT[name]}
    need = max([policy.min_requests_per_side] + [t["needed_canary_requests"] for t in tests.values()])
    return {"power": policy.power, "canary_requests": canary_requests, "baseline_requests": baseline_requests,
            "baseline_fixed": baseline_fixed, "needed_canary_requests": need, "tests": tests, "spreads": s.to_dict()}


def unknown_power(canary_requests: float, baseline_requests: float, baseline_fixed: bool, policy: CanaryPolicy,
                  error: str) -> dict[str, Any]:
    """The report when the figures could not be computed: an infinite need, so the stage holds (never advances on it)."""
    tests = {name: {"detectable": None, "margin": margin_of(policy), "needed_canary_requests": INFINITE, "what": WHAT[name]}
             for name, (_, margin_of, _) in TESTS.items()}
    return {"power": policy.power, "canary_requests": canary_requests, "baseline_requests": baseline_requests,
            "baseline_fixed": baseline_fixed, "needed_canary_requests": INFINITE, "tests": tests, "error": error}


def describe(report: dict[str, Any]) -> str:
    """One line: what the judge can see at this sample."""
    if report.get("error"):
        return f"power could not be computed ({report['error']}): the stage cannot be judged on it"
    t = report["tests"]

    def shown(name: str, fmt: Callable[[float], str]) -> str:
        value = t[name]["detectable"]
        return fmt(value) if value is not None else "-"

    need = report["needed_canary_requests"]
    return (f"power {report['power']:.0%} at {report['canary_requests']:,.0f} canary / {report['baseline_requests']:,.0f} baseline requests: "
            f"detects a quality drop of {shown('quality', lambda v: f'{v:.1%}')} (margin {t['quality']['margin']:.0%}), "
            f"a P95 ratio of {shown('latency', lambda v: f'{v:.2f}')} ({t['latency']['margin']:.2f}), "
            f"an error rate of {shown('error_rate', lambda v: f'{v:.1%}')} ({t['error_rate']['margin']:.0%}); "
            f"the margins need {'no reachable sample' if math.isinf(need) else f'{need:,.0f} canary requests'}")

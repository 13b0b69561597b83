"""The statistics of an A/B comparison, from sufficient statistics only (n and sums, never observations).

Every metric is a ratio of per-session sums, mean = sum(y) / sum(x), with x = 1 for session metrics: the
session is the unit of randomization, so per-request metrics (quality, latency, cost, error rate) get their
variance by the delta method over sessions, not by pretending requests are independent.

Fixed-horizon: Welch's t-test for session metrics (scipy), a z-test for ratio metrics. Sequential: a
mixture sequential probability ratio test (mSPRT, normal mixture; Johari et al. 2017, "Peeking at A/B
tests") whose p-value is valid at every look and whose confidence sequence covers the effect at all looks
simultaneously, so an hourly look does not inflate false positives.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from scipy import stats

Z_95 = stats.norm.ppf(0.975)


@dataclass(frozen=True)
class ArmSums:
    """Sufficient statistics of one arm for one metric: sums over sessions of x, y, x^2, y^2 and x*y."""

    n: int
    sum_x: float
    sum_y: float
    sum_xx: float
    sum_yy: float
    sum_xy: float

    @classmethod
    def of_session_metric(cls, n: int, total: float, total_sq: float) -> "ArmSums":
        return cls(n, float(n), total, float(n), total_sq, total)

    def mean_and_variance(self) -> tuple[float, float]:
        """The ratio mean sum_y/sum_x and the delta-method variance of that mean (nan when undefined)."""
        if self.n < 2 or self.sum_x <= 0:
            return (self.sum_y / self.sum_x if self.sum_x > 0 else math.nan), math.nan
        n = self.n
        mean_x, mean_y = self.sum_x / n, self.sum_y / n
        ratio = self.sum_y / self.sum_x
        var_x = max(0.0, (self.sum_xx - n * mean_x * mean_x) / (n - 1))
        var_y = max(0.0, (self.sum_yy - n * mean_y * mean_y) / (n - 1))
        cov_xy = (self.sum_xy - n * mean_x * mean_y) / (n - 1)
        variance = (var_y - 2 * ratio * cov_xy + ratio * ratio * var_x) / (n * mean_x * mean_x)
        return ratio, max(variance, 0.0)

    def session_sd(self) -> float:
        """Sample standard deviation of a session metric (x = 1)."""
        mean = self.sum_y / self.n
        return math.sqrt(max(0.0, (self.sum_yy - self.n * mean * mean) / (self.n - 1)))


@dataclass
class Comparison:
    control_n: int
    treatment_n: int
    control_mean: float
    treatment_mean: float
    effect: float
    ci_low: float
    ci_high: float
    relative_effect: float
    relative_ci_low: float
    relative_ci_high: float
    p_value: float
    p_value_sequential: float
    cs_low: float
    cs_high: float
    std_error: float

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def msprt_p_value(effect: float, variance: float, tau: float) -> float:
    """Always-valid p-value of H0: effect = 0 from the normal-mixture likelihood ratio (mixture sd tau)."""
    if not (variance > 0 and tau > 0 and math.isfinite(effect)):
        return math.nan
    tau2 = tau * tau
    log_lr = 0.5 * math.log(variance / (variance + tau2)) + effect * effect * tau2 / (2 * variance * (variance + tau2))
    return 1.0 if log_lr <= 0 else min(1.0, math.exp(-log_lr))


def confidence_sequence(effect: float, variance: float, tau: float, alpha: float) -> tuple[float, float]:
    """The mSPRT's confidence sequence at this look: the effects its test would not reject."""
    if not (variance > 0 and tau > 0 and math.isfinite(effect)):
        return math.nan, math.nan
    tau2 = tau * tau
    half = math.sqrt(2 * variance * (variance + tau2) / tau2 * (math.log(1 / alpha) + 0.5 * math.log((variance + tau2) / variance)))
    return effect - half, effect + half


def compare(control: ArmSums, treatment: ArmSums, *, session_metric: bool, tau: float, alpha: float = 0.05,
            previous: dict | None = None) -> Comparison:
    """Treatment minus control, fixed-horizon and sequential. `previous` (the last look's p_value_sequential,
    cs_low, cs_high) makes the sequential figures running: the p-value a running minimum, the sequence an
    intersection, as the always-valid guarantees are stated."""
    mean_c, var_c = control.mean_and_variance()
    mean_t, var_t = treatment.mean_and_variance()
    effect = mean_t - mean_c
    variance = var_c + var_t
    se = math.sqrt(variance) if variance >= 0 else math.nan
    if session_metric and control.n >= 2 and treatment.n >= 2 and se > 0:
        sd_c, sd_t = control.session_sd(), treatment.session_sd()
        p_value = float(stats.ttest_ind_from_stats(mean_t, sd_t, treatment.n, mean_c, sd_c, control.n, equal_var=False).pvalue)
        df = variance ** 2 / ((var_t ** 2) / (treatment.n - 1) + (var_c ** 2) / (control.n - 1))  # Welch-Satterthwaite
        crit = float(stats.t.ppf(1 - alpha / 2, df))
    elif se > 0:
        p_value = float(2 * stats.norm.sf(abs(effect) / se))
        crit = float(stats.norm.ppf(1 - alpha / 2))
    else:
        p_value, crit = math.nan, math.nan
    ci_low, ci_high = effect - crit * se, effect + crit * se
    if mean_c and math.isfinite(mean_c) and mean_c != 0:
        relative = effect / mean_c
        rel_var = var_t / mean_c ** 2 + mean_t ** 2 * var_c / mean_c ** 4  # delta method for mean_t / mean_c - 1
        rel_se = math.sqrt(rel_var) if rel_var >= 0 else math.nan
        z = float(stats.norm.ppf(1 - alpha / 2))
        rel_low, rel_high = relative - z * rel_se, relative + z * rel_se
    else:
        relative = rel_low = rel_high = math.nan
    p_seq = msprt_p_value(effect, variance, tau)
    cs_low, cs_high = confidence_sequence(effect, variance, tau, alpha)
    if previous:
        if previous.get("p_value_sequential") is not None and math.isfinite(p_seq):
            p_seq = min(p_seq, float(previous["p_value_sequential"]))
        if previous.get("cs_low") is not None and math.isfinite(cs_low):
            cs_low, cs_high = max(cs_low, float(previous["cs_low"])), min(cs_high, float(previous["cs_high"]))
    return Comparison(control.n, treatment.n, mean_c, mean_t, effect, ci_low, ci_high, relative, rel_low, rel_high, p_value,
                      p_seq, cs_low, cs_high, se)


def holm(p_values: dict[str, float]) -> dict[str, float]:
    """Holm-adjusted p-values (step-down, monotone), for a family of goal metrics."""
    finite = sorted(((p, name) for name, p in p_values.items() if p is not None and math.isfinite(p)))
    adjusted, running, m = {}, 0.0, len(finite)
    for rank, (p, name) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[name] = running
    return {name: adjusted.get(name, math.nan) for name in p_values}


def sample_ratio_mismatch(control_n: int, treatment_n: int, treatment_share: float) -> float:
    """Chi-square p-value of the observed split against the configured one (nan without sessions)."""
    total = control_n + treatment_n
    if total == 0 or not 0 < treatment_share < 1:
        return math.nan
    expected = [total * (1 - treatment_share), total * treatment_share]
    return float(stats.chisquare([control_n, treatment_n], f_exp=expected).pvalue)


def quantile_interval_fractions(n: int, q: float = 0.95, alpha: float = 0.05) -> tuple[float, float]:
    """Distribution-free interval for a quantile from order statistics (normal approximation to the
    binomial): the fractions whose empirical quantiles bound the true one with 1 - alpha coverage."""
    if n <= 0:
        return q, q
    z = float(stats.norm.ppf(1 - alpha / 2))
    half = z * math.sqrt(q * (1 - q) / n)
    return max(0.0, q - half), min(1.0, q + half + 1.0 / n)

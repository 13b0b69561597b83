"""A/B statistics: delta-method variance against a brute-force session-level computation, Welch agreement
with scipy, the sequential test's guarantees, Holm, SRM."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mangaeval.ab.stats import ArmSums, compare, confidence_sequence, holm, msprt_p_value, sample_ratio_mismatch


def _sums(x: np.ndarray, y: np.ndarray) -> ArmSums:
    return ArmSums(len(x), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum())


def _sessions(rng, n, mean, requests=3.0):
    x = 1 + rng.poisson(requests - 1, n).astype(float)
    session_effect = rng.normal(0, 0.08, n)
    y = np.array([np.clip(mean + s + rng.normal(0, 0.1, int(k)), 0, 1).sum() for s, k in zip(session_effect, x)])
    return x, y


def test_delta_method_variance_matches_the_bootstrap_over_sessions():
    rng = np.random.default_rng(3)
    x, y = _sessions(rng, 3000, 0.8)
    ratio, variance = _sums(x, y).mean_and_variance()
    assert ratio == pytest.approx(y.sum() / x.sum(), rel=1e-12)
    # brute force: resample whole sessions, recompute the ratio
    boot = []
    for _ in range(1500):
        idx = rng.integers(0, len(x), len(x))
        boot.append(y[idx].sum() / x[idx].sum())
    assert math.sqrt(variance) == pytest.approx(np.std(boot, ddof=1), rel=0.08)


def test_delta_method_formula_equals_the_linearised_session_variance():
    rng = np.random.default_rng(4)
    x, y = _sessions(rng, 500, 0.7)
    ratio, variance = _sums(x, y).mean_and_variance()
    linear = (y - ratio * x) / x.mean()  # influence function of sum(y)/sum(x)
    assert variance == pytest.approx(np.var(linear, ddof=1) / len(x), rel=1e-9)


def test_requests_treated_as_independent_would_understate_the_variance():
    rng = np.random.default_rng(5)
    x, y = _sessions(rng, 2000, 0.8)
    _, variance = _sums(x, y).mean_and_variance()
    per_request_sd = 0.1  # the within-session noise only
    assert variance > (per_request_sd ** 2) / x.sum() * 1.5


def test_session_metrics_agree_with_scipy_welch_to_1e_6():
    rng = np.random.default_rng(6)
    control, treatment = rng.exponential(180, 4000), rng.exponential(185, 1200)
    comparison = compare(ArmSums.of_session_metric(len(control), control.sum(), (control ** 2).sum()),
                         ArmSums.of_session_metric(len(treatment), treatment.sum(), (treatment ** 2).sum()),
                         session_metric=True, tau=18.0)
    welch = stats.ttest_ind(treatment, control, equal_var=False)
    assert comparison.p_value == pytest.approx(welch.pvalue, abs=1e-6)
    assert comparison.effect == pytest.approx(treatment.mean() - control.mean(), abs=1e-6)
    ci = welch.confidence_interval(0.95)
    assert (comparison.ci_low, comparison.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-6)


def test_binary_session_metric_mean_and_variance():
    flags = np.array([1] * 30 + [0] * 70, dtype=float)
    mean, variance = ArmSums.of_session_metric(100, flags.sum(), (flags ** 2).sum()).mean_and_variance()
    assert mean == 0.3 and variance == pytest.approx(np.var(flags, ddof=1) / 100)


def test_msprt_p_value_and_confidence_sequence_are_consistent():
    for effect in (0.0, 0.005, 0.01, 0.03):
        p = msprt_p_value(effect, 1e-5, 0.02)
        low, high = confidence_sequence(effect, 1e-5, 0.02, 0.05)
        assert (p < 0.05) == (low > 0 or high < 0)
    assert msprt_p_value(0.0, 1e-5, 0.02) == 1.0


def test_sequential_p_value_is_more_conservative_than_fixed_horizon_and_running():
    control = ArmSums.of_session_metric(1000, 500.0, 500.0)
    treatment = ArmSums.of_session_metric(1000, 545.0, 545.0)
    first = compare(control, treatment, session_metric=True, tau=0.05)
    assert first.p_value_sequential >= first.p_value
    later = compare(control, ArmSums.of_session_metric(1000, 500.0, 500.0), session_metric=True, tau=0.05,
                    previous={"p_value_sequential": first.p_value_sequential, "cs_low": first.cs_low, "cs_high": first.cs_high})
    assert later.p_value_sequential == first.p_value_sequential  # a running minimum
    assert later.cs_low >= first.cs_low and later.cs_high <= first.cs_high  # an intersection


def test_peeking_at_a_fixed_horizon_test_inflates_false_positives_but_the_sequential_test_does_not():
    rng = np.random.default_rng(7)
    fixed, sequential = 0, 0
    for _ in range(300):
        a, b = rng.normal(0, 1, 3000), rng.normal(0, 1, 3000)
        hit_fixed = hit_seq = False
        previous = None
        for n in range(100, 3001, 100):
            c = compare(ArmSums.of_session_metric(n, a[:n].sum(), (a[:n] ** 2).sum()),
                        ArmSums.of_session_metric(n, b[:n].sum(), (b[:n] ** 2).sum()), session_metric=True, tau=0.1, previous=previous)
            previous = {"p_value_sequential": c.p_value_sequential, "cs_low": c.cs_low, "cs_high": c.cs_high}
            hit_fixed |= c.p_value < 0.05
            hit_seq |= c.p_value_sequential < 0.05
        fixed += hit_fixed
        sequential += hit_seq
    assert fixed / 300 > 0.12  # the earlier sketch's mistake: 30 peeks at |t| > 1.96
    assert sequential / 300 <= 0.05


def test_holm_adjustment():
    adjusted = holm({"quality": 0.01, "cost_usd": 0.04, "x": math.nan})
    assert adjusted["quality"] == pytest.approx(0.02) and adjusted["cost_usd"] == pytest.approx(0.04) and math.isnan(adjusted["x"])
    assert holm({"a": 0.03, "b": 0.02}) == {"a": pytest.approx(0.04), "b": pytest.approx(0.04)}


def test_sample_ratio_mismatch():
    assert sample_ratio_mismatch(9000, 1000, 0.1) > 0.5
    assert sample_ratio_mismatch(9000, 850, 0.1) < 0.001
    assert sample_ratio_mismatch(9000, 1000, 0.1) == pytest.approx(stats.chisquare([9000, 1000], [9000, 1000]).pvalue)
    assert math.isnan(sample_ratio_mismatch(0, 0, 0.1))

"""The canary judge: every metric's pass/fail/no-data, every verdict branch, the bootstrap and the JSON shape."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mangaeval.canary import judge as judge_module
from mangaeval.canary.judge import HOLD, PROMOTE, ROLLBACK, bootstrap_quantile, judge, nearest_rank
from mangaeval.canary.policy import load_policy
from mangaeval.canary.sides import Side
from mangaeval.canary.simulator import BASELINE
from tests.canary_helpers import like_baseline, sides

POLICY = load_policy()


def test_healthy_candidate_promotes_with_every_metric_passing():
    j = judge(*sides(like_baseline(quality_mean=0.85, latency_p50_ms=1150, latency_p95_ms=2000)), POLICY)
    assert j.verdict == PROMOTE
    assert {m["status"] for m in j.metrics.values()} == {"pass"}
    doc = json.loads(json.dumps(j.to_dict()))  # JSON-ready: no numpy types, no NaN
    assert set(doc["metrics"]) == {"quality", "latency", "error_rate", "cost_per_request"}
    q = doc["metrics"]["quality"]
    assert q["thresholds"] == {"min_ratio": 0.95, "floor": 0.70, "alpha": 0.05, "fail_alpha": 0.0125}
    assert q["ratio_lower"] > 0.95 and q["p_value"] < 0.05 and abs(q["baseline_value"] - 0.84) < 0.01
    lat = doc["metrics"]["latency"]
    assert lat["thresholds"]["sla_ms"] == 3000 and lat["thresholds"]["max_ratio_lower_bound"] == 1.10
    assert 0 < lat["mann_whitney"]["p_value_greater"] <= 1 and 0 < lat["mann_whitney"]["prob_canary_slower"] < 1
    assert lat["ratio_lower"] <= lat["ratio"] <= lat["ratio_upper"]


def test_quality_six_percent_below_baseline_rolls_back():
    j = judge(*sides(like_baseline(quality_mean=0.84 * 0.94), n_canary=3000), POLICY)
    assert j.verdict == ROLLBACK and j.metrics["quality"]["status"] == "fail"
    assert j.metrics["quality"]["ratio_upper"] < 0.95 and j.reasons[0].startswith("quality:")


def test_quality_below_the_absolute_floor_fails_even_when_close_to_baseline():
    low_baseline = like_baseline(quality_mean=0.71)
    j = judge(*sides(like_baseline(quality_mean=0.69), baseline=low_baseline), POLICY)
    q = j.metrics["quality"]
    assert q["ratio"] > 0.95 and q["status"] == "fail" and "floor" in q["reason"] and j.verdict == ROLLBACK


def test_quality_near_the_margin_is_inconclusive_and_holds():
    j = judge(*sides(like_baseline(quality_mean=0.84 * 0.95), n_canary=1200), POLICY)
    q = j.metrics["quality"]
    assert q["status"] == "inconclusive" and q["ratio_lower"] < 0.95 < q["ratio_upper"]
    assert j.verdict == HOLD and j.reasons[0].startswith("quality:")


def test_latency_ratio_regression_within_the_sla_rolls_back():
    j = judge(*sides(like_baseline(latency_p50_ms=1400, latency_p95_ms=2700)), POLICY)  # P95 2,700 vs 2,100: within SLA
    lat = j.metrics["latency"]
    assert lat["canary_value"] < 3000 and lat["ratio_lower"] > 1.10 and lat["status"] == "fail" and j.verdict == ROLLBACK
    assert lat["mann_whitney"]["p_value_greater"] < 1e-6  # the distribution test agrees, reported beside it


def test_latency_over_the_sla_fails_even_at_a_small_ratio():
    slow_baseline = like_baseline(latency_p50_ms=1750, latency_p95_ms=3050)
    j = judge(*sides(like_baseline(latency_p50_ms=1800, latency_p95_ms=3200), baseline=slow_baseline), POLICY)
    lat = j.metrics["latency"]
    assert lat["canary_value"] > 3000 and lat["ratio_lower"] < 1.10 and lat["status"] == "fail" and "SLA" in lat["reason"]


def test_a_significant_error_rate_increase_fails_below_the_ceiling():
    j = judge(*sides(like_baseline(error_rate=0.02), n_canary=3000), POLICY)
    e = j.metrics["error_rate"]
    assert e["canary_value"] < 0.05 and e["p_value"] < POLICY.fail_alpha_per_stage and e["status"] == "fail" and j.verdict == ROLLBACK


def test_error_rate_above_the_ceiling_fails_without_an_increase():
    j = judge(*sides(like_baseline(error_rate=0.06), baseline=like_baseline(error_rate=0.06)), POLICY)
    e = j.metrics["error_rate"]
    assert e["canary_value"] > 0.05 and e["status"] == "fail" and "ceiling" in e["reason"]


def test_rollback_side_tests_use_the_per_stage_alpha():
    baseline = Side(requests=20000, errors=100)
    canary = Side(requests=2000, errors=17)  # 0.85% vs 0.5%: p between 0.0125 and 0.05
    e = judge_module.error_rate_metric(baseline, canary, POLICY)
    assert POLICY.fail_alpha_per_stage < e["p_value"] < POLICY.alpha and e["status"] == "pass"


def test_cost_over_budget_fails():
    j = judge(*sides(like_baseline(output_tokens=400)), POLICY)  # ~ +30% cost per request
    c = j.metrics["cost_per_request"]
    assert c["ratio"] > 1.20 and c["status"] == "fail" and j.verdict == ROLLBACK


def test_insufficient_samples_hold_even_when_a_metric_fails():
    j = judge(*sides(like_baseline(quality_mean=0.70), n_canary=400), POLICY)
    assert j.verdict == HOLD and j.reasons[0].startswith("insufficient samples: canary 400 requests")


def test_no_baseline_is_hold_never_a_comparison_with_a_made_up_number():
    _, canary = sides(BASELINE)
    j = judge(Side(), canary, POLICY)
    assert j.verdict == HOLD and "no baseline requests" in j.reasons[0]
    assert j.metrics["quality"]["status"] == "no-data" and "baseline_value" not in j.metrics["quality"]
    assert {m["missing"] for m in j.metrics.values()} == {"baseline"}


def test_baseline_without_a_metric_is_hold_too():
    baseline, canary = sides(BASELINE)
    baseline.quality_n, baseline.quality_mean, baseline.quality_var = 0, None, None  # answers not scored
    j = judge(baseline, canary, POLICY)
    assert j.verdict == HOLD and "no baseline data for quality" in j.reasons[0]


def test_half_the_metrics_without_canary_data_rolls_back():
    baseline, _ = sides(BASELINE)
    all_failed = Side(requests=1500, errors=1500)  # every canary call failed: nothing scored, no cost, no latency
    j = judge(baseline, all_failed, POLICY)
    assert [n for n, m in j.metrics.items() if m["status"] == "no-data"] == ["quality", "latency", "cost_per_request"]
    assert j.verdict == ROLLBACK and "3 of 4 metrics without canary data" in j.reasons[0]
    baseline, canary = sides(BASELINE)
    canary.quality_n, canary.quality_mean = 0, None
    canary.cost_n, canary.cost_mean = 0, None  # exactly half
    assert judge(baseline, canary, POLICY).verdict == ROLLBACK


def test_one_metric_without_canary_data_holds():
    baseline, canary = sides(BASELINE)
    canary.quality_n, canary.quality_mean, canary.quality_var = 0, None, None
    j = judge(baseline, canary, POLICY)
    assert j.verdict == HOLD and j.reasons[0].startswith("quality:")


def test_a_failure_to_compute_never_advances(monkeypatch):
    def broken(baseline, canary, policy):
        raise FloatingPointError("overflow")

    monkeypatch.setitem(judge_module.CALCULATORS, "cost_per_request", broken)
    j = judge(*sides(BASELINE), POLICY)
    assert j.metrics["cost_per_request"]["status"] == "error" and j.verdict == HOLD
    assert "could not compute: FloatingPointError: overflow" in j.reasons[0]


def test_bootstrap_of_the_quantile_matches_resampling_the_data():
    rng = np.random.default_rng(5)
    values = np.sort(rng.lognormal(7, 0.4, 400))
    exact = bootstrap_quantile(values, 0.95, 20000, np.random.default_rng(1))
    idx = np.random.default_rng(2).integers(0, len(values), (4000, len(values)))
    brute = np.array([nearest_rank(np.sort(row), 0.95) for row in values[idx]])
    assert abs(exact.mean() - brute.mean()) / brute.mean() < 0.01
    assert abs(exact.std() - brute.std()) / brute.std() < 0.08
    assert np.isin(exact, values).all()  # replicates are order statistics of the data


def test_same_seed_same_judgement():
    a, b = judge(*sides(BASELINE), POLICY).to_dict(), judge(*sides(BASELINE), POLICY).to_dict()
    assert a == b


@pytest.mark.parametrize("field,value", [("latency_max_ratio", 1.5), ("cost_budget_ratio", 2.0)])
def test_thresholds_come_from_the_policy(field, value):
    policy = POLICY.with_overrides(**{field: value})
    j = judge(*sides(like_baseline(latency_p50_ms=1400, latency_p95_ms=2700, output_tokens=400)), policy)
    name = "latency" if field == "latency_max_ratio" else "cost_per_request"
    assert j.metrics[name]["status"] == "pass"


def test_rare_errors_are_judged_by_an_exact_test():
    """11 errors in 1,000 vs 0.5%: the z-test's light tail says p = 0.005 (a rollback); Fisher's exact says 0.017."""
    e = judge_module.error_rate_metric(Side(requests=20000, errors=100), Side(requests=1000, errors=11), POLICY)
    assert e["test"] == "fisher_exact" and e["p_value"] == pytest.approx(0.01675, abs=1e-4) and e["status"] == "pass"
    assert judge_module.error_rate_metric(Side(requests=20000, errors=100), Side(requests=1000, errors=12), POLICY)["status"] == "fail"

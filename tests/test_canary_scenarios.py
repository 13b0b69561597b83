"""The four field scenarios replayed through the stages, the warm-up's exclusion from judging, HOLD
extensions, and a reduced false-rollback check (benchmarks/canary_false_rollback.py runs the full 200)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mangaeval.canary import split
from mangaeval.canary.demo import run_scenario, scenario_json, scenario_text
from mangaeval.canary.policy import load_policy
from mangaeval.canary.simulator import SCENARIOS, same_distribution_scenario
from mangaeval.objectstore import LocalStore

POLICY = load_policy()
SEEDS = [1, 2, 3]


def verdicts(result):
    return [(o.traffic_pct, o.verdict, o.action) for o in result["stages"]]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_healthy_candidate_goes_5_25_50_100(seed, tmp_path):
    store = LocalStore(tmp_path)
    result = run_scenario("a", POLICY, seed, store=store)
    assert [o.traffic_pct for o in result["stages"]] == [5, 25, 50, 100]
    assert [o.verdict for o in result["stages"]] == ["PROMOTE"] * 4
    assert result["stages"][-1].action == "complete" and result["result"] == "completed"
    doc = split.current(store)[0]
    assert doc["canary_pct"] == 100 and doc["version"] == 4 and split.rolled_back(store, doc["rollout_id"]) is None


@pytest.mark.parametrize("seed", SEEDS)
def test_b_quality_six_percent_below_rolls_back_at_the_first_stage(seed, tmp_path):
    store = LocalStore(tmp_path)
    result = run_scenario("b", POLICY, seed, store=store)
    assert len(result["stages"]) == 1
    first = result["stages"][0]
    assert (first.traffic_pct, first.verdict, first.action) == (5, "ROLLBACK", "rollback")
    assert first.judgement["metrics"]["quality"]["status"] == "fail"
    assert any(r.startswith("quality:") for r in first.reasons)
    assert split.current(store)[0]["canary_pct"] == 0  # back to the split before the rollout
    assert split.rolled_back(store, result["rollout_id"])["reasons"] == first.reasons


@pytest.mark.parametrize("seed", SEEDS)
def test_c_cold_start_rolls_back_for_latency_with_quality_fine(seed):
    result = run_scenario("c", POLICY, seed)
    first = result["stages"][0]
    m = first.judgement["metrics"]
    assert verdicts(result) == [(5, "ROLLBACK", "rollback")]
    assert m["quality"]["status"] == "pass" and abs(m["quality"]["canary_value"] - 0.85) < 0.01
    assert abs(m["quality"]["baseline_value"] - 0.84) < 0.01
    assert m["latency"]["status"] == "fail" and 3800 < m["latency"]["canary_value"] < 4600  # field: 4,200 ms
    assert 2000 < m["latency"]["baseline_value"] < 2200  # field: 2,100 ms
    assert [r.split(":")[0] for r in first.reasons] == ["latency"]


@pytest.mark.parametrize("seed", SEEDS)
def test_d_warm_up_absorbs_the_cold_start_and_the_rollout_completes(seed):
    result = run_scenario("d", POLICY, seed)
    assert [o.verdict for o in result["stages"]] == ["PROMOTE"] * 4 and result["result"] == "completed"
    first = result["stages"][0].judgement["metrics"]["latency"]
    assert 1900 < first["canary_value"] < 2200  # field: 2,050 ms
    # The warm-up saw the cold start (recorded) but none of it was judged:
    assert result["warm_up"]["requests"] == 500 and result["warm_up"]["p50_ms"] > 3000
    assert result["stages"][0].judgement["samples"]["canary_requests"] < 1200  # the stage's traffic only


def test_the_warm_up_is_what_separates_c_from_d():
    c, d = run_scenario("c", POLICY, 1), run_scenario("d", POLICY, 1)
    assert SCENARIOS["c"].candidate == SCENARIOS["d"].candidate  # same candidate, same cold start
    assert c["warm_up"]["requests"] == 0 and d["warm_up"]["requests"] == 500
    assert c["stages"][0].judgement["samples"] == d["stages"][0].judgement["samples"]  # same live traffic


def test_a_hold_extends_the_window_then_promotes():
    slow_traffic = replace(SCENARIOS["a"], requests_per_minute=500)  # 5% x 30 min = ~750 canary requests: too few
    result = run_scenario(slow_traffic, POLICY, 1)
    first = result["stages"][0]
    assert [look["verdict"] for look in first.looks] == ["HOLD", "PROMOTE"]
    assert "insufficient samples" in first.looks[0]["reasons"][0]
    assert (first.window_end - first.window_start).total_seconds() == 60 * 60  # 30 min + one 30 min extension
    assert result["result"] == "completed"


def test_holding_past_the_limit_rolls_back():
    trickle = replace(SCENARIOS["a"], requests_per_minute=100)
    result = run_scenario(trickle, POLICY, 1)
    first = result["stages"][0]
    assert [look["verdict"] for look in first.looks] == ["HOLD"] * (POLICY.max_extensions + 1)
    assert first.action == "rollback" and first.reasons[0].startswith("still HOLD after 2 extension(s)")


def test_the_last_stage_judges_against_the_previous_window_baseline():
    result = run_scenario("a", POLICY, 1)
    third, last = result["stages"][2], result["stages"][3]
    assert last.baseline_window == (third.window_start, third.window_end)
    assert last.judgement["samples"]["baseline_requests"] == third.judgement["samples"]["baseline_requests"]


def test_text_and_json_reports():
    result = run_scenario("c", POLICY, 1)
    text = scenario_text(result)
    assert "stage 1 (5%): ROLLBACK" in text and "why: latency" in text and "result: rolled back at stage 1" in text
    doc = scenario_json(result)
    assert doc["stages"][0]["verdict"] == "ROLLBACK" and doc["stages"][0]["judgement"]["metrics"]["latency"]["status"] == "fail"


def test_same_distribution_rarely_rolls_back():
    """A reduced version of the benchmark (40 of its 200 rollouts): at most 10% here, 5% there."""
    null = same_distribution_scenario()
    rolled = sum(run_scenario(null, POLICY, seed)["stages"][-1].action == "rollback" for seed in range(1000, 1040))
    assert rolled <= 4

"""The four field scenarios replayed through the stages at the traffic they really get (recommendation: 25% of
1M messages a day), the warm-up's exclusion from judging, a failing warm-up stopping the rollout, HOLD
extensions up to the stage's maximum time, and a reduced false-rollback check (benchmarks/canary_field_volume.py
runs the full 200)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mangaeval.canary import split
from mangaeval.canary.demo import run_scenario, scenario_json, scenario_plan, scenario_text
from mangaeval.canary.policy import Stage, load_policy
from mangaeval.canary.rollout import simulate_rollout
from mangaeval.canary.simulator import SCENARIOS, SimulatedTraffic, same_distribution_scenario
from mangaeval.canary.warmup import WarmUpFailed
from mangaeval.objectstore import LocalStore
from mangaeval.traffic import requests_per_minute

POLICY = load_policy()
SEEDS = [1, 2, 3]


def verdicts(result):
    return [(o.traffic_pct, o.verdict, o.action) for o in result["stages"]]


def test_the_field_scenarios_run_on_recommendation_at_its_real_volume():
    for name in "abcd":
        assert SCENARIOS[name].intents == ("recommendation",)
    assert SCENARIOS["a"].requests_per_minute == pytest.approx(requests_per_minute(["recommendation"])) == pytest.approx(1e6 * 0.25 / 1440)
    first = run_scenario("c", POLICY, 1)["stages"][0]  # no warm-up, judged on its first window
    assert first.looks[0]["minutes"] == 30 and 220 < first.judgement["samples"]["canary_requests"] < 300  # MISSION: ~260
    assert 4500 < first.judgement["samples"]["baseline_requests"] < 5400


@pytest.mark.parametrize("seed", SEEDS)
def test_a_healthy_candidate_goes_5_25_50_100(seed, tmp_path):
    store = LocalStore(tmp_path)
    result = run_scenario("a", POLICY, seed, store=store)
    assert [o.traffic_pct for o in result["stages"]] == [5, 25, 50, 100]
    assert [o.verdict for o in result["stages"]] == ["PROMOTE"] * 4
    assert result["stages"][-1].action == "complete" and result["result"] == "completed"
    for outcome in result["stages"]:  # each stage judged once its sample met the tests' power at their margins
        samples = outcome.judgement["samples"]
        assert samples["canary_requests"] >= samples["needed_canary_requests"] >= POLICY.min_requests_per_side
        assert outcome.looks[-1]["minutes"] <= POLICY.stage(outcome.stage).max_minutes
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
    assert [r.split(":")[0] for r in first.reasons[:-1]] == ["latency"]
    assert first.reasons[-1].startswith("power 80% at ")  # what the judge could see, with every verdict


@pytest.mark.parametrize("seed", SEEDS)
def test_d_warm_up_absorbs_the_cold_start_and_the_rollout_completes(seed):
    result = run_scenario("d", POLICY, seed)
    assert [o.verdict for o in result["stages"]] == ["PROMOTE"] * 4 and result["result"] == "completed"
    first = result["stages"][0].judgement["metrics"]["latency"]
    assert 1900 < first["canary_value"] < 2200  # field: 2,050 ms
    # The warm-up saw the cold start (recorded) but none of it was judged:
    assert result["warm_up"]["requests"] == 500 and result["warm_up"]["p50_ms"] > 3000
    first = result["stages"][0]
    assert first.judgement["samples"]["canary_requests"] < 8.7 * first.looks[-1]["minutes"] * 1.2  # the stage's traffic only


def test_the_warm_up_is_what_separates_c_from_d():
    c, d = run_scenario("c", POLICY, 1), run_scenario("d", POLICY, 1)
    assert SCENARIOS["c"].candidate == SCENARIOS["d"].candidate  # same candidate, same cold start
    assert c["warm_up"]["requests"] == 0 and d["warm_up"]["requests"] == 500
    assert c["stages"][0].looks[0]["canary_requests"] == d["stages"][0].looks[0]["canary_requests"]  # same live traffic


def test_a_hold_extends_the_window_until_the_needed_sample_then_promotes():
    chitchat = replace(SCENARIOS["a"], intents=("chitchat",))  # 8%: a 5% stage gets ~83 canary requests in 30 min
    result = run_scenario(chitchat, POLICY, 1)
    first = result["stages"][0]
    assert first.looks[0]["verdict"] == "HOLD" and "insufficient samples: canary" in first.looks[0]["reasons"][0]
    assert first.looks[0]["canary_requests"] < first.looks[0]["needed_canary_requests"]
    # One extension sized to the shortfall at the rate seen (whole 30-minute steps), not 30 minutes at a time:
    assert len(first.looks) <= 3 and first.looks[1]["minutes"] - first.looks[0]["minutes"] > POLICY.extension_minutes
    assert first.verdict == "PROMOTE" and (first.window_end - first.window_start).total_seconds() == 60 * first.looks[-1]["minutes"]
    assert result["result"] == "completed"


def test_holding_until_the_stages_maximum_rolls_back_with_the_reason():
    trickle = replace(SCENARIOS["a"], intents=("return_request",), messages_per_day=100_000)  # ~0.07 canary requests a minute
    result = run_scenario(trickle, POLICY, 1)
    first = result["stages"][0]
    assert {look["verdict"] for look in first.looks} == {"HOLD"} and first.looks[-1]["minutes"] == POLICY.stage(1).max_minutes
    assert first.action == "rollback" and first.reasons[0].startswith("still HOLD after 1440 min")
    assert "the stage's maximum of 1440 min" in first.reasons[0] and "insufficient samples" in first.reasons[1]
    assert result["result"] == "rolled back at stage 1"


def test_a_shorter_maximum_in_the_policy_rolls_back_sooner():
    policy = replace(POLICY, stages=tuple(Stage(s.index, s.traffic_pct, s.window_minutes, 60) for s in POLICY.stages))
    result = run_scenario(replace(SCENARIOS["a"], intents=("chitchat",)), policy, 1)  # chitchat needs ~3.5 h at 5%
    first = result["stages"][0]
    assert [look["minutes"] for look in first.looks] == [30, 60] and first.action == "rollback"
    assert "the stage's maximum of 60 min" in first.reasons[0]


def test_a_failing_warm_up_stops_the_rollout_before_any_live_traffic(tmp_path):
    store = LocalStore(tmp_path)
    result = run_scenario("e", POLICY, 1, store=store)  # every call refused: ValidationException
    assert result["stages"] == [] and result["result"] == "stopped at the warm-up, before any live traffic"
    assert "500 of 500 calls failed (no call succeeded)" in result["warm_up"]["failed"]
    assert "most common error ValidationException (500 of 500)" in result["warm_up"]["failed"]
    doc = split.current(store)[0]
    assert (doc["version"], doc["canary_pct"]) == (0, 0) and store.list(f"canary/{doc['rollout_id']}/splits/") == \
        [f"canary/{doc['rollout_id']}/splits/v0000.json"]  # no stage split was ever published


def test_a_warm_up_error_rate_above_the_ceiling_raises_naming_the_counts(tmp_path):
    flaky = replace(SCENARIOS["a"], candidate=replace(SCENARIOS["a"].candidate, error_rate=0.2, error_code="ThrottlingException"))
    plan = scenario_plan(flaky, POLICY, 1)
    with pytest.raises(WarmUpFailed, match=r"of 500 calls failed \(error rate .*% above the 5% ceiling\); most common error "
                                           r"ThrottlingException"):
        simulate_rollout(plan, SimulatedTraffic(flaky, 1), LocalStore(tmp_path))
    assert split.current(LocalStore(tmp_path))[0]["version"] == 0


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

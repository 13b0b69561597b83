"""The judge's power-based minimum (each test at its margin, tested by simulation through the judge's own tests),
the power reported with every verdict, how long each stage takes at several volumes, and the simulator's traffic:
the volume and the intent mix the covered intents really get."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest

from mangaeval.canary import judge as judge_module
from mangaeval.canary import power
from mangaeval.canary.judge import HOLD, PROMOTE, ROLLBACK, judge
from mangaeval.canary.policy import load_policy
from mangaeval.canary.schedule import minutes_to_reach, stage_schedule
from mangaeval.canary.simulator import BASELINE, SCENARIOS, SimulatedTraffic
from mangaeval.intents import load_intents
from mangaeval.traffic import requests_per_minute
from tests.canary_helpers import like_baseline, sides

POLICY = load_policy()
PLANNED = power.planning_spreads(POLICY)
STAGE_1 = 19.0  # baseline requests per canary request at a 5% stage


def needed(test: str, ratio: float = STAGE_1) -> float:
    return power.needed_canary_requests(test, PLANNED, lambda n: n * ratio, POLICY)


# --- the power figures ----------------------------------------------------------------------------------------
def test_the_field_needs_at_a_five_percent_stage():
    """Sonnet-class spreads (quality sd 0.09 around 0.84, P50 1,200 / P95 2,100 ms, 0.5% errors): latency binds."""
    assert needed("quality") == pytest.approx(31, abs=2)
    assert needed("latency") == pytest.approx(573, abs=5)
    assert needed("error_rate") == pytest.approx(94, abs=5)
    report = power.power_report(PLANNED, 260, 4940, False, POLICY)  # one 30-minute window on recommendation
    assert report["needed_canary_requests"] == needed("latency")
    assert report["tests"]["latency"]["detectable"] > POLICY.latency_max_ratio  # 260 requests cannot see a 10% P95 regression


def test_detectable_changes_shrink_with_the_square_root_of_the_sample():
    small, large = (power.power_report(PLANNED, n, 19 * n, False, POLICY)["tests"] for n in (500, 2000))
    assert large["quality"]["detectable"] == pytest.approx(small["quality"]["detectable"] / 2, rel=1e-9)
    assert math.log(large["latency"]["detectable"]) == pytest.approx(math.log(small["latency"]["detectable"]) / 2, rel=1e-9)
    assert large["error_rate"]["detectable"] < small["error_rate"]["detectable"]
    at_need = power.power_report(PLANNED, needed("latency"), 19 * needed("latency"), False, POLICY)["tests"]["latency"]
    assert at_need["detectable"] <= POLICY.latency_max_ratio < power.latency_ratio(PLANNED, 0.995 * (needed("latency") - 2),
                                                                                     0.995 * 19 * (needed("latency") - 2), POLICY)


def test_a_fixed_baseline_needs_more_canary_and_may_never_be_enough():
    growing = needed("latency", 1.0)
    fixed_large = power.needed_canary_requests("latency", PLANNED, lambda n: 3000.0, POLICY)
    assert fixed_large > 0 and power.needed_canary_requests("latency", PLANNED, lambda n: 500.0, POLICY) == math.inf
    assert growing == pytest.approx(1088, abs=5)


def test_a_higher_target_power_needs_more():
    stricter = POLICY.with_overrides(power=0.95)
    assert power.needed_canary_requests("latency", power.planning_spreads(stricter), lambda n: 19 * n, stricter) > 1.5 * needed("latency")


@pytest.mark.parametrize("seed", [0])
def test_at_the_needed_sample_the_latency_test_detects_its_margin_with_the_target_power(seed):
    """Simulation through the judge's own bootstrap test: a P95 ratio of 1.10 told from 1 (rule: lower bound > 1)."""
    n_canary = int(needed("latency"))
    tells_from_one = POLICY.with_overrides(latency_max_ratio=1.0)
    slower = like_baseline(latency_p50_ms=1200 * 1.10, latency_p95_ms=2100 * 1.10)
    detected = [judge_module.latency_metric(*sides(slower, n_canary, BASELINE, int(STAGE_1 * n_canary), seed=s), tells_from_one)["status"] == "fail"
                for s in range(seed, seed + 150)]
    assert 0.68 <= np.mean(detected) <= 0.92  # target 0.8; binomial sd at 150 draws ~0.03


def test_at_the_needed_sample_the_quality_test_clears_an_equal_candidate_with_the_target_power():
    """Non-inferiority at the margin: a candidate as good as its baseline passes in ~80% of windows at the need."""
    n_canary = int(needed("quality"))
    passed = [judge_module.quality_metric(*sides(like_baseline(), n_canary, BASELINE, int(STAGE_1 * n_canary), seed=s), POLICY)["status"] == "pass"
              for s in range(300)]
    assert 0.70 <= np.mean(passed) <= 0.90


def test_at_the_needed_sample_the_error_test_detects_the_ceiling():
    """The judge's Fisher test at fail_alpha, ceiling check off: a 5% canary error rate against the baseline's 0.5%. The
    need is a continuity-corrected normal approximation; Fisher's exact test at a handful of errors gets ~0.75."""
    n_canary = int(needed("error_rate"))
    tells = POLICY.with_overrides(error_ceiling=1.0)
    rng = np.random.default_rng(7)
    detected = []
    for _ in range(400):
        b, c = int(STAGE_1 * n_canary), n_canary
        baseline = judge_module.Side(requests=b, errors=int(rng.binomial(b, 0.005)))
        canary = judge_module.Side(requests=c, errors=int(rng.binomial(c, 0.05)))
        detected.append(judge_module.error_rate_metric(baseline, canary, tells)["status"] == "fail")
    assert 0.65 <= np.mean(detected) <= 0.9


# --- the power in the judge's verdicts ------------------------------------------------------------------------------
def test_the_judge_holds_below_the_power_based_minimum_and_says_what_it_could_see():
    j = judge(*sides(like_baseline(), n_canary=260, n_baseline=4940), POLICY)  # one 30-minute 5% window on recommendation
    assert j.verdict == HOLD and j.reasons[0].startswith("insufficient samples: canary 260 requests, need ")
    assert "for power 80% at the margins (latency: P95 ratio detectable" in j.reasons[0]
    need = j.samples["needed_canary_requests"]
    assert 450 < need < 700  # the observed spreads, near the plan's 573
    assert j.metrics["latency"]["power"]["detectable"] > 1.10 and j.metrics["quality"]["power"]["detectable"] < 0.05
    assert j.reasons[-1].startswith("power 80% at 260 canary / 4,940 baseline requests: detects a quality drop of ")
    enough = judge(*sides(like_baseline(), n_canary=int(need * 1.3), n_baseline=int(need * 1.3 * 19)), POLICY)
    assert enough.verdict == PROMOTE and enough.reasons[-1].startswith("power 80%")


@pytest.mark.parametrize("canary,verdict", [(like_baseline(quality_mean=0.70), ROLLBACK), (like_baseline(), PROMOTE)])
def test_every_verdict_reports_the_detectable_changes(canary, verdict):
    j = judge(*sides(canary), POLICY)
    assert j.verdict == verdict and j.reasons[-1].startswith("power 80% at 2,000 canary / 20,000 baseline requests")
    doc = j.to_dict()
    assert set(doc["samples"]["power"]["tests"]) == {"quality", "latency", "error_rate"}
    assert all(doc["metrics"][m]["power"]["detectable"] is not None for m in ("quality", "latency", "error_rate"))


def test_a_wider_candidate_needs_more_than_a_narrow_one():
    """The need follows the spreads the window shows: a candidate with a wider latency distribution needs more."""
    narrow = judge(*sides(like_baseline(latency_p50_ms=1150, latency_p95_ms=1700), n_canary=400, n_baseline=7600), POLICY)
    wide = judge(*sides(like_baseline(latency_p50_ms=1000, latency_p95_ms=2100), n_canary=400, n_baseline=7600), POLICY)
    assert narrow.samples["needed_canary_requests"] < wide.samples["needed_canary_requests"]


def test_a_fixed_baseline_changes_the_need():
    baseline, canary = sides(like_baseline(), n_canary=3000, n_baseline=2600)
    assert judge(baseline, canary, POLICY, baseline_fixed=True).samples["needed_canary_requests"] > \
        judge(baseline, canary, POLICY).samples["needed_canary_requests"] * 0.3
    tiny = sides(like_baseline(), n_canary=3000, n_baseline=300)
    j = judge(*tiny, POLICY, baseline_fixed=True)
    assert j.verdict == HOLD and "more than any window can reach (the previous stage's baseline is too small)" in j.reasons[0]


# --- how long each stage takes --------------------------------------------------------------------------------------
def test_minutes_to_reach_rounds_up_to_whole_extensions():
    assert minutes_to_reach(100, 10, 30, 30) == 30
    assert minutes_to_reach(573, 8.68, 30, 30) == 90
    assert minutes_to_reach(573, 0.694, 30, 30) == 840
    assert minutes_to_reach(math.inf, 10, 30, 30) == math.inf and minutes_to_reach(10, 0, 30, 30) == math.inf


@pytest.mark.parametrize("per_day,minutes", [
    (1_000_000, [90, 30, 30, 60]),      # the field: 3.5 h
    (2_000_000, [60, 30, 30, 60]),
    (10_000_000, [30, 30, 30, 60]),     # every need met within the windows
    (250_000, [270, 90, 60, 60]),
])
def test_stage_durations_on_recommendation_at_several_volumes(per_day, minutes):
    schedule = stage_schedule(POLICY, ["recommendation"], per_day)
    assert [s["expected_minutes"] for s in schedule["stages"]] == minutes
    assert schedule["total_minutes"] == sum(minutes) and schedule["feasible"]
    first = schedule["stages"][0]
    assert first["canary_per_minute"] == pytest.approx(requests_per_minute(["recommendation"], per_day) * 0.05)
    assert first["needed_canary_requests"] == pytest.approx(573, abs=5) and first["binding_test"] == "latency"
    assert schedule["stages"][3]["baseline_from"] == "previous stage"


@pytest.mark.parametrize("intent,total_hours", [("recommendation", 3.5), ("order_tracking", 4.0), ("chitchat", 6.5),
                                                 ("return_request", 22.0)])
def test_time_to_a_full_rollout_per_intent_at_the_field_volume(intent, total_hours):
    schedule = stage_schedule(POLICY, [intent])
    assert schedule["feasible"] and schedule["total_minutes"] / 60 == pytest.approx(total_hours)
    for s in schedule["stages"]:  # what each stage can detect at the sample it is expected to reach
        assert s["detectable"]["quality"] <= POLICY.quality_max_relative_drop
        assert s["detectable"]["latency"] <= POLICY.latency_max_ratio + 1e-9


def test_a_stage_that_cannot_reach_its_sample_is_said_upfront():
    schedule = stage_schedule(POLICY, ["return_request"], 200_000)  # ~0.14 canary requests a minute at 5%
    assert not schedule["feasible"] and schedule["total_minutes"] is None
    assert len(schedule["stages"]) == 1 and not schedule["stages"][0]["reachable"]


# --- the simulator's traffic ----------------------------------------------------------------------------------------
def test_the_simulator_draws_the_real_volume_and_intent_mix():
    start = datetime(2026, 11, 24, 10)
    everything = SimulatedTraffic(replace(SCENARIOS["a"], intents=()), 3)
    baseline, canary = everything.window(1, 0, 50, start, 3600.0)
    assert len(baseline) + len(canary) == pytest.approx(1_000_000 / 24, rel=0.02)  # every intent: 1M a day
    drawn = Counter(np.concatenate([baseline.intents, canary.intents]))
    total = sum(drawn.values())
    for name, intent in load_intents().items():
        assert drawn[name] / total == pytest.approx(intent.traffic_share, abs=0.01)
    two = SimulatedTraffic(replace(SCENARIOS["a"], intents=("recommendation", "return_request")), 3)
    baseline, canary = two.window(1, 0, 5, start, 1800.0)
    assert len(canary) == pytest.approx(694.44 * 0.27 * 30 * 0.05, rel=0.15) and len(baseline) == pytest.approx(694.44 * 0.27 * 30 * 0.95, rel=0.03)
    mix = Counter(baseline.intents)
    assert set(mix) == {"recommendation", "return_request"} and mix["return_request"] / len(baseline) == pytest.approx(2 / 27, abs=0.01)


# --- how a HOLD extends the stage -----------------------------------------------------------------------------------
def hold(**samples):
    return judge_module.Judgement(HOLD, ["insufficient samples"], {}, samples)


def test_an_extension_is_sized_to_the_shortfall_at_the_rate_seen_and_bounded_by_the_stage():
    from mangaeval.canary.rollout import next_extension

    stage = POLICY.stage(1)  # window 30, extensions of 30, at most 1440 min
    # 260 canary requests in 30 min, 573 needed: 36 more minutes at that rate -> two whole extensions.
    assert next_extension(hold(canary_requests=260, needed_canary_requests=573), 30, stage, POLICY) == 60
    assert next_extension(hold(canary_requests=21, needed_canary_requests=573), 30, stage, POLICY) == 810  # return_request: 13.5 h more
    assert next_extension(hold(canary_requests=21, needed_canary_requests=573), 1200, stage, POLICY) == 240  # up to the maximum
    assert next_extension(hold(canary_requests=21, needed_canary_requests=573), 1440, stage, POLICY) == 0  # at the maximum: stop
    assert next_extension(hold(canary_requests=900, needed_canary_requests=573), 90, stage, POLICY) == 30  # HOLD for another reason
    # No baseline yet in this stage's window: keep watching. A fixed baseline too small: no canary traffic can help.
    assert next_extension(hold(canary_requests=50, needed_canary_requests=math.inf, power={"baseline_fixed": False}), 30, stage, POLICY) == 30
    assert next_extension(hold(canary_requests=50, needed_canary_requests=math.inf, power={"baseline_fixed": True}), 60,
                          POLICY.stage(4), POLICY) == 0


def test_power_that_cannot_be_computed_never_advances(monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("no spread")

    monkeypatch.setattr(power, "power_report", broken)
    j = judge(*sides(like_baseline()), POLICY)
    assert j.verdict == HOLD and "need more than any window can reach" in j.reasons[0]
    assert j.reasons[-1] == "power could not be computed (ZeroDivisionError: no spread): the stage cannot be judged on it"


def test_volumes_are_the_fields_per_intent_traffic():
    """MISSION.md, 'Real traffic per intent' at 1M messages/day: recommendation ~174 messages/minute, product_question
    ~139, faq and order_tracking ~104, promotion ~69, chitchat ~56, checkout_help ~35, return_request ~14; a 5% stage
    sees ~260 requests in 30 minutes on recommendation and ~21 on return_request."""
    field = {"recommendation": 174, "product_question": 139, "faq": 104, "order_tracking": 104, "promotion": 69,
             "chitchat": 56, "checkout_help": 35, "return_request": 14}
    for intent, per_minute in field.items():
        assert requests_per_minute([intent], 1_000_000) == pytest.approx(per_minute, abs=0.6), intent
    assert requests_per_minute(["recommendation"], 1_000_000) * 0.05 * 30 == pytest.approx(260, abs=1)
    assert requests_per_minute(["return_request"], 1_000_000) * 0.05 * 30 == pytest.approx(21, abs=0.5)

"""`mangaeval canary plan|judge|simulate|status` and the policy file's validation."""

from __future__ import annotations

import json

import pytest

from mangaeval.canary.policy import load_policy
from mangaeval.cli import main
from mangaeval.errors import ConfigError
from tests.canary_helpers import draws, like_baseline, write_events
from mangaeval.canary.simulator import BASELINE


@pytest.fixture
def event_files(tmp_path):
    baseline = draws(BASELINE, 3000, 1, "control").to_events("rollout-1", "b")
    slow = draws(like_baseline(latency_p50_ms=2400, latency_p95_ms=4200), 1500, 2, "treatment").to_events("rollout-1", "c")
    return {"baseline": write_events(tmp_path / "baseline.jsonl", [baseline]),
            "canary": write_events(tmp_path / "canary.jsonl", [slow]),
            "both": write_events(tmp_path / "both.jsonl", [baseline, slow])}


def run(capsys, *argv):
    code = main(["canary", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_judge_json_from_two_files(capsys, event_files):
    code, out, _ = run(capsys, "judge", "--baseline", str(event_files["baseline"]), "--canary", str(event_files["canary"]), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "ROLLBACK" and doc["reasons"][0].startswith("latency:")
    assert doc["metrics"]["latency"]["status"] == "fail" and doc["metrics"]["latency"]["thresholds"]["sla_ms"] == 3000
    assert {m["status"] for n, m in doc["metrics"].items() if n != "latency"} == {"pass"}
    assert doc["inputs"]["baseline"]["rows"] == 3000 and doc["inputs"]["canary"]["rows"] == 1500


def test_judge_takes_each_arm_from_a_file_holding_both(capsys, event_files):
    code, out, _ = run(capsys, "judge", "--baseline", str(event_files["both"]), "--canary", str(event_files["both"]), "--json")
    doc = json.loads(out)
    assert doc["samples"]["baseline_requests"] == 3000 and doc["samples"]["canary_requests"] == 1500 and doc["verdict"] == "ROLLBACK"


def test_judge_text_and_threshold_options(capsys, event_files):
    code, out, _ = run(capsys, "judge", "--baseline", str(event_files["baseline"]), "--canary", str(event_files["canary"]),
                       "--sla-ms", "10000", "--latency-ratio", "3", "--min-requests", "2000")
    assert code == 0 and out.startswith("verdict: HOLD") and "insufficient samples: canary 1,500 requests, need 2,000" in out
    assert "latency           pass" in out and "sla_ms=10000" in out


def test_judge_reports_quarantined_rows_and_judges_the_rest(capsys, event_files, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text(event_files["canary"].read_text() + '{"event_time": "yesterday"}\nnot json\n')
    code, out, err = run(capsys, "judge", "--baseline", str(event_files["baseline"]), "--canary", str(broken), "--json")
    assert code == 0 and json.loads(out)["inputs"]["canary"]["quarantined"] == 2
    assert "2 malformed row(s) quarantined" in err and "invalid JSON" in err


def test_judge_without_baseline_rows_holds(capsys, event_files, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    code, out, _ = run(capsys, "judge", "--baseline", str(empty), "--canary", str(event_files["canary"]), "--json")
    doc = json.loads(out)
    assert doc["verdict"] == "HOLD" and "no baseline requests" in doc["reasons"][0]


def test_judge_bad_input_exits_2(capsys, event_files, tmp_path):
    code, _, err = run(capsys, "judge", "--baseline", str(tmp_path / "nope.jsonl"), "--canary", str(event_files["canary"]))
    assert code == 2 and "no such event file" in err
    code, _, err = run(capsys, "judge", "--baseline", str(event_files["baseline"]), "--canary", str(event_files["canary"]), "--alpha", "2")
    assert code == 2 and "'alpha' must be a number in" in err


def test_simulate_prints_each_stage_verdict(capsys):
    code, out, _ = run(capsys, "simulate", "--scenario", "all")
    assert code == 0
    assert out.count("stage 1 (5%)") == 4 and "stage 4 (100%): PROMOTE  -> complete" in out
    assert out.count("result: completed") == 2 and out.count("result: rolled back at stage 1") == 2
    assert out.count("(e) every call refused") == 1 and "result: stopped at the warm-up, before any live traffic" in out
    code, out, _ = run(capsys, "demo", "--scenario", "b", "--json")
    doc = json.loads(out)
    assert doc[0]["scenario"] == "b" and [s["verdict"] for s in doc[0]["stages"]] == ["ROLLBACK"]


def test_status_shows_the_current_split(capsys, tmp_path):
    code, out, _ = run(capsys, "status", "--store-uri", str(tmp_path))
    assert code == 0 and "no canary split published" in out
    from mangaeval.canary import split
    from mangaeval.objectstore import LocalStore

    store = LocalStore(tmp_path)
    split.start(store, "r9", "sonnet-4-5", ["faq"])
    split.advance(store, "r9", 1, 5, "sonnet-4-5", ["faq"])
    split.rollback(store, "r9", ["quality: below the floor"], 1)
    code, out, _ = run(capsys, "status", "--store-uri", str(tmp_path))
    assert "rollout r9 v0: 0% of faq to sonnet-4-5  (rolled back: quality: below the floor)" in out


def test_policy_file_problems_are_all_named(tmp_path):
    bad = tmp_path / "canary.yaml"
    bad.write_text("stages:\n  - {traffic_pct: 25, window_minutes: 30}\n  - {traffic_pct: 5, window_minutes: 30}\n"
                   "alpha: 0.01\nfail_alpha_per_stage: 0.02\nquality: {floor: 1.5}\n")
    with pytest.raises(ConfigError) as info:
        load_policy(bad)
    text = str(info.value)
    assert "'quality.floor' must be a number in [0, 1], got 1.5" in text
    assert "must strictly increase" in text and "last stage must send 100%" in text and "must not exceed 'alpha'" in text
    bad.write_text("stages: []\n")
    assert "'stages' must be a non-empty list" in str(pytest.raises(ConfigError, load_policy, bad).value)


def test_default_policy_matches_the_mission():
    policy = load_policy()
    assert [(s.traffic_pct, s.window_minutes) for s in policy.stages] == [(5, 30), (25, 30), (50, 30), (100, 60)]
    assert (policy.warmup_requests, policy.quality_floor, policy.latency_sla_ms) == (500, 0.70, 3000)
    assert policy.fail_alpha_per_stage == pytest.approx(policy.alpha / len(policy.stages))
    # The minimum sample is the tests' power at their margins, over a small floor; a stage may run up to a day.
    assert (policy.power, policy.min_requests_per_side, policy.extension_minutes) == (0.8, 100, 30)
    assert {s.max_minutes for s in policy.stages} == {1440} and policy.watermark_timeout_minutes == 90


def test_plan_says_how_long_each_stage_takes(capsys):
    code, out, _ = run(capsys, "plan", "--intents", "recommendation")
    assert code == 0 and "canary plan for recommendation: 173.6 requests/min at 1,000,000 messages/day" in out
    stage_lines = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [(line[0], line[1], line[3]) for line in stage_lines] == [("1", "5%", "260"), ("2", "25%", "1,302"), ("3", "50%", "2,604"),
                                                                     ("4", "100%", "10,417")]
    assert "full rollout: 3.5 h of traffic" in out
    code, out, _ = run(capsys, "plan", "--intents", "return_request", "--json")
    doc = json.loads(out)
    assert doc["feasible"] and 20 * 60 <= doc["total_minutes"] <= 24 * 60 and doc["stages"][0]["canary_per_window"] == pytest.approx(20.8, abs=0.1)
    code, out, _ = run(capsys, "plan", "--intents", "return_request", "--messages-per-day", "200000")
    assert "not reachable within max_minutes" in out and "full rollout: not reachable" in out
    code, _, err = run(capsys, "plan", "--intents", "weather")
    assert code == 2 and "unknown intent(s) ['weather']" in err


def test_simulate_on_another_intent_and_volume(capsys):
    code, out, _ = run(capsys, "simulate", "--scenario", "a", "--intents", "order_tracking", "--json")
    doc = json.loads(out)[0]
    assert doc["intents"] == ["order_tracking"] and doc["result"] == "completed"
    first = doc["stages"][0]
    assert first["looks"][0]["canary_requests"] < 200  # ~156 in the first 30 minutes (5% of 15% of 1M a day)


def test_policy_checks_the_stage_maximum_the_power_and_the_planning_figures(tmp_path):
    bad = tmp_path / "canary.yaml"
    bad.write_text("stages:\n  - {traffic_pct: 5, window_minutes: 30, max_minutes: 20}\n  - {traffic_pct: 100, window_minutes: 60}\n"
                   "hold: {max_extensions: 2}\npower: {target: 1.5}\nplanning: {latency_p50_ms: 2000, latency_p95_ms: 1500}\n")
    text = str(pytest.raises(ConfigError, load_policy, bad).value)
    assert "'hold.max_extensions' is no longer read: each stage's 'max_minutes'" in text
    assert "'power.target' must be a number in [0.5, 0.999], got 1.5" in text
    assert "'planning.latency_p95_ms' (1500) must be above 'planning.latency_p50_ms' (2000)" in text
    bad.write_text("stages:\n  - {traffic_pct: 5, window_minutes: 30, max_minutes: 20}\n  - {traffic_pct: 100, window_minutes: 60}\n")
    assert "stage 1: 'max_minutes' (20) must be at least its 'window_minutes' (30)" in str(pytest.raises(ConfigError, load_policy, bad).value)
    bad.write_text("stages:\n  - {traffic_pct: 5, window_minutes: 30}\n  - {traffic_pct: 100, window_minutes: 60, max_minutes: 90}\n")
    assert [s.max_minutes for s in load_policy(bad).stages] == [1440, 90]  # a stage without one may run a day

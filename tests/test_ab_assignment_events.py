"""Arm assignment (stable across processes, monotone under a share increase), experiment definitions, and
the event schema checks with quarantine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mangaeval.ab.assignment import BUCKETS, assign_arm, bucket, config_for
from mangaeval.ab.experiments import experiment_for, load_experiments
from mangaeval.errors import ConfigError, MangaEvalError
from mangaeval.events.schema import parse_file

EXPERIMENT = {"id": "exp-1", "salt": "s1", "treatment_share": 0.10, "control_config_id": "a", "treatment_config_id": "b"}
SESSIONS = [f"session-{i}" for i in range(5000)]


def test_assignment_is_the_same_in_another_process_with_another_hash_seed():
    here = [assign_arm(s, EXPERIMENT) for s in SESSIONS]
    code = ("import json, sys; from mangaeval.ab.assignment import assign_arm; "
            f"e = {EXPERIMENT!r}; print(json.dumps([assign_arm(f'session-{{i}}', e) for i in range(5000)]))")
    for seed in ("1", "12345"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        assert json.loads(out.stdout) == here


def test_assignment_share_and_known_buckets():
    arms = [assign_arm(s, EXPERIMENT) for s in SESSIONS]
    assert 0.085 < arms.count("treatment") / len(arms) < 0.115
    # pinned values: a change of the hash would silently move live sessions between arms
    assert [bucket("s1", "exp-1", s) for s in ("session-0", "session-1", "abc")] == [
        bucket("s1", "exp-1", "session-0"), bucket("s1", "exp-1", "session-1"), bucket("s1", "exp-1", "abc")]
    assert 0 <= bucket("s1", "exp-1", "x") < BUCKETS
    assert config_for("session-0", EXPERIMENT) in ("a", "b")


def test_raising_the_share_only_moves_sessions_from_control_to_treatment():
    before = {s: assign_arm(s, EXPERIMENT) for s in SESSIONS}
    after = {s: assign_arm(s, {**EXPERIMENT, "treatment_share": 0.25}) for s in SESSIONS}
    assert all(after[s] == "treatment" for s in SESSIONS if before[s] == "treatment")
    moved = [s for s in SESSIONS if before[s] != after[s]]
    assert moved and all(before[s] == "control" for s in moved)


def test_salt_and_experiment_decorrelate_assignments():
    a = [assign_arm(s, EXPERIMENT) for s in SESSIONS]
    b = [assign_arm(s, {**EXPERIMENT, "salt": "other"}) for s in SESSIONS]
    assert a != b


def test_registered_experiment_and_defaults_for_an_unknown_id():
    experiments = load_experiments()
    assert experiments and all(e.min_samples_per_arm == 1000 and e.alpha == 0.05 for e in experiments.values())
    unknown = experiment_for("never-registered", 0.2)
    assert not unknown.registered and unknown.treatment_share == 0.2 and unknown.min_effect == 0.02
    assert unknown.max_duration_days == 7 and unknown.min_samples_per_arm == 1000


def test_bad_experiment_definitions_name_the_entry(tmp_path):
    path = tmp_path / "experiments.yaml"
    path.write_text("defaults: {treatment_share: 0.1, min_samples_per_arm: 1000, alpha: 0.05, min_effect: 0.02, max_duration_days: 7,\n"
                    "  max_cost_increase_usd: 0.001, srm_p_value: 0.001, latency_sla_p95_ms: 3000, goal_metrics: [quality]}\n"
                    "experiments:\n"
                    "  - {id: ok-one, control_config_id: a, treatment_config_id: b, start_time: '2026-11-20T00:00:00Z'}\n"
                    "  - {id: bad-share, control_config_id: a, treatment_config_id: b, treatment_share: 1.5}\n"
                    "  - {id: same, control_config_id: a, treatment_config_id: a}\n"
                    "  - {id: ok-one, control_config_id: a, treatment_config_id: c}\n"
                    "  - {id: bad-guard, control_config_id: a, treatment_config_id: b, guardrails: {escalated: {}}}\n")
    with pytest.raises(ConfigError) as err:
        load_experiments(path)
    text = str(err.value)
    assert "bad-share" in text and "treatment_share 1.5" in text
    assert "same" in text and "same configuration" in text
    assert "duplicate experiment id 'ok-one'" in text
    assert "bad-guard" in text and "relative_margin" in text


REQUEST = {"event_time": "2026-11-24T10:00:00Z", "experiment_id": "e", "session_id": "s1", "arm": "control", "config_id": "c",
           "intent": "faq", "quality_score": 0.9, "latency_ms": 900, "input_tokens": 100, "output_tokens": 50, "cost_usd": 0.001,
           "error_code": ""}


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_request_events_are_checked_and_malformed_rows_quarantined_with_the_reason(tmp_path):
    rows = [
        REQUEST,
        {**REQUEST, "error_code": "ThrottlingException", "quality_score": None, "latency_ms": 0},  # ok: an error row
        "{not json",
        {k: v for k, v in REQUEST.items() if k != "arm"},
        {**REQUEST, "arm": "B"},
        {**REQUEST, "quality_score": 1.2},
        {**REQUEST, "intent": "weather"},
        {**REQUEST, "latency_ms": "fast"},
        {**REQUEST, "event_time": "2026-11-24T10:00:00"},
        {**REQUEST, "error_code": "ModelTimeoutException"},  # an error with a score: errors are never scored
        {**REQUEST, "input_tokens": -1},
        {**REQUEST, "input_tokens": True},
        [1, 2],
    ]
    parsed = parse_file(_write(tmp_path / "requests.jsonl", rows), "requests")
    assert len(parsed.rows) == 2
    reasons = {q["line"]: q["reason"] for q in parsed.quarantined}
    assert sorted(reasons) == list(range(3, 14))
    assert "invalid JSON" in reasons[3] and "missing field(s): arm" in reasons[4] and "'B' is not one of" in reasons[5]
    assert "quality_score: 1.2 is above 1.0" in reasons[6] and "intent: 'weather'" in reasons[7] and "latency_ms" in reasons[8]
    assert "no time zone" in reasons[9] and "errors are not scored" in reasons[10] and "negative" in reasons[11]
    assert "whole number" in reasons[12] and "JSON object" in reasons[13]
    assert all(q["source"].endswith("requests.jsonl") and q["raw"] for q in parsed.quarantined)
    import pandas as pd

    error_row = parsed.rows.iloc[1]
    assert error_row["error_code"] == "ThrottlingException" and pd.isna(error_row["quality_score"])
    assert pd.isna(parsed.rows.iloc[0]["error_code"])  # empty = ok


def test_session_events_checks_and_duplicates(tmp_path):
    good = {"experiment_id": "e", "session_id": "s1", "arm": "treatment", "started_at": "2026-11-24T10:00:00+09:00", "cart_add": 1,
            "escalated": 0, "continued": 1, "duration_s": 120.5}
    rows = [good, {**good, "session_id": "s2", "cart_add": 2}, {**good, "session_id": "s3", "duration_s": -1}, good]
    parsed = parse_file(_write(tmp_path / "sessions.jsonl", rows), "sessions")
    assert len(parsed.rows) == 1 and str(parsed.rows.iloc[0]["started_at"]) == "2026-11-24 01:00:00"  # stored as UTC
    reasons = [q["reason"] for q in parsed.quarantined]
    assert "cart_add: expected 0 or 1" in reasons[0] and "below 0" in reasons[1] and "duplicate session" in reasons[2]


def test_a_missing_event_file_is_an_error(tmp_path):
    with pytest.raises(MangaEvalError, match="no such event file"):
        parse_file(tmp_path / "nope.jsonl", "requests")

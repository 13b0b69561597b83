"""canary_rollout with dag.test(): a candidate whose warm-up calls all fail never reaches live traffic. The warm-up
task fails, no stage runs, rollback_on_failure keeps version 0 of the split current and the report fails the run."""

from __future__ import annotations

import json

import pytest

from tests.conftest import airflow_test_env, run_dag_test

pytestmark = pytest.mark.integration
WHEN = "2026-11-24T10:00:00+00:00"


def test_a_failing_warm_up_stops_the_dag_before_any_stage(tmp_path_factory, tmp_path):
    env = airflow_test_env(tmp_path_factory.mktemp("airflow_home"))
    result = run_dag_test(env, "canary_rollout", WHEN, {"mode": "simulate", "scenario": "e", "rollout_id": "dag-e", "time_scale": 0,
                                                       "cloudwatch": False}, tmp_path)
    tasks = result["tasks"]
    assert result["state"] == "failed" and tasks["warm_up"] == "failed", result["log"][-4000:]
    assert {tasks[f"stage_{i}"] for i in range(1, 5)} == {"upstream_failed"}  # no stage ran
    assert tasks["rollback_on_failure"] == "success" and tasks["report"] == "failed"
    assert "500 of 500 calls failed (no call succeeded); most common error ValidationException" in result["log"]
    current = json.loads((tmp_path / "canary" / "current.json").read_text())
    assert (current["rollout_id"], current["version"], current["canary_pct"]) == ("dag-e", 0, 0)
    assert sorted(p.name for p in (tmp_path / "canary" / "dag-e" / "splits").iterdir()) == ["v0000.json"]

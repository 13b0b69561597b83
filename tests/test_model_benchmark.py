"""The weekly model_benchmark DAG with dag.test(): a first run stores its result, loads the warehouse and marks every
figure BASELINE (no alert); `mangaeval bench accept` makes it the baseline; the model double then answers twice as
slowly and the next run flags the latency and throughput regressions, sends the `benchmark_regression` alert to a
local Slack webhook and fails its gate. Bad parameters fail `plan` before any model is called."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import airflow_test_env, run_dag_test

pytestmark = pytest.mark.integration
WHEN = "2026-11-23T04:00:00+00:00"
# Small sizes at a tenth of real time: a few seconds per run; the same prompts every run (paired comparison).
SMALL = {"configs": ["sonnet-3-5-v2", "haiku-3-5"], "requests": 60, "warmup": 2, "latency_concurrency": 4, "workers": 4,
         "throughput_requests": 40, "double_time_scale": 0.1}


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    return airflow_test_env(tmp_path_factory.mktemp("airflow_home"))


@pytest.fixture
def webhook():
    from tests.alert_receivers import WebhookReceiver

    with WebhookReceiver() as receiver:
        yield receiver


def _comparison(data: Path, result_id: str) -> dict:
    return json.loads((data / "benchmarks" / "reports" / result_id / "comparison.json").read_text())


def _latest_result_id(data: Path) -> str:
    return max(p.stem for p in (data / "benchmarks" / "results").glob("*.json"))


def test_baseline_then_a_slower_model_is_flagged_alerted_and_fails_the_gate(airflow_env, tmp_path, webhook):
    data = tmp_path / "data"
    alerting = {"AIRFLOW_CONN_ALERTS_SLACK": webhook.connection(), "MANGAEVAL_ALERT_SLACK_CONN_ID": "alerts_slack"}

    first = run_dag_test(airflow_env, "model_benchmark", WHEN, SMALL, data, **alerting)
    assert first["state"] == "success", first["log"][-4000:]
    assert set(first["tasks"].values()) == {"success"}, first["tasks"]
    result_id = _latest_result_id(data)
    comparison = _comparison(data, result_id)
    assert comparison["environment"] == "double"
    assert {r["status"] for r in comparison["figures"]} == {"BASELINE"}
    assert {r["config_id"] for r in comparison["figures"]} == set(SMALL["configs"])
    assert "benchmarking: " in first["log"] and "alerts: benchmark_compared: nothing to alert" in first["log"]
    assert webhook.posts == []
    report = (data / "benchmarks" / "reports" / result_id / "report.html").read_text()
    assert "Against the baselines" in report and result_id in report
    from mangaeval.warehouse import connect

    warehouse = connect(f"duckdb:///{data / 'warehouse.duckdb'}")
    try:
        with warehouse.transaction() as cur:
            cur.execute("SELECT config_id, COUNT(*) FROM benchmark_results WHERE result_id = ? GROUP BY config_id ORDER BY 1", [result_id])
            loaded = cur.fetchall()
    finally:
        warehouse.close()
    assert [r[0] for r in loaded] == sorted(SMALL["configs"]) and all(r[1] >= 10 for r in loaded), loaded

    accepted = subprocess.run([sys.executable, "-m", "mangaeval.cli", "bench", "accept", "--result-id", result_id,
                               "--store-uri", str(data), "--by", "test"], capture_output=True, text=True, timeout=120)
    assert accepted.returncode == 0, accepted.stderr
    assert f"baseline double/haiku-3-5/latency v1 = result {result_id}" in accepted.stdout

    slower = run_dag_test(airflow_env, "model_benchmark", "2026-11-30T04:00:00+00:00", {**SMALL, "double_time_scale": 0.2}, data,
                          **alerting)
    assert slower["state"] == "failed", slower["log"][-4000:]
    assert slower["tasks"] == {"plan": "success", "run_benchmarks": "success", "load_warehouse": "success",
                               "compare_to_baselines": "success", "regression_gate": "failed"}, slower["tasks"]
    second = _comparison(data, _latest_result_id(data))
    status = {(r["config_id"], r["figure"]): r["status"] for r in second["figures"]}
    for config_id in SMALL["configs"]:
        assert status[(config_id, "latency_p95_ms")] == "REGRESSION", second["figures"]
        assert status[(config_id, "throughput_rps")] == "REGRESSION", second["figures"]
        assert status[(config_id, "cost_per_query_usd")] == "PASS"  # the same prompts, the same tokens: the price held
    assert "::error title=Benchmark regression" in slower["log"]
    assert len(webhook.posts) == 1, webhook.posts
    text = webhook.posts[0]["body"]["text"]
    assert "benchmark regression" in text and "haiku-3-5" in text and "sonnet-3-5-v2" in text, text
    assert "mangaeval bench accept --result-id" in json.dumps(webhook.posts[0]["body"])
    assert "BenchmarkRegression" in slower["log"] and "regression(s): " in slower["log"]

    from mangaeval.bench.steps import regression_gate  # the same verdicts with fail_on_regression off: a green run

    assert regression_gate(second, {"fail_on_regression": False})["regressions"] == 4


def test_bad_parameters_fail_plan_before_any_model_is_called_and_alert_once(airflow_env, tmp_path, webhook):
    data = tmp_path / "data"
    alerting = {"AIRFLOW_CONN_ALERTS_SLACK": webhook.connection(), "MANGAEVAL_ALERT_SLACK_CONN_ID": "alerts_slack"}
    bad = run_dag_test(airflow_env, "model_benchmark", WHEN,
                       {**SMALL, "configs": ["sonnet-3-5-v2", "no-such-config"], "dataset_version": "v99", "environment": "a b"}, data,
                       **alerting)
    assert bad["state"] == "failed"
    assert bad["tasks"]["plan"] == "failed" and bad["tasks"]["run_benchmarks"] == "upstream_failed", bad["tasks"]
    for said in ("no-such-config", "v99", "parameter environment"):
        assert said in bad["log"], said
    assert not (data / "benchmarks").exists()
    [post] = webhook.posts  # the task_failed alert, from the DAG's default on_failure_callback
    assert post["body"]["text"].endswith(f"model_benchmark: task plan failed (run manual__{WHEN})"), post["body"]["text"]
    assert "no-such-config" in json.dumps(post["body"])

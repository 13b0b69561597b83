"""canary_rollout end to end with dag.test() in simulator mode (windows compressed to nothing): DuckDB, a local
folder for the split, CloudWatch on a local moto server; a healthy candidate completes, a cold one rolls back,
a failing task takes the traffic back, bad parameters fail the plan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.conftest import ROOT, airflow_test_env, assert_manual_run_without_logical_date, free_port, run_dag_test

pytestmark = pytest.mark.integration
WHEN = "2026-11-24T10:00:00+00:00"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    return airflow_test_env(tmp_path_factory.mktemp("airflow_home"), AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                            AWS_DEFAULT_REGION="us-east-1")


@pytest.fixture(scope="module")
def cloudwatch():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    url = f"http://127.0.0.1:{server._port}"
    yield url, boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    server.stop()


def run(env: dict, data: Path, conf: dict, when: str = WHEN, **extra) -> dict:
    return run_dag_test(env, "canary_rollout", when, conf, data, **extra)


def decisions(data: Path, rollout_id: str):
    from mangaeval.warehouse import connect

    wh = connect(f"duckdb:///{data / 'warehouse.duckdb'}")
    try:
        frame = wh.query("canary/rollout_decisions.sql", {"rollout_id": rollout_id})
        with wh.transaction() as cur:
            cur.execute("SELECT stage, metric, status FROM canary_stage_metrics WHERE rollout_id = $r ORDER BY stage, metric", {"r": rollout_id})
            metrics = cur.fetchall()
            cur.execute("SELECT experiment_id, COUNT(*) FROM request_events GROUP BY experiment_id ORDER BY 1")
            events = dict(cur.fetchall())
        return frame, metrics, events
    finally:
        wh.close()


def test_healthy_candidate_completes_with_metrics_in_the_warehouse_and_cloudwatch(airflow_env, tmp_path, cloudwatch):
    """Triggered as a person triggers it (the DAG has no schedule): Airflow 3 gives the run no logical date, and
    the plan, which used to index context["logical_date"] (KeyError), starts the rollout's clock at run_after."""
    url, cw = cloudwatch
    conf = {"mode": "simulate", "scenario": "a", "rollout_id": "dag-a", "time_scale": 0}
    result = run(airflow_env, tmp_path, conf, no_logical_date=True, MANGAEVAL_CLOUDWATCH_ENDPOINT_URL=url)
    assert result["state"] == "success", result["log"][-4000:]
    assert_manual_run_without_logical_date(result, WHEN, ["plan"])
    assert {result["tasks"][f"stage_{i}"] for i in range(1, 5)} == {"success"}
    assert result["tasks"]["rollback_on_failure"] == "skipped" and result["tasks"]["report"] == "success"
    frame, metrics, events = decisions(tmp_path, "dag-a")
    assert list(frame["verdict"]) == ["PROMOTE"] * 4 and list(frame["action"]) == ["promote"] * 3 + ["complete"]
    assert list(frame["split_version"]) == [1, 2, 3, 4] and len(metrics) == 16 and {m[2] for m in metrics} == {"pass"}
    assert events["dag-a.warmup"] == 500 and events["dag-a"] > 26000  # the warm-up, under its own id; 2.5 h+ of recommendation
    current = json.loads((tmp_path / "canary" / "current.json").read_text())
    assert (current["rollout_id"], current["version"], current["canary_pct"]) == ("dag-a", 4, 100)
    listed = cw.list_metrics(Namespace="MangaAssist/Canary", Dimensions=[{"Name": "RolloutId", "Value": "dag-a"}])["Metrics"]
    stages = {d["Value"] for m in listed for d in m["Dimensions"] if d["Name"] == "Stage"}
    assert stages == {"1", "2", "3", "4"} and {"LatencyP95", "QualityMean", "Verdict"} <= {m["MetricName"] for m in listed}


def test_cold_candidate_rolls_back_at_stage_1_and_later_stages_skip(airflow_env, tmp_path):
    """At time_scale 0.001 the 30-minute window is a 1.8 s wait: stage_1 defers to a trigger (dag.test runs it in
    line) and resumes from its state (dag.test drops the deferral's kwargs: from the XCom), to the same verdict."""
    from tests.alert_receivers import WebhookReceiver

    conf = {"mode": "simulate", "scenario": "c", "rollout_id": "dag-c", "time_scale": 0.001, "cloudwatch": False}
    with WebhookReceiver() as webhook:  # report's callback alerts the rollback to the Slack connection
        result = run(airflow_env, tmp_path, conf, AIRFLOW_CONN_ALERTS_SLACK=webhook.connection(), MANGAEVAL_ALERT_SLACK_CONN_ID="alerts_slack")
    assert result["state"] == "success", result["log"][-4000:]  # a rollback is the rollout working, not failing
    assert result["tasks"]["stage_1"] == "success" and {result["tasks"][f"stage_{i}"] for i in (2, 3, 4)} == {"skipped"}
    assert "Pausing task as DEFERRED" in result["log"] and "[DAG TEST] running trigger in line" in result["log"]
    frame, metrics, events = decisions(tmp_path, "dag-c")
    assert list(frame["verdict"]) == ["ROLLBACK"] and "latency" in json.loads(frame["reasons"][0])[0]
    assert dict(((m[1], m[2]) for m in metrics))["latency"] == "fail" and "dag-c.warmup" not in events  # no warm-up in (c)
    current = json.loads((tmp_path / "canary" / "current.json").read_text())
    assert current["version"] == 0 and current["canary_pct"] == 0
    assert json.loads((tmp_path / "canary" / "dag-c" / "rollback.json").read_text())["stage"] == 1
    [alert] = [post["body"] for post in webhook.posts]
    assert alert["text"].endswith("canary rollout dag-c rolled back at stage 1 (5% canary)") and "latency" in json.dumps(alert)


def test_failure_handling_is_wired(airflow_env):
    """A failed task triggers the rollback (its steps are tested in test_canary_steps.py); the report runs anyway."""
    env = {k: v for k, v in airflow_env.items()}
    code = ("from airflow.dag_processing.dagbag import DagBag; import json, sys\n"
            f"d = DagBag(dag_folder={str(ROOT / 'dags')!r}).dags['canary_rollout']\n"
            "t = d.get_task('rollback_on_failure'); r = d.get_task('report')\n"
            "print(json.dumps({'rule': str(t.trigger_rule), 'up': sorted(t.upstream_task_ids), 'report': str(r.trigger_rule),"
            " 'report_up': sorted(r.upstream_task_ids), 'stage2_up': sorted(d.get_task('stage_2').upstream_task_ids)}))\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    assert doc["rule"].lower().endswith("one_failed") and doc["report"].lower().endswith("all_done")
    assert {"start", "warm_up", "stage_1", "stage_2", "stage_3", "stage_4"} <= set(doc["up"])
    assert "rollback_on_failure" in doc["report_up"] and {"stage_1", "warm_up", "plan"} <= set(doc["stage2_up"])


def test_bad_parameters_fail_the_plan(airflow_env, tmp_path):
    result = run(airflow_env, tmp_path, {"mode": "simulate", "scenario": "z", "intents": ["weather"], "time_scale": 5})
    assert result["state"] == "failed" and result["tasks"]["plan"] == "failed"
    assert "'scenario' must be one of" in result["log"] and "unknown intent(s) ['weather']" in result["log"]
    assert "'time_scale' must be a number in [0, 1]" in result["log"]
    assert not (tmp_path / "canary").exists()

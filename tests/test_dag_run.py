"""model_evaluation end to end with dag.test(): on DuckDB + a local folder, on PostgreSQL + a local S3
server (moto), three identical runs, a manual run without a logical date, a failed gate, and bad parameters."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import airflow_test_env, assert_manual_run_without_logical_date, free_port, run_dag_test

pytestmark = pytest.mark.integration
SMALL = {"configs": ["sonnet-3-5-v2", "haiku-3-5"], "intents": ["faq", "order_tracking"], "limit": 3}  # too thin to change a route
DECIDING = {**SMALL, "limit": 30}  # the ledger's minimum cases per intent (routing_policy.yaml precedence)
LOGICAL_DATE = "2026-11-22T02:00:00+00:00"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    env = airflow_test_env(tmp_path_factory.mktemp("airflow_home"))
    airflow = str(Path(sys.executable).parent / "airflow")
    for tier in ("sonnet", "haiku", "nova", "custom"):
        subprocess.run([airflow, "pools", "set", f"bedrock_{tier}", "4", "test"], env=env, check=True, capture_output=True, timeout=120)
    return env


def run_dag(env: dict, data_dir: Path, conf: dict, logical_date: str = LOGICAL_DATE, **extra) -> dict:
    return run_dag_test(env, "model_evaluation", logical_date, conf, data_dir, **extra)


def warehouse_rows(data_dir: Path, uri: str | None = None):
    from mangaeval.warehouse import connect

    wh = connect(uri or f"duckdb:///{data_dir / 'warehouse.duckdb'}")
    try:
        frame = wh.query("queries/metrics.sql", {"run_id": f"manual__{LOGICAL_DATE}"})
        with wh.transaction() as cur:
            cur.execute("SELECT * FROM eval_results ORDER BY config_id, test_id")
            rows = [tuple(r) for r in cur.fetchall()]
            names = [d[0] for d in cur.description]
        return frame, rows, names
    finally:
        wh.close()


@pytest.fixture
def webhook():
    from tests.alert_receivers import WebhookReceiver

    with WebhookReceiver() as receiver:
        yield receiver


def test_end_to_end_on_duckdb_and_a_local_folder_three_times_identically(airflow_env, tmp_path, webhook):
    data = tmp_path / "data"
    entries, tables = [], []
    alerting = {"AIRFLOW_CONN_ALERTS_SLACK": webhook.connection(), "MANGAEVAL_ALERT_SLACK_CONN_ID": "alerts_slack"}  # publish_routing's callback
    for _ in range(3):
        result = run_dag(airflow_env, data, DECIDING, **alerting)
        assert "alerts: routing_published: " in result["log"] and "could not build" not in result["log"], result["log"][-3000:]
        assert result["state"] == "success", result["log"][-3000:]
        entries.append(sorted((data / "routing" / "ledger").iterdir()))
        _, rows, names = warehouse_rows(data)
        # How this run obtained an answer (client wall time, attempts, whether the cache had it: reruns re-use
        # the first run's answers) is a measurement of the run, not a result: everything else must be identical.
        skip = {names.index("wall_ms"), names.index("cache_hit"), names.index("attempts")}
        tables.append([tuple(v for i, v in enumerate(r) if i not in skip) for r in rows])
    assert [p.name for p in entries[2]] == ["v000001.json"]  # the reruns had nothing new to say: one ledger entry
    assert tables[0] == tables[1] == tables[2] and len(tables[0]) == 2 * 2 * 30
    current = json.loads((data / "routing" / "current.json").read_text())
    assert current["ledger_version"] == 1 and current["generated_at"].startswith("2026-11-22T02:00:00")
    assert len(current["routes"]) == 8  # a partial run changes its intents; the others keep the default route
    measured = {i for i, r in current["routes"].items() if r["set_by"]["kind"] == "nightly"}
    assert measured == {"faq", "order_tracking"} and all(current["routes"][i]["mean_cost_usd"] is not None for i in measured)
    shards = sorted(p.name for p in (data / "results").rglob("*.parquet"))
    assert shards == ["intent=faq.parquet", "intent=faq.parquet", "intent=order_tracking.parquet", "intent=order_tracking.parquet"]
    # A limited run of 3 cases per intent is too thin: it succeeds and changes nothing
    thin = run_dag(airflow_env, data, SMALL, logical_date="2026-11-23T02:00:00+00:00", **alerting)
    assert thin["state"] == "success", thin["log"][-3000:]
    assert "only 3 scored cases" in thin["log"] and json.loads((data / "routing" / "current.json").read_text()) == current
    # Alerts: the first run's switches once (the reruns and the thin run changed nothing); never a callback failure
    first = json.loads(entries[0][0].read_text())
    switched = sorted(c["intent"] for c in first["changes"] if c["from"] != c["to"])
    changes = [p["body"]["text"] for p in webhook.posts if "routing changed" in p["body"]["text"]]
    assert changes == ([f":information_source: routing changed for {', '.join(switched)} (ledger v1, nightly run {first['actor']['id']})"]
                       if switched else [])  # on this data the default configuration keeps both intents: nothing switches
    assert "alerts: routing_published: nothing to alert" in thin["log"] and "could not build" not in thin["log"]


def test_end_to_end_on_postgresql_and_s3(airflow_env, tmp_path):
    import boto3
    import psycopg
    from moto.server import ThreadedMotoServer


    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({exc})")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    schema = f"dagtest_{uuid.uuid4().hex[:8]}"
    pg_uri = f"postgresql://postgres@127.0.0.1:5432/postgres?schema={schema}"
    try:
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket="mangaassist")
        from mangaeval.warehouse import connect

        wh = connect(pg_uri)
        wh.migrate()  # as the deployment's init job does: tasks only check the schema
        wh.close()
        result = run_dag(airflow_env, tmp_path / "data", DECIDING, MANGAEVAL_WAREHOUSE_URI=pg_uri,
                         MANGAEVAL_RESULTS_URI="s3://mangaassist/eval", MANGAEVAL_ROUTING_URI="s3://mangaassist/serving",
                         AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        assert result["state"] == "success", result["log"][-3000:]
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="mangaassist")["Contents"]]
        assert {"serving/routing/current.json", "serving/routing/ledger/v000001.json"} <= set(keys)
        assert sum(k.startswith("eval/results/") for k in keys) == 4
        metrics, rows, _ = warehouse_rows(tmp_path, pg_uri)
        assert len(rows) == 2 * 2 * 30 and set(metrics["config_id"]) == {"sonnet-3-5-v2", "haiku-3-5"}
    finally:
        server.stop()
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_a_manual_run_without_a_logical_date_publishes_at_its_trigger_time(airflow_env, tmp_path):
    """As the UI's trigger button, the REST API and `airflow dags trigger` create it in Airflow 3: no logical date,
    no data interval. publish_routing used to index context["logical_date"] there (KeyError, after every other
    task had succeeded). The run also samples its `limit` with the `sample_seed` it was given."""
    from mangaeval.golden import DEFAULT_VERSION, load_dataset, sample_cases
    from mangaeval.warehouse import connect

    data, run_after = tmp_path / "data", "2026-11-23T14:37:00+00:00"
    result = run_dag(airflow_env, data, {**DECIDING, "sample_seed": 11}, logical_date=run_after, no_logical_date=True)
    assert result["state"] == "success", result["log"][-3000:]
    assert_manual_run_without_logical_date(result, run_after, ["plan", "decide", "publish_routing"])
    current = json.loads((data / "routing" / "current.json").read_text())
    assert current["generated_at"].startswith("2026-11-23T14:37:00")  # the trigger time: stable across retries and clears
    wh = connect(f"duckdb:///{data / 'warehouse.duckdb'}")
    try:
        with wh.transaction() as cur:
            cur.execute("SELECT DISTINCT run_id, intent, test_id FROM eval_results ORDER BY intent, test_id")
            rows = cur.fetchall()
    finally:
        wh.close()
    assert {r[0] for r in rows} == {result["run"]["run_id"]}
    cases = load_dataset(DEFAULT_VERSION).by_intent()  # the run's dataset: the default
    for intent in SMALL["intents"]:
        assert sorted(r[2] for r in rows if r[1] == intent) == sorted(c.test_id for c in sample_cases(cases[intent], 30, 11))


def test_failed_gate_loads_and_publishes_nothing_and_alerts(airflow_env, tmp_path, s3_server):
    """The gate's on_failure_callback sends the alert through the SNS and Slack notifiers named by connections: to a
    topic on moto's server (read back through a subscribed SQS queue) and to a local webhook receiver."""
    from urllib.parse import quote

    from tests.alert_receivers import SnsTopic, WebhookReceiver, aws_connection

    data = tmp_path / "data"
    topic = SnsTopic(s3_server, "gate-alerts")
    with WebhookReceiver() as webhook:
        result = run_dag(airflow_env, data, SMALL, logical_date="2026-11-21T02:00:00+00:00",
                         MANGAEVAL_DOUBLE_OVERRIDES="model_error_rate=1.0",
                         AIRFLOW_CONN_ALERTS_AWS=aws_connection(s3_server), MANGAEVAL_ALERT_SNS_CONN_ID="alerts_aws",
                         MANGAEVAL_ALERT_SNS_TOPIC_ARN=topic.arn, AIRFLOW_CONN_ALERTS_SLACK=webhook.connection(),
                         MANGAEVAL_ALERT_SLACK_CONN_ID="alerts_slack")
    assert result["state"] == "failed"
    assert result["tasks"]["validation_gate"] == "failed"
    assert {result["tasks"][t] for t in ("load_warehouse", "decide", "publish_routing")} == {"upstream_failed"}
    assert result["tasks"]["stop_model_double"] == "success"  # teardown still stops the double
    assert "expect_column_mean_to_be_between: column='is_error'" in result["log"]
    assert not (data / "warehouse.duckdb").exists() and not (data / "routing").exists()
    [message] = topic.messages()
    run_id = "scheduled__2026-11-21T02:00:00+00:00" if "scheduled__" in message["Message"] else "manual__2026-11-21T02:00:00+00:00"
    assert message["Subject"].startswith("[mangaeval critical] validation gate failed: model_evaluation run ")  # cut under 100 chars
    assert message["Message"].startswith(f"[CRITICAL] validation gate failed: model_evaluation run {run_id} (")
    assert "- Task: validation_gate" in message["Message"] and "column='is_error'" in message["Message"]
    assert f"/dags/model_evaluation/runs/{quote(run_id)}/tasks/validation_gate" in message["Message"]  # the task's log in the UI
    [post] = webhook.posts
    assert post["body"]["text"].endswith("expectation(s))") and "`validation_gate`" in post["body"]["blocks"][2]["text"]["text"]


def test_bad_parameters_fail_the_first_task_before_any_call(airflow_env, tmp_path):
    result = run_dag(airflow_env, tmp_path / "data", {"configs": ["gpt-5"], "limit": 0}, logical_date="2026-11-20T02:00:00+00:00")
    assert result["state"] == "failed" and result["tasks"]["plan"] == "failed"
    assert "unknown configuration id(s) ['gpt-5']" in result["log"] and "'limit' must be a positive number" in result["log"]
    assert not (tmp_path / "data" / "results").exists()

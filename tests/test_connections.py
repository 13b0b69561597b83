"""Credentials and endpoints the Airflow way: inside a DAG task, the Bedrock, SageMaker, S3 and CloudWatch clients
come from the AWS connection (its keys, region and endpoints reach each client and the requests it signs), the warehouse
from its own connection (Redshift through the provider's RedshiftSQLHook: the connection's password or IAM;
PostgreSQL); a warehouse URI never carries a password; the command line keeps boto3's default chain. Connections
are AIRFLOW_CONN_<ID> variables (JSON), as a deployment gives them; the servers are local (the model double,
moto for S3, CloudWatch and Redshift's GetClusterCredentials). Last, model_evaluation end to end with its AWS
clients configured by nothing but the connection."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

from mangaeval.connections import active, airflow_connections
from mangaeval.errors import MangaEvalError
from tests.conftest import airflow_test_env, double_stats, run_dag_test

SONNET = "anthropic.claude-3-5-sonnet-20241022-v2:0"
REGION = "eu-west-1"
KEY_ID = "AKIAMANGAEVALTEST01"
AWS_SETTINGS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
                "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL_CLOUDWATCH",
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "MANGAEVAL_SAGEMAKER_ENDPOINT_URL",
                "MANGAEVAL_BEDROCK_ENDPOINT_URL", "MANGAEVAL_CLOUDWATCH_ENDPOINT_URL", "MANGAEVAL_WAREHOUSE_URI",
                "MANGAEVAL_WAREHOUSE_CONN_ID", "MANGAEVAL_AWS_CONN_ID", "MANGAEVAL_REDSHIFT_COPY_ROLE")


@pytest.fixture(autouse=True)
def no_machine_aws(monkeypatch, tmp_path):
    """Nothing of the machine's AWS setup: what a client gets, it gets from the connection."""
    for name in AWS_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def aws_connection(monkeypatch, conn_id: str, **extra) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(
        {"conn_type": "aws", "login": KEY_ID, "password": "connection-secret", "extra": {"region_name": REGION, **extra}}))
    return conn_id


def signed_with(boto_client) -> list[str]:
    """The Authorization headers of the requests the client sends (botocore's before-send event)."""
    seen: list[str] = []

    def record(request, **_) -> None:
        header = request.headers["Authorization"]
        seen.append(header.decode() if isinstance(header, bytes) else header)

    boto_client.meta.events.register("before-send", record)
    return seen


def test_bedrock_client_of_a_dag_task_takes_endpoint_region_and_keys_from_the_connection(monkeypatch, double, starter):
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.models import load_configurations, load_model_catalog
    from mangaeval.pipeline.steps import configured_endpoint
    from mangaeval.prompts import build_request

    conn_id = aws_connection(monkeypatch, "mangaeval_test_aws", endpoint_url=double.url)
    before = double_stats(double.url)["total_calls"]
    with airflow_connections(conn_id):
        assert configured_endpoint() == double.url  # start_model_double sees it: no double of its own
        client = BedrockClient(ClientSettings.from_env())  # as run_shard and the warm-up build it
    boto = client.boto_client
    assert (boto.meta.endpoint_url, boto.meta.region_name) == (double.url, REGION)
    # the evaluation's botocore settings survive the hook: long read timeout, no botocore retries, a large pool
    assert boto.meta.config.read_timeout == 300.0 and boto.meta.config.retries["total_max_attempts"] == 1
    assert boto.meta.config.max_pool_connections == 64
    signatures = signed_with(boto)
    config = load_configurations()["sonnet-3-5-v2"]
    result = client.converse(load_model_catalog()[config.model_id].invoke_id, build_request(config, starter.cases[0]))
    assert result.status == "ok" and result.output_tokens > 0  # the double at the connection's endpoint answered
    assert signatures and f"Credential={KEY_ID}/" in signatures[0] and f"/{REGION}/bedrock/aws4_request" in signatures[0]
    assert double_stats(double.url)["total_calls"] == before + 1


def test_service_config_gives_each_service_its_own_endpoint(monkeypatch, double, s3_server, starter):
    from mangaeval.aws import task_client
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.models import load_configurations
    from mangaeval.prompts import build_request
    from mangaeval.sagemaker import SageMakerClient

    conn_id = aws_connection(monkeypatch, "mangaeval_test_services", endpoint_url=s3_server,
                             service_config={"bedrock-runtime": {"endpoint_url": double.url},
                                             "sagemaker-runtime": {"endpoint_url": double.url}})
    with airflow_connections(conn_id):
        assert BedrockClient(ClientSettings.from_env()).boto_client.meta.endpoint_url == double.url
        sagemaker = SageMakerClient(ClientSettings.from_env())  # the custom model's InvokeEndpoint
        assert task_client("s3").meta.endpoint_url == s3_server  # the connection's endpoint_url for the rest
        given = BedrockClient(ClientSettings.from_env(endpoint_url="http://127.0.0.1:1")).boto_client
        assert given.meta.endpoint_url == "http://127.0.0.1:1"  # an endpoint given (the double a run started) wins
    assert (sagemaker.boto_client.meta.endpoint_url, sagemaker.boto_client.meta.region_name) == (double.url, REGION)
    result = sagemaker.invoke("mangaassist-custom-llm", build_request(load_configurations()["custom-sagemaker"], starter.cases[0]))
    assert result.status == "ok" and result.output_tokens > 0


def test_s3_store_of_a_dag_task_writes_through_the_connection(monkeypatch, s3_server, tmp_path):
    import pandas as pd

    from mangaeval.objectstore import open_store
    from mangaeval.pipeline.storage import read_frame, shard_uri, write_frame
    from mangaeval.results import RESULT_SCHEMA

    bucket = f"conn-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_server, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y") \
        .create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    conn_id = aws_connection(monkeypatch, "mangaeval_test_s3", endpoint_url=s3_server)
    with airflow_connections(conn_id):
        store = open_store(f"s3://{bucket}/serving")  # MANGAEVAL_ROUTING_URI's store
        assert (store.client.meta.endpoint_url, store.client.meta.region_name) == (s3_server, REGION)
        signatures = signed_with(store.client)
        etag = store.put("routing/current.json", b'{"v": 1}', if_none_match=True)
        assert store.get("routing/current.json") == (b'{"v": 1}', etag)
        assert f"Credential={KEY_ID}/" in signatures[0] and f"/{REGION}/s3/aws4_request" in signatures[0]
        uri = shard_uri(f"s3://{bucket}/eval", "run-1", "haiku-3-5", "faq")  # MANGAEVAL_RESULTS_URI's shards
        write_frame(uri, pd.DataFrame(columns=RESULT_SCHEMA.names))
        assert list(read_frame(uri).columns) == RESULT_SCHEMA.names
    direct = boto3.client("s3", endpoint_url=s3_server, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    keys = sorted(o["Key"] for o in direct.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["eval/results/run_id=run-1/config_id=haiku-3-5/intent=faq.parquet", "serving/routing/current.json"]


def test_cloudwatch_client_of_a_dag_task_publishes_through_the_connection(monkeypatch, s3_server):
    from mangaeval.canary import cloudwatch
    from mangaeval.canary.demo import run_scenario
    from mangaeval.canary.policy import load_policy

    moto_url = s3_server  # moto's server answers every service: CloudWatch too
    conn_id = aws_connection(monkeypatch, "mangaeval_test_cw", service_config={"cloudwatch": {"endpoint_url": moto_url}})
    outcome = run_scenario("c", load_policy(), 1)["stages"][0]
    with airflow_connections(conn_id):
        cw = cloudwatch.client()
        assert (cw.meta.endpoint_url, cw.meta.region_name) == (moto_url, REGION)
        count = cloudwatch.publish("r-conn", outcome, "MangaAssist/ConnTest", cw)
    direct = boto3.client("cloudwatch", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    listed = direct.list_metrics(Namespace="MangaAssist/ConnTest", Dimensions=[{"Name": "RolloutId", "Value": "r-conn"}])["Metrics"]
    assert count > 0 and len(listed) == count  # in the connection's region


def test_outside_airflow_the_clients_keep_the_standard_chain(monkeypatch, double):
    """The command line: no connection is looked up, even with one defined; the environment decides."""
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.canary import cloudwatch

    aws_connection(monkeypatch, "aws_default", endpoint_url="http://127.0.0.1:9")
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    assert active().aws_conn_id is None
    cw = cloudwatch.client()
    assert cw.meta.region_name == "ap-northeast-1" and cw.meta.endpoint_url == "https://monitoring.ap-northeast-1.amazonaws.com"
    boto = BedrockClient(ClientSettings.from_env(endpoint_url=double.url)).boto_client
    assert (boto.meta.endpoint_url, boto.meta.region_name) == (double.url, "ap-northeast-1")
    assert "Credential=AKIAFROMENVIRONMENT1/" in _one_signature(boto)


def _one_signature(boto) -> str:
    """The signature of one request (whatever the double answers to it)."""
    from botocore.exceptions import ClientError

    signatures = signed_with(boto)
    with contextlib.suppress(ClientError):
        boto.converse(modelId=SONNET, messages=[{"role": "user", "content": [{"text": "hello"}]}])
    return signatures[0]


class _FakeRedshift:
    autocommit = True

    def close(self) -> None:
        pass


@pytest.fixture
def redshift_calls(monkeypatch) -> list[dict]:
    """redshift_connector.connect, recorded (there is no Redshift here)."""
    import redshift_connector

    calls: list[dict] = []
    monkeypatch.setattr(redshift_connector, "connect", lambda **kwargs: calls.append(kwargs) or _FakeRedshift())
    return calls


def test_redshift_warehouse_from_a_connection_holding_its_password(monkeypatch, redshift_calls):
    from mangaeval.warehouse import connect
    from mangaeval.warehouse.redshift_engine import RedshiftWarehouse

    monkeypatch.setenv("AIRFLOW_CONN_MANGAEVAL_TEST_REDSHIFT", json.dumps(
        {"conn_type": "redshift", "host": "mangaeval-wh.abc123.eu-west-1.redshift.amazonaws.com", "port": 5439,
         "schema": "analytics", "login": "mangaeval", "password": "held-by-the-connection"}))
    monkeypatch.setenv("MANGAEVAL_REDSHIFT_COPY_ROLE", "arn:aws:iam::123456789012:role/redshift-copy")
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", "duckdb:///ignored-when-a-connection-is-named.duckdb")
    with airflow_connections(warehouse_conn_id="mangaeval_test_redshift"):
        warehouse = connect()
    assert isinstance(warehouse, RedshiftWarehouse) and warehouse.con.autocommit is False
    assert redshift_calls == [{"host": "mangaeval-wh.abc123.eu-west-1.redshift.amazonaws.com", "port": 5439, "database": "analytics",
                               "user": "mangaeval", "password": "held-by-the-connection"}]
    assert warehouse.iam_role == "arn:aws:iam::123456789012:role/redshift-copy"


def test_redshift_warehouse_from_a_connection_with_iam(monkeypatch, redshift_calls, s3_server):
    """extra {"iam": true}: the hook asks Redshift (moto here, at the AWS connection's endpoint) for temporary
    credentials with the task's AWS connection; no password is stored anywhere."""
    moto_url = s3_server
    boto3.client("redshift", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y").create_cluster(
        ClusterIdentifier="mangaeval-wh", NodeType="dc2.large", MasterUsername="admin", MasterUserPassword="Admin1234", DBName="analytics")
    aws_conn = aws_connection(monkeypatch, "mangaeval_test_iam_aws", endpoint_url=moto_url)
    monkeypatch.setenv("AIRFLOW_CONN_MANGAEVAL_TEST_REDSHIFT_IAM", json.dumps(
        {"conn_type": "redshift", "host": "mangaeval-wh.abc123.eu-west-1.redshift.amazonaws.com", "port": 5439,
         "schema": "analytics", "login": "mangaeval", "extra": {"iam": True}}))
    from mangaeval.warehouse import connect

    with airflow_connections(aws_conn, warehouse_conn_id="mangaeval_test_redshift_iam"):
        connect()
    (kwargs,) = redshift_calls
    assert kwargs["host"] == "mangaeval-wh.abc123.eu-west-1.redshift.amazonaws.com" and kwargs["database"] == "analytics"
    assert kwargs["user"] == "IAM:mangaeval" and kwargs["password"] and kwargs["port"] == 5439 and kwargs["iam"] is True


def test_postgres_warehouse_from_a_connection(monkeypatch):
    from tests.conftest import postgres_test_uri

    from mangaeval.warehouse import connect

    schema = postgres_test_uri("conn").rsplit("=", 1)[1]  # skips without a PostgreSQL on 127.0.0.1:5432
    monkeypatch.setenv("AIRFLOW_CONN_MANGAEVAL_TEST_PG", json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "schema": "postgres", "login": "postgres",
         "extra": {"warehouse_schema": schema}}))
    with airflow_connections(warehouse_conn_id="mangaeval_test_pg"):
        warehouse = connect()
    try:
        warehouse.ensure_schema()
        assert warehouse.schema == schema and warehouse.count_rows("eval_results", "none") == 0
    finally:
        warehouse.drop_schema()
        warehouse.close()


@pytest.mark.parametrize("uri", ["postgresql://airflow:s3cret-pw@postgres:5432/airflow?schema=mangaeval",
                                 "redshift://mangaeval:s3cret-pw@wh.example.com:5439/analytics"])
def test_a_warehouse_uri_with_a_password_is_refused(monkeypatch, uri):
    from mangaeval.warehouse import connect

    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", uri)
    with pytest.raises(MangaEvalError) as refused:
        connect()
    message = str(refused.value)
    assert "MANGAEVAL_WAREHOUSE_URI" in message and "carries a password" in message and "MANGAEVAL_WAREHOUSE_CONN_ID" in message
    assert "s3cret-pw" not in message and ":***@" in message  # the message does not repeat the secret
    with pytest.raises(MangaEvalError, match="carries a password"):
        connect(uri)  # given on the command line (--warehouse-uri) either


def test_inside_airflow_a_redshift_warehouse_comes_from_a_connection(monkeypatch):
    from mangaeval.warehouse import connect

    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", "redshift://mangaeval@wh.example.com:5439/analytics?iam=true")
    with airflow_connections(), pytest.raises(MangaEvalError, match="set MANGAEVAL_WAREHOUSE_CONN_ID to a redshift connection"):
        connect()


def test_the_local_defaults_need_no_connection(monkeypatch, tmp_path):
    """make run: inside Airflow with no connection defined, the warehouse is the DuckDB file (or a URI without a
    password) and aws_default, absent, leaves boto3's chain (the double needs no credentials)."""
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.warehouse import connect
    from mangaeval.warehouse.duckdb_engine import DuckDBWarehouse

    monkeypatch.delenv("AIRFLOW_CONN_AWS_DEFAULT", raising=False)
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", f"duckdb:///{tmp_path / 'w.duckdb'}")
    with airflow_connections():
        warehouse = connect()
        assert isinstance(warehouse, DuckDBWarehouse)
        warehouse.close()
        boto = BedrockClient(ClientSettings.from_env(endpoint_url="http://127.0.0.1:1")).boto_client
    assert boto.meta.endpoint_url == "http://127.0.0.1:1" and boto.meta.region_name == "us-east-1"


@pytest.mark.integration
def test_model_evaluation_dag_reaches_s3_bedrock_and_sagemaker_through_the_aws_connection(tmp_path, s3_server, double):
    """The DAG's tasks, with no AWS_* variable at all: results and routing land in the S3 server and the Bedrock and
    SageMaker calls in the double that AIRFLOW_CONN_AWS_DEFAULT names (service_config); the run starts no double of
    its own."""
    env = airflow_test_env(tmp_path / "airflow_home")
    for name in AWS_SETTINGS:
        env.pop(name, None)
    airflow = str(Path(sys.executable).parent / "airflow")
    for tier in ("sonnet", "haiku", "nova", "custom"):
        subprocess.run([airflow, "pools", "set", f"bedrock_{tier}", "4", "test"], env=env, check=True, capture_output=True, timeout=120)
    bucket = f"conn-dag-{uuid.uuid4().hex[:8]}"
    direct = boto3.client("s3", endpoint_url=s3_server, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    direct.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    connection = {"conn_type": "aws", "login": KEY_ID, "password": "connection-secret",
                  "extra": {"region_name": REGION, "service_config": {"s3": {"endpoint_url": s3_server},
                                                                       "bedrock-runtime": {"endpoint_url": double.url},
                                                                       "sagemaker-runtime": {"endpoint_url": double.url}}}}
    calls_before = double_stats(double.url)["total_calls"]
    conf = {"configs": ["sonnet-3-5-v2", "custom-sagemaker"], "intents": ["faq"], "limit": 30, "use_cache": False}  # enough to decide
    result = run_dag_test(env, "model_evaluation", "2026-11-22T02:00:00+00:00", conf, tmp_path / "data",
                          AIRFLOW_CONN_AWS_DEFAULT=json.dumps(connection), AWS_EC2_METADATA_DISABLED="true",
                          AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
                          MANGAEVAL_RESULTS_URI=f"s3://{bucket}/eval", MANGAEVAL_ROUTING_URI=f"s3://{bucket}/serving")
    assert result["state"] == "success", result["log"][-4000:]
    keys = [o["Key"] for o in direct.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sum(k.startswith("eval/results/") for k in keys) == 2 and "serving/routing/current.json" in keys
    assert "started the model double" not in result["log"]
    assert double_stats(double.url)["total_calls"] >= calls_before + 2 * 30  # Converse and InvokeEndpoint, 30 cases each

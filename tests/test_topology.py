"""No single-host assumptions: under a distributed executor the plan refuses a task-local double, local folders and a
DuckDB file, naming each; the response cache works on S3 (where distributed workers share it)."""

from __future__ import annotations

import boto3
import pytest

from mangaeval.errors import ConfigError
from mangaeval.pipeline.topology import check_topology, configured_executors, distributed_executors, topology_problems

LOCAL = dict(endpoint_url=None, use_double=True, results_uri="/data", routing_uri="/data", cache_uri="/data/cache/responses",
             warehouse="duckdb")
SHARED = dict(endpoint_url="http://model-double:8000", use_double=True, results_uri="s3://b/eval", routing_uri="s3://b/serving",
              cache_uri="s3://b/eval/cache/responses", warehouse="connection")


@pytest.mark.parametrize("executor", ["LocalExecutor", "SequentialExecutor"])
def test_a_single_host_accepts_the_embedded_defaults(executor):
    assert topology_problems(executors=[executor], **LOCAL) == []


def test_a_distributed_executor_refuses_each_single_host_assumption_by_name():
    problems = topology_problems(executors=["CeleryExecutor"], **LOCAL)
    assert len(problems) == 5
    text = "\n".join(problems)
    for needle in ("127.0.0.1 of one worker", "MANGAEVAL_RESULTS_URI is the local folder /data",
                   "MANGAEVAL_ROUTING_URI is the local folder /data", "response cache is the local folder", "DuckDB file"):
        assert needle in text
    assert all(p.startswith("executor CeleryExecutor runs tasks on several hosts") for p in problems)


def test_a_distributed_deployment_with_shared_services_passes():
    assert topology_problems(executors=["CeleryExecutor"], **SHARED) == []
    assert topology_problems(executors=["CeleryExecutor"], **{**SHARED, "endpoint_url": None, "use_double": False}) == []  # AWS
    assert topology_problems(executors=["CeleryExecutor"], **{**SHARED, "cache_uri": None}) == []  # cache off
    assert topology_problems(executors=["LocalExecutor", "KubernetesExecutor"], **{**SHARED, "warehouse": "duckdb"}) != []


def test_executors_are_read_from_airflow_configuration_with_aliases(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor,fast:my.pkg.CeleryExecutor")
    assert configured_executors() == ["LocalExecutor", "CeleryExecutor"]
    assert distributed_executors() == ["CeleryExecutor"]


def test_the_plan_check_raises_one_error_naming_every_problem(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    for name in ("MANGAEVAL_RESULTS_URI", "MANGAEVAL_ROUTING_URI", "MANGAEVAL_CACHE_URI", "MANGAEVAL_CACHE_DIR", "MANGAEVAL_WAREHOUSE_URI",
                 "MANGAEVAL_USE_DOUBLE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as raised:
        check_topology(None, use_cache=True)
    assert len(raised.value.problems) == 5
    monkeypatch.setenv("MANGAEVAL_RESULTS_URI", "s3://b/eval")
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", "s3://b/serving")
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", "postgresql://postgres@127.0.0.1:5432/postgres")
    check_topology("http://model-double:8000", use_cache=True)  # the cache follows the s3:// results root
    monkeypatch.setenv("MANGAEVAL_CACHE_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="response cache is the local folder"):
        check_topology("http://model-double:8000", use_cache=True)


def test_the_weekly_benchmark_needs_only_a_shared_store_and_warehouse(monkeypatch):
    """model_benchmark runs its double inside the one task that calls it and keeps no results folder: under a
    distributed executor only the store its result crosses tasks through, and the warehouse, must be shared."""
    from mangaeval.bench.steps import plan_benchmark

    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    for name in ("MANGAEVAL_RESULTS_URI", "MANGAEVAL_ROUTING_URI", "MANGAEVAL_WAREHOUSE_URI", "MANGAEVAL_USE_DOUBLE",
                 "MANGAEVAL_BEDROCK_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as raised:
        plan_benchmark({})
    problems = raised.value.problems
    assert len(problems) == 2 and "MANGAEVAL_ROUTING_URI is the local folder" in problems[0] and "DuckDB" in problems[1], problems
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", "s3://b/serving")
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", "postgresql://postgres@127.0.0.1:5432/postgres")
    assert plan_benchmark({})["requests"] == 300


@pytest.mark.integration
def test_the_response_cache_lives_in_s3(s3_server, monkeypatch, starter):
    from mangaeval.bedrock import BedrockClient, ClientSettings
    from mangaeval.engine import EngineSettings, EvaluationEngine
    from mangaeval.models import load_configurations, load_model_catalog
    from tests.conftest import double_stats, running_double

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket="shared-cache")
    cases = starter.cases[:6]
    with running_double(throttle_rate=0, timeout_rate=0, unavailable_rate=0, model_error_rate=0) as double:
        def run():
            engine = EvaluationEngine(BedrockClient(ClientSettings(endpoint_url=double.url)), load_model_catalog(),
                                      EngineSettings(cache_dir="s3://shared-cache/eval/cache/responses"))
            return engine.evaluate([load_configurations()["nova-lite"]], cases, run_id="night-1", dataset_version="v0")

        first, _ = run()
        calls = double_stats(double.url)["total_calls"]
        again, stats = run()  # another worker retrying the shard: it finds the answers in the bucket
        assert stats.cache_hits == 6 and double_stats(double.url)["total_calls"] == calls
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="shared-cache", Prefix="eval/cache/responses/")["Contents"]]
    assert len(keys) == 6 and all(k.endswith(".json") for k in keys)
    assert list(again["response_text"]) == list(first["response_text"])

"""docker-compose.yaml and the Dockerfile, checked without a Docker engine: the multi-worker topology, secrets with
no working default, no bind mounts, pools and connections from the init job, and `config` by the compose client
when this machine has one (docker compose v2 or docker-compose)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from mangaeval.deployment import connections_from_env, pool_sizes, pools_document
from mangaeval.errors import ConfigError
from tests.conftest import ROOT

SECRETS = {"AIRFLOW_FERNET_KEY": "k", "AIRFLOW_JWT_SECRET": "j", "AIRFLOW_API_SECRET_KEY": "a", "POSTGRES_PASSWORD": "p"}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_topology_celery_redis_postgres_two_workers_double_and_local_s3():
    services = compose()["services"]
    assert {"postgres", "redis", "model-double", "s3", "airflow-init", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer"} <= set(services)
    workers = [s for name, s in services.items() if s.get("command") == "celery worker"]
    assert len(workers) >= 2 and len({w["hostname"] for w in workers}) == len(workers)
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor" and env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql") and "postgres" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert env["MANGAEVAL_RESULTS_URI"].startswith("${MANGAEVAL_RESULTS_URI:-s3://")
    assert "/ping" in json.dumps(services["model-double"]["healthcheck"]) and services["s3"]["profiles"] == ["local"]
    assert services["airflow-init"]["entrypoint"] == ["python", "-m", "mangaeval.deployment", "init"]
    for name, service in services.items():  # the image holds dags/, include/, sql/: nothing bind-mounted from the host
        assert all(not str(v).startswith((".", "/")) for v in service.get("volumes", []) if name.startswith("airflow")), (name, service)


def test_secrets_have_no_default_and_connections_reach_only_the_init_job():
    text = (ROOT / "docker-compose.yaml").read_text()
    for name in SECRETS:
        assert f"${{{name}:?" in text and f"${{{name}:-" not in text, name
    services = compose()["services"]
    assert not any(k.startswith(("AIRFLOW_CONN_", "MANGAEVAL_CONN_")) for k in services["airflow-worker-1"]["environment"])
    assert {"MANGAEVAL_CONN_AWS_DEFAULT", "MANGAEVAL_CONN_MANGAEVAL_WAREHOUSE"} <= set(services["airflow-init"]["environment"])


def test_image_bakes_in_dags_include_sql_without_the_test_tools():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder, target in (("include", "/opt/project/include"), ("sql", "/opt/project/sql"), ("dags", "/opt/airflow/dags")):
        assert f" {folder} {target}" in dockerfile
    cut = subprocess.run(["sed", "/^# tests and local doubles/,$d", str(ROOT / "requirements.in")], capture_output=True, text=True, check=True)
    runtime = [line.split("[")[0].split("=")[0].strip() for line in cut.stdout.splitlines() if line and not line.startswith("#")]
    assert "apache-airflow-providers-celery" in runtime and "asyncpg" in runtime
    assert not {"pytest", "moto"} & set(runtime)


def test_pools_from_quotas_and_connections_from_the_environment(tmp_path):
    assert set(pool_sizes()) == {"sonnet", "haiku", "nova", "custom"} and all(v >= 1 for v in pool_sizes().values())
    assert pools_document()["bedrock_custom"]["slots"] == pool_sizes()["custom"]
    bad = tmp_path / "quotas.yaml"
    bad.write_text("pools: {sonnet: 0, haiku: 2, nova: 2, gpu: 1}\n")
    with pytest.raises(ConfigError) as err:
        pool_sizes(bad)
    assert "no slots for tier 'custom'" in str(err.value) and "unknown tier 'gpu'" in str(err.value) and "'sonnet' must be" in str(err.value)
    conns = connections_from_env({"MANGAEVAL_CONN_AWS_DEFAULT": '{"conn_type": "aws", "extra": {"region_name": "us-east-1"}}', "OTHER": "x"})
    assert conns == {"aws_default": {"conn_type": "aws", "extra": '{"region_name": "us-east-1"}'}}
    with pytest.raises(ConfigError, match="MANGAEVAL_CONN_X: not JSON"):
        connections_from_env({"MANGAEVAL_CONN_X": "aws://nope"})


def _compose_client() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_compose_client_accepts_the_file_and_refuses_it_without_secrets():
    client = _compose_client()
    if not client:
        pytest.skip("no compose client here (docker compose / docker-compose): the YAML checks above still ran")
    import os

    base = {k: v for k, v in os.environ.items() if k not in SECRETS}
    ok = subprocess.run(client + ["--profile", "local", "config", "-q"], cwd=ROOT, env={**base, **SECRETS}, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    refused = subprocess.run(client + ["config", "-q"], cwd=ROOT, env=base, capture_output=True, text=True)
    assert refused.returncode != 0 and "set " in refused.stderr, refused.stderr

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest

from mangaeval.bedrock import BedrockClient, ClientSettings
from mangaeval.double.profiles import load_profiles
from mangaeval.double.server import DoubleInThread
from mangaeval.golden import load_dataset

ROOT = Path(__file__).resolve().parent.parent


# Settings of the machine that would point a test's DAG run somewhere else: each test sets its own.
_MACHINE_SETTINGS = ("MANGAEVAL_BEDROCK_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "MANGAEVAL_WAREHOUSE_URI",
                     "MANGAEVAL_ROUTING_URI", "MANGAEVAL_EVENTS_URI")


def airflow_test_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an Airflow on SQLite in `home` with this project's DAGs only, its database migrated."""
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db"}
    for name in _MACHINE_SETTINGS:
        env.pop(name, None)
    env.update(extra)
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return env


def run_dag_test(env: dict[str, str], dag_id: str, logical_date: str, conf: dict, data_dir: Path, *, no_logical_date: bool = False,
                 **extra: str) -> dict:
    """One dag.test() run in a fresh process (Airflow reads its configuration at import): its state, the state
    of each task, the run as created, the time keys each task's context held, and the log.

    `logical_date` is the run's logical date and run_after; with `no_logical_date` only its run_after: the run then
    has no logical date and no data interval, as Airflow 3 creates a manual run (UI, REST API, `airflow dags
    trigger`) given none (see tests/dagrun/run_dag.py)."""
    argv = [sys.executable, str(ROOT / "tests" / "dagrun" / "run_dag.py"), logical_date, json.dumps(conf), str(ROOT / "dags"), dag_id]
    proc = subprocess.run(argv + (["--no-logical-date"] if no_logical_date else []), env={**env, "MANGAEVAL_DATA_DIR": str(data_dir), **extra},
                          capture_output=True, text=True, timeout=600)
    keys = ("DAGRUN_STATE", "TASK_STATES", "DAGRUN", "TASK_CONTEXTS")
    lines = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in proc.stdout.splitlines() if line.split(" ", 1)[0] in keys and " " in line}
    assert "DAGRUN_STATE" in lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"state": lines["DAGRUN_STATE"], "tasks": json.loads(lines.get("TASK_STATES", "{}")), "run": json.loads(lines.get("DAGRUN", "{}")),
            "contexts": json.loads(lines.get("TASK_CONTEXTS", "{}")), "log": proc.stdout + proc.stderr}


def assert_manual_run_without_logical_date(result: dict, run_after: str, time_reading_tasks: list[str]) -> None:
    """The run was created as Airflow 3 creates a manual trigger without a logical date, and the tasks that read
    the run's time got a context without logical_date and data interval keys (the code before the fix indexed
    context["logical_date"] / context["data_interval_end"] there: KeyError)."""
    run = result["run"]
    assert run["run_type"] == "manual" and run["logical_date"] is None, run
    assert run["data_interval_start"] is None and run["data_interval_end"] is None, run
    assert datetime.fromisoformat(run["run_after"]) == datetime.fromisoformat(run_after), run
    for task_id in time_reading_tasks:
        seen = result["contexts"][task_id]
        assert seen["keys"] == [] and seen["dag_run.logical_date"] is None, (task_id, seen)
        assert datetime.fromisoformat(seen["dag_run.run_after"]) == datetime.fromisoformat(run_after), (task_id, seen)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """A local S3 server (moto), for a test module: its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    yield f"http://127.0.0.1:{server._port}"
    server.stop()


def object_store(kind: str, request, tmp_path: Path, monkeypatch, prefix: str):
    """A LocalStore in tmp_path (kind "local") or an S3Store on a fresh bucket of the local S3 server ("s3")."""
    import boto3

    from mangaeval.objectstore import LocalStore, S3Store

    if kind == "local":
        return LocalStore(tmp_path / f"{prefix}-store")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", endpoint_url=request.getfixturevalue("s3_server"), region_name="us-east-1")
    bucket = f"{prefix}-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    client.create_bucket(Bucket=bucket)
    return S3Store(bucket, prefix, client=client)


def postgres_test_uri(schema_prefix: str) -> str:
    """A fresh schema on the machine's PostgreSQL (127.0.0.1:5432), or a skip saying why there is none."""
    import uuid

    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({exc}); the DuckDB run covers the same SQL")
    return f"postgresql://postgres@127.0.0.1:5432/postgres?schema={schema_prefix}_{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def engine_uri(engine: str, tmp_path: Path, schema_prefix: str) -> Iterator[str]:
    """A warehouse URI for a test: a DuckDB file in tmp_path (it migrates itself on first use), or a fresh
    PostgreSQL schema, migrated as the deployment's init job leaves it, dropped afterwards."""
    if engine == "duckdb":
        yield f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
        return
    from mangaeval.warehouse import connect

    uri = postgres_test_uri(schema_prefix)
    wh = connect(uri)
    try:
        wh.migrate()
    finally:
        wh.close()
    try:
        yield uri
    finally:
        wh = connect(uri)
        wh.drop_schema()
        wh.close()


@contextlib.contextmanager
def running_double(seed: int = 7, time_scale: float = 0.0, **overrides: float) -> Iterator[DoubleInThread]:
    with DoubleInThread(seed=seed, time_scale=time_scale, profiles=load_profiles(overrides=overrides)) as double:
        yield double


@pytest.fixture(scope="session")
def double() -> Iterator[DoubleInThread]:
    """An error-free double (rates zeroed) answering instantly; latency is still reported."""
    with running_double(throttle_rate=0, timeout_rate=0, unavailable_rate=0, model_error_rate=0) as d:
        yield d


@pytest.fixture
def client(double: DoubleInThread) -> BedrockClient:
    return BedrockClient(ClientSettings(endpoint_url=double.url), sleep=lambda s: None, seed=1)


@pytest.fixture(scope="session")
def starter():
    return load_dataset("v0")


def double_stats(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"{url}/_double/stats") as response:
        return json.loads(response.read())

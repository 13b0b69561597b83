from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator

import pytest

from mangaeval.bedrock import BedrockClient, ClientSettings
from mangaeval.double.profiles import load_profiles
from mangaeval.double.server import DoubleInThread
from mangaeval.golden import load_dataset

ROOT = Path(__file__).resolve().parent.parent


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

"""`mangaeval bench` run for real (a model double started by the command, small sizes at a twentieth of real time):
the result JSON's statistics against numpy on its own samples, time to first token with --stream, the warehouse
load on DuckDB and PostgreSQL, the HTML report, and `bench compare` running the suite: no baseline, then (after
`bench accept`) a double twice as slow flagged as a regression with exit 1, annotations and the Markdown summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import engine_uri

pytestmark = pytest.mark.integration
SIZES = ["--configs", "haiku-3-5", "nova-lite", "--requests", "40", "--warmup", "2", "--workers", "4", "--throughput-requests", "24",
         "--no-progress"]


def mangaeval(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MANGAEVAL_BEDROCK_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME")}
    return subprocess.run([sys.executable, "-m", "mangaeval.cli", *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def streamed(tmp_path_factory) -> dict:
    """One streamed suite run: its folder, result, stdout."""
    base = tmp_path_factory.mktemp("bench")
    done = mangaeval("bench", *SIZES, "--stream", "--time-scale", "0.05", "--store-uri", str(base / "store"), "--out", str(base / "out"),
                     "--no-warehouse", "--html", str(base / "report.html"))
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = (base / "out").glob("*.json")
    return {"base": base, "result": json.loads(path.read_text()), "stdout": done.stdout, "stderr": done.stderr}


def test_result_schema_and_statistics_agree_with_numpy_on_its_own_samples(streamed):
    result = streamed["result"]
    assert result["schema"] == "mangaeval.bench/1" and result["environment"] == "double"
    assert result["prompts"] == {"total": 40, "standard": 10, "golden": 30}
    assert (streamed["base"] / "store" / "benchmarks" / "results" / f"{result['result_id']}.json").exists()
    for config_id in ("haiku-3-5", "nova-lite"):
        c = result["configs"][config_id]
        assert c["warmup"]["requests"] == 2 and c["latency"]["requests"] == 40 and c["throughput"]["requests"] == 24
        samples = np.array(c["latency"]["samples_ms"])
        stats = c["latency"]["stats"]
        assert stats["n"] == len(samples) == c["latency"]["ok"]
        assert stats["p95"] == pytest.approx(np.percentile(samples, 95), abs=0.01)
        assert stats["mean"] == pytest.approx(samples.mean(), abs=0.01) and stats["sd"] == pytest.approx(samples.std(ddof=1), abs=0.01)
        assert stats["p95_ci"][0] <= stats["p95"] <= stats["p95_ci"][1]
        ttft = np.array(c["latency"]["ttft_samples_ms"])
        assert len(ttft) == len(samples) and (ttft > 0).all() and (ttft <= samples + 1e-6).all()  # the first token comes first
        assert c["latency"]["ttft"]["p95"] == pytest.approx(np.percentile(ttft, 95), abs=0.01)
        assert c["throughput"]["rps"] > 0 and c["cost"]["cost_per_query_usd"] > 0
        assert c["cost"]["cost_per_query_usd"] == pytest.approx(np.mean(c["cost"]["samples_usd"]))
        chain = c["chain"]
        assert chain["call_ms"]["mean"] > chain["build_ms"]["mean"] and chain["scored_golden"] == 30
    assert "TTFT P50/P95" in streamed["stdout"] and "routing vs all-premium" in streamed["stdout"]


def test_html_report_is_self_contained_with_a_chart_per_benchmark(streamed):
    html = (streamed["base"] / "report.html").read_text()
    assert streamed["result"]["result_id"] in html and "<script src=\"http" not in html  # plotly.js embedded: opens offline
    for chart in ("latency-box", "latency-pct", "throughput", "cost", "chain"):
        assert f'id="{chart}"' in html, chart


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_warehouse_load_is_replaced_by_result_id_on_each_engine(streamed, engine, tmp_path):
    from mangaeval.bench.warehouse import load, rows
    from mangaeval.warehouse import connect

    result = streamed["result"]
    with engine_uri(engine, tmp_path, "bench") as uri:
        assert load(result, uri) == load(result, uri) == len(rows(result))  # a reload replaces, never doubles
        warehouse = connect(uri)
        try:
            with warehouse.transaction() as cur:
                cur.execute("SELECT config_id, figure, value FROM benchmark_results")
                loaded = {(r[0], r[1]): r[2] for r in cur.fetchall()}
                cur.execute("SELECT COUNT(*) FROM mart_benchmark_trend")
                trend = cur.fetchone()[0]
        finally:
            warehouse.close()
    assert trend > 0
    assert len(loaded) == len(rows(result))
    stats = result["configs"]["haiku-3-5"]["latency"]
    assert loaded[("haiku-3-5", "latency_p95_ms")] == pytest.approx(stats["stats"]["p95"])
    assert loaded[("haiku-3-5", "ttft_p95_ms")] == pytest.approx(stats["ttft"]["p95"])


def test_compare_runs_the_suite_and_gates_on_a_slower_double(tmp_path):
    store, summary = tmp_path / "store", tmp_path / "summary.md"
    common = [*SIZES, "--store-uri", str(store), "--out", str(tmp_path / "out"), "--no-warehouse"]
    first = mangaeval("bench", "compare", *common, "--time-scale", "0.05")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "BASELINE" in first.stdout and "::notice title=Benchmark%3A no baseline for P95 latency of haiku-3-5::" in first.stdout
    accepted = mangaeval("bench", "accept", "--store-uri", str(store), "--by", "test")
    assert accepted.returncode == 0 and "baseline double/nova-lite/latency v1" in accepted.stdout, accepted.stderr
    slower = mangaeval("bench", "compare", *common, "--time-scale", "0.1", "--markdown", str(summary))
    assert slower.returncode == 1, slower.stdout[-3000:] + slower.stderr[-3000:]
    errors = [line for line in slower.stdout.splitlines() if line.startswith("::error ")]
    assert any(line.startswith("::error title=Benchmark regression%3A P95 latency of haiku-3-5::P95 latency ") for line in errors), errors
    assert any("throughput of nova-lite" in line for line in errors), errors
    assert "regression(s): exit 1" in slower.stderr
    assert "❌ REGRESSION" in summary.read_text() and "| haiku-3-5 | P95 latency |" in summary.read_text()
    reports = sorted((store / "benchmarks" / "reports").iterdir())
    assert len(reports) == 2 and {p.name for p in reports[-1].iterdir()} == {"comparison.json", "comparison.md", "report.html"}

"""The dashboards' queries, on DuckDB and PostgreSQL, against independent pandas computations; request values bound or
allow-listed; the app read-only and refusing anonymous requests; the static report self-contained and under 3 MB."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from mangaeval.dashboards.queries import PAGE_SIZE, BadInput, NotFound, Reader
from mangaeval.golden import load_dataset
from mangaeval.paths import GOLDEN_DIR
from mangaeval.results import rows_to_frame
from mangaeval.warehouse import connect
from mangaeval.warehouse.decide import run_tables
from mangaeval.warehouse.policy import load_policy
from tests.bench_helpers import FIRST, SECOND, load_all
from tests.conftest import engine_uri, postgres_test_uri

RUN = "scheduled__2026-11-22T02:00:00+00:00"
CONFIGS = {"sonnet-3-5-v2": (0.90, 0.003, 1800), "haiku-3-5": (0.80, 0.0008, 600), "nova-lite": (0.72, 0.0001, 500)}


def results(seed: int = 4, run_id: str = RUN) -> pd.DataFrame:
    """Results over the real v0 cases of two intents (so eval_cases gets their languages, tags and lines)."""
    rng = np.random.default_rng(seed)
    cases = [c for c in load_dataset("v0").cases if c.intent in ("faq", "recommendation")]
    rows = []
    for case in cases:
        for config, (quality, cost, latency) in CONFIGS.items():
            ok = rng.random() > 0.03
            q = float(np.clip(rng.normal(quality, 0.12), 0, 1)) if ok else None
            rows.append({"run_id": run_id, "config_id": config, "model_id": f"m-{config}", "intent": case.intent, "test_id": case.test_id,
                         "language": case.language, "dataset_version": "v0", "prompt_version": "v1", "response_text": "<b>answer</b>" if ok else None,
                         "status": "ok" if ok else "error", "error_code": None if ok else "ThrottlingException", "attempts": 1,
                         "cache_hit": False, "wall_ms": 1.0, "input_tokens": 500 if ok else None, "output_tokens": 100 if ok else None,
                         "cost_usd": float(cost * rng.uniform(0.8, 1.2)) if ok else None,
                         "latency_ms": int(rng.normal(latency, 150)) if ok else None, "quality_score": q,
                         "passed": (q >= 0.75) if ok else None, "score_relevance": q, "critical_failure": "wrong_language" if ok and q < 0.4 else None})
    return rows_to_frame(rows)


@pytest.fixture(params=["duckdb", "postgresql"], scope="module")
def loaded(request):
    if request.param == "duckdb":
        wh = connect("duckdb:///:memory:")
    else:
        wh = connect(postgres_test_uri("test_dash"))
    wh.ensure_schema()
    frame = results()
    wh.load_run(RUN, run_tables(frame, RUN, load_policy(), {"faq": "haiku-3-5"}))
    yield Reader(wh), frame
    if hasattr(wh, "drop_schema"):
        wh.drop_schema()
    wh.close()


def test_evaluation_rows_carry_the_frontier_flags_and_intervals_the_marts_say(loaded):
    reader, frame = loaded
    assert reader.runs()[0]["run_id"] == RUN and reader.run_intents(RUN) == ["faq", "recommendation"]
    rows = reader.evaluation(RUN, "faq")
    assert {r["config_id"] for r in rows} == set(CONFIGS)
    frontier = set(reader.warehouse.query("queries/frontier.sql", {"run_id": RUN}).query("intent == 'faq'")["config_id"])
    assert {r["config_id"] for r in rows if r["on_frontier"]} == frontier
    recommendation = reader.warehouse.query("queries/recommendation.sql", {"run_id": RUN}).set_index("intent").loc["faq"]
    assert [r["config_id"] for r in rows if r["is_recommended"]] == [recommendation["recommended_config_id"]]
    assert [r["config_id"] for r in rows if r["is_current"]] == ["haiku-3-5"]
    for row in rows:
        scored = frame[(frame["intent"] == "faq") & (frame["config_id"] == row["config_id"])]["quality_score"].dropna().astype(float)
        half = 1.96 * scored.std(ddof=1) / np.sqrt(len(scored))
        assert row["quality_ci_low"] == pytest.approx(scored.mean() - half, abs=1e-6)
        assert row["quality_ci_high"] == pytest.approx(scored.mean() + half, abs=1e-6)
        assert 0 <= row["pass_ci_low"] <= row["pass_rate"] <= row["pass_ci_high"] <= 1
        assert row["min_pass_rate"] == load_policy().min_pass_rate and row["sla_p95_ms"] == load_policy().sla_p95_ms
    trend = reader.trend("faq")
    assert {(r["run_sort_key"], r["config_id"]) for r in trend} == {("2026-11-22T02:00:00+00:00", c) for c in CONFIGS}


def test_case_filters_and_disagreement_equal_a_pandas_computation(loaded):
    reader, frame = loaded
    faq = frame[frame["intent"] == "faq"]
    passed = faq.assign(p=faq["passed"].fillna(False).astype(bool)).groupby("test_id")["p"]
    disagree = set(passed.sum()[(passed.sum() > 0) & (passed.sum() < passed.count())].index)
    failed = set(passed.sum()[passed.sum() < passed.count()].index)
    languages, tags = reader.facets(RUN, "faq")
    assert languages == sorted(set(faq["language"]))
    everything = reader.cases(RUN, "faq")
    assert everything["matching"] == faq["test_id"].nunique() and len(everything["cases"]) == min(PAGE_SIZE, everything["matching"])
    assert all(len(c["answers"]) == len(CONFIGS) for c in everything["cases"])
    pages = [reader.cases(RUN, "faq", page=p)["cases"] for p in range(1, everything["pages"] + 1)]
    assert sorted(c["test_id"] for page in pages for c in page) == sorted(set(faq["test_id"]))  # paging covers every case once
    assert {c["test_id"] for c in reader.cases(RUN, "faq", disagree_only=True, page=1)["cases"]} <= disagree
    assert reader.cases(RUN, "faq", disagree_only=True)["matching"] == len(disagree)
    assert reader.cases(RUN, "faq", failed_only=True)["matching"] == len(failed)
    ja = reader.cases(RUN, "faq", language="ja")
    assert ja["matching"] == faq[faq["language"] == "ja"]["test_id"].nunique()
    cases = {c.test_id: c for c in load_dataset("v0").cases}
    tag = tags[0]
    tagged = reader.cases(RUN, "faq", tag=tag)
    assert tagged["matching"] == sum(1 for t in set(faq["test_id"]) if tag in cases[t].tags)


def test_a_case_links_to_its_line_in_the_dataset(loaded):
    reader, _ = loaded
    row = reader.case(RUN, "faq-en-0001") if any(c.test_id == "faq-en-0001" for c in load_dataset("v0").cases) else None
    test_id = row["test_id"] if row else reader.cases(RUN, "faq")["cases"][0]["test_id"]
    row = reader.case(RUN, test_id)
    version_file, line = row["source"].split(":")
    assert json.loads((GOLDEN_DIR / version_file).read_text(encoding="utf-8").splitlines()[int(line) - 1])["test_id"] == test_id
    assert row["case"]["test_id"] == test_id


@pytest.mark.parametrize("bad", ["nope", "x' OR '1'='1", "'; DROP TABLE eval_results; --", ""])
def test_request_values_are_bound_or_refused_by_name(loaded, bad):
    reader, frame = loaded
    with pytest.raises(NotFound, match="no such run"):
        reader.run_intents(bad)
    with pytest.raises(BadInput, match="intent"):
        reader.checked_intent(RUN, bad or "missing")
    with pytest.raises(BadInput, match="language"):
        reader.cases(RUN, "faq", language=bad or "xx")
    with pytest.raises(BadInput, match="tag"):
        reader.cases(RUN, "faq", tag=bad or "no-such-tag")
    with pytest.raises(NotFound):
        reader.case(RUN, bad)
    assert reader.warehouse.count_rows("eval_results", RUN) == len(frame)  # still there


def test_the_app_is_read_only_and_refuses_anonymous_requests():
    from fastapi.testclient import TestClient

    from mangaeval.dashboards.app import create_app

    app = create_app()  # the API server's authentication (no token: 401 before any query)
    methods = {m for route in app.routes for m in getattr(route, "methods", set())}
    assert methods <= {"GET", "HEAD"}
    client = TestClient(app)
    for path in ("/evaluation", "/answers", "/routing", "/experiments", "/rollouts", "/benchmarks", "/static/plotly.min.js",
                 "/case?run_id=a&test_id=b"):
        response = client.get(path)
        assert response.status_code == 401 and "MangaEval" not in response.text, path
    # a forged token needs the API server's auth manager to be refused: tests/test_dashboards_browser.py checks it


def test_pages_escape_model_output_and_a_bad_run_is_a_clear_404(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from mangaeval.dashboards.app import create_app

    wh = connect(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    wh.ensure_schema()
    wh.load_run(RUN, run_tables(results(), RUN, load_policy(), None))
    wh.close()
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path / "store"))
    client = TestClient(create_app(access=lambda dag_id: (lambda: None)))
    page = client.get("/answers", params={"run_id": RUN, "intent": "faq"})
    assert page.status_code == 200 and "<b>answer</b>" not in page.text and "&lt;b&gt;answer&lt;/b&gt;" in page.text
    missing = client.get("/evaluation", params={"run_id": "no-such-run"})
    assert missing.status_code == 404 and "No such run" in missing.text and "Traceback" not in missing.text
    bad = client.get("/answers", params={"run_id": RUN, "intent": "faq", "page": "-1"})
    assert bad.status_code == 400 and "page" in bad.text
    routing = client.get("/routing")
    assert routing.status_code == 404 and "no routing table has been published yet" in routing.text
    assert client.get("/evaluation").headers["Server-Timing"].startswith("render;dur=")


def test_the_static_report_is_one_self_contained_file_under_3_mb(tmp_path):
    from mangaeval.dashboards.report import build_report

    wh = connect("duckdb:///:memory:")
    wh.ensure_schema()
    wh.load_run(RUN, run_tables(results(), RUN, load_policy(), None))
    text = build_report(Reader(wh), RUN, None)
    assert len(text.encode()) < 3_000_000
    assert "<script src=" not in text and not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert text.count('data-chart="quality-cost-') == 2 and 'id="plotly-gz"' in text
    with pytest.raises(NotFound):
        build_report(Reader(wh), "no-such-run", None)
    wh.close()


def test_the_report_command_writes_the_html_and_names_a_missing_run(tmp_path, monkeypatch, capsys):
    from mangaeval.cli import main

    wh = connect(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    wh.ensure_schema()
    wh.load_run(RUN, run_tables(results(), RUN, load_policy(), None))
    wh.close()
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path / "store"))
    assert main(["report", "--html", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "index.html").stat().st_size > 1_000_000 and RUN in capsys.readouterr().out
    assert main(["report", "--html", str(tmp_path / "out2"), "--run-id", "no-such-run"]) == 2
    assert "no such run" in capsys.readouterr().err and not (tmp_path / "out2").exists()


# Benchmarks -------------------------------------------------------------------------------------------------------
# tests/bench_helpers.py: two results on the double a week apart (haiku-3-5's P95 1000 -> 1250 ms, +25%; nova-lite's
# 800 -> 864 ms, +8%; sonnet-3-5-v2 only in the first) and an older one on AWS.
@pytest.fixture(params=["duckdb", "postgresql"], scope="module")
def bench_uri(request, tmp_path_factory):
    with engine_uri(request.param, tmp_path_factory.mktemp(f"bench-{request.param}"), "test_dash_bench") as uri:
        load_all(uri)
        yield uri


@pytest.fixture
def bench_reader(bench_uri):
    warehouse = connect(bench_uri)
    yield Reader(warehouse)
    warehouse.close()


def dashboards_client(monkeypatch, uri: str):
    from fastapi.testclient import TestClient

    from mangaeval.dashboards.app import create_app

    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", uri)
    return TestClient(create_app(access=lambda dag_id: (lambda: None)))


def page_charts(text: str) -> dict[str, dict]:
    return {m[1]: json.loads(m[2]) for m in re.finditer(r'<script type="application/json" data-chart="([^"]+)">(.*?)</script>', text)}


def table_rows(text: str, table_id: str) -> list[str]:
    body = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', text, re.S)
    return re.findall(r"<tr>(.*?)</tr>", body[1], re.S) if body else []


def test_benchmark_latest_result_per_configuration_and_its_change_vs_the_previous(bench_reader):
    environments = bench_reader.benchmark_environments()
    assert environments == ["double", "aws"]  # the latest result's environment first: the page's default
    assert bench_reader.checked_benchmark_filters(environments, None, None) == ("double", ["haiku-3-5", "nova-lite", "sonnet-3-5-v2"], None)
    latest = {r["config_id"]: r for r in bench_reader.benchmark_latest("double", None)}
    haiku, nova, sonnet = latest["haiku-3-5"], latest["nova-lite"], latest["sonnet-3-5-v2"]
    assert haiku["result_id"] == "r2-double" and haiku["model_id"] == "model-of-haiku-3-5"
    assert (haiku["p50_ms"], haiku["p95_ms"], haiku["p99_ms"]) == pytest.approx((625, 1250, 1875))
    assert (haiku["p95_ci_low"], haiku["p95_ci_high"], haiku["p95_previous_ms"]) == pytest.approx((1125, 1375, 1000))
    assert haiku["p95_change"] == pytest.approx(0.25) and haiku["p95_worse"]
    assert haiku["throughput_change"] == pytest.approx(-0.2) and haiku["cost_change"] == pytest.approx(0)
    assert nova["p95_change"] == pytest.approx(0.08) and not nova["p95_worse"]  # worse, but under the 10% mark
    assert nova["cost_change"] == pytest.approx(0.1) and (nova["error_rate"], nova["error_rate_previous"]) == pytest.approx((0.02, 0))
    # sonnet was only in the first result: that is its latest, with nothing before it
    assert sonnet["result_id"] == "r1-double" and sonnet["p95_change"] is None and not sonnet["p95_worse"]
    assert sonnet["error_rate"] == pytest.approx(0.05) and sonnet["error_rate_previous"] is None
    # per environment: AWS's haiku result is not the double's previous one, nor the other way round
    (aws,) = bench_reader.benchmark_latest("aws", None)
    assert aws["result_id"] == "r0-aws" and aws["p95_ms"] == pytest.approx(1500) and aws["p95_change"] is None


def test_benchmark_trend_has_one_point_per_result_and_figure(bench_reader):
    trend = bench_reader.benchmark_trend("double", None)
    points = pd.DataFrame(trend).groupby(["config_id", "figure"]).size().to_dict()
    expected = {(c, f): 2 if c in SECOND["configs"] else 1 for c in FIRST["configs"]
                for f in ("latency_p95_ms", "throughput_rps", "cost_per_query_usd")}
    assert points == expected
    haiku = [r for r in trend if r["config_id"] == "haiku-3-5" and r["figure"] == "latency_p95_ms"]
    assert [r["result_id"] for r in haiku] == ["r1-double", "r2-double"] and [r["value"] for r in haiku] == pytest.approx([1000, 1250])
    assert [r["ci_low"] for r in haiku] == pytest.approx([900, 1125])
    assert {r["config_id"] for r in bench_reader.benchmark_trend("double", "nova-lite")} == {"nova-lite"}


@pytest.mark.parametrize("bad", ["nope", "x' OR '1'='1", "'; DROP TABLE benchmark_results; --"])
def test_benchmark_filters_refuse_what_the_warehouse_does_not_hold(bench_reader, bad):
    environments = bench_reader.benchmark_environments()
    with pytest.raises(NotFound, match="has no benchmark results; the warehouse holds double, aws"):
        bench_reader.checked_benchmark_filters(environments, bad, None)
    with pytest.raises(BadInput, match="configuration .*: environment double has benchmark results for haiku-3-5, nova-lite, sonnet-3-5-v2"):
        bench_reader.checked_benchmark_filters(environments, "double", bad)
    with pytest.raises(BadInput, match="environment aws has benchmark results for haiku-3-5$"):
        bench_reader.checked_benchmark_filters(environments, "aws", "nova-lite")  # a configuration of another environment
    assert len(bench_reader.benchmark_trend("double", None)) == 15  # still there


def test_benchmarks_page_charts_each_configuration_and_marks_a_p95_worse_by_more_than_10_percent(bench_uri, monkeypatch):
    page = dashboards_client(monkeypatch, bench_uri).get("/benchmarks")
    assert page.status_code == 200 and "Benchmarks — double" in page.text
    charts = page_charts(page.text)
    p95 = charts["bench-p95"]["data"]
    assert [t["name"] for t in p95] == ["haiku-3-5", "nova-lite", "sonnet-3-5-v2"] and [len(t["x"]) for t in p95] == [2, 2, 1]
    assert p95[0]["y"] == [1000, 1250] and p95[0]["error_y"]["array"] == [100, 125] and p95[0]["error_y"]["arrayminus"] == [100, 125]
    throughput_cost = charts["bench-throughput-cost"]["data"]
    assert len(throughput_cost) == 6 and [t["y"] for t in throughput_cost[:2]] == [[30, 24], [0.0016, 0.0016]]
    rows = table_rows(page.text, "bench-latest")
    assert len(rows) == 3 and [r.split("</td>")[0] for r in rows] == ["<td>haiku-3-5", "<td>nova-lite", "<td>sonnet-3-5-v2"]
    assert [r.count('data-worse="1"') for r in rows] == [1, 0, 0]  # haiku +25% marked; nova +8% not
    assert "▲ +25.0% worse" in rows[0] and "+8.0%" in rows[1] and "first result" in rows[2]
    assert "$0.001600" in rows[0] and "-20.0%" in rows[0] and "2.0% <span" in rows[1]  # $/query, req/s change, error rate
    notice = re.search(r'id="bench-worse">(.*?)</p>', page.text)[1]
    assert "haiku-3-5 (+25.0%)" in notice and "nova-lite" not in notice


def test_benchmarks_page_filters_by_environment_and_configuration(bench_uri, monkeypatch):
    client = dashboards_client(monkeypatch, bench_uri)
    aws = client.get("/benchmarks", params={"environment": "aws"})
    assert aws.status_code == 200 and "Benchmarks — aws" in aws.text and '<option selected>aws</option>' in aws.text
    (row,) = table_rows(aws.text, "bench-latest")
    assert "r0-aws" in row and "first result" in row and "data-worse" not in row
    nova = client.get("/benchmarks", params={"config_id": "nova-lite"})
    assert [t["name"] for t in page_charts(nova.text)["bench-p95"]["data"]] == ["nova-lite"]
    assert len(table_rows(nova.text, "bench-latest")) == 1 and 'id="bench-worse"' not in nova.text


def test_benchmarks_page_empty_unknown_environment_and_bad_configuration_are_clear_pages(tmp_path, monkeypatch):
    uri = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    wh = connect(uri)
    wh.ensure_schema()  # a warehouse without a benchmark row
    wh.close()
    client = dashboards_client(monkeypatch, uri)
    empty = client.get("/benchmarks")
    assert empty.status_code == 200 and 'id="empty"' in empty.text and page_charts(empty.text) == {}
    assert "No benchmark results yet: run <code>mangaeval bench</code> or the model_benchmark DAG" in empty.text
    load_all(uri)
    unknown = client.get("/benchmarks", params={"environment": "staging"})
    assert unknown.status_code == 404 and "Traceback" not in unknown.text and "Not found" in unknown.text
    assert "environment &#x27;staging&#x27; has no benchmark results; the warehouse holds double, aws" in unknown.text
    assert '<a href="benchmarks">Latest benchmark results</a>' in unknown.text
    bad = client.get("/benchmarks", params={"environment": "aws", "config_id": "<script>"})
    assert bad.status_code == 400 and "&lt;script&gt;" in bad.text and "<script>'" not in bad.text


@pytest.mark.integration
def test_benchmarks_page_on_a_real_suite_run_loaded_by_the_cli_and_a_slower_copy(tmp_path, monkeypatch):
    """`mangaeval bench` for real (the double at a twentieth of real time) loading its own rows, then the same result
    a week later with every P95 20% higher (and its interval): the page shows the run's own figures and marks both."""
    import copy
    import os
    import subprocess
    import sys
    from datetime import datetime, timedelta

    from mangaeval.bench.warehouse import load

    uri = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    done = subprocess.run([sys.executable, "-m", "mangaeval.cli", "bench", "--configs", "haiku-3-5", "nova-lite", "--requests", "30",
                           "--warmup", "2", "--workers", "4", "--throughput-requests", "20", "--time-scale", "0.05", "--no-progress",
                           "--store-uri", str(tmp_path / "store"), "--out", str(tmp_path / "out"), "--warehouse-uri", uri],
                          capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k not in ("MANGAEVAL_BEDROCK_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME")})
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = (tmp_path / "out").glob("*.json")
    first = json.loads(path.read_text())
    slower = copy.deepcopy(first)
    slower["result_id"] += "-slower"
    slower["created_at"] = (datetime.fromisoformat(first["created_at"]) + timedelta(days=7)).isoformat()
    for section in slower["configs"].values():
        stats = section["latency"]["stats"]
        stats["p95"], stats["p95_ci"] = stats["p95"] * 1.2, [v * 1.2 for v in stats["p95_ci"]]
    load(slower, uri)
    page = dashboards_client(monkeypatch, uri).get("/benchmarks")
    assert page.status_code == 200 and f"Benchmarks — {first['environment']}" in page.text
    p95 = page_charts(page.text)["bench-p95"]["data"]
    assert [t["name"] for t in p95] == ["haiku-3-5", "nova-lite"]
    for trace in p95:
        before = first["configs"][trace["name"]]["latency"]["stats"]["p95"]
        assert trace["y"] == pytest.approx([before, before * 1.2], rel=1e-4)
    rows = table_rows(page.text, "bench-latest")
    assert len(rows) == 2 and all("▲ +20.0% worse" in r and slower["result_id"] in r for r in rows)
    rps = first["configs"]["haiku-3-5"]["throughput"]["rps"]
    assert f"{rps:.2f}" in rows[0] and "+0.0%" in rows[0]  # throughput unchanged in the copy

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
from tests.conftest import postgres_test_uri

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
    for path in ("/evaluation", "/answers", "/routing", "/experiments", "/rollouts", "/static/plotly.min.js", "/case?run_id=a&test_id=b"):
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

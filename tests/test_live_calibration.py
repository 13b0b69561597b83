"""The projection calibrated to live traffic: the SQL against a hand computation on DuckDB and PostgreSQL (live tokens of
answered, in-window, non-warm-up events; the golden reference weighted by the serving configurations' events; the catalog's
prices), the golden-set fallback of sparse intents, the reasons it is unavailable, and both figures with their ratio in
the decisions document, `mangaeval report`, the static report and the Evaluation page; the field-traffic generator."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from mangaeval.dashboards.queries import Reader
from mangaeval.events.schema import REQUEST_COLUMNS
from mangaeval.intents import load_intents
from mangaeval.results import rows_to_frame
from mangaeval.warehouse import connect
from mangaeval.warehouse.decide import decisions_document, run_tables
from mangaeval.warehouse.live_calibration import CalibrationSettings, calibrated_projection, format_calibrated
from mangaeval.warehouse.policy import load_policy
from tests.conftest import postgres_test_uri

RUN = "scheduled__2026-11-30T02:00:00+00:00"
RUN_TIME = datetime(2026, 11, 30, 2)  # a run's projection reads the week of traffic before the run
AS_OF = datetime(2026, 12, 1)
SETTINGS = CalibrationSettings(window_days=7, min_events=100, as_of=AS_OF)
# The MISSION's prices per 1M tokens (in, out), written out here rather than read from the catalog the code reads.
MODELS = {"sonnet-3-5-v2": ("anthropic.claude-3-5-sonnet-20241022-v2:0", 3.00, 15.00),
          "haiku-3-5": ("anthropic.claude-3-5-haiku-20241022-v1:0", 0.80, 4.00),
          "local-model": ("m-not-in-the-catalog", None, None)}
TOKENS = {"sonnet-3-5-v2": (600, 90), "haiku-3-5": (590, 70), "local-model": (500, 60)}  # golden in/out at case 0
QUALITY = {"sonnet-3-5-v2": 0.92, "haiku-3-5": 0.86, "local-model": 0.40}
INTENTS = ("recommendation", "faq", "chitchat")
CASES = 30


def golden_results(run_id: str = RUN) -> pd.DataFrame:
    rows = []
    for intent in INTENTS:
        for config, (model_id, p_in, p_out) in MODELS.items():
            if config == "local-model" and intent != "recommendation":
                continue
            for k in range(CASES + 1):
                ok = k < CASES  # one failed call per configuration: no tokens, no cost, not in any mean
                tin, tout = TOKENS[config][0] + 10 * k, TOKENS[config][1] + k
                cost = (tin * p_in + tout * p_out) / 1e6 if p_in is not None else 0.0004
                q = QUALITY[config] + (0.02 if k % 2 else -0.02)
                rows.append({"run_id": run_id, "config_id": config, "model_id": model_id, "intent": intent, "test_id": f"{intent}-{k:03d}",
                             "language": "en", "dataset_version": "t", "prompt_version": "v1", "response_text": "x" if ok else None,
                             "status": "ok" if ok else "error", "error_code": None if ok else "ModelTimeoutException", "attempts": 1,
                             "cache_hit": False, "wall_ms": 1.0, "input_tokens": tin if ok else None, "output_tokens": tout if ok else None,
                             "cost_usd": cost if ok else None, "latency_ms": 900 + k if ok else None, "quality_score": q if ok else None,
                             "passed": (q >= 0.75) if ok else None})
    return rows_to_frame(rows)


def event_rows(intent: str, config: str, n: int, tokens_in, tokens_out, at: datetime, experiment: str = "exp-1",
               error: bool = False) -> list[dict]:
    return [{"event_time": at + timedelta(seconds=i), "experiment_id": experiment, "session_id": f"{intent}-{config}-{experiment}-{at:%d%H}-{i}",
             "arm": "control", "config_id": config, "intent": intent, "quality_score": None if error else 0.8,
             "latency_ms": 1000.0, "input_tokens": 0 if error else tokens_in(i), "output_tokens": 0 if error else tokens_out(i),
             "cost_usd": 0.0 if error else 0.01, "error_code": "ThrottlingException" if error else None} for i in range(n)]


def live_events(as_of: datetime) -> pd.DataFrame:
    """Traffic around the window [as_of - 7 days, as_of): what counts and what must not."""
    inside = as_of - timedelta(days=2)
    rows = (event_rows("recommendation", "sonnet-3-5-v2", 150, lambda i: 1700 + (i % 5) * 50, lambda i: 400 + (i % 5) * 25, inside)
            + event_rows("recommendation", "haiku-3-5", 50, lambda i: 1800, lambda i: 300, inside)
            + event_rows("recommendation", "nova-pro", 30, lambda i: 2000, lambda i: 500, inside)  # not measured by the run
            + event_rows("recommendation", "sonnet-3-5-v2", 5, None, None, inside, error=True)  # failed calls: not a size
            + event_rows("recommendation", "sonnet-3-5-v2", 20, lambda i: 99999, lambda i: 99999, inside, "roll-1.warmup")  # synthetic
            + event_rows("recommendation", "sonnet-3-5-v2", 40, lambda i: 99999, lambda i: 99999, as_of - timedelta(days=8))  # too old
            + event_rows("recommendation", "sonnet-3-5-v2", 10, lambda i: 99999, lambda i: 99999, as_of)  # the window's end: excluded
            + event_rows("faq", "sonnet-3-5-v2", 60, lambda i: 2200, lambda i: 300, inside))  # under min_events: golden figure
    return pd.DataFrame(rows, columns=REQUEST_COLUMNS).assign(load_id="events/test")


def hand_computation(frame: pd.DataFrame, events: pd.DataFrame, as_of: datetime) -> dict:
    """Per (intent, config): calibration and monthly golden / calibrated cost, computed independently of the SQL."""
    policy, mix = load_policy(), load_intents()
    window = events[(events["event_time"] >= as_of - timedelta(days=7)) & (events["event_time"] < as_of)
                    & events["error_code"].isna() & ~events["experiment_id"].str.endswith(".warmup")]
    ok = frame[frame["status"] == "ok"]
    golden = ok.groupby(["intent", "config_id"]).agg(gin=("input_tokens", "mean"), gout=("output_tokens", "mean"),
                                                     cost=("cost_usd", "mean")).reset_index()
    out = {}
    for row in golden.itertuples():
        billed = policy.messages_per_day * mix[row.intent].traffic_share * policy.days_per_month * (1 - mix[row.intent].cache_hit_rate)
        live = window[window["intent"] == row.intent]
        _, p_in, p_out = MODELS[row.config_id]
        if len(live) == 0 or len(live) < 100 or p_in is None:
            calibration = "no_events" if len(live) == 0 else "too_few_events" if len(live) < 100 else "no_price"
            cost = row.cost
        else:
            calibration = "live"
            served = live.groupby("config_id").size()
            measured = golden[golden["intent"] == row.intent].set_index("config_id")
            weights = {c: n for c, n in served.items() if c in measured.index}
            ref_in = sum(n * measured.loc[c, "gin"] for c, n in weights.items()) / sum(weights.values())
            ref_out = sum(n * measured.loc[c, "gout"] for c, n in weights.items()) / sum(weights.values())
            cost = (row.gin * p_in / 1e6) * live["input_tokens"].mean() / ref_in + (row.gout * p_out / 1e6) * live["output_tokens"].mean() / ref_out
        out[(row.intent, row.config_id)] = {"calibration": calibration, "golden": billed * row.cost, "calibrated": billed * cost}
    return out


@pytest.fixture(params=["duckdb", "postgresql"], scope="module")
def loaded(request):
    wh = connect("duckdb:///:memory:") if request.param == "duckdb" else connect(postgres_test_uri("test_live"))
    wh.ensure_schema()
    frame = golden_results()
    wh.load_run(RUN, run_tables(frame, RUN, load_policy(), None))
    events = live_events(AS_OF)
    wh.replace_keyed("request_events", {"load_id": "events/test"}, events)
    yield wh, frame, events
    if hasattr(wh, "drop_schema"):
        wh.drop_schema()
    wh.close()


@pytest.mark.integration
def test_calibrated_projection_equals_the_hand_computation(loaded):
    wh, frame, events = loaded
    doc = calibrated_projection(wh, RUN, SETTINGS)
    expected = hand_computation(frame, events, AS_OF)
    rows = wh.query("queries/projection_calibrated.sql", {"run_id": RUN, "window_start": AS_OF - timedelta(days=7), "window_end": AS_OF,
                                                          "min_events": 100})
    assert {(r.intent, r.config_id) for r in rows.itertuples()} == set(expected)
    for r in rows.itertuples():
        want = expected[(r.intent, r.config_id)]
        assert r.calibration == want["calibration"], (r.intent, r.config_id)
        assert float(r.golden_monthly_usd) == pytest.approx(want["golden"], rel=1e-6)
        assert float(r.calibrated_monthly_usd) == pytest.approx(want["calibrated"], rel=1e-6), (r.intent, r.config_id)
    # the live figures behind it: 230 answered in-window events on recommendation, from three configurations
    rec = next(r for r in doc["per_intent"] if r["intent"] == "recommendation")
    assert rec["live_events"] == 230 and rec["reference"] == "serving_configurations"
    assert rec["live_input_tokens"] == pytest.approx((150 * 1800 + 50 * 1800 + 30 * 2000) / 230)
    assert rec["live_output_tokens"] == pytest.approx((150 * 450 + 50 * 300 + 30 * 500) / 230)
    assert doc["events_in_window"] == 290 and doc["live_intents"]["faq"]["events"] == 60
    # totals: the all-premium baseline and the recommended routing, golden set and calibrated, and the ratio
    routed = {r["intent"]: r["recommended_config_id"] for r in doc["per_intent"]}
    assert set(routed) == set(INTENTS)
    golden_base = sum(expected[(i, "sonnet-3-5-v2")]["golden"] for i in INTENTS)
    live_base = sum(expected[(i, "sonnet-3-5-v2")]["calibrated"] for i in INTENTS)
    assert doc["available"] and doc["golden"]["baseline_monthly_usd"] == pytest.approx(golden_base, rel=1e-6)
    assert doc["calibrated"]["baseline_monthly_usd"] == pytest.approx(live_base, rel=1e-6)
    assert doc["ratio"]["baseline"] == pytest.approx(live_base / golden_base, rel=1e-6) and doc["ratio"]["baseline"] > 1.5
    live_rec = sum(expected[(i, c)]["calibrated"] for i, c in routed.items())
    assert doc["calibrated"]["recommended_monthly_usd"] == pytest.approx(live_rec, rel=1e-6)
    # sparse and silent intents keep their golden figure and say why
    assert doc["calibrated_intents"] == ["recommendation"]
    assert doc["golden_fallback"] == {"faq": "too few live events", "chitchat": "no live events"}
    faq = next(r for r in doc["per_intent"] if r["intent"] == "faq")
    assert faq["calibrated_baseline_monthly_usd"] == pytest.approx(faq["golden_baseline_monthly_usd"])
    # the configuration outside the catalog keeps its golden figure; the golden totals are the decisions' own
    assert expected[("recommendation", "local-model")]["calibration"] == "no_price"
    decisions = decisions_document(wh, RUN)["projection"]
    assert doc["golden"]["baseline_monthly_usd"] == pytest.approx(decisions["baseline_monthly_usd"], rel=1e-9)
    assert doc["golden"]["recommended_monthly_usd"] == pytest.approx(decisions["recommended_monthly_usd"], rel=1e-9)
    json.dumps(doc)  # JSON-ready: it travels in the decisions document (XCom) and `report --json`


@pytest.mark.integration
def test_a_lower_threshold_calibrates_the_sparse_intent_and_a_later_window_sees_nothing(loaded):
    wh, frame, events = loaded
    doc = calibrated_projection(wh, RUN, replace(SETTINGS, min_events=50))
    assert doc["calibrated_intents"] == ["faq", "recommendation"] and doc["golden_fallback"] == {"chitchat": "no live events"}
    faq = next(r for r in doc["per_intent"] if r["intent"] == "faq")
    assert faq["input_ratio"] == pytest.approx(2200 / (600 + 10 * (CASES - 1) / 2))  # served by sonnet alone: its golden tokens
    later = calibrated_projection(wh, RUN, replace(SETTINGS, as_of=AS_OF + timedelta(days=30)))
    assert not later["available"] and later["calibrated"]["baseline_monthly_usd"] is None
    assert "no answered live request events" in later["reason"] and "field-traffic" in later["reason"]
    assert later["golden"]["baseline_monthly_usd"] == pytest.approx(doc["golden"]["baseline_monthly_usd"])


def test_too_few_events_everywhere_or_no_prices_is_unavailable_with_the_reason():
    wh = connect("duckdb:///:memory:")
    wh.ensure_schema()
    wh.load_run(RUN, run_tables(golden_results(), RUN, load_policy(), None))
    wh.replace_keyed("request_events", {"load_id": "e"}, pd.DataFrame(
        event_rows("faq", "sonnet-3-5-v2", 60, lambda i: 2200, lambda i: 300, AS_OF - timedelta(days=1)), columns=REQUEST_COLUMNS).assign(load_id="e"))
    sparse = calibrated_projection(wh, RUN, SETTINGS)
    assert not sparse["available"] and "100 or more" in sparse["reason"] and "faq 60" in sparse["reason"]
    assert sparse["calibrated"]["recommended_monthly_usd"] is None and sparse["ratio"]["baseline"] is None
    assert "unavailable" in format_calibrated(sparse) and "faq 60" in format_calibrated(sparse)
    wh.load_run(RUN, {**run_tables(golden_results(), RUN, load_policy(), None), "model_prices": []})  # a run loaded before prices
    unpriced = calibrated_projection(wh, RUN, replace(SETTINGS, min_events=10))
    assert not unpriced["available"] and "no prices recorded" in unpriced["reason"]
    wh.close()


def test_an_old_warehouse_without_the_new_tables_says_so_instead_of_failing(tmp_path):
    path = tmp_path / "old.duckdb"
    wh = connect(f"duckdb:///{path}")
    wh.ensure_schema()
    wh.load_run(RUN, run_tables(golden_results(), RUN, load_policy(), None))
    with wh.transaction() as cur:
        cur.execute("DROP VIEW stg_live_requests")
    wh.close()
    from mangaeval.warehouse.duckdb_engine import DuckDBWarehouse

    old = DuckDBWarehouse(str(path), read_only=True)
    doc = calibrated_projection(old, RUN, SETTINGS)
    old.close()
    assert not doc["available"] and "predates the calibrated projection" in doc["reason"]


def test_decisions_document_carries_both_projections_over_the_week_before_the_run():
    wh = connect("duckdb:///:memory:")
    wh.ensure_schema()
    wh.load_run(RUN, run_tables(golden_results(), RUN, load_policy(), None))
    wh.replace_keyed("request_events", {"load_id": "events/test"}, live_events(RUN_TIME))
    projection = decisions_document(wh, RUN)["projection"]
    calibrated = projection["calibrated"]
    assert calibrated["window"] == {"start": "2026-11-23T02:00:00Z", "end": "2026-11-30T02:00:00Z", "days": 7.0, "end_at": "the run's time"}
    assert calibrated["available"] and calibrated["calibrated_intents"] == ["recommendation"] and calibrated["events_in_window"] == 290
    assert calibrated["golden"]["baseline_monthly_usd"] == pytest.approx(projection["baseline_monthly_usd"])
    assert calibrated["calibrated"]["baseline_monthly_usd"] > projection["baseline_monthly_usd"]
    assert decisions_document(wh, RUN)["projection"] == projection  # a rerun decides the same
    json.dumps(projection)
    wh.close()


def test_the_window_ends_where_it_is_told_else_at_the_run_else_at_the_current_hour():
    from mangaeval.warehouse.live_calibration import window_end

    assert window_end(RUN) == (RUN_TIME, "the run's time")
    assert window_end("manual__20261202T141944Z") == (datetime(2026, 12, 2, 14, 19, 44), "the run's time")
    assert window_end(RUN, datetime(2026, 12, 1, 9, tzinfo=timezone(timedelta(hours=9)))) == (AS_OF, "the given time")
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    end, why = window_end("what-if")
    assert why == "the current hour" and end.minute == 0 and timedelta(0) <= before - end <= timedelta(hours=1)


# Shown where people read it -------------------------------------------------------------------------------------------
def _figure(value: float) -> str:
    return f"${value:,.0f}"


def test_static_report_and_evaluation_page_show_both_figures_the_ratio_and_the_source(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from mangaeval.dashboards import report
    from mangaeval.dashboards.app import create_app

    monkeypatch.setattr(report, "plotly_gz_b64", lambda: "")  # the embedded plotly.js is tested in test_dashboards.py: not again
    path = tmp_path / "warehouse.duckdb"
    wh = connect(f"duckdb:///{path}")
    wh.ensure_schema()
    wh.load_run(RUN, run_tables(golden_results(), RUN, load_policy(), None))
    wh.replace_keyed("request_events", {"load_id": "events/test"}, live_events(RUN_TIME))
    doc = calibrated_projection(wh, RUN)
    text = report.build_report(Reader(wh), RUN, None)
    wh.close()
    for html in (text,):
        assert 'id="calibrated-total"' in html and 'id="calibrated-table"' in html and 'data-chart="calibrated"' in html
        assert _figure(doc["golden"]["baseline_monthly_usd"]) in html and _figure(doc["calibrated"]["baseline_monthly_usd"]) in html
        assert f'×{doc["ratio"]["baseline"]:.2f}' in html and f'×{doc["ratio"]["recommended"]:.2f}' in html
        assert "290 answered request events" in html and "golden set: too few live events" in html
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", f"duckdb:///{path}")
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path / "store"))
    page = TestClient(create_app(access=lambda dag_id: (lambda: None))).get("/evaluation", params={"run_id": RUN, "intent": "faq"})
    assert page.status_code == 200
    assert _figure(doc["calibrated"]["recommended_monthly_usd"]) in page.text and f'×{doc["ratio"]["baseline"]:.2f}' in page.text
    assert 'id="calibrated-source"' in page.text and "7 days to the run&#x27;s time" in page.text


def test_evaluation_page_says_why_there_is_no_calibrated_projection(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from mangaeval.dashboards.app import create_app

    path = tmp_path / "warehouse.duckdb"
    wh = connect(f"duckdb:///{path}")
    wh.ensure_schema()
    wh.load_run(RUN, run_tables(golden_results(), RUN, load_policy(), None))
    wh.close()
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", f"duckdb:///{path}")
    page = TestClient(create_app(access=lambda dag_id: (lambda: None))).get("/evaluation")
    assert page.status_code == 200 and 'id="calibrated-unavailable"' in page.text and "no answered live request events" in page.text
    assert 'data-chart="calibrated"' not in page.text


def test_report_command_prints_both_projections_and_field_traffic_feeds_them(tmp_path, monkeypatch, capsys):
    from mangaeval.cli import main
    from tests.ledger_helpers import run_nightly

    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path / "store"))
    monkeypatch.setenv("MANGAEVAL_EVENTS_URI", str(tmp_path / "events"))
    wh = connect()
    wh.ensure_schema()
    wh.load_run(RUN, run_tables(golden_results(), RUN, load_policy(), None))
    wh.close()
    run_nightly(None, RUN, "2026-11-30T02:00:00Z", intents=list(INTENTS), configs={"sonnet-3-5-v2": 0.9}, cases=30)  # a table for `report`
    assert main(["report", "--as-of", "2026-12-01T00:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "monthly projection at live traffic's token sizes" in out and "calibrated projection unavailable" in out
    # half a day of field traffic ending at the window's end, written as hourly files and loaded by the event loader
    assert main(["events", "field-traffic", "--days", "0.5", "--per-day", "6000", "--end", "2026-12-01T00:00:00Z", "--load", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["files"] == 12 and made["loaded"]["quarantined"] == 0
    assert made["loaded"]["loaded"] == sum(v["events"] for v in made["per_intent"].values())
    assert set(made["per_intent"]) == {"recommendation", "faq", "product_question", "order_tracking", "promotion"}
    assert main(["report", "--json", "--as-of", "2026-12-01T00:00:00Z", "--min-events", "50"]) == 0
    calibrated = json.loads(capsys.readouterr().out)["calibrated_projection"]
    assert calibrated["available"] and calibrated["calibrated_intents"] == ["faq", "recommendation"]
    rec = next(r for r in calibrated["per_intent"] if r["intent"] == "recommendation")
    assert rec["live_input_tokens"] == pytest.approx(1800, rel=0.05) and rec["live_output_tokens"] == pytest.approx(450, rel=0.1)
    assert calibrated["ratio"]["baseline"] > 1.5 and calibrated["golden_fallback"] == {"chitchat": "no live events"}
    assert main(["report", "--as-of", "2026-12-01T00:00:00Z", "--min-events", "50"]) == 0
    text = capsys.readouterr().out
    assert f"x{calibrated['ratio']['baseline']:.2f}" in text and _figure(calibrated["calibrated"]["baseline_monthly_usd"]) in text
    assert main(["events", "field-traffic", "--config", "no-such-config"]) == 2
    assert "no-such-config" in capsys.readouterr().err


def test_field_traffic_has_the_field_sizes_and_is_reproducible():
    from mangaeval.events.field_traffic import FIELD_EXPERIMENT, generate, object_key, summary

    end = datetime(2026, 12, 1, 0, 30)
    events = generate(end, 1, 20000, "sonnet-3-5-v2", seed=5)
    assert min(events) == datetime(2026, 11, 30, 0) and max(events) == datetime(2026, 12, 1, 0) and len(events) == 25
    figures = summary(events)
    for intent, (tin, tout) in {"recommendation": (1800, 450), "faq": (2200, 300), "product_question": (1400, 200),
                                "order_tracking": (800, 150), "promotion": (1200, 250)}.items():
        assert figures[intent]["mean_input_tokens"] == pytest.approx(tin, rel=0.03)
        assert figures[intent]["mean_output_tokens"] == pytest.approx(tout, rel=0.05)
    shares = {i: f["events"] / sum(v["events"] for v in figures.values()) for i, f in figures.items()}
    assert shares["recommendation"] == pytest.approx(0.25 / 0.85, abs=0.02)
    frame = pd.concat(events.values())
    assert set(frame["experiment_id"]) == {FIELD_EXPERIMENT} and frame["event_time"].str.endswith("Z").all()
    assert frame["event_time"].min() >= "2026-11-30T00:30" and frame["event_time"].max() < "2026-12-01T00:30"
    assert generate(end, 1, 20000, "sonnet-3-5-v2", seed=5)[datetime(2026, 11, 30, 7)].equals(events[datetime(2026, 11, 30, 7)])
    assert object_key(datetime(2026, 11, 30, 7), 5) == "events/requests/dt=2026-11-30/hour=07/field-traffic-seed5.jsonl"

"""The DAG's steps without a scheduler, on DuckDB and PostgreSQL: window sides aggregated in SQL equal the
ones computed from the events, the warm-up is stored and never judged, every stage decision is stored, a
failed task takes the traffic back; CloudWatch on moto; the live warm-up against the model double."""

from __future__ import annotations

import json
from types import SimpleNamespace
from datetime import datetime, timedelta

import numpy as np
import pytest

from mangaeval.canary import split, steps
from mangaeval.canary.policy import load_policy
from mangaeval.canary.records import WarehouseFeed, warmup_experiment_id
from mangaeval.canary.rollout import MemoryFeed, StageOutcome
from mangaeval.canary.simulator import SCENARIOS, SimulatedTraffic
from mangaeval.errors import MangaEvalError
from mangaeval.objectstore import LocalStore
from mangaeval.warehouse import connect
from tests.conftest import engine_uri

pytestmark = pytest.mark.integration
ORIGIN = "2026-11-24T10:00:00+00:00"


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_uri(request, tmp_path, monkeypatch):
    with engine_uri(request.param, tmp_path, "canary") as uri:
        monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", uri)
        monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path / "store"))
        yield uri


def plan(scenario="a", rollout_id="r-steps", **extra):
    return steps.plan_rollout({"mode": "simulate", "scenario": scenario, "rollout_id": rollout_id, "time_scale": 0,
                               "cloudwatch": False, **extra}, "manual__x", ORIGIN)


def query(uri, sql, params=None):
    wh = connect(uri)
    try:
        with wh.transaction() as cur:
            cur.execute(sql, params or {})
            return cur.fetchall()
    finally:
        wh.close()


def test_sql_sides_equal_the_sides_computed_from_the_events(warehouse_uri):
    policy = load_policy()
    wh = connect(warehouse_uri)
    wh.ensure_schema()
    try:
        start = datetime(2026, 11, 24, 10)
        end = start + timedelta(minutes=30)
        memory, stored = MemoryFeed(SimulatedTraffic(SCENARIOS["c"], 4)), WarehouseFeed(wh, "r-eq", SimulatedTraffic(SCENARIOS["c"], 4))
        for feed in (memory, stored):
            feed.open_slice(policy.stage(2), 0, start, end)
        for direct, aggregated in zip(memory.sides((start, end), (start, end)), stored.sides((start, end), (start, end))):
            assert (aggregated.requests, aggregated.errors, aggregated.quality_n, aggregated.cost_n) == \
                   (direct.requests, direct.errors, direct.quality_n, direct.cost_n)
            assert aggregated.quality_mean == pytest.approx(direct.quality_mean, rel=1e-9)
            assert aggregated.quality_var == pytest.approx(direct.quality_var, rel=1e-6)
            assert aggregated.cost_mean == pytest.approx(direct.cost_mean, rel=1e-9)
            assert np.allclose(np.sort(aggregated.latencies), np.sort(direct.latencies))
        empty = stored.side("treatment", (end, end + timedelta(minutes=5)))
        assert empty.requests == 0 and len(empty.latencies) == 0
    finally:
        wh.close()


def test_a_rollout_through_the_steps_stores_every_decision_and_excludes_the_warm_up(warehouse_uri, tmp_path):
    doc = plan("d", "r-d")
    assert steps.start_rollout(doc)["changed"]
    warm = steps.warm_up(doc)
    assert warm["requests"] == 500 and warm["candidate_served"] == 500 and warm["p50_ms"] > 3000  # the cold start, recorded
    previous = None
    for index in range(1, 5):
        previous = steps.stage(doc, index, warm, previous)
    assert previous["action"] == "complete"
    stored = dict(query(warehouse_uri, "SELECT experiment_id, COUNT(*) FROM request_events GROUP BY experiment_id"))
    assert stored[warmup_experiment_id("r-d")] == 500
    first = query(warehouse_uri, "SELECT canary_value, detail FROM canary_stage_metrics WHERE rollout_id = 'r-d' AND stage = 1 "
                                 "AND metric = 'latency'")[0]
    assert first[0] < 2300 and json.loads(first[1])["canary_n"] < 1200  # judged: the stage's traffic, not the warm-up
    report = steps.report(doc)
    assert report["result"] == "completed" and [s["verdict"] for s in report["stages"]] == ["PROMOTE"] * 4
    assert report["current_split"]["canary_pct"] == 100


def test_a_completed_live_rollout_writes_the_routing_table_and_retires_its_split(warehouse_uri, tmp_path):
    """report() of a live rollout whose last stage promoted: the candidate serves its intents in the routing table
    (a held canary_completion entry with the last stage's figures), then a split with no canary traffic. The
    stages run on simulated traffic here; only the report is told the rollout was live."""
    from mangaeval.routing import ledger
    from tests.ledger_helpers import seed_routes

    store = LocalStore(tmp_path / "store")
    seed_routes(store, {"recommendation": "haiku-3-5", "faq": "haiku-3-5"})
    doc = plan("d", "r-live")
    started = steps.start_rollout(doc)
    assert started["routing_base_version"] == 1
    warm = steps.warm_up(doc)
    previous = None
    for index in range(1, 5):
        previous = steps.stage(doc, index, warm, previous)
    assert previous["action"] == "complete"
    simulated = steps.report(doc)
    assert simulated["routing"]["changed"] is False and ledger.read_head(store).version == 1  # a simulation never writes it
    report = steps.report({**doc, "mode": "live"})
    head = ledger.read_head(store)
    covered = doc["intents"] if doc["intents"] != ["*"] else sorted(head.document["routes"])
    for intent in covered:
        route = head.document["routes"][intent]
        assert route["config_id"] == doc["candidate_config_id"] and route["set_by"]["kind"] == "canary_completion" and route["held"]
        assert route["mean_quality"] is not None and route["latency_p95_ms"] is not None
    assert report["current_split"]["canary_pct"] == 0.0 and split.completed(store, "r-live")["ledger_version"] == head.version
    assert steps.report({**doc, "mode": "live"})["routing"]["routing"]["changed"] is False  # a retried report writes nothing twice


def test_a_retried_stage_gives_the_same_decision(warehouse_uri):
    doc = plan("a", "r-retry")
    steps.start_rollout(doc)
    warm = steps.warm_up(doc)
    once = steps.stage(doc, 1, warm, None)
    again = steps.stage(doc, 1, warm, None)  # a retry: same split version, same events (reloaded by key), same verdict
    assert {k: v for k, v in once.items() if k != "decided_at"} == {k: v for k, v in again.items() if k != "decided_at"}
    assert query(warehouse_uri, "SELECT COUNT(*) FROM canary_decisions WHERE rollout_id = 'r-retry'")[0][0] == 1


def test_rollback_stops_later_stages(warehouse_uri):
    doc = plan("b", "r-b")
    steps.start_rollout(doc)
    warm = steps.warm_up(doc)
    first = steps.stage(doc, 1, warm, None)
    assert first["verdict"] == "ROLLBACK" and steps.stage(doc, 2, warm, first) is None
    assert steps.report(doc)["result"] == "rolled back"


def test_a_failed_task_takes_the_traffic_back_and_fails_the_report(warehouse_uri, tmp_path):
    doc = plan("a", "r-fail")
    steps.start_rollout(doc)
    warm = steps.warm_up(doc)
    first = steps.stage(doc, 1, warm, None)
    store = LocalStore(tmp_path / "store")
    split.advance(store, "r-fail", 2, 25, doc["candidate_config_id"], doc["intents"])  # stage 2 published, then its task died
    result = steps.rollback_on_failure(doc)
    assert result["stage"] == 2 and result["changed"] and split.current(store)[0]["version"] == 0
    rows = query(warehouse_uri, "SELECT stage, verdict, action FROM canary_decisions WHERE rollout_id = 'r-fail' ORDER BY stage")
    assert [tuple(r) for r in rows] == [(1, "PROMOTE", "promote"), (2, "ERROR", "rollback")]
    with pytest.raises(MangaEvalError, match="a task failed"):
        steps.report(doc)
    with pytest.raises(MangaEvalError, match="was rolled back"):
        steps.stage(doc, 2, warm, first)  # a late retry of stage 2 cannot put traffic back


def test_the_rollback_happens_even_when_the_warehouse_is_down(tmp_path, monkeypatch):
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path / "store"))
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", "postgresql://postgres@127.0.0.1:1/none?schema=x")
    doc = plan("a", "r-down")
    steps.start_rollout(doc)
    store = LocalStore(tmp_path / "store")
    split.advance(store, "r-down", 1, 5, doc["candidate_config_id"], doc["intents"])
    assert steps.rollback_on_failure(doc)["changed"] and split.current(store)[0]["version"] == 0


def test_plan_lists_every_problem():
    with pytest.raises(MangaEvalError) as info:
        steps.plan_rollout({"mode": "canary", "candidate": "gpt-5", "intents": ["weather"], "time_scale": -1,
                            "warmup_requests": -5, "rollout_id": "a/b"}, "manual__x", ORIGIN)
    text = str(info.value)
    for expected in ("'mode' must be one of", "unknown configuration id 'gpt-5'", "unknown intent(s) ['weather']",
                     "'time_scale' must be a number", "'warmup_requests' must be a whole number", "rollout id 'a/b'"):
        assert expected in text
    live = steps.plan_rollout({"candidate": "sonnet-4-5", "intents": ["faq"]}, "manual__2026-11-24T10:00:00+00:00", ORIGIN)
    assert (live["mode"], live["candidate_config_id"], live["intents"], live["warmup_requests"]) == ("live", "sonnet-4-5", ["faq"], 500)
    assert live["rollout_id"] == "manual__2026-11-24T10:00:00+00:00"
    assert steps.plan_rollout({"mode": "simulate", "scenario": "c"}, "r", ORIGIN)["warmup_requests"] == 0


def test_cloudwatch_metrics_per_stage(monkeypatch):
    from moto import mock_aws

    from mangaeval.canary import cloudwatch
    from mangaeval.canary.demo import run_scenario

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("MANGAEVAL_CLOUDWATCH_ENDPOINT_URL", raising=False)
    outcome: StageOutcome = run_scenario("c", load_policy(), 1)["stages"][0]
    with mock_aws():
        cw = cloudwatch.client()
        count = cloudwatch.publish("r-cw", outcome, "MangaAssist/Canary", cw)
        listed = cw.list_metrics(Namespace="MangaAssist/Canary")["Metrics"]
        assert len(listed) == count
        names = {m["MetricName"] for m in listed}
        assert {"QualityMean", "LatencyP95", "LatencyP95Ratio", "ErrorRate", "CostPerRequest", "Requests", "Verdict", "RolledBack"} <= names
        dims = [{"Name": "RolloutId", "Value": "r-cw"}, {"Name": "Stage", "Value": "1"}, {"Name": "Side", "Value": "canary"}]
        stats = cw.get_metric_statistics(Namespace="MangaAssist/Canary", MetricName="LatencyP95", Dimensions=dims,
                                         StartTime=datetime.utcnow() - timedelta(hours=1), EndTime=datetime.utcnow() + timedelta(hours=1),
                                         Period=60, Statistics=["Maximum"])["Datapoints"]
        assert stats[0]["Maximum"] == pytest.approx(outcome.judgement["metrics"]["latency"]["canary_value"]) and stats[0]["Unit"] == "Milliseconds"
        verdict = cw.get_metric_statistics(Namespace="MangaAssist/Canary", MetricName="Verdict", Dimensions=dims[:2],
                                           StartTime=datetime.utcnow() - timedelta(hours=1), EndTime=datetime.utcnow() + timedelta(hours=1),
                                           Period=60, Statistics=["Minimum"])["Datapoints"]
        assert verdict[0]["Minimum"] == -1.0  # ROLLBACK


def test_a_cloudwatch_outage_does_not_stop_the_rollout(caplog):
    from mangaeval.canary.cloudwatch import cloudwatch_sink
    from mangaeval.canary.demo import run_scenario

    class Down:
        def put_metric_data(self, **kwargs):
            raise ConnectionError("no route to host")

    outcome = run_scenario("a", load_policy(), 1)["stages"][0]
    cloudwatch_sink("MangaAssist/Canary", Down())(SimpleNamespace(rollout_id="r"), outcome)
    assert "CloudWatch publication failed for stage 1 (ConnectionError" in caplog.text


def test_live_warm_up_against_the_double_records_the_cold_start():
    from mangaeval.canary.warmup import live_warm_up, summary
    from mangaeval.models import load_configurations
    from tests.conftest import running_double

    config = load_configurations()["nova-lite"]  # Bedrock reports latencyMs: the first 20 calls pay a 2 s cold start
    with running_double(cold_start_calls=20, cold_start_penalty_ms=2000, throttle_rate=0, timeout_rate=0, unavailable_rate=0,
                        model_error_rate=0) as double:
        events = live_warm_up(config, ["faq"], 40, "r-live.warmup", datetime(2026, 11, 24, 10), endpoint_url=double.url, concurrency=1)
    assert len(events) == 40 and events["quality_score"].isna().all() and (events["arm"] == "treatment").all()
    ok = events[events["error_code"].isna()]["latency_ms"].to_numpy()
    assert ok[:20].min() > 2000 > np.median(ok[20:])
    assert summary(events)["requests"] == 40


def test_a_failing_warm_up_stops_the_rollout_with_version_0_current(warehouse_uri, tmp_path):
    from mangaeval.canary.warmup import WarmUpFailed

    doc = plan("e", "r-e")  # every call refused: ValidationException (temperature and top_p both set)
    steps.start_rollout(doc)
    with pytest.raises(WarmUpFailed, match=r"500 of 500 calls failed \(no call succeeded\); most common error ValidationException"):
        steps.warm_up(doc)
    store = LocalStore(tmp_path / "store")
    assert split.current(store)[0]["version"] == 0 and store.list("canary/r-e/splits/") == ["canary/r-e/splits/v0000.json"]
    stored = query(warehouse_uri, "SELECT error_code, COUNT(*) FROM request_events WHERE experiment_id = 'r-e.warmup' GROUP BY error_code")
    assert [tuple(r) for r in stored] == [("ValidationException", 500)]  # kept: they say why it stopped
    taken_back = steps.rollback_on_failure(doc)  # what the DAG runs when warm_up fails
    assert taken_back["stage"] == 0 and split.current(store)[0]["version"] == 0
    with pytest.raises(MangaEvalError, match="a task failed"):
        steps.report(doc)


def test_the_plan_says_how_long_each_stage_will_take(caplog):
    caplog.set_level("INFO", logger="mangaeval.canary.steps")
    doc = steps.plan_rollout({"candidate": "sonnet-4-5", "intents": ["return_request"]}, "manual__x", ORIGIN)
    schedule = doc["schedule"]
    assert schedule["intents"] == ["return_request"] and schedule["feasible"]
    assert [s["stage"] for s in schedule["stages"]] == [1, 2, 3, 4] and schedule["stages"][0]["expected_minutes"] == 840
    assert "canary plan for return_request: 13.9 requests/min" in caplog.text and "full rollout: 22.0 h of traffic" in caplog.text
    assert json.loads(json.dumps(doc, allow_nan=False))["schedule"] == schedule  # XCom-ready
    simulated = plan("a", "r-plan")
    assert simulated["intents"] == ["recommendation"] and simulated["schedule"]["total_minutes"] == 210

"""ab_analysis end to end with dag.test(): hourly event files in the object store (a local folder), loaded
with quarantine, analysed, stored, a proposal published and applied only when a person asks."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from mangaeval.ab.simulator import ArmTruth, simulate
from tests.alert_receivers import WebhookReceiver
from tests.conftest import airflow_test_env, assert_manual_run_without_logical_date, run_dag_test

pytestmark = pytest.mark.integration
EXPERIMENT_ID = "sonnet-4-5-vs-3-5-v2-recommendation"  # registered in include/config/experiments.yaml (share 0.10)


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    return airflow_test_env(tmp_path_factory.mktemp("airflow_home_ab"))


WHEN = "2026-11-26T00:05:00+00:00"


def run_ab_dag(env: dict, data_dir: Path, conf: dict, when: str = WHEN, no_logical_date: bool = False, **extra: str) -> dict:
    return run_dag_test(env, "ab_analysis", when, conf, data_dir, no_logical_date=no_logical_date, **extra)


def _write_hourly_events(data: Path) -> None:
    sim = simulate(EXPERIMENT_ID, 24000, treatment_share=0.10, seed=21, start=datetime(2026, 11, 20), duration_s=5 * 86400,
                   control=ArmTruth(config_id="sonnet-3-5-v2"),
                   treatment=ArmTruth(config_id="sonnet-4-5").with_effects(quality=0.04))
    for kind, frame, column in (("requests", sim.request_events(), "event_time"), ("sessions", sim.session_events(), "started_at")):
        hours = frame[column].str.slice(0, 13)
        for hour, part in frame.groupby(hours):
            folder = data / "events" / kind / f"dt={hour[:10]}" / f"hour={hour[11:13]}"
            folder.mkdir(parents=True, exist_ok=True)
            part.to_json(folder / "part-0.jsonl", orient="records", lines=True)
    bad = data / "events" / "requests" / "dt=2026-11-21" / "hour=03" / "part-bad.jsonl"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text('{"experiment_id": "x"}\nnot json\n')


def _publish_routing(data: Path) -> None:
    from mangaeval.objectstore import LocalStore
    from tests.ledger_helpers import seed_routes

    seed_routes(LocalStore(data), {i: "sonnet-3-5-v2" for i in ("recommendation", "faq")})


@pytest.fixture
def webhook():
    with WebhookReceiver() as receiver:
        yield receiver


def test_ab_analysis_dag_loads_analyses_stores_and_proposes_then_applies_on_request(airflow_env, tmp_path, webhook):
    data = tmp_path / "data"
    _write_hourly_events(data)
    _publish_routing(data)
    conf = {"reload_all": True, "as_of": "2026-11-26T00:00:00Z"}
    alerting = {"AIRFLOW_CONN_ALERTS_SLACK": webhook.connection(), "MANGAEVAL_ALERT_SLACK_CONN_ID": "alerts_slack"}  # analyze's callback
    result = run_ab_dag(airflow_env, data, conf, **alerting)
    assert result["state"] == "success", result["log"][-4000:]
    assert "2 malformed row(s) quarantined" in result["log"]
    experiments = json.loads((data / "experiments" / "current.json").read_text())
    assert experiments["experiments"][0]["id"] == EXPERIMENT_ID and experiments["experiments"][0]["status"] == "running"
    proposals = sorted((data / "ab" / "proposals" / EXPERIMENT_ID).glob("*.json"))
    assert len(proposals) == 1 and json.loads(proposals[0].read_text())["decision"] == "PROMOTE_TREATMENT"
    routing = json.loads((data / "routing" / "current.json").read_text())
    assert routing["routes"]["recommendation"]["config_id"] == "sonnet-3-5-v2"  # proposed, not applied

    from mangaeval.warehouse import connect

    wh = connect(f"duckdb:///{data / 'warehouse.duckdb'}")
    try:
        with wh.transaction() as cur:
            cur.execute("SELECT decision, control_sessions > treatment_sessions FROM ab_decisions")
            assert cur.fetchall() == [("PROMOTE_TREATMENT", True)]
            cur.execute("SELECT COUNT(*) FROM event_quarantine")
            assert cur.fetchone()[0] == 2
    finally:
        wh.close()

    # Applying is a person's trigger: Airflow 3 gives it no logical date (analyze used to index the data interval)
    applied = run_ab_dag(airflow_env, data, {**conf, "apply_proposals": True}, no_logical_date=True, **alerting)
    proposed, promoted = [post["body"]["text"] for post in webhook.posts]
    assert proposed.endswith(f"A/B {EXPERIMENT_ID}: promoting the treatment is proposed")
    assert promoted.endswith(f"A/B {EXPERIMENT_ID}: treatment promoted, routing changed")
    assert applied["state"] == "success", applied["log"][-4000:]
    assert_manual_run_without_logical_date(applied, WHEN, ["analyze"])
    routing = json.loads((data / "routing" / "current.json").read_text())
    assert routing["routes"]["recommendation"]["config_id"] == "sonnet-4-5"
    assert routing["routes"]["faq"]["config_id"] == "sonnet-3-5-v2"
    assert EXPERIMENT_ID in routing["routes"]["recommendation"]["reason"]
    assert routing["routes"]["recommendation"]["set_by"]["kind"] == "ab_promotion" and routing["routes"]["recommendation"]["held"]
    experiments = json.loads((data / "experiments" / "current.json").read_text())
    assert experiments["experiments"][0]["status"] == "stopped"  # promoted: the experiment is over


def test_each_run_loads_the_hour_ending_at_its_time(airflow_env, tmp_path):
    """A scheduled run (Airflow 3's cron tick: a zero-length data interval at the tick) and a manual run (no
    logical date, no data interval) both load the hourly partitions overlapping the hour before their time."""
    data = tmp_path / "data"
    _write_hourly_events(data)
    manual = run_ab_dag(airflow_env, data, {}, when="2026-11-21T04:05:00+00:00", no_logical_date=True)
    assert manual["state"] == "success", manual["log"][-4000:]
    assert_manual_run_without_logical_date(manual, "2026-11-21T04:05:00+00:00", ["load_events", "analyze"])
    # hours 03 (requests, sessions, and the malformed file) and 04 (requests, sessions)
    assert "from 5 file(s); 2 quarantined" in manual["log"] and "2 malformed row(s) quarantined" in manual["log"]
    scheduled = run_ab_dag(airflow_env, data, {}, when="2026-11-22T10:05:00+00:00")
    assert scheduled["state"] == "success", scheduled["log"][-4000:]
    seen = scheduled["contexts"]["load_events"]
    assert seen["data_interval_start"] == seen["data_interval_end"] == seen["logical_date"]  # the tick, a point
    assert "from 4 file(s); 0 quarantined" in scheduled["log"]  # hours 09 and 10


def test_bad_parameters_fail_the_first_task(airflow_env, tmp_path):
    result = run_ab_dag(airflow_env, tmp_path / "data", {"experiments": ["no-such-experiment"]})
    assert result["state"] == "failed" and result["tasks"]["plan"] == "failed"
    assert "not in include/config/experiments.yaml" in result["log"]

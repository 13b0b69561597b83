"""A canary window is judged only when its events are complete: the event loader records how far request events
are in (event_watermarks), a live stage waits for that watermark to pass its window's end, and a loader that is
too late ends in a HOLD that says so (then, at the stage's maximum, a rollback). On DuckDB and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from mangaeval.ab import steps as ab_steps
from mangaeval.canary import rollout as rollout_module
from mangaeval.canary import split
from mangaeval.canary.policy import Stage, load_policy
from mangaeval.canary.records import WarehouseFeed, simulator_source
from mangaeval.canary.rollout import Clock, RolloutPlan, run_stage
from mangaeval.canary.simulator import BASELINE, SCENARIOS, SimulatedTraffic, draw
from mangaeval.events import watermark
from mangaeval.objectstore import LocalStore
from mangaeval.warehouse import connect
from tests.canary_helpers import like_baseline, write_events
from tests.conftest import engine_uri

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 24, 10, 0)  # the stage's window: 10:00-10:30
POLICY = load_policy()


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_uri(request, tmp_path, monkeypatch):
    with engine_uri(request.param, tmp_path, "canary_wm") as uri:
        monkeypatch.setenv("MANGAEVAL_WAREHOUSE_URI", uri)
        monkeypatch.setenv("MANGAEVAL_EVENTS_URI", str(tmp_path / "events"))
        yield uri


@pytest.fixture
def warehouse(warehouse_uri):
    wh = connect(warehouse_uri)
    wh.ensure_schema()
    yield wh
    wh.close()


class FakeWallClock(Clock):
    """A live clock (wall time, sleeping) on fake time: sleeping moves it on, and whatever is due by then happens
    (the bot writing a late file, the hourly loader running)."""

    def __init__(self, start: datetime, due: list[tuple[datetime, callable]]):
        super().__init__(None, 1.0, self._sleep)
        self.t, self.due = start, sorted(due, key=lambda d: d[0])

    def now(self) -> datetime:
        return self.t

    def _sleep(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)
        while self.due and self.due[0][0] <= self.t:
            self.due.pop(0)[1]()


def bot_file(tmp_path, name: str, frames: list[pd.DataFrame], hour: datetime) -> None:
    """The bot writes a request-event file into the hour's partition of the events store."""
    local = write_events(tmp_path / name, frames)
    LocalStore(tmp_path / "events").put(f"events/requests/dt={hour:%Y-%m-%d}/hour={hour:%H}/{name}", local.read_bytes())


def window_events(rollout_id: str, start: datetime, minutes: float, seed: int) -> pd.DataFrame:
    """2,000 canary and 20,000 baseline requests over [start, start + minutes): plenty for the judge's need."""
    rng = np.random.default_rng(seed)
    baseline = draw(BASELINE, 20000, rng, start, minutes * 60, "control").to_events(rollout_id, f"b{seed}")
    canary = draw(like_baseline(), 2000, rng, start, minutes * 60, "treatment").to_events(rollout_id, f"c{seed}")
    return pd.concat([baseline, canary], ignore_index=True)


def live_plan(rollout_id: str, policy=POLICY) -> RolloutPlan:
    return RolloutPlan(rollout_id, "candidate", ["recommendation"], policy, T0, mode="live", time_scale=1.0)


def test_the_loader_records_how_far_request_events_are_complete(warehouse_uri, warehouse, tmp_path):
    assert watermark.complete_through(warehouse, watermark.REQUESTS_SOURCE) is None
    bot_file(tmp_path, "a.jsonl", [window_events("r-wm", T0, 30, 1)], T0)
    result = ab_steps.load_events(T0, T0 + timedelta(hours=1))
    assert result["loaded"] == 22000 and result["complete_through"] == "2026-11-24T11:00:00"
    assert watermark.complete_through(warehouse, watermark.REQUESTS_SOURCE) == datetime(2026, 11, 24, 11)
    # The next hour, with tz-aware interval bounds as Airflow passes them:
    nxt = pd.Timestamp("2026-11-24T11:00:00Z").to_pydatetime()
    assert ab_steps.load_events(nxt, nxt + timedelta(hours=1))["complete_through"] == "2026-11-24T12:00:00"
    # A rerun of an older hour never moves the watermark back:
    assert ab_steps.load_events(T0, T0 + timedelta(hours=1))["complete_through"] == "2026-11-24T12:00:00"
    # A skipped hourly run leaves a gap: loading 14:00-15:00 does not complete 12:00-14:00, which was never loaded.
    late = datetime(2026, 11, 24, 14)
    assert ab_steps.load_events(late, late + timedelta(hours=1))["complete_through"] == "2026-11-24T12:00:00"
    # Reloading every file completes the hours before the current one.
    assert ab_steps.load_events(None, None)["complete_through"] == watermark.naive_utc(pd.Timestamp.now(tz="UTC")) \
        .replace(minute=0, second=0, microsecond=0).isoformat()


def test_a_failed_load_does_not_move_the_watermark(warehouse_uri, warehouse, tmp_path, monkeypatch):
    ab_steps.load_events(T0 - timedelta(hours=1), T0)
    bot_file(tmp_path, "a.jsonl", [window_events("r-wm", T0, 30, 1)], T0)

    def broken(*args, **kwargs):
        raise ConnectionError("warehouse went away")

    monkeypatch.setattr("mangaeval.ab.loading.load_event_file", broken)
    with pytest.raises(ConnectionError):
        ab_steps.load_events(T0, T0 + timedelta(hours=1))
    assert watermark.complete_through(warehouse, watermark.REQUESTS_SOURCE) == T0


def test_a_live_window_is_judged_only_once_the_loaders_watermark_passes_its_end(warehouse_uri, warehouse, tmp_path, monkeypatch):
    store = LocalStore(tmp_path / "routing")
    split.start(store, "r-live", "candidate", ["recommendation"])
    ab_steps.load_events(T0 - timedelta(hours=1), T0)  # the 10:05 run loaded 09:00-10:00: complete through 10:00
    events = window_events("r-live", T0, 30, 2)
    early, late = events[events["event_time"] < T0 + timedelta(minutes=10)], events[events["event_time"] >= T0 + timedelta(minutes=10)]
    bot_file(tmp_path, "part-0.jsonl", [early], T0)
    loader_run = datetime(2026, 11, 24, 11, 5)
    clock = FakeWallClock(T0, [
        (datetime(2026, 11, 24, 10, 45), lambda: bot_file(tmp_path, "part-1.jsonl", [late], T0)),  # the rest arrives late
        (loader_run, lambda: ab_steps.load_events(T0, T0 + timedelta(hours=1)))])                   # the hourly loader
    judged_at = []
    real_judge = rollout_module.judge

    def watching(*args, **kwargs):
        judged_at.append(clock.now())
        return real_judge(*args, **kwargs)

    monkeypatch.setattr(rollout_module, "judge", watching)
    outcome = run_stage(live_plan("r-live"), 1, store, WarehouseFeed(warehouse, "r-live"), clock)
    assert len(judged_at) == 1 and judged_at[0] >= loader_run  # not judged at 10:30 on what had arrived by then
    assert outcome.verdict == "PROMOTE" and len(outcome.looks) == 1
    assert outcome.judgement["samples"]["canary_requests"] == 2000 and outcome.judgement["samples"]["baseline_requests"] == 20000
    assert (outcome.window_start, outcome.window_end) == (T0, T0 + timedelta(minutes=30))


def test_a_loader_that_never_catches_up_holds_then_rolls_back_with_the_reason(warehouse_uri, warehouse, tmp_path):
    store = LocalStore(tmp_path / "routing")
    split.start(store, "r-stuck", "candidate", ["recommendation"])
    ab_steps.load_events(T0 - timedelta(hours=1), T0)
    bot_file(tmp_path, "part-0.jsonl", [window_events("r-stuck", T0, 30, 3)], T0)  # written, never loaded
    policy = replace(POLICY, stages=(Stage(1, 5, 30, 60),) + POLICY.stages[1:])
    clock = FakeWallClock(T0, [])
    outcome = run_stage(live_plan("r-stuck", policy), 1, store, WarehouseFeed(warehouse, "r-stuck"), clock)
    assert [look["verdict"] for look in outcome.looks] == ["HOLD", "HOLD"] and outcome.action == "rollback"
    assert outcome.reasons[0].startswith("still HOLD after 60 min (1 extension(s)), the stage's maximum of 60 min")
    assert "events incomplete: the window ends at 2026-11-24 11:00:00 but the watermark is at 2026-11-24 10:00:00" in outcome.reasons[1]
    assert "waited 90 min for the event loader" in outcome.reasons[1]
    assert split.current(store)[0]["version"] == 0


def test_the_simulator_feed_sets_its_own_watermark(warehouse_uri, warehouse):
    feed = WarehouseFeed(warehouse, "r-sim", SimulatedTraffic(SCENARIOS["a"], 1))
    assert feed.complete_through() is None and feed.source == simulator_source("r-sim")
    feed.open_slice(POLICY.stage(1), 0, T0, T0 + timedelta(minutes=30))
    assert feed.complete_through() == T0 + timedelta(minutes=30)
    assert watermark.complete_through(warehouse, watermark.REQUESTS_SOURCE) is None  # never the live loader's

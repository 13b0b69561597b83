"""The watcher of the bot's event files (ab_analysis's asset): it fires when files land in the recent hourly
partitions, names them, stays quiet when nothing changed, remembers what it announced across a restart (the
asset state store), on a local folder and on S3 (moto); an asset-triggered run loads back to the partitions
announced."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import boto3
import pytest

from mangaeval.events import watch
from mangaeval.objectstore import LocalStore

NOW = datetime.now(timezone.utc)
HOUR = watch.partition_name(NOW.replace(tzinfo=None))
BEFORE = watch.partition_name((NOW - timedelta(hours=1)).replace(tzinfo=None))


def put(store, key: str) -> None:
    store.put(key, b'{"experiment_id": "x"}\n')


class StateStore:
    """The asset state store's async accessor as the triggerer injects it (aget/aset), kept in a dict."""

    def __init__(self):
        self.values = {}

    async def aget(self, key, default=None):
        return self.values.get(key, default)

    async def aset(self, key, value):
        self.values[key] = value


class Running:
    """A trigger's run() as the triggerer runs it (a task of the event loop), its events in a queue."""

    def __init__(self, trigger):
        self.events: asyncio.Queue = asyncio.Queue()
        self.task = asyncio.create_task(self._pump(trigger))

    async def _pump(self, trigger):
        async for event in trigger.run():
            await self.events.put(event.payload)

    async def next(self, timeout: float):
        try:
            return await asyncio.wait_for(self.events.get(), timeout)
        except asyncio.TimeoutError:
            return None

    async def stop(self):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def test_partitions_fingerprints_and_what_changed(tmp_path):
    assert watch.recent_partitions(datetime(2026, 11, 24, 1, 30), 3) == ["dt=2026-11-23/hour=23", "dt=2026-11-24/hour=00",
                                                                         "dt=2026-11-24/hour=01"]
    store = LocalStore(tmp_path)
    put(store, f"events/requests/{HOUR}/a.jsonl")
    put(store, f"events/requests/{HOUR}/notes.txt")  # not an event file
    first = watch.fingerprints(store, [BEFORE, HOUR])
    assert list(first) == [HOUR] and first[HOUR].endswith(":1")  # a partition without files has no fingerprint
    put(store, f"events/sessions/{HOUR}/b.parquet")
    put(store, f"events/requests/{BEFORE}/late.jsonl")
    second = watch.fingerprints(store, [BEFORE, HOUR])
    assert watch.changed(first, second) == [BEFORE, HOUR] and watch.changed(second, second) == []
    assert watch.partition_hour("dt=2026-11-24/hour=10") == datetime(2026, 11, 24, 10)


def run_watch(store_uri: str, write, tmp_state: StateStore, aws_conn_id=None):
    """The trigger's run() as the triggerer runs it: events as files land; a second trigger (a restarted triggerer)
    with the same asset state store."""
    async def scenario():
        trigger = watch.NewEventFilesTrigger(store_uri, poll_seconds=0.05, aws_conn_id=aws_conn_id)
        trigger.asset_state_store = tmp_state
        running = Running(trigger)
        seen = [await running.next(5)]
        seen.append(await running.next(0.5))  # nothing new: quiet
        write(f"events/requests/{BEFORE}/late.jsonl")
        write(f"events/sessions/{HOUR}/s.jsonl")
        # A look lists the partitions one after another, so files landing during a look may be announced over two
        # events (the run unions them: announced_partitions); both partitions must be announced within the time.
        late = await running.next(5)
        while late is not None and set(late["partitions"]) != {BEFORE, HOUR}:
            more = await running.next(5)
            if more is None:
                break
            late = {**more, "partitions": sorted(set(late["partitions"]) | set(more["partitions"]))}
        seen.append(late)
        await running.stop()
        restarted = watch.NewEventFilesTrigger(store_uri, poll_seconds=0.05, aws_conn_id=aws_conn_id)
        restarted.asset_state_store = tmp_state
        running = Running(restarted)
        seen.append(await running.next(0.5))  # announced before the restart: not again
        await running.stop()
        return seen

    return asyncio.run(scenario())


def test_the_watcher_fires_when_files_land_and_not_again_after_a_restart(tmp_path):
    store = LocalStore(tmp_path / "events-store")
    put(store, f"events/requests/{HOUR}/part-0.jsonl")
    state = StateStore()
    first, quiet, late, after_restart = run_watch(str(tmp_path / "events-store"), lambda key: put(store, key), state)
    assert first["partitions"] == [HOUR] and quiet is None and after_restart is None
    assert late["partitions"] == [BEFORE, HOUR]  # a late file in the hour before is announced too
    assert set(state.values[watch.STATE_KEY]) == {BEFORE, HOUR}


def test_the_watcher_on_s3(tmp_path, s3_server, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_ENDPOINT_URL_S3": s3_server}.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="watched")
    s3.put_object(Bucket="watched", Key=f"bot/events/requests/{HOUR}/part-0.jsonl", Body=b"{}\n")

    def write(key):
        s3.put_object(Bucket="watched", Key=f"bot/{key}", Body=b"{}\n")

    first, quiet, late, after_restart = run_watch("s3://watched/bot", write, StateStore())
    assert first["partitions"] == [HOUR] and quiet is None and late["partitions"] == [BEFORE, HOUR] and after_restart is None


def test_a_store_out_of_reach_does_not_end_the_watch(tmp_path):
    store = LocalStore(tmp_path)
    put(store, f"events/requests/{HOUR}/part-0.jsonl")
    trigger = watch.NewEventFilesTrigger(str(tmp_path), poll_seconds=0.05)
    looks, real_look = [], trigger._look

    def flaky(now):
        looks.append(now)
        if len(looks) <= 2:
            raise ConnectionError("no route to host")  # logged; looked at again next poll
        return real_look(now)

    trigger._look = flaky

    async def scenario():
        running = Running(trigger)
        event = await running.next(5)
        await running.stop()
        return event

    assert asyncio.run(scenario())["partitions"] == [HOUR] and len(looks) == 3


def test_the_asset_and_its_trigger_serialise(tmp_path, monkeypatch):
    monkeypatch.setenv("MANGAEVAL_EVENTS_POLL_S", "30")
    asset = watch.event_files_asset("s3://bucket/prefix")
    assert asset.name == watch.ASSET_NAME and asset.uri == "s3://bucket/prefix/events"
    classpath, kwargs = asset.watchers[0].trigger.serialize()
    assert classpath == "mangaeval.events.watch.NewEventFilesTrigger" and kwargs["poll_seconds"] == 30.0
    assert watch.NewEventFilesTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert watch.event_files_asset(str(tmp_path)).uri == f"file://{tmp_path}/events"


def test_an_asset_triggered_run_loads_back_to_the_partitions_announced():
    window = (datetime(2026, 11, 24, 9, 17, tzinfo=timezone.utc), datetime(2026, 11, 24, 10, 17, tzinfo=timezone.utc))
    events = [SimpleNamespace(extra={"from_trigger": True, "payload": {"partitions": ["dt=2026-11-24/hour=07", "dt=2026-11-24/hour=10"]}}),
              SimpleNamespace(extra={"from_trigger": True, "payload": {"partitions": ["dt=2026-11-24/hour=09"]}})]
    context = {"triggering_asset_events": {"asset": events}}
    assert watch.announced_partitions(context) == ["dt=2026-11-24/hour=07", "dt=2026-11-24/hour=09", "dt=2026-11-24/hour=10"]
    assert watch.load_window(context, window) == (datetime(2026, 11, 24, 7, tzinfo=timezone.utc), window[1])
    assert watch.load_window({}, window) == window  # a scheduled or manual run: its own window

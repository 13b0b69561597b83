"""New event files as an Airflow Asset: `ab_analysis` runs when the bot's event files land, not on a blind cron.

The bot writes request and session events to the object store (MANGAEVAL_EVENTS_URI: s3://bucket/prefix in a
deployment, a local folder by default) under `events/<kind>/dt=YYYY-MM-DD/hour=HH/<file>`. Nothing in our DAGs
writes them, so no task can announce them: the asset `mangaassist_event_files` is watched instead (Airflow 3's
event-driven scheduling). `NewEventFilesTrigger` runs in the triggerer: every `poll_seconds` it lists the
partitions of the last few hours and fires when their files changed since it last looked, naming the partitions
that did (the asset event's extra: {"payload": {"partitions": [...]}}). What it saw is kept in the asset's state
store (Airflow 3.3): a restarted triggerer does not announce the same files again.

Why not the Amazon provider's deferrable S3KeySensor / S3KeysUnchangedSensor, or an SQS watcher on the bucket's
notifications: their triggers need aiobotocore, whose releases pin botocore below the 1.44 this project runs.
The listing here goes through the project's object store (boto3 or the local folder) in a worker thread, so it
works the same on S3 and on the local folder.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

ASSET_NAME = "mangaassist_event_files"
KINDS = ("requests", "sessions")
SUFFIXES = (".jsonl", ".json", ".parquet")  # as mangaeval.ab.steps.EVENT_SUFFIXES (not imported: the triggerer loads this module)
STATE_KEY = "partitions"  # in the asset state store: partition -> fingerprint of its files, as last announced
DEFAULT_POLL_SECONDS = 300.0
DEFAULT_HOURS = 3


def partition_name(hour: datetime) -> str:
    return f"dt={hour:%Y-%m-%d}/hour={hour:%H}"


def recent_partitions(now: datetime, hours: int) -> list[str]:
    """The hourly partitions from `hours - 1` hours before `now`'s hour to `now`'s, oldest first."""
    top = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0, tzinfo=None) if now.tzinfo else \
        now.replace(minute=0, second=0, microsecond=0)
    return [partition_name(top - timedelta(hours=h)) for h in range(hours - 1, -1, -1)]


def fingerprints(store: Any, partitions: list[str]) -> dict[str, str]:
    """Per partition with event files (requests or sessions), a fingerprint of their names: it changes when a file
    lands. Files are written whole under new names (the loader keys a file by its name), so names are enough."""
    found = {}
    for partition in partitions:
        keys = sorted(k for kind in KINDS for k in store.list(f"events/{kind}/{partition}/") if k.endswith(SUFFIXES))
        if keys:
            found[partition] = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16] + f":{len(keys)}"
    return found


def changed(before: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """Partitions whose files are new or different since `before`."""
    return sorted(p for p, f in now.items() if before.get(p) != f)


def events_store(events_uri: str, aws_conn_id: str | None) -> Any:
    """The events store, through the Airflow AWS connection when one is named (the triggerer has no task to set it)."""
    from mangaeval.objectstore import LocalStore, S3Store

    parsed = urlparse(events_uri)
    if parsed.scheme == "s3":
        from mangaeval.aws import client

        return S3Store(parsed.netloc, parsed.path, client=client("s3", aws_conn_id=aws_conn_id))
    return LocalStore(events_uri)


class NewEventFilesTrigger(BaseEventTrigger):
    """Fires when event files land in the last `hours` hourly partitions of the events store (see the module)."""

    def __init__(self, events_uri: str, poll_seconds: float = DEFAULT_POLL_SECONDS, hours: int = DEFAULT_HOURS,
                 aws_conn_id: str | None = None):
        super().__init__()
        self.events_uri, self.poll_seconds, self.hours, self.aws_conn_id = events_uri, float(poll_seconds), int(hours), aws_conn_id
        self._seen: dict[str, str] | None = None  # without an asset state store (a unit test): kept here
        self._store: Any = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("mangaeval.events.watch.NewEventFilesTrigger",
                {"events_uri": self.events_uri, "poll_seconds": self.poll_seconds, "hours": self.hours, "aws_conn_id": self.aws_conn_id})

    async def _load_seen(self) -> dict[str, str]:
        if self.asset_state_store is not None:
            return dict(await self.asset_state_store.aget(STATE_KEY) or {})
        return dict(self._seen or {})

    async def _save_seen(self, seen: dict[str, str]) -> None:
        if self.asset_state_store is not None:
            await self.asset_state_store.aset(STATE_KEY, seen)
        self._seen = seen

    def _look(self, now: datetime) -> dict[str, str]:
        if self._store is None:
            self._store = events_store(self.events_uri, self.aws_conn_id)
        return fingerprints(self._store, recent_partitions(now, self.hours))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from asgiref.sync import sync_to_async  # blocking listing off the triggerer's loop; connections still reachable

        while True:
            now = datetime.now(timezone.utc)
            try:
                current = await sync_to_async(self._look)(now)
            except Exception as exc:  # a store briefly out of reach must not end the watch: say so, look again later
                self.log.warning("listing %s failed (%s: %s); next look in %.0f s", self.events_uri, type(exc).__name__, exc,
                                 self.poll_seconds)
            else:
                seen = await self._load_seen()
                news = changed(seen, current)
                if news:
                    # Remembered first: a restart between the two announces nothing twice (the hourly run covers a loss).
                    await self._save_seen(current)
                    self.log.info("new event files in %s", ", ".join(news))
                    yield TriggerEvent({"partitions": news, "seen_at": now.isoformat()})
            await asyncio.sleep(self.poll_seconds)


def event_files_asset(events_uri: str | None = None):
    """The Asset of the bot's event files, watched by NewEventFilesTrigger (MANGAEVAL_EVENTS_POLL_S, default 300)."""
    from airflow.sdk import Asset, AssetWatcher

    from mangaeval.paths import DATA_DIR

    events_uri = events_uri or os.environ.get("MANGAEVAL_EVENTS_URI") or str(DATA_DIR)
    uri = events_uri.rstrip("/") + "/events" if urlparse(events_uri).scheme == "s3" else \
        "file://" + os.path.abspath(events_uri).rstrip("/") + "/events"
    trigger = NewEventFilesTrigger(events_uri, float(os.environ.get("MANGAEVAL_EVENTS_POLL_S", DEFAULT_POLL_SECONDS)),
                                   aws_conn_id=os.environ.get("MANGAEVAL_AWS_CONN_ID") or "aws_default")
    return Asset(name=ASSET_NAME, uri=uri, watchers=[AssetWatcher(name=f"{ASSET_NAME}_watcher", trigger=trigger)])


def announced_partitions(context: Mapping[str, Any]) -> list[str]:
    """The partitions the watcher announced to this run (an asset-triggered run; none for another run)."""
    partitions: set[str] = set()
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in events:
            payload = (getattr(event, "extra", None) or {}).get("payload") or {}
            partitions.update(p for p in payload.get("partitions", []) if isinstance(p, str))
    return sorted(partitions)


def partition_hour(partition: str) -> datetime:
    """`dt=2026-11-24/hour=10` -> 2026-11-24 10:00 (naive UTC)."""
    day, hour = partition.split("/")
    return datetime.strptime(f"{day[3:]} {hour[5:]}", "%Y-%m-%d %H")


def load_window(context: Mapping[str, Any], window: tuple[datetime, datetime]) -> tuple[datetime, datetime]:
    """The run's data window, reaching back to the earliest partition the watcher announced (a late file)."""
    start, end = window
    announced = announced_partitions(context)
    if announced:
        earliest = partition_hour(announced[0])
        start = min(start, earliest.replace(tzinfo=start.tzinfo) if start.tzinfo else earliest)
    return start, end

"""How far request events are complete in the warehouse (table `event_watermarks`, one row per source): every
event before `complete_through` is loaded and none is still expected. A canary judges a window only once its
source's watermark has passed the window's end: judged earlier, a window would look short of traffic, or worse,
show only the requests that happened to arrive first.

The event loader (mangaeval.ab.steps.load_events, in ab_analysis: when event files land, and hourly) advances the
live source after the interval's files are in; the canary simulator writes its events straight into the warehouse
and sets its own source."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)
REQUESTS_SOURCE = "events/requests"  # the bot's request events, as the hourly loader brings them in


def naive_utc(moment: Any) -> datetime:
    """The warehouse's time: naive UTC (event_time is stored that way)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def complete_through(warehouse: Any, source: str) -> datetime | None:
    found = warehouse.query("events/event_watermark.sql", {"source": source})
    if found.empty or found["complete_through"].iloc[0] is None:
        return None
    value = found["complete_through"].iloc[0]
    return naive_utc(value.to_pydatetime() if hasattr(value, "to_pydatetime") else value)


def record(warehouse: Any, source: str, through: datetime, now: datetime | None = None) -> datetime:
    """Set the source's watermark to `through`, never back: a rerun of an older load must not un-complete a window."""
    through = naive_utc(through)
    current = complete_through(warehouse, source)
    if current is not None and current >= through:
        return current
    warehouse.replace_keyed("event_watermarks", {"source": source}, [{
        "source": source, "complete_through": through, "updated_at": naive_utc(now or datetime.now(timezone.utc))}])
    return through


def after_load(warehouse: Any, start: Any, end: Any, now: datetime | None = None, source: str = REQUESTS_SOURCE) -> datetime | None:
    """The watermark after the loader brought in the files of [start, end) (start None: every file there is).

    An interval load completes through `end` only if nothing before `start` is missing: when the watermark is
    behind `start` (a skipped hourly run), the hours in between were never loaded and the watermark stays where it
    is (logged) until they are, e.g. by a reload of every file. A reload of everything completes the hours before
    the current one: the loader's schedule already assumes an hour's files have landed a few minutes after it."""
    now = naive_utc(now or datetime.now(timezone.utc))
    current = complete_through(warehouse, source)
    if start is None:
        return record(warehouse, source, now.replace(minute=0, second=0, microsecond=0), now)
    start, end = naive_utc(start), naive_utc(end)
    if current is not None and current < start:
        log.warning("%s: loaded [%s, %s) but events are complete only through %s: the hours in between were never loaded, "
                    "so the watermark stays (reload them, or every file with reload_all)", source, start, end, current)
        return current
    return record(warehouse, source, end, now)

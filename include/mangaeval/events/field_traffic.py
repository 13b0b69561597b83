"""Request events at the field's token sizes, for seeing the calibrated projection with realistic traffic where no live
traffic exists (make run's folder store, the benchmark, tests). Nothing here is live data: the events carry the
experiment id `field-traffic` (no registered experiment: ab_analysis never analyses it) and say so.

Drawn by the canary's traffic simulator (mangaeval.canary.simulator.draw: tokens around each size, latency, quality,
errors), one profile per intent at its size from include/config/live_calibration.yaml (`field_traffic`, MISSION.md's
production figures on Sonnet 3.5), the volume split by the intents' shares of traffic (intents.yaml), hour by hour.
Written to the object store as the bot writes them (events/requests/dt=YYYY-MM-DD/hour=HH/...jsonl) and, on request,
loaded by the event loader the ab_analysis DAG runs (mangaeval.ab.steps.load_events)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from mangaeval.errors import MangaEvalError

FIELD_EXPERIMENT = "field-traffic"


def profiles(config_id: str, sizes: dict[str, dict[str, float]]) -> dict[str, Any]:
    """One simulator profile per intent: the configuration's prices (the catalog), the intent's field sizes."""
    from mangaeval.canary.simulator import ArmProfile
    from mangaeval.models import load_configurations, load_model_catalog

    catalog = load_model_catalog()
    configurations = load_configurations(None, catalog)
    if config_id not in configurations:
        raise MangaEvalError(f"configuration {config_id!r} is not in include/config/configurations.yaml (known: {', '.join(configurations)})")
    spec = catalog[configurations[config_id].model_id]
    return {intent: ArmProfile(config_id, quality_mean=size.get("quality", 0.84), input_tokens=size["input_tokens"],
                               output_tokens=size["output_tokens"], usd_per_mtok_in=spec.input_usd_per_mtok,
                               usd_per_mtok_out=spec.output_usd_per_mtok) for intent, size in sizes.items()}


def generate(end: datetime, days: float, per_day: float, config_id: str, seed: int = 0,
             sizes: dict[str, dict[str, float]] | None = None) -> dict[datetime, pd.DataFrame]:
    """Request events of [end - days, end) (naive UTC), `per_day` a day over the intents of `sizes` (default the field's)
    split by their traffic shares, arriving as a Poisson process: {hour: its events in the bot's schema, event_time as
    ISO-8601 UTC text}. The same arguments give the same events."""
    from mangaeval.canary.simulator import draw
    from mangaeval.traffic import intent_shares
    from mangaeval.warehouse.live_calibration import field_traffic

    if not (isinstance(days, (int, float)) and 0 < days <= 366):
        raise MangaEvalError(f"days must be in (0, 366], got {days!r}")
    if not (isinstance(per_day, (int, float)) and 0 < per_day <= 10_000_000):
        raise MangaEvalError(f"per_day must be in (0, 10,000,000], got {per_day!r}")
    sizes = sizes or field_traffic()
    by_intent = profiles(config_id, sizes)
    shares = intent_shares(list(by_intent))
    total = sum(shares.values())
    start = end - timedelta(days=days)
    frames = []
    for number, (intent, profile) in enumerate(by_intent.items()):
        rng = np.random.default_rng([seed, number])
        n = int(rng.poisson(per_day * days * shares[intent] / total))
        frames.append(draw(profile, n, rng, start, days * 86400.0, "control", intents=(intent,))
                      .to_events(FIELD_EXPERIMENT, f"field-s{seed}-{intent}"))
    frame = pd.concat(frames, ignore_index=True).sort_values("event_time", kind="stable")
    hour = frame["event_time"].dt.floor("h")
    frame["event_time"] = frame["event_time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    frame["latency_ms"] = frame["latency_ms"].round(1)
    frame["cost_usd"] = frame["cost_usd"].round(10)
    return {h.to_pydatetime(): group.reset_index(drop=True) for h, group in frame.groupby(hour, sort=True)}


def object_key(hour: datetime, seed: int) -> str:
    return f"events/requests/dt={hour:%Y-%m-%d}/hour={hour:%H}/{FIELD_EXPERIMENT}-seed{seed}.jsonl"


def write(store: Any, events: dict[datetime, pd.DataFrame], seed: int) -> list[str]:
    """Each hour's events as one JSON Lines object under its partition; the keys written."""
    keys = []
    for hour, frame in sorted(events.items()):
        key = object_key(hour, seed)
        text = frame.to_json(orient="records", lines=True, force_ascii=False, double_precision=10)
        store.put(key, text.encode("utf-8"))
        keys.append(key)
    return keys


def summary(events: dict[datetime, pd.DataFrame]) -> dict[str, dict[str, float]]:
    """Per intent: events, answered ones, and their mean input and output tokens (what the projection will read)."""
    if not events:
        return {}
    frame = pd.concat(events.values(), ignore_index=True)
    answered = frame[frame["error_code"].isna()]
    return {intent: {"events": int((frame["intent"] == intent).sum()), "answered": int(len(group)),
                     "mean_input_tokens": float(group["input_tokens"].mean()), "mean_output_tokens": float(group["output_tokens"].mean())}
            for intent, group in answered.groupby("intent")}


def span(end: datetime, days: float) -> tuple[datetime, datetime]:
    """The whole hours covering [end - days, end): the partitions the loader must read."""
    start = (end - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    floor = end.replace(minute=0, second=0, microsecond=0)
    return start, floor if floor == end else floor + timedelta(hours=1)

"""Shared builders for the canary tests: sides drawn from simulator profiles, event files."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from mangaeval.canary.rollout import side_of
from mangaeval.canary.sides import Side
from mangaeval.canary.simulator import BASELINE, ArmProfile, Draw, draw

T0 = datetime(2026, 11, 24, 10, 0)


def draws(profile: ArmProfile, n: int, seed: int, arm: str) -> Draw:
    return draw(profile, n, np.random.default_rng(seed), T0, 1800.0, arm)


def sides(canary: ArmProfile, n_canary: int = 2000, baseline: ArmProfile = BASELINE, n_baseline: int = 20000,
          seed: int = 3) -> tuple[Side, Side]:
    return side_of([draws(baseline, n_baseline, seed, "control")]), side_of([draws(canary, n_canary, seed + 1000, "treatment")])


def like_baseline(**changes) -> ArmProfile:
    return replace(BASELINE, config_id="candidate", **changes)


def write_events(path: Path, frames: list[pd.DataFrame]) -> Path:
    """JSON Lines in the bot's format (ISO-8601 UTC times, empty fields as null)."""
    frame = pd.concat(frames, ignore_index=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in frame.to_dict(orient="records"):
            record["event_time"] = pd.Timestamp(record["event_time"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            record = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in record.items()}
            record = {k: (int(v) if isinstance(v, np.integer) else v) for k, v in record.items()}
            handle.write(pd.io.json.ujson_dumps(record) + "\n")
    return path

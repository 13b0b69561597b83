"""What the judge compares: one side's (baseline or canary) request events over a window, reduced to the
figures the tests need. Built from event rows (CLI files, the simulator) or from warehouse aggregates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Side:
    requests: int = 0  # every request, errors included
    errors: int = 0
    quality_n: int = 0  # scored answers (errors are never scored)
    quality_mean: float | None = None
    quality_var: float | None = None  # sample variance
    cost_n: int = 0  # answered requests with a cost
    cost_mean: float | None = None  # mean cost per answered request
    latencies: np.ndarray = field(default_factory=lambda: np.empty(0))  # ms, answered requests only

    @classmethod
    def from_events(cls, rows: pd.DataFrame) -> "Side":
        """From request-event rows (columns of mangaeval.events.schema.REQUEST_COLUMNS)."""
        failed = rows["error_code"].notna().to_numpy()
        ok = rows.loc[~failed]
        quality = ok["quality_score"].dropna().to_numpy(dtype=float)
        cost = ok["cost_usd"].to_numpy(dtype=float)
        return cls.from_arrays(requests=len(rows), errors=int(failed.sum()), quality=quality, cost=cost,
                               latencies=ok["latency_ms"].to_numpy(dtype=float))

    @classmethod
    def from_arrays(cls, *, requests: int, errors: int, quality: np.ndarray, cost: np.ndarray, latencies: np.ndarray) -> "Side":
        return cls(requests=int(requests), errors=int(errors), quality_n=len(quality),
                   quality_mean=float(quality.mean()) if len(quality) else None,
                   quality_var=float(quality.var(ddof=1)) if len(quality) > 1 else None,
                   cost_n=len(cost), cost_mean=float(cost.mean()) if len(cost) else None,
                   latencies=np.asarray(latencies, dtype=float))

    @classmethod
    def from_summary(cls, summary: dict[str, Any] | None, latencies: np.ndarray) -> "Side":
        """From one row of sql/canary/window_summary.sql (None: no events) and the window's answered latencies."""
        if not summary:
            return cls(latencies=np.asarray(latencies, dtype=float))

        def number(name: str) -> float | None:
            value = summary.get(name)
            return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)

        return cls(requests=int(summary["requests"]), errors=int(summary["errors"]), quality_n=int(summary["quality_n"]),
                   quality_mean=number("quality_mean"), quality_var=number("quality_var"), cost_n=int(summary["cost_n"]),
                   cost_mean=number("cost_mean"), latencies=np.asarray(latencies, dtype=float))

    def summary(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "quality_n": self.quality_n, "quality_mean": self.quality_mean,
                "latency_n": int(len(self.latencies)), "cost_n": self.cost_n, "cost_mean": self.cost_mean}


def split_arms(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(baseline, canary) rows: arm `control` is baseline traffic, `treatment` the canary's."""
    return rows[rows["arm"] == "control"], rows[rows["arm"] == "treatment"]

"""Descriptive statistics of a benchmark sample, with percentile-bootstrap 95% intervals.

Percentiles are numpy's default linear interpolation, the same definition as SQL's PERCENTILE_CONT that the
warehouse uses for P50/P95/P99. The bootstrap is seeded: the same sample gives the same intervals on any machine."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

DEFAULT_BOOT = 2000
PERCENTILES = (50, 95, 99)


def bootstrap_ci(values: np.ndarray, stat, n_boot: int = DEFAULT_BOOT, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of `stat(sample, axis=1)` (resampling rows of `values` with replacement)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    boots = stat(values[idx], axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return float(low), float(high)


def describe(samples: Sequence[float], *, n_boot: int = DEFAULT_BOOT, seed: int = 0) -> dict[str, Any]:
    """n, mean, median, sd (n-1), min, max, p50/p95/p99, each of mean and the percentiles with a 95% interval."""
    x = np.asarray([s for s in samples if s is not None], dtype=float)
    if len(x) == 0:
        return {"n": 0}
    doc: dict[str, Any] = {"n": int(len(x)), "mean": float(x.mean()), "median": float(np.median(x)),
                           "sd": float(x.std(ddof=1)) if len(x) > 1 else 0.0, "min": float(x.min()), "max": float(x.max())}
    doc["mean_ci"] = list(bootstrap_ci(x, np.mean, n_boot, seed))
    for p in PERCENTILES:
        doc[f"p{p}"] = float(np.percentile(x, p))
        doc[f"p{p}_ci"] = list(bootstrap_ci(x, lambda a, axis, p=p: np.percentile(a, p, axis=axis), n_boot, seed + p))
    return doc

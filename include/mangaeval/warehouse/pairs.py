"""Paired quality differences between configurations on the same cases, with a t-based 95% lower bound.

For each run x intent and each ordered pair (config, reference), over the test cases both answered (ok
rows): mean of (quality[config] - quality[reference]) and the lower bound of its two-sided 95% confidence
interval, mean - t(0.975, n-1) * sd / sqrt(n) (scipy.stats.t). The recommendation SQL reads these to call
a cheaper configuration non-inferior when the lower bound is above -margin.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


def paired_lower_bound(diff: np.ndarray) -> tuple[float | None, float | None]:
    n = diff.size
    if n == 0:
        return None, None
    mean = float(diff.mean())
    if n == 1:
        return mean, None  # no spread to bound: never enough evidence of non-inferiority
    sd = float(diff.std(ddof=1))
    if sd == 0.0:
        return mean, mean
    return mean, mean - float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)


def quality_pairs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    ok = frame[(frame["status"] == "ok") & frame["quality_score"].notna()]
    ok = ok[["run_id", "intent", "config_id", "test_id", "quality_score"]].astype({"quality_score": "float64"})
    rows: list[dict[str, Any]] = []
    for (run_id, intent), group in ok.groupby(["run_id", "intent"], sort=True):
        wide = group.pivot_table(index="test_id", columns="config_id", values="quality_score", aggfunc="first")
        for config in wide.columns:
            for reference in wide.columns:
                if config == reference:
                    continue
                both = wide[[config, reference]].dropna()
                mean, lower = paired_lower_bound((both[config] - both[reference]).to_numpy())
                rows.append({"run_id": str(run_id), "intent": str(intent), "config_id": str(config), "reference_config_id": str(reference),
                             "n_pairs": int(len(both)), "mean_diff": mean, "lower_95": lower})
    return rows

"""Paired quality differences between configurations on the same cases, with a cluster-robust 95% lower bound.

For each run x intent and each ordered pair (config, reference), over the test cases both answered (ok
rows): mean of (quality[config] - quality[reference]) and the lower bound of its two-sided 95% confidence
interval, mean - t(0.975, G-1) * SE_CR1 over the G clusters of those cases (mangaeval.cluster_stats: cases
sharing a query or a template are one cluster, so repeating a case buys no confidence). The recommendation SQL
reads these to call a cheaper configuration non-inferior when the lower bound is above -margin; `n_clusters`
is recorded beside `n_pairs`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mangaeval.cluster_stats import paired_lower_bound

def _clusters_by_case(frame: pd.DataFrame) -> dict[str, str]:
    """test_id -> cluster, from the rows that carry one (a case is in one cluster whichever configuration answered);
    a case no row gives a cluster is its own."""
    if "cluster_id" not in frame.columns:
        return {}
    known = frame.loc[frame["cluster_id"].notna(), ["test_id", "cluster_id"]].drop_duplicates("test_id")
    return dict(zip(known["test_id"], known["cluster_id"]))


def quality_pairs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clusters_of = _clusters_by_case(frame)
    ok = frame[(frame["status"] == "ok") & frame["quality_score"].notna()]
    ok = ok[["run_id", "intent", "config_id", "test_id", "quality_score"]].astype({"quality_score": "float64"})
    rows: list[dict[str, Any]] = []
    for (run_id, intent), group in ok.groupby(["run_id", "intent"], sort=True):
        wide = group.pivot_table(index="test_id", columns="config_id", values="quality_score", aggfunc="first")
        cluster_of = pd.Series([clusters_of.get(t, t) for t in wide.index], index=wide.index, dtype=object)
        for config in wide.columns:
            for reference in wide.columns:
                if config == reference:
                    continue
                both = wide[[config, reference]].dropna()
                diff = (both[config] - both[reference]).to_numpy(dtype="float64")
                mean, lower, clusters = paired_lower_bound(diff, np.asarray(cluster_of.loc[both.index], dtype=object))
                rows.append({"run_id": str(run_id), "intent": str(intent), "config_id": str(config), "reference_config_id": str(reference),
                             "n_pairs": int(len(both)), "mean_diff": mean, "lower_95": lower, "n_clusters": int(clusters)})
    return rows

"""Cluster ids: which golden cases are one piece of evidence.

Cases that share a query (after golden_dedupe's normalisation: NFKC, which folds full-width digits, case,
punctuation, whitespace) or that a generator made from one template are not independent: repeating a case must
not buy confidence. Every result row carries its case's `cluster_id`, and the statistics (mangaeval.cluster_stats,
the marts) resample or sum within clusters.

- A case's explicit `cluster` field (a generator that declares its templates sets it): `c:<cluster>`.
- Otherwise a digest of the normalised query: `q:<12 hex digits>`, the same for every case sharing the query.
- Result rows from before clusters existed have none: each row is then its own cluster (its test_id), which is
  exactly the naive statistics of those runs.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from mangaeval.golden_dedupe import normalise

EXPLICIT_PREFIX = "c:"
DERIVED_PREFIX = "q:"
DIGEST_HEX = 12  # 48 bits: no collision in any dataset of realistic size (millions of distinct queries)


def derived_cluster_id(query: str) -> str:
    """The cluster of every case whose query normalises to the same text as `query`."""
    return DERIVED_PREFIX + hashlib.sha256(normalise(query).encode("utf-8")).hexdigest()[:DIGEST_HEX]


def cluster_id(case: Any) -> str:
    """A golden case's cluster: its explicit `cluster` when given, else its normalised query's."""
    explicit = getattr(case, "cluster", "") or ""
    return EXPLICIT_PREFIX + explicit if explicit else derived_cluster_id(case.query)


def with_cluster_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Result rows with `cluster_id` set on every row: rows without one (older result files and warehouses) are their
    own cluster, their test_id, so their statistics are the naive ones they always were."""
    if "test_id" not in frame.columns:
        return frame
    if "cluster_id" not in frame.columns:
        return frame.assign(cluster_id=frame["test_id"])
    missing = frame["cluster_id"].isna()
    if not missing.any():
        return frame
    return frame.assign(cluster_id=frame["cluster_id"].where(~missing, frame["test_id"]))

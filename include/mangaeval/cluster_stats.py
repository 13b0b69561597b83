"""Statistics that respect clusters (mangaeval.clusters): duplicates of a case are one piece of evidence.

- `clustered_mean`: a mean over observations with its cluster-robust variance, CR1: the residuals summed within each
  cluster, V = G/(G-1) * sum_g (sum_{i in g} (x_i - mean))^2 / n^2 (G clusters, n observations). It is the
  intercept-only OLS with statsmodels' cov_type='cluster'; with every observation its own cluster it is s^2/n.
  The variance the intervals use is never below the naive s^2/n (the design effect floored at 1): with few
  clusters CR1 is itself a noisy estimate, and cases that differ within a cluster (v1's recommendation: one
  phrasing, different grounding) can make it smaller than the naive one, which would let clustering buy
  confidence. The pass rate's effective n is capped at n for the same reason.
- `paired_lower_bound`: the paired non-inferiority test on it, mean - t(0.975, G-1) * sqrt(V) (t with G-1 degrees
  of freedom, as statsmodels' cluster inference).
- `normal_interval` / `wilson_interval`: the intervals of mart_eval_config_intent.sql, in Python (the tests hold
  the SQL to these): mean +- z sqrt(V) for quality, inside [0, 1]; for a pass rate p, Wilson's score interval on the effective
  number of cases n_eff = p(1-p)/V_CR1 capped at n (at p = 0 or 1, where V is 0, the number of clusters), so it
  stays inside [0, 1].
- `cluster_bootstrap_ci`: a percentile bootstrap that resamples whole clusters (scipy.stats.bootstrap over the
  clusters' sums and counts, paired), the mean of a resample being its sum over its count.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

Z95 = 1.96  # the marts' two-sided 95% normal quantile (the SQL carries the same literal)
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261122


@dataclass(frozen=True)
class ClusteredMean:
    mean: float | None
    variance: float | None  # of the mean: max(CR1, naive s^2/n); None below two clusters
    n: int
    clusters: int
    cr1_variance: float | None = None  # CR1 alone (statsmodels' cov_type='cluster')

    @property
    def se(self) -> float | None:
        return None if self.variance is None else math.sqrt(self.variance)


def cluster_totals(values: Any, clusters: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster (sorted by id) the sum of the values and their count; without clusters, each value its own."""
    values = np.asarray(values, dtype="float64")
    if clusters is None:
        return values.copy(), np.ones(values.size)
    grouped = pd.DataFrame({"value": values, "cluster": np.asarray(clusters, dtype=object)}).groupby("cluster", sort=True)["value"]
    return grouped.sum().to_numpy(dtype="float64"), grouped.count().to_numpy(dtype="float64")


def clustered_mean(values: Any, clusters: Any = None) -> ClusteredMean:
    values = np.asarray(values, dtype="float64")
    n = int(values.size)
    if clusters is not None and len(clusters) != n:
        raise ValueError(f"{n} values but {len(clusters)} cluster ids")
    if n == 0:
        return ClusteredMean(None, None, 0, 0)
    sums, counts = cluster_totals(values, clusters)
    g = int(sums.size)
    mean = float(values.mean())
    if g < 2:
        return ClusteredMean(mean, None, n, g)
    if np.all(values == values[0]):  # exactly no spread (rounding would leave a residue)
        return ClusteredMean(mean, 0.0, n, g, 0.0)
    residuals = sums - mean * counts
    cr1 = g / (g - 1) * float(np.sum(residuals * residuals)) / (n * n)
    return ClusteredMean(mean, max(cr1, float(values.var(ddof=1)) / n), n, g, cr1)


def paired_lower_bound(diff: Any, clusters: Any = None) -> tuple[float | None, float | None, int]:
    """(mean difference, lower bound of its two-sided 95% interval, clusters). No bound below two clusters: one
    cluster, however many cases it holds, is never enough evidence of non-inferiority."""
    m = clustered_mean(diff, clusters)
    if m.variance is None:
        return m.mean, None, m.clusters
    return m.mean, m.mean - float(stats.t.ppf(0.975, m.clusters - 1)) * math.sqrt(m.variance), m.clusters


def normal_interval(values: Any, clusters: Any = None, z: float = Z95,
                    bounds: tuple[float, float] | None = (0.0, 1.0)) -> tuple[float | None, float | None]:
    """mean +- z * SE (the variance of `clustered_mean`), cut to `bounds` (quality scores lie in [0, 1]; None: uncut);
    None below two clusters. The quality interval of the mart."""
    m = clustered_mean(values, clusters)
    if m.variance is None:
        return None, None
    half = z * math.sqrt(m.variance)
    low, high = m.mean - half, m.mean + half
    return (low, high) if bounds is None else (max(bounds[0], low), min(bounds[1], high))


def effective_n(p: float, variance: float, n: int, clusters: int) -> float:
    """How many independent cases a pass rate's clustered variance is worth: p(1-p)/V, at most n; at p = 0 or 1
    (no spread to measure) the number of clusters; with a zero variance inside (0, 1), n."""
    if p <= 0.0 or p >= 1.0:
        return float(clusters)
    if variance <= 0.0:
        return float(n)
    return min(float(n), p * (1.0 - p) / variance)


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a proportion p observed on n (possibly effective, not whole) cases."""
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return (centre - half) / scale, (centre + half) / scale


def wilson_interval(passed: Any, clusters: Any = None, z: float = Z95) -> tuple[float | None, float | None]:
    """The pass-rate interval of the mart: Wilson on the effective number of cases; None below two clusters."""
    m = clustered_mean(np.asarray(passed, dtype="float64"), clusters)
    if m.cr1_variance is None:
        return None, None
    return wilson(m.mean, effective_n(m.mean, m.cr1_variance, m.n, m.clusters), z)


def _ratio_of_sums(sums: np.ndarray, counts: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(sums, axis=axis) / np.sum(counts, axis=axis)


def cluster_bootstrap_ci(values: Any, clusters: Any = None, confidence: float = 0.95, n_resamples: int = BOOTSTRAP_RESAMPLES,
                         seed: int = BOOTSTRAP_SEED, distribution: bool = False) -> Any:
    """Percentile bootstrap CI of the mean resampling whole clusters (seeded: reproducible); None below two clusters.
    `distribution`: also return the resampled means (the tests compare them with an exact enumeration)."""
    values = np.asarray(values, dtype="float64")
    sums, counts = cluster_totals(values, clusters)
    if sums.size < 2:
        return ((None, None), None) if distribution else (None, None)
    if np.all(values == values[0]):  # every resample has the same mean
        return ((float(values[0]), float(values[0])), None) if distribution else (float(values[0]), float(values[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.bootstrap((sums, counts), _ratio_of_sums, paired=True, vectorized=True, confidence_level=confidence,
                                 n_resamples=n_resamples, method="percentile", rng=np.random.default_rng(seed))
    interval = (float(result.confidence_interval.low), float(result.confidence_interval.high))
    return (interval, result.bootstrap_distribution) if distribution else interval

"""The regression rule: is a benchmark figure worse than its stored baseline, beyond noise?

For each figure the statistic is computed on both raw samples (latency P95 on the per-request latencies; cost per
query = mean of per-request costs; throughput = workers / mean latency under load, a closed loop's rate) and the
*worse-ratio* r = current / baseline (baseline / current for throughput, where lower is worse), so r > 1 is always
worse. Its 95% interval comes from resampling BOTH samples independently (percentile bootstrap, seeded).

    REGRESSION   r > 1 + threshold (default 10%) AND the interval's lower bound > 1 + margin
    IMPROVEMENT  r < 1 / (1 + threshold)  AND the interval's upper bound < 1 / (1 + margin)
    PASS         anything else (including a difference the evidence does not hold)
    BASELINE     no baseline stored yet (nothing to compare: the result may be accepted as one)

When both runs carry the prompt of each request (they asked the same prompt set, as `bench` does for the same
`--requests`, dataset and `--sample-seed`), the bootstrap resamples prompts jointly (a paired bootstrap): the
variation between prompts, which both runs share, is not mistaken for noise. Otherwise each sample is resampled
on its own.

`margin` (default 0: "worse, with 95% confidence") is what `benchmarks/bench_rule_validity.py` measured against the
targets (false REGRESSION <= 5% on same-distribution runs, a true 20% P95 increase flagged >= 95%) at the default
sample size; README "Benchmarks" gives the measured rates. A baseline changes only by `bench accept`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

BASELINE, PASS, REGRESSION, IMPROVEMENT = "BASELINE", "PASS", "REGRESSION", "IMPROVEMENT"
DEFAULT_THRESHOLD = 0.10
DEFAULT_MARGIN = 0.0
DEFAULT_BOOT = 2000


def _p95(a: np.ndarray, axis: int) -> np.ndarray:
    return np.percentile(a, 95, axis=axis)


def _mean(a: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(a, axis=axis)


# figure -> (statistic over the sample, True when a higher value is worse, unit)
FIGURES: dict[str, tuple[Callable[[np.ndarray, int], np.ndarray], bool, str]] = {
    "latency_p95_ms": (_p95, True, "ms"),
    "ttft_p95_ms": (_p95, True, "ms"),
    "throughput_rps": (_mean, False, "req/s"),  # statistic on the latencies under load; rate = workers / mean
    "cost_per_query_usd": (_mean, True, "USD"),
}


@dataclass(frozen=True)
class Verdict:
    figure: str
    status: str
    baseline: float | None
    current: float
    ratio: float | None  # worse-ratio: > 1 is worse
    ci_low: float | None
    ci_high: float | None
    n_baseline: int
    n_current: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def figure_value(figure: str, sample: np.ndarray, workers: int | None = None) -> float:
    stat = FIGURES[figure][0]
    value = float(stat(sample[None, :], 1)[0])
    return workers / (value / 1000.0) if figure == "throughput_rps" else value


def paired(baseline: list[float], baseline_keys: list[str], current: list[float], current_keys: list[str]) -> tuple[list[float], list[float]]:
    """The two samples restricted to the prompts both runs answered, in the same order (key = prompt id; a prompt
    asked k times is paired occurrence by occurrence)."""
    def keyed(values: list[float], keys: list[str]) -> dict[tuple[str, int], float]:
        seen: dict[str, int] = {}
        out = {}
        for key, value in zip(keys, values):
            seen[key] = seen.get(key, 0) + 1
            out[(key, seen[key])] = value
        return out
    b, c = keyed(baseline, baseline_keys), keyed(current, current_keys)
    common = [k for k in b if k in c]
    return [b[k] for k in common], [c[k] for k in common]


def judge(figure: str, baseline: list[float] | None, current: list[float], *, workers: int | None = None,
          baseline_keys: list[str] | None = None, current_keys: list[str] | None = None,
          baseline_workers: int | None = None, threshold: float = DEFAULT_THRESHOLD, margin: float = DEFAULT_MARGIN,
          n_boot: int = DEFAULT_BOOT, seed: int = 0) -> Verdict:
    """The verdict of one figure from the raw samples (None baseline: BASELINE)."""
    stat, higher_is_worse, _ = FIGURES[figure]
    cur = np.asarray(current, dtype=float)
    value = figure_value(figure, cur, workers)
    if baseline is None or len(baseline) == 0:
        return Verdict(figure, BASELINE, None, value, None, None, None, 0, len(cur))
    base = np.asarray(baseline, dtype=float)
    base_value = figure_value(figure, base, baseline_workers or workers)
    rng = np.random.default_rng(seed)
    pairs = None
    if baseline_keys is not None and current_keys is not None:
        pb, pc = paired(list(base), baseline_keys, list(cur), current_keys)
        if len(pb) >= max(10, 0.8 * min(len(base), len(cur))):  # the same prompts, asked again: resample them jointly
            pairs = np.asarray(pb), np.asarray(pc)
    if pairs is not None:
        idx = rng.integers(0, len(pairs[0]), size=(n_boot, len(pairs[0])))
        b, c = stat(pairs[0][idx], 1), stat(pairs[1][idx], 1)
    else:
        b = stat(base[rng.integers(0, len(base), size=(n_boot, len(base)))], 1)
        c = stat(cur[rng.integers(0, len(cur), size=(n_boot, len(cur)))], 1)
    if figure == "throughput_rps":  # rate = workers / mean latency: worse-ratio = baseline rate / current rate
        wb, wc = (baseline_workers or workers or 1), (workers or 1)
        point = base_value / value if value > 0 else float("inf")
        boots = (wb / b) / (wc / c)
    else:
        point = value / base_value if base_value > 0 else (1.0 if value == 0 else float("inf"))
        with np.errstate(divide="ignore", invalid="ignore"):
            boots = np.where(b > 0, c / np.where(b > 0, b, 1), np.where(c == 0, 1.0, np.inf))
    low, high = (float(v) for v in np.quantile(boots, [0.025, 0.975]))
    if point > 1 + threshold and low > 1 + margin:
        status = REGRESSION
    elif point < 1 / (1 + threshold) and high < 1 / (1 + margin):
        status = IMPROVEMENT
    else:
        status = PASS
    return Verdict(figure, status, base_value, value, point, low, high, len(base), len(cur))

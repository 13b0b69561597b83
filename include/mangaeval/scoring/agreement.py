"""Agreement of two pass/fail raters: the scorer's gate, the LLM judge, a person.

One copy, used by the judge-vs-rules report (scoring.judge) and by calibration against people
(scoring.calibration): the share of verdicts that agree, Cohen's kappa (agreement beyond what the two raters'
pass rates give by chance) with its large-sample 95% interval, and the 2x2 counts.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from scipy.stats import norm


def _table(first: Sequence[bool], second: Sequence[bool]) -> tuple[int, list[list[float]]]:
    """n and the 2x2 table of proportions, rows = first rater (pass, fail), columns = second rater."""
    n = len(first)
    if n != len(second):
        raise ValueError(f"two raters must rate the same items: {n} != {len(second)} verdicts")
    counts = [[0, 0], [0, 0]]
    for a, b in zip(first, second):
        counts[0 if a else 1][0 if b else 1] += 1
    return n, [[c / n for c in row] for row in counts] if n else [[0.0, 0.0], [0.0, 0.0]]


def cohen_kappa(first: Sequence[bool], second: Sequence[bool]) -> float | None:
    """Cohen's kappa of two pass/fail raters; None when there is nothing to rate or chance agreement is total
    (both raters give one verdict to everything, so agreement beyond chance is undefined)."""
    n, p = _table(first, second)
    if not n:
        return None
    observed = p[0][0] + p[1][1]
    rows, cols = [sum(r) for r in p], [p[0][j] + p[1][j] for j in range(2)]
    expected = rows[0] * cols[0] + rows[1] * cols[1]
    if expected >= 1.0 - 1e-12:
        return None
    return (observed - expected) / (1 - expected)


def kappa_interval(first: Sequence[bool], second: Sequence[bool], level: float = 0.95) -> tuple[float, float] | None:
    """Large-sample interval of Cohen's kappa: kappa +- z * SE, with the standard error of Fleiss, Cohen and Everitt
    (1969, Psychological Bulletin 72(5)), as statsmodels' cohens_kappa computes it, clipped to [-1, 1]. Rough below ~30
    items. None where kappa is None, and where that variance vanishes (a rater giving one verdict to everything, or
    perfect agreement): there the large-sample interval says nothing, and no interval is better than [1, 1]."""
    kappa = cohen_kappa(first, second)
    if kappa is None:
        return None
    n, p = _table(first, second)
    rows, cols = [sum(r) for r in p], [p[0][j] + p[1][j] for j in range(2)]
    expected = rows[0] * cols[0] + rows[1] * cols[1]
    diagonal = sum(p[i][i] * (1 - (rows[i] + cols[i]) * (1 - kappa)) ** 2 for i in range(2))
    off = (1 - kappa) ** 2 * sum(p[i][j] * (cols[i] + rows[j]) ** 2 for i in range(2) for j in range(2) if i != j)
    variance = (diagonal + off - (kappa - expected * (1 - kappa)) ** 2) / (n * (1 - expected) ** 2)
    if variance <= 1e-12:  # a rater with one verdict only, or perfect agreement: the large-sample variance vanishes
        return None
    half = float(norm.ppf(0.5 + level / 2)) * math.sqrt(variance)
    return max(-1.0, kappa - half), min(1.0, kappa + half)


def pass_fail_agreement(first: Sequence[bool], second: Sequence[bool], first_name: str, second_name: str) -> dict[str, Any]:
    """n, share agreeing, kappa with its 95% interval, and the four cells, named after the raters
    (e.g. both_pass, person_pass_scorer_fail)."""
    first, second = [bool(v) for v in first], [bool(v) for v in second]
    n = len(first)
    interval = kappa_interval(first, second)
    a, b = first_name, second_name
    return {
        "n": n,
        "agreement": (sum(x == y for x, y in zip(first, second)) / n) if n else None,
        "kappa": cohen_kappa(first, second),
        "kappa_low": None if interval is None else interval[0],
        "kappa_high": None if interval is None else interval[1],
        "both_pass": sum(x and y for x, y in zip(first, second)),
        "both_fail": sum(not x and not y for x, y in zip(first, second)),
        f"{a}_pass_{b}_fail": sum(x and not y for x, y in zip(first, second)),
        f"{a}_fail_{b}_pass": sum(y and not x for x, y in zip(first, second)),
    }

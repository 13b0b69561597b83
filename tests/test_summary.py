"""Summary statistics: bootstrap confidence intervals of mean quality and pass rate."""

from __future__ import annotations

import numpy as np
import pytest

from mangaeval.summary import bootstrap_ci


def test_bootstrap_ci_brackets_the_mean_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    small = rng.normal(0.8, 0.1, 30)
    large = rng.normal(0.8, 0.1, 3000)
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 5
    # roughly the normal-theory interval for a large sample
    half = 1.96 * large.std(ddof=1) / np.sqrt(large.size)
    assert (hi_l - lo_l) / 2 == pytest.approx(half, rel=0.15)


def test_bootstrap_ci_is_reproducible_and_handles_degenerate_samples():
    values = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    assert bootstrap_ci(values) == bootstrap_ci(values)
    assert bootstrap_ci(np.ones(50)) == (1.0, 1.0)
    assert bootstrap_ci(np.array([0.7])) == (None, None)

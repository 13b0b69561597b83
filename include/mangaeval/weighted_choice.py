"""One weighted pick from a seeded generator, shared by the model double's answer styles and the golden phrasings
(both must stay reproducible from a seed: the same draws in the same order)."""

from __future__ import annotations

import random


def pick_weighted(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    """A name drawn by its weight (weights summing to 1; the last name takes any rounding remainder)."""
    u, acc = rng.random(), 0.0
    for name, weight in weighted:
        acc += weight
        if u < acc:
            return name
    return weighted[-1][0]

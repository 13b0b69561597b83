"""argparse `type=` functions for the command line: a bad value stops parsing with
`mangaeval ...: error: argument --NAME: what is wrong, got 'VALUE'` and exit status 2, before any work starts."""

from __future__ import annotations

import argparse
import math
from datetime import datetime
from typing import Callable


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def int_in(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """A whole number in [low, high] (None: unbounded on that side)."""
    def parse(text: str) -> int:
        value = _number(text, int)
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be a whole number {_range(low, high)}, got {text!r}")
        return value
    parse.__name__ = "int"  # argparse names the type in its own messages
    return parse


def float_in(low: float | None = None, high: float | None = None, *, low_open: bool = False,
             high_open: bool = False) -> Callable[[str], float]:
    """A finite number in the range (open or closed at either end)."""
    def parse(text: str) -> float:
        value = _number(text, float)
        if (low is not None and (value < low or (low_open and value == low))) or \
                (high is not None and (value > high or (high_open and value == high))):
            raise argparse.ArgumentTypeError(f"must be a number {_range(low, high, low_open, high_open)}, got {text!r}")
        return value
    parse.__name__ = "float"
    return parse


def _range(low, high, low_open: bool = False, high_open: bool = False) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    return f"{'<' if high_open else '<='} {high:g}"


positive_int = int_in(1)
non_negative_int = int_in(0)
port = int_in(0, 65535)  # 0 = any free port
non_negative_float = float_in(0)
positive_float = float_in(0, low_open=True)
share = float_in(0, 1, low_open=True, high_open=True)  # a traffic share: strictly between 0 and 1
fraction = float_in(0, 1)
unit_interval_open_low = float_in(0, 1, low_open=True)  # a similarity threshold or a share: (0, 1]
ngram_size = int_in(0, 10)  # 0: automatic


def iso_time(text: str) -> datetime:
    """An ISO-8601 date or time, e.g. 2026-11-22 or 2026-11-22T10:00:00Z."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO-8601 date or time such as 2026-11-22 or 2026-11-22T10:00:00Z, "
                                         f"got {text!r}") from None


iso_time.__name__ = "time"

"""The JSON Lines loop every reader here shares: blank lines skipped, each line parsed, a line that is not JSON
reported with its number and column instead of stopping the read. Callers read the file (each words its own read
errors) and decide what a parsed row must hold."""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator


def parse_lines(lines: Iterable[str]) -> Iterator[tuple[int, Any, str | None]]:
    """(line number from 1, parsed value or None, problem or None) for every non-blank line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"invalid JSON ({exc.msg} at column {exc.colno})"

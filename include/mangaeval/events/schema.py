"""The live bot's event schema (A/B tests and canaries): request events, one per model answer, and session
events, one per session. Every row is checked; a malformed row is quarantined with its file, line and
reason, never silently dropped and never loaded.

Request event: event_time (ISO-8601, UTC), experiment_id, session_id, arm (control | treatment), config_id,
intent, quality_score (0..1, empty on error), latency_ms, input_tokens, output_tokens, cost_usd, error_code
(empty when ok).
Session event: experiment_id, session_id, arm, started_at, cart_add (0/1), escalated (0/1), continued (0/1),
duration_s.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import pandas as pd
import pyarrow as pa

from mangaeval.errors import MangaEvalError

ARMS = ("control", "treatment")
REQUEST_COLUMNS = ["event_time", "experiment_id", "session_id", "arm", "config_id", "intent", "quality_score", "latency_ms",
                   "input_tokens", "output_tokens", "cost_usd", "error_code"]
SESSION_COLUMNS = ["experiment_id", "session_id", "arm", "started_at", "cart_add", "escalated", "continued", "duration_s"]
KINDS = {"requests": REQUEST_COLUMNS, "sessions": SESSION_COLUMNS}
MAX_ID_LENGTH = 128


@dataclass
class ParsedEvents:
    """Valid rows (a DataFrame in the warehouse's column layout) and the quarantined ones, with reasons."""

    kind: str
    rows: pd.DataFrame
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the file line of each valid row

    @property
    def counts(self) -> dict[str, int]:
        return {"valid": len(self.rows), "quarantined": len(self.quarantined)}


class _RowError(Exception):
    pass


def _text(value: Any, name: str, allowed: Iterable[str] | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _RowError(f"{name}: expected a non-empty string, got {value!r}")
    if len(value) > MAX_ID_LENGTH:
        raise _RowError(f"{name}: longer than {MAX_ID_LENGTH} characters")
    if allowed is not None and value not in allowed:
        raise _RowError(f"{name}: {value!r} is not one of {sorted(allowed)}")
    return value


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise _RowError(f"{name}: expected an ISO-8601 time string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _RowError(f"{name}: {value!r} is not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        raise _RowError(f"{name}: {value!r} has no time zone (UTC expected, e.g. 2026-11-24T10:00:00Z)")
    return parsed.astimezone(timezone.utc).replace(tzinfo=None)  # stored as naive UTC: portable across engines


def _number(value: Any, name: str, *, low: float | None = None, high: float | None = None, strict_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _RowError(f"{name}: expected a number, got {value!r}")
    if low is not None and (value < low or (strict_low and value == low)):
        raise _RowError(f"{name}: {value!r} is {'not above' if strict_low else 'below'} {low}")
    if high is not None and value > high:
        raise _RowError(f"{name}: {value!r} is above {high}")
    return float(value)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, float) and value.is_integer()):
        raise _RowError(f"{name}: expected a whole number, got {value!r}")
    if value < 0:
        raise _RowError(f"{name}: {value!r} is negative")
    return int(value)


def _flag(value: Any, name: str) -> int:
    if value in (0, 1) and not isinstance(value, float) or value is True or value is False:
        return int(value)
    raise _RowError(f"{name}: expected 0 or 1, got {value!r}")


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _missing(record: dict[str, Any], columns: list[str], optional: set[str]) -> None:
    absent = [c for c in columns if c not in record and c not in optional]
    if absent:
        raise _RowError(f"missing field(s): {', '.join(absent)}")


def parse_request(record: Any, intents: Iterable[str]) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _RowError(f"expected a JSON object, got {type(record).__name__}")
    _missing(record, REQUEST_COLUMNS, optional={"quality_score", "error_code"})
    error_code = record.get("error_code")
    if not _empty(error_code):
        error_code = _text(error_code, "error_code")
    else:
        error_code = None
    quality = record.get("quality_score")
    if error_code is not None and not _empty(quality):
        raise _RowError(f"quality_score: must be empty on an error row (error_code {error_code!r}); errors are not scored")
    latency_ms = _number(record["latency_ms"], "latency_ms", low=0.0, strict_low=error_code is None)
    return {
        "event_time": _time(record["event_time"], "event_time"),
        "experiment_id": _text(record["experiment_id"], "experiment_id"),
        "session_id": _text(record["session_id"], "session_id"),
        "arm": _text(record["arm"], "arm", ARMS),
        "config_id": _text(record["config_id"], "config_id"),
        "intent": _text(record["intent"], "intent", intents),
        "quality_score": None if _empty(quality) else _number(quality, "quality_score", low=0.0, high=1.0),
        "latency_ms": latency_ms,
        "input_tokens": _count(record["input_tokens"], "input_tokens"),
        "output_tokens": _count(record["output_tokens"], "output_tokens"),
        "cost_usd": _number(record["cost_usd"], "cost_usd", low=0.0),
        "error_code": error_code,
    }


def parse_session(record: Any, intents: Iterable[str] = ()) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _RowError(f"expected a JSON object, got {type(record).__name__}")
    _missing(record, SESSION_COLUMNS, optional=set())
    return {
        "experiment_id": _text(record["experiment_id"], "experiment_id"),
        "session_id": _text(record["session_id"], "session_id"),
        "arm": _text(record["arm"], "arm", ARMS),
        "started_at": _time(record["started_at"], "started_at"),
        "cart_add": _flag(record["cart_add"], "cart_add"),
        "escalated": _flag(record["escalated"], "escalated"),
        "continued": _flag(record["continued"], "continued"),
        "duration_s": _number(record["duration_s"], "duration_s", low=0.0),
    }


PARSERS: dict[str, Callable[..., dict[str, Any]]] = {"requests": parse_request, "sessions": parse_session}


def _records(path: Path) -> Iterable[tuple[int, Any, str | None]]:
    """(line or row number, record or None, parse problem) for a JSON Lines or Parquet file."""
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except (OSError, pa.ArrowException) as exc:
            raise MangaEvalError(f"{path}: not a readable Parquet file ({exc})") from None
        for number, record in enumerate(frame.to_dict(orient="records"), start=1):
            yield number, {k: (None if _empty(v) else (v.isoformat() if isinstance(v, (pd.Timestamp, datetime)) and v.tzinfo else v))
                           for k, v in record.items()}, None
        return
    with path.open(encoding="utf-8") as handle:
        number = 0
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line), None
                except json.JSONDecodeError as exc:
                    yield number, line.rstrip("\n"), f"invalid JSON ({exc.msg} at column {exc.colno})"
        except UnicodeDecodeError as exc:
            raise MangaEvalError(f"{path}: not UTF-8 text (a byte that is not UTF-8 after line {number}: {exc.reason}); "
                                 "event files are JSON Lines in UTF-8, or Parquet") from None


def parse_file(path: str | Path, kind: str, intents: Iterable[str] | None = None, source: str | None = None) -> ParsedEvents:
    """Every row of an event file checked; valid rows in warehouse layout, the rest quarantined with reasons."""
    if kind not in KINDS:
        raise MangaEvalError(f"event kind {kind!r}: expected one of {sorted(KINDS)}")
    path = Path(path)
    if not path.is_file():
        raise MangaEvalError(f"{path}: no such event file")
    if intents is None:
        from mangaeval.intents import load_intents

        intents = load_intents()
    intents = frozenset(intents)
    source = source or str(path)
    rows, lines, quarantined, seen_sessions = [], [], [], set()
    for number, record, problem in _records(path):
        if problem is None:
            try:
                row = PARSERS[kind](record, intents)
                if kind == "sessions":
                    key = (row["experiment_id"], row["session_id"])
                    if key in seen_sessions:
                        raise _RowError(f"duplicate session {row['session_id']!r} of experiment {row['experiment_id']!r}")
                    seen_sessions.add(key)
                rows.append(row)
                lines.append(number)
                continue
            except _RowError as exc:
                problem = str(exc)
        raw = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False, default=str)
        quarantined.append({"source": source, "line": number, "kind": kind, "reason": problem, "raw": raw[:2000]})
    return ParsedEvents(kind, pd.DataFrame(rows, columns=KINDS[kind]), quarantined, lines)


def format_problems(parsed: ParsedEvents, limit: int = 20) -> list[str]:
    lines = [f"{q['source']}:{q['line']}: {q['reason']}" for q in parsed.quarantined[:limit]]
    if len(parsed.quarantined) > limit:
        lines.append(f"... and {len(parsed.quarantined) - limit} more")
    return lines

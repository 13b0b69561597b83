"""The result-row layout, and writing/reading result Parquet through pandas."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa

from mangaeval.clusters import with_cluster_ids
from mangaeval.errors import MangaEvalError
from mangaeval.text import normalize

RESULT_SCHEMA = pa.schema([
    ("run_id", pa.string()),
    ("config_id", pa.string()),
    ("model_id", pa.string()),
    ("intent", pa.string()),
    ("test_id", pa.string()),
    ("language", pa.string()),
    ("dataset_version", pa.string()),
    ("prompt_version", pa.string()),
    ("response_text", pa.string()),
    ("input_tokens", pa.int64()),
    ("output_tokens", pa.int64()),
    ("cost_usd", pa.float64()),
    ("latency_ms", pa.int64()),
    ("wall_ms", pa.float64()),
    ("status", pa.string()),
    ("error_code", pa.string()),
    ("attempts", pa.int32()),
    ("stop_reason", pa.string()),
    ("error_message", pa.string()),
    ("cache_hit", pa.bool_()),
    # The run whose call this row's answer came from, when it was reused from another run (an explicit choice);
    # such a row has no latency: a cached latency is never reported as a measured one.
    ("reused_from", pa.string()),
    # Quality scores (mangaeval.scoring); empty for error rows, which are counted, never scored.
    ("quality_score", pa.float64()),
    ("passed", pa.bool_()),
    ("score_relevance", pa.float64()),
    ("score_factual_accuracy", pa.float64()),
    ("score_completeness", pa.float64()),
    ("score_language_match", pa.float64()),
    ("score_format_length", pa.float64()),
    ("score_safety_policy", pa.float64()),
    ("score_judge", pa.float64()),
    ("judge_error", pa.string()),
    ("critical_failure", pa.string()),
    # The case's cluster (mangaeval.clusters): cases sharing a query or a template are one piece of evidence. Files
    # without it are read with cluster = test_id. Before answer_hash, which the scorer keeps last.
    ("cluster_id", pa.string()),
    # sha256 of the answer's normal form (answer_hash below); what a person's label names, so a label of an answer
    # that has since changed is never counted against the new one. Empty on error rows (no answer).
    ("answer_hash", pa.string()),
])
RESULT_COLUMNS = RESULT_SCHEMA.names
STATUSES = ("ok", "error")


def answer_hash(text: str | None) -> str | None:
    """The identity of an answer, the same everywhere (result rows, labels, calibration): sha256 hex of the text in
    mangaeval.text.normalize's form (NFKC, case-folded, whitespace collapsed), so a difference no reader would
    see (spacing, full-width digits) keeps the hash and any other edit changes it. None for no answer."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    return hashlib.sha256(normalize(str(text)).encode("utf-8")).hexdigest()


def with_answer_hash(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with `answer_hash` computed from `response_text` on ok rows (empty on error rows)."""
    statuses = frame["status"] if "status" in frame else pd.Series(["ok"] * len(frame), index=frame.index)
    hashes = [answer_hash(text) if status == "ok" else None for status, text in zip(statuses, frame["response_text"])]
    # Dropped and added again: the column goes last, where the layout has it.
    return frame.drop(columns=["answer_hash"], errors="ignore").assign(answer_hash=pd.Series(pd.array(hashes, dtype="string[pyarrow]"), index=frame.index))


def rows_to_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    rows = [row if "answer_hash" in row or row.get("status") != "ok" else {**row, "answer_hash": answer_hash(row.get("response_text"))}
            for row in rows]
    table = pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def write_results(frame: pd.DataFrame, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False, schema=RESULT_SCHEMA)
    tmp.replace(path)  # readers never see a half-written file
    return path


def read_results(path: Path) -> pd.DataFrame:
    """Read one Parquet file or every `*.parquet` under a folder, each checked against the layout's column types
    (ResultsError naming the file, column and a row when it does not fit)."""
    path = Path(path)
    if not path.exists():
        raise ResultsError(f"{path}: no such results file or folder")
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise ResultsError(f"{path}: no result Parquet files")
    frames = []
    for f in files:
        try:
            frame = pd.read_parquet(f, dtype_backend="pyarrow")
        except (OSError, pa.ArrowException) as exc:
            raise ResultsError(f"{f}: not a readable Parquet file ({exc})") from None
        frames.append(with_cluster_ids(conform_types(frame, str(f))))
    return pd.concat(frames, ignore_index=True)


class ResultsError(MangaEvalError):
    """A results file is missing, unreadable or does not fit the result-row layout."""


_KIND = {pa.int64(): "whole numbers", pa.int32(): "whole numbers", pa.float64(): "numbers", pa.string(): "text", pa.bool_(): "true/false"}


def conform_types(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """The frame with each layout column it has cast to the layout's type (e.g. 812.0 in latency_ms -> 812); a value
    the cast would change or cannot read (812.5, 'free') is a ResultsError naming `where`, the column and the row."""
    cast = {}
    for column in RESULT_SCHEMA:
        if column.name not in frame.columns:
            continue
        try:
            values = pa.array(frame[column.name], from_pandas=True)
            if values.type != column.type:
                cast[column.name] = pd.Series(pd.arrays.ArrowExtensionArray(values.cast(column.type)), index=frame.index)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            raise ResultsError(_type_problem(frame, column, where)) from None
    return frame.assign(**cast) if cast else frame


def _type_problem(frame: pd.DataFrame, column: pa.Field, where: str) -> str:
    what = f"{where}: column '{column.name}' must hold {_KIND.get(column.type, str(column.type))} ({column.type})"
    for i, value in enumerate(frame[column.name]):
        try:
            pa.array([value], from_pandas=True).cast(column.type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            ids = ", ".join(f"{key} {frame[key].iloc[i]}" for key in ("test_id", "config_id") if key in frame.columns)
            return f"{what}; row {i}{f' ({ids})' if ids else ''} has {value!r}"
    return what

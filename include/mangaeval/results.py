"""The result-row layout, and writing/reading result Parquet through pandas."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa

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
])
RESULT_COLUMNS = RESULT_SCHEMA.names
STATUSES = ("ok", "error")


def rows_to_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    table = pa.Table.from_pylist(list(rows), schema=RESULT_SCHEMA)
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def write_results(frame: pd.DataFrame, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False, schema=RESULT_SCHEMA)
    tmp.replace(path)  # readers never see a half-written file
    return path


def read_results(path: Path) -> pd.DataFrame:
    """Read one Parquet file or every `*.parquet` under a folder."""
    path = Path(path)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"{path}: no result Parquet files")
    return pd.concat([pd.read_parquet(f, dtype_backend="pyarrow") for f in files], ignore_index=True)

"""The validation gate on a run's results, with Great Expectations (GX Core 1.x): schema, types, ranges,
allowed values, one row per expected (configuration, case), and error rate per configuration.

Each shard (configuration x intent) is validated on its own, so a failure names the shard; the error rate
is also checked per configuration over all its shards. A failed gate raises `GateFailed`, whose message
lists every failed expectation with its shard, column and examples; the DAG stops there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mangaeval.errors import MangaEvalError
from mangaeval.paths import CONFIG_DIR
from mangaeval.results import RESULT_SCHEMA
from mangaeval.scoring import DIMENSIONS

FLOAT_COLUMNS = ["cost_usd", "wall_ms", "quality_score", "score_judge", *(f"score_{d}" for d in DIMENSIONS)]
INT_COLUMNS = ["input_tokens", "output_tokens", "latency_ms", "attempts"]  # nullable: read as float64 for checking
SCORE_RANGE_COLUMNS = ["quality_score", "score_judge", *(f"score_{d}" for d in DIMENSIONS)]
KEY_COLUMNS = ["run_id", "config_id", "model_id", "intent", "test_id", "language", "dataset_version", "prompt_version", "status"]


class GateFailed(MangaEvalError):
    def __init__(self, failures: list[str]):
        self.failures = list(failures)
        super().__init__(f"validation gate failed ({len(failures)} expectation(s)); nothing was loaded or published:\n"
                         + "\n".join(f"  - {f}" for f in failures))


@dataclass
class GateReport:
    shards: int = 0
    expectations: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failures


def load_gate_config(path: Path | None = None) -> dict[str, Any]:
    path = Path(path or CONFIG_DIR / "validation.yaml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rate = doc.get("max_error_rate_per_config")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise MangaEvalError(f"{path}: 'max_error_rate_per_config' must be a number in [0, 1], got {rate!r}")
    return {"max_error_rate_per_config": float(rate)}


def _for_checking(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain numpy dtypes (GX reasons about those), plus the derived 0/1 `is_error` column."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        if column in FLOAT_COLUMNS or column in INT_COLUMNS:
            out[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        else:
            out[column] = frame[column].astype(object).where(frame[column].notna(), None)
    out["is_error"] = (frame["status"].astype(object) != "ok").astype("float64")
    return out


def _suite(gx: Any, name: str, expected_rows: int, intents: list[str], max_error_rate: float) -> Any:
    from great_expectations.expectations.row_conditions import Column

    E = gx.expectations
    ok, err = Column("status") == "ok", Column("status") == "error"
    measured = ok & Column("reused_from").is_null()  # an answer reused from another run carries no latency
    expectations = [
        E.ExpectTableColumnsToMatchSet(column_set=[*RESULT_SCHEMA.names, "is_error"], exact_match=True),
        E.ExpectTableRowCountToEqual(value=expected_rows),
        E.ExpectCompoundColumnsToBeUnique(column_list=["config_id", "test_id"]),
        *[E.ExpectColumnValuesToNotBeNull(column=c) for c in KEY_COLUMNS],
        *[E.ExpectColumnValuesToBeInTypeList(column=c, type_list=["float64"]) for c in FLOAT_COLUMNS + INT_COLUMNS],
        E.ExpectColumnValuesToBeInSet(column="status", value_set=["ok", "error"]),
        E.ExpectColumnValuesToBeInSet(column="intent", value_set=intents),
        E.ExpectColumnValuesToBeInSet(column="language", value_set=["en", "ja"]),
        *[E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1) for c in SCORE_RANGE_COLUMNS],
        *[E.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in ("input_tokens", "output_tokens", "cost_usd")],
        E.ExpectColumnValuesToBeBetween(column="latency_ms", min_value=0, strict_min=True, row_condition=ok),
        *[E.ExpectColumnValuesToNotBeNull(column=c, row_condition=ok)
          for c in ("response_text", "input_tokens", "output_tokens", "cost_usd", "quality_score", "passed")],
        E.ExpectColumnValuesToNotBeNull(column="latency_ms", row_condition=measured),
        E.ExpectColumnValuesToBeNull(column="latency_ms", row_condition=Column("reused_from").is_not_null()),
        E.ExpectColumnValuesToNotBeNull(column="error_code", row_condition=err),
        E.ExpectColumnValuesToBeNull(column="quality_score", row_condition=err),
        E.ExpectColumnMeanToBeBetween(column="is_error", min_value=0, max_value=max_error_rate),
    ]
    suite = gx.ExpectationSuite(name=name)
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite


def _describe(result: Any) -> str:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "condition_parser") and v is not None}
    detail = result.result or {}
    parts = [config.type, ", ".join(f"{k}={v!r}" for k, v in kwargs.items())]
    if "observed_value" in detail:
        parts.append(f"observed {detail['observed_value']!r}")
    if detail.get("unexpected_count"):
        parts.append(f"{detail['unexpected_count']} unexpected, e.g. {detail.get('partial_unexpected_list', [])[:3]}")
    if result.exception_info and result.exception_info.get("raised_exception"):
        parts.append(f"error: {result.exception_info.get('exception_message')}")
    return ": ".join(p for p in parts if p)


def validate_run(shards: dict[str, pd.DataFrame], expected_rows: dict[str, int], intents: list[str],
                 config_path: Path | None = None) -> GateReport:
    """Validate every shard and every configuration; returns the report (raise_if_failed to stop)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    limits = load_gate_config(config_path)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = context.data_sources.add_pandas("results").add_dataframe_asset("shard").add_batch_definition_whole_dataframe("whole")
    report = GateReport()
    checked: list[pd.DataFrame] = []
    for name, frame in sorted(shards.items()):
        data = _for_checking(frame)
        checked.append(data)
        suite = context.suites.add(_suite(gx, f"shard-{name}", expected_rows[name], intents, limits["max_error_rate_per_config"]))
        definition = context.validation_definitions.add(gx.ValidationDefinition(name=f"validate-{name}", data=batch, suite=suite))
        result = definition.run(batch_parameters={"dataframe": data}, result_format="SUMMARY")
        report.shards += 1
        report.expectations += len(result.results)
        report.failures += [f"shard {name}: {_describe(r)}" for r in result.results if not r.success]
    if checked:  # error rate per configuration, over all its shards
        everything = pd.concat(checked, ignore_index=True)
        suite = context.suites.add(gx.ExpectationSuite(name="per-configuration", expectations=[
            gx.expectations.ExpectColumnMeanToBeBetween(column="is_error", min_value=0, max_value=limits["max_error_rate_per_config"])]))
        definition = context.validation_definitions.add(gx.ValidationDefinition(name="per-configuration", data=batch, suite=suite))
        for config_id, group in everything.groupby("config_id", sort=True):
            result = definition.run(batch_parameters={"dataframe": group.reset_index(drop=True)}, result_format="SUMMARY")
            report.expectations += len(result.results)
            report.failures += [f"configuration {config_id}: {_describe(r)}" for r in result.results if not r.success]
    return report


def raise_if_failed(report: GateReport) -> None:
    if report.failures:
        raise GateFailed(report.failures)

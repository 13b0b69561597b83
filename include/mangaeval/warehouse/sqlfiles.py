"""SQL files of sql/, with `:name` placeholders rewritten to each driver's bound-parameter style."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from mangaeval.paths import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
_PLACEHOLDER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
# Views in dependency order: staging, intermediate, marts.
VIEW_FILES = ["staging/stg_eval_results.sql", "intermediate/int_config_intent_metrics.sql", "marts/mart_pareto_frontier.sql",
              "marts/mart_routing_eligible.sql", "marts/mart_routing_recommendation.sql", "marts/mart_monthly_projection.sql",
              # what the dashboards read (the dashboard contract, README "Dashboards")
              "marts/mart_eval_runs.sql", "marts/mart_eval_run_index.sql", "marts/mart_eval_config_intent.sql", "marts/mart_eval_trend.sql",
              "marts/mart_eval_cases.sql", "marts/mart_eval_answers.sql",
              "marts/mart_benchmark_trend.sql"]  # benchmark suite figures (mangaeval bench)
RUN_TABLES = ("eval_results", "quality_pairs", "routing_policy", "intent_mix", "current_routing", "eval_cases",
              "model_prices")  # the identifier allow-list
# Live-traffic tables, replaced by a key column (a load's source, an analysis' experiment and time): table -> key columns.
KEYED_TABLES = {
    "request_events": ("load_id",), "session_events": ("load_id",), "event_quarantine": ("load_id",),
    "ab_analysis_metrics": ("experiment_id", "analyzed_at"), "ab_decisions": ("experiment_id", "analyzed_at"),
    "canary_stage_metrics": ("rollout_id", "stage"), "canary_decisions": ("rollout_id", "stage"),
    "event_watermarks": ("source",),
    "benchmark_results": ("result_id",),
}


# Derived tables the warehouse keeps in step with a keyed table, inside the same transaction as its replace:
# table -> (SQL run before the old rows go, SQL run after the new rows are in), both given the key.
MAINTAINED_WITH = {
    "request_events": ("ab/request_session_totals_touch.sql", "ab/request_session_totals_refresh.sql"),
}


@lru_cache(maxsize=64)
def read_sql(relative: str) -> str:
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def engine_variant(relative: str, engine_folder: str) -> str:
    """The engine's own version of a query file where one exists (sql/ab/redshift/x.sql for ab/x.sql on
    Redshift), else the portable file: only where an engine lacks a construct the portable SQL relies on."""
    if engine_folder != "portable":
        path = Path(relative)
        variant = path.parent / engine_folder / path.name
        if (SQL_DIR / variant).is_file():
            return variant.as_posix()
    return relative


def without_comments(text: str) -> str:
    """SQL text without its comment-only lines (their `:name` mentions are not parameters)."""
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))


def statements(relative: str) -> list[str]:
    """The statements of a file, without comment-only lines."""
    return [s.strip() for s in without_comments(read_sql(relative)).split(";") if s.strip()]


def placeholders(sql: str) -> set[str]:
    """The `:name` parameters a statement uses."""
    return set(_PLACEHOLDER.findall(sql))


def to_paramstyle(sql: str, style: str) -> str:
    """`:name` -> `$name` (DuckDB) or `%(name)s` (psycopg, redshift-connector in pyformat)."""
    if style == "dollar":
        return _PLACEHOLDER.sub(r"$\1", sql)
    if style == "pyformat":
        return _PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%"))
    raise ValueError(f"unknown paramstyle {style!r}")


def checked_table(name: str) -> str:
    if name not in RUN_TABLES and name not in KEYED_TABLES and name != "eval_results_staging":
        raise ValueError(f"table {name!r} is not in the allow-list {RUN_TABLES + tuple(KEYED_TABLES)}")
    return name


def ddl_files(engine_folder: str) -> list[str]:
    """Every DDL file of an engine's folder (ddl/portable or ddl/redshift), in name order."""
    return sorted(f"ddl/{engine_folder}/{p.name}" for p in (SQL_DIR / "ddl" / engine_folder).glob("*.sql"))

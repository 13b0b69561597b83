"""The warehouse interface and its three engines. Loads are idempotent by run id and atomic: a run's rows
are deleted and inserted again inside one transaction, so a rerun leaves exactly the same rows and a
failure leaves the previous state untouched."""

from __future__ import annotations

import contextlib
import json
import os
import re
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa

from mangaeval.errors import MangaEvalError
from mangaeval.paths import DATA_DIR
from mangaeval.results import RESULT_SCHEMA
from mangaeval.warehouse.sqlfiles import KEYED_TABLES, MAINTAINED_WITH, RUN_TABLES, checked_table, engine_variant, placeholders, statements, to_paramstyle, read_sql, without_comments

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
QUERIES = {"aggregates": "queries/metrics.sql", "frontier": "queries/frontier.sql", "recommendation": "queries/recommendation.sql",
           "projection_by_config": "queries/projection_by_config.sql", "projection_by_intent": "queries/projection_by_intent.sql",
           "pairs": "queries/quality_pairs.sql"}
COLUMNS = {
    "eval_results": RESULT_SCHEMA.names,
    "quality_pairs": ["run_id", "intent", "config_id", "reference_config_id", "n_pairs", "mean_diff", "lower_95", "n_clusters"],
    "routing_policy": ["run_id", "min_pass_rate", "sla_p95_ms", "max_error_rate", "non_inferiority_margin", "messages_per_day",
                       "days_per_month", "baseline_config_id", "default_config_id"],
    "intent_mix": ["run_id", "intent", "traffic_share", "cache_hit_rate"],
    "current_routing": ["run_id", "intent", "config_id"],
    "eval_cases": ["run_id", "test_id", "intent", "language", "dataset_version", "tags", "query", "reference_answer", "source",
                   "case_json"],
    "model_prices": ["run_id", "model_id", "input_usd_per_mtok", "output_usd_per_mtok"],
}
EVENT_COLUMNS = {
    "request_events": ["load_id", "event_time", "experiment_id", "session_id", "arm", "config_id", "intent", "quality_score",
                       "latency_ms", "input_tokens", "output_tokens", "cost_usd", "error_code"],
    "session_events": ["load_id", "experiment_id", "session_id", "arm", "started_at", "cart_add", "escalated", "continued",
                       "duration_s"],
    "event_quarantine": ["load_id", "source", "line", "kind", "reason", "raw"],
    "event_watermarks": ["source", "complete_through", "updated_at"],
    "ab_analysis_metrics": ["experiment_id", "analyzed_at", "metric", "role", "control_n", "treatment_n", "control_mean",
                            "treatment_mean", "effect", "ci_low", "ci_high", "relative_effect", "relative_ci_low",
                            "relative_ci_high", "p_value", "p_value_sequential", "cs_low", "cs_high", "status"],
    "ab_decisions": ["experiment_id", "analyzed_at", "decision", "reasons", "srm_p_value", "srm_status", "control_sessions",
                     "treatment_sessions", "proposal"],
}
CANARY_COLUMNS = {
    "canary_stage_metrics": ["rollout_id", "stage", "traffic_pct", "window_start", "window_end", "metric", "status",
                             "baseline_value", "canary_value", "threshold", "detail"],
    "canary_decisions": ["rollout_id", "stage", "traffic_pct", "decided_at", "verdict", "action", "reasons", "split_version"],
}
COLUMNS["benchmark_results"] = ["result_id", "created_at", "environment", "config_id", "model_id", "benchmark", "figure", "value",
                                 "ci_low", "ci_high", "n", "unit"]
COLUMNS.update(EVENT_COLUMNS)
COLUMNS.update(CANARY_COLUMNS)
# SQL views beyond the evaluation marts (dashboards of live traffic), created after the tables.
EXTRA_VIEW_FILES: list[str] = ["ab/v_ab_results.sql", "marts/mart_ab_decisions.sql", "marts/mart_canary_stages.sql",
                                  "marts/mart_canary_metrics.sql",
                                  "staging/stg_live_requests.sql"]  # live traffic's sizes (the calibrated projection)


class Warehouse:
    paramstyle = "pyformat"
    ddl_folder = "portable"
    migrates_on_first_use = False  # the embedded DuckDB: no init job runs for it (mangaeval.warehouse.migrations)
    locks_ledger = True  # LOCK TABLE schema_migrations while migrating (DuckDB has no LOCK: one writer per file anyway)

    # The schema (mangaeval.warehouse.migrations): created and changed by the migration step, checked by tasks.
    def migrate(self) -> list[str]:
        """Apply the pending migrations (DDL files, then the views); the versions applied."""
        from mangaeval.warehouse.migrations import migrate

        return migrate(self)

    def schema_status(self):
        from mangaeval.warehouse.migrations import status

        return status(self)

    def require_schema(self) -> None:
        """What tasks call: the schema is current, else SchemaBehind saying to run the migration (an embedded
        DuckDB migrates itself instead)."""
        from mangaeval.warehouse.migrations import require

        require(self)

    def ensure_schema(self) -> None:
        """Migrate now: tests, benchmarks and in-memory warehouses that make their own schema."""
        self.migrate()

    def variant(self, relative: str) -> str:
        return engine_variant(relative, self.ddl_folder)

    def lock_ledger(self, cur: Any) -> None:
        if self.locks_ledger:
            self.execute_script_in(cur, self.variant("migrations/lock.sql"), {})

    @contextlib.contextmanager
    def autocommit(self) -> Iterator[Any]:
        """A cursor whose statements run outside a transaction block (Redshift needs it for some DDL); the
        engines here run them in a transaction, which is at least as strict."""
        with self.transaction() as cur:
            yield cur

    def describe(self) -> str:
        return self.__class__.__name__

    def replace_keyed(self, table: str, key: dict[str, Any], rows: list[dict[str, Any]] | pd.DataFrame) -> int:
        """Replace the rows of `table` whose key columns equal `key` by `rows`, atomically (idempotent reloads)."""
        return self.replace_many({table: (key, rows)})[table]

    def replace_many(self, changes: dict[str, tuple[dict[str, Any], Any]],
                     then: Callable[[Any], None] | None = None) -> dict[str, int]:
        """Several keyed replacements in ONE transaction: all land, or none does. `then(cursor)` runs last in
        the same transaction (a check or correction that must see the new rows; if it raises, nothing lands)."""
        counts = {}
        with self.transaction() as cur:
            for table, (key, rows) in changes.items():
                checked_table(table)
                if table not in KEYED_TABLES or set(key) != set(KEYED_TABLES[table]):
                    raise MangaEvalError(f"{table}: rows are replaced by {KEYED_TABLES.get(table)}, not by {sorted(key)}")
                where = " AND ".join(f"{column} = {self._param(column)}" for column in KEYED_TABLES[table])
                if table in MAINTAINED_WITH:
                    self.execute_script_in(cur, MAINTAINED_WITH[table][0], dict(key))
                cur.execute(f"DELETE FROM {table} WHERE {where}", dict(key))
                frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=COLUMNS[table])
                for column, value in key.items():
                    if len(frame) and (frame[column] != value).any():
                        raise MangaEvalError(f"{table}: a row whose {column} is not {value!r} in a load keyed by it")
                if len(frame):
                    self._insert(cur, table, frame)
                if table in MAINTAINED_WITH:
                    self.execute_script_in(cur, MAINTAINED_WITH[table][1], dict(key))
                counts[table] = len(frame)
            if then is not None:
                then(cur)
        return counts

    def fetch_in(self, cur: Any, relative: str, params: dict[str, Any]) -> pd.DataFrame:
        """A query file's rows, on a cursor of an open transaction."""
        cur.execute(*self._statement(relative, params))
        frame = pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])
        for column in frame.columns:  # DECIMAL figures come back as Decimal: make them floats
            if frame[column].dtype == object and frame[column].map(lambda v: v.__class__.__name__ == "Decimal").any():
                frame[column] = frame[column].astype("float64")
        return frame

    def execute_in(self, cur: Any, relative: str, params: dict[str, Any]) -> None:
        """A single-statement SQL file, on a cursor of an open transaction."""
        cur.execute(*self._statement(relative, params))

    def execute_script_in(self, cur: Any, relative: str, params: dict[str, Any]) -> None:
        """Every statement of a SQL file, in order, on a cursor of an open transaction."""
        for statement in statements(relative):
            cur.execute(*self._bind(statement, params))

    def insert_in(self, cur: Any, table: str, rows: pd.DataFrame) -> None:
        """Rows appended to an allow-listed table, on a cursor of an open transaction."""
        if len(rows):
            self._insert(cur, checked_table(table), rows)

    def _statement(self, relative: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A single-statement query file (the engine's variant where there is one), bound by _bind."""
        return self._bind(without_comments(read_sql(engine_variant(relative, self.ddl_folder))).strip().rstrip(";"), params)

    def _bind(self, statement: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A statement in this driver's parameter style, and the parameters it uses: an engine's variant may use
        fewer than the portable file, and DuckDB rejects unused ones."""
        used = placeholders(statement)
        return to_paramstyle(statement, self.paramstyle), {k: v for k, v in params.items() if k in used}

    def load_run(self, run_id: str, tables: dict[str, list[dict[str, Any]] | pd.DataFrame],
                 shard_uris: list[str] | None = None) -> dict[str, int]:
        """Replace everything stored for `run_id` with `tables` (name -> rows), atomically. `shard_uris`: the
        Parquet shards the eval_results rows were read from (Redshift COPYs those; the others insert the rows)."""
        counts = {}
        with self.transaction() as cur:
            for table in RUN_TABLES:
                cur.execute(f"DELETE FROM {checked_table(table)} WHERE run_id = " + self._param("run_id"), {"run_id": run_id})
            for table, rows in tables.items():
                check_run_rows(table, rows, run_id)
                self._insert(cur, checked_table(table), rows)
                counts[table] = len(rows)
        return counts

    def query(self, relative: str, params: dict[str, Any]) -> pd.DataFrame:
        with self.transaction() as cur:
            return self.fetch_in(cur, relative, params)

    def decisions(self, run_id: str) -> dict[str, pd.DataFrame]:
        return {name: self.query(path, {"run_id": run_id}) for name, path in QUERIES.items()}

    def count_rows(self, table: str, run_id: str) -> int:
        with self.transaction() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {checked_table(table)} WHERE run_id = " + self._param("run_id"), {"run_id": run_id})
            return int(cur.fetchone()[0])

    def _param(self, name: str) -> str:
        return f"${name}" if self.paramstyle == "dollar" else f"%({name})s"

    # Engine specifics
    def transaction(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _insert(self, cur: Any, table: str, rows: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass


def check_run_rows(table: str, rows: Any, run_id: str) -> None:
    """Every row of a run's load belongs to that run."""
    if isinstance(rows, pa.Table):
        run_ids = set(rows.column("run_id").unique().to_pylist())
    elif isinstance(rows, pd.DataFrame):
        run_ids = set(rows["run_id"].unique())
    else:
        run_ids = {r.get("run_id") for r in rows}
    wrong = run_ids - {run_id}
    if wrong:
        raise MangaEvalError(f"{table}: rows of run(s) {sorted(map(str, wrong))} in a load of run {run_id}")


def _arrow(table: str, rows: list[dict[str, Any]] | pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(rows, pa.Table):  # bulk loads (benchmarks): already columnar
        return rows
    if table == "eval_results":
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=RESULT_SCHEMA.names)
        return pa.Table.from_pandas(frame[RESULT_SCHEMA.names], schema=RESULT_SCHEMA, preserve_index=False)
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=COLUMNS[table])
    return pa.Table.from_pandas(frame[COLUMNS[table]], preserve_index=False)


def connect(uri: str | None = None) -> Warehouse:
    """`duckdb:///path` (default: data/warehouse.duckdb), `postgresql://...?schema=name`, or `redshift://...`.

    Without `uri`: inside a DAG task whose settings name a warehouse connection (MANGAEVAL_WAREHOUSE_CONN_ID, see
    mangaeval.connections) that connection; else MANGAEVAL_WAREHOUSE_URI; else the local DuckDB file. A URI
    never carries a password (refused): a connection holds it, or IAM, or PostgreSQL's PGPASSWORD / ~/.pgpass.
    """
    from mangaeval.connections import active

    settings = active()
    if uri is None and settings.warehouse_conn_id:
        return connect_connection(settings.warehouse_conn_id, aws_conn_id=settings.aws_conn_id)
    source = "the warehouse URI" if uri else "MANGAEVAL_WAREHOUSE_URI"
    uri = uri or os.environ.get("MANGAEVAL_WAREHOUSE_URI") or f"duckdb:///{DATA_DIR / 'warehouse.duckdb'}"
    parsed = urlparse(uri)
    if parsed.password:
        raise MangaEvalError(
            f"{source} {_masked(parsed)} carries a password: a password never goes in a URI (environment variables and "
            "process lists show it). Use a warehouse connection that holds it (Airflow: MANGAEVAL_WAREHOUSE_CONN_ID), "
            "IAM authentication for Redshift, or PGPASSWORD / ~/.pgpass for PostgreSQL, with the URI left without it.")
    if parsed.scheme == "duckdb":
        from mangaeval.warehouse.duckdb_engine import DuckDBWarehouse

        return DuckDBWarehouse(parsed.path if parsed.path not in ("", "/:memory:") else ":memory:")
    if parsed.scheme in ("postgresql", "postgres"):
        from mangaeval.warehouse.postgres_engine import PostgresWarehouse

        return PostgresWarehouse(uri)
    if parsed.scheme == "redshift":
        if settings.in_airflow:
            raise MangaEvalError(f"{source} {_masked(parsed)}: inside Airflow a Redshift warehouse comes from an Airflow "
                                 "connection: set MANGAEVAL_WAREHOUSE_CONN_ID to a redshift connection (IAM or its password)")
        from mangaeval.warehouse.redshift_engine import RedshiftWarehouse

        return RedshiftWarehouse(uri)
    raise MangaEvalError(f"warehouse URI {_masked(parsed)}: unknown engine (use duckdb:///path, postgresql://..., redshift://...)")


def connect_connection(conn_id: str, aws_conn_id: str | None = None) -> Warehouse:
    """The warehouse of an Airflow connection: `redshift` (through the Amazon provider's RedshiftSQLHook: the
    connection's password, or IAM with extra {"iam": true} and a token from the AWS connection `aws_conn_id`) or
    `postgres` (host, port, login, password; the database in its schema field, the warehouse's PostgreSQL schema
    in extra `warehouse_schema`, default public)."""
    from mangaeval.connections import DEFAULT_AWS_CONN_ID, get_connection

    connection = get_connection(conn_id)
    if connection.conn_type == "redshift":
        from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

        from mangaeval.warehouse.redshift_engine import RedshiftWarehouse

        hook = RedshiftSQLHook(redshift_conn_id=conn_id, aws_conn_id=aws_conn_id or DEFAULT_AWS_CONN_ID)
        # The role COPY assumes: extra copy_iam_role (MANGAEVAL_REDSHIFT_COPY_ROLE, the earlier setting, still read).
        # The hook hands every extra to redshift_connector.connect, which takes no such argument: ours is removed.
        extra = dict(hook.conn.extra_dejson)
        copy_role = extra.pop("copy_iam_role", None) or os.environ.get("MANGAEVAL_REDSHIFT_COPY_ROLE")
        hook.conn.extra = json.dumps(extra)
        return RedshiftWarehouse(connect=hook.get_conn, iam_role=copy_role)
    if connection.conn_type in ("postgres", "postgresql"):
        from mangaeval.warehouse.postgres_engine import PostgresWarehouse

        params = {"host": connection.host, "port": connection.port, "dbname": connection.schema, "user": connection.login,
                  "password": connection.password}
        return PostgresWarehouse(params={k: v for k, v in params.items() if v}, schema=connection.extra_dejson.get("warehouse_schema"))
    raise MangaEvalError(f"warehouse connection {conn_id!r} is of type {connection.conn_type!r}: use a redshift or postgres connection")


def _masked(parsed: Any) -> str:
    """A URI as it may be shown: without its password."""
    if not parsed.password:
        return parsed.geturl()
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return parsed._replace(netloc=netloc).geturl()


def checked_schema(name: str) -> str:
    if not _SCHEMA_NAME.match(name):
        raise MangaEvalError(f"schema name {name!r} is not a plain lower-case identifier")
    return name

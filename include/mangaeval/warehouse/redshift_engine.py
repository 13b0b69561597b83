"""Amazon Redshift (redshift-connector). Production path, kept thin (it cannot run without AWS):
a run's result rows are COPYed from its Parquet shards in S3 through a manifest whose entries are all
mandatory into a staging table, then the run is replaced (delete by run id + insert from staging) inside one
transaction, retried on serialization conflicts (SQLSTATE 40001); see mangaeval.warehouse.redshift_copy. The
run's small tables (policy, intent mix, current routing, quality pairs, its cases) and the keyed tables go in
by multi-row INSERT ... VALUES batches, never row by row. The analytic SQL is the same files as on DuckDB and
PostgreSQL; the schema comes from migrations (sql/ddl/redshift/, mangaeval.warehouse.migrations).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlparse

from mangaeval.errors import MangaEvalError
from mangaeval.warehouse import redshift_copy
from mangaeval.warehouse.base import Warehouse, _arrow, check_run_rows
from mangaeval.warehouse.redshift_copy import copy_statement
from mangaeval.warehouse.sqlfiles import RUN_TABLES, checked_table

SERIALIZATION_FAILURE = "40001"
# Rows per INSERT ... VALUES statement: a statement binds at most 32,767 parameters (the protocol's limit).
MAX_PARAMETERS = 30000
MAX_ROWS_PER_INSERT = 1000


def _option(value: str) -> Any:
    """A URI query value as redshift_connector wants it: true/false as booleans (iam=true), the rest as given."""
    return {"true": True, "false": False}.get(value.lower(), value)


class RedshiftWarehouse(Warehouse):
    paramstyle = "pyformat"
    ddl_folder = "redshift"
    max_attempts = 5
    retry_base_s = 0.5  # backoff after a serialization conflict: 1 s, 2 s, 4 s, ... (at most 30 s)
    # No LOCK on the migration ledger (Redshift's LOCK takes no mode and blocks readers): a second migrator running
    # at the same time reads and writes the same ledger rows, and Redshift's serializable isolation fails one of
    # them (rerun: nothing is pending then).
    locks_ledger = False

    def __init__(self, uri: str | None = None, *, connect: Callable[[], Any] | None = None, iam_role: str | None = None):
        """From `redshift://user@host:5439/db?iam_role=...&<redshift_connector options>` (the command line: no password
        in it; IAM with `iam=true&cluster_identifier=...`), or from `connect()`, a function returning an open
        redshift_connector connection (a DAG task: the Airflow connection's RedshiftSQLHook.get_conn), with `iam_role`
        the role COPY assumes."""
        import redshift_connector

        redshift_connector.paramstyle = "pyformat"
        self.iam_role = iam_role
        if connect is None:
            parsed = urlparse(uri)
            options: dict[str, Any] = {k: _option(v[0]) for k, v in parse_qs(parsed.query).items()}
            self.iam_role = options.pop("iam_role", None) or iam_role
            self.con = redshift_connector.connect(host=parsed.hostname, port=parsed.port or 5439, database=parsed.path.lstrip("/"),
                                                  user=parsed.username, password=parsed.password, **options)
        else:
            self.con = connect()
        self.con.autocommit = False

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        cur = self.con.cursor()
        try:
            yield cur
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        finally:
            cur.close()

    def describe(self) -> str:
        return "Redshift"

    @contextlib.contextmanager
    def autocommit(self) -> Iterator[Any]:
        """Statements Redshift refuses inside a transaction block (migrations marked no-transaction)."""
        self.con.autocommit = True
        cur = self.con.cursor()
        try:
            yield cur
        finally:
            cur.close()
            self.con.autocommit = False

    def load_run(self, run_id: str, tables: dict[str, Any], shard_uris: list[str] | None = None) -> dict[str, int]:
        """Replace everything stored for `run_id`, in one transaction: eval_results by COPY from `shard_uris`
        (the run's Parquet shards in S3, through a manifest written beside them), the other tables by batched
        INSERTs. Refused, before anything is written, without shards or without the IAM role COPY assumes."""
        for table, rows in tables.items():
            check_run_rows(checked_table(table), rows, run_id)
        manifest = None
        if "eval_results" in tables:
            if not shard_uris:
                raise MangaEvalError(f"run {run_id}: Redshift loads eval_results by COPY from the run's Parquet shards in S3; "
                                     "give their s3:// URIs (the pipeline's load_warehouse does); there is no row-by-row fallback")
            role = redshift_copy.checked_role(self.iam_role)
            manifest, _ = redshift_copy.write_manifest(run_id, shard_uris)
        counts: dict[str, int] = {}
        for attempt in range(1, self.max_attempts + 1):
            try:
                with self.transaction() as cur:
                    if manifest is not None:
                        self._load_script(cur, "load/redshift_staging_create.sql")
                        cur.execute(copy_statement(manifest, role))
                        staged = self.fetch_in(cur, "load/redshift_staging_check.sql", {"run_id": run_id})
                        redshift_copy.check_staged(int(staged["staged_rows"].iloc[0]), int(staged["other_runs_rows"].fillna(0).iloc[0]),
                                                   len(tables["eval_results"]), run_id, manifest)
                    for table in RUN_TABLES:
                        cur.execute(f"DELETE FROM {checked_table(table)} WHERE run_id = %(run_id)s", {"run_id": run_id})
                    if manifest is not None:
                        self._load_script(cur, "load/redshift_replace_from_staging.sql")
                        counts["eval_results"] = len(tables["eval_results"])
                    for table, rows in tables.items():
                        if table != "eval_results":
                            self._insert(cur, table, rows)
                            counts[table] = len(rows)
                return counts
            except Exception as exc:  # redshift_connector raises ProgrammingError with the SQLSTATE in args
                if SERIALIZATION_FAILURE in str(exc) and attempt < self.max_attempts:
                    time.sleep(min(30.0, self.retry_base_s * 2 ** attempt))
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _load_script(self, cur: Any, relative: str) -> None:
        """A load file of sql/load/, its {result_columns} filled in (no parameters)."""
        for statement in redshift_copy.script(relative):
            cur.execute(statement)

    def _insert(self, cur: Any, table: str, rows: Any) -> None:
        """Multi-row INSERT ... VALUES, in batches (one statement per batch, parameters bound): for the small
        tables of a run and the keyed tables. eval_results never goes this way on Redshift: COPY (load_run)."""
        if table == "eval_results":
            raise MangaEvalError("eval_results is loaded into Redshift by COPY from the run's shards (load_run with shard_uris), "
                                 "never by INSERT")
        incoming = _arrow(table, rows).to_pylist()
        if not incoming:
            return
        columns = list(incoming[0])
        per_statement = max(1, min(MAX_ROWS_PER_INSERT, MAX_PARAMETERS // len(columns)))
        for start in range(0, len(incoming), per_statement):
            batch = incoming[start:start + per_statement]
            values = ", ".join("(" + ", ".join(f"%(p{c}_{i})s" for c in range(len(columns))) + ")" for i in range(len(batch)))
            params = {f"p{c}_{i}": record[name] for i, record in enumerate(batch) for c, name in enumerate(columns)}
            cur.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}", params)

    def close(self) -> None:
        self.con.close()

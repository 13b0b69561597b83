"""Amazon Redshift (redshift-connector). Production path, kept thin (it cannot run without AWS):
shards are COPYed from S3 through a manifest whose entries are all mandatory into a staging table, then
the run is replaced (delete by run id + insert from staging) inside one transaction, retried on
serialization conflicts (SQLSTATE 40001). The analytic SQL is the same files as on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlparse

from mangaeval.errors import MangaEvalError
from mangaeval.warehouse.base import Warehouse
from mangaeval.warehouse.sqlfiles import read_sql

# COPY is a utility statement: Redshift does not bind parameters in it, so its two literals are checked
# against strict patterns (an allow-list of shapes) before they are quoted into the statement.
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/[A-Za-z0-9!_.*'()/=\-]+$")
_IAM_ROLE = re.compile(r"^arn:aws:iam::\d{12}:role/[A-Za-z0-9+=,.@_/\-]+$")
SERIALIZATION_FAILURE = "40001"


def manifest(uris: list[str]) -> str:
    """A COPY manifest listing every shard as mandatory: a missing shard fails the load, never half-loads it."""
    return json.dumps({"entries": [{"url": u, "mandatory": True} for u in sorted(uris)]}, indent=2)


def copy_statement(manifest_uri: str, iam_role: str) -> str:
    if not _S3_URI.match(manifest_uri):
        raise MangaEvalError(f"manifest URI {manifest_uri!r} is not a plain s3://bucket/key")
    if not _IAM_ROLE.match(iam_role):
        raise MangaEvalError(f"IAM role {iam_role!r} is not an IAM role ARN")
    sql = read_sql("load/redshift_copy_staging.sql")
    sql = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return sql.replace(":manifest_uri", f"'{manifest_uri}'").replace(":iam_role", f"'{iam_role}'").strip()


def _option(value: str) -> Any:
    """A URI query value as redshift_connector wants it: true/false as booleans (iam=true), the rest as given."""
    return {"true": True, "false": False}.get(value.lower(), value)


class RedshiftWarehouse(Warehouse):
    paramstyle = "pyformat"
    ddl_folder = "redshift"
    max_attempts = 5

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

    def load_run_from_s3(self, run_id: str, manifest_uri: str) -> None:
        """COPY the run's shards into staging, then replace the run, in one transaction (retrying 40001)."""
        if not self.iam_role:
            raise MangaEvalError("COPY from S3 needs the role Redshift assumes: ?iam_role=arn:aws:iam::...:role/... in the "
                                 "warehouse URI, or MANGAEVAL_REDSHIFT_COPY_ROLE with a warehouse connection")
        for attempt in range(1, self.max_attempts + 1):
            try:
                with self.transaction() as cur:
                    cur.execute("CREATE TEMP TABLE eval_results_staging (LIKE eval_results)")
                    cur.execute(copy_statement(manifest_uri, self.iam_role))
                    cur.execute("DELETE FROM eval_results WHERE run_id = %(run_id)s", {"run_id": run_id})
                    cur.execute("INSERT INTO eval_results SELECT * FROM eval_results_staging WHERE run_id = %(run_id)s", {"run_id": run_id})
                return
            except Exception as exc:  # redshift_connector raises ProgrammingError with the SQLSTATE in args
                if SERIALIZATION_FAILURE in str(exc) and attempt < self.max_attempts:
                    time.sleep(min(30.0, 0.5 * 2 ** attempt))
                    continue
                raise

    def _insert(self, cur: Any, table: str, rows: Any) -> None:
        # Small tables (policy, mix, pairs, current routing): a multi-row parameterised INSERT.
        from mangaeval.warehouse.base import _arrow

        incoming = _arrow(table, rows).to_pylist()
        if not incoming:
            return
        columns = list(incoming[0])
        placeholders = ", ".join(f"%({c})s" for c in columns)
        cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", incoming)

    def close(self) -> None:
        self.con.close()

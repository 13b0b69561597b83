"""PostgreSQL (psycopg 3): integration tests run the warehouse SQL here, on the machine's server."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

from mangaeval.warehouse.base import Warehouse, _arrow, checked_schema


class PostgresWarehouse(Warehouse):
    paramstyle = "pyformat"

    def __init__(self, uri: str | None = None, *, params: dict[str, Any] | None = None, schema: str | None = None):
        """From `postgresql://user@host:5432/db?schema=name` (the password from PGPASSWORD or ~/.pgpass, never the
        URI), or from psycopg connection `params` (an Airflow connection's) and `schema`."""
        import psycopg

        if uri is not None:
            parsed = urlparse(uri)
            query = parse_qs(parsed.query)
            schema = query.pop("schema", [schema or "public"])[0]
            dsn = urlunparse(parsed._replace(scheme="postgresql", query=urlencode({k: v[0] for k, v in query.items()})))
            params = {"conninfo": dsn}
        self.schema = checked_schema(schema or "public")
        self.con = psycopg.connect(**(params or {}), autocommit=True)  # transactions are explicit: con.transaction()
        from psycopg import sql

        with self.con.cursor() as cur:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.con.transaction():
            with self.con.cursor() as cur:
                yield cur

    def _insert(self, cur: Any, table: str, rows: Any) -> None:
        incoming = _arrow(table, rows)
        columns = ", ".join(incoming.column_names)
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for record in incoming.to_pylist():
                copy.write_row(tuple(record.values()))

    def describe(self) -> str:
        return f"PostgreSQL schema {self.schema}"

    def drop_schema(self) -> None:
        from psycopg import sql

        with self.transaction() as cur:
            cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))

    def close(self) -> None:
        self.con.close()

"""DuckDB: the embedded default warehouse (a file in the project's data folder, or in memory)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

from mangaeval.warehouse.base import Warehouse, _arrow


class DuckDBWarehouse(Warehouse):
    paramstyle = "dollar"
    migrates_on_first_use = True  # embedded (`make run`, the command line, tests): no init job runs for it
    locks_ledger = False  # one writer per file; DuckDB has no LOCK

    def __init__(self, path: str = ":memory:", read_only: bool = False):
        import duckdb

        if path != ":memory:" and not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # read_only: readers (the dashboards) that must never take the writer's lock for longer than a query
        self.con = duckdb.connect(path, read_only=read_only)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        cur = self.con.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()

    def _insert(self, cur: Any, table: str, rows: Any) -> None:
        incoming = _arrow(table, rows)
        cur.register("incoming_rows", incoming)
        try:
            columns = ", ".join(incoming.column_names)
            cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_rows")
        finally:
            cur.unregister("incoming_rows")

    def describe(self) -> str:
        return f"DuckDB {self.path}"

    def close(self) -> None:
        self.con.close()

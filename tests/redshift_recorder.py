"""A recording DB-API connection standing in for redshift_connector (there is no Redshift here): it records
every statement with its parameters, the autocommit state it ran in, and each commit and rollback, and answers
the few reads the code makes (the migration ledger, the staging check). Every statement sent can then be
checked for order and transaction boundaries, and parsed with sqlglot's Redshift dialect."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import sqlglot
from sqlglot import exp


@dataclass
class Call:
    kind: str  # execute | executemany | commit | rollback
    sql: str = ""
    params: Any = None
    autocommit: bool = False


class _Cursor:
    def __init__(self, con: "RecordingConnection"):
        self.con = con
        self.description: list[tuple] | None = None
        self._rows: list[tuple] = []

    def execute(self, sql: str, params: Any = None) -> None:
        self.con.calls.append(Call("execute", sql, params, self.con.autocommit))
        if self.con.fail is not None:
            error = self.con.fail(sql)
            if error is not None:
                raise error
        self.description, self._rows = self.con.answer(sql, params or {})

    def executemany(self, sql: str, seq: Any) -> None:
        self.con.calls.append(Call("executemany", sql, list(seq), self.con.autocommit))

    def fetchall(self) -> list[tuple]:
        return list(self._rows)

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def close(self) -> None:
        pass


@dataclass
class RecordingConnection:
    staged_rows: int = 0  # what the staging check reads back after COPY
    other_runs_rows: int = 0
    ledger: dict[str, str] = field(default_factory=dict)  # schema_migrations: version -> checksum
    fail: Callable[[str], Exception | None] | None = None  # an error to raise for a statement, or None
    calls: list[Call] = field(default_factory=list)
    autocommit: bool = True  # as redshift_connector opens; the warehouse sets it False

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    def commit(self) -> None:
        self.calls.append(Call("commit"))

    def rollback(self) -> None:
        self.calls.append(Call("rollback"))

    def close(self) -> None:
        pass

    def answer(self, sql: str, params: dict[str, Any]) -> tuple[list[tuple] | None, list[tuple]]:
        text = " ".join(sql.split())
        if "information_schema.tables" in text:
            return [("n",)], [(1 if self.ledger else 0,)]
        if text.startswith("SELECT version, checksum FROM schema_migrations"):
            return [("version",), ("checksum",)], sorted(self.ledger.items())
        if text.startswith("INSERT INTO schema_migrations"):
            self.ledger[params["version"]] = params["checksum"]
        if "FROM eval_results_staging" in text and text.startswith("SELECT"):
            return [("staged_rows",), ("other_runs_rows",)], [(self.staged_rows, self.other_runs_rows)]
        return None, []

    # Reading the record
    def statements(self) -> list[str]:
        return [c.sql for c in self.calls if c.kind in ("execute", "executemany")]

    def transactions(self) -> list[list[Call]]:
        """The statements run with autocommit off, split at each commit or rollback (the last kind ends each)."""
        groups, current = [], []
        for call in self.calls:
            if call.kind in ("commit", "rollback"):
                groups.append(current + [call])
                current = []
            elif not call.autocommit:
                current.append(call)
        return groups + ([current] if current else [])


def parse_redshift(sql: str) -> exp.Expression:
    """One statement parsed by sqlglot's Redshift dialect; refused if sqlglot only kept it as an opaque command
    (what it does with syntax it does not know) or parsed more or less than one statement."""
    parsed = sqlglot.parse(sql, dialect="redshift")
    assert len(parsed) == 1 and parsed[0] is not None, f"not one statement: {sql[:200]}"
    assert not isinstance(parsed[0], exp.Command), f"sqlglot does not know this statement's syntax: {sql[:200]}"
    return parsed[0]


def normalized(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()

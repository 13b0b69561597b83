"""The warehouse's schema, created and changed once by a migration step rather than at the start of tasks.

Migrations are the DDL files of sql/ddl/<engine>/ (portable: DuckDB and PostgreSQL; redshift), applied in name
order, each once, and recorded in the ledger table `schema_migrations` (version = the file's name without
.sql). The views (sqlfiles.VIEW_FILES, then base.EXTRA_VIEW_FILES) are one more, repeatable, entry `views`:
re-created, all together, when their SQL changed (sha256 of the files) or a DDL file was applied.

- `migrate(warehouse)`: applies what is pending; idempotent (nothing pending: nothing runs). Run by
  `mangaeval warehouse migrate` and the deployment's init job (`python -m mangaeval.deployment init`).
- `require(warehouse)`: what tasks call: the schema must be current, else SchemaBehind says what is missing
  and to run the migration. The embedded DuckDB warehouse migrates itself on first use instead (no init job
  runs for `make run`), as does the in-memory DuckDB of `decide`.

Each migration runs in one transaction with its ledger row, under a lock on the ledger (a second migrator
waits, then finds nothing pending). A file whose first line is `-- migrate: no-transaction` runs statement by
statement outside a transaction block (Redshift's ALTER DISTKEY/DISTSTYLE): such files hold one statement
each, so a failure never leaves one half-applied. An applied file edited later is not run again (a change
goes in a new file); `status` lists it as changed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mangaeval.errors import MangaEvalError
from mangaeval.warehouse.sqlfiles import VIEW_FILES, ddl_files, read_sql, statements

if TYPE_CHECKING:
    from mangaeval.warehouse.base import Warehouse

VIEWS = "views"
NO_TRANSACTION = "-- migrate: no-transaction"
_VIEW_NAME = re.compile(r"\bCREATE\s+OR\s+REPLACE\s+VIEW\s+([a-z_][a-z0-9_]*)", re.IGNORECASE)
MIGRATE_HINT = ("run the migration: `mangaeval warehouse migrate` (the deployment's init job, "
                "`python -m mangaeval.deployment init`, runs it)")


class SchemaBehind(MangaEvalError):
    """The warehouse's schema is older than this code: a migration has not been run."""


@dataclass(frozen=True)
class Migration:
    version: str
    files: tuple[str, ...]
    checksum: str
    in_transaction: bool = True


@dataclass
class SchemaStatus:
    engine: str
    applied: dict[str, str]  # version -> checksum as applied
    pending: list[str] = field(default_factory=list)  # versions to apply (the views last)
    changed: list[str] = field(default_factory=list)  # applied DDL files edited since (not re-run)

    @property
    def current(self) -> bool:
        return not self.pending

    def to_json(self) -> dict[str, Any]:
        return {"engine": self.engine, "current": self.current, "applied": sorted(self.applied), "pending": self.pending,
                "changed_since_applied": self.changed}


def _checksum(files: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for relative in files:
        digest.update(relative.encode() + b"\0" + read_sql(relative).encode() + b"\0")
    return digest.hexdigest()


def view_files() -> tuple[str, ...]:
    from mangaeval.warehouse.base import EXTRA_VIEW_FILES

    return tuple(VIEW_FILES + EXTRA_VIEW_FILES)


def expected(ddl_folder: str) -> list[Migration]:
    """Every migration this code expects, in the order they apply: the DDL files by name, then the views."""
    found = []
    for relative in ddl_files(ddl_folder):
        first_line = read_sql(relative).lstrip().split("\n", 1)[0].strip().lower()
        found.append(Migration(Path(relative).stem, (relative,), _checksum((relative,)), first_line != NO_TRANSACTION))
    views = view_files()
    found.append(Migration(VIEWS, views, _checksum(views)))
    return found


def view_names(files: tuple[str, ...]) -> list[str]:
    """The views the files create, in creation order."""
    return [name for relative in files for name in _VIEW_NAME.findall(re.sub(r"--[^\n]*", "", read_sql(relative)))]  # not in comments


def applied(warehouse: "Warehouse") -> dict[str, str]:
    """version -> checksum of what the ledger records (empty: no ledger, nothing was ever migrated)."""
    with warehouse.transaction() as cur:
        if not int(warehouse.fetch_in(cur, "migrations/ledger_exists.sql", {})["n"].iloc[0]):
            return {}
        rows = warehouse.fetch_in(cur, "migrations/applied.sql", {})
    return dict(zip(rows["version"].astype(str), rows["checksum"].astype(str)))


def status(warehouse: "Warehouse") -> SchemaStatus:
    done = applied(warehouse)
    result = SchemaStatus(engine=warehouse.ddl_folder, applied=done)
    for migration in expected(warehouse.ddl_folder):
        if migration.version not in done or (migration.version == VIEWS and done[VIEWS] != migration.checksum):
            result.pending.append(migration.version)
        elif done[migration.version] != migration.checksum:
            result.changed.append(migration.version)
    if result.pending and VIEWS not in result.pending:
        result.pending.append(VIEWS)  # applying a DDL file re-creates the views after it
    return result


def require(warehouse: "Warehouse") -> None:
    """The schema is current, or (an embedded DuckDB) made current now; else SchemaBehind naming what is missing."""
    found = status(warehouse)
    if found.current:
        return
    if warehouse.migrates_on_first_use:
        migrate(warehouse)
        return
    what = "no migration has been run on it" if not found.applied else f"not applied: {', '.join(found.pending)}"
    raise SchemaBehind(f"the warehouse schema ({warehouse.describe()}) is behind this code ({what}); {MIGRATE_HINT}")


def migrate(warehouse: "Warehouse") -> list[str]:
    """Apply every pending migration, in order; returns the versions applied (empty when already current)."""
    with warehouse.transaction() as cur:
        warehouse.execute_script_in(cur, warehouse.variant("migrations/schema_migrations.sql"), {})
    done: list[str] = []
    ddl_applied = False
    for migration in expected(warehouse.ddl_folder):
        if migration.version == VIEWS:
            if ddl_applied or _needed(warehouse, migration):
                _apply(warehouse, migration, _views_statements(migration.files))
                done.append(VIEWS)
            continue
        if migration.version in applied(warehouse):
            continue
        statements_ = [s for f in migration.files for s in statements(f)]
        if _apply(warehouse, migration, statements_):
            done.append(migration.version)
            ddl_applied = True
    return done


def _needed(warehouse: "Warehouse", migration: Migration) -> bool:
    return applied(warehouse).get(migration.version) != migration.checksum


def _views_statements(files: tuple[str, ...]) -> list[str]:
    """Drop the views (dependants first), then create them: CREATE OR REPLACE alone cannot change a view's
    columns on PostgreSQL."""
    drops = [f"DROP VIEW IF EXISTS {name}" for name in reversed(view_names(files))]
    return drops + [s for f in files for s in statements(f)]


def _apply(warehouse: "Warehouse", migration: Migration, sql: list[str]) -> bool:
    """Run one migration and record it; False when another migrator recorded it first (nothing run). A failing
    statement is reported with the migration's files (its transaction rolled back: nothing of it applied)."""
    try:
        return _run(warehouse, migration, sql)
    except MangaEvalError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MangaEvalError(f"migration {migration.version} ({', '.join('sql/' + f for f in migration.files[:3])}"
                             f"{', ...' if len(migration.files) > 3 else ''}) failed: {first}") from exc


def _run(warehouse: "Warehouse", migration: Migration, sql: list[str]) -> bool:
    record = {"version": migration.version, "checksum": migration.checksum, "applied_at": datetime.now(timezone.utc).replace(tzinfo=None)}
    if not migration.in_transaction:
        with warehouse.autocommit() as cur:
            for statement in sql:
                cur.execute(statement)
        with warehouse.transaction() as cur:
            warehouse.execute_script_in(cur, "migrations/record.sql", record)
        return True
    with warehouse.transaction() as cur:
        warehouse.lock_ledger(cur)
        if migration.version != VIEWS and migration.version in _applied_in(warehouse, cur):
            return False
        for statement in sql:
            cur.execute(statement)
        warehouse.execute_script_in(cur, "migrations/record.sql", record)
    return True


def _applied_in(warehouse: "Warehouse", cur: Any) -> set[str]:
    return set(warehouse.fetch_in(cur, "migrations/applied.sql", {})["version"].astype(str))

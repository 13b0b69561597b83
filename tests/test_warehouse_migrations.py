"""The warehouse's schema comes from migrations, applied once by the migration step (`mangaeval warehouse migrate`,
the deployment's init job) and recorded in schema_migrations; tasks only check it (an embedded DuckDB migrates
itself on first use). On PostgreSQL and DuckDB for real; on Redshift, the statement sequence against a recording
connection, every statement parsed in the Redshift dialect."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from mangaeval.cli import main
from mangaeval.warehouse import connect, migrations, sqlfiles
from mangaeval.warehouse.migrations import SchemaBehind
from mangaeval.warehouse.redshift_engine import RedshiftWarehouse
from tests.conftest import postgres_test_uri
from tests.redshift_recorder import RecordingConnection, normalized, parse_redshift

PORTABLE = [m.version for m in migrations.expected("portable")]
REDSHIFT = [m.version for m in migrations.expected("redshift")]


@pytest.fixture
def sql_dir(tmp_path, monkeypatch):
    """A copy of sql/ to add a migration to and change a view in, as a later commit would."""
    copy = tmp_path / "sql"
    shutil.copytree(sqlfiles.SQL_DIR, copy)
    sqlfiles.read_sql.cache_clear()
    monkeypatch.setattr(sqlfiles, "SQL_DIR", copy)
    yield copy
    sqlfiles.read_sql.cache_clear()


def a_later_commit(sql_dir) -> None:
    """A new DDL file, and a view whose columns change (a new first column)."""
    (sql_dir / "ddl" / "portable" / "099_probe.sql").write_text("CREATE TABLE IF NOT EXISTS probe_table (x INTEGER);\n")
    view = sql_dir / "marts" / "mart_eval_run_index.sql"
    view.write_text(view.read_text().replace("SELECT run_id,", "SELECT baseline_config_id, run_id,"))
    sqlfiles.read_sql.cache_clear()


def test_duckdb_migrates_itself_on_first_use_and_applies_a_later_commit_once(tmp_path, sql_dir):
    wh = connect(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    try:
        assert wh.schema_status().pending == PORTABLE  # nothing yet
        wh.require_schema()  # the embedded warehouse: migrates instead of refusing
        assert wh.schema_status().current and sorted(wh.schema_status().applied) == sorted(PORTABLE)
        assert wh.migrate() == []  # idempotent
        a_later_commit(sql_dir)
        assert wh.schema_status().pending == ["099_probe", "views"]
        wh.require_schema()
        assert wh.migrate() == [] and wh.schema_status().current
        with wh.transaction() as cur:
            cur.execute("SELECT COUNT(*) FROM probe_table")
            cur.execute("SELECT baseline_config_id, run_id, run_sort_key FROM mart_eval_run_index")
    finally:
        wh.close()


def test_postgres_tasks_refuse_a_schema_behind_until_the_migration_runs(sql_dir):
    import psycopg

    wh = connect(postgres_test_uri("migr"))
    try:
        with pytest.raises(SchemaBehind, match=r"no migration has been run on it\); run the migration: `mangaeval warehouse migrate`"):
            wh.require_schema()
        assert wh.migrate() == PORTABLE
        wh.require_schema()
        a_later_commit(sql_dir)
        with pytest.raises(SchemaBehind, match=r"not applied: 099_probe, views\); run the migration"):
            wh.require_schema()
        # CREATE OR REPLACE alone cannot add a column before the others on PostgreSQL: why the views are dropped first.
        with pytest.raises(psycopg.errors.InvalidTableDefinition):
            with wh.transaction() as cur:
                cur.execute(sqlfiles.statements("marts/mart_eval_run_index.sql")[0])
        assert wh.migrate() == ["099_probe", "views"]
        wh.require_schema()
        with wh.transaction() as cur:
            cur.execute("SELECT baseline_config_id, run_id, run_sort_key FROM mart_eval_run_index")
        assert wh.migrate() == []
    finally:
        wh.drop_schema()
        wh.close()


def redshift(recorder: RecordingConnection) -> RedshiftWarehouse:
    return RedshiftWarehouse(connect=lambda: recorder, iam_role=None)


def test_redshift_migrations_run_once_each_in_order_and_parse_in_the_redshift_dialect():
    recorder = RecordingConnection()
    wh = redshift(recorder)
    with pytest.raises(SchemaBehind, match="no migration has been run"):
        wh.require_schema()
    recorder.calls.clear()
    assert wh.migrate() == REDSHIFT
    assert recorder.ledger == {m.version: m.checksum for m in migrations.expected("redshift")}
    ddl = [c for c in recorder.calls if c.kind == "execute" and normalized(c.sql).split(" ")[0] in ("CREATE", "ALTER", "DROP")]
    assert normalized(ddl[0].sql).startswith("CREATE TABLE IF NOT EXISTS schema_migrations") and ddl[0].sql.endswith("DISTSTYLE ALL")
    # The distribution changes run outside a transaction block, each recorded right after it ran.
    altered = [c for c in ddl if c.sql.startswith("ALTER")]
    assert [(normalized(c.sql), c.autocommit) for c in altered] == [
        ("ALTER TABLE eval_results ALTER DISTKEY test_id", True), ("ALTER TABLE eval_cases ALTER DISTKEY test_id", True),
        ("ALTER TABLE quality_pairs ALTER DISTSTYLE ALL", True)]
    assert all(not c.autocommit for c in ddl if not c.sql.startswith("ALTER"))
    # Each other migration: one transaction, its DDL then its ledger row, committed together.
    (transaction,) = [t for t in recorder.transactions() if any(c.sql.startswith("CREATE TABLE IF NOT EXISTS eval_results") for c in t)]
    assert [normalized(c.sql).split(" (")[0] for c in transaction[-3:-1]] == \
        ["DELETE FROM schema_migrations WHERE version = %(version)s", "INSERT INTO schema_migrations"]
    assert transaction[-2].params["version"] == "001_tables" and transaction[-1].kind == "commit"
    assert normalized(transaction[0].sql).startswith("SELECT version, checksum FROM schema_migrations")  # re-read inside
    # The views last: dropped dependants first, then created in order.
    views = [normalized(c.sql) for c in ddl if "VIEW" in c.sql]
    names = migrations.view_names(migrations.view_files())
    assert views[:len(names)] == [f"DROP VIEW IF EXISTS {n}" for n in reversed(names)]
    assert [v.split(" ")[4] for v in views[len(names):]] == names
    for statement in recorder.statements():
        parse_redshift(statement)
    # Current now: a second migration runs no DDL; tasks pass the check.
    recorder.calls.clear()
    assert wh.migrate() == []
    assert [normalized(s) for s in recorder.statements() if not s.lstrip().startswith("SELECT")] == \
        [normalized(sqlfiles.statements("migrations/redshift/schema_migrations.sql")[0])]
    wh.require_schema()


def test_the_init_job_migrates_the_warehouse_of_its_connection(monkeypatch, capsys):
    from mangaeval import deployment

    schema = postgres_test_uri("init").rsplit("=", 1)[1]
    monkeypatch.setenv("MANGAEVAL_WAREHOUSE_CONN_ID", "mangaeval_warehouse")
    monkeypatch.setenv("MANGAEVAL_CONN_MANGAEVAL_WAREHOUSE", json.dumps({
        "conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": "postgres",
        "extra": {"warehouse_schema": schema}}))
    monkeypatch.delenv("AIRFLOW_CONN_MANGAEVAL_WAREHOUSE", raising=False)
    wh = connect(f"postgresql://postgres@127.0.0.1:5432/postgres?schema={schema}")
    try:
        deployment.init("true")  # `true` stands in for the airflow command: the metadata steps are not under test here
        assert f"warehouse: PostgreSQL schema {schema}: migrations applied: {', '.join(PORTABLE)}" in capsys.readouterr().out
        wh.require_schema()
        deployment.init("true")
        assert f"warehouse: PostgreSQL schema {schema}: schema current" in capsys.readouterr().out
        assert "AIRFLOW_CONN_MANGAEVAL_WAREHOUSE" not in os.environ  # held by the init job for the migration only
    finally:
        wh.drop_schema()
        wh.close()


def test_the_command_line_migrates_and_reports(tmp_path, capsys):
    uri = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    assert main(["warehouse", "status", "--warehouse-uri", uri]) == 1
    assert "behind: pending 001_tables" in capsys.readouterr().out
    assert main(["warehouse", "migrate", "--warehouse-uri", uri, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["applied_now"] == PORTABLE and doc["current"] is True and doc["pending"] == []
    assert main(["warehouse", "migrate", "--warehouse-uri", uri]) == 0
    assert "already current, nothing applied" in capsys.readouterr().out
    assert main(["warehouse", "status", "--warehouse-uri", uri]) == 0
    assert main(["warehouse", "migrate", "--warehouse-uri", "postgresql://postgres@127.0.0.1:1/none?schema=x"]) == 2
    assert "cannot open the warehouse postgresql://postgres@127.0.0.1:1/none" in capsys.readouterr().err

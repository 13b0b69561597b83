"""The Redshift load as production runs it, against a recording connection (there is no Redshift here) and the
local S3 server: the pipeline's load_warehouse, through the Airflow connections, writes a manifest of the run's
Parquet shards (all mandatory, with their sizes) and COPYs them into staging with the connection's IAM role,
then deletes the run's rows and inserts from staging, all in one transaction; the small tables go in by
multi-row INSERTs; eval_results is never inserted row by row. Every statement sent, and every Redshift SQL file,
parses with sqlglot's Redshift dialect."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from mangaeval.connections import airflow_connections
from mangaeval.errors import MangaEvalError
from mangaeval.pipeline.storage import shard_uri
from mangaeval.results import RESULT_SCHEMA
from mangaeval.warehouse import migrations
from mangaeval.warehouse.decide import run_tables
from mangaeval.warehouse.policy import load_policy
from mangaeval.warehouse.redshift_copy import MANIFEST_NAME, copy_statement, script
from mangaeval.warehouse.redshift_engine import RedshiftWarehouse
from mangaeval.warehouse.sqlfiles import RUN_TABLES, SQL_DIR, engine_variant, placeholders, statements, to_paramstyle
from tests.redshift_recorder import RecordingConnection, normalized, parse_redshift
from tests.test_warehouse import random_results

RUN = "scheduled__2026-11-22T02:00:00+00:00"  # as Airflow names runs: ':' and '+' in every key of the run
BUCKET = "mangaeval-rs-copy"
ROLE = "arn:aws:iam::123456789012:role/mangaeval-redshift-copy"
# Two configurations x one intent: two shards (every S3 client costs a boto3 session, and the load reads each shard
# with a client of its own).
FRAME = random_results(4, run_id=RUN).query("config_id in ['haiku-3-5', 'sonnet-3-5-v2'] and intent == 'faq'")
FRAME = FRAME.reset_index(drop=True)


def current_ledger() -> dict[str, str]:
    return {m.version: m.checksum for m in migrations.expected("redshift")}


@pytest.fixture(scope="module")
def shards(s3_server):
    """The run's shards in the local S3 server, as evaluate writes them: one Parquet object per config x intent,
    under two roots (one for the tests that must leave no manifest behind)."""
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    client.create_bucket(Bucket=BUCKET)
    roots = {}
    for root in ("eval", "untouched"):
        uris = []
        for (config, intent), group in FRAME.groupby(["config_id", "intent"]):
            uri = shard_uri(f"s3://{BUCKET}/{root}", RUN, config, intent)
            buffer = io.BytesIO()
            group.to_parquet(buffer, index=False, schema=RESULT_SCHEMA)
            client.put_object(Bucket=BUCKET, Key=uri.split(f"s3://{BUCKET}/", 1)[1], Body=buffer.getvalue())
            uris.append(uri)
        roots[root] = sorted(uris)
    return {"client": client, "endpoint": s3_server, **roots}


@pytest.fixture
def s3_env(monkeypatch, shards):
    """boto3's default chain reaching the local S3 server (the command line's way; tasks use their connection)."""
    for name, value in {"AWS_ENDPOINT_URL_S3": shards["endpoint"], "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
                        "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": "/nonexistent"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MANGAEVAL_REDSHIFT_COPY_ROLE", raising=False)
    return shards


def tables():
    return run_tables(FRAME, RUN, load_policy(), {"faq": "haiku-3-5"})


def manifest_key(root: str = "eval") -> str:
    return f"{root}/results/run_id={RUN}/{MANIFEST_NAME}"


def load_transaction(recorder: RecordingConnection) -> list:
    (found,) = [t for t in recorder.transactions() if any(c.sql.startswith("COPY") for c in t[:-1])]
    return found


def kinds(calls) -> list[str]:
    """Each statement's first words (the table for DELETE and INSERT), and commit/rollback."""
    out = []
    for call in calls:
        if call.kind in ("commit", "rollback"):
            out.append(call.kind)
            continue
        words = normalized(call.sql).split(" ")
        out.append(" ".join(words[:3] if words[0] in ("DELETE", "INSERT") else words[:2]))
    return out


def test_the_pipeline_load_copies_the_runs_parquet_through_a_mandatory_manifest_in_one_transaction(monkeypatch, tmp_path, shards):
    """load_warehouse inside a task: the Redshift connection (its extra names the COPY role), S3 through the AWS
    connection."""
    import redshift_connector

    from mangaeval.pipeline.steps import load_warehouse

    opened: list[dict] = []
    recorder = RecordingConnection(staged_rows=len(FRAME), ledger=current_ledger())
    monkeypatch.setattr(redshift_connector, "connect", lambda **kwargs: opened.append(kwargs) or recorder)
    monkeypatch.setenv("AIRFLOW_CONN_RS_COPY_AWS", json.dumps({"conn_type": "aws", "login": "t", "password": "t",
                                                              "extra": {"region_name": "us-east-1", "endpoint_url": shards["endpoint"]}}))
    monkeypatch.setenv("AIRFLOW_CONN_RS_COPY_WH", json.dumps({
        "conn_type": "redshift", "host": "mangaeval-wh.abc123.us-east-1.redshift.amazonaws.com", "port": 5439, "schema": "analytics",
        "login": "mangaeval", "password": "held-by-the-connection", "extra": {"copy_iam_role": ROLE}}))
    monkeypatch.setenv("MANGAEVAL_ROUTING_URI", str(tmp_path / "routing"))
    monkeypatch.delenv("MANGAEVAL_REDSHIFT_COPY_ROLE", raising=False)
    with airflow_connections("rs_copy_aws", "rs_copy_wh"):
        counts = load_warehouse(shards["eval"], RUN)
    expected = run_tables(FRAME, RUN, load_policy(), None)
    assert counts == {t: len(rows) for t, rows in expected.items()}
    # The connection's own option is not passed to the driver (redshift_connector.connect takes no such argument).
    assert len(opened) == 1 and "copy_iam_role" not in opened[0] and opened[0]["password"] == "held-by-the-connection"

    manifest = json.loads(shards["client"].get_object(Bucket=BUCKET, Key=manifest_key())["Body"].read())
    sizes = {u: shards["client"].head_object(Bucket=BUCKET, Key=u.split(f"s3://{BUCKET}/", 1)[1])["ContentLength"] for u in shards["eval"]}
    assert manifest == {"entries": [{"url": u, "mandatory": True, "meta": {"content_length": sizes[u]}} for u in sorted(sizes)]}
    assert all(size > 0 for size in sizes.values())

    run = load_transaction(recorder)
    small = [t for t in RUN_TABLES if t != "eval_results" and len(expected.get(t, []))]
    assert kinds(run) == (["DROP TABLE", "CREATE TEMP", "COPY eval_results_staging", "SELECT COUNT(*)"]
                          + [f"DELETE FROM {t}" for t in RUN_TABLES]
                          + ["INSERT INTO eval_results", "DROP TABLE"] + [f"INSERT INTO {t}" for t in small] + ["commit"])
    assert all(not c.autocommit for c in run[:-1])  # one transaction: nothing committed before its end
    copy = normalized(run[2].sql)
    assert copy == (f"COPY eval_results_staging FROM 's3://{BUCKET}/{manifest_key()}' IAM_ROLE '{ROLE}' "
                    "FORMAT AS PARQUET MANIFEST")
    assert all(c.params == {"run_id": RUN} for c in run if c.sql.startswith("DELETE"))
    assert normalized(run[len(RUN_TABLES) + 4].sql) == (f"INSERT INTO eval_results ({', '.join(RESULT_SCHEMA.names)}) "
                                                        f"SELECT {', '.join(RESULT_SCHEMA.names)} FROM eval_results_staging")
    for call in run:  # each small table: one multi-row INSERT, every value bound
        table = normalized(call.sql).split(" ")[2] if call.sql.startswith("INSERT") else None
        if table in small:
            columns = normalized(call.sql).split("(", 1)[1].split(")", 1)[0].split(", ")
            rows = call.sql.split(" VALUES ", 1)[1].count("), (") + 1
            assert rows == len(expected[table]) and len(call.params) == len(columns) * rows
    # Never a row-by-row insert: no executemany, and eval_results only from staging.
    assert not [c for c in recorder.calls if c.kind == "executemany"]
    assert not [s for s in recorder.statements() if s.startswith("INSERT INTO eval_results") and "VALUES" in s]
    assert not [c for c in recorder.calls if c.kind == "rollback"]
    # COPY from Parquet maps by position: staging has exactly the shards' columns, in their order.
    created = parse_redshift(run[1].sql)
    staged = [e.alias_or_name for e in created.expression.expressions]
    shard = shards["client"].get_object(Bucket=BUCKET, Key=shards["eval"][0].split(f"s3://{BUCKET}/", 1)[1])["Body"].read()
    assert staged == pq.read_schema(io.BytesIO(shard)).names == RESULT_SCHEMA.names
    for statement in recorder.statements():  # everything this load sent to Redshift
        parse_redshift(statement)
    copied = parse_redshift(run[2].sql)  # the COPY as Redshift's grammar reads it
    assert isinstance(copied, exp.Copy) and copied.this.name == "eval_results_staging" and copied.args["kind"] is True
    assert [f.name for f in copied.args["files"]] == [f"s3://{BUCKET}/{manifest_key()}"]
    assert copied.args["credentials"].args["iam_role"].name == ROLE
    assert {(p.this.name, p.expression.name if p.expression else None) for p in copied.args["params"]} == \
        {("FORMAT", "PARQUET"), ("MANIFEST", None)}


def warehouse(recorder: RecordingConnection, role: str | None = ROLE) -> RedshiftWarehouse:
    wh = RedshiftWarehouse(connect=lambda: recorder, iam_role=role)
    wh.retry_base_s = 0.0
    return wh


def test_a_rerun_replaces_exactly_the_runs_rows_with_the_same_statements(s3_env):
    recorder = RecordingConnection(staged_rows=len(FRAME))
    wh = warehouse(recorder)
    for _ in range(2):
        wh.load_run(RUN, tables(), shard_uris=s3_env["eval"])
    first, second = recorder.transactions()
    assert [(c.kind, c.sql, c.params) for c in first] == [(c.kind, c.sql, c.params) for c in second]
    assert [c.kind for c in first].count("commit") == 1 and first[-1].kind == "commit"
    assert kinds(first).index("COPY eval_results_staging") < kinds(first).index("DELETE FROM eval_results") \
        < kinds(first).index("INSERT INTO eval_results")


@pytest.mark.parametrize("case", ["copy fails", "fewer rows staged", "rows of another run"])
def test_a_failed_copy_or_check_rolls_back_before_any_row_is_deleted(s3_env, case):
    recorder = RecordingConnection(staged_rows=len(FRAME) - (case == "fewer rows staged"), other_runs_rows=3 * (case == "rows of another run"),
                                   fail=(lambda sql: RuntimeError("S3ServiceException: Access Denied") if sql.startswith("COPY") else None)
                                   if case == "copy fails" else None)
    with pytest.raises((RuntimeError, MangaEvalError)) as raised:
        warehouse(recorder).load_run(RUN, tables(), shard_uris=s3_env["eval"])
    assert {"copy fails": "Access Denied", "fewer rows staged": "staged", "rows of another run": "other runs"}[case] in str(raised.value)
    assert [c.kind for c in recorder.calls][-1] == "rollback" and "commit" not in [c.kind for c in recorder.calls]
    assert not [s for s in recorder.statements() if s.startswith(("DELETE", "INSERT"))]


def test_a_serialization_conflict_is_retried_as_a_whole_transaction(s3_env):
    attempts = []

    def conflict_once(sql):
        if sql.startswith("COPY"):
            attempts.append(sql)
            if len(attempts) == 1:
                return RuntimeError("{'S': 'ERROR', 'C': '40001', 'M': 'Serializable isolation violation on table'}")
        return None

    recorder = RecordingConnection(staged_rows=len(FRAME), fail=conflict_once)
    warehouse(recorder).load_run(RUN, tables(), shard_uris=s3_env["eval"])
    first, second = recorder.transactions()
    assert first[-1].kind == "rollback" and second[-1].kind == "commit" and len(attempts) == 2
    assert kinds(second)[:3] == ["DROP TABLE", "CREATE TEMP", "COPY eval_results_staging"]


@pytest.mark.parametrize("case", ["no role", "no shards", "local shards", "a shard missing", "not a role"])
def test_a_load_that_cannot_copy_is_refused_before_anything_is_written(s3_env, case):
    uris = {"no shards": [], "local shards": ["/data/results/run_id=r/config_id=a/intent=faq.parquet"],
            "a shard missing": s3_env["untouched"] + [shard_uri(f"s3://{BUCKET}/untouched", RUN, "gone", "faq")]}.get(case, s3_env["untouched"])
    recorder = RecordingConnection(staged_rows=len(FRAME))
    role = {"no role": None, "not a role": "arn:aws:iam::123:user/alice' OR '1"}.get(case, ROLE)
    with pytest.raises(MangaEvalError) as raised:
        warehouse(recorder, role).load_run(RUN if case != "local shards" else "r", tables() if case != "local shards" else
                                           {"eval_results": FRAME.assign(run_id="r")}, shard_uris=uris)
    message = str(raised.value)
    assert {"no role": "copy_iam_role", "no shards": "no row-by-row fallback", "local shards": "S3 only",
            "a shard missing": "config_id=gone/intent=faq.parquet: not in S3", "not a role": "not an IAM role ARN"}[case] in message
    assert recorder.calls == []
    listed = s3_env["client"].list_objects_v2(Bucket=BUCKET, Prefix="untouched/")
    assert not [o for o in listed.get("Contents", []) if o["Key"].endswith(MANIFEST_NAME)]


def test_eval_results_never_goes_in_by_insert_on_redshift():
    recorder = RecordingConnection()
    wh = warehouse(recorder)
    with pytest.raises(MangaEvalError, match="COPY"):
        with wh.transaction() as cur:
            wh.insert_in(cur, "eval_results", FRAME)
    assert recorder.statements() == []


def test_the_copy_role_comes_from_the_warehouse_connection(monkeypatch):
    import redshift_connector

    from mangaeval.warehouse import connect

    opened: list[dict] = []
    monkeypatch.setattr(redshift_connector, "connect", lambda **kwargs: opened.append(kwargs) or RecordingConnection())
    monkeypatch.delenv("MANGAEVAL_REDSHIFT_COPY_ROLE", raising=False)
    for conn_id, extra in (("rs_role", {"copy_iam_role": ROLE, "application_name": "mangaeval"}), ("rs_no_role", {})):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "redshift", "host": "h.example", "port": 5439,
                                                                          "schema": "analytics", "login": "u", "password": "p", "extra": extra}))
    with airflow_connections(warehouse_conn_id="rs_role"):
        with_role = connect()
    with airflow_connections(warehouse_conn_id="rs_no_role"):
        without = connect()
    assert with_role.iam_role == ROLE and without.iam_role is None
    assert opened[0]["application_name"] == "mangaeval" and "copy_iam_role" not in opened[0]  # other extras still reach the driver
    with pytest.raises(MangaEvalError, match=r"copy_iam_role.*no fallback to row inserts"):
        without.load_run(RUN, {"eval_results": FRAME}, shard_uris=["s3://b/results/run_id=x/a.parquet"])


def redshift_sql_files() -> list[str]:
    """Every SQL file a Redshift warehouse runs, as it runs them (the engine's variant where there is one)."""
    folders = ("queries", "dashboards", "ab", "canary", "events")
    found = {engine_variant(p.relative_to(SQL_DIR).as_posix(), "redshift")
             for folder in folders for p in (SQL_DIR / folder).glob("*.sql")}
    return sorted(found)


def test_every_redshift_statement_parses_in_the_redshift_dialect():
    """DDL and migrations, the views, the load, and every query file as rendered for Redshift's driver."""
    sent: list[tuple[str, str]] = []
    for migration in migrations.expected("redshift"):
        if migration.version == migrations.VIEWS:
            sent += [("views", s) for s in migrations._views_statements(migration.files)]
        else:
            sent += [(f, s) for f in migration.files for s in statements(f)]
    for relative in ("migrations/redshift/schema_migrations.sql", "migrations/applied.sql",
                     "migrations/ledger_exists.sql", "migrations/record.sql"):
        sent += [(relative, to_paramstyle(s, "pyformat")) for s in statements(relative)]
    for relative in ("load/redshift_staging_create.sql", "load/redshift_staging_check.sql", "load/redshift_replace_from_staging.sql"):
        sent += [(relative, to_paramstyle(s, "pyformat")) for s in script(relative)]
    sent.append(("load/redshift_copy_staging.sql", copy_statement(f"s3://{BUCKET}/{manifest_key()}", ROLE)))
    for relative in redshift_sql_files():
        for statement in statements(relative):
            rendered = statement.replace("{test_ids}", ", ".join(f":test_id_{i}" for i in range(3)))
            sent.append((relative, to_paramstyle(rendered, "pyformat")))
    assert len(sent) > 100 and any(f.startswith("ddl/redshift/010") for f, _ in sent)
    problems = []
    for relative, statement in sent:
        assert "{" not in statement.replace("{'", ""), f"{relative}: a template left unfilled"
        try:
            parse_redshift(statement)
        except (AssertionError, sqlglot.errors.ParseError) as exc:
            problems.append(f"sql/{relative}: {str(exc)[:300]}")
    assert problems == []
    # The check can fail: a statement Redshift would reject does not parse.
    with pytest.raises((AssertionError, sqlglot.errors.ParseError)):
        parse_redshift("CREATE TABLE t (a VARCHAR(10) DISTKEY(a)")
    # The distribution the DDL ends with: not by intent.
    altered = {s.split()[2]: s for f, s in sent if f.startswith("ddl/redshift/01")}
    assert altered == {"eval_results": "ALTER TABLE eval_results ALTER DISTKEY test_id",
                       "eval_cases": "ALTER TABLE eval_cases ALTER DISTKEY test_id",
                       "quality_pairs": "ALTER TABLE quality_pairs ALTER DISTSTYLE ALL"}


def test_the_redshift_results_table_takes_the_shards_columns_by_name_and_type():
    """The staging table is typed as eval_results types these columns: eval_results (as created by the Redshift
    DDL plus later ADD COLUMNs) has every shard column, with a type Parquet COPY can load it into."""
    kinds_of = {"string": {"VARCHAR"}, "int64": {"BIGINT"}, "int32": {"INT", "BIGINT"}, "double": {"DOUBLE"},
                "bool": {"BOOLEAN"}}
    columns: dict[str, str] = {}
    for relative in (f"ddl/redshift/{p.name}" for p in sorted((SQL_DIR / "ddl" / "redshift").glob("*.sql"))):
        for statement in statements(relative):
            tree = parse_redshift(statement)
            if isinstance(tree, exp.Create) and tree.this.this.name == "eval_results":
                columns.update({c.name: c.args["kind"].this.name for c in tree.this.expressions if isinstance(c, exp.ColumnDef)})
            if isinstance(tree, exp.Alter) and tree.this.name == "eval_results":
                columns.update({c.name: c.args["kind"].this.name for c in tree.find_all(exp.ColumnDef)})
    for field in RESULT_SCHEMA:
        assert field.name in columns, f"eval_results on Redshift has no column {field.name}"
        assert columns[field.name] in kinds_of[str(field.type)], (field.name, field.type, columns[field.name])


def test_placeholders_of_the_load_files_are_bound_not_quoted():
    assert placeholders(" ".join(script("load/redshift_staging_check.sql"))) == {"run_id"}
    assert placeholders(" ".join(script("load/redshift_replace_from_staging.sql"))) == set()
    with pytest.raises(MangaEvalError):
        copy_statement("s3://bucket/it's/manifest", ROLE)
    assert Path(SQL_DIR / "load" / "redshift_copy_staging.sql").read_text().count(":manifest_uri") == 1

"""How a run's result rows reach Redshift: COPY from the run's Parquet shards in S3, through a manifest.

1. `write_manifest`: beside the shards (`<root>/results/run_id=<run>/_copy_manifest.json`; the leading underscore
   keeps Parquet dataset readers from taking it for data) a COPY manifest lists every shard with
   `"mandatory": true` (a missing shard fails the COPY, never half-loads the run) and `meta.content_length`
   (its size, from S3: Redshift requires it for Parquet).
2. `statements`: in ONE transaction (mangaeval.warehouse.redshift_engine): an empty staging table with the
   shards' columns, COPY ... FORMAT AS PARQUET MANIFEST into it with the warehouse connection's IAM role,
   a check of what was staged, the run's rows deleted, the staged rows inserted. A failed COPY or check rolls
   everything back: the tables stay as they were.

The form follows the Amazon provider's S3ToRedshiftOperator (`COPY <table> FROM 's3://...' <authorization>
<options>`; its UPSERT method also stages, then deletes and inserts in a transaction); its query builder is
an operator's private method taking keys or a role from an AWS connection, so the statement is built here
from sql/load/redshift_copy_staging.sql, with the role from the warehouse connection (`copy_iam_role`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from mangaeval.errors import MangaEvalError
from mangaeval.results import RESULT_SCHEMA
from mangaeval.warehouse.sqlfiles import read_sql, statements, without_comments

MANIFEST_NAME = "_copy_manifest.json"
# COPY is a utility statement: Redshift binds no parameters in it, so its two literals are checked against strict
# patterns (no quote, no backslash, nothing but what S3 keys of this project and IAM role ARNs use) before they
# are quoted into the statement. Run ids carry ':' and '+' (scheduled__2026-11-22T02:00:00+00:00).
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/[A-Za-z0-9!_.*()/=:+~,@\-]+$")
_IAM_ROLE = re.compile(r"^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[A-Za-z0-9+=,.@_/\-]{1,512}$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def result_columns() -> str:
    """The shards' columns in their order (the Parquet schema every shard is written with)."""
    names = RESULT_SCHEMA.names
    bad = [n for n in names if not _IDENTIFIER.match(n)]
    if bad:  # the schema is code, not input; still, only plain identifiers go into SQL text
        raise MangaEvalError(f"result columns {bad} are not plain identifiers")
    return ", ".join(names)


def checked_role(iam_role: str | None) -> str:
    if not iam_role:
        raise MangaEvalError(
            "Redshift loads a run's results by COPY from S3, which needs the IAM role Redshift assumes to read the "
            "shards: set it in the warehouse connection's extra, {\"copy_iam_role\": \"arn:aws:iam::<account>:role/<name>\"} "
            "(or ?iam_role=... in a redshift:// URI on the command line). There is no fallback to row inserts.")
    if not _IAM_ROLE.match(iam_role):
        raise MangaEvalError(f"copy_iam_role {iam_role!r} is not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)")
    return iam_role


def manifest_uri(run_id: str, shard_uris: list[str]) -> str:
    """Where the run's manifest goes: beside its shards, `.../results/run_id=<run>/_copy_manifest.json`. Every shard
    must be an S3 object under that one run folder."""
    if not shard_uris:
        raise MangaEvalError(f"run {run_id}: no shard to COPY")
    marker = f"/results/run_id={run_id}/"
    folders = set()
    for uri in shard_uris:
        if not uri.startswith("s3://"):
            raise MangaEvalError(f"shard {uri}: Redshift COPYs from S3 only; set MANGAEVAL_RESULTS_URI to an s3:// root")
        at = uri.find(marker)
        if at < 0 or not uri.endswith(".parquet"):
            raise MangaEvalError(f"shard {uri}: not a Parquet shard of run {run_id} (expected ...{marker}...parquet)")
        folders.add(uri[:at + len(marker)])
    if len(folders) != 1:
        raise MangaEvalError(f"run {run_id}: shards in {len(folders)} result roots ({', '.join(sorted(folders))}); one COPY reads one")
    return folders.pop() + MANIFEST_NAME


def manifest_document(sizes: dict[str, int]) -> dict[str, Any]:
    """The COPY manifest: every shard mandatory, with its size (meta.content_length, required for Parquet)."""
    return {"entries": [{"url": uri, "mandatory": True, "meta": {"content_length": int(size)}} for uri, size in sorted(sizes.items())]}


def shard_sizes(store: Any, shard_uris: list[str]) -> dict[str, int]:
    """Each shard's size in bytes, from S3 (HeadObject, one client for the run's bucket); a missing shard is named."""
    from botocore.exceptions import ClientError

    sizes = {}
    for uri in shard_uris:
        key = uri.split(f"s3://{store.bucket}/", 1)[1]
        try:
            sizes[uri] = int(store.client.head_object(Bucket=store.bucket, Key=key)["ContentLength"])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey", "NotFound"):
                raise MangaEvalError(f"shard {uri}: not in S3 (was it deleted after validation?)") from None
            raise
    return sizes


def write_manifest(run_id: str, shard_uris: list[str]) -> tuple[str, dict[str, Any]]:
    """Write the run's manifest beside its shards (replacing a rerun's earlier one); its URI and document."""
    from mangaeval.objectstore import split_uri

    uris = sorted(set(shard_uris))
    uri = manifest_uri(run_id, uris)  # every shard in the manifest's folder, so in its bucket
    if not _S3_URI.match(uri):
        raise MangaEvalError(f"manifest URI {uri!r} has characters COPY's literal does not take (quotes, spaces, ...)")
    store, key = split_uri(uri)
    document = manifest_document(shard_sizes(store, uris))
    store.put(key, json.dumps(document, indent=2).encode())
    return uri, document


def copy_statement(manifest: str, iam_role: str) -> str:
    if not _S3_URI.match(manifest):
        raise MangaEvalError(f"manifest URI {manifest!r} is not a plain s3://bucket/key")
    checked_role(iam_role)
    sql = without_comments(read_sql("load/redshift_copy_staging.sql"))
    return sql.replace(":manifest_uri", f"'{manifest}'").replace(":iam_role", f"'{iam_role}'").strip()


def script(relative: str) -> list[str]:
    """A load file's statements with the result columns filled in (bound parameters stay :name)."""
    return [s.replace("{result_columns}", result_columns()) for s in statements(relative)]


def check_staged(staged_rows: int, other_runs_rows: int, expected_rows: int | None, run_id: str, manifest: str) -> None:
    if other_runs_rows:
        raise MangaEvalError(f"COPY of {manifest}: {other_runs_rows} row(s) of other runs in the shards of run {run_id}; nothing loaded")
    if expected_rows is not None and staged_rows != expected_rows:
        raise MangaEvalError(f"COPY of {manifest}: {staged_rows} row(s) staged, but the run's validated shards held {expected_rows} "
                             "(a shard changed since validation?); nothing loaded")

"""What a run needs from the deployment it runs on: one host, or workers spread over several.

Under `airflow dags test` or a LocalExecutor every task runs on one host, so a model double started by a setup
task, a local results folder, a local response cache and a DuckDB file are all seen by every task. Under a
distributed executor (Celery, Kubernetes, ECS, ...) a mapped task may run on another host than the task before
it: a double bound to 127.0.0.1 on one worker, a folder on one worker's disk or a DuckDB file there are not
visible to the others. The run's `plan` checks this before any model is called and says what to configure.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from mangaeval.errors import ConfigError

# Executors that run every task of a run on the scheduler's host (or in the `dags test` process).
SINGLE_HOST_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor"})


def configured_executors() -> list[str]:
    """The executors Airflow is configured with ([core] executor: a list since Airflow 2.10, entries may be
    `alias:module.path.ClassName`), as class names."""
    from airflow.configuration import conf

    value = conf.get("core", "executor", fallback="LocalExecutor") or "LocalExecutor"
    names = []
    for entry in value.split(","):
        entry = entry.strip().rsplit(":", 1)[-1]  # an alias prefix names the executor for DAG authors only
        if entry:
            names.append(entry.rsplit(".", 1)[-1])
    return names or ["LocalExecutor"]


def distributed_executors(executors: list[str] | None = None) -> list[str]:
    return [name for name in (executors if executors is not None else configured_executors()) if name not in SINGLE_HOST_EXECUTORS]


def is_local_uri(uri: str | None) -> bool:
    return not uri or urlparse(str(uri)).scheme not in ("s3",)


def topology_problems(*, executors: list[str], endpoint_url: str | None, use_double: bool, results_uri: str | None,
                      routing_uri: str, cache_uri: str | None, warehouse: str) -> list[str]:
    """Problems that make a run unsafe on distributed workers (none on a single host). `warehouse` is the engine's
    scheme (duckdb, postgresql, redshift) or `connection` when an Airflow connection names it; a None results or
    cache URI: the run keeps nothing there."""
    spread = distributed_executors(executors)
    if not spread:
        return []
    where = f"executor {', '.join(spread)} runs tasks on several hosts"
    problems = []
    if endpoint_url is None and use_double:
        problems.append(
            f"{where}, so a model double started by a setup task would listen on 127.0.0.1 of one worker only: configure "
            "the Bedrock endpoint (the AWS connection's service_config {\"bedrock-runtime\": {\"endpoint_url\": ...}}, "
            "or MANGAEVAL_BEDROCK_ENDPOINT_URL; docker-compose's model-double service) or set MANGAEVAL_USE_DOUBLE=0 to call AWS")
    for name, uri in (("MANGAEVAL_RESULTS_URI", results_uri), ("MANGAEVAL_ROUTING_URI", routing_uri)):
        if uri is not None and is_local_uri(uri):
            problems.append(f"{where}, but {name} is the local folder {uri}, which the other workers cannot read: set it "
                            "to an s3://bucket/prefix every worker reaches")
    if cache_uri is not None and is_local_uri(cache_uri):
        problems.append(f"{where}, but the response cache is the local folder {cache_uri}: set MANGAEVAL_CACHE_URI to an "
                        "s3://bucket/prefix (by default it follows an s3:// MANGAEVAL_RESULTS_URI), or turn the cache off "
                        "with the run parameter use_cache=false")
    if warehouse == "duckdb":
        problems.append(f"{where}, but the warehouse is a DuckDB file, which lives on one worker's disk: name a PostgreSQL "
                        "or Redshift warehouse connection in MANGAEVAL_WAREHOUSE_CONN_ID (or a postgresql:// "
                        "MANGAEVAL_WAREHOUSE_URI)")
    return problems


def warehouse_kind() -> str:
    from mangaeval.connections import active

    if active().warehouse_conn_id:
        return "connection"
    uri = os.environ.get("MANGAEVAL_WAREHOUSE_URI") or "duckdb:///"
    return urlparse(uri).scheme or "duckdb"


def check_topology(endpoint_url: str | None, use_cache: bool) -> None:
    """Raise ConfigError naming every problem, before any model is called (the `plan` task)."""
    from mangaeval.pipeline.storage import default_cache_uri, default_results_root
    from mangaeval.paths import DATA_DIR

    problems = topology_problems(
        executors=configured_executors(), endpoint_url=endpoint_url,
        use_double=os.environ.get("MANGAEVAL_USE_DOUBLE", "1") != "0",
        results_uri=default_results_root(), routing_uri=os.environ.get("MANGAEVAL_ROUTING_URI") or str(DATA_DIR),
        cache_uri=default_cache_uri() if use_cache else None, warehouse=warehouse_kind())
    if problems:
        raise ConfigError(problems)

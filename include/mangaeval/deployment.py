"""What a multi-worker deployment needs from this project, shared by docker-compose.yaml and `make deploy-up`.

- `pool_sizes()`: the Airflow pools `bedrock_<tier>`, sized from `pools:` in include/config/quotas.yaml.
- `connections_from_env()`: the Airflow connections given as MANGAEVAL_CONN_<ID> environment variables (JSON, as
  AIRFLOW_CONN_<ID>), which the init job writes into the metadata database (their secrets encrypted with the
  deployment's Fernet key): the other services never hold them in their environment.
- `worker_hostname()`: `[core] hostname_callable` for several workers on one host (MANGAEVAL_WORKER_HOSTNAME, else
  the host's name), so task instances say which worker ran them.

`python -m mangaeval.deployment init` is the init job: `airflow db migrate`, pools, connections, then the
warehouse's migrations (`migrate_warehouse`: tables and views are created here, once, not by the tasks).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from mangaeval.errors import ConfigError, MangaEvalError
from mangaeval.paths import CONFIG_DIR

TIERS = ("sonnet", "haiku", "nova", "custom")  # as dags/model_evaluation.py and mangaeval.pipeline.shards
CONN_PREFIX = "MANGAEVAL_CONN_"


def pool_sizes(path: Path | None = None) -> dict[str, int]:
    """Slots of pool bedrock_<tier> per tier, from `pools:` in quotas.yaml (every tier named, whole numbers >= 1)."""
    path = Path(path or CONFIG_DIR / "quotas.yaml")
    pools = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("pools")
    if not isinstance(pools, dict):
        raise ConfigError([f"{path}: expected 'pools: {{tier: slots}}' for the tiers {', '.join(TIERS)}"])
    problems = [f"{path}: pools: no slots for tier '{t}'" for t in TIERS if t not in pools]
    problems += [f"{path}: pools: unknown tier '{t}' (tiers: {', '.join(TIERS)})" for t in pools if t not in TIERS]
    problems += [f"{path}: pools: '{t}' must be a whole number >= 1, got {v!r}" for t, v in pools.items()
                 if t in TIERS and (isinstance(v, bool) or not isinstance(v, int) or v < 1)]
    if problems:
        raise ConfigError(problems)
    return {t: pools[t] for t in TIERS}


def pools_document(path: Path | None = None) -> dict[str, Any]:
    """As `airflow pools import` reads it."""
    return {f"bedrock_{tier}": {"slots": slots, "description": f"evaluate tasks calling {tier}-tier models (quotas.yaml pools)",
                                "include_deferred": False}
            for tier, slots in pool_sizes(path).items()}


def connections_from_env(environ: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """MANGAEVAL_CONN_<ID>=<JSON> variables as {conn_id: fields} for `airflow connections import` (ids lower-cased)."""
    environ = os.environ if environ is None else environ
    found: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for name, value in sorted(environ.items()):
        if not name.startswith(CONN_PREFIX) or not value.strip():
            continue
        try:
            doc = json.loads(value)
        except json.JSONDecodeError as exc:
            problems.append(f"{name}: not JSON ({exc.msg}); expected a connection as AIRFLOW_CONN_<ID> takes it")
            continue
        if not isinstance(doc, dict) or not doc.get("conn_type"):
            problems.append(f"{name}: expected a JSON object with a conn_type")
            continue
        if isinstance(doc.get("extra"), dict):
            doc["extra"] = json.dumps(doc["extra"])
        found[name[len(CONN_PREFIX):].lower()] = doc
    if problems:
        raise ConfigError(problems)
    return found


def worker_hostname() -> str:
    return os.environ.get("MANGAEVAL_WORKER_HOSTNAME") or socket.getfqdn()


def init(airflow: str = "airflow") -> None:
    """The init job: migrate the metadata database, then create the pools and the connections (replacing them)."""
    def run(*args: str) -> None:
        print("+ airflow", " ".join(args), flush=True)
        subprocess.run([airflow, *args], check=True)

    run("db", "migrate")
    with tempfile.TemporaryDirectory() as tmp:
        pools = Path(tmp) / "pools.json"
        pools.write_text(json.dumps(pools_document()))
        run("pools", "import", str(pools))
        connections = connections_from_env()
        if connections:
            path = Path(tmp) / "connections.json"
            path.touch(mode=0o600)
            path.write_text(json.dumps(connections))
            run("connections", "import", "--overwrite", str(path))
        print(f"pools: {pool_sizes()}; connections: {sorted(connections) or 'none'}", flush=True)
    print(f"warehouse: {migrate_warehouse(connections)}", flush=True)


def migrate_warehouse(connections: dict[str, dict[str, Any]] | None = None) -> str:
    """Apply the warehouse's pending migrations (mangaeval.warehouse.migrations): the warehouse connection
    MANGAEVAL_WAREHOUSE_CONN_ID (from `connections`, the ones this job was given, else Airflow's secrets), else
    MANGAEVAL_WAREHOUSE_URI; with neither, nothing (an embedded DuckDB migrates itself on first use)."""
    from mangaeval.connections import airflow_connections
    from mangaeval.warehouse import connect

    conn_id = os.environ.get("MANGAEVAL_WAREHOUSE_CONN_ID")
    if not conn_id and not os.environ.get("MANGAEVAL_WAREHOUSE_URI"):
        return "none configured (the embedded DuckDB migrates on first use)"
    given = (connections or {}).get(conn_id or "")
    variable = f"AIRFLOW_CONN_{(conn_id or '').upper()}"
    before = os.environ.get(variable)
    if given is not None:  # read by this process as Airflow reads AIRFLOW_CONN_<ID>; never passed on
        os.environ[variable] = json.dumps(given)
    try:
        with (airflow_connections(os.environ.get("MANGAEVAL_AWS_CONN_ID") or "aws_default", conn_id) if conn_id
              else contextlib.nullcontext()):
            try:
                warehouse = connect()
            except MangaEvalError:
                raise
            except Exception as exc:  # the driver's: unreachable, refused login
                raise ConfigError([f"warehouse {conn_id or os.environ.get('MANGAEVAL_WAREHOUSE_URI')}: cannot connect: "
                                   f"{str(exc).strip().splitlines()[0]}"]) from None
            try:
                applied = warehouse.migrate()
                where = warehouse.describe()
            finally:
                warehouse.close()
    finally:
        if given is not None:
            if before is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = before
    return f"{where}: migrations applied: {', '.join(applied)}" if applied else f"{where}: schema current"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["init"]:
        try:
            init(argv[1] if len(argv) > 1 else "airflow")
        except MangaEvalError as exc:  # ConfigError, a failed migration
            print(f"deployment init: {exc}", file=sys.stderr)
            return 2
        return 0
    if argv[:1] == ["pools"]:
        print(json.dumps(pools_document(), indent=2))
        return 0
    print("usage: python -m mangaeval.deployment init [AIRFLOW] | pools", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

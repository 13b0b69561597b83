"""What a multi-worker deployment needs from this project, shared by docker-compose.yaml and `make deploy-up`.

- `pool_sizes()`: the Airflow pools `bedrock_<tier>`, sized from `pools:` in include/config/quotas.yaml.
- `connections_from_env()`: the Airflow connections given as MANGAEVAL_CONN_<ID> environment variables (JSON, as
  AIRFLOW_CONN_<ID>), which the init job writes into the metadata database (their secrets encrypted with the
  deployment's Fernet key): the other services never hold them in their environment.
- `worker_hostname()`: `[core] hostname_callable` for several workers on one host (MANGAEVAL_WORKER_HOSTNAME, else
  the host's name), so task instances say which worker ran them.

`python -m mangaeval.deployment init` is the init job: `airflow db migrate`, pools, connections.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from mangaeval.errors import ConfigError
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["init"]:
        try:
            init(argv[1] if len(argv) > 1 else "airflow")
        except ConfigError as exc:
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

"""`mangaeval warehouse migrate | status`: the migration step (mangaeval.warehouse.migrations)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def _connect(args: argparse.Namespace):
    from mangaeval.errors import MangaEvalError
    from mangaeval.warehouse import connect

    try:
        return connect(args.warehouse_uri)
    except MangaEvalError:
        raise
    except Exception as exc:  # the driver's: unreachable server, refused login, missing database
        where = args.warehouse_uri or "MANGAEVAL_WAREHOUSE_URI (else data/warehouse.duckdb)"
        raise MangaEvalError(f"cannot open the warehouse {where}: {str(exc).strip().splitlines()[0]}") from None


def cmd_migrate(args: argparse.Namespace) -> int:
    warehouse = _connect(args)
    try:
        applied = warehouse.migrate()
        status = warehouse.schema_status()
    finally:
        warehouse.close()
    if args.json:
        print(json.dumps({"applied_now": applied, **status.to_json()}, indent=2))
    else:
        print(f"{warehouse.describe()}: " + (f"applied {', '.join(applied)}" if applied else "already current, nothing applied"))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 when the schema is current, 1 when a migration is pending."""
    warehouse = _connect(args)
    try:
        status = warehouse.schema_status()
    finally:
        warehouse.close()
    if args.json:
        print(json.dumps(status.to_json(), indent=2))
    else:
        print(f"{warehouse.describe()}: " + ("current" if status.current else f"behind: pending {', '.join(status.pending)}"))
        print(f"applied: {', '.join(sorted(status.applied)) or 'nothing'}")
        if status.changed:
            print(f"edited since applied (not re-run; a schema change goes in a new file): {', '.join(status.changed)}")
    return 0 if status.current else 1


def register(sub: Any) -> None:
    wh = sub.add_parser("warehouse", help="the warehouse's schema: migrations").add_subparsers(dest="warehouse_command", required=True)
    for name, func, helptext in (
            ("migrate", cmd_migrate, "create or bring the warehouse's tables and views up to date (idempotent)"),
            ("status", cmd_status, "which migrations are applied and which are pending (exit 1 when behind)")):
        cmd = wh.add_parser(name, help=helptext)
        cmd.add_argument("--warehouse-uri", help="default: MANGAEVAL_WAREHOUSE_URI, else data/warehouse.duckdb")
        cmd.add_argument("--json", action="store_true")
        cmd.set_defaults(func=func)

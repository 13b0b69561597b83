"""Which Airflow connections the code uses: inside this project's Airflow tasks, and nowhere else.

Each DAG names `use_airflow_connections` as its tasks' `pre_execute` (in `default_args`): before a task runs,
it records the connection ids from the settings, and from then on, in that task's process,
- AWS clients (Bedrock, S3, CloudWatch) come from the Amazon provider's hooks through the AWS connection
  MANGAEVAL_AWS_CONN_ID (default `aws_default`): credentials, role, region, `endpoint_url` extras;
- the warehouse comes from the connection MANGAEVAL_WAREHOUSE_CONN_ID when it names one (a Redshift or
  PostgreSQL connection holding its password or IAM settings), else from MANGAEVAL_WAREHOUSE_URI (local use).

Nothing sets them anywhere else: the command line and the tests use boto3's default chain (environment,
profile, instance role) and the warehouse URI. The ids are only names: this module imports nothing heavy,
so the DAG files can import it when they are parsed.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator

DEFAULT_AWS_CONN_ID = "aws_default"


@dataclass(frozen=True)
class Connections:
    aws_conn_id: str | None = None  # None: boto3's default chain
    warehouse_conn_id: str | None = None  # None: MANGAEVAL_WAREHOUSE_URI (or the local DuckDB file)

    @property
    def in_airflow(self) -> bool:
        return self.aws_conn_id is not None

    @classmethod
    def from_settings(cls) -> "Connections":
        """The ids an Airflow task uses: MANGAEVAL_AWS_CONN_ID (default aws_default), MANGAEVAL_WAREHOUSE_CONN_ID."""
        return cls(os.environ.get("MANGAEVAL_AWS_CONN_ID") or DEFAULT_AWS_CONN_ID,
                   os.environ.get("MANGAEVAL_WAREHOUSE_CONN_ID") or None)


_active = Connections()  # a task's process runs one task: set once by its pre_execute


def active() -> Connections:
    return _active


def use_airflow_connections(context: Any = None) -> None:
    """A task's `pre_execute`: this process's AWS clients and warehouse come from the Airflow connections."""
    global _active
    _active = Connections.from_settings()


@contextlib.contextmanager
def airflow_connections(aws_conn_id: str = DEFAULT_AWS_CONN_ID, warehouse_conn_id: str | None = None) -> Iterator[Connections]:
    """The same for a block (tests, a task's code run in-process), restored afterwards."""
    global _active
    before, _active = _active, Connections(aws_conn_id, warehouse_conn_id)
    try:
        yield _active
    finally:
        _active = before


def get_connection(conn_id: str) -> Any:
    """An Airflow connection (Task SDK: secrets backends, AIRFLOW_CONN_<ID> variables, then the API server)."""
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)

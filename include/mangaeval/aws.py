"""AWS clients, built one way: through an Airflow AWS connection inside the DAGs' tasks, from boto3's default
chain everywhere else (the command line, the tests).

With a connection (`aws_conn_id`) the Amazon provider's AwsBaseHook supplies the session (the connection's
keys, or its role to assume, or its profile, else boto3's chain), the region (`region_name` extra) and the
endpoint: the `service_config: {"<service>": {"endpoint_url": ...}}` extra for one service, else the
`endpoint_url` extra (a local server). An `endpoint_url` given to `client()` wins over the connection's
(the model double a run started, MANGAEVAL_*_ENDPOINT_URL settings). A botocore `config` given here is
merged over the connection's `config_kwargs` (so the evaluation's timeouts and retry policy hold).

A local server needs a signature, not a secret: with an endpoint and no credentials anywhere, requests are
signed with throwaway ones.
"""

from __future__ import annotations

import os
from typing import Any

from mangaeval.connections import active

DEFAULT_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "local-double", "aws_secret_access_key": "local-double"}


def client(service: str, *, aws_conn_id: str | None = None, region: str | None = None, endpoint_url: str | None = None,
           config: Any = None) -> Any:
    """A boto3 client of `service`: through the Airflow connection `aws_conn_id`, or boto3's default chain (None)."""
    if aws_conn_id is None:
        import boto3

        session = boto3.session.Session(region_name=region)
        region = region or os.environ.get("AWS_REGION") or session.region_name or DEFAULT_REGION
        return _client(session, service, region, endpoint_url or None, config, None)
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=aws_conn_id, client_type=service, region_name=region)
    connection = hook.conn_config  # region: given > the connection's region_name > boto3's own (env, profile)
    botocore_config = connection.botocore_config.merge(config) if connection.botocore_config and config else \
        (config or connection.botocore_config)
    session = hook.get_session(region_name=hook.region_name)
    endpoint = endpoint_url or connection.get_service_endpoint_url(service) or None
    return _client(session, service, session.region_name or os.environ.get("AWS_REGION") or DEFAULT_REGION, endpoint,
                   botocore_config, hook.verify)


def _client(session: Any, service: str, region: str, endpoint_url: str | None, config: Any, verify: Any) -> Any:
    credentials = LOCAL_CREDENTIALS if endpoint_url and session.get_credentials() is None else {}
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config, verify=verify, **credentials)


def service_endpoint(service: str, aws_conn_id: str | None) -> str | None:
    """The endpoint the connection gives `service` (its service_config, else its endpoint_url extra); None = AWS's."""
    if aws_conn_id is None:
        return None
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=aws_conn_id, client_type=service).conn_config.get_service_endpoint_url(service) or None


def task_client(service: str, *, region: str | None = None, endpoint_url: str | None = None, config: Any = None) -> Any:
    """A client for code that runs both in DAG tasks and from the command line: through the task's AWS connection
    inside Airflow (mangaeval.connections), whose region then decides; boto3's default chain and `region` outside."""
    aws_conn_id = active().aws_conn_id
    return client(service, aws_conn_id=aws_conn_id, region=None if aws_conn_id else region, endpoint_url=endpoint_url,
                  config=config)

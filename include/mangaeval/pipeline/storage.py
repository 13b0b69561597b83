"""Where a run's shard results live: a local folder (embedded default) or S3, addressed by URI.

Tasks pass these URIs through XCom, never the data. Keys are run-partitioned:
`results/run_id=<run>/config_id=<config>/intent=<intent>.parquet`. Writes are whole-object (S3 PUT, or a
temp file renamed into place), so a reader never sees half a shard.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from mangaeval.paths import DATA_DIR
from mangaeval.results import RESULT_SCHEMA


def default_results_root() -> str:
    return os.environ.get("MANGAEVAL_RESULTS_URI", str(DATA_DIR))


def shard_uri(root: str, run_id: str, config_id: str, intent: str) -> str:
    return f"{root.rstrip('/')}/results/run_id={run_id}/config_id={config_id}/intent={intent}.parquet"


def _s3():
    import boto3

    # botocore reads AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL itself: the same code talks to AWS or a local server.
    return boto3.client("s3", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


def write_frame(uri: str, frame: pd.DataFrame) -> str:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, schema=RESULT_SCHEMA)
    data = buffer.getvalue()
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        _s3().put_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"), Body=data)
        return uri
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    return str(path)


def read_frame(uri: str) -> pd.DataFrame:
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        body = _s3().get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
        return pd.read_parquet(io.BytesIO(body), dtype_backend="pyarrow")
    return pd.read_parquet(uri, dtype_backend="pyarrow")


def read_frames(uris: list[str]) -> pd.DataFrame:
    return pd.concat([read_frame(u) for u in uris], ignore_index=True) if uris else pd.DataFrame(columns=RESULT_SCHEMA.names)

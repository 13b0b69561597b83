"""Where a run's shard results live: a local folder (embedded default) or S3, addressed by URI.

Tasks pass these URIs through XCom, never the data. Keys are run-partitioned:
`results/run_id=<run>/config_id=<config>/intent=<intent>.parquet`. Writes are whole objects (see
mangaeval.objectstore), so a reader never sees half a shard.
"""

from __future__ import annotations

import io
import os

import pandas as pd

from mangaeval.clusters import with_cluster_ids
from mangaeval.objectstore import split_uri
from mangaeval.paths import DATA_DIR
from mangaeval.results import RESULT_SCHEMA


def default_results_root() -> str:
    return os.environ.get("MANGAEVAL_RESULTS_URI", str(DATA_DIR))


def default_cache_uri() -> str:
    """Where the response cache lives: MANGAEVAL_CACHE_URI (a folder or s3://bucket/prefix), else
    MANGAEVAL_CACHE_DIR; else beside the results (`<results>/cache/responses`), so an s3:// results root puts the
    cache where every worker reaches it."""
    explicit = os.environ.get("MANGAEVAL_CACHE_URI") or os.environ.get("MANGAEVAL_CACHE_DIR")
    return explicit or f"{default_results_root().rstrip('/')}/cache/responses"


def shard_uri(root: str, run_id: str, config_id: str, intent: str) -> str:
    return f"{root.rstrip('/')}/results/run_id={run_id}/config_id={config_id}/intent={intent}.parquet"


def write_frame(uri: str, frame: pd.DataFrame) -> str:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, schema=RESULT_SCHEMA)
    store, key = split_uri(uri)
    store.put(key, buffer.getvalue())
    return uri


def read_frame(uri: str) -> pd.DataFrame:
    store, key = split_uri(uri)
    found = store.get(key)
    if found is None:
        raise FileNotFoundError(f"{uri}: no such shard")
    return with_cluster_ids(pd.read_parquet(io.BytesIO(found[0]), dtype_backend="pyarrow"))  # shards from before clusters: naive


def read_frames(uris: list[str]) -> pd.DataFrame:
    return pd.concat([read_frame(u) for u in uris], ignore_index=True) if uris else pd.DataFrame(columns=RESULT_SCHEMA.names)

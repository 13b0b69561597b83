"""Object stores: S3 (production, or a local S3 server) and a local folder (embedded default), both with
whole-object writes (readers never see half an object) and compare-and-swap for the routing table.

S3: PutObject with `IfMatch=<etag>` (replace only what we read) or `IfNoneMatch="*"` (create only).
Local folder: the same semantics with an exclusive lock file and an atomic rename.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from mangaeval.errors import MangaEvalError
from mangaeval.paths import DATA_DIR


class PreconditionFailed(MangaEvalError):
    """A conditional write lost: the object changed (or appeared) since it was read."""


class ObjectStore:
    uri: str

    def get(self, key: str) -> tuple[bytes, str] | None:  # (data, etag)
        raise NotImplementedError

    def put(self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        raise NotImplementedError

    def list(self, prefix: str) -> list[str]:
        raise NotImplementedError

    def put_if_unchanged(self, key: str, data: bytes, read_etag: str | None) -> str:
        """Write `key` only if it is still what we read: absent (`read_etag` None) or at `read_etag`. Returns the
        new etag; PreconditionFailed if someone wrote it in between (callers say what that means to them)."""
        if read_etag is None:
            return self.put(key, data, if_none_match=True)
        return self.put(key, data, if_match=read_etag)


class S3Store(ObjectStore):
    def __init__(self, bucket: str, prefix: str = "", client=None, endpoint_url: str | None = None):
        """`client`: an S3 client; by default the task's, from its Airflow AWS connection inside a DAG task, or
        boto3's default chain (mangaeval.aws.task_client)."""
        from mangaeval.aws import task_client

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = client or task_client("s3", endpoint_url=endpoint_url)
        self.uri = f"s3://{bucket}/{self.prefix}".rstrip("/")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def get(self, key: str) -> tuple[bytes, str] | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        return response["Body"].read(), response["ETag"]

    def put(self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        from botocore.exceptions import ClientError

        extra = {"IfMatch": if_match} if if_match else ({"IfNoneMatch": "*"} if if_none_match else {})
        try:
            response = self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType="application/json", **extra)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                raise PreconditionFailed(f"{self.uri}/{key}: changed since it was read ({code})") from None
            raise
        return response["ETag"]

    def list(self, prefix: str) -> list[str]:
        keys, token = [], None
        while True:
            kwargs = {"Bucket": self.bucket, "Prefix": self._key(prefix)}
            if token:
                kwargs["ContinuationToken"] = token
            response = self.client.list_objects_v2(**kwargs)
            keys += [o["Key"][len(self.prefix) + 1:] if self.prefix else o["Key"] for o in response.get("Contents", [])]
            if not response.get("IsTruncated"):
                return sorted(keys)
            token = response["NextContinuationToken"]


class LocalStore(ObjectStore):
    def __init__(self, root: Path):
        self.root = Path(root)
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise MangaEvalError(f"key {key!r} escapes the store {self.root}")
        return path

    @staticmethod
    def _etag(data: bytes) -> str:
        return '"' + hashlib.md5(data).hexdigest() + '"'  # as S3 does for single-part objects

    def get(self, key: str) -> tuple[bytes, str] | None:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        return data, self._etag(data)

    @contextlib.contextmanager
    def _locked(self, path: Path, timeout_s: float = 10.0) -> Iterator[None]:
        lock = path.with_name(f".{path.name}.lock")
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                break
            except FileExistsError:
                if time.monotonic() > deadline:
                    raise MangaEvalError(f"{lock}: held for over {timeout_s}s; remove it if no publisher is running") from None
                time.sleep(0.01)
        try:
            yield
        finally:
            os.close(fd)
            os.unlink(lock)

    def put(self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked(path):
            existing = path.read_bytes() if path.exists() else None
            if if_none_match and existing is not None:
                raise PreconditionFailed(f"{path}: already exists")
            if if_match and (existing is None or self._etag(existing) != if_match):
                raise PreconditionFailed(f"{path}: changed since it was read")
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)  # readers see the old or the new document, never half of one
        return self._etag(data)

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file() and not p.name.startswith("."))


def open_store(uri: str | None = None, endpoint_url: str | None = None) -> ObjectStore:
    """`s3://bucket/prefix` or a local folder (default: MANGAEVAL_ROUTING_URI, else the data folder)."""
    uri = uri or os.environ.get("MANGAEVAL_ROUTING_URI") or str(DATA_DIR)  # keys start with routing/
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        return S3Store(parsed.netloc, parsed.path, endpoint_url=endpoint_url)
    return LocalStore(Path(uri))


def split_uri(uri: str) -> tuple[ObjectStore, str]:
    """A full object URI (`s3://bucket/key` or a file path) as (store, key)."""
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        return S3Store(parsed.netloc), parsed.path.lstrip("/")
    path = Path(uri)
    return LocalStore(path.parent), path.name

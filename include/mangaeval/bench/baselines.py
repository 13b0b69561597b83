"""Results and baselines in the object store (a folder or s3://), versioned and written create-only:

    benchmarks/results/<result_id>.json                                    every `bench` result
    benchmarks/baselines/<environment>/<config_id>/<benchmark>/vNNNNNN.json one version per `bench accept`

A baseline's current version is its highest; a new version is created with If-None-Match, so two concurrent
accepts cannot both write version N (the loser retries on top). Nothing but `bench accept` writes a baseline."""

from __future__ import annotations

import json
import re
from typing import Any

from mangaeval.errors import MangaEvalError
from mangaeval.objectstore import ObjectStore, PreconditionFailed

RESULTS = "benchmarks/results/"
BASELINES = "benchmarks/baselines/"
_VERSION = re.compile(r"/v(\d{6})\.json$")
_LABEL = re.compile(r"^[A-Za-z0-9_.:-]{1,120}$")


def check_label(value: str, what: str) -> str:
    """An id or label that becomes part of an object key (and the DAG's `environment` parameter): checked, returned."""
    if not _LABEL.match(value or ""):
        raise MangaEvalError(f"{what} {value!r}: letters, digits, '.', '_', ':' or '-' only")
    return value


def save_result(store: ObjectStore, result: dict[str, Any]) -> str:
    key = f"{RESULTS}{check_label(result['result_id'], 'result id')}.json"
    store.put(key, json.dumps(result, ensure_ascii=False).encode("utf-8"), if_none_match=True)
    return key


def load_result(store: ObjectStore, result_id: str | None = None) -> dict[str, Any]:
    """A stored result by id, or the latest (ids start with their UTC time)."""
    if result_id is None:
        keys = [k for k in store.list(RESULTS) if k.endswith(".json")]
        if not keys:
            raise MangaEvalError(f"{store.uri}/{RESULTS}: no benchmark result stored yet (run `mangaeval bench`)")
        key = max(keys)
    else:
        key = f"{RESULTS}{check_label(result_id, 'result id')}.json"
    found = store.get(key)
    if found is None:
        raise MangaEvalError(f"{store.uri}/{key}: no such benchmark result")
    return json.loads(found[0])


def _prefix(environment: str, config_id: str, benchmark: str) -> str:
    return f"{BASELINES}{check_label(environment, 'environment')}/{check_label(config_id, 'configuration')}/{check_label(benchmark, 'benchmark')}/"


def current_baseline(store: ObjectStore, environment: str, config_id: str, benchmark: str) -> dict[str, Any] | None:
    versions = sorted(k for k in store.list(_prefix(environment, config_id, benchmark)) if _VERSION.search(k))
    if not versions:
        return None
    found = store.get(versions[-1])
    return json.loads(found[0]) if found else None


def accept(store: ObjectStore, result: dict[str, Any], *, configs: list[str] | None = None, benchmarks: list[str] | None = None,
           accepted_by: str = "", now: str = "") -> list[dict[str, Any]]:
    """Make `result` the baseline of each (benchmark, configuration) it holds, for its environment: a new version each."""
    from mangaeval.bench.runner import BENCHMARKS

    wanted = configs or list(result["configs"])
    unknown = [c for c in wanted if c not in result["configs"]]
    if unknown:
        raise MangaEvalError(f"--configs {', '.join(unknown)}: not in result {result['result_id']} (has {', '.join(result['configs'])})")
    written = []
    for config_id in wanted:
        for benchmark in benchmarks or BENCHMARKS:
            section = result["configs"][config_id].get(benchmark)
            if section is None:
                continue
            prefix = _prefix(result["environment"], config_id, benchmark)
            for _ in range(20):
                versions = [int(m.group(1)) for k in store.list(prefix) if (m := _VERSION.search(k))]
                version = max(versions, default=0) + 1
                doc = {"environment": result["environment"], "config_id": config_id, "benchmark": benchmark, "version": version,
                       "result_id": result["result_id"], "result_created_at": result["created_at"], "accepted_by": accepted_by,
                       "accepted_at": now, "settings": result.get("settings", {}), "section": section}
                try:
                    store.put(f"{prefix}v{version:06d}.json", json.dumps(doc, ensure_ascii=False).encode("utf-8"), if_none_match=True)
                except PreconditionFailed:
                    continue  # another accept wrote this version first: on top of it
                written.append({"config_id": config_id, "benchmark": benchmark, "version": version})
                break
            else:
                raise MangaEvalError(f"{store.uri}/{prefix}: could not create a new version (20 concurrent writers?)")
    return written

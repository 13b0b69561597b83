"""Publishing: write the run's immutable document, read it back and check it, then make it current by a
conditional write against the current document we read. Also show, diff and rollback."""

from __future__ import annotations

from typing import Any

from mangaeval.errors import MangaEvalError
from mangaeval.routing.document import from_bytes, to_bytes, validate_document
from mangaeval.objectstore import ObjectStore, PreconditionFailed

CURRENT = "routing/current.json"


class PublishConflict(MangaEvalError):
    """Another publisher made a different document current after we read it: nothing was overwritten."""


def run_key(run_id: str) -> str:
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise MangaEvalError(f"run id {run_id!r} cannot name a routing object")
    return f"routing/runs/{run_id}/routing.json"


def write_run_document(store: ObjectStore, document: dict[str, Any]) -> bytes:
    """The immutable per-run object: created once; a rerun with identical bytes is a no-op."""
    validate_document(document)
    data = to_bytes(document)
    key = run_key(document["run_id"])
    try:
        store.put(key, data, if_none_match=True)
    except PreconditionFailed:
        existing = store.get(key)
        if existing is None or existing[0] != data:
            raise MangaEvalError(f"{store.uri}/{key}: run {document['run_id']} was already published with different content") from None
    stored = store.get(key)  # read back: what the chatbot will read must be what we meant
    if stored is None or stored[0] != data:
        raise MangaEvalError(f"{store.uri}/{key}: read-back differs from what was written")
    from_bytes(stored[0], f"{store.uri}/{key}")
    return data


def make_current(store: ObjectStore, data: bytes, expected: tuple[bytes, str] | None) -> dict[str, Any]:
    """Swap `current` to `data` only if it is still `expected` (what we read); PublishConflict otherwise."""
    if expected is not None and expected[0] == data:
        return {"changed": False}
    try:
        etag = store.put_if_unchanged(CURRENT, data, expected[1] if expected else None)
    except PreconditionFailed as exc:
        raise PublishConflict(f"{store.uri}/{CURRENT}: another publisher changed it after we read it; "
                              f"nothing overwritten, re-run to publish on top of theirs ({exc})") from None
    return {"changed": True, "etag": etag}


def publish(store: ObjectStore, document: dict[str, Any]) -> dict[str, Any]:
    expected = store.get(CURRENT)  # read first: the conditional write below is against this
    data = write_run_document(store, document)
    result = make_current(store, data, expected)
    return {"run_id": document["run_id"], "run_object": f"{store.uri}/{run_key(document['run_id'])}",
            "current": f"{store.uri}/{CURRENT}", **result}


def current_document(store: ObjectStore) -> dict[str, Any] | None:
    found = store.get(CURRENT)
    return from_bytes(found[0], f"{store.uri}/{CURRENT}") if found else None


def run_document(store: ObjectStore, run_id: str) -> dict[str, Any]:
    found = store.get(run_key(run_id))
    if found is None:
        known = sorted({k.split("/")[2] for k in store.list("routing/runs/")})
        raise MangaEvalError(f"{store.uri}: no routing document for run {run_id!r} (published runs: {known[-10:]})")
    return from_bytes(found[0], f"{store.uri}/{run_key(run_id)}")


def rollback(store: ObjectStore, run_id: str) -> dict[str, Any]:
    expected = store.get(CURRENT)
    data = to_bytes(run_document(store, run_id))
    return {"run_id": run_id, **make_current(store, data, expected)}


def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    changes = {}
    for intent in sorted(set(a["routes"]) | set(b["routes"])):
        ra, rb = a["routes"].get(intent), b["routes"].get(intent)
        if ra is None or rb is None:
            changes[intent] = {"from": ra and ra["config_id"], "to": rb and rb["config_id"]}
            continue
        delta = {name: (None if ra[name] is None or rb[name] is None else rb[name] - ra[name])
                 for name in ("mean_quality", "pass_rate", "latency_p95_ms", "mean_cost_usd")}
        changes[intent] = {"from": ra["config_id"], "to": rb["config_id"], "changed": ra["config_id"] != rb["config_id"], **delta}
    return {"from_run": a["run_id"], "to_run": b["run_id"], "intents": changes}

"""The traffic split the live bot reads, published like the routing table: every version is an immutable
object (`canary/<rollout>/splits/vNNNN.json`), read back and checked, then made current
(`canary/current.json`) by a conditional write against the current document we read (S3 If-Match /
If-None-Match; a local folder's lock + atomic rename). Version 0 of a rollout is the split before it
(no canary traffic); rollback makes it current again at once and records why.

The bot: for a request whose intent is in `intents`, send it to `candidate_config_id` when
sha256(f"{rollout_id}:{session_id}") mod 10,000 < canary_pct x 100, else to the routing table's configuration.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from mangaeval.errors import MangaEvalError
from mangaeval.objectstore import ObjectStore, PreconditionFailed
from mangaeval.routing.publish import PublishConflict

CURRENT = "canary/current.json"
SCHEMA = "mangaassist.canary_split/v1"
_ROLLOUT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}$")
SPLIT_FIELDS = ("rollout_id", "version", "stage", "canary_pct", "candidate_config_id", "intents")


def checked_rollout_id(rollout_id: str) -> str:
    if not isinstance(rollout_id, str) or not _ROLLOUT_ID.match(rollout_id):
        raise MangaEvalError(f"rollout id {rollout_id!r}: use letters, digits and _.:+- (at most 128, no '/')")
    return rollout_id


def version_key(rollout_id: str, version: int) -> str:
    return f"canary/{checked_rollout_id(rollout_id)}/splits/v{version:04d}.json"


def rollback_key(rollout_id: str) -> str:
    return f"canary/{checked_rollout_id(rollout_id)}/rollback.json"


def split_document(rollout_id: str, version: int, stage: int, canary_pct: float, candidate_config_id: str,
                   intents: list[str], note: str = "") -> dict[str, Any]:
    return {"schema": SCHEMA, "rollout_id": checked_rollout_id(rollout_id), "version": int(version), "stage": int(stage),
            "canary_pct": float(canary_pct), "candidate_config_id": candidate_config_id, "intents": sorted(intents),
            "assignment": "sha256(rollout_id:session_id) mod 10000 < canary_pct * 100", "note": note}


def _bytes(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def parse(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise MangaEvalError(f"{where}: not a JSON split document ({exc})") from None
    missing = [f for f in SPLIT_FIELDS if not isinstance(doc, dict) or f not in doc]
    if missing or doc.get("schema") != SCHEMA:
        raise MangaEvalError(f"{where}: not a {SCHEMA} document (missing {missing})")
    if not 0 <= doc["canary_pct"] <= 100:
        raise MangaEvalError(f"{where}: canary_pct {doc['canary_pct']} outside [0, 100]")
    return doc


def write_version(store: ObjectStore, doc: dict[str, Any]) -> bytes:
    """The immutable version object. A retried task finds its own version and re-uses it; a different split
    under the same version is an error."""
    key = version_key(doc["rollout_id"], doc["version"])
    data = _bytes(doc)
    try:
        store.put(key, data, if_none_match=True)
    except PreconditionFailed:
        existing = store.get(key)
        if existing is None or any(parse(existing[0], key)[f] != doc[f] for f in SPLIT_FIELDS):
            raise MangaEvalError(f"{store.uri}/{key}: already published with a different split") from None
        data = existing[0]
    stored = store.get(key)  # read back: what the bot will read must be what we meant
    if stored is None or stored[0] != data:
        raise MangaEvalError(f"{store.uri}/{key}: read-back differs from what was written")
    parse(stored[0], key)
    return data


def current(store: ObjectStore) -> tuple[dict[str, Any], str] | None:
    found = store.get(CURRENT)
    return (parse(found[0], f"{store.uri}/{CURRENT}"), found[1]) if found else None


def _swap(store: ObjectStore, data: bytes, expected: tuple[dict[str, Any], str] | None) -> str:
    try:
        return store.put_if_unchanged(CURRENT, data, expected[1] if expected else None)
    except PreconditionFailed as exc:
        raise PublishConflict(f"{store.uri}/{CURRENT}: changed by someone else after we read it; nothing overwritten ({exc})") from None


def rolled_back(store: ObjectStore, rollout_id: str) -> dict[str, Any] | None:
    found = store.get(rollback_key(rollout_id))
    return json.loads(found[0]) if found else None


def start(store: ObjectStore, rollout_id: str, candidate_config_id: str, intents: list[str]) -> dict[str, Any]:
    """Version 0 (no canary traffic) made current: the split every rollback returns to. Refused while another
    rollout holds canary traffic."""
    expected = current(store)
    if expected is not None:
        doc = expected[0]
        other = doc["rollout_id"] != rollout_id
        if other and 0 < doc["canary_pct"] < 100 and rolled_back(store, doc["rollout_id"]) is None:
            raise MangaEvalError(f"rollout {doc['rollout_id']!r} is in progress ({doc['canary_pct']:g}% canary): "
                                 "finish or roll it back before starting another")
        if other and doc["canary_pct"] == 100 and not rolled_back(store, doc["rollout_id"]) and not completed(store, doc["rollout_id"]):
            # Replacing it would silently send its intents back to the old route: the routing table must take over first.
            raise MangaEvalError(f"rollout {doc['rollout_id']!r} holds 100% of its intents but has not completed into the routing "
                                 f"table yet: clear its report task in Airflow (it writes the table) first")
        if not other and doc["version"] > 0:
            return {"version": 0, "changed": False, "current_version": doc["version"]}  # a retried start: leave it
    data = write_version(store, split_document(rollout_id, 0, 0, 0.0, candidate_config_id, intents, "before the rollout"))
    if expected is not None and _bytes(expected[0]) == data:
        return {"version": 0, "changed": False}
    return {"version": 0, "changed": True, "etag": _swap(store, data, expected)}


def advance(store: ObjectStore, rollout_id: str, stage: int, canary_pct: float, candidate_config_id: str,
            intents: list[str]) -> dict[str, Any]:
    """Version `stage` made current, only if the current split is this rollout's previous stage (or already this one)."""
    if rolled_back(store, rollout_id):
        raise MangaEvalError(f"rollout {rollout_id!r} was rolled back: it cannot advance")
    expected = current(store)
    if expected is None or expected[0]["rollout_id"] != rollout_id or expected[0]["version"] not in (stage - 1, stage):
        found = "nothing" if expected is None else f"{expected[0]['rollout_id']} v{expected[0]['version']}"
        raise PublishConflict(f"{store.uri}/{CURRENT}: expected {rollout_id} v{stage - 1}, found {found}; not advancing")
    data = write_version(store, split_document(rollout_id, stage, stage, canary_pct, candidate_config_id, intents,
                                               f"stage {stage}: {canary_pct:g}% of the covered traffic to the candidate"))
    if expected[0]["version"] == stage:
        return {"version": stage, "changed": False}
    return {"version": stage, "changed": True, "etag": _swap(store, data, expected)}


def rollback(store: ObjectStore, rollout_id: str, reasons: list[str], stage: int, at: datetime | None = None) -> dict[str, Any]:
    """Make version 0 current again (conditional on the current split being this rollout's) and record why."""
    at = at or datetime.now(timezone.utc)
    record = {"rollout_id": rollout_id, "stage": stage, "reasons": reasons, "rolled_back_at": at.isoformat(), "to_version": 0}
    expected = current(store)
    found = store.get(version_key(rollout_id, 0))
    if found is None:
        raise MangaEvalError(f"{store.uri}: rollout {rollout_id!r} has no version 0 to roll back to")
    ours = expected is not None and expected[0]["rollout_id"] == rollout_id
    if ours:
        record["from_version"] = expected[0]["version"]
    try:  # recorded first: from here on the rollout can never advance again, even if the swap below is retried
        store.put(rollback_key(rollout_id), _bytes(record), if_none_match=True)
    except PreconditionFailed:
        pass  # a retried rollback: the first record stands
    if not ours:
        result = {"changed": False, "note": "the current split is not this rollout's: nothing of ours to take back"}
    elif expected[0]["version"] == 0:
        result = {"changed": False}
    else:
        result = {"changed": True, "etag": _swap(store, found[0], expected)}
    return {"version": 0, **result, "record": record}


def completed_key(rollout_id: str) -> str:
    return f"canary/{checked_rollout_id(rollout_id)}/completed.json"


def completed(store: ObjectStore, rollout_id: str) -> dict[str, Any] | None:
    """The record a rollout leaves when its last stage promoted and the routing table took over its intents."""
    found = store.get(completed_key(rollout_id))
    return json.loads(found[0]) if found else None


def retire(store: ObjectStore, rollout_id: str, stage: int) -> dict[str, Any]:
    """After completion: a last version with no canary traffic (the routing table serves the candidate now)."""
    expected = current(store)
    if expected is None or expected[0]["rollout_id"] != rollout_id:
        return {"changed": False, "note": "the current split is not this rollout's"}
    doc = expected[0]
    if doc["canary_pct"] == 0:
        return {"changed": False, "version": doc["version"]}
    version = doc["version"] + 1
    data = write_version(store, split_document(rollout_id, version, stage, 0.0, doc["candidate_config_id"], doc["intents"],
                                               "completed: the routing table serves the candidate on these intents"))
    return {"version": version, "changed": True, "etag": _swap(store, data, expected)}

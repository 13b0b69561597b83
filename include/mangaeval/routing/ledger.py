"""The routing ledger: every change to what serves an intent, as an immutable entry in the object store.

    routing/ledger/v000001.json, v000002.json, ...   one per change, created once (If-None-Match)
    routing/current.json                              the table the live bot reads: the newest entry's document

An entry says which intents changed, from and to which configuration, who made the change (a nightly run,
an A/B experiment's look, a rollout's stage, a person), the evidence, the time, the version it was based on,
and the whole routing document after it. The commit point is creating entry N+1 where N is the version the
writer's decision read: two writers that read N cannot both create N+1, so the loser gets a conflict,
re-reads, re-decides on top of the new state and never overwrites. `current.json` is then swapped by a
conditional write; a writer that stopped between the two steps leaves `current.json` one entry behind, and
the next reader (or writer) sees the newer entry and brings `current.json` up to it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Callable

from mangaeval.errors import MangaEvalError
from mangaeval.objectstore import ObjectStore, PreconditionFailed
from mangaeval.routing.document import from_bytes, to_bytes, validate_document

log = logging.getLogger(__name__)
CURRENT = "routing/current.json"
LEDGER_PREFIX = "routing/ledger/"
ENTRY_SCHEMA = "mangaassist.routing_ledger/v1"
ACTOR_KINDS = ("nightly", "ab_promotion", "ab_rollback", "canary_completion", "canary_rollback", "person")


class PublishConflict(MangaEvalError):
    """Another writer changed production after we read it: nothing was overwritten."""


def utc_stamp(moment: Any) -> str:
    """Every ledger time as `YYYY-MM-DDTHH:MM:SSZ`, so times compare as text (datetimes, ISO strings, pendulum)."""
    from datetime import datetime, timezone

    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if not isinstance(moment, datetime):
        raise MangaEvalError(f"not a time: {moment!r}")
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_key(version: int) -> str:
    return f"{LEDGER_PREFIX}v{int(version):06d}.json"


@dataclass(frozen=True)
class Head:
    """What a writer read: the ledger's newest version, its document, and `current.json` as it was."""

    version: int
    document: dict[str, Any] | None  # None: nothing published yet
    current_etag: str | None
    current_version: int | None  # the version current.json showed (behind `version` after an interrupted write)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "current_etag": self.current_etag, "current_version": self.current_version}


def _entry_bytes(entry: dict[str, Any]) -> bytes:
    return (json.dumps(entry, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def read_entry(store: ObjectStore, version: int) -> dict[str, Any] | None:
    found = store.get(entry_key(version))
    if found is None:
        return None
    where = f"{store.uri}/{entry_key(version)}"
    try:
        entry = json.loads(found[0].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MangaEvalError(f"{where}: not a JSON ledger entry ({exc})") from None
    if not isinstance(entry, dict) or entry.get("schema") != ENTRY_SCHEMA or entry.get("version") != version:
        raise MangaEvalError(f"{where}: not a {ENTRY_SCHEMA} entry for version {version}")
    validate_document(entry["document"])
    return entry


def read_head(store: ObjectStore) -> Head:
    """The newest state: `current.json`, then any entries written after it (an interrupted writer's)."""
    found = store.get(CURRENT)
    document = from_bytes(found[0], f"{store.uri}/{CURRENT}") if found else None
    shown = int(document.get("ledger_version") or 0) if document else 0  # a pre-ledger table counts as version 0
    version = shown
    while (newer := read_entry(store, version + 1)) is not None:
        version, document = version + 1, newer["document"]
    return Head(version, document, found[1] if found else None, shown if found else None)


def document_at(store: ObjectStore, version: int) -> dict[str, Any] | None:
    """The routing document as of `version` (None for version 0 with nothing before the ledger)."""
    if version == 0:
        return None
    entry = read_entry(store, version)
    if entry is None:
        raise MangaEvalError(f"{store.uri}: the routing ledger has no version {version}")
    return entry["document"]


def head_at(store: ObjectStore, base: dict[str, Any] | None) -> Head:
    """The state a decision read earlier (`Head.to_dict()`), re-read from the ledger; a fresh head when None."""
    if base is None:
        return read_head(store)
    version = int(base["version"])
    if version == 0:  # a pre-ledger table (or nothing) is the base of the first entry
        found = store.get(CURRENT)
        legacy = from_bytes(found[0], f"{store.uri}/{CURRENT}") if found else None
        document = legacy if legacy is not None and not legacy.get("ledger_version") else None
        return Head(0, document, base.get("current_etag"), base.get("current_version"))
    return Head(version, document_at(store, version), base.get("current_etag"), base.get("current_version"))


def history(store: ObjectStore, intent: str | None = None) -> list[dict[str, Any]]:
    """Every entry, oldest first (the documents left out), optionally only those that touch `intent`."""
    entries = []
    for key in store.list(LEDGER_PREFIX):
        name = key.rsplit("/", 1)[-1]
        if not (name.startswith("v") and name.endswith(".json") and name[1:-5].isdigit()):
            continue
        entry = read_entry(store, int(name[1:-5]))
        changes = [c for c in entry["changes"] if intent is None or c["intent"] == intent]
        declined = [d for d in entry.get("declined", []) if intent is None or d["intent"] == intent]
        if intent is None or changes or declined:
            entries.append({k: v for k, v in entry.items() if k != "document"} | {"changes": changes, "declined": declined})
    return sorted(entries, key=lambda e: e["version"])


def version_at(store: ObjectStore, at: str) -> int:
    """The ledger version that was current at time `at` (0: before the first entry)."""
    version = 0
    for entry in history(store):
        if entry["at"] <= at:
            version = entry["version"]
    return version


# A decision re-run on a state: (changes, declined). Each change is {"intent", "route" (the whole new route), ...};
# `declined` lists proposals refused on this state and why. Called again after every lost race.
Decide = Callable[[dict[str, Any] | None, int], tuple[list[dict[str, Any]], list[dict[str, Any]]]]


def apply_changes(document: dict[str, Any], changes: list[dict[str, Any]], version: int, actor: dict[str, Any], at: str) -> dict[str, Any]:
    """The document after `changes` (the same function builds an entry and replays the ledger)."""
    new = json.loads(json.dumps(document))
    for change in changes:
        new["routes"][change["intent"]] = change["route"]
    new.update(ledger_version=version, run_id=actor["id"], generated_at=at)
    datasets = sorted({r.get("dataset_version") for r in new["routes"].values() if r.get("dataset_version")}, key=version_key)
    if datasets:
        new["dataset_version"] = datasets[-1]
    validate_document(new)
    return new


def version_key(name: str) -> tuple:
    """Dataset versions in order: v2 < v10; names without a number sort by name."""
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else -1, name)


def commit(store: ObjectStore, actor: dict[str, Any], decide: Decide, at: str, *, base: dict[str, Any] | None = None,
           initial: Callable[[], dict[str, Any]], evidence: dict[str, Any] | None = None, max_attempts: int = 10) -> dict[str, Any]:
    """Write the changes `decide` makes on the state read (`base`, else the head now) as the next entry, then
    make it current. On a lost race: re-read, re-decide, retry (at most `max_attempts`), never overwrite.
    `initial()` gives the document to start from when nothing was ever published."""
    if actor.get("kind") not in ACTOR_KINDS or not actor.get("id"):
        raise MangaEvalError(f"ledger actor {actor!r}: needs a kind in {ACTOR_KINDS} and an id")
    head = head_at(store, base)
    conflicts = []
    for _ in range(max_attempts):
        state = head.document or initial()
        changes, declined = decide(state, head.version)
        if not changes:
            _catch_up(store, head)
            return {"version": head.version, "changed": False, "changes": [], "declined": declined, "conflicts": conflicts}
        version = head.version + 1
        document = apply_changes(state, changes, version, actor, at)
        entry = {"schema": ENTRY_SCHEMA, "version": version, "based_on": head.version, "at": at, "actor": actor,
                 "changes": [{**{k: v for k, v in c.items() if k != "route"}, "to_route": c["route"]} for c in changes],
                 "declined": declined, "evidence": evidence or {}, "document": document}
        try:
            store.put(entry_key(version), _entry_bytes(entry), if_none_match=True)
        except PreconditionFailed:
            winner = read_entry(store, version)
            conflicts.append({"version": version, "won_by": winner["actor"] if winner else None})
            log.warning("routing ledger: version %d was written by %s after we read version %d; re-deciding on top of it",
                        version, winner and winner["actor"], head.version)
            head = read_head(store)
            continue
        _swap_current(store, document, head)
        return {"version": version, "changed": True, "changes": entry["changes"], "declined": declined, "conflicts": conflicts,
                "entry": f"{store.uri}/{entry_key(version)}", "current": f"{store.uri}/{CURRENT}"}
    raise PublishConflict(f"{store.uri}/{LEDGER_PREFIX}: lost {max_attempts} races in a row (last to {conflicts[-1]['won_by']}); "
                          "nothing overwritten, try again")


def _swap_current(store: ObjectStore, document: dict[str, Any], head: Head) -> None:
    """current.json := `document`, conditional on what we read; a newer current (built on ours) is left alone."""
    data, etag = to_bytes(document), head.current_etag
    for _ in range(10):
        try:
            store.put_if_unchanged(CURRENT, data, etag)
            return
        except PreconditionFailed:
            found = store.get(CURRENT)
            shown = int(from_bytes(found[0], CURRENT).get("ledger_version") or 0) if found else 0
            if shown >= document["ledger_version"]:
                return  # a later writer already made a document built on ours current (or repaired it to ours)
            etag = found[1] if found else None
    raise PublishConflict(f"{store.uri}/{CURRENT}: kept changing under us; entry v{document['ledger_version']} is in the ledger and "
                          "the next writer will make it current")


def _catch_up(store: ObjectStore, head: Head) -> None:
    if head.document is not None and head.version > 0 and (head.current_version or 0) < head.version:
        _swap_current(store, head.document, head)  # an earlier writer stopped before its swap: finish it

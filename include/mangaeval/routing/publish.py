"""Reading and changing the published routing table through its ledger: show, history, diff, and a person's
rollback to an earlier version (itself a ledger entry). Writers that decide (the nightly run, A/B, canary)
go through mangaeval.routing.ledger.commit with their own precedence rules."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from mangaeval.errors import MangaEvalError
from mangaeval.objectstore import ObjectStore
from mangaeval.routing import ledger
from mangaeval.routing.ledger import CURRENT, PublishConflict  # noqa: F401  (PublishConflict: the error every writer raises)

FIGURE_DELTAS = ("mean_quality", "pass_rate", "latency_p95_ms", "mean_cost_usd")


def current_document(store: ObjectStore) -> dict[str, Any] | None:
    """The newest routing document (the ledger's head: current.json, or a newer entry an interrupted writer left)."""
    return ledger.read_head(store).document


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve_version(store: ObjectStore, ref: str) -> int:
    """A ledger version ("7", "v7", "current") or the id of the run/experiment/rollout that wrote it (its newest entry)."""
    text = str(ref).strip()
    if text == "current":
        return ledger.read_head(store).version
    if text.lstrip("v").isdigit():
        version = int(text.lstrip("v"))
        if version and ledger.read_entry(store, version) is None:
            raise MangaEvalError(f"{store.uri}: the routing ledger has no version {version} (newest: {ledger.read_head(store).version})")
        return version
    written = [e["version"] for e in ledger.history(store) if e["actor"]["id"] == text]
    if not written:
        known = sorted({e["actor"]["id"] for e in ledger.history(store)})[-10:]
        raise MangaEvalError(f"{store.uri}: no routing ledger entry written by {text!r} (recent writers: {known})")
    return written[-1]


def document_for(store: ObjectStore, ref: str) -> dict[str, Any]:
    document = ledger.document_at(store, resolve_version(store, ref))
    if document is None:
        raise MangaEvalError(f"{store.uri}: version 0 is the state before the first published table: nothing to show")
    return document


def rollback(store: ObjectStore, ref: str, person: str, why: str = "", at: str | None = None) -> dict[str, Any]:
    """Make the routes of an earlier ledger version current again, as a new entry by `person` (held: the next
    nightly run does not undo a person's decision without better evidence)."""
    from mangaeval.routing.precedence import restore

    version = resolve_version(store, ref)
    target = document_for(store, ref)
    at = at or now_iso()
    set_by = {"kind": "person", "id": person, "at": at, "rollback_to": version}
    reason = f"rollback to ledger version {version} by {person}" + (f": {why}" if why else "")
    result = ledger.commit(store, set_by, restore("rollback", target["routes"], version, set_by, reason, hold=True), at,
                           initial=lambda: target, evidence={"rollback_to": version, "why": why})
    return {"rolled_back_to": version, **result}


def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Per intent: added, removed, changed (another configuration or parameters) or unchanged, with figure deltas."""
    changes = {}
    for intent in sorted(set(a["routes"]) | set(b["routes"])):
        ra, rb = a["routes"].get(intent), b["routes"].get(intent)
        if ra is None or rb is None:
            changes[intent] = {"status": "added" if ra is None else "removed", "changed": True,
                               "from": ra and ra["config_id"], "to": rb and rb["config_id"]}
            continue
        moved = ra["config_id"] != rb["config_id"] or ra.get("parameters") != rb.get("parameters")
        delta = {name: (None if ra.get(name) is None or rb.get(name) is None else rb[name] - ra[name]) for name in FIGURE_DELTAS}
        changes[intent] = {"status": "changed" if moved else "unchanged", "changed": moved, "from": ra["config_id"],
                           "to": rb["config_id"], "set_by": (rb.get("set_by") or {}).get("kind"), **delta}
    return {"from_version": a.get("ledger_version"), "to_version": b.get("ledger_version"), "from_run": a["run_id"],
            "to_run": b["run_id"], "intents": changes}

"""What is changing production right now, per intent: running A/B experiments (experiments/current.json) and
the rollout holding the canary split (canary/current.json). Writers read it so that no two of them move the
same intent at once: a nightly run leaves these intents alone, a rollout or an experiment refuses to start."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from mangaeval.objectstore import ObjectStore
from mangaeval.traffic import covered


def _utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def experiment_intents(intents: list[str] | tuple[str, ...], control_config_id: str, routes: dict[str, Any] | None) -> list[str]:
    """The intents an experiment covers: its list, or (none given) the intents routed to its control configuration."""
    return list(intents) or [i for i, r in (routes or {}).items() if r["config_id"] == control_config_id]


def running_experiments(store: ObjectStore, now: Any, routes: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """experiment id -> {intents, treatment_config_id} for experiments published as running at `now`. An
    experiment without intents covers the intents routed to its control configuration."""
    from mangaeval.ab.publishing import current_experiments

    published = current_experiments(store) or {"experiments": []}
    moment, found = _utc(now), {}
    for e in published["experiments"]:
        if e.get("status") != "running" or not _utc(e["start_time"]) <= moment < _utc(e["end_time"]):
            continue
        intents = experiment_intents(e.get("intents") or [], e["control_config_id"], routes)
        found[e["id"]] = {"intents": intents, "treatment_config_id": e["treatment_config_id"]}
    return found


def active_rollout(store: ObjectStore) -> dict[str, Any] | None:
    """The rollout holding the canary split (started, not rolled back, not completed), or None."""
    from mangaeval.canary import split

    found = split.current(store)
    if found is None:
        return None
    doc = found[0]
    if split.rolled_back(store, doc["rollout_id"]) or split.completed(store, doc["rollout_id"]):
        return None
    intents = covered(doc["intents"])
    return {"rollout_id": doc["rollout_id"], "intents": intents, "canary_pct": doc["canary_pct"], "stage": doc["stage"],
            "candidate_config_id": doc["candidate_config_id"]}


def frozen_intents(store: ObjectStore, now: Any, routes: dict[str, Any] | None = None, *, skip_experiment: str | None = None,
                   skip_rollout: str | None = None) -> dict[str, str]:
    """intent -> what is moving it ("A/B experiment X", "rollout Y at stage 2 (25%)"), except the caller itself."""
    frozen: dict[str, str] = {}
    for experiment_id, e in running_experiments(store, now, routes).items():
        if experiment_id != skip_experiment:
            for intent in e["intents"]:
                frozen.setdefault(intent, f"A/B experiment {experiment_id}")
    rollout = active_rollout(store)
    if rollout and rollout["rollout_id"] != skip_rollout:
        for intent in rollout["intents"]:
            frozen.setdefault(intent, f"rollout {rollout['rollout_id']} at stage {rollout['stage']} ({rollout['canary_pct']:g}% canary)")
    return frozen

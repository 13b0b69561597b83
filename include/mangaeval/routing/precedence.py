"""Who may change a route, and on what evidence (the `precedence:` part of include/config/routing_policy.yaml).

Each writer turns its evidence into a `Decide` for the ledger (mangaeval.routing.ledger.commit): given the
state it is about to change, the changes it makes and the proposals it declines, with why. The same function
runs again on the new state after a lost race, so a decision is always taken on what it will replace.

- nightly: a route changes only on enough cases (`min_cases_per_intent`), when the run's pick is non-inferior
  to what serves on the same cases (or what serves fails the policy); a dearer pick also needs a paired test
  able to see a drop of the margin (`decision_power`). A route set by a writer in `held_kinds`
  (an A/B promotion, a completed canary, a person) is held: the nightly run replaces it only when it ran
  after the route was set, on the same or a newer dataset version, and its pick is non-inferior to the held
  configuration on the same cases (paired lower 95% bound above -margin). An intent under an active A/B test
  or rollout is not touched at all.
- A/B promotion, canary completion: the winner on live traffic, held from then on.
- A/B rollback, canary rollback: the route the ledger had when the experiment or rollout started.
- a person (`mangaeval routing rollback`): the routes of an earlier ledger version, held.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mangaeval.errors import ConfigError
from mangaeval.paths import CONFIG_DIR
from mangaeval.routing.document import FIGURES
from mangaeval.routing.ledger import ACTOR_KINDS, Decide, version_key


@dataclass(frozen=True)
class Precedence:
    min_cases_per_intent: int = 30
    decision_power: float = 0.80
    held_kinds: tuple[str, ...] = ("ab_promotion", "canary_completion", "person")
    non_inferiority_margin: float = 0.02


def load_precedence(path: Path | None = None) -> Precedence:
    path = Path(path or CONFIG_DIR / "routing_policy.yaml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    section = doc.get("precedence") or {}
    problems = []
    minimum = section.get("min_cases_per_intent", Precedence.min_cases_per_intent)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 2:
        problems.append(f"{path}: 'precedence.min_cases_per_intent' must be a whole number >= 2, got {minimum!r}")
    power = section.get("decision_power", Precedence.decision_power)
    if isinstance(power, bool) or not isinstance(power, (int, float)) or not 0 < power < 1:
        problems.append(f"{path}: 'precedence.decision_power' must be a number in (0, 1), got {power!r}")
    held = section.get("held_kinds", list(Precedence.held_kinds))
    if not isinstance(held, list) or any(k not in ACTOR_KINDS for k in held):
        problems.append(f"{path}: 'precedence.held_kinds' must list writer kinds among {list(ACTOR_KINDS)}, got {held!r}")
    margin = doc.get("non_inferiority_margin", Precedence.non_inferiority_margin)
    if problems:
        raise ConfigError(problems)
    return Precedence(int(minimum), float(power), tuple(held), float(margin))


def held_reason(set_by: dict[str, Any]) -> str:
    return (f"set by {set_by['kind']} {set_by['id']} at {set_by['at']}: held against nightly decisions until a newer evaluation "
            "on the same or a newer dataset shows a qualifying configuration non-inferior to it")


def _same_figures(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(n) == b.get(n) for n in (*FIGURES, "baseline_cost_usd", "dataset_version", "config_id", "parameters"))


def nightly(proposals: list[dict[str, Any]], thin: list[dict[str, Any]], frozen: dict[str, str], precedence: Precedence,
            run_at: str) -> Decide:
    """`proposals`: per measured intent (mangaeval.pipeline.proposals), the recommended route or None, every measured
    configuration's route, the cases and the paired comparisons; `thin`: intents declined whatever the state."""

    def decide(state: dict[str, Any] | None, version: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        routes = (state or {}).get("routes", {})
        changes, declined = [], [dict(t) for t in thin]
        for p in proposals:
            intent, new = p["intent"], p["route"]
            current = routes.get(intent)
            if intent in frozen:
                declined.append({"intent": intent, "proposed": new and new["config_id"], "why": f"under {frozen[intent]}: not changed meanwhile"})
                continue
            serving = current["config_id"] if current else None
            if new is not None and new["config_id"] != serving:
                pair = p["pairs"].get(serving) if serving else None
                why = _refusal(current, p, pair, precedence, run_at)
                if why is None:
                    changes.append({"intent": intent, "kind": "switch", "from": serving, "to": new["config_id"], "reason": new["reason"],
                                    "evidence": {"n_cases": p["n_cases"], "n_clusters": p.get("n_clusters", p["n_cases"]), "vs_serving": pair,
                                                 "dataset_version": p["dataset_version"]},
                                    "route": new})
                    continue
                declined.append({"intent": intent, "proposed": new["config_id"], "serving": serving, "why": why})
                reason = f"kept: {why}"
            elif new is None:
                declined.append({"intent": intent, "proposed": None, "serving": serving, "why": p["why"]})
                reason = f"kept, FLAGGED: {p['why']}"
            else:
                reason = new["reason"]
            refreshed = _refreshed(current, p["measured"].get(serving), reason)
            if refreshed is not None:
                changes.append({"intent": intent, "kind": "refresh", "from": serving, "to": serving,
                                "reason": "same configuration, this run's figures", "route": refreshed})
        return changes, declined

    return decide


def _refreshed(current: dict[str, Any] | None, measured: dict[str, Any] | None, reason: str) -> dict[str, Any] | None:
    """The serving route with this run's figures of its configuration (None: not measured, or nothing new). A
    held route stays held and keeps who set it."""
    if current is None or measured is None:
        return None
    route = {**measured, "reason": reason}
    if current.get("held"):
        route.update(set_by=current["set_by"], held=current["held"])
    if _same_figures(current, route) and current.get("flagged") == route["flagged"]:
        return None
    return route


def _refusal(current: dict[str, Any] | None, p: dict[str, Any], pair: dict[str, Any] | None, precedence: Precedence,
             run_at: str) -> str | None:
    """Why this nightly proposal may not replace the serving route (None: it may)."""
    margin = precedence.non_inferiority_margin
    if current is not None and current.get("held"):
        set_by = current["set_by"]
        if run_at <= str(set_by.get("at", "")):
            return f"held ({set_by['kind']} {set_by['id']}): this run is not newer than the change ({run_at} <= {set_by['at']})"
        if version_key(p["dataset_version"]) < version_key(current.get("dataset_version") or ""):
            return f"held ({set_by['kind']} {set_by['id']}): dataset {p['dataset_version']} is older than {current['dataset_version']}"
        if pair is None or pair.get("lower_95") is None:
            return (f"held ({set_by['kind']} {set_by['id']}): this run has no paired comparison with {current['config_id']} "
                    "(it was not evaluated on the same cases)")
        if not pair["lower_95"] > -margin:
            return (f"held ({set_by['kind']} {set_by['id']}): {p['route']['config_id']} is not shown non-inferior to {current['config_id']} "
                    f"(paired lower bound {pair['lower_95']:+.4f} <= -{margin} on {_paired(pair)})")
        return None
    if pair is None or pair.get("lower_95") is None:
        return None  # the serving configuration was not measured on these cases: the run's pick stands on its own evidence
    serving, new = current["config_id"], p["route"]["config_id"]
    if pair["lower_95"] > -margin:
        costs = p.get("costs", {})
        costlier = (costs.get(new) or 0) > (costs.get(serving) or 0)
        if costlier and pair.get("detectable_drop") is not None and pair["detectable_drop"] > margin:
            # A dearer switch is justified by quality alone: the comparison must have been able to see the margin.
            return (f"too little evidence for a costlier switch: on {_paired(pair)} the test against {serving} detects only "
                    f"a drop of {pair['detectable_drop']:.3f} at power {precedence.decision_power:.0%} (margin {margin})")
        return None
    if not p.get("qualifies", {}).get(serving, True):
        return None  # what serves fails the policy on this run: moving to a qualifying configuration is the point
    return (f"{new} is not shown non-inferior to the serving {serving} on the same cases "
            f"(paired lower bound {pair['lower_95']:+.4f} <= -{margin} on {_paired(pair)}) and {serving} still meets the policy")


def _paired(pair: dict[str, Any]) -> str:
    """How much evidence a paired comparison stands on: its cases and their clusters (mangaeval.clusters)."""
    n = pair.get("n_pairs")
    return f"{n} paired cases in {pair.get('n_clusters', n)} clusters"


def live_winner(kind: str, intents: list[str], route_for: Any, frozen: dict[str, str]) -> Decide:
    """An A/B promotion or a completed canary: `route_for(intent, current_route)` is the winner's route (held)."""

    def decide(state: dict[str, Any] | None, version: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        routes = (state or {}).get("routes", {})
        changes, declined = [], []
        for intent in intents:
            current = routes.get(intent)
            new = route_for(intent, current)
            if intent in frozen:
                declined.append({"intent": intent, "proposed": new["config_id"], "why": f"under {frozen[intent]}"})
                continue
            if current is not None and current["config_id"] == new["config_id"] and current.get("set_by") == new["set_by"]:
                continue  # already applied (a retried task)
            changes.append({"intent": intent, "kind": kind, "from": current and current["config_id"], "to": new["config_id"],
                            "reason": new["reason"], "route": new})
        return changes, declined

    return decide


def restore(kind: str, targets: dict[str, dict[str, Any]], from_version: int, set_by: dict[str, Any], why: str,
            hold: bool = False) -> Decide:
    """Routes back to `targets` (intent -> the route of ledger version `from_version`); intents already there are left alone."""

    def decide(state: dict[str, Any] | None, version: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        routes = (state or {}).get("routes", {})
        changes = []
        for intent, target in sorted(targets.items()):
            current = routes.get(intent)
            if current is not None and current["config_id"] == target["config_id"] and current.get("parameters") == target.get("parameters"):
                continue
            route = {**target, "set_by": set_by, "held": held_reason(set_by) if hold else None, "flagged": bool(target.get("flagged")),
                     "reason": f"{why} (restored the route of ledger version {from_version})"}
            changes.append({"intent": intent, "kind": kind, "from": current and current["config_id"], "to": target["config_id"],
                            "reason": why, "route": route})
        return changes, []

    return decide

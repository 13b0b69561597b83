"""A nightly run's decisions as proposals to the routing ledger: per measured intent, the recommended route with
its figures and the evidence the precedence rules need (cases, paired comparisons with every configuration
evaluated on the same cases, and what each comparison could detect). Intents with too little evidence, or
where nothing meets the policy, propose nothing and are reported as declined."""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from mangaeval.models import ModelConfig
from mangaeval.routing.document import make_route
from mangaeval.routing.precedence import Precedence
from mangaeval.warehouse.policy import RoutingPolicy


def detectable_drop(n_pairs: int, mean_diff: float | None, lower_95: float | None, power: float,
                    n_clusters: int | None = None) -> float | None:
    """The smallest quality drop the paired test sees with `power` on these pairs: (t + z_power) x standard error,
    the standard error read back from the stored two-sided 95% bound. The test's t has n_clusters - 1 degrees of
    freedom (mangaeval.cluster_stats); pairs recorded before clusters (no n_clusters) had n_pairs - 1."""
    groups = n_pairs if n_clusters is None else n_clusters
    if groups < 2 or mean_diff is None or lower_95 is None:
        return None
    t = float(stats.t.ppf(0.975, groups - 1))
    se = max(0.0, (mean_diff - lower_95) / t)
    return (t + float(stats.norm.ppf(power))) * se


def nightly_proposals(decision: dict[str, Any], intents: list[str], dataset_version: str, configurations: dict[str, ModelConfig],
                      policy: RoutingPolicy, precedence: Precedence, run_id: str, run_at: str) -> tuple[list[dict], list[dict]]:
    """(proposals, thin) for `intents`, from decisions_document() of the run. A proposal: the recommended route
    (None when nothing meets the policy, with `why`), every measured configuration's route (so whatever keeps
    serving gets this run's figures), the number of cases and the paired comparisons of the recommendation."""
    metrics = {(a["intent"], a["config_id"]): a for a in decision["aggregates"]}
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for row in decision.get("pairs", []):
        n = int(row["n_pairs"])
        groups = None if _number(row.get("n_clusters")) is None else int(row["n_clusters"])
        pairs.setdefault((row["intent"], row["config_id"]), {})[row["reference_config_id"]] = {
            "n_pairs": n, "n_clusters": groups if groups is not None else n, "mean_diff": row["mean_diff"], "lower_95": row["lower_95"],
            "detectable_drop": detectable_drop(n, row["mean_diff"], row["lower_95"], precedence.decision_power, groups)}
    set_by = {"kind": "nightly", "id": run_id, "at": run_at}
    proposals, thin = [], []
    for intent in intents:
        rec = decision["recommendation"].get(intent)
        measured = {c: m for (i, c), m in metrics.items() if i == intent and c in configurations and int(m["ok_calls"] or 0) > 0}
        if rec is None or not measured:
            thin.append({"intent": intent, "proposed": None, "why": "no answered case of this intent in the run"})
            continue
        cases = max(int(m["ok_calls"]) for m in measured.values())
        clusters = max(_clusters(m) for m in measured.values())
        if cases < precedence.min_cases_per_intent:
            thin.append({"intent": intent, "proposed": rec.get("recommended_config_id"),
                         "why": f"only {cases} scored cases in {clusters} clusters (a route changes on at least "
                                f"{precedence.min_cases_per_intent} cases): nothing proposed"})
            continue
        baseline = metrics.get((intent, policy.baseline_config_id))
        baseline_cost = None if baseline is None else _number(baseline["mean_cost_usd"])

        def route(config_id: str, reason: str, flagged: bool = False) -> dict[str, Any]:
            m = measured[config_id]
            figures = {name: _number(m.get(name)) for name in ("mean_quality", "pass_rate", "latency_p95_ms", "mean_cost_usd")}
            return make_route(configurations[config_id], figures, reason, set_by=set_by, flagged=flagged, dataset_version=dataset_version,
                              figures_from=f"run {run_id} ({int(m['ok_calls'])} cases in {_clusters(m)} clusters)",
                              baseline_cost_usd=baseline_cost)

        picked = rec.get("recommended_config_id")
        qualifies = {c: _meets(m, policy) for c, m in measured.items()}
        costs = {c: _number(m.get("mean_cost_usd")) for c, m in measured.items()}
        proposals.append({"intent": intent, "dataset_version": dataset_version, "n_cases": cases, "n_clusters": clusters,
                          "qualifies": qualifies, "costs": costs,
                          "route": route(picked, rec["reason"]) if picked else None,
                          "why": None if picked else f"run {run_id}: {rec['reason']}",
                          "measured": {c: route(c, "kept: " + ("nothing meets the policy" if not picked else "see the ledger"), not picked)
                                       for c in measured},
                          "pairs": pairs.get((intent, picked), {}) if picked else {}})
    return proposals, thin


def _meets(m: dict[str, Any], policy: RoutingPolicy) -> bool:
    """Whether a configuration met the policy on this intent in the run (the same thresholds as the SQL)."""
    values = [_number(m.get(n)) for n in ("pass_rate", "latency_p95_ms", "error_rate")]
    if any(v is None for v in values):
        return False
    pass_rate, p95, error_rate = values
    return pass_rate >= policy.min_pass_rate and p95 <= policy.sla_p95_ms and error_rate <= policy.max_error_rate


def _clusters(m: dict[str, Any]) -> int:
    """The clusters behind a configuration's scored answers (aggregates from before clusters: its ok calls)."""
    clusters = _number(m.get("clusters"))
    return int(clusters) if clusters is not None else int(m["ok_calls"] or 0)


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

"""One analysis of one experiment on a warehouse, as the hourly DAG and the CLI both run it: sufficient
statistics by SQL, the statistics and decision in Python, the results stored per analysis time."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from mangaeval.ab.analysis import analyze, previous_look, sufficient_stats
from mangaeval.ab.decision import report
from mangaeval.ab.experiments import Experiment


def event_span(warehouse: Any, experiment_id: str) -> tuple[datetime | None, datetime | None, int]:
    row = warehouse.query("ab/ab_event_span.sql", {"experiment_id": experiment_id}).iloc[0]
    first, last = row["first_event"], row["last_event"]
    to_dt = lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else v.to_pydatetime() if hasattr(v, "to_pydatetime") else v
    return to_dt(first), to_dt(last), int(row["requests"] or 0)


def analyze_experiment(warehouse: Any, experiment: Experiment, as_of: datetime, *, store: bool = True) -> dict[str, Any]:
    """Analyse `experiment` with every event up to `as_of` (naive UTC); store the look when `store`."""
    stats = sufficient_stats(warehouse, experiment.id, as_of)
    analysis = analyze(stats, experiment, as_of, previous_look(warehouse, experiment.id, as_of))
    doc = report(analysis)
    if store:
        store_report(warehouse, doc, as_of)
    return doc


def store_report(warehouse: Any, doc: dict[str, Any], as_of: datetime, proposal: dict[str, Any] | None = None) -> None:
    """The look's metrics and decision, replacing an earlier copy of the same look (idempotent reruns)."""
    key = {"experiment_id": doc["experiment_id"], "analyzed_at": as_of}
    metrics = [{**key, "metric": name, "role": m.get("role", "secondary"), "status": doc["guardrails"].get(name, {}).get("status"),
                **{c: m.get(c) for c in ("control_n", "treatment_n", "control_mean", "treatment_mean", "effect", "ci_low", "ci_high",
                                         "relative_effect", "relative_ci_low", "relative_ci_high", "p_value", "p_value_sequential",
                                         "cs_low", "cs_high")}}
               for name, m in doc["metrics"].items()]
    decision = [{**key, "decision": doc["decision"], "reasons": json.dumps(doc["reasons"], ensure_ascii=False),
                 "srm_p_value": doc["srm"]["p_value"], "srm_status": doc["srm"]["status"],
                 "control_sessions": doc["srm"]["control_sessions"], "treatment_sessions": doc["srm"]["treatment_sessions"],
                 "proposal": json.dumps(proposal, ensure_ascii=False) if proposal else None}]
    warehouse.replace_many({"ab_analysis_metrics": (key, metrics), "ab_decisions": (key, decision)})

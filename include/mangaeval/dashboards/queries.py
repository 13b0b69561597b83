"""What the dashboard pages read: the warehouse's dashboard views (sql/marts/mart_*.sql, sql/ab/v_ab_results.sql) through
the query files of sql/dashboards/, and the routing ledger in the object store. Every value from a request is a bound
parameter; the few values that choose something else (an intent, a language, a tag, a metric) are first checked
against what the warehouse holds for the run (allow-lists), so a bad value is a clear message, not an empty page."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mangaeval.bench.rule import DEFAULT_THRESHOLD
from mangaeval.errors import MangaEvalError
from mangaeval.warehouse.sqlfiles import read_sql, without_comments

PAGE_SIZE = 25  # cases per Answers page: 25 x 9 configurations of answers is what a person reads side by side
# A P95 more than 10% above the previous result's is marked: the bench rule's regression threshold, here without
# its statistical evidence (the warehouse keeps no samples, so the page marks, the compare verdict decides).
P95_WORSE = DEFAULT_THRESHOLD
DIMENSIONS = ("relevance", "factual_accuracy", "completeness", "language_match", "format_length", "safety_policy")


class NotFound(MangaEvalError):
    """A run, intent, experiment or rollout the warehouse does not hold: the page says so (HTTP 404)."""


class BadInput(MangaEvalError):
    """A request value outside its allow-list: the page names it and the values it accepts (HTTP 400)."""


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with None for NULL/NaN (pandas gives NaN, NaT or None depending on the engine and column)."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float) and math.isnan(value):
                row[key] = None
    return rows


@dataclass
class Reader:
    """The pages' queries on one warehouse connection (mangaeval.warehouse.Warehouse)."""

    warehouse: Any

    def _q(self, name: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self.warehouse.query(f"dashboards/{name}.sql", params or {})

    # Runs -------------------------------------------------------------------------------------------------------
    def runs(self) -> list[dict[str, Any]]:
        return _records(self._q("runs"))

    def run_intents(self, run_id: str) -> list[str]:
        """The run's intents; NotFound when the warehouse has no such run."""
        if not isinstance(run_id, str) or not run_id or len(run_id) > 250:
            raise NotFound("no such run: a run id is 1 to 250 characters")
        intents = list(self._q("run_exists", {"run_id": run_id})["intent"])
        if not intents:
            raise NotFound(f"no such run: {run_id!r} is not in the warehouse")
        return intents

    def latest_run(self) -> str | None:
        runs = self.runs()
        return runs[0]["run_id"] if runs else None

    def checked_intent(self, run_id: str, intent: str | None) -> tuple[list[str], str]:
        intents = self.run_intents(run_id)
        if intent in (None, ""):
            return intents, intents[0]
        if intent not in intents:
            raise BadInput(f"intent {intent!r}: run {run_id} evaluated {', '.join(intents)}")
        return intents, intent

    # Evaluation -------------------------------------------------------------------------------------------------
    def evaluation(self, run_id: str, intent: str) -> list[dict[str, Any]]:
        return _records(self._q("evaluation", {"run_id": run_id, "intent": intent}))

    def evaluation_run(self, run_id: str) -> list[dict[str, Any]]:
        return _records(self._q("evaluation_run", {"run_id": run_id}))

    def trend(self, intent: str) -> list[dict[str, Any]]:
        return _records(self._q("trend", {"intent": intent}))

    def calibrated_projection(self, run_id: str, settings: Any = None) -> dict[str, Any]:
        """The run's monthly projection at golden-set and at live traffic's token sizes (mangaeval.warehouse.live_calibration)."""
        from mangaeval.warehouse.live_calibration import calibrated_projection

        return calibrated_projection(self.warehouse, run_id, settings)

    # Answers ----------------------------------------------------------------------------------------------------
    def facets(self, run_id: str, intent: str) -> tuple[list[str], list[str]]:
        """The languages and tags of a run's cases of an intent: the filters' allow-lists."""
        frame = self._q("case_facets", {"run_id": run_id, "intent": intent})
        languages = sorted({v for v in frame["language"] if v})
        tags = sorted({t for v in frame["tags"] if v for t in v.strip(",").split(",") if t})
        return languages, tags

    def cases(self, run_id: str, intent: str, *, language: str | None = None, tag: str | None = None, failed_only: bool = False,
              disagree_only: bool = False, page: int = 1) -> dict[str, Any]:
        languages, tags = self.facets(run_id, intent)
        if language and language not in languages:
            raise BadInput(f"language {language!r}: the cases of {intent} in run {run_id} are in {', '.join(languages) or 'no language'}")
        if tag and tag not in tags:
            raise BadInput(f"tag {tag!r}: the cases of {intent} in run {run_id} carry {', '.join(tags) or 'no tag'}")
        if not isinstance(page, int) or page < 1 or page > 100_000:
            raise BadInput(f"page {page!r}: a page number from 1")
        params = {"run_id": run_id, "intent": intent, "language": language or None, "tag_token": f",{tag}," if tag else None,
                  "failed_only": int(bool(failed_only)), "disagree_only": int(bool(disagree_only)),
                  "page_size": PAGE_SIZE, "page_offset": (page - 1) * PAGE_SIZE}
        cases = _records(self._q("cases", params))
        matching = int(cases[0]["matching"]) if cases else 0
        answers = self.answers(run_id, intent, [c["test_id"] for c in cases])
        for case in cases:
            case["answers"] = answers.get(case["test_id"], [])
            case["tag_list"] = [t for t in (case.get("tags") or "").strip(",").split(",") if t]
        return {"cases": cases, "matching": matching, "languages": languages, "tags": tags, "page": page,
                "pages": max(1, math.ceil(matching / PAGE_SIZE))}

    def answers(self, run_id: str, intent: str, test_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Every configuration's answer to each case, by test id. The IN list is built of placeholder names we make
        (:t0, :t1, ...); the ids themselves are bound values."""
        if not test_ids:
            return {}
        names = {f"t{i}": test_id for i, test_id in enumerate(test_ids)}
        sql = without_comments(read_sql("dashboards/answers.sql")).replace("{test_ids}", ", ".join(f":{n}" for n in names))
        with self.warehouse.transaction() as cur:
            cur.execute(*self.warehouse._bind(sql.strip().rstrip(";"), {"run_id": run_id, "intent": intent, **names}))
            frame = pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in _records(frame):
            grouped.setdefault(row["test_id"], []).append(row)
        return grouped

    def case(self, run_id: str, test_id: str) -> dict[str, Any]:
        self.run_intents(run_id)
        rows = _records(self._q("case", {"run_id": run_id, "test_id": test_id}))
        if not rows:
            raise NotFound(f"no such case: {test_id!r} is not a case of run {run_id}")
        row = rows[0]
        row["case"] = json.loads(row["case_json"]) if row.get("case_json") else None
        return row

    # Experiments ------------------------------------------------------------------------------------------------
    def experiments(self) -> list[dict[str, Any]]:
        return _records(self._q("ab_experiments"))

    def experiment(self, experiment_id: str) -> dict[str, Any]:
        looks = _records(self._q("ab_looks", {"experiment_id": experiment_id}))
        if not looks:
            raise NotFound(f"no such experiment: {experiment_id!r} has no analysis in the warehouse")
        for look in looks:
            try:
                look["reason_list"] = json.loads(look["reasons"]) if look.get("reasons") else []
            except ValueError:
                look["reason_list"] = [look["reasons"]]
        return {"looks": looks, "metrics": _records(self._q("ab_metrics", {"experiment_id": experiment_id}))}

    # Rollouts ---------------------------------------------------------------------------------------------------
    def rollouts(self) -> list[dict[str, Any]]:
        return _records(self._q("canary_rollouts"))

    def rollout(self, rollout_id: str) -> dict[str, Any]:
        stages = _records(self._q("canary_stages", {"rollout_id": rollout_id}))
        if not stages:
            raise NotFound(f"no such rollout: {rollout_id!r} has no stage in the warehouse")
        for stage in stages:
            try:
                stage["reason_list"] = json.loads(stage["reasons"]) if stage.get("reasons") else []
            except ValueError:
                stage["reason_list"] = [stage["reasons"]]
            if not isinstance(stage["reason_list"], list):
                stage["reason_list"] = [stage["reason_list"]]
        return {"stages": stages, "metrics": _records(self._q("canary_metrics", {"rollout_id": rollout_id}))}

    # Benchmarks -------------------------------------------------------------------------------------------------
    def benchmark_environments(self) -> list[str]:
        """The environments with benchmark results, latest first; empty when `mangaeval bench` never loaded any."""
        return [r["environment"] for r in _records(self._q("benchmark_environments"))]

    def checked_benchmark_filters(self, environments: list[str], environment: str | None,
                                  config_id: str | None) -> tuple[str, list[str], str | None]:
        """The environment (default: the latest result's) and configuration (default: every one) to show, each
        checked against what the warehouse holds, and the environment's configurations."""
        chosen = environment or environments[0]
        if chosen not in environments:
            raise NotFound(f"environment {chosen!r} has no benchmark results; the warehouse holds {', '.join(environments)}")
        configs = list(self._q("benchmark_configs", {"environment": chosen})["config_id"])
        if config_id and config_id not in configs:
            raise BadInput(f"configuration {config_id!r}: environment {chosen} has benchmark results for {', '.join(configs)}")
        return chosen, configs, config_id or None

    def benchmark_trend(self, environment: str, config_id: str | None) -> list[dict[str, Any]]:
        return _records(self._q("benchmark_trend", {"environment": environment, "config_id": config_id}))

    def benchmark_latest(self, environment: str, config_id: str | None) -> list[dict[str, Any]]:
        """Each configuration's latest result; `p95_worse` when its P95 grew by more than the bench rule's threshold."""
        rows = _records(self._q("benchmark_latest", {"environment": environment, "config_id": config_id}))
        for row in rows:
            row["p95_worse"] = row["p95_change"] is not None and row["p95_change"] > P95_WORSE
        return rows


# Routing (the ledger in the object store: the routing table's history is not in the warehouse) ---------------------
def routing_view(store: Any, a: str | None = None, b: str | None = None) -> dict[str, Any]:
    """The current table, every ledger entry, the diff between versions a and b (default: the last change), and the
    monthly projection against the all-premium baseline."""
    from mangaeval.routing import ledger
    from mangaeval.routing.projection import project
    from mangaeval.routing.publish import current_document, diff, document_for
    from mangaeval.warehouse.policy import load_policy

    document = current_document(store)
    if document is None:
        raise NotFound(f"no routing table has been published yet in {store.uri}")
    entries = ledger.history(store)
    versions = [e.get("version") for e in entries]
    head = document.get("ledger_version") or (versions[-1] if versions else None)
    a = a or (str(head - 1) if isinstance(head, int) and head > 1 else str(head))
    b = b or "current"
    for ref in (a, b):
        if ref != "current" and not (ref.isdigit() and int(ref) in versions):
            raise BadInput(f"version {ref!r}: the ledger holds versions {', '.join(map(str, versions))} (or 'current')")
    return {"document": document, "history": entries, "versions": versions,
            "diff": diff(document_for(store, a), document_for(store, b)), "a": a, "b": b,
            "projection": project(document, load_policy())}

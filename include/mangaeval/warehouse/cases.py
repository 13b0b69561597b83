"""The golden cases a run evaluated, as rows of `eval_cases`: what the dashboards' Answers page filters on (language,
tags) and links to (the case and its place in the dataset), kept in the warehouse so a BI tool sees the same."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import pandas as pd

from mangaeval.golden import DatasetError, load_dataset


@lru_cache(maxsize=4)
def _cases_by_id(version: str) -> dict[str, tuple[Any, str]]:
    """test_id -> (case, "<version>/<intent>.jsonl:<line>") of a dataset version; empty when it cannot be read."""
    try:
        dataset = load_dataset(version)
    except (DatasetError, OSError):
        return {}
    found = {}
    for intent, cases in dataset.by_intent().items():  # each intent file holds its cases in order, one per line
        for line, case in enumerate(cases, start=1):
            found[case.test_id] = (case, f"{version}/{intent}.jsonl:{line}")
    return found


def case_rows(frame: pd.DataFrame, run_id: str) -> list[dict[str, Any]]:
    """One row per case of the run. A case its dataset no longer holds (or a dataset given as a path that is gone)
    still gets a row with what the results carry, so every answer has its case."""
    seen = frame.drop_duplicates("test_id")
    rows = []
    for test_id, intent, language, version in zip(seen["test_id"], seen["intent"], seen.get("language", [None] * len(seen)),
                                                  seen.get("dataset_version", [None] * len(seen))):
        case, source = _cases_by_id(str(version))[test_id] if version and test_id in _cases_by_id(str(version)) else (None, None)
        rows.append({"run_id": run_id, "test_id": test_id, "intent": intent, "language": case.language if case else language,
                     "dataset_version": version, "tags": ("," + ",".join(case.tags) + ",") if case and case.tags else ",",
                     "query": case.query if case else None, "reference_answer": case.reference_answer if case else None,
                     "source": source, "case_json": json.dumps(case.to_json(), ensure_ascii=False) if case else None})
    return rows

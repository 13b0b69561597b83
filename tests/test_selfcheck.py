"""Scorer self-check on a fixed subset of dataset v1 (the benchmark runs it in full)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mangaeval.golden import load_dataset
from mangaeval.scoring.selfcheck import MUST_FAIL, run_selfcheck, unmet_targets


@pytest.fixture(scope="module")
def subset():
    cases = load_dataset("v1").cases
    per_intent: dict[str, list] = {}
    for case in cases:
        per_intent.setdefault(case.intent, [])
        if len(per_intent[case.intent]) < 40:
            per_intent[case.intent].append(case)
    return [c for group in per_intent.values() for c in group]


def test_selfcheck_targets_on_a_fixed_subset(subset):
    report = run_selfcheck(subset)
    assert unmet_targets(report) == []
    overall = report["overall"]
    assert overall["reference_pass_rate"] >= 0.98 and overall["auc"] >= 0.97
    assert all(block["auc"] >= 0.93 for block in report["per_intent"].values())
    for kind in MUST_FAIL:
        assert overall["corruptions"][kind]["fail_rate"] >= 0.95, kind


def test_unmet_targets_are_reported():
    report = {"overall": {"reference_pass_rate": 0.9, "auc": 0.8, "corruptions": {"empty": {"fail_rate": 0.5, "must_fail": True}}},
              "per_intent": {"faq": {"auc": 0.9}}}
    problems = unmet_targets(report)
    assert len(problems) == 4 and any("faq: AUC" in p for p in problems)


def test_selfcheck_cli_json_shape():
    proc = subprocess.run([sys.executable, "-m", "mangaeval.cli", "score", "selfcheck", "--dataset", "v1", "--intents",
                           "order_tracking", "chitchat", "--json", "--strict"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc["per_intent"]) == {"order_tracking", "chitchat"}
    for block in [doc["overall"], *doc["per_intent"].values()]:
        assert {"reference_pass_rate", "auc", "corruptions"} <= set(block)
        for stats in block["corruptions"].values():
            assert {"mean_score", "fail_rate"} <= set(stats)


def test_selfcheck_targets_on_a_v2_subset():
    """Production-length references (dataset v2) pass, and every planted error kind that must fail still fails."""
    from mangaeval.golden import sample_per_intent

    report = run_selfcheck(sample_per_intent(load_dataset("v2").cases, 12, seed=1))
    assert unmet_targets(report) == []
    for kind in MUST_FAIL:
        assert report["overall"]["corruptions"][kind]["fail_rate"] >= 0.95, kind

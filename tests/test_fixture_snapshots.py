"""Snapshot of the scorer's figures on the shipped fixture library (tests/snapshots/fixture_scores_v1.json).

Any change to the scorer, the scoring policy or the fixtures that moves a figure fails this test with one line per
changed figure. When the change is intended, update the snapshot on purpose and commit it with the change, so the
review sees the diff:

    make snapshots                                   # or:
    MANGAEVAL_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_fixture_snapshots.py
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from mangaeval.fixtures.library import load_library
from mangaeval.fixtures.scores import fixture_scores, snapshot_diff
from mangaeval.scoring import Scorer, load_scoring_config

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "fixture_scores_v1.json"
UPDATE = os.environ.get("MANGAEVAL_UPDATE_SNAPSHOTS") == "1"


@pytest.fixture(scope="module")
def current() -> dict:
    return fixture_scores(load_library("v1"), Scorer(load_scoring_config()))


def test_scores_on_fixtures_match_the_snapshot(current):
    if UPDATE:
        SNAPSHOT.write_text(json.dumps(current, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        return
    assert SNAPSHOT.exists(), f"{SNAPSHOT} is missing: create it with `make snapshots`"
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    changes = snapshot_diff(expected, json.loads(json.dumps(current)))
    if changes:
        pytest.fail(f"the scorer's figures on fixture library v1 changed ({len(changes)} figure(s)):\n" + "\n".join(changes[:60])
                    + ("\n  ..." if len(changes) > 60 else "")
                    + "\nIf intended: `make snapshots` (MANGAEVAL_UPDATE_SNAPSHOTS=1) and commit tests/snapshots/ with the change.",
                    pytrace=False)


def test_a_scoring_change_shows_up_as_a_readable_diff(current):
    """The comparison can fail: a stricter gate and a moved figure are both reported, figure by figure."""
    stricter = fixture_scores(load_library("v1"), Scorer(replace(load_scoring_config(), gate=0.95)))
    changes = snapshot_diff(current, stricter)
    assert "  changed  gate: 0.75 -> 0.95  (+0.2)" in changes
    assert "  changed  fixtures.golden/sonnet-3-5-v2/faq-en-0007.passed: True -> False" in changes
    assert any(line.startswith("  changed  summary.golden.pass_rate:") for line in changes)
    moved = json.loads(json.dumps(current))
    moved["fixtures"]["golden/haiku-3-5/faq-ja-0000"]["quality_score"] -= 0.01
    del moved["fixtures"]["empty-answer/sonnet-3-5-v2/faq-en-0009"]
    lines = snapshot_diff(current, moved)
    assert any(line.startswith("  changed  fixtures.golden/haiku-3-5/faq-ja-0000.quality_score:") and "(-0.01)" in line for line in lines)
    assert "  removed  fixtures.empty-answer/sonnet-3-5-v2/faq-en-0009.outcome: 'end_turn'" in lines


def test_errors_are_counted_never_scored(current):
    errors = {fid: e for fid, e in current["fixtures"].items() if e["status"] >= 400}
    assert errors and all(e["scored"] is False and "quality_score" not in e for e in errors.values())
    assert current["fixtures"]["empty-answer/sonnet-3-5-v2/faq-en-0009"]["critical"] == ["empty_answer"]

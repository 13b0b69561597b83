"""Regenerate the SYNTHETIC calibration example: include/examples/results.synthetic.parquet and
include/examples/labels.synthetic.jsonl (README "Calibration against people").

1. A run of the model double (seed 0, no waiting, no cache) on dataset v1: sonnet-3-5-v2 and haiku-3 on 6 cases each
   of faq, order_tracking and recommendation, judged by haiku-3-5 (the LLM judge), scored by today's scorer.
2. Labels that a person did NOT make: the "person" verdict is the scorer's own, except where a disagreement is
   planted, so the figures are known by construction:
   - 3 borderline answers (composite nearest the gate) decided the other way;
   - the most confident pass (highest composite) failed, as if a person found a claim the rules cannot check wrong;
   - the most confident fail with a critical failure (lowest composite; not an empty answer) passed, as if the cap
     were spurious;
   - 4 answers labelled again by a second rater, who disagrees with the first on one of them;
   - 2 labels of answers that have changed since (another hash) and 1 of a configuration the run does not hold:
     counted and listed, never compared.
   Every third label carries dimension marks on the coarse scale people use (0, 0.5, 1), the planted confident
   disagreements marking factual accuracy the way their verdict goes.
3. Prints the calibration report and checks it against the construction (exit 1 if they differ).

The committed results file keeps the example stable when the double or the scorer changes; rerun this script to
refresh both files together (their hashes must match). Usage: python benchmarks/calibration_example.py [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from mangaeval.paths import INCLUDE_DIR
from mangaeval.results import answer_hash, read_results
from mangaeval.scoring import load_scoring_config
from mangaeval.scoring.calibration import LABELS_FORMAT, LABELS_VERSION, calibrate, format_report, label_row, read_labels

CONFIGS = ("sonnet-3-5-v2", "haiku-3")
INTENTS = ("faq", "order_tracking", "recommendation")
CASES_PER_INTENT = 6
JUDGE = "haiku-3-5"
RATER_A, RATER_B = "synthetic-rater-a", "synthetic-rater-b"
COARSE = ("relevance", "factual_accuracy", "completeness")
ABOUT = ("SYNTHETIC labels made by benchmarks/calibration_example.py, not by people: the 'person' verdict is the "
         "scorer's own except for planted disagreements (3 borderline, 1 confident pass, 1 confident critical fail, "
         "1 second-rater disagreement), plus 2 labels of changed answers and 1 of a configuration not in the run.")


def run_double(out: Path) -> Path:
    from mangaeval.cli import main

    argv = ["evaluate", "--configs", *CONFIGS, "--dataset", "v1", "--intents", *INTENTS, "--limit", str(CASES_PER_INTENT),
            "--judge", JUDGE, "--run-id", "calibration-example", "--out", str(out), "--no-cache", "--seed", "0",
            "--time-scale", "0", "--no-progress", "--json"]
    with contextlib.redirect_stdout(io.StringIO()):
        status = main(argv)
    if status:
        raise SystemExit(f"the double run failed (exit {status})")
    return out / "calibration-example" / "results.parquet"


def coarse(value: float) -> float:
    return round(value * 2) / 2


def synthetic_labels(rows: list[dict], gate: float) -> tuple[list[dict], dict[str, int]]:
    """Label rows (scored, ok) with planted disagreements; returns the rows and the planted counts."""
    rows = sorted(rows, key=lambda r: (r["intent"], r["config_id"], r["test_id"]))
    key = lambda r: (r["test_id"], r["config_id"])  # noqa: E731
    borderline = sorted(rows, key=lambda r: (abs(r["quality_score"] - gate), r["test_id"], r["config_id"]))[:3]
    flips = {key(r): "planted: borderline answer, the person decides the other way" for r in borderline}
    confident_pass = max((r for r in rows if r["passed"] and key(r) not in flips), key=lambda r: (r["quality_score"], r["test_id"]))
    flips[key(confident_pass)] = "planted: the person finds a claim the rules could not check wrong"
    # (not an empty answer: no person passes that)
    capped = [r for r in rows if not r["passed"] and r["critical_failure"] and "empty_answer" not in r["critical_failure"]
              and key(r) not in flips]
    confident_fail = min(capped or [r for r in rows if not r["passed"] and key(r) not in flips],
                         key=lambda r: (r["quality_score"], r["test_id"]))
    flips[key(confident_fail)] = "planted: the person finds the critical failure spurious"
    confident = {key(confident_pass), key(confident_fail)}
    labels = []
    for i, row in enumerate(rows):
        note = flips.get(key(row))
        passed = (not row["passed"]) if note else bool(row["passed"])
        dims = None
        if i % 3 == 0 or key(row) in confident:
            dims = {d: coarse(float(row[f"score_{d}"])) for d in COARSE}
            if key(row) in confident:
                dims["factual_accuracy"] = 1.0 if passed else 0.0
        labels.append(label_row(row, passed, dims, RATER_A if i % 2 == 0 else RATER_B, note))
    # A second rater on four answers the first rater (a) labelled without a planted disagreement.
    seconds = [i for i, row in enumerate(rows) if key(row) not in flips and i % 2 == 0][:4]
    for n, i in enumerate(seconds):
        row, first = rows[i], labels[i]
        disagree = n == 0
        labels.append(label_row(row, (not first["passed"]) if disagree else first["passed"], None, RATER_B,
                                "planted: the second rater disagrees with the first" if disagree else None))
    # Labels that cannot be compared: two answers changed since labelling, one configuration the run lacks.
    for row in rows[1:3]:
        stale = label_row(row, bool(row["passed"]), None, RATER_A, "planted: labelled an earlier answer, changed since")
        stale["answer_hash"] = answer_hash(str(row["response_text"]) + " Anything else I can help with?")
        labels.append(stale)
    ghost = label_row(rows[0], True, None, RATER_A, "planted: a configuration this run did not evaluate")
    ghost["config_id"] = "nova-lite"
    labels.append(ghost)
    planted = {"disagreements": len(flips) + 1, "changed": 2, "missing": 1, "used": len(rows) + len(seconds),
               "double_labelled": len(seconds), "raters_disagree": 1, "total": len(labels)}
    return labels, planted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=INCLUDE_DIR / "examples")
    args = parser.parse_args(argv)
    config = load_scoring_config()
    with tempfile.TemporaryDirectory() as tmp:
        produced = run_double(Path(tmp))
        args.out.mkdir(parents=True, exist_ok=True)
        results_path = args.out / "results.synthetic.parquet"
        shutil.copyfile(produced, results_path)
    frame = read_results(results_path)
    rows = frame[frame["status"] == "ok"].astype(object).where(frame.notna(), None).to_dict("records")
    labels, planted = synthetic_labels(rows, config.gate)
    labels_path = args.out / "labels.synthetic.jsonl"
    header = {"format": LABELS_FORMAT, "version": LABELS_VERSION, "synthetic": True, "about": ABOUT}
    labels_path.write_text("".join(json.dumps(doc, ensure_ascii=False) + "\n" for doc in [header, *labels]), encoding="utf-8")
    shown = lambda path: os.path.relpath(path)  # noqa: E731  (the report names files as the reader would type them)
    report = calibrate(read_labels(shown(labels_path)), read_results(results_path), config.gate, shown(results_path))
    print(format_report(report))
    measured = {"disagreements": report["scorer"]["disagreements_total"], "changed": len(report["changed"]),
                "missing": len(report["missing"]), "used": report["used"], "total": report["labels_total"],
                "double_labelled": (report["people"] or {}).get("n", 0),
                "raters_disagree": (report["people"] or {}).get("n", 0) - round((report["people"] or {}).get("agreement", 0) * (report["people"] or {}).get("n", 0))}
    print(f"\nwrote {results_path} ({len(frame)} rows) and {labels_path} ({len(labels)} labels)")
    print("planted  " + json.dumps(planted, sort_keys=True))
    print("measured " + json.dumps(measured, sort_keys=True))
    return 0 if planted == measured else 1


if __name__ == "__main__":
    sys.exit(main())

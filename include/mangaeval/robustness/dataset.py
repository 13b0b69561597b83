"""Store, load and score the versioned robustness set (include/robustness_sets/<version>/<intent>.jsonl).

Rows are written once by `mangaeval.robustness.writer` and kept as test data; the scorer is measured
against the stored rows, so changing the writer (or the scorer) cannot silently change what is measured.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from mangaeval.errors import DatasetError
from mangaeval.golden import GoldenCase
from mangaeval.paths import INCLUDE_DIR

ROBUSTNESS_DIR = INCLUDE_DIR / "robustness_sets"
REQUIRED = ("test_id", "intent", "language", "kind", "answer", "expected", "split")


def save(rows: list[dict[str, Any]], version: str, source: str) -> Path:
    folder = ROBUSTNESS_DIR / version
    folder.mkdir(parents=True, exist_ok=True)
    by_intent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_intent[row["intent"]].append(row)
    manifest: dict[str, Any] = {"version": version, "golden_dataset": source, "writer": "mangaeval.robustness.writer", "files": {}}
    for intent, intent_rows in sorted(by_intent.items()):
        text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in intent_rows)
        (folder / f"{intent}.jsonl").write_text(text, encoding="utf-8")
        manifest["files"][f"{intent}.jsonl"] = {"sha256": hashlib.sha256(text.encode()).hexdigest(), "rows": len(intent_rows)}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def load(version: str = "v1") -> tuple[list[dict[str, Any]], str]:
    """The rows of a stored set and the golden dataset version they answer; checksums must match the manifest."""
    folder = ROBUSTNESS_DIR / version
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise DatasetError([f"{folder}: no robustness set '{version}' (write it with `mangaeval score robustness-write`)"])
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    rows, problems = [], []
    for name, meta in manifest["files"].items():
        text = (folder / name).read_text(encoding="utf-8")
        if hashlib.sha256(text.encode()).hexdigest() != meta["sha256"]:
            problems.append(f"{folder / name}: checksum differs from manifest.json (edited by hand?)")
        for n, line in enumerate(text.splitlines(), 1):
            row = json.loads(line)
            missing = [k for k in REQUIRED if k not in row]
            if missing or row["expected"] not in ("pass", "fail"):
                problems.append(f"{folder / name}:{n}: missing {missing} or expected not pass/fail")
            rows.append(row)
    if problems:
        raise DatasetError(problems)
    return rows, manifest["golden_dataset"]


def _rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def evaluate(rows: Iterable[dict[str, Any]], cases: Iterable[GoldenCase], scorer: Any, split: str | None = None) -> dict[str, Any]:
    """Share of correct answers passing and of wrong answers failing: overall, per intent, per error class, per split."""
    by_id = {c.test_id: c for c in cases}
    correct: dict[str, list[bool]] = defaultdict(list)
    wrong: dict[str, list[bool]] = defaultdict(list)
    per_class: dict[str, list[bool]] = defaultdict(list)
    misses: list[dict[str, Any]] = []
    for row in rows:
        if split and row["split"] != split:
            continue
        case = by_id.get(row["test_id"])
        if case is None:
            raise DatasetError([f"robustness row refers to {row['test_id']}, not in the golden dataset"])
        result = scorer.score(case, row["answer"])
        ok = result.passed == (row["expected"] == "pass")
        for key in (row["intent"], "OVERALL"):
            (correct if row["expected"] == "pass" else wrong)[key].append(ok)
        if row["expected"] == "fail":
            per_class[row["kind"]].append(ok)
        if not ok:
            misses.append({**row, "score": result.quality_score, "critical": result.critical, "dimensions": result.dimensions})
    intents = sorted(k for k in set(correct) | set(wrong) if k != "OVERALL") + ["OVERALL"]
    return {
        "split": split or "all",
        "per_intent": {k: {"correct_n": len(correct[k]), "correct_pass": _rate(correct[k]), "wrong_n": len(wrong[k]), "wrong_fail": _rate(wrong[k])}
                       for k in intents},
        "per_class": {k: {"n": len(v), "caught": _rate(v)} for k, v in sorted(per_class.items())},
        "misses": misses,
    }


def format_robustness(report: dict[str, Any]) -> str:
    pct = lambda v: "-" if v is None else f"{v:.0%}"  # noqa: E731
    lines = [f"robustness set ({report['split']}): correct answers passing / wrong answers failing the gate",
             f"{'intent':<17}{'correct':>8}{'pass':>7}{'wrong':>7}{'fail':>7}"]
    for intent, b in report["per_intent"].items():
        lines.append(f"{intent:<17}{b['correct_n']:>8}{pct(b['correct_pass']):>7}{b['wrong_n']:>7}{pct(b['wrong_fail']):>7}")
    lines.append("caught per error class: " + ", ".join(f"{k} {pct(v['caught'])} ({v['n']})" for k, v in report["per_class"].items()))
    return "\n".join(lines)


def unmet_robustness(report: dict[str, Any]) -> list[str]:
    """The issue's robustness targets this report misses."""
    problems = []
    overall = report["per_intent"]["OVERALL"]
    if (overall["correct_pass"] or 0) < 0.95:
        problems.append(f"correct answers pass {overall['correct_pass']:.3f} < 0.95")
    if (overall["wrong_fail"] or 0) < 0.95:
        problems.append(f"wrong answers fail {overall['wrong_fail']:.3f} < 0.95")
    for intent, b in report["per_intent"].items():
        for key in ("correct_pass", "wrong_fail"):
            if b[key] is not None and b[key] < 0.90:
                problems.append(f"{intent}: {key} {b[key]:.3f} < 0.90")
    for kind in ("borrowed_figure", "flipped_negation"):
        caught = report["per_class"].get(kind, {}).get("caught")
        if caught is None or caught < 0.95:
            problems.append(f"{kind}: caught {caught} < 0.95")
    return problems

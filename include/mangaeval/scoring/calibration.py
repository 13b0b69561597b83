"""Calibration of the automatic score against people: does the gate pass what a person would pass?

People label answers of a scored run in a labels file (JSON Lines, or CSV): per row the case (test_id, intent), the
configuration (config_id), the hash of the answer they read (mangaeval.results.answer_hash, recorded in every
result row), their pass/fail, and optionally marks per scoring dimension, who they are and a note. Each label is
joined to the run's row of the same case and configuration; a label whose answer has changed since (another hash)
or whose row is missing is counted and listed, never compared. Over the rest: how often the scorer's gate agrees
with the people (accuracy, Cohen's kappa with its 95% interval, the confusion table overall, per intent and per
configuration), how close its dimension scores are to the people's marks, and the disagreements the scorer was
surest about (composite farthest from the gate). The same for the LLM judge's verdict where it ran.

A labels file may open with a header object, {"format": "mangaeval-labels", "version": 1, "synthetic": true,
"about": "..."}: labels not made by people must say so, and the report repeats it.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import spearmanr

from mangaeval.errors import MangaEvalError
from mangaeval.intents import intent_names
from mangaeval.jsonl import parse_lines
from mangaeval.results import answer_hash
from mangaeval.scoring.agreement import pass_fail_agreement
from mangaeval.scoring.config import DIMENSIONS

LABELS_FORMAT = "mangaeval-labels"
LABELS_VERSION = 1
REQUIRED = ("test_id", "intent", "config_id", "answer_hash", "passed")
OPTIONAL = ("dimensions", "rater", "note")
HEADER_KEYS = ("format", "version", "synthetic", "about")
CSV_COLUMNS = (*REQUIRED, "rater", "note", *DIMENSIONS)  # a CSV gives each dimension mark its own column
_HASH = re.compile(r"^[0-9a-f]{64}$")
_VERDICTS = {"pass": True, "fail": False, "true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


class LabelsError(MangaEvalError):
    """A labels file is unreadable or has malformed rows; `problems` holds one `file:line: what` per problem."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in labels file {path}:\n" + "\n".join(self.problems))


@dataclass(frozen=True)
class Label:
    where: str  # file:line
    test_id: str
    intent: str
    config_id: str
    answer_hash: str
    passed: bool
    dimensions: dict[str, float] = field(default_factory=dict)
    rater: str | None = None
    note: str | None = None


@dataclass
class LabelSet:
    path: str
    labels: list[Label]
    synthetic: bool = False
    about: str | None = None


# ------------------------------------------------------------------ reading a labels file
def _verdict(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _VERDICTS.get(value.strip().lower())
    return None


def _label(doc: dict[str, Any], where: str, intents: frozenset[str], problems: list[str]) -> Label | None:
    """One row as a Label, or None with its problems appended (every problem of the row, not only the first)."""
    before = len(problems)
    unknown = sorted(set(doc) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        problems.append(f"{where}: unknown field(s) {unknown} (a label has {', '.join(REQUIRED + OPTIONAL)})")
    absent = [key for key in REQUIRED if doc.get(key) is None or doc.get(key) == ""]
    if absent:
        problems.append(f"{where}: missing {', '.join(repr(k) for k in absent)} (a label has {', '.join(REQUIRED)}; "
                        f"optionally {', '.join(OPTIONAL)})")
    for key in ("test_id", "config_id"):
        if key not in absent and (not isinstance(doc[key], str) or not doc[key].strip()):
            problems.append(f"{where}: '{key}' must be a non-empty string, got {doc.get(key)!r}")
    intent = doc.get("intent")
    if "intent" not in absent and intent not in intents:
        problems.append(f"{where}: 'intent' must be one of {', '.join(sorted(intents))}, got {intent!r}")
    digest = doc.get("answer_hash")
    if "answer_hash" not in absent and (not isinstance(digest, str) or not _HASH.match(digest.strip().lower())):
        problems.append(f"{where}: 'answer_hash' must be the 64 hex digits of the answer's sha256 (the result row's "
                        f"answer_hash), got {digest!r}")
    passed = _verdict(doc.get("passed"))
    if "passed" not in absent and passed is None:
        problems.append(f"{where}: 'passed' must be true/false (or \"pass\"/\"fail\"), got {doc.get('passed')!r}")
    marks = doc.get("dimensions")
    dimensions: dict[str, float] = {}
    if marks is not None and not isinstance(marks, dict):
        problems.append(f"{where}: 'dimensions' must map dimension names to marks in [0, 1], got {marks!r}")
    for name, mark in (marks or {}).items() if isinstance(marks, dict) else ():
        if name not in DIMENSIONS:
            problems.append(f"{where}: unknown dimension {name!r} (known: {', '.join(DIMENSIONS)})")
        elif isinstance(mark, bool) or not isinstance(mark, (int, float)) or not math.isfinite(mark) or not 0 <= mark <= 1:
            problems.append(f"{where}: mark for '{name}' must be a number in [0, 1], got {mark!r}")
        else:
            dimensions[name] = float(mark)
    for key in ("rater", "note"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            problems.append(f"{where}: '{key}' must be a string, got {doc[key]!r}")
    if len(problems) > before:
        return None
    return Label(where, doc["test_id"].strip(), intent, doc["config_id"].strip(), digest.strip().lower(), passed,
                 dimensions, (doc.get("rater") or "").strip() or None, doc.get("note") or None)


def _jsonl_rows(path: Path, text: str, problems: list[str]) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    rows, header = [], {}
    for number, doc, problem in parse_lines(text.splitlines()):
        where = f"{path}:{number}"
        if problem:
            problems.append(f"{where}: {problem}")
        elif not isinstance(doc, dict):
            problems.append(f"{where}: expected a JSON object, got {type(doc).__name__}")
        elif "format" in doc:
            if rows or header:
                problems.append(f"{where}: a header ({{\"format\": \"{LABELS_FORMAT}\", ...}}) may only open the file")
                continue
            header = doc
            _check_header(doc, where, problems)
        else:
            rows.append((where, doc))
    return rows, header


def _check_header(doc: dict[str, Any], where: str, problems: list[str]) -> None:
    unknown = sorted(set(doc) - set(HEADER_KEYS))
    if unknown:
        problems.append(f"{where}: unknown header field(s) {unknown} (a header has {', '.join(HEADER_KEYS)})")
    if doc.get("format") != LABELS_FORMAT:
        problems.append(f"{where}: header 'format' must be {LABELS_FORMAT!r}, got {doc.get('format')!r}")
    if doc.get("version", LABELS_VERSION) != LABELS_VERSION:
        problems.append(f"{where}: labels format version {doc.get('version')!r} is not supported (this reads {LABELS_VERSION})")
    if not isinstance(doc.get("synthetic", False), bool):
        problems.append(f"{where}: header 'synthetic' must be true or false, got {doc.get('synthetic')!r}")
    if doc.get("about") is not None and not isinstance(doc["about"], str):
        problems.append(f"{where}: header 'about' must be a string, got {doc['about']!r}")


def _csv_rows(path: Path, text: str, problems: list[str]) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    unknown = sorted(set(columns) - set(CSV_COLUMNS))
    missing = [c for c in REQUIRED if c not in columns]
    if unknown or missing:
        problems.append(f"{path}:1: header " + "; ".join(
            ([f"unknown column(s) {unknown}"] if unknown else []) + ([f"missing column(s) {missing}"] if missing else []))
            + f" (columns: {', '.join(CSV_COLUMNS)})")
        return []
    rows = []
    line = reader.line_num
    for record in reader:
        where = f"{path}:{line + 1}"  # the line this record starts on
        line = reader.line_num
        if None in record:
            problems.append(f"{where}: more cells than the header's {len(columns)} columns")
            continue
        if all(not (v or "").strip() for v in record.values()):
            continue
        doc: dict[str, Any] = {k: record[k] for k in REQUIRED}
        doc.update({k: record[k] for k in ("rater", "note") if k in record and (record[k] or "").strip()})
        marks = {}
        for name in DIMENSIONS:
            cell = (record.get(name) or "").strip()
            if cell:
                try:
                    marks[name] = float(cell)
                except ValueError:
                    marks[name] = cell  # reported by _label as not a number
        if marks:
            doc["dimensions"] = marks
        rows.append((where, doc))
    return rows


def _line_of(problem: str) -> int:
    """The line number of a `file:line: what` problem (0 for a problem of the whole file), to report in file order."""
    match = re.match(r"^.*?:(\d+): ", problem)
    return int(match.group(1)) if match else 0


def read_labels(path: Path | str) -> LabelSet:
    """The labels of a JSON Lines file (or a .csv file); every malformed row reported as file:line (LabelsError)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabelsError(path, [f"{path}: no such labels file"]) from None
    except IsADirectoryError:
        raise LabelsError(path, [f"{path}: is a folder, not a labels file"]) from None
    except UnicodeDecodeError as exc:
        raise LabelsError(path, [f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise LabelsError(path, [f"{path}: cannot read ({exc.strerror})"]) from None
    problems: list[str] = []
    header: dict[str, Any] = {}
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path, text, problems)
    else:
        rows, header = _jsonl_rows(path, text, problems)
    intents = frozenset(intent_names())
    labels, seen = [], {}
    for where, doc in rows:
        label = _label(doc, where, intents, problems)
        if label is None:
            continue
        key = (label.test_id, label.config_id, label.answer_hash, label.rater)
        if key in seen:
            who = f" by rater {label.rater}" if label.rater else " (no rater named)"
            problems.append(f"{where}: a second label of this answer{who}; the first is at {seen[key]}")
            continue
        seen[key] = where
        labels.append(label)
    if not problems and not labels:
        problems.append(f"{path}: no labels")
    if problems:
        raise LabelsError(path, sorted(problems, key=_line_of))
    return LabelSet(str(path), labels, bool(header.get("synthetic", False)), header.get("about"))


def label_row(row: dict[str, Any], passed: bool, dimensions: dict[str, float] | None = None, rater: str | None = None,
              note: str | None = None) -> dict[str, Any]:
    """A label of one result row, as a labels-file row (its answer named by the row's hash, or the hash of its text)."""
    doc: dict[str, Any] = {"test_id": row["test_id"], "intent": row["intent"], "config_id": row["config_id"],
                           "answer_hash": _row_hash(row), "passed": bool(passed)}
    if dimensions:
        doc["dimensions"] = {k: float(v) for k, v in dimensions.items()}
    if rater:
        doc["rater"] = rater
    if note:
        doc["note"] = note
    return doc


# ------------------------------------------------------------------ joining labels to a scored run
def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value is not pd.NA


def _row_hash(row: dict[str, Any]) -> str | None:
    """The row's recorded answer_hash; for results written before rows carried one, the hash of its text."""
    recorded = row.get("answer_hash")
    return str(recorded) if _present(recorded) else answer_hash(row.get("response_text") if _present(row.get("response_text")) else None)


@dataclass
class Joined:
    used: list[tuple[Label, dict[str, Any]]]
    changed: list[dict[str, Any]]
    missing: list[dict[str, Any]]


def join_labels(label_set: LabelSet, frame: pd.DataFrame, where: str) -> Joined:
    """Each label with its run row (same case and configuration, same answer); the others counted by why. A label
    that names the case under another intent than the run does is bad input (LabelsError), not a mismatch."""
    needed = [c for c in ("test_id", "config_id", "intent", "status", "response_text") if c not in frame.columns]
    if needed:
        raise MangaEvalError(f"{where}: missing column(s) {needed} of the result-row layout")
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    repeated = set()
    for row in records:
        key = (str(row["test_id"]), str(row["config_id"]))
        if key in rows:
            repeated.add(key)
        rows[key] = row
    if repeated:
        some = ", ".join(f"{t} x {c}" for t, c in sorted(repeated)[:3])
        runs = sorted({str(r.get("run_id")) for r in records if r.get("run_id")})
        raise MangaEvalError(f"{where}: {len(repeated)} case x configuration pair(s) appear more than once ({some}"
                             f"{' ...' if len(repeated) > 3 else ''}; runs {runs[:5]}): give the results of one run")
    used, changed, missing, problems = [], [], [], []
    for label in label_set.labels:
        row = rows.get((label.test_id, label.config_id))
        if row is not None and str(row["intent"]) != label.intent:
            problems.append(f"{label.where}: labelled as intent {label.intent!r}, but {where} has case {label.test_id} "
                            f"under {row['intent']!r}")
            continue
        base = {"where": label.where, "test_id": label.test_id, "config_id": label.config_id, "intent": label.intent}
        if row is None:
            missing.append({**base, "why": "no result row for this case and configuration"})
        elif row["status"] != "ok":
            missing.append({**base, "why": f"the row is an error ({row.get('error_code') or 'no answer'}): nothing to compare"})
        elif _row_hash(row) != label.answer_hash:
            changed.append({**base, "label_hash": label.answer_hash, "result_hash": _row_hash(row)})
        elif not _present(row.get("quality_score")) or not _present(row.get("passed")):
            missing.append({**base, "why": "the row is not scored (rerun with --rescore)"})
        else:
            used.append((label, row))
    if problems:
        raise LabelsError(label_set.path, problems)
    return Joined(used, changed, missing)


# ------------------------------------------------------------------ the report
def _blocks(pairs: list[tuple[str, str, bool, bool]], first: str, second: str) -> dict[str, Any]:
    """Overall, per intent and per configuration agreement of (intent, config, first verdict, second verdict)."""
    def block(items):
        b = pass_fail_agreement([a for *_, a, _ in items], [v for *_, v in items], first, second)
        # What a decision reads: each side's pass rate, and how often the automatic side passes what people fail.
        people_fail = b["both_fail"] + b[f"{first}_fail_{second}_pass"]
        return {**b, f"{first}_pass_rate": (b["both_pass"] + b[f"{first}_pass_{second}_fail"]) / b["n"],
                f"{second}_pass_rate": (b["both_pass"] + b[f"{first}_fail_{second}_pass"]) / b["n"],
                f"{second}_passes_{first}_fails": (b[f"{first}_fail_{second}_pass"] / people_fail) if people_fail else None}

    by_intent, by_config = defaultdict(list), defaultdict(list)
    for item in pairs:
        by_intent[item[0]].append(item)
        by_config[item[1]].append(item)
    return {"overall": block(pairs), "per_intent": {k: block(v) for k, v in sorted(by_intent.items())},
            "per_config": {k: block(v) for k, v in sorted(by_config.items())}}


def _disagreement(label: Label, row: dict[str, Any], score: float, gate: float, scorer_passed: bool) -> dict[str, Any]:
    return {"where": label.where, "test_id": label.test_id, "config_id": label.config_id, "intent": label.intent,
            "person_passed": label.passed, "automatic_passed": scorer_passed, "score": round(score, 6),
            "distance_from_gate": round(abs(score - gate), 6), "critical_failure": row.get("critical_failure"),
            "rater": label.rater, "note": label.note}


def _dimension_agreement(used: list[tuple[Label, dict[str, Any]]]) -> dict[str, Any]:
    """Per dimension over the labels that mark it: mean absolute difference of mark and score, Spearman's rank
    correlation (None when either side is constant), and both means (which way the scorer leans)."""
    out = {}
    for name in DIMENSIONS:
        pairs = [(label.dimensions[name], float(row[f"score_{name}"])) for label, row in used
                 if name in label.dimensions and _present(row.get(f"score_{name}"))]
        if not pairs:
            continue
        people, scores = [p for p, _ in pairs], [s for _, s in pairs]
        constant = len(set(people)) < 2 or len(set(scores)) < 2
        rho = None if constant else float(spearmanr(people, scores).statistic)
        out[name] = {"n": len(pairs), "mean_abs_diff": sum(abs(p - s) for p, s in pairs) / len(pairs),
                     "spearman": rho, "person_mean": sum(people) / len(people), "scorer_mean": sum(scores) / len(scores)}
    return out


def _people_agreement(used: list[tuple[Label, dict[str, Any]]]) -> dict[str, Any] | None:
    """Where two or more raters labelled one answer: the first two raters' verdicts (file order), agreement and
    kappa. The ceiling a scorer can be held to: people who disagree with each other cannot all agree with it."""
    by_answer: dict[tuple[str, str, str], list[Label]] = defaultdict(list)
    for label, _ in used:
        by_answer[(label.test_id, label.config_id, label.answer_hash)].append(label)
    pairs = [(ls[0].passed, ls[1].passed) for ls in by_answer.values() if len(ls) >= 2]
    if not pairs:
        return None
    return pass_fail_agreement([a for a, _ in pairs], [b for _, b in pairs], "first", "second")


def calibrate(label_set: LabelSet, frame: pd.DataFrame, gate: float, where: str, top: int = 10) -> dict[str, Any]:
    """The calibration report of a scored run against people's labels (see the module's docstring)."""
    joined = join_labels(label_set, frame, where)
    used = joined.used
    if not used:
        raise MangaEvalError(f"none of the {len(label_set.labels)} label(s) in {label_set.path} matches a scored answer in "
                             f"{where}: {len(joined.missing)} without a row, {len(joined.changed)} whose answer has changed "
                             f"(are these the labels of this run?)")
    scorer_pairs = [(l.intent, l.config_id, l.passed, bool(row["passed"])) for l, row in used]
    disagree = [_disagreement(l, row, float(row["quality_score"]), gate, bool(row["passed"]))
                for l, row in used if l.passed != bool(row["passed"])]
    disagree.sort(key=lambda d: (-d["distance_from_gate"], d["test_id"], d["config_id"]))
    report: dict[str, Any] = {
        "labels": label_set.path, "synthetic": label_set.synthetic, "about": label_set.about, "results": where,
        "gate": gate, "labels_total": len(label_set.labels), "used": len(used),
        "changed": joined.changed, "missing": joined.missing,
        "scorer": {**_blocks(scorer_pairs, "person", "scorer"), "disagreements_total": len(disagree), "disagreements": disagree[:top]},
        "dimensions": _dimension_agreement(used),
        "people": _people_agreement(used),
    }
    judged = [(l, row) for l, row in used if _present(row.get("score_judge"))]
    if judged:
        judge_pairs = [(l.intent, l.config_id, l.passed, float(row["score_judge"]) >= gate) for l, row in judged]
        jd = [_disagreement(l, row, float(row["score_judge"]), gate, float(row["score_judge"]) >= gate)
              for l, row in judged if l.passed != (float(row["score_judge"]) >= gate)]
        jd.sort(key=lambda d: (-d["distance_from_gate"], d["test_id"], d["config_id"]))
        report["judge"] = {**_blocks(judge_pairs, "person", "judge"), "no_verdict": len(used) - len(judged),
                           "disagreements_total": len(jd), "disagreements": jd[:top]}
    else:
        report["judge"] = None
    return report


# ------------------------------------------------------------------ text
def _kappa_cell(b: dict[str, Any]) -> str:
    if b["kappa"] is None:
        return "-"
    return f"{b['kappa']:.2f} " + ("[n/a]" if b["kappa_low"] is None else f"[{b['kappa_low']:.2f}, {b['kappa_high']:.2f}]")


def _kappa_text(b: dict[str, Any]) -> str:
    if b["kappa"] is None:
        return "kappa - (both gave one verdict to everything: agreement beyond chance is undefined)"
    return f"kappa {_kappa_cell(b)} (95% interval)"


def _confusion(b: dict[str, Any], who: str) -> list[str]:
    pf, fp = b[f"person_pass_{who}_fail"], b[f"person_fail_{who}_pass"]
    false_pass = b[f"{who}_passes_person_fails"]
    return [f"  {'':<16}{'person pass':>13}{'person fail':>13}",
            f"  {who + ' pass':<16}{b['both_pass']:>13}{fp:>13}",
            f"  {who + ' fail':<16}{pf:>13}{b['both_fail']:>13}",
            f"  pass rate: people {b['person_pass_rate']:.1%}, {who} {b[f'{who}_pass_rate']:.1%}; of the answers people fail, "
            f"the {who} passes {fp} of {fp + b['both_fail']}" + ("" if false_pass is None else f" ({false_pass:.0%})")]


def _table(title: str, blocks: dict[str, dict[str, Any]], who: str) -> list[str]:
    lines = [f"  {title:<17}{'n':>5}{'agree':>8}  {'kappa [95%]':<20}{'both pass':>10}{'both fail':>10}"
             f"{who + ' pass/person fail':>{len(who) + 19}}{who + ' fail/person pass':>{len(who) + 19}}"]
    for name, b in blocks.items():
        lines.append(f"  {name:<17}{b['n']:>5}{b['agreement']:>8.1%}  {_kappa_cell(b):<20}{b['both_pass']:>10}{b['both_fail']:>10}"
                     f"{b[f'person_fail_{who}_pass']:>{len(who) + 19}}{b[f'person_pass_{who}_fail']:>{len(who) + 19}}")
    return lines


def _disagreement_lines(items: list[dict[str, Any]], total: int, what: str, who: str) -> list[str]:
    if not total:
        return ["  no disagreements"]
    lines = [f"  where they disagree most (of {total}; {what} farthest from the gate first):"]
    for d in items:
        person = "pass" if d["person_passed"] else "fail"
        auto = "pass" if d["automatic_passed"] else "fail"
        extra = "".join(f"; {k} {d[k]}" for k in ("critical_failure", "rater") if d.get(k))
        lines.append(f"    {d['test_id']:<24} {d['config_id']:<16} person {person}, {who} {auto} at {d['score']:.3f} "
                     f"({d['distance_from_gate']:.3f} from the gate{extra})  {d['where']}" + (f"\n      note: {d['note']}" if d.get("note") else ""))
    return lines


def format_report(report: dict[str, Any]) -> str:
    lines = []
    if report["synthetic"]:
        lines.append("SYNTHETIC LABELS: not made by people; the figures below show the method, not the scorer's quality.")
        if report.get("about"):
            lines.append(f"  ({report['about']})")
    lines.append(f"labels {report['labels']} against {report['results']} (gate {report['gate']}):")
    lines.append(f"  {report['labels_total']} label(s): {report['used']} used, {len(report['changed'])} whose answer has "
                 f"changed since labelling, {len(report['missing'])} without a scored row (neither is counted)")
    for c in report["changed"]:
        lines.append(f"    changed: {c['test_id']} x {c['config_id']} (labelled {c['label_hash'][:12]}, now "
                     f"{(c['result_hash'] or '-')[:12]})  {c['where']}")
    for m in report["missing"]:
        lines.append(f"    missing: {m['test_id']} x {m['config_id']}: {m['why']}  {m['where']}")
    s = report["scorer"]
    o = s["overall"]
    lines += ["", f"scorer's gate vs people: n={o['n']}, agreement {o['agreement']:.1%}, {_kappa_text(o)}",
              *_confusion(o, "scorer"), *_table("intent", s["per_intent"], "scorer"), *_table("configuration", s["per_config"], "scorer"),
              *_disagreement_lines(s["disagreements"], s["disagreements_total"], "composite", "scorer")]
    if report["dimensions"]:
        lines += ["", "dimension scores vs people's marks:",
                  f"  {'dimension':<18}{'n':>5}{'mean |diff|':>13}{'spearman':>10}{'person mean':>13}{'scorer mean':>13}"]
        for name, d in report["dimensions"].items():
            rho = "-" if d["spearman"] is None else f"{d['spearman']:.2f}"
            lines.append(f"  {name:<18}{d['n']:>5}{d['mean_abs_diff']:>13.3f}{rho:>10}{d['person_mean']:>13.3f}{d['scorer_mean']:>13.3f}")
    if report.get("people"):
        p = report["people"]
        lines += ["", f"people vs people (answers labelled by two raters): n={p['n']}, agreement {p['agreement']:.1%}, {_kappa_text(p)}"]
    j = report["judge"]
    lines.append("")
    if j is None:
        lines.append("LLM judge: did not run on these answers (evaluate --judge CONFIG_ID)")
    else:
        o = j["overall"]
        lines += [f"LLM judge vs people (verdict = judge score >= gate): n={o['n']}, agreement {o['agreement']:.1%}, {_kappa_text(o)}"
                  + (f"; {j['no_verdict']} labelled answer(s) without a judge verdict" if j["no_verdict"] else ""),
                  *_confusion(o, "judge"), *_table("intent", j["per_intent"], "judge"),
                  *_disagreement_lines(j["disagreements"], j["disagreements_total"], "judge score", "judge")]
    return "\n".join(lines)


# ------------------------------------------------------------------ where the results are
def load_results(spec: str) -> tuple[pd.DataFrame, str]:
    """Results by path (a Parquet file or folder) or by run id: `evaluate`'s data/results/<run>/, else the DAG's
    <results root>/results/run_id=<run>/ (a folder or S3, MANGAEVAL_RESULTS_URI)."""
    from mangaeval.paths import DATA_DIR
    from mangaeval.pipeline.storage import default_results_root
    from mangaeval.results import conform_types, read_results

    path = Path(spec)
    if path.exists():
        return read_results(path), str(path)
    if not spec.strip() or any(c in spec for c in "/\\") or spec in (".", "..") or spec.endswith(".parquet"):
        raise MangaEvalError(f"--results {spec}: no such results file or folder")
    root = default_results_root()
    candidates = [DATA_DIR / "results" / spec] + ([] if "://" in root else [Path(root) / "results" / f"run_id={spec}"])
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.rglob("*.parquet")):
            return read_results(candidate), str(candidate)
    if root.startswith("s3://"):
        from mangaeval.objectstore import open_store

        store = open_store(root)
        keys = [k for k in store.list(f"results/run_id={spec}/") if k.endswith(".parquet")]
        if keys:
            frames = []
            for key in keys:
                found = store.get(key)
                frames.append(conform_types(pd.read_parquet(io.BytesIO(found[0]), dtype_backend="pyarrow"), f"{root}/{key}"))
            return pd.concat(frames, ignore_index=True), f"{root.rstrip('/')}/results/run_id={spec}/"
    raise MangaEvalError(f"--results {spec}: neither a results file or folder nor a run id with results "
                         f"(looked in {DATA_DIR / 'results' / spec} and {root.rstrip('/')}/results/run_id={spec}/)")

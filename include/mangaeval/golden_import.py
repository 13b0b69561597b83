"""Golden cases from production: `mangaeval golden import` and `mangaeval golden review`.

import: read the live bot's conversation log (JSON Lines or Parquet, one turn per row; columns mapped by a small
YAML file, include/config/golden_import_mapping.yaml by default), report malformed rows as file:line and skip them
(never guess), REDACT personal data (mangaeval.redaction) in the query, the history, the page context and the
grounding before anything is written, drop exact and near-duplicates against the base dataset and the import itself
(mangaeval.golden_dedupe), sample stratified by (intent, language) and write draft cases: `source: production`,
`provenance` {file, line, conversation_id, turn}, no `expected`.

review: a reviewer accepts a draft with must_contain / must_not_contain / a reference answer, or rejects it
(interactively, or from a decisions file: JSON Lines {"test_id", "decision": "accept"|"reject", ...}); only accepted
cases enter a new dataset version folder: the base dataset's cases plus the accepted ones, with a manifest, and
the folder must validate or nothing is left behind.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from mangaeval.errors import DatasetError, MangaEvalError
from mangaeval.golden import (LANGUAGES, MANIFEST_NAME, Dataset, GoldenCase, _largest_remainder, build_manifest,
                              validate_path)
from mangaeval.golden_dedupe import DEFAULT_NGRAM, DEFAULT_THRESHOLD, _canon, normalise, similar_pairs
from mangaeval.intents import intent_names
from mangaeval.jsonl import parse_lines
from mangaeval.paths import INCLUDE_DIR
from mangaeval.redaction import Redactor, grounding_ids

DEFAULT_MAPPING = INCLUDE_DIR / "config" / "golden_import_mapping.yaml"
REQUIRED_COLUMNS = ("query", "intent", "language")
OPTIONAL_COLUMNS = ("page_context", "grounding", "conversation_id", "turn", "answer")
FORMATS = ("auto", "jsonl", "parquet")


@dataclass
class Mapping:
    columns: dict[str, str | None]
    format: str = "auto"


def load_mapping(path: Path | None = None) -> Mapping:
    import yaml

    path = Path(path) if path else DEFAULT_MAPPING
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MangaEvalError(f"{path}: cannot read the mapping ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        raise MangaEvalError(f"{path}:{line}: invalid YAML") from None
    problems = []
    if not isinstance(doc, dict) or not isinstance(doc.get("columns"), dict):
        raise MangaEvalError(f"{path}: expected a mapping with 'columns': {{field: column}}")
    cols = doc["columns"]
    unknown = sorted(set(cols) - set(REQUIRED_COLUMNS) - set(OPTIONAL_COLUMNS))
    if unknown:
        problems.append(f"{path}: unknown field(s) {unknown} under 'columns' (known: "
                        f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})")
    for name in REQUIRED_COLUMNS:
        if not isinstance(cols.get(name), str) or not cols[name]:
            problems.append(f"{path}: 'columns.{name}' must name a column (it is required)")
    for name in OPTIONAL_COLUMNS:
        if cols.get(name) is not None and not isinstance(cols[name], str):
            problems.append(f"{path}: 'columns.{name}' must be a column name or null")
    fmt = doc.get("format", "auto")
    if fmt not in FORMATS:
        problems.append(f"{path}: 'format' must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if problems:
        raise MangaEvalError("\n".join(problems))
    return Mapping(columns={k: cols.get(k) for k in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}, format=fmt)


def read_rows(path: Path, fmt: str = "auto") -> Iterator[tuple[int, Any, str | None]]:
    """(line or row number from 1, the row, a problem or None) for every row of a log file."""
    path = Path(path)
    if fmt == "auto":
        fmt = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "jsonl"
    if not path.is_file():
        raise MangaEvalError(f"{path}: no such log file")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises several kinds for a file that is not Parquet
            raise MangaEvalError(f"{path}: not a readable Parquet file ({exc})") from None
        for n, row in enumerate(rows, start=1):
            yield n, row, None
        return
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise MangaEvalError(f"{path}: not UTF-8 text ({exc.reason})") from None
    yield from parse_lines(lines)


@dataclass
class Turn:
    where: str
    file: str
    line: int
    query: str
    intent: str
    language: str
    page_context: dict[str, Any]
    grounding: dict[str, Any]
    conversation_id: str | None
    turn: int | None
    answer: str | None
    history: list[dict[str, str]] = field(default_factory=list)


def parse_row(row: Any, mapping: Mapping, path: Path, line: int) -> tuple[Turn | None, list[str]]:
    where = f"{path}:{line}"
    if not isinstance(row, dict):
        return None, [f"{where}: expected an object (one turn per row), got {type(row).__name__}"]
    cols = mapping.columns
    problems = []

    def get(name: str) -> Any:
        col = cols.get(name)
        return row.get(col) if col else None

    for name in REQUIRED_COLUMNS:
        if cols[name] not in row or row[cols[name]] is None:
            problems.append(f"{where}: missing column '{cols[name]}' ({name})")
    query, intent, language = get("query"), get("intent"), get("language")
    if query is not None and (not isinstance(query, str) or not query.strip()):
        problems.append(f"{where}: column '{cols['query']}' (query) must be a non-empty string")
    if intent is not None and intent not in intent_names():
        problems.append(f"{where}: unknown intent {intent!r} in column '{cols['intent']}'")
    if language is not None and language not in LANGUAGES:
        problems.append(f"{where}: unknown language {language!r} in column '{cols['language']}' (expected en or ja)")
    for name in ("page_context", "grounding"):
        value = get(name)
        if value is not None and not isinstance(value, dict):
            problems.append(f"{where}: column '{cols[name]}' ({name}) must be an object, got {type(value).__name__}")
    turn = get("turn")
    if turn is not None and (isinstance(turn, bool) or not isinstance(turn, int)):
        problems.append(f"{where}: column '{cols['turn']}' (turn) must be a whole number, got {turn!r}")
    answer = get("answer")
    if answer is not None and not isinstance(answer, str):
        problems.append(f"{where}: column '{cols['answer']}' (answer) must be a string")
    if problems:
        return None, problems
    conv = get("conversation_id")
    return Turn(where=where, file=str(path), line=line, query=query, intent=intent, language=language,
                page_context=get("page_context") or {}, grounding=get("grounding") or {},
                conversation_id=None if conv is None else str(conv), turn=turn, answer=answer), []


@dataclass
class ImportResult:
    drafts: list[dict[str, Any]]
    problems: list[str]  # malformed rows, file:line
    stats: dict[str, Any]


def _attach_history(turns: list[Turn]) -> None:
    """History of a turn: the earlier turns of its conversation (by turn number, else file order) as user/assistant
    pairs; only when every earlier turn has an answer (else the turn starts without history)."""
    by_conv: dict[str, list[Turn]] = {}
    for t in turns:
        if t.conversation_id is not None:
            by_conv.setdefault(t.conversation_id, []).append(t)
    for conv in by_conv.values():
        conv.sort(key=lambda t: (t.turn if t.turn is not None else 0, t.line))
        history: list[dict[str, str]] = []
        complete = True
        for t in conv:
            t.history = list(history) if complete else []
            if t.answer is None:
                complete = False
            history += [{"role": "user", "content": t.query}, {"role": "assistant", "content": t.answer or ""}]


def _stratified(drafts: list[dict[str, Any]], sample: int | None, per_stratum: int | None, seed: int
                ) -> list[dict[str, Any]]:
    strata: dict[tuple[str, str], list[int]] = {}
    for i, d in enumerate(drafts):
        strata.setdefault((d["intent"], d["language"]), []).append(i)
    rng = random.Random(f"mangaeval.golden_import:{seed}")
    quotas = {k: len(v) for k, v in strata.items()}
    if per_stratum is not None:
        quotas = {k: min(n, per_stratum) for k, n in quotas.items()}
    if sample is not None and sample < sum(quotas.values()):
        quotas = _largest_remainder(quotas, sample, rng)
    picked = [i for k in sorted(strata) for i in rng.sample(strata[k], quotas[k])]
    return [drafts[i] for i in sorted(picked)]


def import_logs(path: Path, mapping: Mapping, base: Dataset | None = None, *, sample: int | None = None,
                per_stratum: int | None = None, seed: int = 0, threshold: float = DEFAULT_THRESHOLD,
                redactor: Redactor | None = None) -> ImportResult:
    path = Path(path)
    redactor = redactor or Redactor()
    problems: list[str] = []
    turns: list[Turn] = []
    rows = 0
    for line, row, problem in read_rows(path, mapping.format):
        rows += 1
        if problem:
            problems.append(f"{path}:{line}: {problem}")
            continue
        turn, row_problems = parse_row(row, mapping, path, line)
        problems += row_problems
        if turn:
            turns.append(turn)
    _attach_history(turns)
    # Redact before anything else happens to the text: dedupe and drafts only ever see redacted text.
    drafts = []
    for t in turns:
        keep = grounding_ids(t.grounding)
        doc = {"intent": t.intent, "language": t.language, "query": redactor.redact(t.query, keep),
               "page_context": redactor.redact_value(t.page_context, keep),
               "history": redactor.redact_value(t.history, keep), "grounding": redactor.redact_value(t.grounding, keep),
               "source": "production",
               "provenance": {"file": str(path), "line": t.line, "conversation_id": t.conversation_id, "turn": t.turn}}
        digest = hashlib.sha256(f"{path.name}:{t.line}:{doc['query']}".encode()).hexdigest()[:10]
        doc["test_id"] = f"prod-{t.intent}-{t.language}-{digest}"
        drafts.append(doc)
    # Duplicates: exact (normalised query, history, grounding) and near-duplicate queries, against the base dataset
    # and earlier rows of this import; the first occurrence is kept.
    base_cases = base.cases if base else []
    seen = {(normalise(c.query), _canon(c.history) + "|" + _canon(c.grounding)) for c in base_cases}
    unique, exact_dupes = [], 0
    for d in drafts:
        key = (normalise(d["query"]), _canon(d["history"]) + "|" + _canon(d["grounding"]))
        if key in seen:
            exact_dupes += 1
            continue
        seen.add(key)
        unique.append(d)
    near_dropped: set[int] = set()
    for intent in sorted({d["intent"] for d in unique}):
        base_q = sorted({normalise(c.query) for c in base_cases if c.intent == intent})
        idx = [i for i, d in enumerate(unique) if d["intent"] == intent]
        texts = base_q + [normalise(unique[i]["query"]) for i in idx]
        nb = len(base_q)
        for a, b, _ in similar_pairs(texts, threshold, DEFAULT_NGRAM):
            if b < nb:
                continue  # two base cases
            if texts[a] == texts[b]:
                continue  # the same query with another grounding or history: a distinct case, kept
            if a < nb or idx[a - nb] not in near_dropped:
                near_dropped.add(idx[b - nb])
    kept = [d for i, d in enumerate(unique) if i not in near_dropped]
    sampled = _stratified(kept, sample, per_stratum, seed)
    strata: dict[str, int] = {}
    for d in sampled:
        strata[f"{d['intent']}/{d['language']}"] = strata.get(f"{d['intent']}/{d['language']}", 0) + 1
    stats = {"rows": rows, "malformed": len(problems), "turns": len(turns), "exact_duplicates": exact_dupes,
             "near_duplicates": len(near_dropped), "after_dedupe": len(kept), "drafts": len(sampled),
             "redactions": dict(sorted(redactor.counts.items())), "strata": dict(sorted(strata.items()))}
    return ImportResult(drafts=sampled, problems=problems, stats=stats)


def write_drafts(drafts: list[dict[str, Any]], out: Path) -> None:
    out = Path(out)
    if out.exists():
        raise MangaEvalError(f"{out}: already exists (drafts are never overwritten; choose another --out)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n" for d in drafts), encoding="utf-8")
    except OSError as exc:
        raise MangaEvalError(f"{out}: cannot write ({exc.strerror})") from None


# --- review ---------------------------------------------------------------------------------------------------

DRAFT_FIELDS = ("test_id", "intent", "language", "query", "page_context", "history", "grounding", "source", "provenance")


def read_drafts(path: Path) -> list[tuple[str, dict[str, Any]]]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise MangaEvalError(f"{path}: cannot read drafts ({exc.strerror})") from None
    out, problems = [], []
    for n, doc, invalid in parse_lines(lines):
        where = f"{path}:{n}"
        if invalid:
            problems.append(f"{where}: {invalid}")
            continue
        if not isinstance(doc, dict):
            problems.append(f"{where}: expected a draft object")
            continue
        missing = [f for f in DRAFT_FIELDS if f not in doc]
        if missing:
            problems.append(f"{where}: not a draft case: missing {missing}")
        elif "expected" in doc:
            problems.append(f"{where}: a draft carries no 'expected' (it is added by review)")
        elif doc["source"] != "production":
            problems.append(f"{where}: source must be 'production', got {doc['source']!r}")
        else:
            out.append((where, doc))
    if problems:
        raise DatasetError(problems)
    return out


def read_decisions(path: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """test_id -> (file:line, decision) from a JSON Lines decisions file."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise MangaEvalError(f"{path}: cannot read decisions ({exc.strerror})") from None
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    problems = []
    for n, doc, invalid in parse_lines(lines):
        where = f"{path}:{n}"
        if invalid:
            problems.append(f"{where}: {invalid}")
            continue
        problems += decision_problems(doc, where)
        if isinstance(doc, dict) and isinstance(doc.get("test_id"), str):
            if doc["test_id"] in out:
                problems.append(f"{where}: second decision for '{doc['test_id']}' (first at {out[doc['test_id']][0]})")
            else:
                out[doc["test_id"]] = (where, doc)
    if problems:
        raise DatasetError(problems)
    return out


def decision_problems(doc: Any, where: str) -> list[str]:
    if not isinstance(doc, dict):
        return [f"{where}: expected an object"]
    problems = []
    if not isinstance(doc.get("test_id"), str):
        problems.append(f"{where}: missing 'test_id'")
    if doc.get("decision") not in ("accept", "reject"):
        problems.append(f"{where}: 'decision' must be 'accept' or 'reject', got {doc.get('decision')!r}")
    if doc.get("decision") == "accept":
        ref = doc.get("reference_answer")
        if not isinstance(ref, str) or not ref.strip():
            problems.append(f"{where}: an accepted case needs a non-empty 'reference_answer'")
        for name in ("must_contain", "must_not_contain"):
            value = doc.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                problems.append(f"{where}: '{name}' must be an array of non-empty strings")
        if isinstance(ref, str) and isinstance(doc.get("must_contain"), list):
            for needed in doc["must_contain"]:
                if isinstance(needed, str) and needed not in ref:
                    problems.append(f"{where}: must_contain {needed!r} is not in the reference answer")
        if isinstance(ref, str) and isinstance(doc.get("must_not_contain"), list):
            for banned in doc["must_not_contain"]:
                if isinstance(banned, str) and banned and banned in ref:
                    problems.append(f"{where}: must_not_contain {banned!r} is in the reference answer")
    return problems


def interactive_decisions(drafts: list[tuple[str, dict[str, Any]]], ask: Callable[[str], str] = input,
                          say: Callable[[str], None] = print) -> dict[str, tuple[str, dict[str, Any]]]:
    """Walk a reviewer through the drafts: [a]ccept (then reference answer, must-contain, must-not-contain, items
    separated by ' | '), [r]eject, [s]kip, [q]uit."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for n, (where, d) in enumerate(drafts, start=1):
        say(f"\n[{n}/{len(drafts)}] {d['test_id']} ({d['intent']}, {d['language']}) from {where}")
        for turn in d["history"]:
            say(f"  {turn['role']}: {turn['content']}")
        say(f"  query: {d['query']}")
        say(f"  grounding: {json.dumps(d['grounding'], ensure_ascii=False)[:400]}")
        while True:
            choice = ask("[a]ccept / [r]eject / [s]kip / [q]uit? ").strip().lower()[:1]
            if choice in ("a", "r", "s", "q"):
                break
        if choice == "q":
            break
        if choice == "s":
            continue
        if choice == "r":
            out[d["test_id"]] = ("interactive", {"test_id": d["test_id"], "decision": "reject"})
            continue
        while True:
            doc = {"test_id": d["test_id"], "decision": "accept", "reference_answer": ask("reference answer: ").strip(),
                   "must_contain": [s.strip() for s in ask("must contain (a | b): ").split("|") if s.strip()],
                   "must_not_contain": [s.strip() for s in ask("must not contain (a | b): ").split("|") if s.strip()]}
            problems = decision_problems(doc, "your answer")
            if not problems:
                break
            say("\n".join(problems))
        out[d["test_id"]] = ("interactive", doc)
    return out


@dataclass
class ReviewResult:
    path: Path
    accepted: int
    rejected: int
    undecided: list[str]
    total_cases: int


def build_version(drafts_path: Path, decisions: dict[str, tuple[str, dict[str, Any]]],
                  drafts: list[tuple[str, dict[str, Any]]], base: Dataset | None, version: str, out_root: Path,
                  generator: str = "") -> ReviewResult:
    """Write `out_root/version`: the base dataset's cases and the accepted drafts, with a manifest; validate it."""
    if not version or any(ch in version for ch in "/\\") or version in (".", ".."):
        raise MangaEvalError(f"--version {version!r}: must be a plain folder name")
    ids = {d["test_id"] for _, d in drafts}
    stray = [f"{where}: no draft with test_id '{tid}'" for tid, (where, _) in decisions.items() if tid not in ids]
    if stray:
        raise DatasetError(stray)
    target = Path(out_root) / version
    if target.exists():
        raise MangaEvalError(f"{target}: already exists (a dataset version is never overwritten)")
    accepted: list[GoldenCase] = []
    rejected = 0
    undecided = []
    for where, d in drafts:
        decision = decisions.get(d["test_id"])
        if decision is None:
            undecided.append(d["test_id"])
            continue
        if decision[1]["decision"] == "reject":
            rejected += 1
            continue
        dec = decision[1]
        accepted.append(GoldenCase(
            test_id=d["test_id"], intent=d["intent"], language=d["language"], query=d["query"],
            page_context=d["page_context"], history=d["history"], grounding=d["grounding"],
            expected={"must_contain": list(dec.get("must_contain", [])),
                      "must_not_contain": list(dec.get("must_not_contain", [])),
                      "reference_answer": dec["reference_answer"]},
            tags=["source:production"], source="production",
            provenance=dict(d["provenance"], drafts=f"{drafts_path}:{where.rsplit(':', 1)[1]}",
                            decision=decision[0])))
    cases = list(base.cases if base else []) + accepted
    base_manifest: dict[str, Any] = {}
    if base is not None and (base.path / MANIFEST_NAME).exists():
        base_manifest = json.loads((base.path / MANIFEST_NAME).read_text(encoding="utf-8"))
    try:
        target.mkdir(parents=True)
        for intent in sorted({c.intent for c in cases}):
            lines = [json.dumps(c.to_json(), ensure_ascii=False, sort_keys=True) for c in cases if c.intent == intent]
            (target / f"{intent}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        manifest = build_manifest(target, version, cases, generator)
        manifest["base"] = base.version if base else None
        manifest["review"] = {"drafts": str(drafts_path), "accepted": len(accepted), "rejected": rejected,
                              "undecided": len(undecided)}
        if "min_distinct_share" in base_manifest:
            manifest["min_distinct_share"] = base_manifest["min_distinct_share"]
        (target / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise MangaEvalError(f"{target}: cannot write ({exc.strerror})") from None
    _, problems = validate_path(target)
    if problems:
        shutil.rmtree(target, ignore_errors=True)
        raise DatasetError(problems)
    return ReviewResult(path=target, accepted=len(accepted), rejected=rejected, undecided=undecided,
                        total_cases=len(cases))

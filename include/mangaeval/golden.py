"""Golden test cases: the JSON Lines format, its validating loader, and the dataset manifest.

A dataset is a folder `include/golden_datasets/<version>/` holding one `<intent>.jsonl` per intent and a
`manifest.json` (version, counts per intent and language, a SHA-256 per file). Validation reports every
problem as `file:line: what is wrong`, all of them in one pass.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mangaeval.errors import DatasetError, MangaEvalError
from mangaeval.intents import intent_names
from mangaeval.jsonl import parse_lines

LANGUAGES = ("en", "ja")
MANIFEST_NAME = "manifest.json"
# The dataset runs, benchmarks, warm-ups and imports use unless told otherwise. Older versions stay loadable (and
# validate exactly as before), so old runs can be rescored on the cases they were measured on.
DEFAULT_VERSION = "v2"
REQUIRED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "test_id": str,
    "intent": str,
    "language": str,
    "query": str,
    "page_context": dict,
    "history": list,
    "grounding": dict,
    "expected": dict,
}
OPTIONAL_FIELDS: dict[str, type] = {"tags": list, "source": str, "provenance": dict,  # source/provenance: imported cases
                                    "cluster": str}  # cases that are one piece of evidence (mangaeval.clusters)
EXPECTED_FIELDS: dict[str, type] = {"must_contain": list, "must_not_contain": list, "reference_answer": str}


@dataclass(frozen=True)
class GoldenCase:
    test_id: str
    intent: str
    language: str
    query: str
    page_context: dict[str, Any]
    history: list[dict[str, str]]
    grounding: dict[str, Any]
    expected: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    source: str = ""  # "production" for cases imported from logs (`mangaeval golden import`)
    provenance: dict[str, Any] | None = None  # where an imported case came from: file, line, conversation
    cluster: str = ""  # explicit cluster (e.g. the template a generator made it from); else derived from the query

    @property
    def must_contain(self) -> list[str]:
        return self.expected["must_contain"]

    @property
    def must_not_contain(self) -> list[str]:
        return self.expected["must_not_contain"]

    @property
    def reference_answer(self) -> str:
        return self.expected["reference_answer"]

    def to_json(self) -> dict[str, Any]:
        doc = {name: getattr(self, name) for name in REQUIRED_FIELDS}
        if self.tags:
            doc["tags"] = self.tags
        if self.source:
            doc["source"] = self.source
        if self.provenance is not None:
            doc["provenance"] = self.provenance
        if self.cluster:
            doc["cluster"] = self.cluster
        return doc


@dataclass
class Dataset:
    version: str
    path: Path
    cases: list[GoldenCase]

    def by_intent(self) -> dict[str, list[GoldenCase]]:
        grouped: dict[str, list[GoldenCase]] = {}
        for case in self.cases:
            grouped.setdefault(case.intent, []).append(case)
        return grouped


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {str: "string", dict: "object", list: "array", int: "integer"}
    return names.get(expected, getattr(expected, "__name__", str(expected)))


def _check_case(doc: Any, where: str, known_intents: tuple[str, ...], file_intent: str | None) -> list[str]:
    if not isinstance(doc, dict):
        return [f"{where}: expected a JSON object, got {type(doc).__name__}"]
    problems: list[str] = []
    for name, expected in REQUIRED_FIELDS.items():
        if name not in doc:
            problems.append(f"{where}: missing field '{name}'")
        elif not isinstance(doc[name], expected):
            problems.append(f"{where}: field '{name}' must be {_type_name(expected)}, got {type(doc[name]).__name__}")
    for name, expected in OPTIONAL_FIELDS.items():
        if name in doc and not isinstance(doc[name], expected):
            problems.append(f"{where}: field '{name}' must be {_type_name(expected)}, got {type(doc[name]).__name__}")
    unknown = sorted(set(doc) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        problems.append(f"{where}: unknown field(s) {unknown}")
    if isinstance(doc.get("test_id"), str) and not doc["test_id"].strip():
        problems.append(f"{where}: field 'test_id' is empty")
    if isinstance(doc.get("query"), str) and not doc["query"].strip():
        problems.append(f"{where}: field 'query' is empty")
    if isinstance(doc.get("cluster"), str) and not doc["cluster"].strip():
        problems.append(f"{where}: field 'cluster' is empty (leave it out to derive the cluster from the query)")
    intent = doc.get("intent")
    if isinstance(intent, str):
        if intent not in known_intents:
            problems.append(f"{where}: unknown intent '{intent}' (known: {', '.join(known_intents)})")
        elif file_intent in known_intents and intent != file_intent:
            problems.append(f"{where}: intent '{intent}' in the file for intent '{file_intent}'")
    language = doc.get("language")
    if isinstance(language, str) and language not in LANGUAGES:
        problems.append(f"{where}: unknown language '{language}' (expected one of {', '.join(LANGUAGES)})")
    history = doc.get("history")
    if isinstance(history, list):
        for turn_no, turn in enumerate(history):
            if (
                not isinstance(turn, dict)
                or turn.get("role") not in ("user", "assistant")
                or not isinstance(turn.get("content"), str)
            ):
                problems.append(
                    f"{where}: history[{turn_no}] must be an object with role 'user'|'assistant' and string 'content'"
                )
            elif turn["role"] != ("user" if turn_no % 2 == 0 else "assistant"):
                problems.append(f"{where}: history[{turn_no}] breaks the user/assistant alternation")
        if len(history) % 2:
            problems.append(f"{where}: history must end with an assistant turn (the query is the next user turn)")
    expected_block = doc.get("expected")
    if isinstance(expected_block, dict):
        for name, expected in EXPECTED_FIELDS.items():
            value = expected_block.get(name)
            if name not in expected_block:
                problems.append(f"{where}: missing field 'expected.{name}'")
            elif not isinstance(value, expected):
                problems.append(
                    f"{where}: field 'expected.{name}' must be {_type_name(expected)}, got {type(value).__name__}"
                )
            elif expected is list and not all(isinstance(item, str) for item in value):
                problems.append(f"{where}: field 'expected.{name}' must be an array of strings")
    tags = doc.get("tags")
    if isinstance(tags, list) and not all(isinstance(t, str) for t in tags):
        problems.append(f"{where}: field 'tags' must be an array of strings")
    return problems


def read_cases(path: Path, seen_ids: dict[str, str] | None = None) -> tuple[list[GoldenCase], list[str]]:
    """Parse and validate one JSONL file. Returns the valid cases and every problem found."""
    path = Path(path)
    seen_ids = {} if seen_ids is None else seen_ids
    known = intent_names()
    file_intent = path.stem if path.stem in known else None
    cases: list[GoldenCase] = []
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        return [], [f"{path}:1: not UTF-8 text ({exc})"]
    except OSError as exc:
        return [], [f"{path}: cannot read ({exc.strerror})"]
    for line_no, doc, invalid in parse_lines(lines):
        where = f"{path}:{line_no}"
        if invalid:
            problems.append(f"{where}: {invalid}")
            continue
        case_problems = _check_case(doc, where, known, file_intent)
        test_id = doc.get("test_id") if isinstance(doc, dict) else None
        if isinstance(test_id, str) and test_id:
            if test_id in seen_ids:
                case_problems.append(f"{where}: duplicate test_id '{test_id}' (first at {seen_ids[test_id]})")
            else:
                seen_ids[test_id] = where
        if case_problems:
            problems.extend(case_problems)
            continue
        cases.append(
            GoldenCase(
                test_id=doc["test_id"],
                intent=doc["intent"],
                language=doc["language"],
                query=doc["query"],
                page_context=doc["page_context"],
                history=doc["history"],
                grounding=doc["grounding"],
                expected=doc["expected"],
                tags=list(doc.get("tags", [])),
                source=doc.get("source", ""),
                provenance=doc.get("provenance"),
                cluster=doc.get("cluster", ""),
            )
        )
    return cases, problems


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def build_manifest(dataset_dir: Path, version: str, cases: list[GoldenCase], generator: str = "") -> dict[str, Any]:
    dataset_dir = Path(dataset_dir)
    files = {}
    for jsonl in sorted(dataset_dir.glob("*.jsonl")):
        langs = Counter(c.language for c in cases if c.intent == jsonl.stem)
        files[jsonl.name] = {
            "sha256": file_sha256(jsonl),
            "cases": sum(langs.values()),
            "languages": {lang: langs.get(lang, 0) for lang in LANGUAGES},
        }
    return {
        "version": version,
        "generator": generator,
        "total_cases": len(cases),
        "files": files,
    }


def _check_manifest(dataset_dir: Path, cases: list[GoldenCase]) -> list[str]:
    manifest_path = dataset_dir / MANIFEST_NAME
    if not manifest_path.exists():
        return [f"{manifest_path}: missing manifest (version, counts and checksums are required)"]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return [f"{manifest_path}:{exc.lineno}: invalid JSON ({exc.msg})"]
    problems = []
    version = manifest.get("version")
    if not isinstance(version, str) or not version:
        problems.append(f"{manifest_path}: missing 'version'")
    elif version != dataset_dir.name:
        problems.append(f"{manifest_path}: version '{version}' does not match the folder name '{dataset_dir.name}'")
    listed = manifest.get("files") or {}
    on_disk = {p.name for p in dataset_dir.glob("*.jsonl")}
    for name in sorted(on_disk - set(listed)):
        problems.append(f"{dataset_dir / name}: not listed in the manifest")
    for name, entry in sorted(listed.items()):
        path = dataset_dir / name
        if name not in on_disk:
            problems.append(f"{manifest_path}: lists '{name}', which does not exist")
            continue
        if file_sha256(path) != entry.get("sha256"):
            problems.append(
                f"{path}: content changed but the dataset version '{version}' did not; "
                "regenerate under a new version (checksum mismatch with the manifest)"
            )
        langs = Counter(c.language for c in cases if c.intent == path.stem)
        if entry.get("cases") != sum(langs.values()):
            problems.append(f"{path}: manifest says {entry.get('cases')} cases, found {sum(langs.values())} valid")
        for lang, count in (entry.get("languages") or {}).items():
            if langs.get(lang, 0) != count:
                problems.append(f"{path}: manifest says {count} '{lang}' cases, found {langs.get(lang, 0)}")
    return problems


def validate_path(path: Path) -> tuple[list[GoldenCase], list[str]]:
    """Validate a dataset folder (cases + manifest) or a single JSONL file; returns (cases, problems)."""
    path = Path(path)
    if path.is_file():
        return read_cases(path)
    if not path.is_dir():
        return [], [f"{path}: no such file or folder"]
    files = sorted(path.glob("*.jsonl"))
    if not files:
        return [], [f"{path}: no .jsonl files"]
    seen: dict[str, str] = {}
    cases: list[GoldenCase] = []
    problems: list[str] = []
    for jsonl in files:
        file_cases, file_problems = read_cases(jsonl, seen)
        cases.extend(file_cases)
        problems.extend(file_problems)
    problems.extend(_check_manifest(path, cases))
    problems.extend(_check_distinct(path))
    return cases, problems


_DISTINCT_CHECKED: dict[tuple, list[str]] = {}


def _check_distinct(dataset_dir: Path) -> list[str]:
    """Distinct-case minimum and conflicting labels: problems only when the manifest declares
    `min_distinct_share` (v0 and v1 do not, so they validate exactly as before; see golden_dedupe). The analysis
    is a function of the files alone, so a process reuses it while their sizes and modification times are unchanged
    (the DAG loads the dataset in every task; v2's analysis takes about 1.5 s)."""
    from mangaeval.golden_dedupe import analyse_path, manifest_policy

    policy, problems = manifest_policy(dataset_dir)
    if policy is None:
        return problems
    files = sorted(Path(dataset_dir).glob("*.jsonl")) + [Path(dataset_dir) / MANIFEST_NAME]
    key = (str(Path(dataset_dir).resolve()), *((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    if key not in _DISTINCT_CHECKED:
        report, _ = analyse_path(dataset_dir)
        _DISTINCT_CHECKED[key] = report.problems()
    return problems + list(_DISTINCT_CHECKED[key])


def resolve_dataset_dir(dataset: str | Path) -> Path:
    """Accept a folder path or a bare version name under include/golden_datasets/."""
    from mangaeval.paths import GOLDEN_DIR

    candidate = Path(dataset)
    if candidate.exists():
        return candidate
    if (GOLDEN_DIR / str(dataset)).is_dir():
        return GOLDEN_DIR / str(dataset)
    raise DatasetError([f"{dataset}: no such dataset folder or version under {GOLDEN_DIR}"])


def load_dataset(dataset: str | Path) -> Dataset:
    """Load and validate a dataset folder; raises DatasetError listing every problem."""
    path = resolve_dataset_dir(dataset)
    cases, problems = validate_path(path)
    if problems:
        raise DatasetError(problems)
    version = path.name
    if path.is_dir():
        version = json.loads((path / MANIFEST_NAME).read_text(encoding="utf-8"))["version"]
    return Dataset(version=version, path=path, cases=cases)


# --- Sampling: `limit` cases of an intent that look like all of them -------------------------------------------

DEFAULT_SAMPLE_SEED = 0


def sample_seed_problem(seed: Any, name: str = "sample_seed") -> str | None:
    """What is wrong with a sampling seed (None when it is fine): any whole number is a seed."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        return f"'{name}' must be a whole number (the same seed picks the same cases), got {seed!r}"
    return None


def _largest_remainder(sizes: dict[Any, int], total: int, rng: Any) -> dict[Any, int]:
    """`total` split over the groups in proportion to their sizes (Hamilton's method): each gets the whole part
    of its exact share, the rest go one each to the largest fractional parts, ties broken by `rng`."""
    whole = sum(sizes.values())
    keys = sorted(sizes)
    quotas = {k: total * sizes[k] // whole for k in keys}
    tie = {k: rng.random() for k in keys}
    by_remainder = sorted(keys, key=lambda k: (-(total * sizes[k] % whole), tie[k]))
    for k in by_remainder[: total - sum(quotas.values())]:
        quotas[k] += 1
    return quotas


def sample_cases(cases: list[GoldenCase], limit: int | None, seed: int = DEFAULT_SAMPLE_SEED) -> list[GoldenCase]:
    """At most `limit` of one intent's cases, stratified so the sample looks like the whole: first by language
    (each language gets its share of `limit`, largest remainder: within one case of the exact proportion), then
    within each language by tag set (the same split over the cases' sorted tags), then a seeded pick inside each
    stratum. Deterministic: the same cases, limit and seed give the same sample in every process; the result is
    in dataset order. `limit` None or >= len(cases): every case, in dataset order.

    The one place a limit is applied: the DAG's shards, the plan's expected row counts and `mangaeval evaluate
    --limit` all call this, so they agree.
    """
    import random

    problem = sample_seed_problem(seed)
    if problem:
        raise MangaEvalError(problem)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise MangaEvalError(f"the limit must be a positive number of cases per intent or None, got {limit!r}")
    if limit is None or limit >= len(cases):
        return list(cases)
    intents = ",".join(sorted({c.intent for c in cases}))
    rng = random.Random(f"mangaeval.sample:{seed}:{intents}")  # a str seed: the same in every process
    by_language: dict[str, list[int]] = {}
    for index, case in enumerate(cases):
        by_language.setdefault(case.language, []).append(index)
    picked: list[int] = []
    language_quotas = _largest_remainder({lang: len(ix) for lang, ix in by_language.items()}, limit, rng)
    for language in sorted(by_language):
        strata: dict[tuple[str, ...], list[int]] = {}
        for index in by_language[language]:
            strata.setdefault(tuple(sorted(cases[index].tags)), []).append(index)
        quotas = _largest_remainder({tags: len(ix) for tags, ix in strata.items()}, language_quotas[language], rng)
        for tags in sorted(strata):
            picked += rng.sample(strata[tags], quotas[tags])
    return [cases[i] for i in sorted(picked)]


def sample_per_intent(cases: list[GoldenCase], limit: int | None, seed: int = DEFAULT_SAMPLE_SEED) -> list[GoldenCase]:
    """`sample_cases` applied to each intent's cases (`limit` is per intent); dataset order kept."""
    chosen = {id(c) for cases_of_intent in _by_intent(cases).values() for c in sample_cases(cases_of_intent, limit, seed)}
    return [c for c in cases if id(c) in chosen]


def _by_intent(cases: list[GoldenCase]) -> dict[str, list[GoldenCase]]:
    grouped: dict[str, list[GoldenCase]] = {}
    for case in cases:
        grouped.setdefault(case.intent, []).append(case)
    return grouped

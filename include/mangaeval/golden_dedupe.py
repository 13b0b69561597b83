"""Duplicate, near-duplicate and conflicting-label detection for golden datasets.

* exact duplicates: two cases whose (query, history, grounding) are equal after normalisation (Unicode NFKC,
  which also folds full-width digits and letters; case folding; punctuation removed; whitespace collapsed);
* near-duplicates of the query: Jaccard similarity of character n-grams (n=2 for mostly-Japanese text, 3 otherwise, by default) of the normalised
  query at or above a threshold. Character n-grams need no word boundaries, so Japanese works as English does.
  Candidate pairs come from an n-gram inverted index with prefix filtering (rarest n-grams first, only the
  first |x| - ceil(t*|x|) + 1 of them are indexed: two sets with Jaccard >= t must share one of them), so the
  comparison is exact, not sampled, and 10,000 cases take well under a second or two (benchmarks/
  golden_dedupe_bench.py);
* conflicting labels: cases with the same normalised query, history and grounding whose `expected` blocks differ.

A dataset's manifest may declare `min_distinct_share`: a number (every intent) or an object {intent: number}.
When it does, an intent with fewer distinct cases than ceil(share * cases) and any conflicting-label group are
validation problems. When it does not (v0, v1), the findings are reported as warnings only, so old versions load
exactly as before.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from mangaeval.jsonl import parse_lines

DEFAULT_NGRAM = 0  # auto: 2 for mostly-Japanese text (one kana/kanji carries about what two Latin letters do), else 3
DEFAULT_THRESHOLD = 0.8
MANIFEST_KEY = "min_distinct_share"

_SPACE_RE = re.compile(r"\s+")


class _PunctuationToSpace(dict):
    """A `str.translate` table that maps punctuation (Unicode categories P*) to a space and every other character
    to itself, learning each code point the first time it is met (a per-character loop in Python took seconds
    on dataset v2's production-sized groundings)."""

    def __missing__(self, code_point: int) -> str:
        ch = chr(code_point)
        self[code_point] = value = " " if unicodedata.category(ch).startswith("P") else ch
        return value


_PUNCTUATION_TO_SPACE = _PunctuationToSpace()


@lru_cache(maxsize=1 << 16)  # groundings repeat the same long strings (help-center chunks, blurbs) across cases
def normalise(text: str) -> str:
    """NFKC (full-width digits/letters -> ASCII, half-width kana -> full-width), casefold, punctuation dropped
    (Unicode categories P*), whitespace collapsed to one space and trimmed."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_PUNCTUATION_TO_SPACE)
    return _SPACE_RE.sub(" ", text).strip()


def _normalise_value(value: Any) -> Any:
    if isinstance(value, str):
        return normalise(value)
    if isinstance(value, list):
        return [_normalise_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _normalise_value(v) for k, v in value.items()}
    return value


def _canon(value: Any) -> str:
    return json.dumps(_normalise_value(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def ngram_size_for(text: str) -> int:
    from mangaeval.text import japanese_char_count

    letters = sum(1 for ch in text if not ch.isspace())
    return 2 if letters and japanese_char_count(text) * 2 >= letters else 3


def ngrams(text: str, n: int = DEFAULT_NGRAM) -> frozenset[str]:
    """Character n-grams of an already normalised text (n=0: `ngram_size_for`); texts shorter than n give
    themselves as one gram."""
    if n <= 0:
        n = ngram_size_for(text)
    if len(text) < n:
        return frozenset([text]) if text else frozenset()
    return frozenset(text[i:i + n] for i in range(len(text) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


@dataclass(frozen=True)
class Item:
    """What dedupe needs of a case: where it is, its intent and the four fields compared."""
    where: str  # file:line
    intent: str
    query: str
    history: Any
    grounding: Any
    expected: Any = None


def similar_pairs(texts: list[str], threshold: float = DEFAULT_THRESHOLD, n: int = DEFAULT_NGRAM
                  ) -> list[tuple[int, int, float]]:
    """Every pair (i, j, similarity), i < j, of distinct normalised texts with n-gram Jaccard >= threshold.

    Prefix filtering over an inverted index: order each set's grams by global frequency (rarest first); two sets
    with Jaccard >= t share at least one gram of each one's prefix of length |x| - ceil(t*|x|) + 1. A length filter
    (t*|x| <= |y| <= |x|/t) prunes the rest before the exact Jaccard is computed.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    sets = [ngrams(t, n) for t in texts]
    freq: Counter[str] = Counter(g for s in sets for g in s)
    order = sorted(range(len(sets)), key=lambda i: len(sets[i]))  # shorter first: the length filter prunes forward
    index: dict[str, list[int]] = defaultdict(list)
    pairs: list[tuple[int, int, float]] = []
    for i in order:
        s = sets[i]
        if not s:
            continue
        size = len(s)
        ranked = sorted(s, key=lambda g: (freq[g], g))
        prefix = ranked[: size - math.ceil(threshold * size) + 1]
        seen: set[int] = set()
        min_size = threshold * size
        for g in prefix:
            for j in index.get(g, ()):
                if j in seen:
                    continue
                seen.add(j)
                if len(sets[j]) < min_size:
                    continue
                sim = jaccard(s, sets[j])
                if sim >= threshold:
                    pairs.append((min(i, j), max(i, j), sim))
        for g in prefix:
            index[g].append(i)
    pairs.sort()
    return pairs


@dataclass
class IntentStats:
    cases: int = 0
    distinct_cases: int = 0
    distinct_queries: int = 0
    min_distinct: int | None = None  # the manifest's minimum, when declared


@dataclass
class DedupeReport:
    exact: list[tuple[str, str]] = field(default_factory=list)  # (duplicate, first occurrence)
    near: list[tuple[str, str, float]] = field(default_factory=list)  # (first occurrence of a, of b, similarity)
    conflicts: list[list[str]] = field(default_factory=list)  # groups of file:line with differing `expected`
    intents: dict[str, IntentStats] = field(default_factory=dict)
    enforced: bool = False  # the manifest declares a minimum: shortfalls and conflicts are problems

    def problems(self) -> list[str]:
        """The findings that fail validation (only when the manifest declares a minimum)."""
        if not self.enforced:
            return []
        out = []
        for intent, st in sorted(self.intents.items()):
            if st.min_distinct is not None and st.distinct_cases < st.min_distinct:
                out.append(f"intent '{intent}': {st.distinct_cases} distinct case(s) of {st.cases}, "
                           f"fewer than the manifest's minimum {st.min_distinct}")
        for group in self.conflicts:
            out.append(f"{group[0]}: conflicting labels: same query, history and grounding, different `expected` in "
                       + ", ".join(group))
        return out

    def lines(self) -> list[str]:
        """Every finding, one per line: exact duplicates, near-duplicates, conflicting labels."""
        out = [f"{dup} = {first} (exact duplicate after normalisation)" for dup, first in self.exact]
        out += [f"{a} ~ {b} ({sim:.2f})" for a, b, sim in self.near]
        out += ["conflicting labels: " + ", ".join(group) for group in self.conflicts]
        return out

    def table(self) -> list[str]:
        rows = [f"{'intent':<18}{'cases':>7}{'distinct':>10}{'phrasings':>11}{'minimum':>9}"]
        for intent, st in sorted(self.intents.items()):
            rows.append(f"{intent:<18}{st.cases:>7}{st.distinct_cases:>10}{st.distinct_queries:>11}"
                        f"{'-' if st.min_distinct is None else st.min_distinct:>9}")
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "enforced": self.enforced,
            "intents": {k: vars(v) for k, v in sorted(self.intents.items())},
            "exact_duplicates": [{"where": d, "first": f} for d, f in self.exact],
            "near_duplicates": [{"a": a, "b": b, "similarity": round(s, 4)} for a, b, s in self.near],
            "conflicting_labels": self.conflicts,
        }


def analyse(items: Iterable[Item], threshold: float = DEFAULT_THRESHOLD, n: int = DEFAULT_NGRAM,
            min_distinct_share: float | dict[str, float] | None = None) -> DedupeReport:
    """Exact duplicates, near-duplicate queries (within an intent) and conflicting labels of `items`."""
    items = list(items)
    report = DedupeReport(enforced=min_distinct_share is not None)
    first_of_key: dict[tuple[str, str], int] = {}
    expected_groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    per_intent_queries: dict[str, dict[str, int]] = defaultdict(dict)  # intent -> normalised query -> first index
    for idx, it in enumerate(items):
        q = normalise(it.query)
        key = (q, _canon(it.history) + "|" + _canon(it.grounding))
        st = report.intents.setdefault(it.intent, IntentStats())
        st.cases += 1
        if key in first_of_key:
            report.exact.append((it.where, items[first_of_key[key]].where))
        else:
            first_of_key[key] = idx
            st.distinct_cases += 1
        if it.expected is not None:
            expected_groups.setdefault(key, {}).setdefault(_canon(it.expected), []).append(it.where)
        if q not in per_intent_queries[it.intent]:
            per_intent_queries[it.intent][q] = idx
            st.distinct_queries += 1
    for groups in expected_groups.values():
        if len(groups) > 1:
            report.conflicts.append([w for ws in groups.values() for w in ws])
    for intent, queries in per_intent_queries.items():
        texts = list(queries)
        firsts = list(queries.values())
        for i, j, sim in similar_pairs(texts, threshold, n):
            a, b = sorted((firsts[i], firsts[j]))
            report.near.append((items[a].where, items[b].where, sim))
    report.near.sort(key=lambda t: (t[0], t[1]))
    if min_distinct_share is not None:
        for intent, st in report.intents.items():
            share = min_distinct_share.get(intent) if isinstance(min_distinct_share, dict) else min_distinct_share
            if share is not None:
                st.min_distinct = math.ceil(share * st.cases - 1e-9)
    return report


def items_from_file(path: Path) -> list[Item]:
    """The items of one JSONL file (lines that are not JSON objects are skipped: `golden.read_cases` reports them)."""
    out = []
    for line_no, doc, invalid in parse_lines(Path(path).read_text(encoding="utf-8").splitlines()):
        if invalid or not isinstance(doc, dict) or not isinstance(doc.get("query"), str):
            continue
        out.append(Item(where=f"{path}:{line_no}", intent=str(doc.get("intent", path.stem)), query=doc["query"],
                        history=doc.get("history", []), grounding=doc.get("grounding", {}),
                        expected=doc.get("expected")))
    return out


def manifest_policy(dataset_dir: Path) -> tuple[float | dict[str, float] | None, list[str]]:
    """The manifest's `min_distinct_share` (None when absent) and the problems with its value."""
    manifest = Path(dataset_dir) / "manifest.json"
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None, []  # golden._check_manifest reports these
    value = doc.get(MANIFEST_KEY) if isinstance(doc, dict) else None
    if value is None:
        return None, []

    def ok(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1

    if ok(value):
        return float(value), []
    if isinstance(value, dict) and value and all(ok(v) for v in value.values()):
        return {str(k): float(v) for k, v in value.items()}, []
    return None, [f"{manifest}: '{MANIFEST_KEY}' must be a number in [0, 1] or an object {{intent: number}}, got {value!r}"]


def analyse_path(path: Path, threshold: float = DEFAULT_THRESHOLD, n: int = DEFAULT_NGRAM
                 ) -> tuple[DedupeReport, list[str]]:
    """Dedupe a dataset folder (policy from its manifest) or one JSONL file (never enforced)."""
    path = Path(path)
    if path.is_file():
        return analyse(items_from_file(path), threshold, n), []
    policy, problems = manifest_policy(path)
    items = [it for f in sorted(path.glob("*.jsonl")) for it in items_from_file(f)]
    return analyse(items, threshold, n, policy), problems

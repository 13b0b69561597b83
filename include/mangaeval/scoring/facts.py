"""Checkable figures in text (prices, dates, ISBNs, order ids, codes, percentages, numbers, statuses) and
the set of figures a case's grounding supports.

Both sides go through the same extractor, so "¥1,452" in an answer and `"price_jpy": 1452` in the grounding
are the same fact, and full-width digits ("５巻") read as ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mangaeval.answers import AVAILABILITY_WORDS, STATUS_WORDS

# Order matters: each pattern's matches are cut out of the text before the next one runs, so the digits of
# a date, an ISBN or an order id are never read again as loose numbers.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("date", re.compile(r"\d{4}-\d{2}-\d{2}")),
    ("isbn", re.compile(r"97[89](?:-?\d){10}")),
    ("order_id", re.compile(r"MA-\d{6}")),
    ("code", re.compile(r"(?<![A-Za-z0-9])[A-Z]{3,}\d+(?![0-9])")),
    ("price", re.compile(r"¥\s?(\d[\d,]*)|(\d[\d,]*)\s?円")),
    ("percent", re.compile(r"(\d+(?:\.\d+)?)\s?%")),
    ("time", re.compile(r"\d{1,2}:\d{2}")),
    ("identifier", re.compile(r"\d{7,}")),
    ("number", re.compile(r"\d[\d,]*")),
]
_DIGIT = re.compile(r"\d")
# Longest phrases first, and each cut out once read, so a phrase inside a longer one is not read twice.
_AVAILABILITY = {lang: sorted(((w, k) for k, w in words.items()), key=lambda p: -len(p[0])) for lang, words in AVAILABILITY_WORDS.items()}
_STATUS = {lang: sorted(((w, k) for k, w in words.items()), key=lambda p: -len(p[0])) for lang, words in STATUS_WORDS.items()}


@dataclass
class Figures:
    """Figures by kind; numeric kinds hold ints, the others normalised strings."""

    by_kind: dict[str, set[Any]] = field(default_factory=dict)

    def add(self, kind: str, value: Any) -> None:
        self.by_kind.setdefault(kind, set()).add(value)

    def get(self, kind: str) -> set[Any]:
        return self.by_kind.get(kind, set())

    def update(self, other: "Figures") -> None:
        for kind, values in other.by_kind.items():
            self.by_kind.setdefault(kind, set()).update(values)

    def count(self) -> int:
        return sum(len(v) for v in self.by_kind.values())


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _int(text: str) -> int | None:
    digits = text.replace(",", "")
    return int(digits) if digits.isdigit() else None


def extract_figures(text: str) -> Figures:
    figures = Figures()
    rest = nfkc(text)
    if not _DIGIT.search(rest):
        return figures  # every pattern needs a digit
    for kind, pattern in _PATTERNS:
        def take(match: re.Match[str], kind: str = kind) -> str:
            raw = match.group(0)
            if kind == "price":
                value = _int(match.group(1) or match.group(2))
                if value is not None:
                    figures.add("price", value)
            elif kind == "percent":
                figures.add("percent", float(match.group(1)))
            elif kind == "number":
                value = _int(raw)
                if value is not None:
                    figures.add("number", value)
            elif kind == "isbn":
                figures.add("isbn", raw.replace("-", ""))
            else:
                figures.add(kind, raw)
            return " "
        rest = pattern.sub(take, rest)
    return figures


def stated_words(text: str, table: dict[str, list[tuple[str, str]]]) -> set[str]:
    """Keys of the status/availability words a text states (longest phrases first, each read once)."""
    found: set[str] = set()
    rest = nfkc(text).casefold()
    for language_words in table.values():
        for word, key in language_words:
            needle = nfkc(word).casefold()
            if needle in rest:
                found.add(key)
                rest = rest.replace(needle, " ")
    return found


def stated_statuses(text: str) -> set[str]:
    return stated_words(text, _STATUS)


def stated_availability(text: str) -> set[str]:
    return stated_words(text, _AVAILABILITY)


@dataclass
class GroundingFacts:
    """What an answer may state for one case: figures from the grounding (and the numbers the customer said)."""

    figures: Figures
    query_numbers: set[int]
    statuses: set[str]          # order statuses present in the grounding
    availability: set[str]      # product availability values present in the grounding
    promo_codes: set[str]
    has_order: bool


def _walk(value: Any, key: str, acc: dict[str, set[Any]], statuses: set[str], availability: set[str]) -> None:
    kind = type(value)
    if kind is dict:
        for k, v in value.items():
            _walk(v, k, acc, statuses, availability)
    elif kind is list:
        for v in value:
            _walk(v, key, acc, statuses, availability)
    elif kind is str:
        if key == "status":
            statuses.add(value)
        elif key == "availability":
            availability.add(value)
        for figure_kind, values in _grounding_string_figures(value):
            acc[figure_kind].update(values)
    elif kind is int:
        acc["number"].add(value)
        if "price" in key or key.endswith("_jpy"):
            acc["price"].add(value)
        if value >= 10**6:
            acc["identifier"].add(str(value))
    elif kind in (bool, float) or value is None:
        return
    elif isinstance(value, dict):  # subclasses (not met in JSON groundings): the same walk, type by type
        _walk(dict(value), key, acc, statuses, availability)
    elif isinstance(value, list):
        _walk(list(value), key, acc, statuses, availability)
    elif isinstance(value, str):
        _walk(str(value), key, acc, statuses, availability)
    elif isinstance(value, int) and not isinstance(value, bool):
        _walk(int(value), key, acc, statuses, availability)


@lru_cache(maxsize=1 << 14)
def _grounding_string_figures(value: str) -> tuple[tuple[str, frozenset[Any]], ...]:
    """Figures of one grounding string, by kind; the same passages and catalog entries recur across cases.
    A figure written as a price in text ("¥3,500") may be restated as a plain number and vice versa."""
    found = extract_figures(value)
    out = {kind: frozenset(values) for kind, values in found.by_kind.items()}
    out["number"] = out.get("number", frozenset()) | out.get("price", frozenset())
    return tuple(out.items())


def grounding_facts(grounding: dict[str, Any], query: str, history: list[dict[str, str]] | None = None) -> GroundingFacts:
    acc: defaultdict[str, set[Any]] = defaultdict(set)
    statuses: set[str] = set()
    availability: set[str] = set()
    _walk(grounding, "", acc, statuses, availability)
    figures = Figures(dict(acc))
    said = extract_figures(" ".join([query, *(t.get("content", "") for t in history or [] if t.get("role") == "user")]))
    promo_codes = {p.get("code") for p in grounding.get("promotions") or [] if isinstance(p, dict) and p.get("code")}
    return GroundingFacts(
        figures=figures,
        query_numbers=set(said.get("number")),
        statuses=statuses,
        availability=availability,
        promo_codes=promo_codes,
        has_order=bool(grounding.get("order") or grounding.get("orders")),
    )

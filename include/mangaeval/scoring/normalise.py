"""One canonical form for every comparison the scorer makes (must_contain, completeness, figures, claims).

¥330 / 330円 / ３３０円 / 330 yen all become "¥330"; 7-14 / 7〜14 / 7～14 / 7 to 14 / 7–14 become "7-14";
2026年11月24日 and "November 24, 2026" become 2026-11-24; digit group separators go; markdown emphasis,
headings and list markers go (a list marker "1." is layout, not a claim). Text is NFKC-folded and casefolded.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_MONTHS = {m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august", "september",
                                        "october", "november", "december"), 1)}
_MONTH_RE = "|".join(sorted([*_MONTHS, *(m[:3] for m in _MONTHS)], key=len, reverse=True))
_RULES: list[tuple[re.Pattern[str], str | object]] = [
    (re.compile(r"(?m)^\s*(?:#{1,6}\s*|(?:\d{1,2}[.)]|[-*・•])\s+)"), ""),   # headings and list markers
    (re.compile(r"\*\*|__|`"), ""),                                            # emphasis
    (re.compile(r"(?<=\d),(?=\d{3}(?!\d))"), ""),                              # 1,452 -> 1452
    (re.compile(r"(?i)(\d+)\s*(?:円|yen\b|jpy\b)"), r"¥\1"),                       # 330円 / 330 yen -> ¥330
    (re.compile(r"¥\s+(?=\d)"), "¥"),
    (re.compile(r"(?<![\d-])(\d{1,3})\s*(?:〜|~|–|—|から|to)\s*(\d{1,3})(?![\d:])"), r"\1-\2"),  # ranges
    (re.compile(r"(\d{4})年\s*(\d{1,2})月\s*(\d{1,2})日"), lambda m: f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"),
    (re.compile(rf"(?i)\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})"),
     lambda m: f"{m.group(3)}-{_month(m.group(1)):02d}-{int(m.group(2)):02d}"),
]

_DIGIT = re.compile(r"\d")


def _month(name: str) -> int:
    name = name.casefold()
    return _MONTHS.get(name) or next(v for k, v in _MONTHS.items() if k.startswith(name))


@lru_cache(maxsize=1 << 16)
def canonical(text: str, fold: bool = True) -> str:
    """`fold=False` keeps case (codes and order ids are upper-case patterns). Memoised: an answer is put in
    canonical form by several dimensions, and grounding strings recur across cases."""
    text = unicodedata.normalize("NFKC", text)
    if fold:
        text = text.casefold()
    if not _DIGIT.search(text):  # every rule but the first two needs a digit: skipping them changes nothing
        for pattern, repl in _RULES[:2]:
            text = pattern.sub(repl, text)  # type: ignore[arg-type]
        return " ".join(text.split()) if fold else text
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)  # type: ignore[arg-type]
    return " ".join(text.split()) if fold else text


def canonical_keep_lines(text: str) -> str:
    """Canonical, but line breaks kept (answer units are split on them)."""
    return "\n".join(canonical(line) for line in text.splitlines() if line.strip())

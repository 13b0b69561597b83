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
    (re.compile(r"(?i)(\d+)\s*(?:円|yen\b|jpy\b)"), lambda m: "¥" + m.group(1)),                       # 330円 / 330 yen -> ¥330
    (re.compile(r"¥\s+(?=\d)"), "¥"),
    (re.compile(r"(?<![A-Za-z\d-])(\d{1,3})\s*(?:〜|~|–|—|から|to)\s*(\d{1,3})(?![\d:])"), lambda m: f"{m.group(1)}-{m.group(2)}"),  # ranges
    (re.compile(r"(\d{4})年\s*(\d{1,2})月\s*(\d{1,2})日"), lambda m: f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"),
    (re.compile(rf"(?i)\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})"),
     lambda m: f"{m.group(3)}-{_month(m.group(1)):02d}-{int(m.group(2)):02d}"),
]

_DIGIT = re.compile(r"\d")
# For each rule, strings at least one of which any match contains (None: always run).
_NEEDLES: list[tuple[str, ...] | re.Pattern[str] | None] = [
    None, ("**", "__", "`"), (",",), ("円", "yen", "jpy"), ("¥",), ("〜", "~", "–", "—", "から", "to"), ("年",),
    re.compile("|".join(sorted({m[:3] for m in _MONTHS}))),
]


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
    # A rule whose matches all contain one of its needles cannot match a text without them: skip it. Needles
    # are looked for in the case-folded text (a superset of the exact-case test); no rule writes a needle a
    # later rule looks for in lower case, so folding once, up front, is enough.
    lower = text if fold else text.casefold()
    for (pattern, repl), needles in zip(_RULES, _NEEDLES):
        if needles is not None:
            if isinstance(needles, re.Pattern):
                if not needles.search(lower):
                    continue
            elif not any(n in lower or n in text for n in needles):
                continue
        text = pattern.sub(repl, text)  # type: ignore[arg-type]
    return " ".join(text.split()) if fold else text


def canonical_keep_lines(text: str) -> str:
    """Canonical, but line breaks kept (answer units are split on them)."""
    return "\n".join(canonical(line) for line in text.splitlines() if line.strip())

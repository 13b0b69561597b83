"""Personal-data redaction for conversation logs, English and Japanese, applied before anything is written.

Replaces, with a bracketed placeholder of its kind:
  [EMAIL]    e-mail addresses
  [CARD]     payment card numbers (13-19 digits, spaces or hyphens between groups, Luhn-valid; ISBNs excluded)
  [PHONE]    phone numbers: Japanese (03-1234-5678, 090-1234-5678, 0120-123-456, 09012345678, +81 90 1234 5678,
             full-width digits, (03)1234-5678) and international/North American (+1 415 555 0134, (415) 555-0134)
  [ADDRESS]  postal addresses: 〒 codes with the address after them, Japanese prefecture addresses with block
             numbers, English street addresses (123 Main Street, Apt 4), US ZIP codes after a state
  [NAME]     names after honorifics: Mr./Ms./Mrs./Dr./Miss (the honorific kept) and before 様/さん/殿/くん/ちゃん
             (お客様, 皆様 and catalog titles such as かぐや様は告らせたい are not names)
  [ORDER_ID] order ids (MA-123456 and similar letter-digit ids) that are not in the case's own grounding
  [TRACKING] tracking numbers (10-22 digit runs, 1Z... UPS ids) that are not in the case's own grounding

Never touched: catalog titles and authors, prices (¥1,234, $12.99, 1,234円), volume numbers (12巻, vol. 12),
ISBN-10/13 with a valid check digit, dates, percentages. `protected` spans (the store catalog by default) are
masked before any pattern runs.

Side effect: full-width digits and ＠＋－（） are folded to ASCII in the whole text first (so "０９０－..." is a phone
number); the words are unchanged. Known limits: a hiragana-only name (さくらさん) is not caught; an honorific
before a capitalised word that is not a name ("Dr. STONE", a title outside the catalog) is redacted.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

PLACEHOLDERS = ("EMAIL", "CARD", "PHONE", "ADDRESS", "NAME", "ORDER_ID", "TRACKING")

_FW = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)}, "＠": "@", "＋": "+", "－": "-", "（": "(",
                     "）": ")", "‐": "-", "−": "-", "—": "-"})
_DASH = r"[-‐－−ー]"

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
PHONE_RES = [
    re.compile(r"(?<![0-9A-Za-z+])\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,3}(?!\d)"),  # +81 90 1234 5678, +1 415...
    re.compile(rf"(?<![\d-])\(?0\d{{1,4}}\)?\s?{_DASH}?\s?\d{{1,4}}(?:\s?{_DASH}\s?|\s)\d{{3,4}}(?![\d-])"),  # 03-1234-5678
    re.compile(r"(?<![\d-])0[1-9]0?\d{8,9}(?![\d-])"),  # 09012345678, 0312345678
    re.compile(r"(?<![\d-])\(\d{3}\)\s?\d{3}[-. ]\d{4}(?!\d)"),  # (415) 555-0134
    re.compile(r"(?<![\d-])[2-9]\d{2}[-.]\d{3}[-.]\d{4}(?![\d-])"),  # 415-555-0134
]
_PREF = (r"(?:東京都|北海道|京都府|大阪府|(?:青森|岩手|宮城|秋田|山形|福島|茨城|栃木|群馬|埼玉|千葉|神奈川|新潟|富山|石川|福井|山梨|長野|"
         r"岐阜|静岡|愛知|三重|滋賀|兵庫|奈良|和歌山|鳥取|島根|岡山|広島|山口|徳島|香川|愛媛|高知|福岡|佐賀|長崎|熊本|大分|宮崎|鹿児島|沖縄)県)")
_STOP = "\\s、。,!?！？()（）\U000F0000-\U000FFFFF"  # never inside an address: separators and masked spans
_JA_BLOCK = rf"(?:[0-9]+|[一二三四五六七八九十]+丁目)(?:(?:丁目|番地?|号|{_DASH}|の)[0-9]*)*(?:\s?[^{_STOP}]{{0,20}}?(?:\d+号室|\d+F|\d+階))?"
ADDRESS_RES = [
    re.compile(rf"〒\s?\d{{3}}{_DASH}?\d{{4}}(?:[\s,、]*{_PREF}?[^{_STOP}0-9]{{1,30}}?{_JA_BLOCK})?"),
    re.compile(rf"{_PREF}[^{_STOP}0-9]{{1,20}}?{_JA_BLOCK}"),
    re.compile(r"(?<![0-9A-Za-z])\d{1,5}(?:\s[A-Z][a-z]+){1,3}\s(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|"
               r"Way|Place|Pl|Terrace)(?![A-Za-z])\.?(?:,?\s(?:Apt|Apartment|Suite|Unit|#)\.?\s?\w+)?"
               r"(?:,\s[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)?(?:,?\s[A-Z]{2})?(?:\s\d{5}(?:-\d{4})?)?"),
    re.compile(r"\b[A-Z]{2}\s\d{5}(?:-\d{4})?\b"),  # state + ZIP
]
NAME_EN_RE = re.compile(r"(?<![A-Za-z])(Mr|Mrs|Ms|Miss|Mx|Dr|Prof)(\.?\s+)([A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-]+)?)")
NAME_JA_RE = re.compile(r"([\u4e00-\u9fff\u30a0-\u30ff\u3005]{1,8}(?:[ \u3000][\u3040-\u309f\u4e00-\u9fff\u30a0-\u30ff]{1,6})?)(様|さん|殿|くん|ちゃん)")
NOT_JA_NAMES = {"客", "皆", "神", "王", "奥", "子", "同", "皆々", "お客", "お子", "お嬢", "兄", "姉", "母", "父", "お母", "お父",
                "店員", "担当", "担当者", "作者", "先生", "仏", "殿", "ご主人", "主人", "旦那", "店長"}
ORDER_RE = re.compile(r"(?<![0-9A-Za-z-])(?:MA|ORD|ORDER|AMZ|JP)[-#]?\d{5,12}(?![0-9A-Za-z-])|(?<![0-9A-Za-z-])\d{3}-\d{7}-\d{7}(?![0-9A-Za-z-])")
TRACKING_RES = [re.compile(r"(?<![0-9A-Za-z-])1Z[0-9A-Z]{14,18}(?![0-9A-Za-z-])"),
                re.compile(rf"(?<![0-9A-Za-z-])\d{{4}}{_DASH}?\d{{4}}{_DASH}?\d{{4}}(?![0-9A-Za-z-])"),
                re.compile(r"(?<![0-9A-Za-z-])\d{10,22}(?![0-9A-Za-z-])")]
ISBN_RE = re.compile(r"(?<![\d-])(?:97[89][- ]?)?\d{1,5}[- ]\d{1,7}[- ]\d{1,7}[- ][\dX](?![\d-])"
                     r"|(?<![\d-])(?:97[89]\d{10}|\d{9}[\dX])(?![0-9A-Za-z-])")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_isbn(text: str) -> bool:
    digits = re.sub(r"[- ]", "", text)
    if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
        return sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10 == 0
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
        return sum((10 - i) * (10 if d == "X" else int(d)) for i, d in enumerate(digits)) % 11 == 0
    return False


@lru_cache(maxsize=1)
def catalog_terms() -> tuple[str, ...]:
    """Titles and authors of the store catalog: never personal data (longest first, so masks nest correctly)."""
    from mangaeval.store import catalog

    terms = set()
    for s in catalog().values():
        terms.update({s.title_en, s.title_ja, s.author_en, s.author_ja, s.publisher})
        for part in re.split(r"\s+and\s+|・", s.author_en + "・" + s.author_ja):
            terms.add(part.strip())
    return tuple(sorted((t for t in terms if len(t) > 1), key=len, reverse=True))


@dataclass
class Redactor:
    """`redact(text, keep)`: text with personal data replaced; `keep`: strings (the case's own order id, tracking
    number) left as they are. Counts of each placeholder are accumulated in `counts`."""
    protected: Iterable[str] | None = None
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        terms = catalog_terms() if self.protected is None else tuple(sorted(self.protected, key=len, reverse=True))
        self._protect_re = re.compile("|".join(re.escape(t) for t in terms)) if terms else None

    def redact(self, text: str, keep: Iterable[str] = ()) -> str:
        if not text:
            return text
        text = text.translate(_FW)
        keep = {k for k in keep if k}
        masks: list[str] = []

        def mask(m: re.Match) -> str:
            masks.append(m.group(0))
            return chr(0xF0000 + len(masks) - 1)

        for k in sorted(keep, key=len, reverse=True):
            if k in text:
                masks.append(k)
                text = text.replace(k, chr(0xF0000 + len(masks) - 1))
        if self._protect_re is not None:
            text = self._protect_re.sub(mask, text)
        text = ISBN_RE.sub(lambda m: mask(m) if is_isbn(m.group(0)) else m.group(0), text)

        def sub(kind: str, pattern: re.Pattern, repl=None) -> None:
            nonlocal text

            def one(m: re.Match) -> str:
                out = repl(m) if repl else f"[{kind}]"
                if out != m.group(0):
                    self.counts[kind] += 1
                return out
            text = pattern.sub(one, text)

        sub("EMAIL", EMAIL_RE)
        sub("CARD", CARD_RE, lambda m: "[CARD]" if _luhn(re.sub(r"\D", "", m.group(0))) and not is_isbn(m.group(0))
            else m.group(0))
        sub("NAME", NAME_EN_RE, lambda m: f"{m.group(1)}{m.group(2)}[NAME]")  # before addresses (", Mrs" looks like a city)
        sub("PHONE", PHONE_RES[0])  # +81 ..., +44 ...: before addresses, whose numbers they would start
        for pattern in ADDRESS_RES:
            sub("ADDRESS", pattern)
        sub("ORDER_ID", ORDER_RE)
        for pattern in TRACKING_RES[:1]:
            sub("TRACKING", pattern)
        for pattern in PHONE_RES[1:]:
            sub("PHONE", pattern)
        for pattern in TRACKING_RES[1:]:
            sub("TRACKING", pattern, lambda m: m.group(0) if is_isbn(m.group(0)) else "[TRACKING]")

        def ja_name(m: re.Match) -> str:
            name = m.group(1)
            before = m.string[m.start(1) - 1] if m.start(1) else ""
            if name in NOT_JA_NAMES or before + name in NOT_JA_NAMES:
                return m.group(0)
            return f"[NAME]{m.group(2)}"
        sub("NAME", NAME_JA_RE, ja_name)
        return re.sub("[\U000F0000-\U000FFFFF]", lambda m: masks[ord(m.group(0)) - 0xF0000], text)

    def redact_value(self, value: Any, keep: Iterable[str] = ()) -> Any:
        """Every string in a JSON-like value redacted (dict keys kept)."""
        if isinstance(value, str):
            return self.redact(value, keep)
        if isinstance(value, list):
            return [self.redact_value(v, keep) for v in value]
        if isinstance(value, dict):
            return {k: self.redact_value(v, keep) for k, v in value.items()}
        return value


GROUNDING_ID_KEYS = ("order_id", "tracking_number", "tracking", "order_number")


def grounding_ids(grounding: Any) -> set[str]:
    """The case's own order ids and tracking numbers: string values under id-like keys anywhere in the grounding."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k in GROUNDING_ID_KEYS and isinstance(x, (str, int)):
                    found.add(str(x))
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(grounding)
    return found

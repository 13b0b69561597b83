"""Small text utilities shared by the double, the engine and the scorer."""

from __future__ import annotations

import re

# Hiragana, Katakana (incl. half-width), CJK ideographs and the CJK punctuation block.
_JAPANESE_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f\u3000-\u303f]")


def japanese_char_count(text: str) -> int:
    return len(_JAPANESE_RE.findall(text))


def detect_language(text: str) -> str:
    """'ja' when Japanese script makes up a meaningful share of the letters, else 'en'.

    Detected by script, not by whitespace: Japanese has no spaces between words.
    """
    letters = sum(1 for ch in text if ch.isalpha())
    if letters == 0:
        return "en"
    return "ja" if japanese_char_count(text) / letters >= 0.2 else "en"


def estimate_tokens(text: str) -> int:
    """Deterministic token estimate: ~1 token per Japanese character, ~4 characters per token otherwise."""
    if not text:
        return 0
    ja = japanese_char_count(text)
    other = len(text) - ja
    return ja + (other + 3) // 4

"""Small text utilities shared by the double, the engine and the scorer."""

from __future__ import annotations

import re
import unicodedata

# Hiragana, Katakana (incl. half-width), CJK ideographs and the CJK punctuation block.
_JAPANESE_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f\u3000-\u303f]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]+")
# About two Japanese characters carry what one English word does; used to weigh mixed-script text.
JAPANESE_CHARS_PER_WORD = 2.0


def japanese_char_count(text: str) -> int:
    return len(_JAPANESE_RE.findall(text))


def detect_language(text: str) -> str:
    """'ja' when Japanese script carries at least as much of the text as Latin words, else 'en'.

    Detected by script, not by whitespace: Japanese has no spaces between words, so its characters are
    weighed against Latin words ("Is 鬼滅の刃 in stock?" is English, "One Piece 110巻はいくら?" Japanese).
    """
    ja_units = japanese_char_count(text) / JAPANESE_CHARS_PER_WORD
    if ja_units == 0:
        return "en"
    return "ja" if ja_units >= len(_LATIN_WORD_RE.findall(text)) else "en"


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def estimate_tokens(text: str) -> int:
    """Deterministic token estimate: ~1 token per Japanese character, ~4 characters per token otherwise."""
    if not text:
        return 0
    ja = japanese_char_count(text)
    other = len(text) - ja
    return ja + (other + 3) // 4

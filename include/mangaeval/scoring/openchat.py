"""Relevance for open intents (chitchat): is what was said acknowledged, help offered, nothing off-topic answered.

Surface overlap with the one reference reply is only a small part: "My pleasure!" thanks as well as
"You're welcome!" does.
"""

from __future__ import annotations

from mangaeval.text import normalize

import re
from functools import lru_cache

# "Welcome!" greets; "You're welcome" thanks.
_WELCOME_GREETING = re.compile(r"(?<!you're )(?<!you are )(?<!youre )\bwelcome\b")
ACTS = {
    "out_of_scope": (("weather", "stock market", "lottery", "天気", "株価", "宝くじ"),
                     ("can't", "cannot", "unable", "outside", "only answer", "only help", "only know", "not something i can", "i'm afraid",
                      "できません", "できかね", "答えられ", "お答えでき", "分かりかね", "わかりかね", "わからない", "分からない", "以外は")),
    "thanks": (("thank", "thx", "ありがと", "感謝"),
               ("welcome", "pleasure", "glad", "happy to help", "anytime", "any time", "no problem", "no worries", "you got it", "you bet",
                "どういたしまして", "お役に立て", "とんでもない", "うれしい", "嬉しい", "いえいえ", "よかった", "良かった", "こちらこそ",
                "光栄")),
    "bye": (("bye", "see you", "good night", "さようなら", "またね", "おやすみ"),
            ("bye", "see you", "see ya", "take care", "good night", "come back", "farewell", "until next time", "またね", "またの", "お越し",
             "さようなら", "おやすみ", "お待ちして", "じゃあね", "ご来店")),
    "greeting": (("hello", "hi", "hey", "good morning", "good evening", "こんにちは", "こんばんは", "おはよう", "やあ"),
                 ("hello", "hi", "hey", "good morning", "good evening", "morning", "evening", "afternoon", "good to see you", "nice to see you", _WELCOME_GREETING,
                  "こんにちは", "こんばんは", "おはよう", "いらっしゃいませ", "ようこそ", "どうも", "やあ")),
}
OFFERS_HELP = ("help", "looking for", "can i", "anything", "ask", "find", "read", "お手伝い", "お探し", "探し", "どうぞ", "聞いて", "読書", "いつでも")


@lru_cache(maxsize=1 << 12)
def message_act(query: str) -> str | None:
    q = normalize(query)
    words = set(q.replace("!", " ").replace("?", " ").replace(",", " ").replace(".", " ").split())
    for act, (cues, _) in ACTS.items():
        if any((c in words) if c.isascii() and " " not in c else (c in q) for c in cues):
            return act
    return None


def _cue_pattern(cue: str | re.Pattern[str]) -> str:
    if isinstance(cue, re.Pattern):
        return cue.pattern
    return rf"\b{re.escape(cue)}\b" if cue.isascii() else re.escape(cue)


# One alternation per act: a regex search returns the leftmost match of any alternative, i.e. the earliest cue.
_ACK_RE = {act: re.compile("|".join(_cue_pattern(c) for c in acks)) for act, (_, acks) in ACTS.items()}


def _first(text: str, act: str) -> int | None:
    """Position of the earliest acknowledgement cue of `act`; ASCII single-word cues as whole words ("hi" is not in "this")."""
    m = _ACK_RE[act].search(text)
    return m.start() if m else None


def open_relevance(query: str, answer_norm: str, similarity: float) -> float:
    """0.7 acknowledging the message's act, 0.2 offering help (or redirecting), 0.1 overlap with the reference."""
    act = message_act(query)
    if act is None:
        return similarity
    # The reply's first social move must answer this message: a goodbye to a hello does not acknowledge it.
    first = {a: _first(answer_norm, a) for a in ACTS if a != "out_of_scope"}
    own = first[act] if act in first else _first(answer_norm, act)
    acknowledged = own is not None and all(p is None or p >= own for a, p in first.items() if a != act)
    offers = any(o in answer_norm for o in OFFERS_HELP)
    return 0.7 * acknowledged + 0.2 * offers + 0.1 * similarity

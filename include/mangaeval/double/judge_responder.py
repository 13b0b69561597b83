"""How the model double answers a quality-judge request (prompts/judge/v1 and v2): a verdict computed from what
the request carries (required facts, candidate answer, customer language), sometimes malformed, as real
judges' replies sometimes are, so the client's strict parsing is exercised offline."""

from __future__ import annotations

import json
import random
import re

from mangaeval.text import detect_language, normalize

JUDGE_MARKER = "Role: quality-judge"
_BLOCK = {name: re.compile(rf"<{name}>\n(.*?)\n</{name}>", re.S) for name in ("grounding", "required_facts", "unchecked_claims", "candidate_answer")}
UNSUPPORTED_PENALTY = 0.08  # per unchecked claim the grounding does not support (repeats counted once)
UNSUPPORTED_MAX = 0.2
_SUPPORT_MIN = 0.4          # share of a claim's character trigrams found in one grounding sentence to count as supported
_LANGUAGE = re.compile(r"customer's language \((English|Japanese)\)")
MALFORMED = [
    'Sure! Here is my verdict: {"score": 0.8, "verdict": "pass"}',
    '```json\n{"score": 0.9, "verdict": "pass", "reason": "fine"}\n```',
    '{"score": "high", "verdict": "pass", "reason": "good answer"}',
    '{"score": 0.7, "verdict": "pass", "reason": "cut off',
]


def is_judge_request(system: str) -> bool:
    return JUDGE_MARKER in system


def judge_reply(system: str, user_text: str, skill: float, rng: random.Random) -> str:
    if rng.random() < 0.3 * (1.0 - skill):
        return rng.choice(MALFORMED)
    found = {name: (m.group(1) if (m := rx.search(user_text)) else "") for name, rx in _BLOCK.items()}
    try:
        required = [str(x) for x in json.loads(found["required_facts"] or "[]")]
    except json.JSONDecodeError:
        required = []
    candidate = found["candidate_answer"]
    language = {"English": "en", "Japanese": "ja"}.get(m.group(1) if (m := _LANGUAGE.search(system)) else "English", "en")
    unsupported = sorted(set(_unsupported(found["unchecked_claims"], found["grounding"])))
    loose = _fold(candidate)
    coverage = sum(1 for r in required if any(_fold(form) in loose for form in _forms(r))) / len(required) if required else 1.0
    score = 0.0 if not candidate.strip() else coverage * (1.0 if detect_language(candidate) == language else 0.3)
    score -= min(UNSUPPORTED_MAX, UNSUPPORTED_PENALTY * len(unsupported))
    score = round(min(1.0, max(0.0, score + rng.uniform(-0.05, 0.05))), 2)
    verdict = "pass" if score >= 0.75 else "fail"
    reason = "states the required facts in the customer's language" if verdict == "pass" else "misses required facts or the customer's language"
    if unsupported:
        reason += f"; {len(unsupported)} unchecked claim(s) not supported by the grounding"
    return json.dumps({"score": score, "verdict": verdict, "reason": reason})


def _trigrams(text: str) -> set[str]:
    compact = re.sub(r"[\s\d.,:;!?。、!?()()「」\-\"']+", "", normalize(text))
    return {compact[i:i + 3] for i in range(max(len(compact) - 2, 0))}


def _unsupported(claims_json: str, grounding: str) -> list[str]:
    """The unchecked claims no sentence of the grounding carries the wording of (a crude stand-in for reading)."""
    try:
        claims = [str(c) for c in json.loads(claims_json.replace("<\\/", "</") or "[]")]
    except json.JSONDecodeError:
        return []
    sentences = [g for g in (_trigrams(x) for x in re.split(r"[.。!?!?\"]", grounding)) if g]
    out = []
    for claim in claims:
        grams = _trigrams(claim)
        if grams and max((len(grams & g) / len(grams) for g in sentences), default=0.0) < _SUPPORT_MIN:
            out.append(claim)
    return out


# A judge model reads ¥330, 330円 and 330 yen as one price, and a status in other words as that status.
_YEN = re.compile(r"(?:¥\s?(\d+)|(\d+)\s?(?:円|yen\b|jpy\b))")
_SAME_STATUS = {"shipped": ("dispatched", "on its way"), "発送済み": ("発送いたしました", "発送しました", "お届け中", "発送されました"),
                "in stock": ("available now", "have it"), "在庫あり": ("在庫がございます", "在庫があります", "在庫ございます"),
                "delivered": ("arrived",), "配達済み": ("お届け済み", "お届けしました", "届きました")}


def _fold(text: str) -> str:
    text = normalize(text).replace(",", "")
    return _YEN.sub(lambda m: "¥" + (m.group(1) or m.group(2)), text)


def _forms(required: str) -> tuple[str, ...]:
    return (required, *_SAME_STATUS.get(normalize(required), ()))

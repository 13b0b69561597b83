"""How the model double answers a quality-judge request (prompts/judge/v1): a verdict computed from what
the request carries (required facts, candidate answer, customer language), sometimes malformed, as real
judges' replies sometimes are, so the client's strict parsing is exercised offline."""

from __future__ import annotations

import json
import random
import re

from mangaeval.text import detect_language, normalize

JUDGE_MARKER = "Role: quality-judge"
_BLOCK = {name: re.compile(rf"<{name}>\n(.*?)\n</{name}>", re.S) for name in ("required_facts", "candidate_answer")}
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
    loose = normalize(candidate).replace(",", "")
    coverage = sum(1 for r in required if normalize(r).replace(",", "") in loose) / len(required) if required else 1.0
    score = 0.0 if not candidate.strip() else coverage * (1.0 if detect_language(candidate) == language else 0.3)
    score = round(min(1.0, max(0.0, score + rng.uniform(-0.05, 0.05))), 2)
    verdict = "pass" if score >= 0.75 else "fail"
    reason = "states the required facts in the customer's language" if verdict == "pass" else "misses required facts or the customer's language"
    return json.dumps({"score": score, "verdict": verdict, "reason": reason})

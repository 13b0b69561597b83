"""The range of styles real models answer in, for the model double (issue 14, point 6).

The double composes its answers with the writer the golden references come from, so without this every
answer would share one layout and wording, and the scorer would only ever meet that style. A style is drawn
per request from its own random stream (seeded by the request digest), so the draws that decide how good the
answer is (`degrade`) are the same as before and the model's calibration holds.

Layouts (plain, bullet list, numbered steps, bold lead line, one paragraph per sentence), the order of the
facts, prices written ¥1,452 / 1,452円 / 1452円 / 1,452 yen, keigo or casual Japanese, and sometimes one
extra helpful sentence that states no fact. The wordings here are the double's own: they are deliberately
not the robustness set's (mangaeval.robustness.phrasing), which must stay independent of both the double
and the scorer.
"""

from __future__ import annotations

import random
import re

from mangaeval.answers import Answer, Part
from mangaeval.weighted_choice import pick_weighted

LAYOUTS = (("plain", 0.40), ("bullets", 0.20), ("numbered", 0.15), ("bold_lead", 0.10), ("paragraphs", 0.15))
BULLETS = ("- ", "* ", "• ")
REORDER_RATE = 0.30
PRICE_RESTYLE_RATE = 0.50
EXTRA_RATE = 0.25
REGISTERS = (("as_written", 0.55), ("keigo", 0.30), ("casual", 0.15))
EXTRA = {
    "en": ["If there's anything more I can check for you, just let me know.", "Is there something else I can look into for you?"],
    "ja": ["ほかにもお調べできることがあれば、遠慮なくお知らせくださいね。", "何か他に確認したいことがあれば、いつでもどうぞ。"],
}
_PRICE_RE = re.compile(r"¥(\d[\d,]*)")


def _price_style(text: str, language: str, form: int) -> str:
    def render(m: re.Match[str]) -> str:
        digits = m.group(1)
        if language == "ja":
            return f"{digits}円" if form == 0 else f"{digits.replace(',', '')}円"
        return f"{digits} yen"
    return _PRICE_RE.sub(render, text)


def _keigo(text: str) -> str:
    text = re.sub(r"(?<!でござ)(?<!ござい)です。", "でございます。", text)
    text = re.sub(r"(?<!いた)します。", "いたします。", text)
    text = re.sub(r"あります。", "ございます。", text)
    return re.sub(r"ください(?!ませ|ね)", "くださいませ", text)


def _casual(text: str) -> str:
    text = text.replace("でございます。", "です。").replace("いたします。", "します。").replace("くださいませ", "ください")
    text = re.sub(r"です。", "だよ。", text)
    return re.sub(r"ます。", "ますね。", text)


def restyle(answer: Answer, rng: random.Random, intent: str) -> str:
    """The answer's text in a style drawn from `rng` (a stream of its own, see the module docstring)."""
    language = answer.language
    if not answer.text.strip():
        return answer.text  # nothing said stays nothing said
    parts = [Part(p.text, p.kind, list(p.values)) for p in answer.parts]
    layout = pick_weighted(rng, LAYOUTS)
    reorder = rng.random() < REORDER_RATE
    price = rng.random() < PRICE_RESTYLE_RATE
    price_form = rng.randrange(2)
    register = pick_weighted(rng, REGISTERS)
    extra = rng.random() < EXTRA_RATE
    extra_text = rng.choice(EXTRA[language])
    bullet = rng.choice(BULLETS)
    if intent == "chitchat":  # small talk stays a short reply: only its register varies
        layout, reorder, extra = "plain", False, False
    facts = [i for i, p in enumerate(parts) if p.kind == "fact"]
    if reorder and len(facts) >= 2:  # the last two facts trade places, each with the sentences that explain it
        i, j = facts[-2], facts[-1]
        end = j + 1
        while end < len(parts) and parts[end].kind == "detail":
            end += 1
        parts[i:end] = parts[j:end] + parts[i:j]
    if extra:  # said last, with the closing
        parts.append(Part(extra_text, "closing"))
    texts = []
    for p in parts:
        text = p.text
        if price:
            text = _price_style(text, language, price_form)
        if language == "ja" and register == "keigo":
            text = _keigo(text)
        elif language == "ja" and register == "casual":
            text = _casual(text)
        texts.append((p.kind, text))
    joiner = "" if language == "ja" else " "
    if layout == "plain" or len(texts) < 2:
        return joiner.join(t for _, t in texts).strip()
    lead = [t for k, t in texts if k == "opening"]
    tail = [t for k, t in texts if k == "closing"]
    body = [t for k, t in texts if k not in ("opening", "closing")]
    if not body:
        return joiner.join(t for _, t in texts).strip()
    lines: list[str] = []
    if lead:
        head = joiner.join(lead)
        lines.append(f"**{head}**" if layout == "bold_lead" else head)
    if layout == "bullets":
        lines += [bullet + t for t in body]
    elif layout == "numbered":
        lines += [f"{n}. {t}" for n, t in enumerate(body, 1)]
    else:
        lines += body
    if tail:
        lines.append(joiner.join(tail))
    sep = "\n\n" if layout == "paragraphs" else "\n"
    return sep.join(lines).strip()

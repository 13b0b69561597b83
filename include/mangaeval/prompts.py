"""Versioned prompt templates (include/prompts/<version>/system.txt and user.txt) and request building."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

from mangaeval.errors import ConfigError
from mangaeval.golden import GoldenCase
from mangaeval.intents import load_intents
from mangaeval.models import ModelConfig
from mangaeval.paths import PROMPTS_DIR

LANGUAGE_NAMES = {"en": "English", "ja": "Japanese"}
_BLOCK_RE = {name: re.compile(rf"<{name}>\n(.*?)\n</{name}>", re.S) for name in ("page_context", "grounding", "customer_message")}
_INTENT_RE = re.compile(r"^Intent: (\S+)", re.M)


@lru_cache(maxsize=16)
def load_templates(version: str, prompts_dir: Path | None = None) -> tuple[Template, Template]:
    folder = Path(prompts_dir or PROMPTS_DIR) / version
    try:
        return (Template((folder / "system.txt").read_text(encoding="utf-8")),
                Template((folder / "user.txt").read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise ConfigError([f"{folder}: prompt version '{version}' is missing {Path(exc.filename).name}"]) from None


def inference_config(config: ModelConfig) -> dict[str, Any]:
    """Converse `inferenceConfig`: maxTokens, and only the sampling parameters the configuration sets (validation
    against the model's `sampling` rule already refused a configuration that sets one the model refuses)."""
    params: dict[str, Any] = {"maxTokens": config.max_tokens}
    if config.temperature is not None:
        params["temperature"] = config.temperature
    if config.top_p is not None:
        params["topP"] = config.top_p
    return params


def build_request(config: ModelConfig, case: GoldenCase) -> dict[str, Any]:
    """The Converse request (minus modelId) the live bot would send for this case."""
    system_t, user_t = load_templates(config.system_prompt_version)
    intent = load_intents()[case.intent]
    system = system_t.substitute(intent=case.intent, language_name=LANGUAGE_NAMES[case.language], token_budget=intent.token_budget)
    user = user_t.substitute(
        page_context=json.dumps(case.page_context, ensure_ascii=False, sort_keys=True),
        grounding=json.dumps(case.grounding, ensure_ascii=False, sort_keys=True),
        query=case.query,
    )
    messages = [{"role": turn["role"], "content": [{"text": turn["content"]}]} for turn in case.history]
    messages.append({"role": "user", "content": [{"text": user}]})
    return {
        "system": [{"text": system}],
        "messages": messages,
        "inferenceConfig": inference_config(config),
    }


def parse_request(body: dict[str, Any]) -> dict[str, Any]:
    """What a model can read from a Converse request built by `build_request` (used by the double)."""
    system = "\n".join(block.get("text", "") for block in body.get("system") or [])
    messages = body.get("messages") or []
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    text = "\n".join(block.get("text", "") for block in last_user.get("content") or [])
    intent_match = _INTENT_RE.search(system)
    found = {name: (m.group(1) if (m := rx.search(text)) else None) for name, rx in _BLOCK_RE.items()}
    try:
        grounding = json.loads(found["grounding"]) if found["grounding"] else {}
    except json.JSONDecodeError:
        grounding = {}
    return {
        "intent": intent_match.group(1) if intent_match else "chitchat",
        "grounding": grounding if isinstance(grounding, dict) else {},
        "query": found["customer_message"] if found["customer_message"] is not None else text,
        "system": system,
        "text": system + "\n" + "\n".join(b.get("text", "") for m in messages for b in m.get("content") or []),
    }

"""The hashes of a Converse request the project keys things by, from one canonical JSON.

`canonical_json` is what the response cache's key (engine/cache.py `cache_key`: model id + the whole request) and
the fixtures' `prompt_hash` are computed over. A light module of its own, so the model double can hash prompts
without importing the engine.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Keys sorted, non-ASCII kept as written (UTF-8 when hashed), json's default separators."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def prompt_hash(request: dict[str, Any]) -> str:
    """What a model is asked, whoever is asked: SHA-256 of the canonical JSON of the Converse request's `messages`,
    `system` (absent: []) and `inferenceConfig` (absent: {}). Fixtures are keyed by it with the model id; other request
    fields (toolConfig, guardrailConfig) are not part of it, as the project sends none."""
    prompt = {"messages": request.get("messages"), "system": request.get("system") or [],
              "inferenceConfig": request.get("inferenceConfig") or {}}
    return hashlib.sha256(canonical_json(prompt).encode()).hexdigest()

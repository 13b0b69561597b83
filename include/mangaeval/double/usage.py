"""The double's usage report: tokens it answered with per model, and what they would cost at the price catalog's
on-demand prices (include/config/models.yaml via `ModelSpec.cost_usd`), as a bill would show them."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from mangaeval.models import ModelSpec


class UsageMeter:
    """Counts every answer the double returned (generated, overridden or from a fixture; guardrail and content-filter
    endings are billed too, as the service bills them). Errors carry no usage and cost nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # model id -> [answers, input, output]

    def record(self, model_id: str, input_tokens: int, output_tokens: int) -> None:
        with self._lock:
            counts = self._models[model_id]
            counts[0] += 1
            counts[1] += int(input_tokens)
            counts[2] += int(output_tokens)

    def reset(self) -> None:
        with self._lock:
            self._models.clear()

    def report(self, catalog: dict[str, ModelSpec]) -> dict[str, Any]:
        with self._lock:
            snapshot = {m: list(c) for m, c in self._models.items()}
        models = {}
        for model_id, (answers, input_tokens, output_tokens) in sorted(snapshot.items()):
            spec = catalog[model_id]
            models[model_id] = {"answers": answers, "input_tokens": input_tokens, "output_tokens": output_tokens,
                                "input_usd_per_mtok": spec.input_usd_per_mtok, "output_usd_per_mtok": spec.output_usd_per_mtok,
                                "cost_usd": spec.cost_usd(input_tokens, output_tokens)}
        return {"models": models, "answers": sum(m["answers"] for m in models.values()),
                "input_tokens": sum(m["input_tokens"] for m in models.values()),
                "output_tokens": sum(m["output_tokens"] for m in models.values()),
                "cost_usd": sum(m["cost_usd"] for m in models.values()),
                "prices": "on-demand USD per 1M tokens from the model catalog (include/config/models.yaml)"}

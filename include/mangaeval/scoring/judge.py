"""Optional LLM-as-judge dimension, through the same Bedrock client as the evaluation.

The rubric fences the candidate answer as data (its closing tag escaped, so an answer cannot break out of
the fence), asks for a strict JSON verdict, and records anything else as a judge error, never as a score.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from string import Template
from typing import Any, Callable, Iterable

import pandas as pd

from mangaeval.bedrock import BedrockClient
from mangaeval.engine.cache import ResponseCache, cache_key
from mangaeval.golden import GoldenCase
from mangaeval.models import ModelConfig, ModelSpec
from mangaeval.paths import PROMPTS_DIR
from mangaeval.prompts import LANGUAGE_NAMES, inference_config
from mangaeval.scoring.agreement import cohen_kappa, pass_fail_agreement

JUDGE_PROMPTS_DIR = PROMPTS_DIR / "judge" / "v2"  # the rubric is versioned like the bot's prompts (v2: unchecked claims)
VERDICTS = ("pass", "fail")


class JudgeParseError(ValueError):
    """The judge's reply is not the strict JSON verdict the rubric asks for."""


def fence(text: str) -> str:
    """Neutralise the fences' closing tags inside the candidate, so the data cannot end a data block."""
    return text.replace("</candidate_answer>", "<\\/candidate_answer>").replace("</unchecked_claims>", "<\\/unchecked_claims>")


def judge_settings(config: ModelConfig, spec: ModelSpec) -> ModelConfig:
    """Grading as deterministic as the judge model allows: temperature 0 where it accepts one, a short verdict."""
    return replace(config, max_tokens=min(300, spec.max_output_tokens), top_p=None,
                   temperature=None if spec.sampling == "none" else 0.0)


def build_judge_request(config: ModelConfig, case: GoldenCase, answer: str, unchecked: Iterable[str] = ()) -> dict[str, Any]:
    """The judge's request. `unchecked`: the answer's statements the rules could not check, for the judge to check."""
    folder = JUDGE_PROMPTS_DIR
    system = Template((folder / "system.txt").read_text(encoding="utf-8")).substitute(language_name=LANGUAGE_NAMES[case.language])
    user = Template((folder / "user.txt").read_text(encoding="utf-8")).substitute(
        grounding=json.dumps(case.grounding, ensure_ascii=False, sort_keys=True),
        query=case.query,
        required_facts=json.dumps(case.must_contain, ensure_ascii=False),
        candidate=fence(answer),
        unchecked_claims=fence(json.dumps(list(unchecked), ensure_ascii=False)),
    )
    return {
        "system": [{"text": system}],
        "messages": [{"role": "user", "content": [{"text": user}]}],
        "inferenceConfig": inference_config(config),
    }


def parse_verdict(text: str | None) -> float:
    """The score of a strict verdict: one JSON object with a numeric score in [0, 1] and a known verdict."""
    if not text or not text.strip():
        raise JudgeParseError("empty reply")
    try:
        doc = json.loads(text.strip())
    except json.JSONDecodeError as exc:
        raise JudgeParseError(f"not JSON ({exc.msg} at column {exc.colno}): {text.strip()[:60]!r}") from None
    if not isinstance(doc, dict):
        raise JudgeParseError(f"expected a JSON object, got {type(doc).__name__}")
    score = doc.get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) or not 0 <= score <= 1:
        raise JudgeParseError(f"'score' must be a number in [0, 1], got {score!r}")
    if doc.get("verdict") not in VERDICTS:
        raise JudgeParseError(f"'verdict' must be one of {VERDICTS}, got {doc.get('verdict')!r}")
    return float(score)


@dataclass
class Judge:
    client: BedrockClient
    config: ModelConfig
    cache: ResponseCache | None = None
    concurrency: int = 8
    scorer: Any = None  # mangaeval.scoring.Scorer: finds the claims the rules could not check (one is made if not given)

    def __post_init__(self) -> None:
        from mangaeval.invoker import ModelInvoker
        from mangaeval.models import load_model_catalog

        self.invoker = ModelInvoker(self.client, load_model_catalog())
        self.config = judge_settings(self.config, self.invoker.spec(self.config))
        if self.scorer is None:
            from mangaeval.scoring.scorer import Scorer

            self.scorer = Scorer()

    def judge(self, case: GoldenCase, answer: str) -> tuple[float | None, str | None]:
        """(score, None) for a valid verdict, (None, what went wrong) otherwise."""
        request = build_judge_request(self.config, case, answer, self.scorer.unchecked_claims(case, answer))
        key = cache_key(self.config.model_id, request) if self.cache else None
        text = (self.cache.get(key) or {}).get("text") if key else None
        if text is None:
            result = self.invoker.call(self.config, request)
            if result.status != "ok":
                return None, f"judge call failed: {result.error_code}: {result.error_message}"
            text = result.text
            if key:
                self.cache.put(key, {"text": text, "input_tokens": result.input_tokens, "output_tokens": result.output_tokens,
                                     "latency_ms": result.latency_ms, "stop_reason": result.stop_reason})
        try:
            return parse_verdict(text), None
        except JudgeParseError as exc:
            return None, f"judge reply unusable: {exc}"

    def judge_frame(self, frame: pd.DataFrame, cases: Iterable[GoldenCase],
                    progress: Callable[[int], Any] | None = None) -> pd.DataFrame:
        by_id = {c.test_id: c for c in cases}
        ok_rows = [i for i, status in enumerate(frame["status"]) if status == "ok"]
        scores: list[float | None] = [None] * len(frame)
        errors: list[str | None] = [None] * len(frame)

        def work(i: int) -> None:
            row = frame.iloc[i]
            scores[i], errors[i] = self.judge(by_id[row["test_id"]], str(row["response_text"] or ""))
            if progress:
                progress(1)

        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            list(pool.map(work, ok_rows))
        frame = frame.copy()
        frame["score_judge"] = pd.array(scores, dtype="float64[pyarrow]")
        frame["judge_error"] = pd.array(errors, dtype="string[pyarrow]")
        return frame


_kappa = cohen_kappa  # the name this module's callers and tests know


def rules_passed(row: Any, weights: dict[str, float], gate: float, cap: float) -> bool:
    """The gate verdict of the rules alone (the composite without the judge's dimension)."""
    from mangaeval.scoring.config import DIMENSIONS

    composite = sum(weights[d] * float(row[f"score_{d}"]) for d in DIMENSIONS) / sum(weights.values())
    if isinstance(row.get("critical_failure"), str) and row["critical_failure"]:
        composite = min(composite, cap)
    return round(composite, 6) >= gate


def agreement(frame: pd.DataFrame, config: Any) -> dict[str, Any]:
    """How often the judge's verdict (its score against the gate) agrees with the rules' verdict, over the
    rows both scored: overall and per configuration, with Cohen's kappa and the 2x2 counts."""
    rows = frame[(frame["status"] == "ok") & frame["score_judge"].notna() & frame["score_factual_accuracy"].notna()]
    pairs: dict[str, list[tuple[bool, bool]]] = {}
    for _, row in rows.iterrows():
        rule = rules_passed(row, config.weights_for(row["intent"]), config.gate, config.critical_cap)
        judged = float(row["score_judge"]) >= config.gate
        pairs.setdefault(str(row["config_id"]), []).append((rule, judged))

    def block(items: list[tuple[bool, bool]]) -> dict[str, Any]:
        return pass_fail_agreement([r for r, _ in items], [j for _, j in items], "rules", "judge")

    everything = [p for items in pairs.values() for p in items]
    return {"overall": block(everything), "per_config": {k: block(v) for k, v in sorted(pairs.items())},
            "judge_errors": int(frame["judge_error"].notna().sum()) if "judge_error" in frame else 0}


def format_agreement(report: dict[str, Any]) -> str:
    def line(name: str, b: dict[str, Any]) -> str:
        if not b["n"]:
            return f"  {name:<16} no rows judged"
        kappa = "-" if b["kappa"] is None else f"{b['kappa']:.2f}" + (
            "" if b["kappa_low"] is None else f" [{b['kappa_low']:.2f}, {b['kappa_high']:.2f}]")
        return (f"  {name:<16} n={b['n']:<5} agree {b['agreement']:.1%}  kappa {kappa}  "
                f"(both pass {b['both_pass']}, both fail {b['both_fail']}, rules pass/judge fail {b['rules_pass_judge_fail']}, "
                f"rules fail/judge pass {b['rules_fail_judge_pass']})")
    lines = ["judge vs rules (pass/fail at the gate):", line("OVERALL", report["overall"])]
    lines += [line(k, b) for k, b in report["per_config"].items()]
    if report.get("judge_errors"):
        lines.append(f"  judge errors (no verdict, not counted): {report['judge_errors']}")
    return "\n".join(lines)

"""Score answers against golden cases: six dimensions, a weighted composite, critical caps, the gate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa

from mangaeval.golden import GoldenCase
from mangaeval.intents import load_intents
from mangaeval.results import RESULT_SCHEMA, with_answer_hash
from mangaeval.scoring import dimensions as dim
from mangaeval.scoring.config import DIMENSIONS, ScoringConfig, load_scoring_config
from mangaeval.scoring.facts import grounding_facts
from mangaeval.text import normalize

def clear_text_caches() -> None:
    """Forget memoised text forms (canonical text, grounding-string figures, grounding subjects); for timing a
    true first pass."""
    from mangaeval.scoring import claims, facts, normalise

    normalise.canonical.cache_clear()
    facts._grounding_string_figures.cache_clear()
    from mangaeval.scoring import dimensions

    for cached in (claims._passage_subject, claims._promo_subject, claims._title_subject, claims.negated, claims._polarities,
                   claims.policy_values, dimensions._as_claim):
        cached.cache_clear()


SCORE_COLUMNS = ["quality_score", "passed", *(f"score_{d}" for d in DIMENSIONS), "score_judge", "judge_error", "critical_failure"]


@dataclass(frozen=True)
class CaseScore:
    dimensions: dict[str, float]
    quality_score: float
    passed: bool
    critical: tuple[str, ...] = ()
    judge_score: float | None = None
    judge_error: str | None = None

    def to_row(self) -> dict[str, Any]:
        return {
            "quality_score": self.quality_score,
            "passed": self.passed,
            **{f"score_{name}": value for name, value in self.dimensions.items()},
            "score_judge": self.judge_score,
            "judge_error": self.judge_error,
            "critical_failure": ",".join(self.critical) or None,
        }


@dataclass
class Scorer:
    """Scores answers for golden cases; per-case preparation is cached, so scoring a case again is cheap."""

    config: ScoringConfig = field(default_factory=load_scoring_config)
    _contexts: dict[str, dim.CaseContext] = field(default_factory=dict, init=False, repr=False)
    _budgets: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._budgets = {name: intent.token_budget for name, intent in load_intents().items()}

    def context(self, case: GoldenCase) -> dim.CaseContext:
        ctx = self._contexts.get(case.test_id)
        if ctx is None or ctx.case is not case:
            ctx = dim.build_context(case, grounding_facts(case.grounding, case.query, case.history))
            self._contexts[case.test_id] = ctx
        return ctx

    def score(self, case: GoldenCase, answer: str, judge_score: float | None = None, judge_error: str | None = None) -> CaseScore:
        if not answer or not answer.strip():
            return CaseScore({d: 0.0 for d in DIMENSIONS}, 0.0, False, ("empty_answer",), judge_score, judge_error)
        ctx = self.context(case)
        answer_norm = normalize(answer)
        results = {
            "relevance": dim.relevance(ctx, answer_norm),
            "factual_accuracy": dim.factual_accuracy(ctx, answer),
            "completeness": dim.completeness(ctx, answer),
            "language_match": dim.language_match(ctx, answer),
            "format_length": dim.format_length(ctx, answer, self._budgets[case.intent], self.config.verbosity_tolerance),
            "safety_policy": dim.safety_policy(ctx, answer),
        }
        scores = {name: round(float(value), 6) for name, (value, _) in results.items()}
        critical = tuple(sorted({c for _, found in results.values() for c in found}))
        weights = dict(self.config.weights_for(case.intent))
        weighted = sum(weights[d] * scores[d] for d in DIMENSIONS)
        total = sum(weights.values())
        if judge_score is not None and self.config.judge_weight > 0:
            weighted += self.config.judge_weight * judge_score
            total += self.config.judge_weight
        composite = weighted / total
        if critical:
            composite = min(composite, self.config.critical_cap)
        composite = round(composite, 6)
        return CaseScore(scores, composite, composite >= self.config.gate, critical, judge_score, judge_error)

    def unchecked_claims(self, case: GoldenCase, answer: str) -> list[str]:
        """The answer's statements the rules found nothing to check in (for the LLM judge to check)."""
        if not answer or not answer.strip():
            return []
        return dim.unchecked_claims(self.context(case), answer)

    def score_frame(self, frame: pd.DataFrame, cases: Iterable[GoldenCase]) -> pd.DataFrame:
        """Result rows with the score columns added; error rows get empty scores (they are counted, not scored)."""
        by_id = {c.test_id: c for c in cases}
        missing = sorted(set(frame.loc[frame["status"] == "ok", "test_id"]) - set(by_id))
        if missing:
            from mangaeval.errors import DatasetError

            raise DatasetError([f"result rows refer to test ids not in the dataset: {missing[:5]}{' ...' if len(missing) > 5 else ''}"])
        judge_scores = frame["score_judge"] if "score_judge" in frame else None
        judge_errors = frame["judge_error"] if "judge_error" in frame else None
        rows = []
        for i, (status, test_id, text) in enumerate(zip(frame["status"], frame["test_id"], frame["response_text"])):
            if status != "ok":
                rows.append({c: None for c in SCORE_COLUMNS})
                continue
            j_score = None if judge_scores is None or pd.isna(judge_scores.iloc[i]) else float(judge_scores.iloc[i])
            j_error = None if judge_errors is None or pd.isna(judge_errors.iloc[i]) else str(judge_errors.iloc[i])
            rows.append(self.score(by_id[test_id], "" if text is None or pd.isna(text) else str(text), j_score, j_error).to_row())
        schema = pa.schema([RESULT_SCHEMA.field(c) for c in SCORE_COLUMNS])
        scored = pa.Table.from_pylist(rows, schema=schema).to_pandas(types_mapper=pd.ArrowDtype)
        scored.index = frame.index
        # The hash of the very text scored, so a person's label of it can be matched (scoring.calibration).
        return with_answer_hash(pd.concat([frame.drop(columns=[c for c in SCORE_COLUMNS if c in frame]), scored], axis=1))

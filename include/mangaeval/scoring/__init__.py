"""Quality scoring of answers against golden cases (dimensions, composite, gate), its self-check and the judge."""

from mangaeval.scoring.config import DIMENSIONS, ScoringConfig, load_scoring_config
from mangaeval.scoring.scorer import SCORE_COLUMNS, CaseScore, Scorer

__all__ = ["DIMENSIONS", "SCORE_COLUMNS", "CaseScore", "Scorer", "ScoringConfig", "load_scoring_config"]

"""The evaluation engine: every configuration against every golden case, honestly recorded."""

from mangaeval.engine.runner import EngineSettings, EvaluationEngine, RunStats

__all__ = ["EngineSettings", "EvaluationEngine", "RunStats"]

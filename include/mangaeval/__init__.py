"""MangaAssist model evaluation: golden datasets, a Bedrock client and model double, the evaluation engine."""

__version__ = "0.1.0"

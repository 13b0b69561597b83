"""Errors that carry a location, so every message says what is wrong and where."""

from __future__ import annotations


class MangaEvalError(Exception):
    """Base class for errors a user can act on (bad files, bad parameters)."""


class ConfigError(MangaEvalError):
    """A configuration, price or profile file is invalid. Raised before any model is called."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class DatasetError(MangaEvalError):
    """A golden dataset is invalid; `problems` holds one `file:line: what` entry per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in golden dataset:\n" + "\n".join(self.problems))

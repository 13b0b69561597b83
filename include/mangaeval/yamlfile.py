"""Reading a YAML configuration file with the project's messages: a missing file or bad YAML is a ConfigError
naming the file, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mangaeval.errors import ConfigError


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML ({exc})"]) from None


def read_yaml_mapping(path: Path, expected: str) -> dict[str, Any]:
    """The file's top-level mapping; ConfigError "`path`: expected `expected`" when it is something else."""
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError([f"{path}: expected {expected}"])
    return doc

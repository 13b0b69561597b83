"""Where the project's data files live. Overridable by environment for deployments."""

from __future__ import annotations

import os
from pathlib import Path

INCLUDE_DIR = Path(__file__).resolve().parent.parent
PROJECT_ROOT = INCLUDE_DIR.parent
CONFIG_DIR = Path(os.environ.get("MANGAEVAL_CONFIG_DIR", INCLUDE_DIR / "config"))
PROMPTS_DIR = Path(os.environ.get("MANGAEVAL_PROMPTS_DIR", INCLUDE_DIR / "prompts"))
GOLDEN_DIR = Path(os.environ.get("MANGAEVAL_GOLDEN_DIR", INCLUDE_DIR / "golden_datasets"))
STORE_DATA_DIR = INCLUDE_DIR / "store_data"
DATA_DIR = Path(os.environ.get("MANGAEVAL_DATA_DIR", PROJECT_ROOT / "data"))


def safe_name(text: str) -> str:
    """`text` as one file or object name: a run id such as `manual__2026-11-22T02:00:00+00:00` keeps its letters,
    digits, '-', '_' and '.'; anything else (':', '+', '/') becomes '_'."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)

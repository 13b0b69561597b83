"""Arm assignment for the chatbot: a stable hash, never Python's per-process randomised `hash()`.

bucket = SHA-256(salt:experiment_id:session_id) mod 10,000; buckets below share x 10,000 are treatment. The
same session lands in the same arm in every process and on every machine, and raising the share only moves
sessions from control into treatment (their buckets were already above the old threshold), never back.
Import this module alone in the bot: it needs nothing but the standard library.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

BUCKETS = 10_000


def bucket(salt: str, experiment_id: str, session_id: str) -> int:
    digest = hashlib.sha256(f"{salt}:{experiment_id}:{session_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign_arm(session_id: str, experiment: Mapping[str, Any]) -> str:
    """`control` or `treatment` for a session, from an experiment of the published config (or a definition)."""
    share = float(experiment["treatment_share"])
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"experiment {experiment['id']!r}: treatment_share {share} is not in [0, 1]")
    threshold = round(share * BUCKETS)
    return "treatment" if bucket(str(experiment["salt"]), str(experiment["id"]), str(session_id)) < threshold else "control"


def config_for(session_id: str, experiment: Mapping[str, Any]) -> str:
    """The configuration id that serves this session."""
    arm = assign_arm(session_id, experiment)
    return str(experiment["treatment_config_id" if arm == "treatment" else "control_config_id"])

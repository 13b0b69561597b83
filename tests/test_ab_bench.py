"""The A/B benchmark at a tiny scale: it runs end to end, and its pandas baseline computes the same statistics
and decision as the SQL (the script exits non-zero when they differ), including the sessions in both arms."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ab_benchmark_baseline_is_like_for_like(tmp_path):
    out = tmp_path / "ab_bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ab_bench.py"), "--aa", "2", "--looks", "5", "--power", "1",
                           "--events", "30000", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("same results: yes") == 2, done.stdout
    speed = json.loads(out.read_text())["speed"]
    assert speed["events"] == 30000 and speed["sessions_in_both_arms"] == 1
    assert speed["sql_s"] > 0 and speed["pandas_arrow_s"] > 0 and speed["pandas_read_sql_s"] > 0

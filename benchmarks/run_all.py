"""Run every benchmark and print its figures (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["engine_bench.py", "scoring_bench.py", "sql_bench.py", "dag_parse_bench.py", "ab_bench.py", "canary_field_volume.py", "routing_race_bench.py",
              "dashboard_bench.py", "live_projection_bench.py"]

if __name__ == "__main__":
    status = 0
    for script in BENCHMARKS:
        print(f"== {script}", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / script), *sys.argv[1:]])
    sys.exit(status)

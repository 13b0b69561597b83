"""Import time of each DAG file, with Airflow already imported (as the DAG processor has it). Target < 0.5 s.

Usage: python benchmarks/dag_parse_bench.py
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path

import airflow.sdk  # noqa: F401  (the processor has it loaded before parsing any file)
from airflow.sdk import Param, dag, task  # noqa: F401

DAGS = Path(__file__).resolve().parent.parent / "dags"

for path in sorted(DAGS.glob("*.py")):
    times = []
    for i in range(5):
        spec = importlib.util.spec_from_file_location(f"dag_{path.stem}_{i}", path)
        module = importlib.util.module_from_spec(spec)
        start = time.perf_counter()
        spec.loader.exec_module(module)
        times.append(time.perf_counter() - start)
    print(f"{path.name}: first import {times[0]:.3f}s, median of 5 {statistics.median(times):.3f}s (target < 0.5 s)")

"""The run's time and data window, read from an Airflow task context, for every kind of run.

Airflow 3 creates a manual run (the UI's trigger button, the REST API, `airflow dags trigger`) without a logical
date unless the person gives one. Such a run has no data interval either, and its task context has no
`logical_date`, `ds`, `ts`, `data_interval_start` or `data_interval_end` key at all: only the DagRun's
`run_after` (when the run was asked for) is always there (`context["dag_run"].run_after`; the context has no
top-level `run_after` key). A scheduled run has all of them. A cron schedule (CronTriggerTimetable, Airflow 3's
default for a cron string) gives a zero-length data interval: start = end = logical date = the tick.

So the DAGs never index the context for these keys; they ask here. The context is any mapping (a plain dict in
the unit tests); `dag_run` may be an object or a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

DEFAULT_WINDOW = timedelta(hours=1)


def _from_dag_run(context: Mapping[str, Any], key: str) -> Any:
    dag_run = context.get("dag_run")
    if dag_run is None:
        return None
    return dag_run.get(key) if isinstance(dag_run, Mapping) else getattr(dag_run, key, None)


def _value(context: Mapping[str, Any], key: str) -> Any:
    """The context's key when present and not None, else the DagRun's attribute of that name (or None)."""
    value = context.get(key)
    return value if value is not None else _from_dag_run(context, key)


def run_time(context: Mapping[str, Any]) -> datetime:
    """The run's time: its logical date when it has one, else the end of its data interval, else its run_after
    (a manual or API run without a logical date: when it was triggered). Stable across retries and clears of
    the same run, so a rerun publishes the same documents."""
    for key in ("logical_date", "data_interval_end", "run_after"):
        value = _value(context, key)
        if value is not None:
            return value
    raise ValueError("the task context has no logical_date, data_interval_end or run_after (nor dag_run.run_after): "
                     "not the context of an Airflow task run")


def data_window(context: Mapping[str, Any], length: timedelta = DEFAULT_WINDOW) -> tuple[datetime, datetime]:
    """[start, end) of the data a run covers: its data interval when it has a non-empty one; otherwise (a manual
    run without a logical date, or a cron tick's zero-length interval) the `length` (default one hour) ending at
    the interval's end or, without one, at the run's time (`run_time`)."""
    start, end = _value(context, "data_interval_start"), _value(context, "data_interval_end")
    if start is not None and end is not None and start < end:
        return start, end
    end = end if end is not None else run_time(context)
    return end - length, end

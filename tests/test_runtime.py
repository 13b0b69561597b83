"""mangaeval.runtime: the run's time and data window from task contexts of every kind of run (plain dicts shaped
as Airflow 3 builds them: a manual run without a logical date has no logical_date / data_interval_* key at all)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from mangaeval.runtime import data_window, run_time

T = datetime(2026, 11, 24, 10, 5, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def dag_run(logical_date=None, run_after=T, start=None, end=None):
    return SimpleNamespace(logical_date=logical_date, run_after=run_after, data_interval_start=start, data_interval_end=end)


def scheduled(start, end, logical_date):
    return {"logical_date": logical_date, "data_interval_start": start, "data_interval_end": end, "ds": f"{logical_date:%Y-%m-%d}",
            "dag_run": dag_run(logical_date, end, start, end)}


MANUAL = {"run_id": "manual__x", "params": {}, "dag_run": dag_run()}  # the UI / REST API / `airflow dags trigger`


def test_a_manual_run_without_a_logical_date_takes_its_run_after():
    assert "logical_date" not in MANUAL and run_time(MANUAL) == T
    with pytest.raises(KeyError):  # what the DAGs did before: the failure seen under a real scheduler
        MANUAL["logical_date"]


def test_the_logical_date_comes_first_then_the_interval_end_then_run_after():
    cron_data_interval = scheduled(T - timedelta(days=1), T, logical_date=T - timedelta(days=1))
    assert run_time(cron_data_interval) == T - timedelta(days=1)
    assert run_time({"data_interval_end": T, "dag_run": dag_run(run_after=T + HOUR)}) == T
    assert run_time({"logical_date": None, "data_interval_end": None, "dag_run": dag_run(run_after=T + HOUR)}) == T + HOUR
    assert run_time({"logical_date": None, "run_after": T}) == T  # a top-level run_after (plain dicts) counts too
    assert run_time({"dag_run": {"logical_date": None, "run_after": T}}) == T  # dag_run as a mapping


def test_none_values_fall_through_to_the_dag_run():
    assert run_time({"logical_date": None, "dag_run": dag_run(logical_date=T - HOUR)}) == T - HOUR


def test_no_time_at_all_is_a_clear_error():
    for context in ({}, {"logical_date": None}, {"dag_run": None}, {"dag_run": dag_run(run_after=None)}):
        with pytest.raises(ValueError, match="no logical_date, data_interval_end or run_after"):
            run_time(context)


def test_a_non_empty_data_interval_is_the_window():
    assert data_window(scheduled(T - HOUR, T, logical_date=T - HOUR)) == (T - HOUR, T)
    day = scheduled(T - timedelta(days=1), T, logical_date=T - timedelta(days=1))
    assert data_window(day, length=timedelta(minutes=5)) == (T - timedelta(days=1), T)  # the interval wins over the length


def test_a_cron_tick_zero_length_interval_is_the_hour_ending_at_it():
    tick = scheduled(T, T, logical_date=T)  # CronTriggerTimetable: start = end = logical date
    assert data_window(tick) == (T - HOUR, T)


def test_a_run_without_a_data_interval_is_the_hour_ending_at_its_run_after():
    assert data_window(MANUAL) == (T - HOUR, T)
    assert data_window({"data_interval_start": None, "data_interval_end": None, "dag_run": dag_run()}) == (T - HOUR, T)
    assert data_window(MANUAL, length=timedelta(hours=3)) == (T - 3 * HOUR, T)
    with pytest.raises(ValueError):
        data_window({})

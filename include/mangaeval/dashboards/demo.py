"""Live-traffic rows for the Experiments and Rollouts pages where no live traffic exists (make run, the browser tests):
an A/B experiment simulated, loaded and analysed look by look, and a canary rollout simulated stage by stage, each
through the same code the ab_analysis and canary_rollout DAGs run (the rows are real analyses of simulated events)."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

DEMO_START = datetime(2026, 11, 20)


def fill_experiment(warehouse: Any, experiment_id: str = "demo-sonnet-vs-haiku", looks: int = 6, sessions: int = 12000,
                    quality_effect: float = 0.03, seed: int = 3) -> list[datetime]:
    """Simulated sessions over 3 days, loaded as the hourly loader does, analysed at `looks` evenly spaced times."""
    from mangaeval.ab.experiments import experiment_for
    from mangaeval.ab.loading import load_event_file
    from mangaeval.ab.service import analyze_experiment
    from mangaeval.ab.simulator import ArmTruth, simulate

    duration = timedelta(days=3)
    sim = simulate(experiment_id, sessions, seed=seed, start=DEMO_START, duration_s=duration.total_seconds(),
                   treatment=ArmTruth().with_effects(quality=quality_effect))
    with tempfile.TemporaryDirectory(prefix="dashboard-demo-") as folder:
        requests, session_file = Path(folder) / "requests.jsonl", Path(folder) / "sessions.jsonl"
        sim.request_events().to_json(requests, orient="records", lines=True, double_precision=15)
        sim.session_events().to_json(session_file, orient="records", lines=True, double_precision=15)
        load_event_file(warehouse, requests, "requests", f"demo/{experiment_id}/requests")
        load_event_file(warehouse, session_file, "sessions", f"demo/{experiment_id}/sessions")
    experiment = experiment_for(experiment_id, treatment_share=0.5)
    times = [DEMO_START + duration * (i + 1) / looks for i in range(looks)]
    for as_of in times:
        analyze_experiment(warehouse, experiment, as_of)
    return times


def fill_rollout(warehouse: Any, scenario: str = "b", seed: int = 1) -> dict[str, Any]:
    """A canary rollout of a field scenario (default "b": quality 6% below baseline, rolled back), every stage's
    verdict and metrics written by the canary's warehouse sink."""
    from mangaeval.canary.demo import scenario_plan
    from mangaeval.canary.policy import load_policy
    from mangaeval.canary.records import warehouse_sink
    from mangaeval.canary.rollout import simulate_rollout
    from mangaeval.canary.simulator import SCENARIOS, SimulatedTraffic
    from mangaeval.objectstore import LocalStore

    chosen = SCENARIOS[scenario]
    plan = scenario_plan(chosen, load_policy(), seed, rollout_id=f"demo-canary-{scenario}")
    with tempfile.TemporaryDirectory(prefix="dashboard-demo-") as folder:
        return simulate_rollout(plan, SimulatedTraffic(chosen, seed), LocalStore(Path(folder)), [warehouse_sink(warehouse)])

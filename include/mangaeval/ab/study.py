"""Simulation studies of the A/B procedure: A/A validity under continuous monitoring, and power.

Each simulated experiment is analysed at successive looks exactly as the hourly DAG does (running sequential
p-values and confidence sequences carried from look to look), from the simulator's sufficient statistics.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from mangaeval.ab.analysis import analyze
from mangaeval.ab.decision import PROMOTE, ROLLBACK, decide
from mangaeval.ab.experiments import Experiment, experiment_for
from mangaeval.ab.simulator import ArmTruth, simulate

DAY_S = 86400.0


def _carry(analysis) -> dict:
    return {m: {"p_value_sequential": c.p_value_sequential, "cs_low": c.cs_low, "cs_high": c.cs_high}
            for m, c in analysis.comparisons.items()}


def _experiment(sim, duration_s: float) -> Experiment:  # the documented defaults, a 50/50 split
    return experiment_for("simulation-study", treatment_share=0.5, start_time=sim.start)


def run_looks(sim, experiment: Experiment, look_seconds: list[float]) -> list[str]:
    """The decision at each look (seconds after the start), stopping at the first PROMOTE or ROLLBACK."""
    decisions, previous = [], {}
    for seconds in look_seconds:
        analysis = analyze(sim.stats_at(seconds), experiment, sim.start + timedelta(seconds=seconds), previous)
        previous = _carry(analysis)
        decisions.append(decide(analysis)["decision"])
        if decisions[-1] in (PROMOTE, ROLLBACK):
            break
    return decisions


def aa_study(experiments: int = 500, looks: int = 30, sessions_per_arm: int = 10_000, seed: int = 0) -> dict:
    """Share of A/A experiments (no true difference) that ever reach PROMOTE or ROLLBACK over `looks` looks."""
    duration = 7 * DAY_S
    look_seconds = [duration * k / looks for k in range(1, looks + 1)]
    final, ever = Counter(), 0
    for i in range(experiments):
        sim = simulate("aa", 2 * sessions_per_arm, treatment_share=0.5, seed=seed + i, duration_s=duration)
        decisions = run_looks(sim, _experiment(sim, duration), look_seconds)
        ever += decisions[-1] in (PROMOTE, ROLLBACK)
        final[decisions[-1]] += 1
    share = ever / experiments
    return {"experiments": experiments, "looks": looks, "sessions_per_arm": sessions_per_arm, "ever_promote_or_rollback": share,
            "simulation_se": (share * (1 - share) / experiments) ** 0.5 if experiments else None, "final_decisions": dict(final)}


def power_study(effects=(0.02, 0.03, 0.05), sizes=(1_000, 5_000, 45_000), experiments: int = 200, seed: int = 10_000) -> dict:
    """Share of experiments promoted by the time each arm has N sessions, for true quality effects (looks when
    both arms reach N = 1,000, 2,000, 5,000, 10,000, 20,000 and 45,000 sessions, capped at the largest size)."""
    largest = max(sizes)
    checkpoints = sorted({n for n in (1_000, 2_000, 5_000, 10_000, 20_000, 45_000) if n <= largest} | set(sizes))
    duration = 7 * DAY_S
    table = {}
    for effect in effects:
        promoted_by = Counter()
        for i in range(experiments):
            sim = simulate("power", int(2.1 * largest), treatment_share=0.5, seed=seed + i, duration_s=duration,
                           treatment=ArmTruth().with_effects(quality=effect))
            look_seconds = [sim.seconds_when_each_arm_has(n) for n in checkpoints]
            decisions = run_looks(sim, _experiment(sim, duration), look_seconds)
            for n, decision in zip(checkpoints, decisions):
                if decision == PROMOTE:
                    for size in sizes:
                        if size >= n:
                            promoted_by[size] += 1
                    break
        table[f"{effect:+.2f}"] = {str(size): promoted_by[size] / experiments for size in sizes}
    return {"experiments_per_cell": experiments, "promoted_share": table}

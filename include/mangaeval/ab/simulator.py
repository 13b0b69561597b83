"""Traffic simulator for demos and tests, separate from the analysis: live-bot events for an experiment with
chosen true effects on every metric, a chosen split, and an optional imbalance (treatment sessions lost in
logging, which the sample-ratio check must catch).

The same draw gives either event rows (request and session events in the bot's schema, to load into the
warehouse and analyse through SQL) or per-session sums at successive looks (for the A/A and power
simulations, which need thousands of analyses and are checked against the SQL path in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Iterator

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mangaeval.ab.analysis import SufficientStats
from mangaeval.ab.stats import quantile_interval_fractions


@dataclass(frozen=True)
class ArmTruth:
    """True behaviour of one arm (defaults: a Sonnet-class configuration on MangaAssist traffic)."""

    config_id: str = "sonnet-3-5-v2"
    quality: float = 0.84
    quality_session_sd: float = 0.06
    quality_request_sd: float = 0.10
    latency_median_ms: float = 1100.0
    latency_sigma: float = 0.40          # lognormal spread: P95 ~ 2,100 ms at the defaults
    error_rate: float = 0.01
    input_tokens: float = 1800.0
    output_tokens: float = 250.0
    price_in_per_m: float = 3.00
    price_out_per_m: float = 15.00
    requests_per_session: float = 3.0
    cart_add: float = 0.12
    escalated: float = 0.05
    continued: float = 0.60
    duration_s: float = 180.0

    def with_effects(self, **effects: float) -> "ArmTruth":
        """Additive effects (quality=+0.03, escalated=-0.002, ...), or for latency_median_ms/tokens the new value."""
        return replace(self, **{k: getattr(self, k) + v for k, v in effects.items()})


@dataclass
class SimulatedTraffic:
    experiment_id: str
    start: datetime
    session_arm: np.ndarray        # 0 control, 1 treatment
    session_start_s: np.ndarray    # seconds after start
    session_outcomes: dict[str, np.ndarray]
    request_session: np.ndarray    # index of the session of each request
    request_offset_s: np.ndarray
    request: dict[str, np.ndarray]
    config_ids: tuple[str, str]
    per_session: dict[str, np.ndarray] = field(default_factory=dict)

    # Event rows, in the bot's schema
    def request_events(self, session_prefix: str = "s") -> pd.DataFrame:
        times = [self.start + timedelta(seconds=float(s)) for s in self.session_start_s[self.request_session] + self.request_offset_s]
        failed = self.request["failed"].astype(bool)
        arm = np.where(self.session_arm[self.request_session] == 1, "treatment", "control")
        return pd.DataFrame({
            "event_time": [t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for t in times],
            "experiment_id": self.experiment_id,
            "session_id": [f"{session_prefix}{i:07d}" for i in self.request_session],
            "arm": arm,
            "config_id": np.where(arm == "treatment", self.config_ids[1], self.config_ids[0]),
            "intent": "recommendation",
            "quality_score": np.where(failed, np.nan, self.request["quality"]),
            "latency_ms": np.round(self.request["latency_ms"], 1),
            "input_tokens": self.request["input_tokens"],
            "output_tokens": self.request["output_tokens"],
            "cost_usd": np.round(self.request["cost_usd"], 8),
            "error_code": np.where(failed, "ModelTimeoutException", None),
        })

    def session_events(self, session_prefix: str = "s") -> pd.DataFrame:
        return pd.DataFrame({
            "experiment_id": self.experiment_id,
            "session_id": [f"{session_prefix}{i:07d}" for i in range(len(self.session_arm))],
            "arm": np.where(self.session_arm == 1, "treatment", "control"),
            "started_at": [(self.start + timedelta(seconds=float(s))).strftime("%Y-%m-%dT%H:%M:%SZ") for s in self.session_start_s],
            **{k: self.session_outcomes[k] for k in ("cart_add", "escalated", "continued")},
            "duration_s": np.round(self.session_outcomes["duration_s"], 2),
        })

    def write_jsonl(self, requests_path, sessions_path) -> None:
        for frame, path in ((self.request_events(), requests_path), (self.session_events(), sessions_path)):
            frame.to_json(path, orient="records", lines=True, force_ascii=False)

    # Sufficient statistics at looks, without a warehouse (simulations)
    def _reduce(self) -> None:
        if self.per_session:
            return
        n = len(self.session_arm)
        failed = self.request["failed"]
        ok = 1.0 - failed

        def per_session(values: np.ndarray) -> np.ndarray:
            return np.bincount(self.request_session, weights=values, minlength=n)

        self.per_session = {
            "requests": per_session(np.ones_like(failed)), "scored": per_session(ok), "quality": per_session(self.request["quality"] * ok),
            "ok": per_session(ok), "latency_ms": per_session(self.request["latency_ms"] * ok), "failed": per_session(failed),
            "cost_usd": per_session(self.request["cost_usd"]),
        }

    def stats_at(self, seconds: float) -> SufficientStats:
        """The sufficient statistics the SQL would return with as_of = start + seconds (whole sessions)."""
        self._reduce()
        found = SufficientStats()
        included = self.session_start_s <= seconds
        request_included = included[self.request_session] & (self.request["failed"] == 0)
        for code, arm in ((0, "control"), (1, "treatment")):
            mask = included & (self.session_arm == code)
            if not mask.any():
                continue
            s = {k: v[mask] for k, v in self.per_session.items()}
            row = {"sessions": float(mask.sum())}
            for x, y in (("scored", "quality"), ("ok", "latency_ms"), ("requests", "cost_usd"), ("requests", "failed")):
                row[x], row[f"{x}_sq"] = s[x].sum(), (s[x] * s[x]).sum()
                row[y], row[f"{y}_sq"], row[f"{y}_x_{x}"] = s[y].sum(), (s[y] * s[y]).sum(), (s[y] * s[x]).sum()
            found.requests[arm] = row
            out = {k: v[mask] for k, v in self.session_outcomes.items()}
            found.sessions[arm] = {"sessions": float(mask.sum()), **{k: float(v.sum()) for k, v in out.items()},
                                   **{f"{k}_sq": float((v * v).sum()) for k, v in out.items()}}
        arm_latencies = [self.request["latency_ms"][request_included & (self.session_arm[self.request_session] == code)] for code in (0, 1)]
        if min(len(v) for v in arm_latencies) > 0:
            q_low, q_high = quantile_interval_fractions(min(len(v) for v in arm_latencies))  # as the SQL does
            for arm, latencies in zip(("control", "treatment"), arm_latencies):
                found.p95[arm] = {"requests": float(len(latencies)), "p95": float(np.quantile(latencies, 0.95, method="inverted_cdf")),
                                  "p95_low": float(np.quantile(latencies, q_low, method="inverted_cdf")),
                                  "p95_high": float(np.quantile(latencies, q_high, method="inverted_cdf"))}
        return found

    def seconds_when_each_arm_has(self, sessions: int) -> float:
        """The first time both arms have at least `sessions` sessions (inf if never)."""
        times = []
        for code in (0, 1):
            starts = self.session_start_s[self.session_arm == code]
            times.append(float(starts[sessions - 1]) if len(starts) >= sessions else float("inf"))
        return max(times)

    def looks(self, count: int, duration_s: float) -> Iterator[tuple[float, SufficientStats]]:
        for k in range(1, count + 1):
            seconds = duration_s * k / count
            yield seconds, self.stats_at(seconds)


def clipped_mean(mu: float, sd: float) -> float:
    """E[clip(X, 0, 1)] for X ~ Normal(mu, sd)."""
    a, b = -mu / sd, (1 - mu) / sd
    return float(stats.norm.sf(b) + mu * (stats.norm.cdf(b) - stats.norm.cdf(a)) + sd * (stats.norm.pdf(a) - stats.norm.pdf(b)))


def latent_quality_mean(truth: ArmTruth) -> float:
    """The mean before clipping to [0, 1] that makes the expected score exactly `truth.quality`, so a true
    effect of +0.02 is +0.02 in what the scorer reports."""
    sd = (truth.quality_session_sd ** 2 + truth.quality_request_sd ** 2) ** 0.5
    return float(optimize.brentq(lambda mu: clipped_mean(mu, sd) - truth.quality, -1.0, 2.0, xtol=1e-12))


def simulate(experiment_id: str, sessions: int, *, treatment_share: float = 0.5, control: ArmTruth | None = None,
             treatment: ArmTruth | None = None, imbalance: float = 0.0, duration_s: float = 7 * 86400.0,
             start: datetime = datetime(2026, 11, 20), seed: int = 0) -> SimulatedTraffic:
    """`sessions` sessions arriving uniformly over `duration_s`; `imbalance` = the share of treatment sessions
    whose events are lost (0 = none)."""
    rng = np.random.default_rng(seed)
    control = control or ArmTruth()
    treatment = treatment or control
    arm = (rng.random(sessions) < treatment_share).astype(np.int8)
    if imbalance > 0:
        keep = (arm == 0) | (rng.random(sessions) >= imbalance)
        arm = arm[keep]
    n = len(arm)
    start_s = np.sort(rng.random(n)) * duration_s

    def by_arm(name: str) -> np.ndarray:
        return np.where(arm == 1, getattr(treatment, name), getattr(control, name))

    per_session_requests = 1 + rng.poisson(by_arm("requests_per_session") - 1)
    request_session = np.repeat(np.arange(n), per_session_requests)
    total = len(request_session)
    offsets = (np.arange(total) - np.repeat(np.cumsum(per_session_requests) - per_session_requests, per_session_requests)) * 30.0
    latent = np.where(arm == 1, latent_quality_mean(treatment), latent_quality_mean(control))
    session_quality = latent + rng.normal(0, 1, n) * by_arm("quality_session_sd")
    r_arm = arm[request_session]

    def r_by_arm(name: str) -> np.ndarray:
        return np.where(r_arm == 1, getattr(treatment, name), getattr(control, name))

    quality = np.clip(session_quality[request_session] + rng.normal(0, 1, total) * r_by_arm("quality_request_sd"), 0.0, 1.0)
    failed = (rng.random(total) < r_by_arm("error_rate")).astype(np.float64)
    latency = r_by_arm("latency_median_ms") * np.exp(rng.normal(0, 1, total) * r_by_arm("latency_sigma"))
    input_tokens = np.maximum(1, rng.poisson(r_by_arm("input_tokens"))).astype(np.int64)
    output_tokens = np.where(failed == 1, 0, np.maximum(1, rng.poisson(r_by_arm("output_tokens")))).astype(np.int64)
    cost = np.where(failed == 1, 0.0, (input_tokens * r_by_arm("price_in_per_m") + output_tokens * r_by_arm("price_out_per_m")) / 1e6)
    outcomes = {
        "cart_add": (rng.random(n) < by_arm("cart_add")).astype(np.int64),
        "escalated": (rng.random(n) < by_arm("escalated")).astype(np.int64),
        "continued": (rng.random(n) < by_arm("continued")).astype(np.int64),
        "duration_s": rng.exponential(1.0, n) * by_arm("duration_s"),
    }
    return SimulatedTraffic(experiment_id, start, arm, start_s, outcomes, request_session, offsets,
                            {"quality": quality, "failed": failed, "latency_ms": latency, "input_tokens": input_tokens,
                             "output_tokens": output_tokens, "cost_usd": cost}, (control.config_id, treatment.config_id))

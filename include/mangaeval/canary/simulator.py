"""A traffic simulator for canary rollouts (demos and tests): baseline and candidate as distributions of
quality, latency, errors and tokens, live traffic split by the stage's share, and the candidate's cold
start as a property of the candidate (its first N requests are slow, whoever sends them: the warm-up
or live users). Deterministic for a seed, window by window.

Volume is what the covered intents really receive (mangaeval.traffic): messages a day x their shares in
intents.yaml, drawn with that mix among them. The field's scenarios run on `recommendation` (25% of ~1M a day:
~174 requests a minute, ~260 canary requests in a 30-minute 5% window)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from mangaeval.events.schema import REQUEST_COLUMNS
from mangaeval.traffic import intent_shares, requests_per_minute

Z95 = 1.6448536269514722


@dataclass(frozen=True)
class ArmProfile:
    """How one configuration behaves on live traffic."""

    config_id: str
    quality_mean: float = 0.84
    quality_concentration: float = 15.0  # Beta(m k, (1 - m) k): sd ~ sqrt(m (1 - m) / (k + 1)), ~0.09 at 0.84
    latency_p50_ms: float = 1200.0
    latency_p95_ms: float = 2100.0  # lognormal through P50 and P95
    error_rate: float = 0.005
    input_tokens: float = 1400.0
    output_tokens: float = 260.0
    usd_per_mtok_in: float = 3.0
    usd_per_mtok_out: float = 15.0
    cold_start_requests: int = 0  # the first N requests this configuration serves pay the penalty below
    cold_start_penalty_ms: float = 0.0
    error_code: str = "ModelTimeoutException"  # what its failed calls report


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    baseline: ArmProfile
    candidate: ArmProfile
    warmup_requests: int | None = None  # None: the policy's default
    intents: tuple[str, ...] = ("recommendation",)  # the intents the candidate covers; empty: every intent
    messages_per_day: float | None = None  # None: routing_policy.yaml's (1M, MISSION)
    expected: str = ""  # what the field saw, printed beside the result

    @property
    def requests_per_minute(self) -> float:
        """All requests a minute on the covered intents (baseline and canary together)."""
        return requests_per_minute(self.intents, self.messages_per_day)


BASELINE = ArmProfile("sonnet-3-5-v1")
# The field's candidate: quality 0.85 vs 0.84, warm P95 2,050 ms, and a cold start that, without warm-up,
# pushes the first stage's P95 to ~4,200 ms. Its 500 slow requests are what a 500-request warm-up absorbs.
COLD_CANDIDATE = ArmProfile("sonnet-3-5-v2", quality_mean=0.85, latency_p50_ms=1170.0, latency_p95_ms=2050.0,
                            cold_start_requests=500, cold_start_penalty_ms=2400.0)
SCENARIOS: dict[str, Scenario] = {
    "a": Scenario("a", "healthy candidate", BASELINE,
                  ArmProfile("sonnet-3-5-v2", quality_mean=0.86, latency_p50_ms=1150.0, latency_p95_ms=1950.0),
                  expected="5 -> 25 -> 50 -> 100, completes"),
    "b": Scenario("b", "quality 6% below baseline", BASELINE,
                  ArmProfile("haiku-4-5", quality_mean=0.84 * 0.94, latency_p50_ms=700.0, latency_p95_ms=1300.0,
                             usd_per_mtok_in=1.0, usd_per_mtok_out=5.0),
                  expected="rolls back at the first stage (quality)"),
    "c": Scenario("c", "cold start, no warm-up", BASELINE, COLD_CANDIDATE, warmup_requests=0,
                  expected="quality fine (0.85 vs 0.84), P95 ~4,200 vs 2,100 ms: rolls back for latency"),
    "d": Scenario("d", "cold start absorbed by a 500-request warm-up", BASELINE, COLD_CANDIDATE, warmup_requests=500,
                  expected="warm-up absorbs the cold start (P95 ~2,050 ms): completes"),
    # Not a field scenario: a candidate whose every call is refused (MISSION: Claude Haiku 4.5 rejects a request
    # carrying both temperature and top_p with HTTP 400 ValidationException). Its warm-up must stop the rollout.
    "e": Scenario("e", "every call refused (temperature and top_p both set)", BASELINE,
                  ArmProfile("haiku-4-5", error_rate=1.0, error_code="ValidationException", usd_per_mtok_in=1.0, usd_per_mtok_out=5.0),
                  warmup_requests=500, expected="the warm-up fails: stopped before any live traffic, version 0 stays current"),
}
FIELD_SCENARIOS = ("a", "b", "c", "d")


def same_distribution_scenario(name: str = "null", intents: tuple[str, ...] = ("recommendation",),
                               messages_per_day: float | None = None) -> Scenario:
    """Canary and baseline drawn from one distribution (for the false-rollback rate)."""
    return Scenario(name, "candidate identical to baseline", BASELINE, replace(BASELINE, config_id="candidate"), intents=intents,
                    messages_per_day=messages_per_day)


@dataclass
class Draw:
    """Requests drawn for one arm over one slice of time (arrays of equal length)."""

    arm: str
    config_id: str
    start: datetime
    seconds: np.ndarray
    latency_ms: np.ndarray
    quality: np.ndarray  # NaN on errors
    error: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    cost_usd: np.ndarray
    intents: np.ndarray
    error_code: str = "ModelTimeoutException"

    def __len__(self) -> int:
        return len(self.latency_ms)

    def to_events(self, experiment_id: str, session_prefix: str) -> pd.DataFrame:
        """Request-event rows (REQUEST_COLUMNS, event_time naive UTC) as the bot would have emitted them."""
        times = pd.Timestamp(self.start) + pd.to_timedelta(self.seconds, unit="s")
        frame = pd.DataFrame({
            "event_time": times, "experiment_id": experiment_id,
            "session_id": [f"{session_prefix}-{i}" for i in range(len(self))], "arm": self.arm, "config_id": self.config_id,
            "intent": self.intents, "quality_score": np.where(self.error, np.nan, self.quality), "latency_ms": self.latency_ms,
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens, "cost_usd": self.cost_usd,
            "error_code": np.where(self.error, self.error_code, None)})
        frame["quality_score"] = frame["quality_score"].astype(object).where(frame["quality_score"].notna(), None)
        return frame[REQUEST_COLUMNS]


def _intent_weights(intents: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The covered intents and their mix among themselves (intents.yaml's shares, renormalised)."""
    shares = intent_shares(intents)
    weights = np.array(list(shares.values()), dtype=float)
    return np.array(list(shares)), weights / weights.sum()


def draw(profile: ArmProfile, n: int, rng: np.random.Generator, start: datetime, seconds: float,
         arm: str, served_before: int = 0, intents: tuple[str, ...] = ()) -> Draw:
    """`n` requests to `profile` spread over `seconds` from `start`; the first requests of a cold configuration
    (index < cold_start_requests, counted over everything it has served) pay the cold-start penalty."""
    sigma = math.log(profile.latency_p95_ms / profile.latency_p50_ms) / Z95
    latency = profile.latency_p50_ms * np.exp(sigma * rng.standard_normal(n))
    cold = (served_before + np.arange(n)) < profile.cold_start_requests
    latency = latency + np.where(cold, profile.cold_start_penalty_ms, 0.0)
    m, k = profile.quality_mean, profile.quality_concentration
    quality = rng.beta(m * k, (1 - m) * k, n)
    error = rng.random(n) < profile.error_rate
    input_tokens = np.where(error, 0, np.maximum(1, rng.normal(profile.input_tokens, 0.15 * profile.input_tokens, n))).astype(np.int64)
    output_tokens = np.where(error, 0, np.maximum(1, rng.gamma(4.0, profile.output_tokens / 4.0, n))).astype(np.int64)
    cost = (input_tokens * profile.usd_per_mtok_in + output_tokens * profile.usd_per_mtok_out) / 1e6
    names, weights = _intent_weights(intents)
    return Draw(arm, profile.config_id, start, np.sort(rng.random(n) * max(seconds, 1e-3)), latency, np.where(error, np.nan, quality),
                error, input_tokens, output_tokens, cost, names[rng.choice(len(names), n, p=weights)] if n else np.array([], dtype=str),
                profile.error_code)


@dataclass
class SimulatedTraffic:
    """The scenario's traffic, window slice by window slice. `candidate_served` carries the candidate's cold
    start across slices (and across Airflow tasks, through XCom)."""

    scenario: Scenario
    seed: int = 0
    candidate_served: int = 0

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *key])

    def warm_up(self, requests: int, start: datetime) -> Draw:
        """Synthetic requests to the candidate before live traffic: they consume its cold start."""
        result = draw(self.scenario.candidate, requests, self._rng(0, 0, 0), start, 0.0, "treatment",
                      served_before=self.candidate_served, intents=self.scenario.intents)
        self.candidate_served += requests
        return result

    def window(self, stage: int, part: int, traffic_pct: float, start: datetime, seconds: float) -> tuple[Draw, Draw]:
        """(baseline, canary) requests for one slice of a stage's window (part 0, then one per HOLD extension)."""
        rng = self._rng(1, stage, part)
        expected = self.scenario.requests_per_minute * seconds / 60.0
        n_canary = int(rng.poisson(expected * traffic_pct / 100.0))
        n_baseline = int(rng.poisson(expected * (1 - traffic_pct / 100.0)))
        baseline = draw(self.scenario.baseline, n_baseline, rng, start, seconds, "control", intents=self.scenario.intents)
        canary = draw(self.scenario.candidate, n_canary, rng, start, seconds, "treatment",
                      served_before=self.candidate_served, intents=self.scenario.intents)
        self.candidate_served += n_canary
        return baseline, canary


def window_start(origin: datetime, minutes: float) -> datetime:
    return origin + timedelta(minutes=minutes)

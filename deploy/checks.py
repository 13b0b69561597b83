"""`make deploy-test`: the deployment of deploy/local.py, driven only through Airflow's public REST API.

1. up --fresh (model_evaluation manual-only there, so unpausing it schedules nothing next to the test's runs);
2. log in as the UI does (SimpleAuthManager: POST /auth/token), unpause, trigger model_evaluation with no
   logical date (POST /api/v2/dags/model_evaluation/dagRuns), wait; check: success, the routing document in S3,
   task instances on both workers, no pool over its slots at any time (from the task instances' start and end
   times), no task started a double of its own (the double service answered every call);
3. the double service throttles every call (POST /_double/overrides): a second run fails at the validation
   gate, and the routing document and ledger are untouched;
   meanwhile, waiting without a worker: a canary (simulated cold start at time_scale 0.005: its 30-minute window
   is 9 s) whose stage_1 is seen `deferred` on a DateTimeTrigger by polling its task instance, then rolled back;
   and an event file the bot writes to S3, seen by the asset watcher in the triggerer, which triggers ab_analysis
   (run type asset_triggered) that loads its rows;
4. a worker is SIGKILLed in the middle of `evaluate` (the double answering at real speed): the scheduler finds the
   task's heartbeat gone, the retry runs on the other worker, the run succeeds; every (configuration, case) row is
   there exactly once, and no call the double had answered before the kill is asked again (the retry reads the
   run's response cache in S3);
5. down. Timings are printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from local import REDIS, RUN, WORKERS, DeployError, _psql, auth_token, down, http, log, running, up, urls

DEPLOY_RUN = {"configs": ["sonnet-3-5-v2", "sonnet-4-5", "haiku-3-5"], "intents": ["faq", "order_tracking"], "limit": 30}
THROTTLED_RUN = {"configs": ["haiku-3-5"], "intents": ["faq"], "limit": 4}
KILL_RUN = {"configs": ["sonnet-3-5-v2"], "intents": ["faq"], "limit": 120}  # one shard: every call is the victim's
# the double at real speed and without injected faults: a shard takes ~15 s, and every repeat is the kill's doing
KILL_DOUBLE = {"time_scale": 1, "throttle_rate": 0, "timeout_rate": 0, "unavailable_rate": 0, "model_error_rate": 0,
               "internal_error_rate": 0, "stream_error_rate": 0}
IN_FLIGHT_MARGIN_S = 0.5  # an answer sent this close to the kill may not have reached the worker's cache
RUN_TIMEOUT_S = float(os.environ.get("MANGAEVAL_DEPLOY_RUN_TIMEOUT_S", "420"))


class Api:
    def __init__(self, state: dict[str, Any]):
        self.state, self.base = state, urls(state)["api"]
        self.token = auth_token(state)

    def call(self, method: str, path: str, doc: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
        for attempt in range(3):  # a loaded machine can keep the API server from answering a read within 30 s
            try:
                status, body = http(method, f"{self.base}{path}", doc, self.token, timeout=60)
                break
            except (TimeoutError, ConnectionError, OSError) as exc:
                if method != "GET" or attempt == 2:
                    raise DeployError(f"{method} {path}: no answer from the API server ({exc})") from None
                log(f"{method} {path}: {exc}; asking again")
        if status == 401:  # the token expired: log in again
            self.token = auth_token(self.state)
            status, body = http(method, f"{self.base}{path}", doc, self.token)
        if status not in expect:
            raise DeployError(f"{method} {path}: {status} {body}")
        return body

    def trigger(self, conf: dict[str, Any], dag_id: str = "model_evaluation") -> str:
        """As the UI's trigger form: no logical date (Airflow 3 gives the run only its run_after)."""
        run = self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf}, expect=(200, 201))
        assert run["logical_date"] is None and run["run_type"] == "manual", run
        return run["dag_run_id"]

    def wait(self, run_id: str, timeout_s: float = RUN_TIMEOUT_S, dag_id: str = "model_evaluation") -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(2)
        raise DeployError(f"run {run_id} not finished after {timeout_s:.0f}s (state {run['state']}): {self.task_states(run_id, dag_id)}")

    def task_instances(self, run_id: str, dag_id: str = "model_evaluation") -> list[dict[str, Any]]:
        return self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=500")["task_instances"]

    def task_states(self, run_id: str, dag_id: str = "model_evaluation") -> dict[str, str]:
        return {_ti_name(ti): ti["state"] for ti in self.task_instances(run_id, dag_id)}

    def unpause(self, dag_id: str, timeout_s: float = 120) -> None:
        """Unpause once the DAG processor has parsed it."""
        deadline = time.monotonic() + timeout_s
        while http("GET", f"{self.base}/api/v2/dags/{dag_id}", token=self.token)[0] != 200:
            if time.monotonic() > deadline:
                raise DeployError(f"{dag_id} not parsed after {timeout_s:.0f}s")
            time.sleep(1)
        self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})


def _ti_name(ti: dict[str, Any]) -> str:
    return ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def max_running_per_pool(tis: list[dict[str, Any]]) -> dict[str, int]:
    """Most task instances of each pool running at once, from their start and end times (an end frees the slot
    before a start at the same instant takes it)."""
    events: dict[str, list[tuple[datetime, int]]] = {}
    for ti in tis:
        if ti.get("start_date") and ti.get("end_date"):
            events.setdefault(ti["pool"], []).extend([(_time(ti["start_date"]), 1), (_time(ti["end_date"]), -1)])
    peaks = {}
    for pool, evs in events.items():
        running = peak = 0
        for _, step in sorted(evs, key=lambda e: (e[0], e[1])):
            running += step
            peak = max(peak, running)
        peaks[pool] = peak
    return peaks


def s3_client(state: dict[str, Any]):
    import boto3

    return boto3.client("s3", endpoint_url=urls(state)["s3"], region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def routing_objects(state: dict[str, Any]) -> dict[str, bytes]:
    s3 = s3_client(state)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="mangaassist", Prefix="serving/routing/").get("Contents", [])]
    return {k: s3.get_object(Bucket="mangaassist", Key=k)["Body"].read() for k in keys}


def double_processes() -> list[str]:
    """Command lines of `mangaeval double serve` processes started for a run (a setup task's double has --run-id)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            text = " ".join(a.decode(errors="replace") for a in argv)
            if "double" in text and "serve" in text and "--run-id" in text and str(RUN) in (proc / "environ").read_bytes().decode(errors="replace"):
                found.append(f"{proc.name}: {text}")
    return found


def descendants(root: int) -> list[int]:
    """Every process below `root` (children, their children...), from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def double_stats(state: dict[str, Any]) -> dict[str, Any]:
    return http("GET", f"{urls(state)['double']}/_double/stats")[1]


def check_successful_run(api: Api, state: dict[str, Any], timings: dict[str, float]) -> list[str]:
    problems = []
    calls_before = double_stats(state)["total_calls"]
    t0 = time.monotonic()
    run_id = api.trigger(DEPLOY_RUN)
    log(f"triggered {run_id} with {DEPLOY_RUN}")
    run = api.wait(run_id)
    timings["successful run"] = time.monotonic() - t0
    tis = api.task_instances(run_id)
    states = {_ti_name(ti): ti["state"] for ti in tis}
    log(f"{run_id}: {run['state']} in {timings['successful run']:.0f}s; tasks: {states}")
    if run["state"] != "success":
        return [f"run {run_id} ended {run['state']}: {states}"]
    # the routing document in S3 (moto)
    routing = routing_objects(state)
    current = json.loads(routing.get("serving/routing/current.json", b"null"))
    if not current or current.get("ledger_version") != 1 or "serving/routing/ledger/v000001.json" not in routing:
        problems.append(f"routing document not published to s3://mangaassist/serving/routing/: keys {sorted(routing)}")
    else:
        nightly = sorted(i for i, r in current["routes"].items() if r["set_by"]["kind"] == "nightly")
        log(f"routing: current.json ledger_version {current['ledger_version']}, routes set by the run: {nightly}")
        if nightly != sorted(DEPLOY_RUN["intents"]):
            problems.append(f"routes set by the run {nightly}, expected {DEPLOY_RUN['intents']}")
    # both workers ran task instances
    hosts: dict[str, int] = {}
    for ti in tis:
        if ti["state"] != "skipped":  # a skipped task (a tier with no shard) ran nowhere
            hosts[ti.get("hostname") or "?"] = hosts.get(ti.get("hostname") or "?", 0) + 1
    log(f"task instances per worker: {hosts}")
    if set(hosts) != set(WORKERS):
        problems.append(f"task instances ran on {sorted(hosts)}, expected both of {list(WORKERS)}")
    # no pool over its slots
    slots = {p["name"]: p["slots"] for p in api.call("GET", "/api/v2/pools")["pools"]}
    peaks = max_running_per_pool(tis)
    log(f"most running at once per pool: {peaks}; slots: { {p: slots.get(p) for p in peaks} }")
    for pool, peak in peaks.items():
        if pool in slots and slots[pool] >= 0 and peak > slots[pool]:
            problems.append(f"pool {pool}: {peak} task instances ran at once, it has {slots[pool]} slots")
    if peaks.get("bedrock_sonnet", 0) < 1:
        problems.append("no evaluate task ran in pool bedrock_sonnet")
    # no task started a double of its own: the setup task found the endpoint, the service answered every call
    setup = api.call("GET", f"/api/v2/dags/model_evaluation/dagRuns/{run_id}/taskInstances/start_model_double/xcomEntries/return_value")
    started = setup["value"] if isinstance(setup["value"], dict) else json.loads(setup["value"])
    answered = double_stats(state)["total_calls"] - calls_before
    expected_calls = len(DEPLOY_RUN["configs"]) * len(DEPLOY_RUN["intents"]) * DEPLOY_RUN["limit"]
    log(f"start_model_double returned {started}; the double service answered {answered} calls (at least {expected_calls} expected)")
    if started.get("double_pid") or started.get("endpoint_url") != urls(state)["double"]:
        problems.append(f"start_model_double did not use the deployment's double: {started}")
    pidfiles = sorted(p.name for p in (RUN / "data" / "double").glob("*")) if (RUN / "data" / "double").exists() else []
    if pidfiles or double_processes():
        problems.append(f"a task started a double: files {pidfiles}, processes {double_processes()}")
    if answered < expected_calls:
        problems.append(f"the double service answered {answered} calls, fewer than the run's {expected_calls} cases")
    return problems


def check_throttled_run(api: Api, state: dict[str, Any], timings: dict[str, float]) -> list[str]:
    before = routing_objects(state)
    double = urls(state)["double"]
    status, body = http("POST", f"{double}/_double/overrides", {"throttle_rate": 1})
    if status != 200:
        return [f"could not make the double throttle: {status} {body}"]
    try:
        t0 = time.monotonic()
        run_id = api.trigger(THROTTLED_RUN)
        log(f"the double throttles every call; triggered {run_id} with {THROTTLED_RUN}")
        run = api.wait(run_id)
        timings["throttled run"] = time.monotonic() - t0
    finally:
        http("POST", f"{double}/_double/overrides", {})
    states = api.task_states(run_id)
    log(f"{run_id}: {run['state']} in {timings['throttled run']:.0f}s; tasks: {states}")
    problems = []
    if run["state"] != "failed" or states.get("validation_gate") != "failed":
        problems.append(f"throttled run: expected a failed run stopped at validation_gate, got {run['state']}: {states}")
    for task in ("load_warehouse", "decide", "publish_routing"):
        if states.get(task) != "upstream_failed":
            problems.append(f"throttled run: {task} is {states.get(task)}, expected upstream_failed")
    after = routing_objects(state)
    if after != before:
        problems.append(f"throttled run changed routing: {sorted(set(after) ^ set(before)) or 'same keys, other content'}")
    else:
        log(f"routing untouched ({len(after)} objects identical)")
    return problems


def check_killed_worker(api: Api, state: dict[str, Any], timings: dict[str, float]) -> list[str]:
    import io

    import pandas as pd
    import signal

    double = urls(state)["double"]
    http("POST", f"{double}/_double/reset")
    status, body = http("POST", f"{double}/_double/overrides", KILL_DOUBLE)
    if status != 200:
        return [f"could not shape the double: {status} {body}"]
    try:
        t0 = time.monotonic()
        run_id = api.trigger(KILL_RUN)
        log(f"triggered {run_id} with {KILL_RUN}; waiting for an evaluate task to be half-way")
        victim, deadline = None, time.monotonic() + 240
        while victim is None and time.monotonic() < deadline:
            busy = [ti for ti in api.task_instances(run_id) if ti["task_id"].startswith("evaluate") and ti["state"] == "running"]
            if busy and double_stats(state)["total_calls"] >= 40:
                victim = busy[0]
            else:
                time.sleep(0.5)
        if victim is None:
            return [f"no evaluate task ran long enough to be killed: {api.task_states(run_id)}"]
        worker = victim["hostname"]
        answered_before = double_stats(state)["total_calls"]
        pid = running().get(worker)
        if pid is None:
            return [f"task {_ti_name(victim)} runs on {worker!r}, which is not one of the started workers {list(WORKERS)}"]
        # as if the host died: every process of that worker, also task processes outside its process group
        doomed = descendants(pid)
        killed_at = time.time()
        os.killpg(pid, signal.SIGKILL)
        for other in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(other, signal.SIGKILL)
        log(f"SIGKILLed worker {worker} (process group {pid} and {len(doomed)} processes of it) while {_ti_name(victim)} ran; "
            f"the double had answered {answered_before} calls")
        run = api.wait(run_id, timeout_s=RUN_TIMEOUT_S + 300)
        timings["killed-worker run"] = time.monotonic() - t0
    finally:
        http("POST", f"{double}/_double/overrides", {})
    tis = api.task_instances(run_id)
    log(f"{run_id}: {run['state']} in {timings['killed-worker run']:.0f}s; tasks: { {_ti_name(ti): ti['state'] for ti in tis} }")
    if run["state"] != "success":
        return [f"killed-worker run ended {run['state']}: { {_ti_name(ti): ti['state'] for ti in tis} }"]
    problems = []
    retried = next(ti for ti in tis if _ti_name(ti) == _ti_name(victim))
    log(f"{_ti_name(victim)}: try {retried['try_number']} on {retried['hostname']}")
    if retried["try_number"] < 2 or retried["hostname"] == worker:
        problems.append(f"{_ti_name(victim)} was not retried on the other worker: try {retried['try_number']} on {retried['hostname']}")
    s3 = s3_client(state)
    for intent in KILL_RUN["intents"]:
        key = f"eval/results/run_id={run_id}/config_id={KILL_RUN['configs'][0]}/intent={intent}.parquet"
        frame = pd.read_parquet(io.BytesIO(s3.get_object(Bucket="mangaassist", Key=key)["Body"].read()))
        doubled = int(frame["test_id"].duplicated().sum())
        if len(frame) != KILL_RUN["limit"] or doubled:
            problems.append(f"{key}: {len(frame)} rows ({doubled} doubled), expected {KILL_RUN['limit']} distinct cases")
    stats = double_stats(state)
    again = stats["asked_again"]
    paid_twice = [a for a in again if a["answered_at"] < killed_at - IN_FLIGHT_MARGIN_S]
    cases = len(KILL_RUN["intents"]) * KILL_RUN["limit"]
    if stats["total_calls"] < cases:
        problems.append(f"the double answered {stats['total_calls']} calls for {cases} cases")
    log(f"the double received {stats['total_calls']} calls for {cases} cases ({stats['total_calls'] - cases} more: in flight at the kill, "
        f"their answers never reached the worker); asked again after the double had sent the answer: {len(again)}, of which "
        f"answered more than {IN_FLIGHT_MARGIN_S}s before the kill (paid twice): {len(paid_twice)}")
    if paid_twice:
        problems.append(f"{len(paid_twice)} call(s) answered before the kill were asked (and paid) again: {paid_twice[:3]}")
    return problems


CANARY_RUN = {"mode": "simulate", "scenario": "c", "intents": ["faq"], "rollout_id": "deploy-canary", "time_scale": 0.005,
              "cloudwatch": False}  # the cold-start candidate: rolled back at stage 1 after its 30-minute window (9 s here)
EVENT_ROWS = 40


class TaskStates(threading.Thread):
    """A task instance's states over time, polled through the REST API (every 0.5 s) until its run ends."""

    def __init__(self, api: Api, dag_id: str, run_id: str, task_id: str):
        super().__init__(daemon=True)
        self.api, self.path = api, f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"
        self.task_id, self.seen, self.triggers, self.done = task_id, [], set(), threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.done.is_set():
            try:
                ti = self.api.call("GET", f"{self.path}/taskInstances/{self.task_id}", expect=(200, 404))
                if isinstance(ti, dict) and ti.get("state"):
                    if not self.seen or self.seen[-1][1] != ti["state"]:
                        self.seen.append((round(time.monotonic() - t0, 1), ti["state"]))
                    if ti["state"] == "deferred" and ti.get("trigger"):
                        self.triggers.add(ti["trigger"]["classpath"])
                if self.api.call("GET", self.path)["state"] in ("success", "failed"):
                    return
            except (DeployError, OSError):  # a slow answer: look again
                pass
            time.sleep(0.5)

    def deferred_seconds(self) -> float:
        """Time between the first `deferred` seen and the state after it."""
        for (t, state), after in zip(self.seen, self.seen[1:]):
            if state == "deferred":
                return after[0] - t
        return 0.0


def bot_event_file() -> tuple[str, bytes]:
    """A request-event file as the bot writes it, into this hour's partition (rows of an unregistered experiment:
    loaded, never analysed)."""
    now = datetime.now(timezone.utc)
    rows = [{"event_time": now.isoformat(), "experiment_id": "deploy-events", "session_id": f"s{i}", "arm": "control",
             "config_id": "haiku-3-5", "intent": "faq", "quality_score": 0.8, "latency_ms": 400, "input_tokens": 100,
             "output_tokens": 50, "cost_usd": 0.0003, "error_code": None} for i in range(EVENT_ROWS)]
    key = f"events/events/requests/dt={now:%Y-%m-%d}/hour={now:%H}/deploy-{int(now.timestamp())}.jsonl"
    return key, "".join(json.dumps(r) + "\n" for r in rows).encode()


def start_waiting_runs(api: Api, state: dict[str, Any]) -> dict[str, Any]:
    """The canary run and the bot's event file: both wait in the triggerer while the throttled run goes on."""
    run_id = api.trigger(CANARY_RUN, "canary_rollout")
    watch = TaskStates(api, "canary_rollout", run_id, "stage_1")
    watch.start()
    key, body = bot_event_file()
    s3_client(state).put_object(Bucket="mangaassist", Key=key, Body=body)
    log(f"triggered canary {run_id} with {CANARY_RUN}; the bot wrote s3://mangaassist/{key} ({EVENT_ROWS} request events)")
    return {"canary": run_id, "watch": watch, "key": key, "t0": time.monotonic()}


def check_waiting_runs(api: Api, started: dict[str, Any], timings: dict[str, float]) -> list[str]:
    problems = []
    run = api.wait(started["canary"], dag_id="canary_rollout")
    timings["canary run"] = time.monotonic() - started["t0"]
    watch: TaskStates = started["watch"]
    watch.done.set()
    watch.join(5)
    states = api.task_states(started["canary"], "canary_rollout")
    log(f"canary {started['canary']}: {run['state']} in {timings['canary run']:.0f}s; stage_1 went through {watch.seen} "
        f"(deferred {watch.deferred_seconds():.1f}s on {sorted(watch.triggers)}); tasks: {states}")
    if run["state"] != "success" or states.get("stage_1") != "success" or {states.get(f"stage_{i}") for i in (2, 3, 4)} != {"skipped"}:
        problems.append(f"canary run: expected success with stage_1 done and stages 2-4 skipped, got {run['state']}: {states}")
    if "deferred" not in [s for _, s in watch.seen]:
        problems.append(f"canary stage_1 was never seen deferred while its window ran: {watch.seen}")
    elif watch.triggers != {"airflow.providers.standard.triggers.temporal.DateTimeTrigger"}:
        problems.append(f"canary stage_1 deferred on {watch.triggers}, expected Airflow's DateTimeTrigger")
    outcome = api.call("GET", f"/api/v2/dags/canary_rollout/dagRuns/{started['canary']}/taskInstances/stage_1/xcomEntries/return_value")
    outcome = outcome["value"] if isinstance(outcome["value"], dict) else json.loads(outcome["value"])
    if outcome.get("verdict") != "ROLLBACK" or not outcome["reasons"][0].startswith("latency"):
        problems.append(f"canary stage_1: expected a ROLLBACK for latency, got {outcome.get('verdict')}: {outcome.get('reasons')}")
    # The event file: the asset watcher saw it, ab_analysis ran on its own and loaded its rows.
    deadline, found = time.monotonic() + RUN_TIMEOUT_S, None
    while time.monotonic() < deadline and found is None:
        runs = api.call("GET", "/api/v2/dags/ab_analysis/dagRuns?limit=20")["dag_runs"]
        found = next((r for r in runs if r["run_type"] == "asset_triggered"), None)
        if found is None:
            time.sleep(1)
    if found is None:
        return problems + [f"no asset-triggered ab_analysis run within {RUN_TIMEOUT_S:.0f}s of the bot's event file"]
    run = api.wait(found["dag_run_id"], dag_id="ab_analysis")
    timings["event file to ab_analysis done"] = time.monotonic() - started["t0"]
    loaded = api.call("GET", f"/api/v2/dags/ab_analysis/dagRuns/{found['dag_run_id']}/taskInstances/load_events/xcomEntries/return_value",
                      expect=(200, 404))
    loaded = (loaded["value"] if isinstance(loaded["value"], dict) else json.loads(loaded["value"])) if isinstance(loaded, dict) else {}
    log(f"ab_analysis {found['dag_run_id']} ({found['run_type']}, after the watcher saw the file): {run['state']}; "
        f"load_events {loaded}")
    if run["state"] != "success" or loaded.get("loaded") != EVENT_ROWS:
        problems.append(f"ab_analysis after the event file: {run['state']}, loaded {loaded}, expected {EVENT_ROWS} rows: "
                        f"{api.task_states(found['dag_run_id'], 'ab_analysis')}")
    return problems


def drop_deployment_data() -> None:
    """The test's database and broker db go with it (each test folder gets names of its own)."""
    import redis

    from local import load_state

    try:
        state = load_state()
    except DeployError:
        return
    _psql(f'DROP DATABASE IF EXISTS "{state["database"]}" WITH (FORCE)')
    redis.Redis.from_url(f"{REDIS}/{state['redis_db']}").flushdb()


def run_checks(keep: bool = False) -> int:
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    problems: list[str] = []
    try:
        # ab_analysis on new event files only (no hourly run next to the test's), its watcher looking every 2 s
        state = up(fresh=True, schedule="none", ab_schedule="none", events_poll_s=2)
        timings["deploy-up"] = time.monotonic() - t0
        api = Api(state)
        for dag_id in ("model_evaluation", "canary_rollout", "ab_analysis"):
            api.unpause(dag_id)
        problems += check_successful_run(api, state, timings)
        if not problems:
            waiting = start_waiting_runs(api, state)
            problems += check_throttled_run(api, state, timings)
            problems += check_waiting_runs(api, waiting, timings)
        if not problems:
            problems += check_killed_worker(api, state, timings)
    except DeployError as exc:
        problems.append(str(exc))
    finally:
        if not keep:
            t_down = time.monotonic()
            down()
            timings["deploy-down"] = time.monotonic() - t_down
            drop_deployment_data()
    timings["total"] = time.monotonic() - t0
    print("deploy-test timings: " + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()), flush=True)
    if problems:
        print("deploy-test FAILED:\n  - " + "\n  - ".join(problems) + f"\n(logs: {RUN / 'logs'})", flush=True)
        return 1
    print("deploy-test passed: success on both workers within pool slots, routing in S3, the double service only; "
          "a throttled run stopped at the gate with routing untouched; a canary stage deferred while it waited; "
          "an event file triggered ab_analysis; a run survived a SIGKILLed worker with every row once and no answered "
          "call paid again", flush=True)
    return 0

"""The dashboards in a real headless browser (Debian's chromium through chromium-driver, driven by Selenium), against
an Airflow API server started here with the plugin loaded (SimpleAuthManager, a test user, SQLite metadata) and a
warehouse filled by a real model_evaluation run (plus an A/B experiment and a canary rollout analysed by their own
code on simulated traffic). Each page: loads, no console error, its charts hold the marks the SQL says; anonymous
requests refused; a bad run id a clear page; the static report opens from file:// with the network off.
Screenshots of every page go to the test's output folder (and to docs/screenshots/ with MANGAEVAL_SCREENSHOTS=1)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.bench_helpers import load_all
from tests.conftest import ROOT, airflow_test_env, free_port, run_dag_test

pytestmark = pytest.mark.integration
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
LOGICAL_DATE = "2026-11-22T02:00:00+00:00"
RUN_ID = f"manual__{LOGICAL_DATE}"
CONF = {"configs": ["sonnet-3-5-v2", "haiku-3-5", "nova-lite"], "intents": ["faq", "chitchat"], "limit": 30}
USER, PASSWORD = "dashboard-tester", "a-test-password-1"
README_SCREENSHOTS = ("evaluation", "answers", "routing", "experiments", "rollouts", "report")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("chromium and chromium-driver are not installed (make test installs them with apt-get when run as root)",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (requirements.txt)")


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The API server's base URL, a JWT of the test user, the data folder and the server's log."""
    home = tmp_path_factory.mktemp("airflow_home")
    data = tmp_path_factory.mktemp("data")
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
    env = airflow_test_env(home, AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"), AIRFLOW__CORE__LAZY_LOAD_PLUGINS="False",
                           AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
                           AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USER}:viewer",
                           AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
                           AIRFLOW__API_AUTH__JWT_SECRET="dashboard-test-secret-0123456789abcdef", MANGAEVAL_DATA_DIR=str(data))
    airflow = str(Path(sys.executable).parent / "airflow")
    for tier in ("sonnet", "haiku", "nova", "custom"):
        subprocess.run([airflow, "pools", "set", f"bedrock_{tier}", "4", "test"], env=env, check=True, capture_output=True, timeout=120)
    result = run_dag_test(env, "model_evaluation", LOGICAL_DATE, CONF, data)
    assert result["state"] == "success", result["log"][-3000:]
    assert result["tasks"]["publish_report"] == "success"
    from mangaeval.dashboards.demo import fill_experiment, fill_rollout
    from mangaeval.warehouse import connect

    warehouse = connect(f"duckdb:///{data / 'warehouse.duckdb'}")
    try:
        fill_experiment(warehouse)
        fill_rollout(warehouse, "a")
    finally:
        warehouse.close()
    load_all(f"duckdb:///{data / 'warehouse.duckdb'}")  # benchmark results (tests/bench_helpers.py), as mangaeval bench loads them
    port = free_port()
    log_path = home / "api-server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([airflow, "api-server", "--port", str(port), "--host", "127.0.0.1"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail("the API server exited:\n" + log_path.read_text()[-3000:])
            try:
                if _get(f"{base}/api/v2/monitor/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the API server did not answer in 120 s:\n" + log_path.read_text()[-3000:])
        request = urllib.request.Request(f"{base}/auth/token", data=json.dumps({"username": USER, "password": PASSWORD}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            token = json.loads(response.read())["access_token"]
        yield {"base": base, "token": token, "data": data, "log": log_path}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser(site, tmp_path_factory):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        # The cookie the Airflow UI sets after login: the plugin's pages are then authenticated as in the UI's iframe.
        driver.get(f"{site['base']}/api/v2/monitor/health")
        driver.add_cookie({"name": "_token", "value": site["token"], "path": "/"})
        yield driver
    finally:
        driver.quit()


def console_errors(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for_charts(driver, timeout: float = 30, expected: int = 1) -> int:
    """Wait until the page holds at least `expected` charts and every one is drawn (data-rendered set by renderCharts);
    their number."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = driver.execute_script("var c=document.querySelectorAll('.chart');"
                                      "return [c.length, Array.from(c).filter(function(x){return x.dataset.rendered==='1'}).length];")
        if state[0] >= expected and state[0] == state[1]:
            return state[0]
        time.sleep(0.2)
    raise AssertionError(f"charts not drawn in {timeout} s: {state}: {driver.current_url}\n{driver.page_source[:1500]}\n{driver.get_log('browser')}")


def marks(driver, chart_id: str, trace_name: str) -> int:
    """Points drawn in the SVG for a named scatter trace of a chart."""
    return driver.execute_script(
        "var gd=document.getElementById(arguments[0]); var names=gd.data.filter(function(t){return (t.type||'scatter')==='scatter'})"
        ".map(function(t){return t.name}); var i=names.indexOf(arguments[1]); if(i<0) return -1;"
        "return gd.querySelectorAll('.scatterlayer .trace')[i].querySelectorAll('path.point').length;", chart_id, trace_name)


def frontier_from_sql(data: Path, intent: str) -> tuple[set[str], set[str]]:
    import duckdb

    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        measured = {r[0] for r in con.execute("SELECT config_id FROM int_config_intent_metrics WHERE run_id = ? AND intent = ? AND ok_calls > 0",
                                              [RUN_ID, intent]).fetchall()}
        frontier = {r[0] for r in con.execute("SELECT config_id FROM mart_pareto_frontier WHERE run_id = ? AND intent = ?",
                                              [RUN_ID, intent]).fetchall()}
    finally:
        con.close()
    return measured, frontier


def shoot(driver, tmp_path: Path, name: str) -> Path:
    driver.set_window_size(1400, max(1000, min(2200, driver.execute_script("return document.body.scrollHeight"))))
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    if os.environ.get("MANGAEVAL_SCREENSHOTS") and name in README_SCREENSHOTS:  # refresh the README's screenshots
        (ROOT / "docs" / "screenshots").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, ROOT / "docs" / "screenshots" / path.name)
    driver.set_window_size(1400, 1000)
    assert path.stat().st_size > 10_000
    return path


def open_page(driver, site, path: str) -> None:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(f"{site['base']}/mangaeval/{path}")


@pytest.mark.parametrize("intent", ["faq", "chitchat"])
def test_evaluation_page_draws_one_mark_per_configuration_and_the_sql_frontier(site, browser, tmp_path, intent):
    open_page(browser, site, f"evaluation?run_id={urllib.parse.quote(RUN_ID)}&intent={intent}")
    assert wait_for_charts(browser) == 3  # quality/cost, policy (gate and SLA), trend
    measured, frontier = frontier_from_sql(site["data"], intent)
    assert len(measured) == 3 and frontier
    assert marks(browser, "quality-cost", "configurations") == len(measured)
    assert marks(browser, "quality-cost", "Pareto frontier") == len(frontier)
    assert marks(browser, "quality-cost", "recommended") == 1
    labels = set(browser.execute_script("return document.getElementById('quality-cost').data[0].text"))
    assert labels == measured
    shapes = browser.execute_script("return document.getElementById('policy').layout.shapes.length")
    assert shapes == 2  # the gate and the SLA lines
    rows = browser.find_elements("css selector", "#evaluation-table tbody tr")
    assert len(rows) == len(measured)
    assert console_errors(browser) == []
    shoot(browser, tmp_path, f"evaluation-{intent}" if intent != "faq" else "evaluation")


def test_answers_page_shows_every_configuration_side_by_side_and_filters(site, browser, tmp_path):
    open_page(browser, site, f"answers?run_id={urllib.parse.quote(RUN_ID)}&intent=faq")
    header = [th.text for th in browser.find_elements("css selector", "#answers-table thead th")]
    assert header == ["case", "haiku-3-5", "nova-lite", "sonnet-3-5-v2"]
    matching = int(browser.find_element("id", "matching").text.split()[0])
    assert matching == 30
    assert console_errors(browser) == []
    shoot(browser, tmp_path, "answers")
    open_page(browser, site, f"answers?run_id={urllib.parse.quote(RUN_ID)}&intent=faq&language=ja&disagree=1")
    cells = browser.find_elements("css selector", "#answers-table tbody tr")
    disagreeing = int(browser.find_element("id", "matching").text.split()[0])
    assert disagreeing < matching and len(cells) == min(disagreeing, 25)
    assert all("disagree" in row.text for row in cells)
    first = browser.find_elements("css selector", "#answers-table tbody tr td a")
    if first:
        first[0].click()
        assert "jsonl:" in browser.find_element("tag name", "main").text and console_errors(browser) == []


def test_routing_page_shows_the_table_history_diff_and_projection(site, browser, tmp_path):
    open_page(browser, site, "routing")
    assert wait_for_charts(browser) == 1
    routes = browser.find_elements("css selector", "#routes-table tbody tr")
    assert len(routes) == 8  # every intent of the mix has a route
    assert len(browser.find_elements("css selector", "#history-table tbody tr")) >= 1
    assert "savings" in browser.find_element("id", "projection-total").text
    bars = browser.execute_script("return document.querySelectorAll('#projection .barlayer .trace').length")
    assert bars == 2  # routing table and all-premium baseline
    assert console_errors(browser) == []
    shoot(browser, tmp_path, "routing")


def test_experiments_page_shows_effects_over_looks_and_the_decision(site, browser, tmp_path):
    open_page(browser, site, "experiments")
    assert wait_for_charts(browser) == 1
    assert browser.find_element("id", "ab-decision").text
    looks = browser.find_elements("css selector", "#ab-looks tbody tr")
    assert len(looks) == 6
    effect_points = browser.execute_script(
        "var gd=document.getElementById('ab-effects'); return gd.data.filter(function(t){return t.name==='effect'}).map(function(t){return t.x.length});")
    assert effect_points and set(effect_points) == {6}  # one point per look, on every metric
    assert "Sample-ratio check" in browser.find_element("tag name", "main").text
    assert console_errors(browser) == []
    shoot(browser, tmp_path, "experiments")


def test_rollouts_page_shows_each_stage_with_its_verdict(site, browser, tmp_path):
    open_page(browser, site, "rollouts")
    assert wait_for_charts(browser) == 1
    stages = browser.find_elements("css selector", "#stages-table tbody tr")
    assert len(stages) == 4 and all("PROMOTE" in s.text for s in stages)  # scenario a: a healthy candidate goes to 100%
    bars = browser.execute_script("return document.querySelectorAll('#canary-timeline .barlayer .point').length")
    assert bars == 4
    assert console_errors(browser) == []
    shoot(browser, tmp_path, "rollouts")


def test_benchmarks_page_draws_every_result_of_each_configuration_and_marks_the_slower_one(site, browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    open_page(browser, site, "benchmarks")
    assert wait_for_charts(browser) == 2  # P95 over results; throughput and cost per query
    # the double: haiku-3-5 and nova-lite in both results, sonnet-3-5-v2 in the first only
    assert [marks(browser, "bench-p95", c) for c in ("haiku-3-5", "nova-lite", "sonnet-3-5-v2")] == [2, 2, 1]
    assert browser.execute_script("return document.querySelectorAll('#bench-p95 .errorbar').length") == 5  # every point's 95% CI
    assert browser.execute_script("return document.getElementById('bench-throughput-cost').data.length") == 6  # 3 configurations x 2 panels
    assert browser.execute_script("return document.querySelectorAll('#bench-throughput-cost .scatterlayer path.point').length") == 10
    rows = browser.find_elements("css selector", "#bench-latest tbody tr")
    assert [r.find_element("css selector", "td").text for r in rows] == ["haiku-3-5", "nova-lite", "sonnet-3-5-v2"]
    worse = browser.find_elements("css selector", "#bench-latest td[data-worse]")
    assert len(worse) == 1 and worse[0].text == "▲ +25.0% worse" and "haiku-3-5" in browser.find_element("id", "bench-worse").text
    assert console_errors(browser) == []
    shoot(browser, tmp_path, "benchmarks")
    Select(browser.find_element("id", "environment-select")).select_by_visible_text("aws")  # the filter submits itself
    deadline = time.monotonic() + 30
    while "environment=aws" not in browser.current_url and time.monotonic() < deadline:
        time.sleep(0.2)
    assert wait_for_charts(browser) == 2 and marks(browser, "bench-p95", "haiku-3-5") == 1
    assert len(browser.find_elements("css selector", "#bench-latest tbody tr")) == 1 and console_errors(browser) == []
    open_page(browser, site, "benchmarks?environment=staging")
    assert "has no benchmark results; the warehouse holds double, aws" in browser.find_element("tag name", "body").text
    assert "Traceback" not in browser.page_source


def test_a_bad_run_id_gets_a_clear_page_not_a_traceback(site, browser, tmp_path):
    open_page(browser, site, "evaluation?run_id=no-such-run")
    text = browser.find_element("tag name", "body").text
    assert "No such run" in text and "'no-such-run' is not in the warehouse" in text
    assert "Traceback" not in browser.page_source
    status, body = _get(f"{site['base']}/mangaeval/evaluation?run_id=no-such-run", {"Cookie": f"_token={site['token']}"})
    assert status == 404 and "Traceback" not in body
    status, body = _get(f"{site['base']}/mangaeval/answers?run_id={urllib.parse.quote(RUN_ID)}&intent=faq&tag=%27%3B+DROP+TABLE+eval_results",
                        {"Cookie": f"_token={site['token']}"})
    assert status == 400 and "tag" in body  # outside the allow-list: named, never reaches SQL as text


def test_anonymous_and_forged_requests_are_refused(site):
    for path in ("evaluation", "answers", "routing", "experiments", "rollouts", "benchmarks", "static/plotly.min.js",
                 f"case?run_id=x&test_id=y"):
        status, body = _get(f"{site['base']}/mangaeval/{path}")
        assert status in (401, 403), (path, status)
        assert "mangaeval" not in body.lower() or "not authenticated" in body.lower()
    assert _get(f"{site['base']}/mangaeval/evaluation", {"Authorization": "Bearer forged.token.value"})[0] in (401, 403)
    assert _get(f"{site['base']}/mangaeval/evaluation", {"Authorization": f"Bearer {site['token']}"})[0] == 200
    # read-only: no route accepts a write
    request = urllib.request.Request(f"{site['base']}/mangaeval/evaluation", data=b"{}", method="POST",
                                     headers={"Authorization": f"Bearer {site['token']}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 405


def test_the_plugin_is_listed_with_its_navigation_entries(site):
    status, body = _get(f"{site['base']}/api/v2/plugins", {"Authorization": f"Bearer {site['token']}"})
    assert status == 200, body
    plugin = next(p for p in json.loads(body)["plugins"] if p["name"] == "mangaeval_dashboards")
    assert [v["name"] for v in plugin["external_views"]] == ["Evaluation", "Answers", "Routing", "Experiments", "Rollouts", "Benchmarks"]
    assert {v["href"] for v in plugin["external_views"]} == {f"mangaeval/{p}" for p in ("evaluation", "answers", "routing", "experiments", "rollouts",
                                                                                           "benchmarks")}


def test_the_static_report_opens_from_a_file_url_with_the_network_off(site, browser, tmp_path):
    report = site["data"] / "reports" / f"run_id={RUN_ID}" / "index.html"
    assert report.is_file() and report.stat().st_size < 3_000_000
    text = report.read_text(encoding="utf-8")
    assert "<script src=" not in text and not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing fetched
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    try:
        browser.get_log("browser")
        browser.get(report.as_uri())
        assert wait_for_charts(browser) == 2 * 3 + 1  # per intent: quality/cost, policy, trend; the projection
        for intent in ("faq", "chitchat"):
            measured, frontier = frontier_from_sql(site["data"], intent)
            assert marks(browser, f"quality-cost-{intent}", "configurations") == len(measured)
            assert marks(browser, f"quality-cost-{intent}", "Pareto frontier") == len(frontier)
        assert len(browser.find_elements("css selector", "#routes-table tbody tr")) == 8
        assert console_errors(browser) == []
        shoot(browser, tmp_path, "report")
    finally:
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def test_the_evaluation_page_inside_the_airflow_ui(site, browser, tmp_path):
    """The navigation entry's route in the Airflow UI embeds the page (an iframe on the same origin: the UI's `_token`
    cookie authenticates it)."""
    from selenium.webdriver.common.by import By

    browser.get_log("browser")
    browser.get(f"{site['base']}/plugin/mangaeval-evaluation")
    deadline = time.monotonic() + 40
    frames = []
    while time.monotonic() < deadline and not frames:
        frames = [f for f in browser.find_elements(By.TAG_NAME, "iframe") if "mangaeval/evaluation" in (f.get_attribute("src") or "")]
        time.sleep(0.3)
    assert frames, browser.page_source[:2000]
    browser.switch_to.frame(frames[0])
    try:
        assert wait_for_charts(browser, expected=3) == 3
        assert marks(browser, "quality-cost", "configurations") == 3
    finally:
        browser.switch_to.default_content()
    time.sleep(0.5)
    path = tmp_path / "airflow-ui.png"
    browser.save_screenshot(str(path))
    if os.environ.get("MANGAEVAL_SCREENSHOTS"):
        shutil.copy(path, ROOT / "docs" / "screenshots" / path.name)

"""The web console in a real headless Chromium (Debian's `chromium`, driven through Debian's
`chromedriver` by Selenium), against a real `sluice serve` whose tasks call real HTTP
functions on 127.0.0.1.

What a user would check: they log in with a key; a running execution of a flow with a
Parallel, a Map and slow tasks shows its states turn running, then succeeded, without a
reload; Stop with a cause shows `stopped` within a second while the function sees its
connection closed; 200 running executions filtered and stopped at once, the progress bar
reaching 100 %; a key without the stop permission sees no Stop button and is refused when it
tries anyway. Each test saves a screenshot in `SLUICE_SCREENSHOTS` (by default
`target/console-screenshots/`), beside the test log; the README's picture is one of them.
"""

import json
import os
import pathlib
import shutil
import time
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, configured_sluice
from functions import hang, work
from test_cloudflow import create, describe, start, unique, wait_for

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = pathlib.Path(os.environ.get("SLUICE_SCREENSHOTS", ROOT / "target" / "console-screenshots"))

ADMIN = ("console-admin", "console-admin-secret")
VIEWER = ("console-viewer", "console-viewer-secret")
OTHER = ("console-other", "console-other-secret")
# What a key that may look but not stop holds: every native read, and the CloudFlow calls the
# test makes with it.
VIEWER_ACTIONS = [
    "sluice:ListFlows",
    "sluice:DescribeFlow",
    "sluice:ListExecutions",
    "sluice:DescribeExecution",
    "sluice:GetExecutionHistory",
    "sluice:WatchEvents",
    "sluice:DescribeJob",
    "sluice:ListJobs",
    "sluice:ListSchedules",
]

CONFIG = f"""
[[tenants]]
id = "console"
account_id = "4444444444444444"

[[tenants.keys]]
id = "{ADMIN[0]}"
secret = "{ADMIN[1]}"
actions = ["*"]

[[tenants.keys]]
id = "{VIEWER[0]}"
secret = "{VIEWER[1]}"
actions = {json.dumps(VIEWER_ACTIONS)}

[[tenants]]
id = "console-other"
account_id = "5555555555555555"

[[tenants.keys]]
id = "{OTHER[0]}"
secret = "{OTHER[1]}"
actions = ["*"]
"""

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="no chromium/chromedriver on PATH (./scripts/test installs Debian's chromium and chromium-driver)",
)


@pytest.fixture(scope="module")
def console(tmp_path_factory, functions):
    server = configured_sluice(tmp_path_factory, functions, "sluice-console", CONFIG)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fnf(console):
    return console.client(*ADMIN)


@pytest.fixture
def browser(request):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{request.node.name}.png"))
    driver.quit()


def css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def wait_css(driver, selector, timeout=10):
    return wait_for(lambda: css(driver, selector), timeout=timeout)[0]


def log_in(driver, console, key):
    driver.get(f"{console.endpoint}/console/")
    wait_css(driver, "#login input[name=key_id]").send_keys(key[0])
    css(driver, "#login input[name=secret]")[0].send_keys(key[1])
    css(driver, "#login button")[0].click()
    wait_for(lambda: key[0] in css(driver, "#who")[0].text)


def open_execution(driver, console, flow, name):
    driver.get(f"{console.endpoint}/console/#/execution/{flow}/{name}")
    wait_css(driver, "#graph svg .node")
    # A reload would drop this marker: the test sees the page change by itself.
    driver.execute_script("window.notReloaded = true")


def node_status(driver, name):
    nodes = css(driver, f'#graph .node[data-name="{name}"]')
    return nodes[0].get_attribute("data-status") if nodes else None


def fan_out_flow(name, slow):
    """A Parallel: one branch maps the items over a slow call, the other makes one slow call;
    then a Pass."""
    return f"""Type: StateMachine
Name: {name}
SpecVersion: v1
StartAt: Both
States:
  - Type: Parallel
    Name: Both
    Next: Done
    Branches:
      - StartAt: Fan
        States:
          - Type: Map
            Name: Fan
            End: true
            ItemsPath: $Input.items
            Processor:
              StartAt: Item
              States:
                - Type: Task
                  Name: Item
                  Action: FC:InvokeFunction
                  Parameters:
                    resourceArn: acs:fc:::services/e2e/functions/{slow}
                    body:
                      item.$: $Input
                  End: true
      - StartAt: Slow
        States:
          - Type: Task
            Name: Slow
            Action: FC:InvokeFunction
            Parameters:
              resourceArn: acs:fc:::services/e2e/functions/{slow}
              body: {{}}
            End: true
  - Type: Pass
    Name: Done
    End: true
"""


def wait_flow(name, seconds):
    return f"""Type: StateMachine
Name: {name}
SpecVersion: v1
StartAt: Nap
States:
  - Type: Wait
    Name: Nap
    Seconds: {seconds}
    End: true
"""


def test_log_in_and_see_the_tenants_flows_only(console, fnf, browser):
    mine = unique("console_flow")
    create(fnf, mine, wait_flow(mine, 300))
    theirs = unique("console_other")
    create(console.client(*OTHER), theirs, wait_flow(theirs, 300))
    start(fnf, mine, "run-1")
    log_in(browser, console, ADMIN)
    row = wait_css(browser, f'#flows tr[data-flow="{mine}"]')
    wait_for(lambda: row.find_element("css selector", ".running").text == "1")
    assert "cloudflow" in row.text and "open" in row.text
    assert not css(browser, f'#flows tr[data-flow="{theirs}"]'), "another tenant's flow is listed"


def test_a_running_execution_turns_succeeded_without_a_reload(console, fnf, functions, browser):
    slow = unique("slow")
    functions.register(f"/e2e/{slow}", work(5, lambda call: (200, {"done": call.body})))
    flow = unique("console_fan")
    create(fnf, flow, fan_out_flow(flow, slow))
    start(fnf, flow, "watched", {"items": [1, 2, 3]})
    log_in(browser, console, ADMIN)
    open_execution(browser, console, flow, "watched")
    for state in ("Both", "Fan", "Item", "Slow"):
        wait_for(lambda: node_status(browser, state) == "running", timeout=5)
    assert node_status(browser, "Done") == "not-reached"
    for state in ("Item", "Slow", "Fan", "Both", "Done"):
        wait_for(lambda: node_status(browser, state) == "succeeded", timeout=15)
    wait_for(lambda: wait_css(browser, "#execution-status").get_attribute("data-status") == "succeeded")
    assert browser.execute_script("return window.notReloaded") is True
    # The timeline has a bar per run (three Map items), and the selected state its output.
    bars = css(browser, '#timeline .run[data-name="Item"]')
    assert len(bars) == 3, [b.get_attribute("data-status") for b in bars]
    css(browser, '#graph .node[data-name="Slow"]')[0].click()
    wait_for(lambda: "Output" in css(browser, "#state-detail")[0].text)
    assert '"done"' in css(browser, "#state-detail")[0].text
    browser.set_window_size(1440, 1400)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "execution-graph.png"))


def test_stop_with_a_cause_shows_stopped_within_a_second(console, fnf, functions, browser):
    stuck = unique("stuck")
    functions.register(f"/e2e/{stuck}", hang(60))
    flow = unique("console_stop")
    create(fnf, flow, fan_out_flow(flow, stuck))
    start(fnf, flow, "to-stop", {"items": [1]})
    log_in(browser, console, ADMIN)
    open_execution(browser, console, flow, "to-stop")
    wait_for(lambda: node_status(browser, "Slow") == "running", timeout=5)
    wait_for(lambda: len(functions.calls_to(f"/e2e/{stuck}")) == 2)
    cause = css(browser, '#stop-form input[name="cause"]')[0]
    cause.send_keys("stopped from the browser test")
    pressed = time.monotonic()
    css(browser, "#stop")[0].click()
    wait_for(lambda: css(browser, '#execution-status[data-status="stopped"]'), timeout=1)
    assert time.monotonic() - pressed < 1.0
    wait_for(lambda: node_status(browser, "Slow") == "stopped", timeout=1)
    assert "stopped from the browser test" in css(browser, "#execution-error")[0].text
    assert not css(browser, "#stop"), "a stopped execution still offers Stop"
    for call in functions.calls_to(f"/e2e/{stuck}"):
        wait_for(lambda: call.closed_at, timeout=2)
    stopped = describe(fnf, flow, "to-stop")
    assert stopped.status == "Stopped"


def flaky_flow(name, function):
    """One task: its function fails until it is told otherwise."""
    return f"""Type: StateMachine
Name: {name}
SpecVersion: v1
StartAt: Charge
States:
  - Type: Task
    Name: Charge
    Action: FC:InvokeFunction
    Parameters:
      resourceArn: acs:fc:::services/e2e/functions/{function}
      body: {{}}
    End: true
"""


def test_a_failed_execution_is_redriven_from_its_page(console, fnf, functions, browser):
    function = unique("flaky")
    healed = []
    functions.register(
        f"/e2e/{function}",
        lambda call, conn: (200, {"paid": True}) if healed else (500, {"errorCode": "Card.Declined", "errorMessage": "no"}),
    )
    flow = unique("console_redrive")
    create(fnf, flow, flaky_flow(flow, function))
    start(fnf, flow, "to-redrive")
    wait_for(lambda: describe(fnf, flow, "to-redrive").status == "Failed")
    log_in(browser, console, ADMIN)
    open_execution(browser, console, flow, "to-redrive")
    wait_for(lambda: css(browser, '#execution-status[data-status="failed"]'))
    healed.append(True)
    css(browser, "#redrive")[0].click()
    wait_for(lambda: css(browser, '#execution-status[data-status="succeeded"]'), timeout=5)
    assert browser.execute_script("return window.notReloaded") is True
    assert not css(browser, "#redrive"), "a succeeded execution still offers Redrive"
    assert "Redriven 1 time" in css(browser, "#redrive-count")[0].text
    assert len(functions.calls_to(f"/e2e/{function}")) == 2
    assert describe(fnf, flow, "to-redrive").status == "Succeeded"


def test_a_key_without_the_redrive_permission_sees_no_redrive_button(console, fnf, functions, browser):
    function = unique("declines")
    functions.register(f"/e2e/{function}", lambda call, conn: (500, {"errorCode": "Card.Declined", "errorMessage": "no"}))
    flow = unique("console_noredrive")
    create(fnf, flow, flaky_flow(flow, function))
    start(fnf, flow, "failed")
    wait_for(lambda: describe(fnf, flow, "failed").status == "Failed")
    log_in(browser, console, VIEWER)
    open_execution(browser, console, flow, "failed")
    wait_for(lambda: css(browser, '#execution-status[data-status="failed"]'))
    assert not css(browser, "#redrive")


def test_stop_all_two_hundred_running_executions(console, fnf, browser):
    flow = unique("console_bulk")
    create(fnf, flow, wait_flow(flow, 600))
    for i in range(200):
        start(fnf, flow, f"bulk-{i:03d}")
    start(fnf, flow, "kept-running")
    log_in(browser, console, ADMIN)
    browser.get(f"{console.endpoint}/console/#/executions?flow={flow}&status=running&name_prefix=bulk-")
    wait_css(browser, "#executions tr[data-execution]")
    wait_css(browser, "#stop-all").click()
    confirm = wait_css(browser, "#confirm-stop-all")
    assert confirm.text == "Stop all 200"
    confirm.click()
    percents = []

    def finished():
        box = css(browser, "#job")
        if not box:
            return False
        percents.append(int(box[0].get_attribute("data-percent")))
        return box[0].get_attribute("data-percent") == "100"

    wait_for(finished, timeout=60)
    assert percents == sorted(percents), f"the progress bar went back: {percents}"
    counters = css(browser, "#job-counters")[0].text
    assert "matched 200" in counters and "stopped 200" in counters, counters
    stopped = [describe(fnf, flow, f"bulk-{i:03d}").status for i in (0, 99, 199)]
    assert stopped == ["Stopped"] * 3
    assert describe(fnf, flow, "kept-running").status == "Running"


def test_a_key_without_the_stop_permission_sees_no_stop_button(console, fnf, browser):
    flow = unique("console_view")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "watched")
    log_in(browser, console, VIEWER)
    open_execution(browser, console, flow, "watched")
    wait_for(lambda: css(browser, '#execution-status[data-status="running"]'))
    assert not css(browser, "#stop"), "a key without the stop permission is offered Stop"
    browser.get(f"{console.endpoint}/console/#/executions?flow={flow}")
    wait_css(browser, '#executions tr[data-execution="watched"]')
    assert not css(browser, "#stop-all")
    # Sending the stop anyway, with the session's own CSRF token, is refused.
    status = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const session = await (await fetch('/console/session')).json();
        const r = await fetch(arguments[0], {method: 'POST', headers: {'Content-Type': 'application/json',
          'X-CSRF-Token': session.csrf_token}, body: JSON.stringify({cause: 'sneaky'})});
        done(r.status);
        """,
        f"/api/v1/flows/{flow}/executions/watched/stop",
    )
    assert status == 403
    assert describe(fnf, flow, "watched").status == "Running"


def session_request(console, path, method="GET", cookie=None, csrf=None, body=None):
    headers = {"Content-Type": "application/json"}
    if cookie:
        headers["Cookie"] = cookie
    if csrf:
        headers["X-CSRF-Token"] = csrf
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{console.endpoint}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_the_session_cookie_needs_csrf_for_changes_and_ends_at_log_out(console, fnf):
    status, _, _ = session_request(console, "/console/login", "POST", body={"key_id": ADMIN[0], "secret": "wrong"})
    assert status == 401
    status, headers, body = session_request(console, "/console/login", "POST", body={"key_id": ADMIN[0], "secret": ADMIN[1]})
    assert status == 200
    set_cookie = headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Max-Age=" in set_cookie
    cookie = set_cookie.split(";")[0]
    csrf = json.loads(body)["csrf_token"]
    assert session_request(console, "/api/v1/flows", cookie=cookie)[0] == 200
    flow = unique("console_csrf")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "run")
    stop = f"/api/v1/flows/{flow}/executions/run/stop"
    assert session_request(console, stop, "POST", cookie=cookie, body={})[0] == 403
    assert describe(fnf, flow, "run").status == "Running"
    assert session_request(console, "/console/logout", "POST", cookie=cookie, csrf=csrf)[0] == 204
    assert session_request(console, "/api/v1/flows", cookie=cookie)[0] == 401

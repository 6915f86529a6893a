"""The `sluice` CLI's client commands, run as a user runs them (the binary, its environment
variables, its exit codes) against a real `sluice serve`: every subcommand, `watch`'s exit codes,
one-line errors, and a bulk stop of 1,000 running executions."""

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import BINARY, KEY_ID, KEY_SECRET
from functions import fail, hang
from test_cloudflow import create, pass_flow, start, task_flow, unique, wait_for, wait_flow


def sluice_cli(server, *args, key=(KEY_ID, KEY_SECRET), timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(SLUICE_ENDPOINT=server.endpoint, SLUICE_ACCESS_KEY_ID=key[0], SLUICE_ACCESS_KEY_SECRET=key[1])
    return subprocess.run([BINARY, *args], env=env, capture_output=True, text=True, timeout=timeout)


def ok(result):
    assert result.returncode == 0, result.stderr
    return result.stdout


def as_json(result):
    return json.loads(ok(result))


def test_flows_list_shows_every_flow_in_both_outputs(sluice, fnf):
    flow = unique("cliflow")
    create(fnf, flow, pass_flow(flow))
    table = ok(sluice_cli(sluice, "flows", "list"))
    assert "NAME" in table.splitlines()[0]
    [row] = [line for line in table.splitlines() if flow in line]
    assert "cloudflow" in row and "open" in row
    flows = as_json(sluice_cli(sluice, "flows", "list", "--output", "json"))
    assert [f["revision"] for f in flows if f["name"] == flow] == [1]


def test_start_describe_history_and_list(sluice, fnf, tmp_path):
    flow = unique("clirun")
    create(fnf, flow, pass_flow(flow))
    input_file = tmp_path / "input.json"
    input_file.write_text('{"name": "file"}')
    started = as_json(sluice_cli(sluice, "executions", "start", flow, "--name", "one", "--input", f"@{input_file}", "--output", "json"))
    assert started["name"] == "one"
    assert "started two of" in ok(sluice_cli(sluice, "executions", "start", flow, "--name", "two", "--input", '{"name": "arg"}'))
    wait_for(lambda: as_json(sluice_cli(sluice, "executions", "describe", flow, "one", "--output", "json"))["status"] == "succeeded")
    described = as_json(sluice_cli(sluice, "executions", "describe", flow, "one", "--output", "json"))
    assert described["input"] == {"name": "file"} and described["output"] == {"greeting": "Hello, file!"}
    text = ok(sluice_cli(sluice, "executions", "describe", flow, "one"))
    assert "status      succeeded" in text and "Greet" in text
    events = as_json(sluice_cli(sluice, "executions", "history", flow, "one", "--output", "json"))
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    assert "ExecutionSucceeded" in ok(sluice_cli(sluice, "executions", "history", flow, "one"))
    listed = as_json(sluice_cli(sluice, "executions", "list", "--flow", flow, "--output", "json"))
    assert [e["name"] for e in listed] == ["two", "one"]
    wait_for(lambda: as_json(sluice_cli(sluice, "executions", "describe", flow, "two", "--output", "json"))["status"] == "succeeded")
    by_status = lambda s: [e["name"] for e in as_json(sluice_cli(sluice, "executions", "list", "--flow", flow, "--status", s, "--output", "json"))]  # noqa: E731
    assert by_status("running") == [] and by_status("succeeded") == ["two", "one"]
    assert "one" in ok(sluice_cli(sluice, "executions", "list", "--flow", flow, "--name-prefix", "o"))


def test_stop_then_stopping_again_is_one_line_error(sluice, fnf, functions):
    functions.register("/e2e/clihang", hang(60))
    flow = unique("clistop")
    create(fnf, flow, task_flow(flow, "clihang"))
    start(fnf, flow, "s")
    wait_for(lambda: functions.calls_to("/e2e/clihang"))
    assert "s of " in ok(sluice_cli(sluice, "executions", "stop", flow, "s", "--error", "Manual", "--cause", "from the CLI"))
    described = as_json(sluice_cli(sluice, "executions", "describe", flow, "s", "--output", "json"))
    assert (described["status"], described["error"], described["cause"]) == ("stopped", "Manual", "from the CLI")
    again = sluice_cli(sluice, "executions", "stop", flow, "s")
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "already completed" in again.stderr and "409" in again.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (("executions", "describe", "no_such_flow", "x"), "does not exist (404"),
        (("flows", "list", "--endpoint", "http://127.0.0.1:1"), "cannot reach"),
        (("executions", "list", "--status", "paused"), "400"),
        (("executions", "start", "f", "--input", "{not json"), "the input is not JSON"),
    ],
)
def test_errors_are_one_line_and_exit_1(sluice, args, needle):
    result = sluice_cli(sluice, *args)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr


def test_a_wrong_secret_is_refused(sluice):
    result = sluice_cli(sluice, "flows", "list", key=(KEY_ID, "wrong"))
    assert result.returncode == 1 and "401" in result.stderr


def test_watch_prints_states_and_exits_with_the_outcome(sluice, fnf, functions):
    flow = unique("cliwatch")
    create(fnf, flow, wait_flow(flow, 1))
    start(fnf, flow, "w")
    watched = sluice_cli(sluice, "executions", "watch", flow, "w")
    assert watched.returncode == 0, watched.stderr
    lines = watched.stdout.splitlines()
    assert any(line.endswith("Sleep exited") for line in lines), lines
    assert lines[-1].endswith("w succeeded")

    functions.register("/e2e/clifail", fail("Boom"))
    failing = unique("clifail")
    create(fnf, failing, task_flow(failing, "clifail"))
    start(fnf, failing, "f")
    assert sluice_cli(sluice, "executions", "watch", failing, "f").returncode == 10

    functions.register("/e2e/cliwatchhang", hang(60))
    stopping = unique("cliwatchstop")
    create(fnf, stopping, task_flow(stopping, "cliwatchhang"))
    start(fnf, stopping, "s")
    watcher = subprocess.Popen(
        [BINARY, "executions", "watch", stopping, "s"],
        env=dict(os.environ, SLUICE_ENDPOINT=sluice.endpoint, SLUICE_ACCESS_KEY_ID=KEY_ID, SLUICE_ACCESS_KEY_SECRET=KEY_SECRET),
        stdout=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: functions.calls_to("/e2e/cliwatchhang"))
    time.sleep(0.5)
    ok(sluice_cli(sluice, "executions", "stop", stopping, "s"))
    assert watcher.wait(timeout=10) == 12
    assert "Call entered" in watcher.stdout.read()


def test_bulk_stop_of_1000_running_executions(sluice, fnf):
    flow = unique("clibulk")
    create(fnf, flow, wait_flow(flow, 3600))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: start(fnf, flow, f"b{i:04d}"), range(1000)))
    running = as_json(sluice_cli(sluice, "executions", "list", "--flow", flow, "--status", "running", "--limit", "1000", "--output", "json"))
    assert len(running) == 1000
    result = sluice_cli(sluice, "stop", "--flow", flow, "--cause", "bulk from the CLI")
    assert result.returncode == 0, result.stderr
    progress = result.stderr.splitlines()
    assert progress[-1] == "succeeded 1000/1000", progress[-5:]
    assert "matched 1000, stopped 1000, already completed 0, failed 0" in result.stdout
    assert as_json(sluice_cli(sluice, "executions", "list", "--flow", flow, "--status", "running", "--output", "json")) == []
    stopped = as_json(sluice_cli(sluice, "executions", "list", "--flow", flow, "--status", "stopped", "--limit", "1000", "--output", "json"))
    assert len(stopped) == 1000

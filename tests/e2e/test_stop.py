"""Stop, in every situation of DESIGN.md's stop contract, through the official CloudFlow SDK.

Each test stops an execution while it is somewhere particular (an in-flight call, a retry backoff,
a callback wait, deep inside nested Parallel/Map, a flow being deleted) and checks what a user
can see: the answer, the status, the history, and on the function side that every open
connection was closed within 100 ms of the stop's answer and no further call was made.
"""

import json
import pathlib
import re
import time
import urllib.request

from alibabacloud_fnf20190315 import models as m

from functions import answer, fail, hang
from test_cloudflow import create, describe, error_code, start, task_flow, unique, wait_for

DATA = pathlib.Path(__file__).parent / "data"
CLOSE_WITHIN = 0.1  # seconds between the stop's answer and the function seeing its call closed


def stop(fnf, flow, execution):
    stopped = fnf.stop_execution(
        m.StopExecutionRequest(flow_name=flow, execution_name=execution, error="Manual", cause="by the test")
    ).body
    return stopped, time.monotonic()


def history(fnf, flow, execution):
    return fnf.get_execution_history(m.GetExecutionHistoryRequest(flow_name=flow, execution_name=execution)).body.events


def assert_stopped_history(fnf, flow, execution):
    events = history(fnf, flow, execution)
    ids = [e.event_id for e in events]
    assert ids == list(range(1, len(ids) + 1)), f"history ids are not dense: {ids}"
    assert events[-1].type == "ExecutionStopped", [e.type for e in events]
    assert sum(e.type == "ExecutionStopped" for e in events) == 1
    return events


def assert_all_closed(calls, answered, within=CLOSE_WITHIN):
    for call in calls:
        wait_for(lambda: call.closed_at, timeout=2)
        assert call.closed_at - answered < within, (
            f"a call to {call.path} stayed open {call.closed_at - answered:.3f} s after the stop"
        )


def retry_flow(name, function, interval):
    return task_flow(
        name,
        function,
        extra=f"""    Retry:
      - Errors: ["FnF.ALL"]
        MaxAttempts: 5
        IntervalSeconds: {interval}
        BackoffRate: 1
""",
    )


def nested_flow(name):
    return (DATA / "nested_hang.yaml").read_text().replace("NAME", name)


def test_stop_during_a_retry_backoff_makes_no_further_call(fnf, functions):
    path = "/e2e/flaky"
    functions.register(path, fail("Transient.Error"))
    flow = unique("stop_backoff")
    create(fnf, flow, retry_flow(flow, "flaky", interval=2))
    start(fnf, flow, "r")
    wait_for(lambda: functions.calls_to(path))
    time.sleep(0.2)  # the first attempt has failed; the execution now sleeps its 2 s backoff
    assert describe(fnf, flow, "r").status == "Running"
    stopped, _ = stop(fnf, flow, "r")
    assert stopped.status == "Stopped"
    time.sleep(3)  # past the moment the retry would have fired
    assert len(functions.calls_to(path)) == 1, "a stopped execution retried its task"
    assert describe(fnf, flow, "r").status == "Stopped"
    assert_stopped_history(fnf, flow, "r")


def test_stop_during_a_callback_wait_refuses_the_late_report(fnf, functions):
    functions.register("/e2e/ask", answer({"asked": True}))
    flow = unique("stop_callback")
    create(fnf, flow, task_flow(flow, "ask", extra="    TaskMode: WaitForCustomCallback\n", token=True))
    start(fnf, flow, "c", {"item": 1})
    token = wait_for(lambda: (functions.calls_to("/e2e/ask") or [None])[-1]).body["token"]
    stopped, _ = stop(fnf, flow, "c")
    assert stopped.status == "Stopped"
    late = error_code(
        lambda: fnf.report_task_succeeded(m.ReportTaskSucceededRequest(task_token=token, output=json.dumps({"ok": 1})))
    )
    assert late == ("TaskAlreadyCompleted", 400)
    done = describe(fnf, flow, "c")
    assert done.status == "Stopped" and not done.output
    assert_stopped_history(fnf, flow, "c")


def test_stop_closes_every_call_deep_inside_nested_parallel_and_map(fnf, functions):
    functions.register("/e2e/hang", hang())
    flow = unique("stop_nested")
    create(fnf, flow, nested_flow(flow))
    before = len(functions.calls_to("/e2e/hang"))
    start(fnf, flow, "n", {"items": [1, 2, 3]})
    wait_for(lambda: len(functions.calls_to("/e2e/hang")) - before == 4)
    calls = functions.calls_to("/e2e/hang")[before:]
    stopped, answered = stop(fnf, flow, "n")
    assert stopped.status == "Stopped"
    assert_all_closed(calls, answered)
    events = assert_stopped_history(fnf, flow, "n")
    assert sum(e.type == "TaskScheduled" for e in events) == 4


def test_stop_of_a_finished_execution_is_refused_and_changes_nothing(fnf, functions):
    functions.register("/e2e/quick", answer({"done": True}))
    flow = unique("stop_finished")
    create(fnf, flow, task_flow(flow, "quick"))
    start(fnf, flow, "f")
    done = describe(fnf, flow, "f", wait=10)
    assert done.status == "Succeeded"
    before = history(fnf, flow, "f")
    assert error_code(lambda: stop(fnf, flow, "f")) == ("ExecutionAlreadyCompleted", 400)
    after = describe(fnf, flow, "f")
    assert after.status == "Succeeded" and after.output == done.output
    assert [e.event_id for e in history(fnf, flow, "f")] == [e.event_id for e in before]


def stopped_count(sluice):
    with urllib.request.urlopen(f"http://127.0.0.1:{sluice.port}/metrics", timeout=5) as r:
        text = r.read().decode()
    found = re.search(r'^sluice_executions_finished_total\{status="Stopped"\} (\d+)', text, re.M)
    return int(found.group(1)) if found else 0


def test_delete_flow_stops_its_running_executions(fnf, functions, sluice):
    functions.register("/e2e/hang", hang())
    flow = unique("stop_delete")
    create(fnf, flow, task_flow(flow, "hang"))
    before_calls = len(functions.calls_to("/e2e/hang"))
    before_stopped = stopped_count(sluice)
    for name in ("d1", "d2", "d3"):
        start(fnf, flow, name)
    wait_for(lambda: len(functions.calls_to("/e2e/hang")) - before_calls == 3)
    calls = functions.calls_to("/e2e/hang")[before_calls:]
    fnf.delete_flow(m.DeleteFlowRequest(name=flow))
    answered = time.monotonic()
    assert_all_closed(calls, answered)
    assert stopped_count(sluice) - before_stopped == 3
    assert error_code(lambda: describe(fnf, flow, "d1")) == ("FlowNotExists", 404)

"""The official CloudFlow SDK (alibabacloud-fnf20190315) against a real `sluice serve`."""

import json
import time
import uuid

import pytest
from alibabacloud_fnf20190315 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from functions import answer, echo, fail, hang


def unique(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def pass_flow(name):
    return f"""Type: StateMachine
Name: {name}
SpecVersion: v1
StartAt: Greet
States:
  - Type: Pass
    Name: Greet
    InputConstructor:
      greeting.$: format("Hello, {{}}!", $Input.name)
    End: true
"""


def task_flow(name, function, extra="", token=False):
    token_line = "        token.$: $Context.Current.TaskToken\n" if token else ""
    return f"""Type: StateMachine
Name: {name}
SpecVersion: v1
StartAt: Call
States:
  - Type: Task
    Name: Call
    Action: FC:InvokeFunction
{extra}    Parameters:
      resourceArn: acs:fc:::services/e2e/functions/{function}
      body:
        order.$: $Input
{token_line}    End: true
"""


def wait_flow(name, seconds):
    return f"""Type: StateMachine
Name: {name}
SpecVersion: v1
StartAt: Sleep
States:
  - Type: Wait
    Name: Sleep
    Seconds: {seconds}
    End: true
"""


def create(fnf, name, definition, description="e2e"):
    return fnf.create_flow(
        m.CreateFlowRequest(name=name, definition=definition, description=description, type="FDL")
    ).body


def start(fnf, flow, execution=None, input=None):
    return fnf.start_execution(
        m.StartExecutionRequest(flow_name=flow, execution_name=execution, input=json.dumps(input or {}))
    ).body


def describe(fnf, flow, execution, wait=0):
    return fnf.describe_execution(
        m.DescribeExecutionRequest(flow_name=flow, execution_name=execution, wait_time_seconds=wait)
    ).body


def error_code(call):
    with pytest.raises(ClientException) as raised:
        call()
    return raised.value.code, raised.value.status_code


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


def test_flow_lifecycle(fnf):
    name = unique("flow")
    created = create(fnf, name, pass_flow(name), "first")
    assert created.name == name and created.type == "FDL" and created.description == "first"
    assert created.created_time.endswith("Z") and "." in created.created_time

    described = fnf.describe_flow(m.DescribeFlowRequest(name=name)).body
    assert described.definition == pass_flow(name)

    updated = fnf.update_flow(m.UpdateFlowRequest(name=name, description="second")).body
    assert updated.description == "second"

    listed = fnf.list_flows(m.ListFlowsRequest(limit=1000)).body
    assert name in [f.name for f in listed.flows]

    fnf.delete_flow(m.DeleteFlowRequest(name=name))
    assert error_code(lambda: fnf.describe_flow(m.DescribeFlowRequest(name=name))) == ("FlowNotExists", 404)


def test_execution_runs_to_its_output(fnf):
    flow = unique("hello")
    create(fnf, flow, pass_flow(flow))
    started = start(fnf, flow, "run-1", {"name": "world"})
    assert started.name == "run-1"
    done = describe(fnf, flow, "run-1", wait=10)
    assert done.status == "Succeeded"
    assert json.loads(done.output) == {"greeting": "Hello, world!"}
    assert json.loads(done.input) == {"name": "world"}
    assert done.stopped_time


def test_history_ids_are_dense(fnf, functions):
    functions.register("/e2e/echo", echo())
    flow = unique("history")
    create(fnf, flow, task_flow(flow, "echo"))
    start(fnf, flow, "h", {"a": 1})
    assert describe(fnf, flow, "h", wait=10).status == "Succeeded"
    events = fnf.get_execution_history(
        m.GetExecutionHistoryRequest(flow_name=flow, execution_name="h", limit=1000)
    ).body.events
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "ExecutionStarted" and events[-1].type == "ExecutionSucceeded"
    assert "TaskScheduled" in [e.type for e in events]


def test_calls_name_the_flow_and_the_execution_by_name(fnf, functions):
    """docs/function-protocol.md: X-Sluice-Execution is the execution's name, X-Sluice-Flow
    its flow's; the idempotency key is the same for one call and differs between executions
    of the same name in two flows."""
    functions.register("/e2e/headers", echo())
    keys = []
    for flow in (unique("headers"), unique("headers")):
        create(fnf, flow, task_flow(flow, "headers"))
        before = len(functions.calls_to("/e2e/headers"))
        start(fnf, flow, "named-run")
        assert describe(fnf, flow, "named-run", wait=10).status == "Succeeded"
        call = functions.calls_to("/e2e/headers")[before]
        headers = {k.lower(): v for k, v in call.headers.items()}
        assert headers["x-sluice-execution"] == "named-run"
        assert headers["x-sluice-flow"] == flow
        assert (headers["x-sluice-state"], headers["x-sluice-attempt"]) == ("Call", "0")
        keys.append(headers["x-sluice-idempotency-key"])
    assert keys[0] != keys[1], keys


def test_stop_closes_the_in_flight_function_call(fnf, functions):
    functions.register("/e2e/hang", hang())
    flow = unique("stop_call")
    create(fnf, flow, task_flow(flow, "hang"))
    start(fnf, flow, "s")
    call = wait_for(lambda: (functions.calls_to("/e2e/hang") or [None])[-1])
    stopped = fnf.stop_execution(
        m.StopExecutionRequest(flow_name=flow, execution_name="s", error="Manual", cause="by the test")
    ).body
    answered = time.monotonic()
    assert stopped.status == "Stopped" and stopped.stopped_time
    wait_for(lambda: call.closed_at, timeout=2)
    assert call.closed_at - answered < 0.1, "the function's connection stayed open after the stop"
    assert describe(fnf, flow, "s").status == "Stopped"


def test_stop_during_a_wait_and_on_a_finished_execution(fnf):
    flow = unique("stop_wait")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "w")
    stopped = fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="w")).body
    assert stopped.status == "Stopped"
    code = error_code(lambda: fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="w")))
    assert code == ("ExecutionAlreadyCompleted", 400)


def test_callback_task_and_late_report(fnf, functions):
    functions.register("/e2e/notify", answer({"submitted": True}))
    flow = unique("callback")
    create(fnf, flow, task_flow(flow, "notify", extra="    TaskMode: WaitForCustomCallback\n", token=True))
    start(fnf, flow, "c", {"item": 7})
    call = wait_for(lambda: (functions.calls_to("/e2e/notify") or [None])[-1])
    token = call.body["token"]
    assert call.body["order"] == {"item": 7}
    time.sleep(0.1)
    assert describe(fnf, flow, "c").status == "Running"
    reported = fnf.report_task_succeeded(
        m.ReportTaskSucceededRequest(task_token=token, output=json.dumps({"approved": True}))
    ).body
    assert reported.event_id > 0
    done = describe(fnf, flow, "c", wait=10)
    assert done.status == "Succeeded" and json.loads(done.output) == {"approved": True}
    code = error_code(
        lambda: fnf.report_task_failed(m.ReportTaskFailedRequest(task_token=token, error="Late", cause="too late"))
    )
    assert code == ("TaskAlreadyCompleted", 400)


def test_function_failure_fails_the_execution_with_its_code(fnf, functions):
    functions.register("/e2e/broken", fail("Broken.Thing"))
    flow = unique("broken")
    create(fnf, flow, task_flow(flow, "broken"))
    start(fnf, flow, "b")
    assert describe(fnf, flow, "b", wait=10).status == "Failed"
    events = fnf.get_execution_history(
        m.GetExecutionHistoryRequest(flow_name=flow, execution_name="b")
    ).body.events
    assert "Broken.Thing" in events[-1].event_detail


def test_errors_have_the_vendor_codes(fnf, sluice):
    flow = unique("errors")
    create(fnf, flow, pass_flow(flow))
    assert error_code(lambda: create(fnf, flow, pass_flow(flow))) == ("FlowAlreadyExists", 409)
    assert error_code(lambda: describe(fnf, unique("none"), "x")) == ("FlowNotExists", 404)
    assert error_code(lambda: describe(fnf, flow, "missing")) == ("ExecutionNotExists", 404)
    assert error_code(lambda: create(fnf, unique("bad"), "Type: StateMachine\nStates: [")) == ("InvalidArgument", 400)
    wrong_secret = sluice.client(secret="not-the-secret")
    assert error_code(lambda: wrong_secret.list_flows(m.ListFlowsRequest()))[0] == "SignatureNotMatch"
    unknown_key = sluice.client(key_id="nobody")
    assert error_code(lambda: unknown_key.list_flows(m.ListFlowsRequest()))[0] == "InvalidAccessKeyID"


def test_metrics_count_executions(fnf, sluice):
    import urllib.request

    flow = unique("metrics")
    create(fnf, flow, pass_flow(flow))
    start(fnf, flow, "m", {"name": "x"})
    assert describe(fnf, flow, "m", wait=10).status == "Succeeded"
    with urllib.request.urlopen(f"http://127.0.0.1:{sluice.port}/metrics", timeout=5) as r:
        text = r.read().decode()
    assert "sluice_executions_started_total" in text
    assert 'sluice_executions_finished_total{status="Succeeded"}' in text

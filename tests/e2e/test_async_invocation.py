"""`invocationType: Async` through the official SDK (alibabacloud-fnf20190315) and a real
`sluice serve`, with a function server on 127.0.0.1 that works a while before it answers: the
state is done once the function has the request (its output the invocation's `RequestId`), the
function works on to the end, and a stop of the execution does not hang up on it. Under
`WaitForSystemCallback` the state waits for the function to finish.
"""

import json
import time

from alibabacloud_fnf20190315 import models as m

from functions import work
from test_cloudflow import create, describe, start, unique, wait_for

WORK = 3  # seconds the function works before it answers


def async_flow(name, function, then, mode="RequestComplete"):
    return f"""Type: StateMachine
Name: {name}
SpecVersion: v1
StartAt: Submit
States:
  - Type: Task
    Name: Submit
    Action: FC:InvokeFunction
    TaskMode: {mode}
    Parameters:
      resourceArn: acs:fc:::services/e2e/functions/{function}
      invocationType: Async
      body:
        order.$: $Input.order
    Next: Then
{then}"""


PASS = """  - Type: Pass
    Name: Then
    End: true
"""
SLEEP = """  - Type: Wait
    Name: Then
    Seconds: 300
    End: true
"""


def calling_a_working_function(fnf, functions, then, mode="RequestComplete"):
    """A new flow whose Async task calls a new function that works `WORK` seconds; the flow
    and the function's path."""
    function = unique("works")
    path = f"/e2e/{function}"
    functions.register(path, work(WORK, lambda call: (200, {"done": True})))
    flow = unique("async")
    create(fnf, flow, async_flow(flow, function, then, mode))
    return flow, path


def test_the_state_is_done_while_the_function_still_works(fnf, functions):
    flow, function = calling_a_working_function(fnf, functions, PASS)

    began = time.monotonic()
    start(fnf, flow, "a", {"order": 42})
    done = describe(fnf, flow, "a", wait=WORK * 2)
    took = time.monotonic() - began
    assert done.status == "Succeeded"
    assert took < WORK, f"the execution took {took:.1f} s, as long as the function"

    (call,) = functions.calls_to(function)
    assert call.answered_at is None, "the function still works"
    assert call.body == {"order": 42}
    assert call.headers["x-fc-invocation-type"] == "Async"
    assert json.loads(done.output) == {"RequestId": call.headers["x-fc-request-id"]}

    wait_for(lambda: call.answered_at, timeout=WORK * 3)
    assert call.closed_at is None, "sluice hung up on the function"


def test_a_stop_does_not_abort_an_accepted_invocation(fnf, functions):
    flow, function = calling_a_working_function(fnf, functions, SLEEP)

    start(fnf, flow, "s", {"order": 7})
    (call,) = wait_for(lambda: functions.calls_to(function))
    wait_for(lambda: describe(fnf, flow, "s").status == "Running" and any(
        e.step_name == "Then" for e in fnf.get_execution_history(
            m.GetExecutionHistoryRequest(flow_name=flow, execution_name="s")).body.events))
    stopped = fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="s")).body
    assert stopped.status == "Stopped"
    assert call.answered_at is None and call.closed_at is None

    wait_for(lambda: call.answered_at, timeout=WORK * 3)
    assert call.closed_at is None, "the stop hung up on an accepted invocation"


def test_wait_for_system_callback_waits_for_the_function_to_finish(fnf, functions):
    flow, function = calling_a_working_function(fnf, functions, PASS, mode="WaitForSystemCallback")

    began = time.monotonic()
    start(fnf, flow, "w", {"order": 1})
    done = describe(fnf, flow, "w", wait=WORK * 3)
    assert done.status == "Succeeded"
    assert time.monotonic() - began >= WORK
    assert json.loads(done.output) == {"done": True}
    (call,) = functions.calls_to(function)
    assert "x-fc-invocation-type" not in call.headers

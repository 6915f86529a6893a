"""Nested executions (boto3) against a real `sluice serve`: a Task state whose `Resource` is
`arn:aws:states:::states:startExecution[.sync[:2]]` starts an execution of another state
machine (Developer Guide, "Start a new AWS Step Functions state machine from a running
execution"; "Start workflow executions from a task state" for
`AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID`).

`.sync` waits for the child and hands on its `DescribeExecution` with `Output` as text,
`.sync:2` with `Output` as JSON; a child that does not succeed fails the task with
`States.TaskFailed`, its description as the cause. Without a suffix the task ends once the
child started, and the child runs on by itself. A waited-for child is stopped with its parent,
in the parent's stop, its Lambda call's connection closed: the stop contract's item 3; on
PostgreSQL also when the stop is sent to another node than the one making the child's call.
"""

import json
import time

import pytest

from conftest import POSTGRES, Sluice, fresh_database
from functions import answer, hang
from test_cloudflow import unique, wait_for
from test_stepfunctions import ROLE, create, finished, history_types, lambda_arn
from test_stop import CLOSE_WITHIN

START = "arn:aws:states:::states:startExecution"
ABORT_WITHIN = 0.2  # seconds between a stop's answer on one node and the call closed by another


@pytest.fixture(scope="module")
def sfn(sluice):
    return sluice.stepfunctions()


def machine(sfn, states, start_at):
    return create(sfn, json.dumps({"StartAt": start_at, "States": states}))


def parent_of(sfn, child, resource, **parameters):
    """A machine whose `Run` task starts `child` with the parent's input."""
    arguments = {
        "StateMachineArn": child,
        "Input": {"from.$": "$", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
        **parameters,
    }
    run = {"Type": "Task", "Resource": resource, "Parameters": arguments, "End": True}
    return machine(sfn, {"Run": run}, "Run")


def passing_child(sfn):
    return machine(sfn, {"Done": {"Type": "Pass", "Parameters": {"doubled.$": "$.from.n"}, "End": True}}, "Done")


def child_execution(output):
    return output["ExecutionArn"]


def test_sync_hands_on_the_child_output_as_text(sfn):
    child = passing_child(sfn)
    parent = parent_of(sfn, child, f"{START}.sync")
    execution = sfn.start_execution(stateMachineArn=parent, input='{"n": 21}')["executionArn"]
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["Status"] == "SUCCEEDED"
    assert json.loads(output["Output"]) == {"doubled": 21}
    assert output["StateMachineArn"] == child
    described = sfn.describe_execution(executionArn=child_execution(output))
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["input"]) == {
        "from": {"n": 21}, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": execution,
    }
    # The child is one of its machine's executions.
    listed = sfn.list_executions(stateMachineArn=child)["executions"]
    assert [e["executionArn"] for e in listed] == [child_execution(output)]
    assert history_types(sfn, execution) == [
        "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted",
        "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]
    events = sfn.get_execution_history(executionArn=execution)["events"]
    scheduled = events[2]["taskScheduledEventDetails"]
    assert (scheduled["resourceType"], scheduled["resource"]) == ("states", "startExecution.sync")
    assert json.loads(scheduled["parameters"])["StateMachineArn"] == child
    submitted = events[4]["taskSubmittedEventDetails"]
    assert (submitted["resourceType"], submitted["resource"]) == ("states", "startExecution.sync")
    assert json.loads(submitted["output"])["ExecutionArn"] == child_execution(output)
    succeeded = json.loads(events[5]["taskSucceededEventDetails"]["output"])
    assert succeeded["Status"] == "SUCCEEDED"


def test_sync_2_hands_on_the_child_output_as_json_and_names_it(sfn):
    child = passing_child(sfn)
    parent = parent_of(sfn, child, f"{START}.sync:2", Name="nested-by-name")
    execution = sfn.start_execution(stateMachineArn=parent, input='{"n": 4}')["executionArn"]
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["Output"] == {"doubled": 4}
    assert output["Name"] == "nested-by-name"
    assert child_execution(output).endswith(":nested-by-name")


def test_a_failed_child_fails_the_task_with_states_task_failed(sfn):
    child = machine(sfn, {"Boom": {"Type": "Fail", "Error": "Child.Broken", "Cause": "on purpose"}}, "Boom")
    parent = parent_of(sfn, child, f"{START}.sync:2")
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    done = finished(sfn, execution)
    assert (done["status"], done["error"]) == ("FAILED", "States.TaskFailed"), done
    cause = json.loads(done["cause"])
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "Child.Broken", "on purpose")
    assert sfn.describe_execution(executionArn=cause["ExecutionArn"])["status"] == "FAILED"
    assert "TaskFailed" in history_types(sfn, execution)


def test_a_missing_child_machine_fails_the_task(sfn):
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:" + unique("missing")
    parent = parent_of(sfn, missing, f"{START}.sync")
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    done = finished(sfn, execution)
    assert (done["status"], done["error"]) == ("FAILED", "States.TaskFailed"), done


def test_fire_and_forget_returns_the_start_and_the_child_runs_on(sfn):
    child = machine(sfn, {"Sleep": {"Type": "Wait", "Seconds": 2, "End": True}}, "Sleep")
    parent = parent_of(sfn, child, START)
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert set(output) == {"ExecutionArn", "StartDate"}
    started = sfn.describe_execution(executionArn=output["ExecutionArn"])
    assert started["status"] == "RUNNING"
    assert finished(sfn, output["ExecutionArn"])["status"] == "SUCCEEDED"


def test_fire_and_forget_children_are_not_stopped_with_their_parent(sfn):
    child = machine(sfn, {"Sleep": {"Type": "Wait", "Seconds": 300, "End": True}}, "Sleep")
    run = {"Type": "Task", "Resource": START, "Parameters": {"StateMachineArn": child}, "Next": "Hold"}
    parent = machine(sfn, {"Run": run, "Hold": {"Type": "Wait", "Seconds": 300, "End": True}}, "Run")
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    listed = wait_for(lambda: sfn.list_executions(stateMachineArn=child)["executions"])
    sfn.stop_execution(executionArn=execution)
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    assert sfn.describe_execution(executionArn=listed[0]["executionArn"])["status"] == "RUNNING"
    sfn.stop_execution(executionArn=listed[0]["executionArn"])


def test_stopping_the_parent_stops_its_waiting_child_and_closes_the_child_call(sfn, functions):
    function = unique("hang")
    functions.register(f"/{function}", hang())
    child = machine(sfn, {
        "Call": {"Type": "Task", "Resource": lambda_arn(function), "Next": "Sleep"},
        "Sleep": {"Type": "Wait", "Seconds": 60, "End": True},
    }, "Call")
    parent = parent_of(sfn, child, f"{START}.sync")
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    [call] = wait_for(lambda: functions.calls_to(f"/{function}"))
    [nested] = sfn.list_executions(stateMachineArn=child)["executions"]

    sfn.stop_execution(executionArn=execution, error="Operator.Halt", cause="stop the tree")
    answered = time.monotonic()
    # Both ended in the parent's stop: nothing to wait for.
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    assert sfn.describe_execution(executionArn=nested["executionArn"])["status"] == "ABORTED"
    wait_for(lambda: call.closed_at, timeout=5)
    assert call.closed_at - answered < CLOSE_WITHIN
    assert history_types(sfn, nested["executionArn"])[-1] == "ExecutionAborted"
    assert history_types(sfn, execution)[-1] == "ExecutionAborted"


def test_stopping_the_parent_stops_a_child_in_a_wait_and_its_own_child(sfn):
    grandchild = machine(sfn, {"Sleep": {"Type": "Wait", "Seconds": 60, "End": True}}, "Sleep")
    child = parent_of(sfn, grandchild, f"{START}.sync:2")
    parent = parent_of(sfn, child, f"{START}.sync:2")
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    [deepest] = wait_for(lambda: sfn.list_executions(stateMachineArn=grandchild)["executions"])
    [middle] = sfn.list_executions(stateMachineArn=child)["executions"]
    sfn.stop_execution(executionArn=execution)
    statuses = [
        sfn.describe_execution(executionArn=arn)["status"]
        for arn in (execution, middle["executionArn"], deepest["executionArn"])
    ]
    assert statuses == ["ABORTED", "ABORTED", "ABORTED"]


def test_a_child_stopped_on_its_own_fails_its_parent_task(sfn):
    child = machine(sfn, {"Sleep": {"Type": "Wait", "Seconds": 60, "End": True}}, "Sleep")
    parent = parent_of(sfn, child, f"{START}.sync")
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    [nested] = wait_for(lambda: sfn.list_executions(stateMachineArn=child)["executions"])
    sfn.stop_execution(executionArn=nested["executionArn"])
    done = finished(sfn, execution)
    assert (done["status"], done["error"]) == ("FAILED", "States.TaskFailed"), done
    assert json.loads(done["cause"])["Status"] == "ABORTED"


def test_a_task_timeout_stops_the_child(sfn):
    child = machine(sfn, {"Sleep": {"Type": "Wait", "Seconds": 60, "End": True}}, "Sleep")
    run = {"Type": "Task", "Resource": f"{START}.sync", "TimeoutSeconds": 1,
           "Parameters": {"StateMachineArn": child}, "End": True}
    parent = machine(sfn, {"Run": run}, "Run")
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    done = finished(sfn, execution)
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout"), done
    [nested] = sfn.list_executions(stateMachineArn=child)["executions"]
    assert sfn.describe_execution(executionArn=nested["executionArn"])["status"] == "ABORTED"


def test_a_child_that_answers_later_reports_to_its_parent(sfn, functions):
    function = unique("answer")
    functions.register(f"/{function}", answer({"ok": True}))
    child = machine(sfn, {"Call": {"Type": "Task", "Resource": lambda_arn(function), "End": True}}, "Call")
    parent = parent_of(sfn, child, f"{START}.sync:2")
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["Output"] == {"ok": True}


@pytest.mark.skipif(not POSTGRES, reason="two nodes share a PostgreSQL database; SLUICE_TEST_POSTGRES is not set")
def test_a_stop_sent_to_another_node_stops_the_child_and_closes_its_call(tmp_path, functions):
    database = fresh_database()
    nodes = [Sluice(tmp_path / name, functions.url_template, database=database) for name in "AB"]
    try:
        a, b = (node.stepfunctions() for node in nodes)
        function = unique("hang")
        functions.register(f"/{function}", hang())
        child = machine(a, {"Call": {"Type": "Task", "Resource": lambda_arn(function), "End": True}}, "Call")
        parent = parent_of(a, child, f"{START}.sync:2")
        execution = a.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
        [call] = wait_for(lambda: functions.calls_to(f"/{function}"))
        [nested] = b.list_executions(stateMachineArn=child)["executions"]
        b.stop_execution(executionArn=execution)
        answered = time.monotonic()
        assert b.describe_execution(executionArn=nested["executionArn"])["status"] == "ABORTED"
        assert a.describe_execution(executionArn=execution)["status"] == "ABORTED"
        wait_for(lambda: call.closed_at, timeout=5)
        assert call.closed_at - answered < ABORT_WITHIN
    finally:
        for node in nodes:
            node.stop()


def test_parent_and_child_survive_a_kill_9_and_a_stop_after_it_still_stops_the_child(tmp_path, functions):
    server = Sluice(tmp_path / "node", functions.url_template)
    try:
        sfn = server.stepfunctions()
        short = machine(sfn, {"Sleep": {"Type": "Wait", "Seconds": 2, "End": True}}, "Sleep")
        long = machine(sfn, {"Sleep": {"Type": "Wait", "Seconds": 300, "End": True}}, "Sleep")
        finishing = sfn.start_execution(
            stateMachineArn=parent_of(sfn, short, f"{START}.sync:2"), input="{}")["executionArn"]
        stopped = sfn.start_execution(
            stateMachineArn=parent_of(sfn, long, f"{START}.sync:2"), input="{}")["executionArn"]
        wait_for(lambda: sfn.list_executions(stateMachineArn=short)["executions"])
        [waiting] = wait_for(lambda: sfn.list_executions(stateMachineArn=long)["executions"])
        server.kill9()
        server.start()
        sfn = server.stepfunctions()
        # The child's timer fires after the restart, and its end answers its parent's task.
        done = finished(sfn, finishing, timeout=30)
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"])["Status"] == "SUCCEEDED"
        sfn.stop_execution(executionArn=stopped)
        assert sfn.describe_execution(executionArn=waiting["executionArn"])["status"] == "ABORTED"
    finally:
        server.stop()


def test_a_version_or_an_alias_arn_starts_that_version(sfn):
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": "v1", "End": True}}}
    created = sfn.create_state_machine(
        name=unique("versioned"), definition=json.dumps(definition), roleArn=ROLE, publish=True)
    child, version = created["stateMachineArn"], created["stateMachineVersionArn"]
    definition["States"]["Done"]["Result"] = "v2"
    sfn.update_state_machine(stateMachineArn=child, definition=json.dumps(definition))
    alias = sfn.create_state_machine_alias(
        name="live", routingConfiguration=[{"stateMachineVersionArn": version, "weight": 100}])["stateMachineAliasArn"]
    for target, described_as in [(version, "stateMachineVersionArn"), (alias, "stateMachineAliasArn")]:
        parent = parent_of(sfn, target, f"{START}.sync:2")
        execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
        done = finished(sfn, execution)
        assert done["status"] == "SUCCEEDED", done
        output = json.loads(done["output"])
        assert output["Output"] == "v1"
        assert output["StateMachineArn"] == target
        nested = sfn.describe_execution(executionArn=output["ExecutionArn"])
        assert nested[described_as] == target
    # The unqualified ARN runs the current definition.
    parent = parent_of(sfn, child, f"{START}.sync:2")
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]
    assert json.loads(finished(sfn, execution)["output"])["Output"] == "v2"


def test_a_name_in_use_fails_the_second_start(sfn):
    child = passing_child(sfn)
    parent = parent_of(sfn, child, f"{START}.sync", Name="only-once")
    first = sfn.start_execution(stateMachineArn=parent, input='{"n": 1}')["executionArn"]
    assert finished(sfn, first)["status"] == "SUCCEEDED"
    second = sfn.start_execution(stateMachineArn=parent, input='{"n": 1}')["executionArn"]
    done = finished(sfn, second)
    assert (done["status"], done["error"]) == ("FAILED", "States.TaskFailed"), done
    assert "only-once" in done["cause"]
    assert len(sfn.list_executions(stateMachineArn=child)["executions"]) == 1

"""Step Functions distributed Map runs through boto3 against a real `sluice serve`:
`ListMapRuns`, `DescribeMapRun`, `UpdateMapRun` of a running run, `ListExecutions` with
`mapRunArn`, the run's ARN and its children's as AWS spells them, the history's `MapRun*`
events, and a stop of the parent that aborts the run and its children.

Source: the API reference pages of ListMapRuns, DescribeMapRun, UpdateMapRun and ListExecutions
(members, constraints, errors), the developer guide's "Examining Map Runs" (ARNs, counts).
"""

import json

import pytest

from functions import echo, hang
from test_cloudflow import unique, wait_for
from test_stepfunctions import aws_error, create, finished, history_types, lambda_arn


@pytest.fixture(scope="module")
def sfn(sluice):
    return sluice.stepfunctions()


@pytest.fixture(scope="module")
def unchecked(sluice):
    """A client that sends what it is given: the server's own checks are under test."""
    return sluice.stepfunctions(parameter_validation=False)


def distributed(function, label="Ship", max_concurrency=1, items_path="$.items"):
    return json.dumps({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "Label": label,
            "ItemsPath": items_path,
            "MaxConcurrency": max_concurrency,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Work",
                "States": {"Work": {"Type": "Task", "Resource": lambda_arn(function), "End": True}},
            },
            "End": True,
        }},
    })


def started_run(sfn, execution_arn):
    """The mapRunArn of the execution's first MapRunStarted event, once there is one."""
    def run():
        events = sfn.get_execution_history(executionArn=execution_arn)["events"]
        started = [e for e in events if e["type"] == "MapRunStarted"]
        return started[0]["mapRunStartedEventDetails"]["mapRunArn"] if started else None

    return wait_for(run, 10)


def test_a_running_map_run_is_listed_described_updated_and_aborted_with_its_parent(sfn, unchecked, functions):
    function = unique("slow")
    functions.register(f"/{function}", hang(30))
    machine = create(sfn, distributed(function))
    name = machine.rsplit(":", 1)[1]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"items": list(range(6))}))
    execution_arn = execution["executionArn"]
    run_arn = started_run(sfn, execution_arn)
    account = machine.split(":")[4]
    prefix = f"arn:aws:states:us-east-1:{account}:mapRun:{name}/Ship:"
    assert run_arn.startswith(prefix) and len(run_arn) > len(prefix), run_arn

    listed = sfn.list_map_runs(executionArn=execution_arn)
    assert [r["mapRunArn"] for r in listed["mapRuns"]] == [run_arn]
    item = listed["mapRuns"][0]
    assert item["executionArn"] == execution_arn
    assert item["stateMachineArn"] == f"{machine}/Ship"
    assert "stopDate" not in item and "nextToken" not in listed

    described = sfn.describe_map_run(mapRunArn=run_arn)
    assert (described["mapRunArn"], described["executionArn"], described["status"]) == \
        (run_arn, execution_arn, "RUNNING")
    assert (described["maxConcurrency"], described["toleratedFailureCount"],
            described["toleratedFailurePercentage"]) == (1, 0, 0.0)
    counts = described["itemCounts"]
    assert (counts["total"], counts["running"], counts["pending"], counts["succeeded"]) == (6, 1, 5, 0)
    assert described["executionCounts"]["running"] == 1
    assert "stopDate" not in described

    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert len(children) == 1 and children[0]["status"] == "RUNNING"
    child_arn = children[0]["executionArn"]
    assert child_arn.startswith(f"arn:aws:states:us-east-1:{account}:execution:{name}/Ship:"), child_arn
    assert children[0]["mapRunArn"] == run_arn
    assert children[0]["stateMachineArn"] == f"{machine}/Ship"
    assert sfn.describe_execution(executionArn=child_arn)["status"] == "RUNNING"
    own = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["executionArn"] for e in own] == [execution_arn], "children are not the machine's executions"

    answer = sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=3)
    assert set(answer) == {"ResponseMetadata"}, "AWS answers an update with an empty body"
    wait_for(lambda: sfn.describe_map_run(mapRunArn=run_arn)["itemCounts"]["running"] == 3 or None, 10)
    described = sfn.describe_map_run(mapRunArn=run_arn)
    assert (described["maxConcurrency"], described["itemCounts"]["pending"]) == (3, 3)
    assert len(sfn.list_executions(mapRunArn=run_arn)["executions"]) == 3
    page = sfn.list_executions(mapRunArn=run_arn, maxResults=2)
    rest = sfn.list_executions(mapRunArn=run_arn, nextToken=page["nextToken"])
    assert len(page["executions"]) == 2 and len(rest["executions"]) == 1
    assert sfn.list_executions(mapRunArn=run_arn, statusFilter="SUCCEEDED")["executions"] == []

    sfn.update_map_run(mapRunArn=run_arn, toleratedFailureCount=2, toleratedFailurePercentage=50)
    described = sfn.describe_map_run(mapRunArn=run_arn)
    assert (described["maxConcurrency"], described["toleratedFailureCount"],
            described["toleratedFailurePercentage"]) == (3, 2, 50.0)

    unknown = prefix + "0" * 32
    assert aws_error(lambda: sfn.describe_map_run(mapRunArn=unknown)) == "ResourceNotFound"
    assert aws_error(lambda: sfn.update_map_run(mapRunArn=unknown, maxConcurrency=1)) == "ResourceNotFound"
    assert aws_error(lambda: sfn.list_executions(mapRunArn=unknown)) == "ResourceNotFound"
    assert aws_error(lambda: sfn.describe_map_run(mapRunArn=execution_arn)) == "InvalidArn"
    assert aws_error(lambda: unchecked.update_map_run(mapRunArn=run_arn, maxConcurrency=-1)) \
        == "ValidationException"
    assert aws_error(lambda: unchecked.update_map_run(mapRunArn=run_arn, toleratedFailurePercentage=101)) \
        == "ValidationException"
    assert aws_error(lambda: sfn.update_map_run(mapRunArn=run_arn)) == "ValidationException"
    assert aws_error(lambda: sfn.list_executions(stateMachineArn=machine, mapRunArn=run_arn)) \
        == "ValidationException"
    assert aws_error(lambda: sfn.list_map_runs(executionArn=execution_arn.replace(":execution:", ":execution:x"))) \
        == "ExecutionDoesNotExist"
    assert sfn.describe_map_run(mapRunArn=run_arn)["maxConcurrency"] == 3, "a refused update changed nothing"

    sfn.stop_execution(executionArn=execution_arn)
    assert finished(sfn, execution_arn)["status"] == "ABORTED"
    described = sfn.describe_map_run(mapRunArn=run_arn)
    assert described["status"] == "ABORTED" and "stopDate" in described
    assert described["itemCounts"]["aborted"] == 6
    assert {c["status"] for c in sfn.list_executions(mapRunArn=run_arn)["executions"]} == {"ABORTED"}
    assert sfn.describe_execution(executionArn=child_arn)["status"] == "ABORTED"
    assert "stopDate" in sfn.list_map_runs(executionArn=execution_arn)["mapRuns"][0]
    types = history_types(sfn, execution_arn)
    assert types[-3:] == ["MapRunStarted", "MapRunAborted", "ExecutionAborted"], types
    assert aws_error(lambda: sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=1)) == "ValidationException"


def test_ended_map_runs_are_listed_in_pages_and_their_history_is_awss(sfn, functions):
    function = unique("echo")
    functions.register(f"/{function}", echo())
    two = json.loads(distributed(function, label="First", max_concurrency=0))
    second = json.loads(distributed(function, max_concurrency=0))["States"]["Each"]
    del second["Label"]
    two["States"]["Each"]["Next"] = "Again"
    del two["States"]["Each"]["End"]
    second["ItemsPath"] = "$"
    # State names are unique in the whole machine, processors too.
    second["ItemProcessor"]["StartAt"] = "WorkAgain"
    second["ItemProcessor"]["States"] = {"WorkAgain": second["ItemProcessor"]["States"]["Work"]}
    two["States"]["Again"] = second
    machine = create(sfn, json.dumps(two))
    name = machine.rsplit(":", 1)[1]
    execution_arn = sfn.start_execution(stateMachineArn=machine,
                                        input=json.dumps({"items": [{"n": 1}, {"n": 2}]}))["executionArn"]
    done = finished(sfn, execution_arn)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == [{"n": 1}, {"n": 2}]

    runs = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
    assert len(runs) == 2
    assert f":mapRun:{name}/First:" in runs[0]["mapRunArn"]
    assert f":mapRun:{name}/Again:" in runs[1]["mapRunArn"], "without a Label, the state's name"
    page = sfn.list_map_runs(executionArn=execution_arn, maxResults=1)
    rest = sfn.list_map_runs(executionArn=execution_arn, maxResults=1, nextToken=page["nextToken"])
    assert [r["mapRunArn"] for r in page["mapRuns"] + rest["mapRuns"]] == [r["mapRunArn"] for r in runs]
    assert "nextToken" not in rest
    assert aws_error(lambda: sfn.list_map_runs(executionArn=execution_arn, nextToken="forged.token")) \
        == "InvalidToken"

    described = sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])
    assert described["status"] == "SUCCEEDED" and "stopDate" in described
    assert (described["itemCounts"]["succeeded"], described["itemCounts"]["total"]) == (2, 2)
    children = sfn.list_executions(mapRunArn=runs[0]["mapRunArn"])["executions"]
    assert sorted(c["status"] for c in children) == ["SUCCEEDED", "SUCCEEDED"]
    child = sfn.describe_execution(executionArn=children[0]["executionArn"])
    assert json.loads(child["output"]) in ({"n": 1}, {"n": 2})

    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    started = [e["mapRunStartedEventDetails"]["mapRunArn"] for e in events if e["type"] == "MapRunStarted"]
    assert started == [r["mapRunArn"] for r in runs]
    types = [e["type"] for e in events]
    assert types.count("MapRunSucceeded") == 2
    at = types.index("MapRunSucceeded")
    assert types[at:at + 3] == ["MapRunSucceeded", "MapStateSucceeded", "MapStateExited"], types


def test_a_failed_map_run_is_failed_with_its_maps_error(sfn, functions):
    function = unique("fails")
    functions.register(f"/{function}", lambda call, conn: (500, {"errorType": "Boom", "errorMessage": "no"}))
    machine = create(sfn, distributed(function, max_concurrency=0))
    execution_arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"items": [1]}))["executionArn"]
    done = finished(sfn, execution_arn)
    assert done["status"] == "FAILED", done
    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    types = [e["type"] for e in events]
    at = types.index("MapRunFailed")
    assert types[at:at + 2] == ["MapRunFailed", "MapStateFailed"], types
    assert events[at]["mapRunFailedEventDetails"]["error"] == done["error"]
    run_arn = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"][0]["mapRunArn"]
    described = sfn.describe_map_run(mapRunArn=run_arn)
    assert (described["status"], described["itemCounts"]["failed"]) == ("FAILED", 1)

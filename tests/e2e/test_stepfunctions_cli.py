"""Every Step Functions action through the AWS CLI (awscli from PyPI) against a real
`sluice serve`, as a user driving it from a shell would: state machines, versions, aliases,
tags, validation, executions (with a stop, a redrive, a synchronous Express run), an activity
worker, Map runs, and the errors the CLI reports. `TestState` has its own tests.

Source of the commands and their members: the AWS CLI reference of `aws stepfunctions`
(https://docs.aws.amazon.com/cli/latest/reference/stepfunctions/), and the API reference of
each action for the answers and errors.
"""

import json

import pytest

from conftest import TENANT_A_KEY, TENANT_B_KEY
from functions import fail, hang
from test_cloudflow import unique, wait_for
from test_stepfunctions import ROLE, lambda_arn


def ok(answer):
    assert isinstance(answer, dict), getattr(answer, "stderr", answer)
    return answer


def refused(answer, code):
    """The CLI failed with the AWS error `code` (it prints `... (CODE) when calling ...`)."""
    assert not isinstance(answer, dict), f"expected {code}, got {answer}"
    assert f"({code})" in answer.stderr, answer.stderr


def pass_machine(result):
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}})


def finished(sluice, arn, timeout=15):
    def done():
        described = ok(sluice.aws("describe-execution", "--execution-arn", arn))
        return described if described["status"] != "RUNNING" else None

    return wait_for(done, timeout)


def test_state_machines_versions_aliases_tags_and_validation(sluice):
    aws = sluice.aws
    name = unique("cli_machine")
    created = ok(aws("create-state-machine", "--name", name, "--definition", pass_machine(1), "--role-arn", ROLE,
                     "--publish", "--version-description", "first", "--tags", "key=team,value=a"))
    machine = created["stateMachineArn"]
    assert created["stateMachineVersionArn"] == machine + ":1"
    described = ok(aws("describe-state-machine", "--state-machine-arn", machine))
    assert (described["name"], described["status"], described["type"]) == (name, "ACTIVE", "STANDARD")
    assert json.loads(described["definition"]) == json.loads(pass_machine(1))
    assert machine in [m["stateMachineArn"] for m in ok(aws("list-state-machines"))["stateMachines"]]

    updated = ok(aws("update-state-machine", "--state-machine-arn", machine, "--definition", pass_machine(2),
                     "--publish", "--version-description", "second"))
    assert updated["stateMachineVersionArn"] == machine + ":2"
    ok(aws("update-state-machine", "--state-machine-arn", machine, "--definition", pass_machine(3)))
    third = ok(aws("publish-state-machine-version", "--state-machine-arn", machine, "--description", "third"))
    assert third["stateMachineVersionArn"] == machine + ":3"
    versions = ok(aws("list-state-machine-versions", "--state-machine-arn", machine))["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [machine + ":3", machine + ":2", machine + ":1"]

    routing = f"stateMachineVersionArn={machine}:1,weight=100"
    alias = ok(aws("create-state-machine-alias", "--name", "prod", "--routing-configuration", routing))["stateMachineAliasArn"]
    assert alias == machine + ":prod"
    split = [{"stateMachineVersionArn": machine + ":1", "weight": 50},
             {"stateMachineVersionArn": machine + ":2", "weight": 50}]
    ok(aws("update-state-machine-alias", "--state-machine-alias-arn", alias, "--description", "half and half",
           "--routing-configuration", json.dumps(split)))
    described_alias = ok(aws("describe-state-machine-alias", "--state-machine-alias-arn", alias))
    assert (described_alias["name"], described_alias["description"]) == ("prod", "half and half")
    assert sorted(r["weight"] for r in described_alias["routingConfiguration"]) == [50, 50]
    listed = ok(aws("list-state-machine-aliases", "--state-machine-arn", machine))["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in listed] == [alias]

    run = ok(aws("start-execution", "--state-machine-arn", alias, "--name", "via-alias"))
    done = finished(sluice, run["executionArn"])
    assert done["stateMachineAliasArn"] == alias
    assert json.loads(done["output"]) in (1, 2)
    assert done["stateMachineVersionArn"] == machine + ":" + str(json.loads(done["output"]))

    refused(aws("delete-state-machine-version", "--state-machine-version-arn", machine + ":1"), "ConflictException")
    ok(aws("delete-state-machine-alias", "--state-machine-alias-arn", alias))
    ok(aws("delete-state-machine-version", "--state-machine-version-arn", machine + ":1"))
    versions = ok(aws("list-state-machine-versions", "--state-machine-arn", machine))["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [machine + ":3", machine + ":2"]

    ok(aws("tag-resource", "--resource-arn", machine, "--tags", "key=stage,value=test", "key=team,value=b"))
    tags = ok(aws("list-tags-for-resource", "--resource-arn", machine))["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("stage", "test"), ("team", "b")]
    ok(aws("untag-resource", "--resource-arn", machine, "--tag-keys", "team"))
    assert ok(aws("list-tags-for-resource", "--resource-arn", machine))["tags"] == [{"key": "stage", "value": "test"}]

    assert ok(aws("validate-state-machine-definition", "--definition", pass_machine(1)))["result"] == "OK"
    broken = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Nowhere"}}})
    invalid = ok(aws("validate-state-machine-definition", "--definition", broken))
    assert invalid["result"] == "FAIL"
    assert invalid["diagnostics"] and invalid["diagnostics"][0]["severity"] == "ERROR"
    refused(aws("create-state-machine", "--name", unique("cli_bad"), "--definition", broken, "--role-arn", ROLE),
            "InvalidDefinition")

    refused(aws("describe-state-machine", "--state-machine-arn", machine, secret="not-the-secret"),
            "InvalidSignatureException")
    ok(aws("delete-state-machine", "--state-machine-arn", machine))
    refused(aws("describe-state-machine", "--state-machine-arn", machine), "StateMachineDoesNotExist")


def test_executions_started_listed_stopped_redriven_and_run_synchronously(sluice, functions):
    aws = sluice.aws
    slow = unique("cli_slow")
    functions.register(f"/{slow}", hang(30))
    definition = json.dumps({"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": lambda_arn(slow), "End": True}}})
    machine = ok(aws("create-state-machine", "--name", unique("cli_exec"), "--definition", definition,
                     "--role-arn", ROLE))["stateMachineArn"]
    started = ok(aws("start-execution", "--state-machine-arn", machine, "--name", "one", "--input", '{"n": 1}'))
    arn = started["executionArn"]
    assert arn.endswith(":one") and started["startDate"]
    wait_for(lambda: functions.calls_to(f"/{slow}"))
    assert ok(aws("describe-execution", "--execution-arn", arn))["status"] == "RUNNING"
    running = ok(aws("list-executions", "--state-machine-arn", machine, "--status-filter", "RUNNING"))["executions"]
    assert [e["executionArn"] for e in running] == [arn]
    refused(aws("start-execution", "--state-machine-arn", machine, "--name", "one", "--input", '{"n": 2}'),
            "ExecutionAlreadyExists")
    for_execution = ok(aws("describe-state-machine-for-execution", "--execution-arn", arn))
    assert json.loads(for_execution["definition"]) == json.loads(definition)

    stopped = ok(aws("stop-execution", "--execution-arn", arn, "--error", "Operator", "--cause", "from the shell"))
    assert stopped["stopDate"]
    assert ok(aws("describe-execution", "--execution-arn", arn))["status"] == "ABORTED"
    refused(aws("redrive-execution", "--execution-arn", arn + "-missing"), "ExecutionDoesNotExist")
    latest = ok(aws("get-execution-history", "--execution-arn", arn, "--reverse-order", "--max-items", "1"))["events"]
    assert latest[0]["type"] == "ExecutionAborted"
    assert latest[0]["executionAbortedEventDetails"] == {"error": "Operator", "cause": "from the shell"}
    assert ok(aws("list-executions", "--state-machine-arn", machine, "--status-filter", "RUNNING"))["executions"] == []

    flaky, healed = unique("cli_flaky"), []
    functions.register(f"/{flaky}", lambda call, conn: (200, {"healed": True}) if healed
                       else fail("Flaky", "not yet")(call, conn))
    failing = json.dumps({"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": lambda_arn(flaky), "End": True}}})
    redrivable = ok(aws("create-state-machine", "--name", unique("cli_redrive"), "--definition", failing,
                        "--role-arn", ROLE))["stateMachineArn"]
    failed_arn = ok(aws("start-execution", "--state-machine-arn", redrivable))["executionArn"]
    failed = finished(sluice, failed_arn)
    assert (failed["status"], failed["error"]) == ("FAILED", "Flaky")
    healed.append(True)
    assert ok(aws("redrive-execution", "--execution-arn", failed_arn))["redriveDate"]
    redriven = finished(sluice, failed_arn)
    assert (redriven["status"], redriven["redriveCount"], json.loads(redriven["output"])) == ("SUCCEEDED", 1, {"healed": True})
    refused(aws("redrive-execution", "--execution-arn", failed_arn), "ExecutionNotRedrivable")

    express = ok(aws("create-state-machine", "--name", unique("cli_express"), "--type", "EXPRESS",
                     "--definition", pass_machine({"fast": True}), "--role-arn", ROLE))["stateMachineArn"]
    synchronous = ok(aws("start-sync-execution", "--state-machine-arn", express, "--input", "{}", via_proxy=True))
    assert (synchronous["status"], json.loads(synchronous["output"])) == ("SUCCEEDED", {"fast": True})
    refused(aws("start-sync-execution", "--state-machine-arn", machine, via_proxy=True), "StateMachineTypeNotSupported")


def test_an_activity_worker_polls_heartbeats_succeeds_and_fails(sluice):
    aws = sluice.aws
    name = unique("cli_activity")
    activity = ok(aws("create-activity", "--name", name))["activityArn"]
    assert ok(aws("describe-activity", "--activity-arn", activity))["name"] == name
    assert activity in [a["activityArn"] for a in ok(aws("list-activities"))["activities"]]
    definition = json.dumps({"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": activity, "HeartbeatSeconds": 30, "End": True}}})
    machine = ok(aws("create-state-machine", "--name", unique("cli_worker"), "--definition", definition,
                     "--role-arn", ROLE))["stateMachineArn"]

    succeeding = ok(aws("start-execution", "--state-machine-arn", machine, "--input", '{"job": 1}'))["executionArn"]
    task = ok(aws("get-activity-task", "--activity-arn", activity, "--worker-name", "shell"))
    assert json.loads(task["input"]) == {"job": 1}
    ok(aws("send-task-heartbeat", "--task-token", task["taskToken"]))
    ok(aws("send-task-success", "--task-token", task["taskToken"], "--task-output", '{"done": 1}'))
    done = finished(sluice, succeeding)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"done": 1})
    refused(aws("send-task-success", "--task-token", task["taskToken"], "--task-output", "{}"), "TaskTimedOut")

    failing = ok(aws("start-execution", "--state-machine-arn", machine, "--input", '{"job": 2}'))["executionArn"]
    task = ok(aws("get-activity-task", "--activity-arn", activity, "--worker-name", "shell"))
    ok(aws("send-task-failure", "--task-token", task["taskToken"], "--error", "Broken", "--cause", "the disk"))
    failed = finished(sluice, failing)
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Broken", "the disk")
    refused(aws("send-task-heartbeat", "--task-token", "not-a-token"), "InvalidToken")

    ok(aws("delete-activity", "--activity-arn", activity))
    refused(aws("describe-activity", "--activity-arn", activity), "ActivityDoesNotExist")


def test_a_map_run_is_listed_described_updated_and_aborted(sluice, functions):
    aws = sluice.aws
    slow = unique("cli_item")
    functions.register(f"/{slow}", hang(30))
    definition = json.dumps({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": lambda_arn(slow), "End": True}},
        },
        "End": True,
    }}})
    machine = ok(aws("create-state-machine", "--name", unique("cli_map"), "--definition", definition,
                     "--role-arn", ROLE))["stateMachineArn"]
    arn = ok(aws("start-execution", "--state-machine-arn", machine, "--input", '{"items": [1, 2, 3]}'))["executionArn"]

    def run():
        runs = ok(aws("list-map-runs", "--execution-arn", arn))["mapRuns"]
        return runs[0]["mapRunArn"] if runs else None

    map_run = wait_for(run, 10)
    described = ok(aws("describe-map-run", "--map-run-arn", map_run))
    assert (described["status"], described["maxConcurrency"], described["executionArn"]) == ("RUNNING", 1, arn)
    ok(aws("update-map-run", "--map-run-arn", map_run, "--max-concurrency", "2", "--tolerated-failure-count", "1"))
    updated = ok(aws("describe-map-run", "--map-run-arn", map_run))
    assert (updated["maxConcurrency"], updated["toleratedFailureCount"]) == (2, 1)
    children = ok(aws("list-executions", "--map-run-arn", map_run))["executions"]
    assert children and all(c["mapRunArn"] == map_run for c in children)

    ok(aws("stop-execution", "--execution-arn", arn))
    assert ok(aws("describe-map-run", "--map-run-arn", map_run))["status"] == "ABORTED"
    assert {c["status"] for c in ok(aws("list-executions", "--map-run-arn", map_run))["executions"]} == {"ABORTED"}
    refused(aws("describe-map-run", "--map-run-arn", map_run + "x"), "ResourceNotFound")


def test_a_tenant_sees_only_its_own_state_machines(tenant_sluice):
    a, b = dict(zip(("key_id", "secret"), TENANT_A_KEY)), dict(zip(("key_id", "secret"), TENANT_B_KEY))
    machine = ok(tenant_sluice.aws("create-state-machine", "--name", unique("cli_tenant"), "--definition",
                                   pass_machine(1), "--role-arn", ROLE, **a))["stateMachineArn"]
    assert ok(tenant_sluice.aws("describe-state-machine", "--state-machine-arn", machine, **a))["stateMachineArn"] == machine
    refused(tenant_sluice.aws("describe-state-machine", "--state-machine-arn", machine, **b), "StateMachineDoesNotExist")
    listed = ok(tenant_sluice.aws("list-state-machines", **b))["stateMachines"]
    assert machine not in [m["stateMachineArn"] for m in listed]


@pytest.mark.parametrize("args, code", [
    (["describe-execution", "--execution-arn", "not-an-arn"], "InvalidArn"),
    (["create-state-machine", "--name", "bad name!", "--definition", pass_machine(1), "--role-arn", ROLE], "InvalidName"),
    (["start-execution", "--state-machine-arn", "arn:aws:states:us-east-1:100000000001:stateMachine:absent"],
     "StateMachineDoesNotExist"),
])
def test_the_cli_reports_the_aws_error_codes(sluice, args, code):
    refused(sluice.aws(*args), code)

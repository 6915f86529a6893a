"""AWS Step Functions (boto3, the AWS CLI) against a real `sluice serve`.

A state machine is an Amazon States Language flow; Lambda tasks are calls of the function
protocol to real HTTP servers on 127.0.0.1 (`--function-url`; a Lambda function has no
service: its URL is the template's with an empty `{service}`, `/NAME`). Requests are signed with Signature Version 4 by the SDK;
raw HTTP only for what an SDK cannot send (a tampered body, a skewed clock, a repeat).
"""

import datetime
import json
import re
import time
import urllib.error
import urllib.request
from unittest import mock

import botocore.exceptions
import pytest
from alibabacloud_fnf20190315 import models
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import KEY_ID, KEY_SECRET, TENANT_A_KEY, TENANT_A_READONLY_KEY, TENANT_B_KEY
from functions import hang
from test_cloudflow import create as create_flow, pass_flow, unique, wait_for
from test_stop import CLOSE_WITHIN

ROLE = "arn:aws:iam::123456789012:role/sfn-e2e"


@pytest.fixture(scope="module")
def sfn(sluice):
    return sluice.stepfunctions()


def lambda_arn(function):
    return f"arn:aws:lambda:us-east-1:123456789012:function:{function}"


def task_then_wait(function, seconds=1):
    return json.dumps({
        "Comment": "a Lambda task, then a Wait",
        "StartAt": "Double",
        "States": {
            "Double": {"Type": "Task", "Resource": lambda_arn(function), "Next": "Pause"},
            "Pause": {"Type": "Wait", "Seconds": seconds, "End": True},
        },
    })


def waiting(seconds=300):
    return json.dumps({"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": seconds, "End": True}}})


def create(sfn, definition, name=None, **extra):
    name = name or unique("sfn")
    return sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, **extra)["stateMachineArn"]


def finished(sfn, execution_arn, timeout=15):
    def done():
        described = sfn.describe_execution(executionArn=execution_arn)
        return described if described["status"] != "RUNNING" else None

    return wait_for(done, timeout)


def aws_error(call):
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def history_types(sfn, execution_arn, **options):
    return [e["type"] for e in sfn.get_execution_history(executionArn=execution_arn, **options)["events"]]


def test_a_lambda_task_and_a_wait_run_and_are_described_listed_and_in_the_history(sfn, functions):
    function = unique("double")
    functions.register(f"/{function}", lambda call, conn: (200, {"n": call.body["n"] * 2}))
    definition = task_then_wait(function)
    logging = {"level": "ERROR", "includeExecutionData": True}
    machine = create(sfn, definition, loggingConfiguration=logging, tags=[{"key": "team", "value": "e2e"}])
    name = machine.rsplit(":", 1)[1]
    assert machine.startswith("arn:aws:states:us-east-1:") and ":stateMachine:" in machine

    described = sfn.describe_state_machine(stateMachineArn=machine)
    assert (described["name"], described["status"], described["type"]) == (name, "ACTIVE", "STANDARD")
    assert (described["definition"], described["roleArn"]) == (definition, ROLE)
    assert described["loggingConfiguration"] == logging
    assert described["tracingConfiguration"] == {"enabled": False}
    assert isinstance(described["creationDate"], datetime.datetime)
    assert sfn.list_tags_for_resource(resourceArn=machine)["tags"] == [{"key": "team", "value": "e2e"}]

    started = sfn.start_execution(stateMachineArn=machine, name="run-1", input=json.dumps({"n": 21}))
    execution = started["executionArn"]
    assert execution == machine.replace(":stateMachine:", ":execution:") + ":run-1"
    running = sfn.describe_execution(executionArn=execution)
    assert running["status"] == "RUNNING" and "stopDate" not in running

    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    assert (json.loads(done["input"]), json.loads(done["output"])) == ({"n": 21}, {"n": 42})
    assert done["stateMachineArn"] == machine and done["name"] == "run-1"
    assert done["stopDate"] >= done["startDate"] >= started["startDate"] - datetime.timedelta(seconds=1)
    assert [c.body for c in functions.calls_to(f"/{function}")] == [{"n": 21}]

    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [(e["name"], e["status"]) for e in listed] == [("run-1", "SUCCEEDED")]
    assert sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"] == []
    assert sfn.list_executions(stateMachineArn=machine, statusFilter="SUCCEEDED")["executions"][0]["name"] == "run-1"

    expected = [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "WaitStateEntered",
        "WaitStateExited",
        "ExecutionSucceeded",
    ]
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == expected
    assert [e["id"] for e in events] == list(range(1, 10))
    assert [e["previousEventId"] for e in events] == [0, 0, 2, 3, 4, 5, 6, 7, 8]
    scheduled = events[2]["lambdaFunctionScheduledEventDetails"]
    assert scheduled["resource"] == lambda_arn(function) and json.loads(scheduled["input"]) == {"n": 21}
    assert json.loads(events[4]["lambdaFunctionSucceededEventDetails"]["output"]) == {"n": 42}
    assert events[1]["stateEnteredEventDetails"]["name"] == "Double"
    assert json.loads(events[8]["executionSucceededEventDetails"]["output"]) == {"n": 42}
    assert events[0]["executionStartedEventDetails"]["roleArn"] == ROLE
    assert history_types(sfn, execution, reverseOrder=True) == expected[::-1]

    paged = [e["type"] for page in sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution, PaginationConfig={"PageSize": 4}) for e in page["events"]]
    assert paged == expected
    first = sfn.get_execution_history(executionArn=execution, maxResults=4)
    assert len(first["events"]) == 4 and first["nextToken"]

    for_execution = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert (for_execution["stateMachineArn"], for_execution["definition"]) == (machine, definition)

    names = [m["name"] for page in sfn.get_paginator("list_state_machines").paginate(
        PaginationConfig={"PageSize": 1}) for m in page["stateMachines"]]
    assert name in names and len(names) == len(set(names))


def test_an_update_changes_what_it_names_and_running_executions_keep_their_definition(sfn):
    before = waiting(300)
    machine = create(sfn, before, tracingConfiguration={"enabled": True})
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    after = waiting(0)
    updated = sfn.update_state_machine(stateMachineArn=machine, definition=after)
    assert isinstance(updated["updateDate"], datetime.datetime)
    described = sfn.describe_state_machine(stateMachineArn=machine)
    assert described["definition"] == after and described["tracingConfiguration"] == {"enabled": True}
    assert sfn.describe_state_machine_for_execution(executionArn=execution)["definition"] == before
    sfn.stop_execution(executionArn=execution)
    sfn.delete_state_machine(stateMachineArn=machine)
    assert aws_error(lambda: sfn.describe_state_machine(stateMachineArn=machine)) == "StateMachineDoesNotExist"
    # AWS answers the delete of a state machine that is gone as a success.
    sfn.delete_state_machine(stateMachineArn=machine)


def test_a_stop_aborts_at_once_closes_the_lambda_call_and_writes_execution_aborted(sfn, functions):
    function = unique("hang")
    functions.register(f"/{function}", hang())
    machine = create(sfn, task_then_wait(function))
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    [call] = wait_for(lambda: functions.calls_to(f"/{function}"))

    stopped = sfn.stop_execution(executionArn=execution, error="Operator.Halt", cause="stopped by hand")
    answered = time.monotonic()
    assert isinstance(stopped["stopDate"], datetime.datetime)
    described = sfn.describe_execution(executionArn=execution)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Operator.Halt", "stopped by hand")
    wait_for(lambda: call.closed_at, timeout=5)
    assert call.closed_at - answered < CLOSE_WITHIN

    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "ExecutionAborted"]
    assert events[-1]["executionAbortedEventDetails"] == {"error": "Operator.Halt", "cause": "stopped by hand"}
    aborted = sfn.list_executions(stateMachineArn=machine, statusFilter="ABORTED")["executions"]
    assert [e["executionArn"] for e in aborted] == [execution]


def test_a_wait_is_stopped_durably(sfn):
    machine = create(sfn, waiting(300))
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    sfn.stop_execution(executionArn=execution)
    assert finished(sfn, execution)["status"] == "ABORTED"
    assert history_types(sfn, execution) == ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]
    assert aws_error(lambda: sfn.stop_execution(executionArn=execution)) == "ValidationException"


def test_a_machine_past_its_timeout_seconds_is_timed_out(sfn):
    definition = json.loads(waiting(30))
    definition["TimeoutSeconds"] = 1
    machine = create(sfn, json.dumps(definition))
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    assert finished(sfn, execution)["status"] == "TIMED_OUT"
    events = sfn.get_execution_history(executionArn=execution, includeExecutionData=False)["events"]
    assert [e["type"] for e in events] == ["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]
    assert events[1]["stateEnteredEventDetails"] == {"name": "Pause", "inputDetails": {"truncated": False}}
    assert events[2]["executionTimedOutEventDetails"]["error"] == "States.Timeout"
    timed_out = sfn.list_executions(stateMachineArn=machine, statusFilter="TIMED_OUT")["executions"]
    assert [e["executionArn"] for e in timed_out] == [execution]


def test_an_execution_takes_any_json_value_as_its_input(sfn):
    machine = create(sfn, json.dumps({"StartAt": "Same", "States": {"Same": {"Type": "Pass", "End": True}}}))
    for value in ([1, "two"], "text", 3.5, None):
        execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(value))["executionArn"]
        done = finished(sfn, execution)
        assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", value)


def test_payloads_are_held_to_awss_256_kib_not_cloudflows_64(sfn, fnf):
    """AWS Step Functions quotas: 256 KiB of an execution's input and of a state's output
    (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html); over it a
    state fails with `States.DataLimitExceeded`. CloudFlow's limit on the same server stays
    64 KiB."""
    text = "x" * (200 * 1024)
    doubled = create(sfn, json.dumps({"StartAt": "Copy", "States": {"Copy": {
        "Type": "Pass", "Parameters": {"a.$": "$.s", "b.$": "$.s"}, "End": True}}}))
    kept = create(sfn, json.dumps({"StartAt": "Keep", "States": {"Keep": {"Type": "Pass", "End": True}}}))
    arn = sfn.start_execution(stateMachineArn=kept, input=json.dumps({"s": text}))["executionArn"]
    done = finished(sfn, arn)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"s": text})
    arn = sfn.start_execution(stateMachineArn=doubled, input=json.dumps({"s": text}))["executionArn"]
    failed = finished(sfn, arn)
    assert (failed["status"], failed["error"]) == ("FAILED", "States.DataLimitExceeded")
    too_big = json.dumps({"s": "x" * (256 * 1024)})
    assert aws_error(lambda: sfn.start_execution(stateMachineArn=kept, input=too_big)) == "ValidationException"

    flow = unique("cf_limit")
    create_flow(fnf, flow, pass_flow(flow))
    with pytest.raises(Exception, match="64 KiB|65536|too large|exceeds"):
        fnf.start_execution(models.StartExecutionRequest(flow_name=flow, input=json.dumps({"s": text})))


def test_a_start_is_idempotent_as_aws_defines_it(sfn):
    machine = create(sfn, waiting(300))
    first = sfn.start_execution(stateMachineArn=machine, name="once", input='{"a": 1}')
    again = sfn.start_execution(stateMachineArn=machine, name="once", input='{"a": 1}')
    assert again["executionArn"] == first["executionArn"] and again["startDate"] == first["startDate"]
    other_input = lambda: sfn.start_execution(stateMachineArn=machine, name="once", input='{"a": 2}')
    assert aws_error(other_input) == "ExecutionAlreadyExists"
    sfn.stop_execution(executionArn=first["executionArn"])
    same_after_stop = lambda: sfn.start_execution(stateMachineArn=machine, name="once", input='{"a": 1}')
    assert aws_error(same_after_stop) == "ExecutionAlreadyExists"
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1


def test_executions_are_listed_newest_first_a_page_at_a_time(sfn):
    machine = create(sfn, waiting(0))
    arns = [sfn.start_execution(stateMachineArn=machine, name=f"batch.{i}")["executionArn"] for i in range(5)]
    for arn in arns:
        finished(sfn, arn)
    pages = list(sfn.get_paginator("list_executions").paginate(
        stateMachineArn=machine, PaginationConfig={"PageSize": 2}))
    assert [len(p["executions"]) for p in pages] == [2, 2, 1]
    assert [e["executionArn"] for p in pages for e in p["executions"]] == arns[::-1]
    assert aws_error(lambda: sfn.list_executions(stateMachineArn=machine, nextToken="garbage")) == "InvalidToken"


def test_every_error_code_is_awss(sfn, sluice):
    machine = create(sfn, waiting(300))
    account = machine.split(":")[4]
    missing = f"arn:aws:states:us-east-1:{account}:stateMachine:{unique('missing')}"
    assert aws_error(lambda: sfn.describe_state_machine(stateMachineArn=missing)) == "StateMachineDoesNotExist"
    assert aws_error(lambda: sfn.start_execution(stateMachineArn=missing)) == "StateMachineDoesNotExist"
    name = machine.rsplit(":", 1)[1]
    assert create(sfn, waiting(300), name=name) == machine  # the same again: idempotent
    assert aws_error(lambda: create(sfn, waiting(5), name=name)) == "StateMachineAlreadyExists"
    assert aws_error(lambda: create(sfn, json.dumps({"StartAt": "Nowhere", "States": {}}))) == "InvalidDefinition"
    assert aws_error(lambda: create(sfn, waiting(1), name="has space")) == "InvalidName"
    assert aws_error(lambda: sfn.start_execution(stateMachineArn=machine, name="a/b")) == "InvalidName"
    assert aws_error(lambda: sfn.describe_state_machine(stateMachineArn="not-an-arn")) == "InvalidArn"
    assert aws_error(lambda: sfn.describe_execution(executionArn=machine)) == "InvalidArn"
    gone = machine.replace(":stateMachine:", ":execution:") + ":never-started"
    assert aws_error(lambda: sfn.describe_execution(executionArn=gone)) == "ExecutionDoesNotExist"
    assert aws_error(lambda: sfn.stop_execution(executionArn=gone)) == "ExecutionDoesNotExist"
    assert aws_error(lambda: sfn.start_execution(stateMachineArn=machine, input="not json")) == "InvalidExecutionInput"
    assert aws_error(lambda: sfn.update_state_machine(stateMachineArn=machine)) == "ValidationException"
    assert aws_error(lambda: sfn.list_state_machines(nextToken="garbage")) == "InvalidToken"
    unchecked = sluice.stepfunctions(parameter_validation=False)
    assert aws_error(lambda: unchecked.list_state_machines(maxResults=5000)) == "ValidationException"
    assert aws_error(lambda: unchecked.start_execution(name="x")) == "ValidationException"
    assert aws_error(lambda: sluice.stepfunctions(key_id="nobody").list_state_machines()) == "UnrecognizedClientException"
    wrong_secret = sluice.stepfunctions(secret="not-the-secret")
    assert aws_error(lambda: wrong_secret.list_state_machines()) == "InvalidSignatureException"
    # Nothing was created by the refused requests.
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]] == []


def test_a_key_may_call_only_the_actions_it_lists(tenant_sluice):
    admin = tenant_sluice.stepfunctions(*TENANT_A_KEY)
    reader = tenant_sluice.stepfunctions(*TENANT_A_READONLY_KEY)
    machine = create(admin, waiting(0))
    execution = admin.start_execution(stateMachineArn=machine)["executionArn"]
    assert reader.describe_execution(executionArn=execution)["executionArn"] == execution
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        reader.stop_execution(executionArn=execution)
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "states:StopExecution" in error["Message"] and TENANT_A_READONLY_KEY[0] in error["Message"]


def test_validate_state_machine_definition_reports_located_problems(sfn):
    ok = sfn.validate_state_machine_definition(definition=waiting(1))
    assert (ok["result"], ok["diagnostics"]) == ("OK", [])
    broken = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}})
    failed = sfn.validate_state_machine_definition(definition=broken)
    assert failed["result"] == "FAIL" and failed["diagnostics"]
    [diagnostic] = [d for d in failed["diagnostics"] if "Missing" in d["message"]]
    assert (diagnostic["severity"], diagnostic["location"]) == ("ERROR", "/States/A/Next")
    assert "line 1" in diagnostic["message"]
    assert diagnostic["code"] == "MISSING_TRANSITION_TARGET"


# AWS's codes, from the API reference of ValidateStateMachineDefinitionDiagnostic
# (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html).
@pytest.mark.parametrize("definition, code", [
    ('{"StartAt": "A", "States": {', "INVALID_JSON_DESCRIPTION"),
    (json.dumps({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                                                  "End": True}}}), "INVALID_RESOURCE"),
    (json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}), "MISSING_TRANSITION_TARGET"),
    (json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True, "Colour": "red"}}}),
     "SCHEMA_VALIDATION_FAILED"),
    # "Received a null or empty workflow input."
    (" \n", "MISSING_DESCRIPTION"),
])
def test_validation_names_each_problem_with_awss_code(sfn, definition, code):
    failed = sfn.validate_state_machine_definition(definition=definition)
    assert failed["result"] == "FAIL"
    assert code in [d["code"] for d in failed["diagnostics"]], failed["diagnostics"]


PASS_END = {"Type": "Pass", "End": True}


def machine(states, start=None):
    return json.dumps({"StartAt": start or next(iter(states)), "States": states})


def distributed_map(item, label, **transition):
    """A distributed Map state labelled `label`, its processor's one state named `item`."""
    return {"Type": "Map", "Label": label, **transition, "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": item, "States": {item: PASS_END}}}


def nested_parallels(depth):
    """`depth` Parallel states nested in one another around a Pass state, each level's named apart."""
    state = PASS_END
    for level in range(depth, 0, -1):
        state = {"Type": "Parallel", "End": True, "Branches": [{"StartAt": f"S{level}", "States": {f"S{level}": state}}]}
    return state


# `location` is "/States/<StateName>/<FieldName>, for example /States/FailState/ErrorPath" (API
# reference, ValidateStateMachineDefinitionDiagnostic,
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html),
# each code as listed there. The nested forms (`Branches[0]`, `ItemProcessor`), the unreachable
# state's code and MISSING_END_STATE without a location are AWS's as recorded from it in
# localstack/localstack#12487 (`MISSING_TRANSITION_TARGET: State "pass2" is not reachable. at
# /States/pass2`) and floci-io/floci#2786 (`/States/P/Branches[0]/States/Ghost`,
# `/States/C/Choices[0]/Next`; `A` with a dangling Next alone: that, then MISSING_END_STATE).
@pytest.mark.parametrize("definition, expected", [
    (machine({"A": {"Type": "Pass", "Next": "Gone"}}),
     [("MISSING_TRANSITION_TARGET", "/States/A/Next"), ("MISSING_END_STATE", None)]),
    (machine({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}),
     [("MISSING_END_STATE", None)]),
    (machine({"A": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}}),
     [("INVALID_RESOURCE", "/States/A/Resource")]),
    (machine({"F": {"Type": "Fail", "ErrorPath": 5}}), [("SCHEMA_VALIDATION_FAILED", "/States/F/ErrorPath")]),
    (machine({"A": PASS_END, "Z": PASS_END}), [("MISSING_TRANSITION_TARGET", "/States/Z")]),
    (machine({"C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "Gone"}],
                    "Default": "S"}, "S": PASS_END}), [("MISSING_TRANSITION_TARGET", "/States/C/Choices[0]/Next")]),
    (machine({"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Y", "States": {"Y": PASS_END, "Ghost": PASS_END}}]}}),
     [("MISSING_TRANSITION_TARGET", "/States/P/Branches[0]/States/Ghost")]),
    (machine({"M": {"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "Y", "States": {
        "Y": {"Type": "Task", "Resource": "nowhere", "End": True}}}}}),
     [("INVALID_RESOURCE", "/States/M/ItemProcessor/States/Y/Resource")]),
    # INVALID_STATE_NAME at the state, as AWS answered a name over 80 characters
    # (ChristopheBougere/asl-validator#69: `INVALID_STATE_NAME: Invalid State name: State '…' exceeds
    # the 80-character limit allowed by the service at /States/…`).
    (machine({"A": {"Type": "Pass", "Next": "x" * 81}, "x" * 81: PASS_END}),
     [("INVALID_STATE_NAME", "/States/" + "x" * 81)]),
    # DUPLICATE_STATE_NAME in two scopes: a name "must be unique within the scope of the entire state
    # machine" (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-states.html).
    (machine({"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "X", "States": {"X": PASS_END}}, {"StartAt": "X", "States": {"X": PASS_END}}]}}),
     [("DUPLICATE_STATE_NAME", "/States/P/Branches[1]/States/X")]),
    # DUPLICATE_LABEL_NAME and INVALID_LABEL_NAME at the Map's `Label`: at most 40 characters, none of
    # those AWS forbids in names, and it names the Map's map runs
    # (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-asl-use-map-state-distributed.html).
    (machine({"M1": distributed_map("I1", "Label", Next="M2"), "M2": distributed_map("I2", "Label", End=True)}),
     [("DUPLICATE_LABEL_NAME", "/States/M2/Label")]),
    (machine({"M": distributed_map("I", "has space", End=True)}), [("INVALID_LABEL_NAME", "/States/M/Label")]),
    (machine({"M": distributed_map("I", "x" * 41, End=True)}), [("INVALID_LABEL_NAME", "/States/M/Label")]),
    # TOO_DEEPLY_NESTED, "The states are too deeply nested" (AWS documents no depth; sluice's is its
    # definitions' 64 levels of lists and maps: 15 Parallel states nested in one another pass, 16 do not).
    (machine({"S": nested_parallels(16)}), [("TOO_DEEPLY_NESTED", None)]),
])
def test_validation_locates_each_problem_at_its_field(sfn, definition, expected):
    failed = sfn.validate_state_machine_definition(definition=definition)
    assert failed["result"] == "FAIL"
    assert [(d["severity"], d["code"], d.get("location")) for d in failed["diagnostics"]] == [
        ("ERROR", code, location) for code, location in expected], failed["diagnostics"]


def refusal(call):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        call()
    error = refused.value.response["Error"]
    return error["Code"], error["Message"]


# CreateStateMachine and UpdateStateMachine refuse a definition in AWS's words, `Invalid State Machine
# Definition: 'CODE: message at /location, …'`, every error with its validation code and location: AWS's
# answer in localstack/localstack#12487 (`Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET:
# Missing 'Next' target: pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State "pass2" is not
# reachable. at /States/pass2'`) and ChristopheBougere/asl-validator#69 (`'INVALID_STATE_NAME: Invalid
# State name: State '…' exceeds the 80-character limit allowed by the service at /States/…'`).
def test_an_invalid_definition_is_refused_in_awss_words(sfn):
    code, message = refusal(lambda: create(sfn, machine({"A": {"Type": "Pass", "Next": "Gone"}})))
    assert code == "InvalidDefinition"
    assert re.fullmatch(r"Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: unknown Next \"Gone\""
                        r"[^']* \(line 1, column \d+\) at /States/A/Next, MISSING_END_STATE: [^']*'", message), message

    arn = create(sfn, machine({"S": nested_parallels(15)}))
    long = "x" * 81
    renamed = machine({"A": {"Type": "Pass", "Next": long}, long: PASS_END})
    code, message = refusal(lambda: sfn.update_state_machine(stateMachineArn=arn, definition=renamed))
    assert code == "InvalidDefinition"
    assert message.startswith("Invalid State Machine Definition: 'INVALID_STATE_NAME: ")
    assert message.endswith(f" at /States/{long}'"), message
    # Nothing was changed by the refused update.
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])["StartAt"] == "S"


# The warning codes and `severity` (WARNING reports warnings and errors, ERROR, the default, errors
# only; `result` is OK "even when diagnostic warnings are present"): API reference,
# ValidateStateMachineDefinition and ValidateStateMachineDefinitionDiagnostic
# (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html).
def test_validation_warns_of_paths_taken_as_written_only_when_asked(sfn):
    definition = machine({
        "P": {"Type": "Pass", "Result": "$.input", "Next": "T"},
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
              "Parameters": {"id": "$.id"}, "Next": "F"},
        "F": {"Type": "Fail", "Cause": "$.cause"},
    })
    quiet = sfn.validate_state_machine_definition(definition=definition)
    assert (quiet["result"], quiet["diagnostics"]) == ("OK", [])
    warned = sfn.validate_state_machine_definition(definition=definition, severity="WARNING")
    assert warned["result"] == "OK" and warned["truncated"] is False
    assert [(d["severity"], d["code"], d["location"]) for d in warned["diagnostics"]] == [
        ("WARNING", "PASS_RESULT_IS_STATIC", "/States/P/Result"),
        ("WARNING", "NO_DOLLAR", "/States/T/Parameters/id"),
        ("WARNING", "NO_PATH", "/States/F/Cause"),
    ]
    # An error fails the definition whatever its warnings; `maxResults` cuts the list.
    broken = machine({"P": {"Type": "Pass", "Result": "$.input", "Next": "Gone"}, "S": PASS_END})
    both = sfn.validate_state_machine_definition(definition=broken, severity="WARNING")
    assert both["result"] == "FAIL"
    assert [(d["severity"], d["code"]) for d in both["diagnostics"]] == [
        ("ERROR", "MISSING_TRANSITION_TARGET"), ("WARNING", "PASS_RESULT_IS_STATIC")]
    cut = sfn.validate_state_machine_definition(definition=broken, severity="WARNING", maxResults=1)
    assert [d["severity"] for d in cut["diagnostics"]] == ["ERROR"] and cut["truncated"] is True


def test_tenants_see_only_their_own_state_machines_and_executions(tenant_sluice):
    a = tenant_sluice.stepfunctions(*TENANT_A_KEY)
    b = tenant_sluice.stepfunctions(*TENANT_B_KEY, region="eu-central-1")
    machine = create(a, waiting(300))
    execution = a.start_execution(stateMachineArn=machine, name="private")["executionArn"]
    assert machine.split(":")[4] == "1111111111111111"
    own = create(b, waiting(300))
    assert own.startswith("arn:aws:states:eu-central-1:2222222222222222:stateMachine:")

    assert aws_error(lambda: b.describe_state_machine(stateMachineArn=machine)) == "StateMachineDoesNotExist"
    assert aws_error(lambda: b.start_execution(stateMachineArn=machine)) == "StateMachineDoesNotExist"
    assert aws_error(lambda: b.describe_execution(executionArn=execution)) == "ExecutionDoesNotExist"
    assert aws_error(lambda: b.stop_execution(executionArn=execution)) == "ExecutionDoesNotExist"
    assert aws_error(lambda: b.get_execution_history(executionArn=execution)) == "ExecutionDoesNotExist"
    # Even spelled with B's account id, A's names are not B's.
    as_b = execution.replace("1111111111111111", "2222222222222222")
    assert aws_error(lambda: b.describe_execution(executionArn=as_b)) == "ExecutionDoesNotExist"
    assert machine.rsplit(":", 1)[1] not in [m["name"] for m in b.list_state_machines()["stateMachines"]]
    assert a.describe_execution(executionArn=execution)["status"] == "RUNNING"
    a.stop_execution(executionArn=execution)


def signed(sluice, target, body, secret=KEY_SECRET, at=None):
    """A request botocore's signer signed, as URL, headers and body (`at`: the signing time)."""
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=f"{sluice.endpoint}/", data=data, headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"AWSStepFunctions.{target}",
    })
    signer = SigV4Auth(Credentials(KEY_ID, secret), "states", "us-east-1")
    if at is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=at):
            signer.add_auth(request)
    return request.url, dict(request.headers), data


def post(url, headers, data):
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_a_tampered_and_a_skewed_request_are_refused_and_a_repeat_is_idempotent(sfn, sluice):
    machine = create(sfn, waiting(300))
    body = {"stateMachineArn": machine, "name": unique("signed")}

    url, headers, data = signed(sluice, "StartExecution", body)
    tampered = data.replace(b"signed_", b"sIgned_")
    status, refused = post(url, headers, tampered)
    assert (status, refused["__type"]) == (400, "InvalidSignatureException")
    retargeted = dict(headers, **{"X-Amz-Target": "AWSStepFunctions.DeleteStateMachine"})
    assert post(url, retargeted, data)[1]["__type"] == "InvalidSignatureException"

    ten_minutes_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
    status, skewed = post(*signed(sluice, "StartExecution", body, at=ten_minutes_ago))
    assert (status, skewed["__type"]) == (400, "InvalidSignatureException")
    assert skewed["message"].startswith("Signature expired:")
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []

    status, started = post(url, headers, data)
    assert status == 200 and started["executionArn"].endswith(body["name"])
    # The same signed request again (SigV4 has no nonce): AWS's idempotent start answers the
    # running execution, and nothing is started twice.
    status, repeated = post(url, headers, data)
    assert (status, repeated) == (200, started)
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    sfn.stop_execution(executionArn=started["executionArn"])

    status, anonymous = post(url, {"Content-Type": "application/x-amz-json-1.0",
                                   "X-Amz-Target": "AWSStepFunctions.ListStateMachines"}, b"{}")
    assert (status, anonymous["__type"]) == (400, "MissingAuthenticationTokenException")


def test_the_aws_cli_lists_starts_and_describes(sfn, sluice):
    machine = create(sfn, waiting(0))

    def cli(*args):
        got = sluice.aws(*args)
        assert isinstance(got, dict), got.stderr
        return got

    listed = cli("list-state-machines")
    assert machine in [m["stateMachineArn"] for m in listed["stateMachines"]]
    started = cli("start-execution", "--state-machine-arn", machine, "--name", "from-cli", "--input", '{"via": "cli"}')
    assert started["executionArn"].endswith(":from-cli")
    done = finished(sfn, started["executionArn"])
    assert json.loads(done["output"]) == {"via": "cli"}
    described = cli("describe-execution", "--execution-arn", started["executionArn"])
    assert described["status"] == "SUCCEEDED"

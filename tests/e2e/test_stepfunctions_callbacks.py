"""Step Functions callbacks, tags and Express executions (boto3) against a real `sluice serve`.

`.waitForTaskToken` tasks hand their token (`$$.Task.Token`) to a real Lambda function on
127.0.0.1, and the test plays the worker with `SendTaskSuccess`/`SendTaskFailure`/
`SendTaskHeartbeat`. Express state machines run by `StartSyncExecution`, also through a client
that keeps the SDK's `sync-` host prefix (the request then reaches 127.0.0.1 with that `Host`).
"""

import http.client
import json
import time

import boto3
import botocore.awsrequest
import botocore.config
import pytest

from conftest import KEY_ID, KEY_SECRET, TENANT_A_KEY, TENANT_B_KEY
from test_cloudflow import unique, wait_for
from test_stepfunctions import ROLE, aws_error, create, finished, history_types, lambda_arn

INVOKE_WAIT = "arn:aws:states:::lambda:invoke.waitForTaskToken"


@pytest.fixture(scope="module")
def sfn(sluice):
    return sluice.stepfunctions()


def callback_machine(sfn, functions, timeout=None, catch=False, heartbeat=None):
    """A state machine whose one task gives its token to a function and waits for it; the
    tokens the function received, in order."""
    function = unique("worker")
    tokens = []

    def receive(call, conn):
        tokens.append(call.body["token"])
        return 200, {"accepted": True}

    functions.register(f"/{function}", receive)
    task = {
        "Type": "Task",
        "Resource": INVOKE_WAIT,
        "Parameters": {"FunctionName": function, "Payload": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
        "End": True,
    }
    if timeout:
        task["TimeoutSeconds"] = timeout
    if heartbeat:
        task["HeartbeatSeconds"] = heartbeat
    states = {"Work": task}
    if catch:
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}]
        states["Recovered"] = {"Type": "Pass", "End": True}
    definition = {"StartAt": "Work", "States": states}
    return create(sfn, json.dumps(definition)), tokens


def test_a_task_token_resumes_its_execution_with_the_workers_output(sfn, functions):
    machine, tokens = callback_machine(sfn, functions)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"order": 7}')["executionArn"]
    [token] = wait_for(lambda: tokens)
    time.sleep(0.2)
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"

    assert sfn.send_task_heartbeat(taskToken=token)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert aws_error(lambda: sfn.send_task_success(taskToken=token, output="not json")) == "InvalidOutput"
    sfn.send_task_success(taskToken=token, output='{"shipped": 7}')
    done = finished(sfn, execution)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"shipped": 7})
    types = history_types(sfn, execution)
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert "TaskSubmitted" in types and "TaskSucceeded" in types

    # The task is over: a late report or heartbeat is told so.
    assert aws_error(lambda: sfn.send_task_success(taskToken=token, output="{}")) == "TaskTimedOut"
    assert aws_error(lambda: sfn.send_task_heartbeat(taskToken=token)) == "TaskTimedOut"


def test_a_task_failure_fails_the_task_with_the_workers_error_and_cause(sfn, functions):
    machine, tokens = callback_machine(sfn, functions)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"order": 1}')["executionArn"]
    [token] = wait_for(lambda: tokens)
    sfn.send_task_failure(taskToken=token, error="Warehouse.Empty", cause="no stock for order 1")
    done = finished(sfn, execution)
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "Warehouse.Empty", "no stock for order 1")

    caught_machine, caught_tokens = callback_machine(sfn, functions, catch=True)
    caught = sfn.start_execution(stateMachineArn=caught_machine, input='{"order": 2}')["executionArn"]
    [token] = wait_for(lambda: caught_tokens)
    sfn.send_task_failure(taskToken=token, error="Warehouse.Empty")
    assert finished(sfn, caught)["status"] == "SUCCEEDED"


def test_a_stop_ends_an_execution_waiting_on_its_token_at_once_and_the_worker_learns_it(sfn, functions):
    machine, tokens = callback_machine(sfn, functions)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"order": 3}')["executionArn"]
    [token] = wait_for(lambda: tokens)
    sfn.stop_execution(executionArn=execution, error="Operator.Halt", cause="by hand")
    # Stopped when the stop answered, not at the worker's next move.
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    assert history_types(sfn, execution)[-1] == "ExecutionAborted"
    assert aws_error(lambda: sfn.send_task_heartbeat(taskToken=token)) == "TaskTimedOut"
    assert aws_error(lambda: sfn.send_task_success(taskToken=token, output="{}")) == "TaskTimedOut"
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"


def test_a_token_not_reported_within_timeout_seconds_times_the_task_out(sfn, functions):
    machine, tokens = callback_machine(sfn, functions, timeout=1)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"order": 4}')["executionArn"]
    [token] = wait_for(lambda: tokens)
    done = finished(sfn, execution)
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")
    assert aws_error(lambda: sfn.send_task_success(taskToken=token, output="{}")) == "TaskTimedOut"


def test_heartbeats_keep_a_callback_task_alive_and_silence_times_it_out(sfn, functions):
    machine, tokens = callback_machine(sfn, functions, heartbeat=1)
    kept = sfn.start_execution(stateMachineArn=machine, input='{"order": 1}')["executionArn"]
    [token] = wait_for(lambda: tokens)
    for _ in range(3):
        time.sleep(0.6)
        sfn.send_task_heartbeat(taskToken=token)
    assert sfn.describe_execution(executionArn=kept)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output='{"kept": true}')
    assert finished(sfn, kept)["status"] == "SUCCEEDED"

    quiet = sfn.start_execution(stateMachineArn=machine, input='{"order": 2}')["executionArn"]
    wait_for(lambda: len(tokens) == 2)
    done = finished(sfn, quiet)
    assert (done["status"], done["error"]) == ("FAILED", "States.HeartbeatTimeout")
    assert "TaskTimedOut" in history_types(sfn, quiet)
    assert aws_error(lambda: sfn.send_task_heartbeat(taskToken=tokens[1])) == "TaskTimedOut"


def test_tokens_of_no_task_get_awss_errors(sfn):
    assert aws_error(lambda: sfn.send_task_success(taskToken="garbage", output="{}")) == "InvalidToken"
    assert aws_error(lambda: sfn.send_task_heartbeat(taskToken="x" * 2049)) == "InvalidToken"
    assert aws_error(lambda: sfn.send_task_failure(taskToken="99999.nobody.secret.1")) == "TaskDoesNotExist"


def test_another_tenants_token_names_no_task_of_the_caller(tenant_sluice, functions):
    owner = tenant_sluice.stepfunctions(*TENANT_A_KEY)
    machine, tokens = callback_machine(owner, functions)
    execution = owner.start_execution(stateMachineArn=machine, input='{"order": 5}')["executionArn"]
    [token] = wait_for(lambda: tokens)
    other = tenant_sluice.stepfunctions(*TENANT_B_KEY)
    assert aws_error(lambda: other.send_task_success(taskToken=token, output="{}")) == "TaskDoesNotExist"
    assert aws_error(lambda: other.send_task_heartbeat(taskToken=token)) == "TaskDoesNotExist"
    assert owner.describe_execution(executionArn=execution)["status"] == "RUNNING"
    owner.send_task_success(taskToken=token, output="{}")
    assert finished(owner, execution)["status"] == "SUCCEEDED"


def test_tags_are_given_at_creation_added_replaced_removed_and_limited(sfn):
    machine = create(sfn, json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
                     tags=[{"key": "team", "value": "payments"}])
    revision = sfn.describe_state_machine(stateMachineArn=machine)["revisionId"]
    assert sfn.list_tags_for_resource(resourceArn=machine)["tags"] == [{"key": "team", "value": "payments"}]

    sfn.tag_resource(resourceArn=machine, tags=[{"key": "team", "value": "risk"}, {"key": "env", "value": "prod"}])
    assert sfn.list_tags_for_resource(resourceArn=machine)["tags"] == [
        {"key": "team", "value": "risk"}, {"key": "env", "value": "prod"}]
    sfn.untag_resource(resourceArn=machine, tagKeys=["team", "absent"])
    assert sfn.list_tags_for_resource(resourceArn=machine)["tags"] == [{"key": "env", "value": "prod"}]
    # Tags are no change of the definition: no new revision.
    assert sfn.describe_state_machine(stateMachineArn=machine)["revisionId"] == revision

    many = [{"key": f"k{i}", "value": ""} for i in range(49)]
    sfn.tag_resource(resourceArn=machine, tags=many)
    assert len(sfn.list_tags_for_resource(resourceArn=machine)["tags"]) == 50
    assert aws_error(lambda: sfn.tag_resource(resourceArn=machine, tags=[{"key": "one-more", "value": ""}])) == "TooManyTags"
    assert len(sfn.list_tags_for_resource(resourceArn=machine)["tags"]) == 50

    too_long = [{"key": "k" * 129, "value": ""}]
    assert aws_error(lambda: sfn.tag_resource(resourceArn=machine, tags=too_long)) == "ValidationException"
    assert aws_error(lambda: sfn.tag_resource(resourceArn=machine, tags=[{"key": "k", "value": "v" * 257}])) == "ValidationException"
    fifty_one = [{"key": f"k{i}", "value": ""} for i in range(51)]
    assert aws_error(lambda: create(sfn, json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
                                    tags=fifty_one)) == "TooManyTags"

    gone = machine.replace(":stateMachine:", ":stateMachine:gone-")
    assert aws_error(lambda: sfn.tag_resource(resourceArn=gone, tags=[{"key": "a", "value": "b"}])) == "ResourceNotFound"
    assert aws_error(lambda: sfn.untag_resource(resourceArn=gone, tagKeys=["a"])) == "ResourceNotFound"
    assert aws_error(lambda: sfn.list_tags_for_resource(resourceArn=gone)) == "ResourceNotFound"
    assert aws_error(lambda: sfn.tag_resource(resourceArn="not-an-arn", tags=[])) == "InvalidArn"


def express(sfn, states, start="Go", **extra):
    definition = {"StartAt": start, "States": states, **extra}
    return create(sfn, json.dumps(definition), type="EXPRESS")


def test_start_sync_execution_answers_the_express_outcome_in_awss_shape(sfn, functions):
    function = unique("double")
    functions.register(f"/{function}", lambda call, conn: (200, {"n": call.body["n"] * 2}))
    machine = express(sfn, {"Go": {"Type": "Task", "Resource": lambda_arn(function), "End": True}})
    assert sfn.describe_state_machine(stateMachineArn=machine)["type"] == "EXPRESS"

    done = sfn.start_sync_execution(stateMachineArn=machine, name="order-9", input='{"n": 21}')
    assert (done["status"], json.loads(done["output"]), done["name"]) == ("SUCCEEDED", {"n": 42}, "order-9")
    assert json.loads(done["input"]) == {"n": 21}
    assert done["stateMachineArn"] == machine
    prefix = machine.replace(":stateMachine:", ":express:")
    assert done["executionArn"].startswith(prefix + ":order-9:")
    assert done["stopDate"] >= done["startDate"]
    billing = done["billingDetails"]
    assert billing["billedMemoryUsedInMB"] == 64
    assert billing["billedDurationInMilliseconds"] >= 100 and billing["billedDurationInMilliseconds"] % 100 == 0
    # The same name again is another run: Express names need not be unique.
    again = sfn.start_sync_execution(stateMachineArn=machine, name="order-9", input='{"n": 1}')
    assert again["executionArn"] != done["executionArn"]


def test_start_sync_execution_reports_failures_and_timeouts_and_refuses_standard_machines(sfn):
    failing = express(sfn, {"Go": {"Type": "Fail", "Error": "Order.Invalid", "Cause": "no items"}})
    failed = sfn.start_sync_execution(stateMachineArn=failing, input="{}")
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Order.Invalid", "no items")
    assert "output" not in failed

    slow = express(sfn, {"Go": {"Type": "Wait", "Seconds": 5, "End": True}}, TimeoutSeconds=1)
    timed_out = sfn.start_sync_execution(stateMachineArn=slow, input="{}")
    assert (timed_out["status"], timed_out["error"]) == ("TIMED_OUT", "States.Timeout")

    standard = create(sfn, json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    assert aws_error(lambda: sfn.start_sync_execution(stateMachineArn=standard)) == "StateMachineTypeNotSupported"
    gone = standard.replace(":stateMachine:", ":stateMachine:gone-")
    assert aws_error(lambda: sfn.start_sync_execution(stateMachineArn=gone)) == "StateMachineDoesNotExist"
    assert aws_error(lambda: sfn.start_sync_execution(stateMachineArn=failing, input="not json")) == "InvalidExecutionInput"


def test_a_client_keeping_the_sync_host_prefix_is_served(sfn, sluice):
    """boto3's default client sends StartSyncExecution to `sync-127.0.0.1`, a name no resolver
    knows; here the request goes to the server's address with that `Host`, as a resolver
    entry or a proxy would send it, and is verified and served."""
    machine = express(sfn, {"Go": {"Type": "Pass", "Result": {"ok": True}, "End": True}})
    client = boto3.client(
        "stepfunctions", endpoint_url=sluice.endpoint, region_name="us-east-1",
        aws_access_key_id=KEY_ID, aws_secret_access_key=KEY_SECRET,
        config=botocore.config.Config(retries={"total_max_attempts": 1}))
    hosts = []

    def send(request, **kwargs):
        host = request.url.split("/")[2]
        hosts.append(host)
        port = int(host.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {k: v for k, v in request.headers.items()}
        headers["Host"] = host
        conn.request(request.method, "/", body=request.body, headers=headers)
        answer = conn.getresponse()
        body = answer.read()
        raw = botocore.awsrequest.AWSResponse(request.url, answer.status, dict(answer.getheaders()), _Raw(body))
        return raw

    client.meta.events.register("before-send.states.StartSyncExecution", send)
    done = client.start_sync_execution(stateMachineArn=machine, input="{}")
    assert hosts and hosts[0].startswith("sync-127.0.0.1:")
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"ok": True})


class _Raw:
    """The body of an answer, as botocore reads a response's raw stream."""

    def __init__(self, body):
        self.body = body

    def stream(self, **kwargs):
        yield self.body

"""Step Functions Local's mocked service integrations (boto3, the AWS CLI) against `sluice serve`.

The server reads the mock configuration file from `SFN_MOCK_CONFIG`, as Step Functions Local
does: the example file of AWS's developer guide (`data/stepfunctions_mocks/MockConfigFile.json`,
its source beside it), plus test cases of this test's own written into a copy. A start of
`STATE_MACHINE_ARN#TestCase` runs under that test case: the states it names are answered from
the file, the others call their function on 127.0.0.1.
"""

import json
import pathlib
import subprocess

import pytest

from alibabacloud_fnf20190315 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from huaweicloudsdkfunctiongraph import v2 as fg

from conftest import BINARY, Sluice
from functions import answer
from test_cloudflow import create, describe, task_flow, unique, wait_for
from test_stepfunctions import ROLE, aws_error, finished

GUIDE_FILE = pathlib.Path(__file__).parent / "data" / "stepfunctions_mocks" / "MockConfigFile.json"
MACHINE = "LambdaSQSIntegration"
# The functions the guide's two states call when they are not mocked.
GREET = unique("greet")
QUEUE = unique("queue")
MOCKED_LAMBDA = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
MOCKED_SQS = {
    "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
    "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
}
NOT_READY = {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}


def lambda_state(function, **fields):
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        **fields,
    }


# The guide's LambdaSQSIntegration, its SQSState a Lambda function (sending to a queue there).
INTEGRATION = {
    "StartAt": "LambdaState",
    "States": {
        "LambdaState": lambda_state(
            GREET,
            Retry=[{
                "ErrorEquals": ["Lambda.ResourceNotReadyException", "Lambda.TimeoutException"],
                "IntervalSeconds": 1,
                "MaxAttempts": 3,
                "BackoffRate": 1,
            }],
            Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CaughtState"}],
            Next="SQSState",
        ),
        "SQSState": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": QUEUE, "Payload": {"MessageBody.$": "$.Payload.body"}},
            "End": True,
        },
        "CaughtState": {"Type": "Pass", "End": True},
    },
}
THEN_WAIT = {
    "StartAt": "LambdaState",
    "States": {
        "LambdaState": lambda_state(GREET, Next="Pause"),
        "Pause": {"Type": "Wait", "Seconds": 300, "End": True},
    },
}


def mock_config():
    """The guide's file, with this test's own test cases and one mocked response added."""
    config = json.loads(GUIDE_FILE.read_text())
    cases = config["StateMachines"][MACHINE]["TestCases"]
    # Every attempt (the first and its three retries) fails: the Catch takes it.
    cases["CatchPath"] = {"LambdaState": "MockedLambdaNeverReady"}
    config["MockedResponses"]["MockedLambdaNeverReady"] = {"0-3": {"Throw": NOT_READY}}
    config["StateMachines"]["LambdaThenWait"] = {"TestCases": {"Mocked": {"LambdaState": "MockedLambdaSuccess"}}}
    config["StateMachines"]["LambdaSQSExpress"] = {"TestCases": {"HappyPath": cases["HappyPath"]}}
    config["StateMachines"]["MapOfGreetings"] = {"TestCases": {"Sequence": {"Greet": "MockedSequence"}}}
    config["MockedResponses"]["MockedSequence"] = {str(n): {"Return": {"n": n}} for n in range(3)}
    # A CloudFlow flow: the file keys flows by name whatever API created them.
    config["StateMachines"]["CloudFlowOrders"] = {"TestCases": {"Mocked": {"Call": "MockedLambdaSuccess"}}}
    return config


@pytest.fixture(scope="module")
def mocked_sluice(tmp_path_factory, functions):
    directory = tmp_path_factory.mktemp("sluice-mocks")
    path = directory / "MockConfigFile.json"
    path.write_text(json.dumps(mock_config()))
    server = Sluice(directory / "data", functions.url_template, env={"SFN_MOCK_CONFIG": str(path)})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sfn(mocked_sluice):
    return mocked_sluice.stepfunctions()


@pytest.fixture(scope="module")
def machine(sfn, functions):
    functions.register(f"/{GREET}", answer({"body": "from the real greet function"}))
    functions.register(f"/{QUEUE}", answer({"MessageId": "sent-by-the-real-queue-function"}))
    return sfn.create_state_machine(name=MACHINE, definition=json.dumps(INTEGRATION), roleArn=ROLE)["stateMachineArn"]


def start(sfn, machine, case, **options):
    return sfn.start_execution(stateMachineArn=f"{machine}#{case}", name=unique(case), **options)["executionArn"]


def events(sfn, execution):
    return sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]


def task_outcomes(history):
    """Each task's end, in order: `("ok", output)` or `("error", error, cause)`."""
    outcomes = []
    for event in history:
        if event["type"] == "TaskSucceeded":
            outcomes.append(("ok", json.loads(event["taskSucceededEventDetails"]["output"])))
        elif event["type"] == "TaskFailed":
            details = event["taskFailedEventDetails"]
            outcomes.append(("error", details["error"], details["cause"]))
    return outcomes


def calls(functions, name):
    return functions.calls_to(f"/{name}")


def test_the_happy_path_answers_both_states_from_the_file(sfn, machine, functions):
    before = len(calls(functions, GREET)) + len(calls(functions, QUEUE))
    execution = start(sfn, machine, "HappyPath", input='{"name": "Ada"}')
    # The execution is named as any other, under the state machine's own ARN.
    assert "#" not in execution
    assert execution.startswith(machine.replace(":stateMachine:", ":execution:") + ":")
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    assert done["stateMachineArn"] == machine
    # A mocked Return is the task's result as given: no Lambda wrapping around it.
    assert json.loads(done["output"]) == MOCKED_SQS
    assert task_outcomes(events(sfn, execution)) == [("ok", MOCKED_LAMBDA), ("ok", MOCKED_SQS)]
    assert len(calls(functions, GREET)) + len(calls(functions, QUEUE)) == before


def test_the_retry_path_throws_three_times_and_then_returns(sfn, machine):
    execution = start(sfn, machine, "RetryPath")
    done = finished(sfn, execution, timeout=30)
    assert done["status"] == "SUCCEEDED", done
    timeout = ("error", "Lambda.TimeoutException", "Lambda timed out.")
    assert task_outcomes(events(sfn, execution)) == [
        ("error", NOT_READY["Error"], NOT_READY["Cause"]),
        timeout,
        timeout,
        ("ok", MOCKED_LAMBDA),
        ("ok", MOCKED_SQS),
    ]


def test_the_catch_path_takes_the_error_after_the_retries(sfn, machine):
    execution = start(sfn, machine, "CatchPath", input='{"order": 7}')
    done = finished(sfn, execution, timeout=30)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"order": 7, "error": NOT_READY}
    history = events(sfn, execution)
    assert [o[0] for o in task_outcomes(history)] == ["error"] * 4
    assert "CaughtState" in [e.get("stateEnteredEventDetails", {}).get("name") for e in history]


def test_a_state_the_test_case_does_not_mock_calls_its_function(sfn, machine, functions):
    greeted = len(calls(functions, GREET))
    execution = start(sfn, machine, "HybridPath")
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    # SQSState called the real function with the mocked LambdaState's body.
    sent = [c for c in calls(functions, QUEUE) if c.header("X-Sluice-Execution") == execution.rsplit(":", 1)[1]]
    assert [c.body for c in sent] == [{"MessageBody": "Hello from Lambda!"}]
    assert json.loads(done["output"])["Payload"] == {"MessageId": "sent-by-the-real-queue-function"}
    assert len(calls(functions, GREET)) == greeted


def test_without_a_test_case_every_state_is_called(sfn, machine, functions):
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["Payload"] == {"MessageId": "sent-by-the-real-queue-function"}
    queued = [c.body for c in calls(functions, QUEUE) if c.header("X-Sluice-Execution") == execution.rsplit(":", 1)[1]]
    assert queued == [{"MessageBody": "from the real greet function"}]


def test_an_unknown_test_case_is_refused(sfn, machine):
    with pytest.raises(sfn.exceptions.ClientError) as raised:
        sfn.start_execution(stateMachineArn=f"{machine}#NoSuchCase", name=unique("unknown"))
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "NoSuchCase" in error["Message"] and "HappyPath" in error["Message"], error
    # A state machine the file does not name has no test case at all.
    other = sfn.create_state_machine(name=unique("plain"), definition=json.dumps(THEN_WAIT), roleArn=ROLE)
    assert aws_error(lambda: sfn.start_execution(stateMachineArn=f"{other['stateMachineArn']}#HappyPath")) == (
        "ValidationException"
    )


def test_the_iterations_of_a_map_count_the_invocations_of_one_state(sfn):
    """One counter per state and execution, as Step Functions Local keeps: each iteration
    takes the next invocation's answer."""
    definition = {
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "MaxConcurrency": 1,
            "ItemProcessor": {"StartAt": "Greet", "States": {"Greet": lambda_state(GREET, End=True)}},
            "End": True,
        }},
    }
    machine = sfn.create_state_machine(name="MapOfGreetings", definition=json.dumps(definition), roleArn=ROLE)
    execution = start(sfn, machine["stateMachineArn"], "Sequence", input='["a", "b", "c"]')
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_a_mocked_execution_stops(sfn, functions):
    machine = sfn.create_state_machine(name="LambdaThenWait", definition=json.dumps(THEN_WAIT), roleArn=ROLE)
    greeted = len(calls(functions, GREET))
    execution = start(sfn, machine["stateMachineArn"], "Mocked")
    wait_for(lambda: "WaitStateEntered" in [e["type"] for e in events(sfn, execution)])
    sfn.stop_execution(executionArn=execution, error="Enough", cause="stopped by the test")
    done = sfn.describe_execution(executionArn=execution)
    assert done["status"] == "ABORTED", done
    assert done["error"] == "Enough"
    assert task_outcomes(events(sfn, execution)) == [("ok", MOCKED_LAMBDA)]
    assert len(calls(functions, GREET)) == greeted


def test_a_sync_express_execution_runs_under_a_test_case(sfn, functions):
    express = sfn.create_state_machine(
        name="LambdaSQSExpress", definition=json.dumps(INTEGRATION), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    queued = len(calls(functions, QUEUE))
    done = sfn.start_sync_execution(stateMachineArn=f"{express}#HappyPath", input="{}")
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == MOCKED_SQS
    assert len(calls(functions, QUEUE)) == queued
    assert aws_error(lambda: sfn.start_sync_execution(stateMachineArn=f"{express}#RetryPath")) == (
        "ValidationException"
    )


def test_a_cloudflow_start_names_its_test_case_after_the_flow_name(mocked_sluice, functions):
    fnf = mocked_sluice.client()
    function = unique("order")
    functions.register(f"/e2e/{function}", answer({"real": True}))
    create(fnf, "CloudFlowOrders", task_flow("CloudFlowOrders", function))
    started = fnf.start_execution(
        m.StartExecutionRequest(flow_name="CloudFlowOrders#Mocked", execution_name="mocked-1", input="{}")
    ).body
    assert started.flow_name == "CloudFlowOrders"
    done = describe(fnf, "CloudFlowOrders", "mocked-1", wait=10)
    assert done.status == "Succeeded", done
    assert json.loads(done.output) == MOCKED_LAMBDA
    assert functions.calls_to(f"/e2e/{function}") == []
    # Without a test case the function is called.
    fnf.start_execution(m.StartExecutionRequest(flow_name="CloudFlowOrders", execution_name="real-1", input="{}"))
    assert json.loads(describe(fnf, "CloudFlowOrders", "real-1", wait=10).output) == {"real": True}
    with pytest.raises(ClientException) as raised:
        fnf.start_execution(m.StartExecutionRequest(flow_name="CloudFlowOrders#HappyPath", input="{}"))
    assert "HappyPath" in raised.value.message, raised.value.message

    # The same flow is a FunctionGraph workflow: its start names the test case after its id.
    fgs = mocked_sluice.huawei(fg.FunctionGraphClient)
    [workflow] = [w for w in fgs.list_workflow(fg.ListWorkflowRequest(workflow_name="CloudFlowOrders")).workflows
                  if w.name == "CloudFlowOrders"]
    body = fg.FlowExecuteBody(input={})
    mocked = fgs.start_workflow_execution(
        fg.StartWorkflowExecutionRequest(workflow_id=f"{workflow.id}#Mocked", body=body)).execution_id
    assert json.loads(describe(fnf, "CloudFlowOrders", mocked, wait=10).output) == MOCKED_LAMBDA
    assert len(functions.calls_to(f"/e2e/{function}")) == 1, "only the unmocked start called the function"


def test_a_restart_keeps_mocking_where_it_was(sfn, machine, mocked_sluice):
    execution = start(sfn, machine, "RetryPath")
    # Killed in the retry backoff after the first failure: the test case is stored with the
    # execution, and the invocations are counted from its history.
    wait_for(lambda: len(task_outcomes(events(sfn, execution))) == 1)
    mocked_sluice.kill9()
    mocked_sluice.start()
    done = finished(sfn, execution, timeout=30)
    assert done["status"] == "SUCCEEDED", done
    outcomes = task_outcomes(events(sfn, execution))
    assert [o[1] for o in outcomes[:3]] == [NOT_READY["Error"], "Lambda.TimeoutException", "Lambda.TimeoutException"]
    assert outcomes[3:] == [("ok", MOCKED_LAMBDA), ("ok", MOCKED_SQS)]


def test_the_aws_cli_starts_a_test_case_and_describes_it(sfn, machine, mocked_sluice):
    def cli(*args):
        answer = mocked_sluice.aws(*args)
        assert isinstance(answer, dict), answer.stderr
        return answer

    started = cli("start-execution", "--state-machine-arn", f"{machine}#HappyPath", "--name", "cli-happy-path")
    assert started["executionArn"].endswith(f":execution:{MACHINE}:cli-happy-path")
    finished(sfn, started["executionArn"])
    described = cli("describe-execution", "--execution-arn", started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == MOCKED_SQS


def test_a_bad_mock_configuration_file_stops_the_server_saying_where(tmp_path):
    bad = tmp_path / "MockConfigFile.json"
    config = json.loads(GUIDE_FILE.read_text())
    config["MockedResponses"]["MockedLambdaRetry"]["5"] = {"Return": {}}
    bad.write_text(json.dumps(config))
    run = subprocess.run(
        [BINARY, "serve", "--data-dir", str(tmp_path / "data"), "--mock-config", str(bad), "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode != 0
    assert str(bad) in run.stderr, run.stderr
    assert 'MockedResponses.MockedLambdaRetry."5"' in run.stderr, run.stderr
    assert "4 to 4" in run.stderr, run.stderr

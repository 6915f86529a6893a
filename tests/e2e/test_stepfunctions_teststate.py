"""AWS Step Functions `TestState` (boto3, the AWS CLI) against a real `sluice serve`: one state
run alone, nothing stored, its data shown stage by stage at the DEBUG level.

The shapes are the API reference's (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html:
`status` SUCCEEDED, FAILED, RETRIABLE or CAUGHT_ERROR, `nextState`, `inspectionData` of JSON
texts, `errorDetails`); the data are the documented examples of the Developer Guide, each with
its page beside it. Lambda tasks call real HTTP functions on 127.0.0.1.
"""

import json
import time

import pytest

from functions import answer, echo, fail
from test_cloudflow import unique
from test_stepfunctions import aws_error, lambda_arn

# https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
# (Parameters: the example input and the "Selecting what I care about." effective input)
PARAMETERS_INPUT = {
    "comment": "Example for Parameters.",
    "product": {
        "details": {"color": "blue", "size": "small", "material": "cotton"},
        "availability": "in stock",
        "sku": "2317",
        "cost": "$23",
    },
}
PARAMETERS = {
    "comment": "Selecting what I care about.",
    "MyDetails": {"size.$": "$.product.details.size", "exists.$": "$.product.availability", "StaticValue": "foo"},
}
SELECTED = {"comment": "Selecting what I care about.", "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}}

# https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html (Choice State Example:
# {"type": "Private", "value": 22} goes to ValueInTwenties)
CHOICE_MACHINE = {
    "StartAt": "ChoiceStateX",
    "States": {
        "ChoiceStateX": {
            "Type": "Choice",
            "Choices": [
                {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
                {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
                {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20},
                         {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"},
            ],
            "Default": "DefaultState",
        },
        "Public": {"Type": "Pass", "Result": "Public", "End": True},
        "ValueIsZero": {"Type": "Pass", "Result": "ValueIsZero", "End": True},
        "ValueInTwenties": {"Type": "Pass", "Result": "ValueInTwenties", "End": True},
        "DefaultState": {"Type": "Fail", "Cause": "No Matches!"},
    },
}


@pytest.fixture(scope="module")
def sfn(sluice):
    return sluice.stepfunctions()


def run_state(sfn, state, **request):
    answer = sfn.test_state(definition=json.dumps(state), **request)
    answer.pop("ResponseMetadata")
    return answer


def parsed(data):
    return {name: json.loads(value) if isinstance(value, str) else value for name, value in data.items()}


def test_a_pass_state_at_debug_shows_each_stage_of_its_data(sfn):
    state = {"Type": "Pass", "Parameters": PARAMETERS, "ResultPath": "$.selected", "Next": "Ship"}
    tested = run_state(sfn, state, input=json.dumps(PARAMETERS_INPUT), inspectionLevel="DEBUG")
    assert tested["status"] == "SUCCEEDED" and tested["nextState"] == "Ship"
    after_result_path = dict(PARAMETERS_INPUT, selected=SELECTED)
    assert json.loads(tested["output"]) == after_result_path
    # A Pass state without `Result` shows no `result` (AWS's answers as LocalStack recorded them,
    # docs/stepfunctions.md).
    assert parsed(tested["inspectionData"]) == {
        "input": PARAMETERS_INPUT,
        "afterInputPath": PARAMETERS_INPUT,
        "afterParameters": SELECTED,
        "afterResultSelector": SELECTED,
        "afterResultPath": after_result_path,
    }
    # INFO (the default) shows the outcome alone.
    info = run_state(sfn, state, input=json.dumps(PARAMETERS_INPUT))
    assert "inspectionData" not in info and json.loads(info["output"]) == after_result_path


def test_an_input_path_is_shown_before_the_parameters(sfn):
    # https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
    # (InputPath "$.dataset2" selects {"val1": "a", "val2": "b", "val3": "c"})
    state = {"Type": "Pass", "InputPath": "$.dataset2", "End": True}
    given = {"comment": "Example for InputPath", "dataset1": {"val1": 1, "val2": 2, "val3": 3},
             "dataset2": {"val1": "a", "val2": "b", "val3": "c"}}
    tested = run_state(sfn, state, input=json.dumps(given), inspectionLevel="DEBUG")
    assert json.loads(tested["inspectionData"]["afterInputPath"]) == given["dataset2"]
    assert json.loads(tested["output"]) == given["dataset2"]
    # "If you haven't defined a next state in your definition, this field returns an empty
    # value" (https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html).
    assert tested["status"] == "SUCCEEDED" and "nextState" not in tested


def test_a_choice_gives_its_next_state_alone_or_picked_out_of_a_machine(sfn):
    given = json.dumps({"type": "Private", "value": 22})
    alone = run_state(sfn, CHOICE_MACHINE["States"]["ChoiceStateX"], input=given, inspectionLevel="DEBUG")
    assert (alone["status"], alone["nextState"]) == ("SUCCEEDED", "ValueInTwenties")
    assert json.loads(alone["output"]) == {"type": "Private", "value": 22}
    # A Choice state has no arguments and no result to show.
    assert parsed(alone["inspectionData"]) == {"input": json.loads(given), "afterInputPath": json.loads(given)}
    picked = run_state(sfn, CHOICE_MACHINE, stateName="ChoiceStateX", input=json.dumps({"type": "Public"}))
    assert picked["nextState"] == "Public"


def test_a_wait_state_waits_then_gives_its_next_state(sfn):
    # Wait is among the states TestState runs (API reference); this server waits for real.
    started = time.monotonic()
    tested = run_state(sfn, {"Type": "Wait", "Seconds": 1, "Next": "After"}, input=json.dumps({"a": 1}),
                       inspectionLevel="TRACE")
    assert time.monotonic() - started >= 1
    assert (tested["status"], tested["nextState"], json.loads(tested["output"])) == ("SUCCEEDED", "After", {"a": 1})
    assert json.loads(tested["inspectionData"]["input"]) == {"a": 1}


def test_a_fail_state_fails_with_its_error_and_cause(sfn):
    # https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html (the example
    # "FailState": {"Type": "Fail", "Cause": "Invalid response.", "Error": "ErrorA"})
    state = {"Type": "Fail", "Cause": "Invalid response.", "Error": "ErrorA"}
    tested = run_state(sfn, state)
    assert (tested["status"], tested["error"], tested["cause"]) == ("FAILED", "ErrorA", "Invalid response.")
    assert "output" not in tested and "nextState" not in tested


def test_a_lambda_task_calls_the_function_once_and_shows_its_result(sfn, functions):
    # https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html (a Task
    # calling a Lambda function ARN, its result placed at ResultPath $.taskresult)
    function = unique("hello")
    functions.register(f"/{function}", answer("Hello, AWS Step Functions!"))
    given = {"comment": "An input comment.", "data": {"val1": 23, "val2": 17}}
    state = {"Type": "Task", "Resource": lambda_arn(function), "ResultPath": "$.taskresult", "End": True}
    tested = run_state(sfn, state, input=json.dumps(given), inspectionLevel="DEBUG")
    expected = dict(given, taskresult="Hello, AWS Step Functions!")
    assert tested["status"] == "SUCCEEDED" and json.loads(tested["output"]) == expected
    data = parsed(tested["inspectionData"])
    assert data["result"] == "Hello, AWS Step Functions!" and data["afterResultPath"] == expected
    assert [c.body for c in functions.calls_to(f"/{function}")] == [given]


def test_a_matching_retrier_makes_the_state_retriable_without_retrying_it(sfn, functions):
    function = unique("broken")
    functions.register(f"/{function}", fail("CustomError"))
    # "IntervalSeconds: the number of seconds before the first retry attempt"
    # (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
    state = {"Type": "Task", "Resource": lambda_arn(function), "End": True,
             "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1},
                       {"ErrorEquals": ["CustomError"], "IntervalSeconds": 3, "MaxAttempts": 2}]}
    tested = run_state(sfn, state, inspectionLevel="DEBUG")
    assert (tested["status"], tested["error"]) == ("RETRIABLE", "CustomError")
    assert tested["inspectionData"]["errorDetails"] == {"retryIndex": 1, "retryBackoffIntervalSeconds": 3}
    assert len(functions.calls_to(f"/{function}")) == 1


def test_a_catcher_gives_caught_error_its_output_and_next_state(sfn, functions):
    function = unique("fails")
    functions.register(f"/{function}", fail("CustomError", "bad"))
    # https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html (Catch
    # with ResultPath "$.error": the error output {Error, Cause} added to the input)
    state = {"Type": "Task", "Resource": lambda_arn(function), "End": True,
             "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"},
                       {"ErrorEquals": ["CustomError"], "ResultPath": "$.error", "Next": "Handled"}]}
    tested = run_state(sfn, state, input=json.dumps({"a": 1}), inspectionLevel="DEBUG")
    assert (tested["status"], tested["nextState"], tested["error"]) == ("CAUGHT_ERROR", "Handled", "CustomError")
    output = json.loads(tested["output"])
    assert output["a"] == 1 and output["error"]["Error"] == "CustomError"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "bad"
    assert tested["inspectionData"]["errorDetails"] == {"catchIndex": 1}


def test_a_jsonata_state_shows_its_arguments_and_variables(sfn, functions):
    function = unique("echo")
    functions.register(f"/{function}", echo())
    # JSONata states show afterArguments, no JSONPath stage (API reference, InspectionData);
    # `variables` sets the state's variables, `inspectionData.variables` holds them and those
    # the state assigned.
    state = {
        "Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": function, "Payload": {"total": "{% $states.input.price * $quantity %}"}},
        "Assign": {"charged": "{% $states.result.Payload.total %}"},
        "Output": "{% $states.result.Payload %}",
        "Next": "Ship",
    }
    tested = run_state(sfn, state, input=json.dumps({"price": 5}), variables=json.dumps({"quantity": 3}),
                        inspectionLevel="DEBUG")
    assert (tested["status"], tested["nextState"]) == ("SUCCEEDED", "Ship")
    assert json.loads(tested["output"]) == {"total": 15}
    data = parsed(tested["inspectionData"])
    assert data["afterArguments"] == {"FunctionName": function, "Payload": {"total": 15}}
    assert data["result"]["Payload"] == {"total": 15}
    assert data["variables"] == {"quantity": 3, "charged": 15}
    assert not {"afterInputPath", "afterParameters", "afterResultSelector", "afterResultPath"} & set(data)


def test_invalid_definitions_and_what_is_not_supported_are_refused(sfn):
    bad = json.dumps({"Type": "Pass", "Nxt": "A"})
    assert aws_error(lambda: sfn.test_state(definition=bad)) == "InvalidDefinition"
    assert aws_error(lambda: sfn.test_state(definition=json.dumps(CHOICE_MACHINE), stateName="Missing")) \
        == "InvalidDefinition"
    parallel = {"Type": "Parallel", "Branches": [{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}],
                "End": True}
    assert aws_error(lambda: sfn.test_state(definition=json.dumps(parallel))) == "ValidationException"
    mocked = dict(definition=json.dumps({"Type": "Pass", "End": True}), mock={"result": "{}"})
    assert aws_error(lambda: sfn.test_state(**mocked)) == "ValidationException"
    assert aws_error(lambda: sfn.test_state(definition=json.dumps({"Type": "Pass", "End": True}), input="[")) \
        == "InvalidExecutionInput"


def test_the_context_object_names_the_role_and_the_tested_state(sfn):
    # `roleArn` is the execution role (API reference); a state given alone has no name of its
    # own: this server calls it TestState (docs/stepfunctions.md).
    role = "arn:aws:iam::123456789012:role/tester"
    state = {"Type": "Pass", "Parameters": {"role.$": "$$.Execution.RoleArn", "state.$": "$$.State.Name"},
             "End": True}
    tested = run_state(sfn, state, roleArn=role)
    assert json.loads(tested["output"]) == {"role": role, "state": "TestState"}
    picked = run_state(sfn, {"StartAt": "Named", "States": {"Named": state}}, stateName="Named")
    assert json.loads(picked["output"])["state"] == "Named"


def test_nothing_is_stored(sfn):
    before = sfn.list_state_machines()["stateMachines"]
    run_state(sfn, {"Type": "Pass", "End": True})
    assert sfn.list_state_machines()["stateMachines"] == before


def test_the_aws_cli_tests_a_state(sluice):
    # TestState is sent to the host `sync-` + the endpoint's (its `hostPrefix`), which an IP
    # address cannot take: the SDKs' documented switch keeps the endpoint as given.
    state = {"Type": "Pass", "Parameters": PARAMETERS, "Next": "Ship"}
    tested = sluice.aws("test-state", "--definition", json.dumps(state), "--input", json.dumps(PARAMETERS_INPUT),
                        "--inspection-level", "DEBUG", env={"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"})
    assert isinstance(tested, dict), tested.stderr
    assert (tested["status"], tested["nextState"]) == ("SUCCEEDED", "Ship")
    assert json.loads(tested["inspectionData"]["afterParameters"]) == SELECTED
    assert json.loads(tested["output"]) == SELECTED

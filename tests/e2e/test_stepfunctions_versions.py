"""Step Functions versions, aliases and redrive (boto3, the AWS CLI, the native API) against a
real `sluice serve`.

Versions and aliases are the service's flow versions and aliases (CloudFlow's `Qualifier`),
spelled as AWS spells them; redrive is the engine's, which every dialect shares: an execution
that failed, was aborted or timed out runs on from where it ended, re-running only what did
not succeed (of a Map, its failed iterations). Behaviour from AWS's API reference
(PublishStateMachineVersion, CreateStateMachineAlias, RedriveExecution) and developer guide
("Redriving executions").
"""

import base64
import json
import threading
import urllib.error
import urllib.request

import pytest

from conftest import KEY_ID, KEY_SECRET
from functions import hang
from test_cloudflow import unique, wait_for
from test_stepfunctions import ROLE, aws_error, create, finished, history_types, lambda_arn


@pytest.fixture(scope="module")
def sfn(sluice):
    return sluice.stepfunctions()


def returns(value):
    """A state machine of one Pass state whose result is `value`."""
    return json.dumps({"StartAt": "Answer", "States": {"Answer": {"Type": "Pass", "Result": value, "End": True}}})


def output_of(sfn, execution_arn):
    done = finished(sfn, execution_arn)
    assert done["status"] == "SUCCEEDED", done
    return json.loads(done["output"])


def test_publish_on_create_and_update_and_publish_state_machine_version(sfn):
    machine = create(sfn, returns({"v": 1}), publish=True, versionDescription="first")
    name = machine.rsplit(":", 1)[1]
    created = sfn.describe_state_machine(stateMachineArn=machine)
    assert created["name"] == name
    v1 = sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"][0]["stateMachineVersionArn"]
    assert v1 == f"{machine}:1"

    described = sfn.describe_state_machine(stateMachineArn=v1)
    assert described["stateMachineArn"] == v1
    assert (json.loads(described["definition"]), described["description"]) == (json.loads(returns({"v": 1})), "first")

    updated = sfn.update_state_machine(stateMachineArn=machine, definition=returns({"v": 2}), publish=True,
                                       versionDescription="second")
    assert updated["stateMachineVersionArn"] == f"{machine}:2"
    assert json.loads(sfn.describe_state_machine(stateMachineArn=v1)["definition"]) == json.loads(returns({"v": 1})), \
        "a version keeps the definition it published"

    # Idempotent: the current revision has a version already.
    again = sfn.publish_state_machine_version(stateMachineArn=machine)
    assert again["stateMachineVersionArn"] == f"{machine}:2"
    revision = sfn.describe_state_machine(stateMachineArn=machine)["revisionId"]
    stale = str(int(revision) - 1)
    assert aws_error(lambda: sfn.publish_state_machine_version(stateMachineArn=machine, revisionId=stale)) \
        == "ConflictException"
    sfn.update_state_machine(stateMachineArn=machine, definition=returns({"v": 3}))
    third = sfn.publish_state_machine_version(stateMachineArn=machine, description="third")
    assert third["stateMachineVersionArn"] == f"{machine}:3"

    listed = sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{machine}:3", f"{machine}:2", f"{machine}:1"]
    page = sfn.list_state_machine_versions(stateMachineArn=machine, maxResults=2)
    rest = sfn.list_state_machine_versions(stateMachineArn=machine, nextToken=page["nextToken"])
    assert [v["stateMachineVersionArn"] for v in page["stateMachineVersions"] + rest["stateMachineVersions"]] == \
        [v["stateMachineVersionArn"] for v in listed]

    assert aws_error(lambda: sfn.create_state_machine(name=unique("sfn"), definition=returns(1), roleArn=ROLE,
                                                      versionDescription="no publish")) == "ValidationException"
    assert aws_error(lambda: sfn.describe_state_machine(stateMachineArn=f"{machine}:99")) == "StateMachineDoesNotExist"

    started = sfn.start_execution(stateMachineArn=v1)
    assert output_of(sfn, started["executionArn"]) == {"v": 1}
    described = sfn.describe_execution(executionArn=started["executionArn"])
    assert described["stateMachineVersionArn"] == v1
    assert "stateMachineAliasArn" not in described
    assert started["executionArn"] == machine.replace(":stateMachine:", ":execution:") + ":" + described["name"]


def test_an_alias_routes_by_weight_and_protects_its_versions(sfn):
    machine = create(sfn, returns({"v": 1}), publish=True)
    v1 = f"{machine}:1"
    v2 = sfn.update_state_machine(stateMachineArn=machine, definition=returns({"v": 2}),
                                  publish=True)["stateMachineVersionArn"]
    alias = sfn.create_state_machine_alias(
        name="prod", description="live traffic",
        routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100},
                              {"stateMachineVersionArn": v2, "weight": 0}])["stateMachineAliasArn"]
    assert alias == f"{machine}:prod"
    same = sfn.create_state_machine_alias(
        name="prod", description="live traffic",
        routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100},
                              {"stateMachineVersionArn": v2, "weight": 0}])
    assert same["stateMachineAliasArn"] == alias, "the same alias again is answered, not refused"
    assert aws_error(lambda: sfn.create_state_machine_alias(
        name="prod", routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}])) == "ConflictException"

    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert (described["name"], described["description"]) == ("prod", "live traffic")
    assert described["routingConfiguration"] == [{"stateMachineVersionArn": v1, "weight": 100},
                                                 {"stateMachineVersionArn": v2, "weight": 0}]
    assert [a["stateMachineAliasArn"] for a in
            sfn.list_state_machine_aliases(stateMachineArn=machine)["stateMachineAliases"]] == [alias]

    run = sfn.start_execution(stateMachineArn=alias, name="via-alias")
    assert output_of(sfn, run["executionArn"]) == {"v": 1}
    execution = sfn.describe_execution(executionArn=run["executionArn"])
    assert (execution["stateMachineAliasArn"], execution["stateMachineVersionArn"]) == (alias, v1)

    sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=[
        {"stateMachineVersionArn": v1, "weight": 50}, {"stateMachineVersionArn": v2, "weight": 50}])
    outputs = [sfn.start_execution(stateMachineArn=alias)["executionArn"] for _ in range(40)]
    seen = [output_of(sfn, arn)["v"] for arn in outputs]
    assert set(seen) == {1, 2}, f"a 50/50 alias sent all 40 starts one way: {seen}"
    versions = {sfn.describe_execution(executionArn=arn)["stateMachineVersionArn"] for arn in outputs}
    assert versions == {v1, v2}
    through_alias = sfn.list_executions(stateMachineArn=alias)["executions"]
    assert len(through_alias) == 41 and all(e["stateMachineAliasArn"] == alias for e in through_alias)
    assert len(sfn.list_executions(stateMachineArn=v2)["executions"]) == seen.count(2)

    bad = [{"stateMachineVersionArn": v1, "weight": 60}, {"stateMachineVersionArn": v2, "weight": 60}]
    assert aws_error(lambda: sfn.update_state_machine_alias(stateMachineAliasArn=alias,
                                                            routingConfiguration=bad)) == "ValidationException"
    other = create(sfn, returns(0), publish=True)
    assert aws_error(lambda: sfn.create_state_machine_alias(
        name="mixed", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 50},
                                            {"stateMachineVersionArn": f"{other}:1", "weight": 50}])) \
        == "ValidationException"

    with pytest.raises(sfn.exceptions.ConflictException) as refused:
        sfn.delete_state_machine_version(stateMachineVersionArn=v2)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert "prod" in refused.value.response["Error"]["Message"]
    sfn.update_state_machine_alias(stateMachineAliasArn=alias, description="all on one",
                                   routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}])
    sfn.delete_state_machine_version(stateMachineVersionArn=v2)
    assert [v["stateMachineVersionArn"] for v in
            sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"]] == [v1]
    assert aws_error(lambda: sfn.start_execution(stateMachineArn=v2)) == "StateMachineDoesNotExist"
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    assert aws_error(lambda: sfn.describe_state_machine_alias(stateMachineAliasArn=alias)) == "ResourceNotFound"
    assert aws_error(lambda: sfn.start_execution(stateMachineArn=alias)) == "StateMachineDoesNotExist"
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)


def test_concurrent_updates_of_logging_and_tracing_both_hold(sfn):
    machine = create(sfn, returns(1))
    for round_ in range(5):
        level = ["ALL", "ERROR", "FATAL", "OFF", "ALL"][round_]
        logging = {"level": level, "includeExecutionData": round_ % 2 == 0}
        tracing = {"enabled": round_ % 2 == 1}
        calls = [
            lambda: sfn.update_state_machine(stateMachineArn=machine, loggingConfiguration=logging),
            lambda: sfn.update_state_machine(stateMachineArn=machine, tracingConfiguration=tracing),
        ]
        threads = [threading.Thread(target=call) for call in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        described = sfn.describe_state_machine(stateMachineArn=machine)
        assert (described["loggingConfiguration"], described["tracingConfiguration"]) == (logging, tracing)


def items_map(function):
    return json.dumps({
        "StartAt": "Each",
        "States": {
            # One at a time, so that item 2 fails after item 1 succeeded and before item 3
            # starts: iterations in flight when one fails are aborted, and run again too.
            "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "End": True,
                     "ItemProcessor": {"StartAt": "Charge", "States": {
                         "Charge": {"Type": "Task", "Resource": lambda_arn(function), "End": True}}}},
        },
    })


def test_redrive_reruns_only_the_unsuccessful_map_iterations(sfn, functions):
    function = unique("charge")
    healed = []

    def charge(call, conn):
        if call.body == 2 and not healed:
            return 500, {"errorCode": "Card.Declined", "errorMessage": "item 2"}
        return 200, {"charged": call.body}

    functions.register(f"/{function}", charge)
    machine = create(sfn, items_map(function))
    run = sfn.start_execution(stateMachineArn=machine, name="map-run", input=json.dumps({"items": [1, 2, 3]}))
    arn = run["executionArn"]
    failed = finished(sfn, arn)
    assert (failed["status"], failed["error"]) == ("FAILED", "Card.Declined")
    assert (failed["redriveCount"], failed["redriveStatus"]) == (0, "REDRIVABLE")
    assert "redriveDate" not in failed
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=machine, redriveFilter="NOT_REDRIVEN")["executions"]] \
        == ["map-run"]
    assert sfn.list_executions(stateMachineArn=machine, redriveFilter="REDRIVEN")["executions"] == []

    healed.append(True)
    redriven = sfn.redrive_execution(executionArn=arn)
    assert redriven["redriveDate"] >= failed["stopDate"]
    done = finished(sfn, arn)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == [{"charged": 1}, {"charged": 2}, {"charged": 3}]
    assert done["redriveCount"] == 1 and done["redriveDate"] == redriven["redriveDate"]
    assert (done["redriveStatus"], done["redriveStatusReason"]) == (
        "NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven")
    bodies = sorted(c.body for c in functions.calls_to(f"/{function}"))
    assert bodies == [1, 2, 2, 3], "the succeeded iteration did not run again"

    types = history_types(sfn, arn)
    assert types.count("ExecutionRedriven") == 1
    assert types.index("ExecutionFailed") < types.index("ExecutionRedriven") < types.index("ExecutionSucceeded")
    assert types.count("MapIterationStarted") == 4, "items 1 and 2, then 2 and 3"
    event = next(e for e in sfn.get_execution_history(executionArn=arn)["events"] if e["type"] == "ExecutionRedriven")
    assert event["executionRedrivenEventDetails"] == {"redriveCount": 1}

    listed = sfn.list_executions(stateMachineArn=machine, redriveFilter="REDRIVEN")["executions"]
    assert [(e["name"], e["redriveCount"]) for e in listed] == [("map-run", 1)]
    assert sfn.list_executions(stateMachineArn=machine, redriveFilter="NOT_REDRIVEN")["executions"] == []

    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable) as refused:
        sfn.redrive_execution(executionArn=arn)
    assert "SUCCEEDED" in refused.value.response["Error"]["Message"]
    assert aws_error(lambda: sfn.redrive_execution(executionArn=arn.replace("map-run", "no-such"))) \
        == "ExecutionDoesNotExist"


def test_an_aborted_execution_is_redriven_at_its_task_and_a_running_one_is_not(sfn, functions):
    function = unique("slow")
    answered = []
    stuck = hang(60)
    functions.register(f"/{function}", lambda call, conn: (200, {"ok": True}) if answered else stuck(call, conn))
    definition = json.dumps({"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": lambda_arn(function), "End": True}}})
    machine = create(sfn, definition)
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"n": 1}))["executionArn"]
    wait_for(lambda: functions.calls_to(f"/{function}"))
    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable):
        sfn.redrive_execution(executionArn=arn)
    assert sfn.describe_execution(executionArn=arn)["redriveStatusReason"] == \
        "Execution is RUNNING and cannot be redriven"
    sfn.stop_execution(executionArn=arn, error="Operator.Halt", cause="by hand")
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"

    answered.append(True)
    sfn.redrive_execution(executionArn=arn)
    assert output_of(sfn, arn) == {"ok": True}
    calls = functions.calls_to(f"/{function}")
    assert [c.body for c in calls] == [{"n": 1}, {"n": 1}]
    assert sfn.list_executions(stateMachineArn=machine, statusFilter="SUCCEEDED")["executions"][0]["redriveCount"] == 1


def native(sluice, method, path):
    token = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
    request = urllib.request.Request(f"{sluice.endpoint}{path}", method=method,
                                     headers={"Authorization": f"Basic {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_native_api_and_the_aws_cli_redrive_too(sfn, sluice, functions):
    function = unique("flaky")
    healed = []
    functions.register(f"/{function}", lambda call, conn: (200, {"ok": True}) if healed
                       else (500, {"errorCode": "Flaky", "errorMessage": "not yet"}))
    definition = json.dumps({"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": lambda_arn(function), "End": True}}})
    machine = create(sfn, definition)
    flow = machine.rsplit(":", 1)[1]
    for name in ("by-native", "by-cli"):
        arn = sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]
        assert finished(sfn, arn)["status"] == "FAILED"

    status, failed = native(sluice, "GET", f"/api/v1/flows/{flow}/executions/by-native")
    assert (status, failed["status"], failed["redrivable"], failed["redrive_count"]) == (200, "failed", True, 0)
    healed.append(True)
    status, redriven = native(sluice, "POST", f"/api/v1/flows/{flow}/executions/by-native/redrive")
    assert status == 200 and redriven["redrive_count"] == 1
    arn = machine.replace(":stateMachine:", ":execution:") + ":by-native"
    assert output_of(sfn, arn) == {"ok": True}
    status, problem = native(sluice, "POST", f"/api/v1/flows/{flow}/executions/by-native/redrive")
    assert (status, problem["code"]) == (409, "NotRedrivable")
    status, document = native(sluice, "GET", "/api/v1/openapi.json")
    assert "post" in document["paths"]["/api/v1/flows/{flow}/executions/{execution}/redrive"]

    cli_arn = machine.replace(":stateMachine:", ":execution:") + ":by-cli"
    redriven = sluice.aws("redrive-execution", "--execution-arn", cli_arn)
    assert isinstance(redriven, dict), redriven.stderr
    assert "redriveDate" in redriven
    assert output_of(sfn, cli_arn) == {"ok": True}

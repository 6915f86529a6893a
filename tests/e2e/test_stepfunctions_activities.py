"""Step Functions activities (boto3) against a real `sluice serve`.

The test plays the activity worker as AWS's documentation writes one: `GetActivityTask` (a
long poll of up to 60 s), `SendTaskHeartbeat` while it works, `SendTaskSuccess` or
`SendTaskFailure` with the task's token. A Task state whose `Resource` is the activity's ARN
waits for it; `HeartbeatSeconds` fails it with `States.HeartbeatTimeout` when the worker goes
quiet. One test waits out a whole empty poll (60 s); the others never wait that long.
"""

import json
import threading
import time

import pytest

from conftest import TENANT_A_KEY, TENANT_B_KEY, Sluice
from test_cloudflow import unique, wait_for
from test_stepfunctions import aws_error, create, finished, history_types

# Longer than the 60 s AWS (and this server) holds an empty poll, as AWS tells workers to set.
READ_TIMEOUT = 70


def client(server, *key):
    return server.stepfunctions(*key, read_timeout=READ_TIMEOUT)


@pytest.fixture(scope="module")
def sfn(sluice):
    return client(sluice)


def activity_machine(sfn, activity, **task):
    """A state machine whose `Work` state is a task of `activity`, with `task`'s fields."""
    work = {"Type": "Task", "Resource": activity, "End": True, **task}
    states = {"Work": work}
    for state in (task.get("Catch") or []):
        states.setdefault(state["Next"], {"Type": "Pass", "End": True})
    return create(sfn, json.dumps({"StartAt": "Work", "States": states}))


def new_activity(sfn):
    return sfn.create_activity(name=unique("activity"))["activityArn"]


def poll(sfn, activity, worker="worker-1"):
    """One long poll in a thread; its answer once it comes."""
    answer = {}

    def run():
        answer.update(sfn.get_activity_task(activityArn=activity, workerName=worker))
        answer["done"] = True

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return answer, thread


def take(sfn, activity, worker="worker-1"):
    task = sfn.get_activity_task(activityArn=activity, workerName=worker)
    assert "taskToken" in task, task
    return task


def events(sfn, execution):
    return sfn.get_execution_history(executionArn=execution)["events"]


def test_a_worker_long_polls_heartbeats_and_succeeds(sfn):
    activity = new_activity(sfn)
    machine = activity_machine(sfn, activity, HeartbeatSeconds=2, TimeoutSeconds=60)
    # The worker polls before there is a task: the start wakes its poll at once.
    answer, thread = poll(sfn, activity)
    time.sleep(0.5)
    started = time.monotonic()
    execution = sfn.start_execution(stateMachineArn=machine, input='{"order": 7}')["executionArn"]
    thread.join(timeout=10)
    assert answer.get("done"), "the poll did not answer"
    assert time.monotonic() - started < 1.5, "a waiting poll was not woken by the new task"
    assert json.loads(answer["input"]) == {"order": 7}
    token = answer["taskToken"]

    # Working for longer than HeartbeatSeconds, heartbeating within each period.
    for _ in range(3):
        time.sleep(1)
        sfn.send_task_heartbeat(taskToken=token)
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output='{"shipped": true}')
    done = finished(sfn, execution)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"shipped": True})

    history = events(sfn, execution)
    kinds = [e["type"] for e in history]
    assert kinds == [
        "ExecutionStarted", "TaskStateEntered", "ActivityScheduled", "ActivityStarted",
        "ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]
    scheduled = history[2]["activityScheduledEventDetails"]
    assert scheduled["resource"] == activity and json.loads(scheduled["input"]) == {"order": 7}
    assert (scheduled["timeoutInSeconds"], scheduled["heartbeatInSeconds"]) == (60, 2)
    assert history[3]["activityStartedEventDetails"] == {"workerName": "worker-1"}
    assert json.loads(history[4]["activitySucceededEventDetails"]["output"]) == {"shipped": True}
    # The token is spent: a second report is too late.
    assert aws_error(lambda: sfn.send_task_success(taskToken=token, output="{}")) == "TaskTimedOut"


def test_a_failure_the_worker_reports_is_caught(sfn):
    activity = new_activity(sfn)
    catch = [{"ErrorEquals": ["Custom.Broken"], "Next": "Recovered", "ResultPath": "$.error"}]
    machine = activity_machine(sfn, activity, Catch=catch)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]
    task = take(sfn, activity)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Custom.Broken", cause="the printer is on fire")
    done = finished(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {
        "n": 1, "error": {"Error": "Custom.Broken", "Cause": "the printer is on fire"},
    }
    failed = next(e for e in events(sfn, execution) if e["type"] == "ActivityFailed")
    assert failed["activityFailedEventDetails"] == {"error": "Custom.Broken", "cause": "the printer is on fire"}


def test_a_quiet_worker_times_out_by_heartbeat_and_the_retry_goes_to_another(sfn):
    activity = new_activity(sfn)
    retry = [{"ErrorEquals": ["States.HeartbeatTimeout"], "MaxAttempts": 1, "IntervalSeconds": 1}]
    machine = activity_machine(sfn, activity, HeartbeatSeconds=1, Retry=retry)
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    quiet = take(sfn, activity, worker="quiet")
    # No heartbeat: after 1 s the task times out and is retried, as a new task.
    retried = take(sfn, activity, worker="diligent")
    assert retried["taskToken"] != quiet["taskToken"]
    assert aws_error(lambda: sfn.send_task_heartbeat(taskToken=quiet["taskToken"])) == "TaskTimedOut"
    assert aws_error(lambda: sfn.send_task_success(taskToken=quiet["taskToken"], output="{}")) == "TaskTimedOut"
    sfn.send_task_success(taskToken=retried["taskToken"], output='{"second": true}')
    assert finished(sfn, execution)["status"] == "SUCCEEDED"
    timed_out = next(e for e in events(sfn, execution) if e["type"] == "ActivityTimedOut")
    assert timed_out["activityTimedOutEventDetails"]["error"] == "States.HeartbeatTimeout"
    started = [e for e in events(sfn, execution) if e["type"] == "ActivityStarted"]
    assert [e["activityStartedEventDetails"]["workerName"] for e in started] == ["quiet", "diligent"]


def test_without_retry_a_heartbeat_timeout_fails_the_execution_and_timeout_seconds_too(sfn):
    activity = new_activity(sfn)
    machine = activity_machine(sfn, activity, HeartbeatSeconds=1)
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    take(sfn, activity)
    done = finished(sfn, execution)
    assert (done["status"], done["error"]) == ("FAILED", "States.HeartbeatTimeout")

    # TimeoutSeconds counts from the schedule: a task no worker takes times out too.
    machine = activity_machine(sfn, activity, TimeoutSeconds=1)
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    done = finished(sfn, execution)
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")
    assert "ActivityTimedOut" in history_types(sfn, execution)
    assert "ActivityStarted" not in history_types(sfn, execution)


def test_a_stop_while_the_worker_works_makes_its_late_reports_task_timed_out(sfn):
    activity = new_activity(sfn)
    machine = activity_machine(sfn, activity, HeartbeatSeconds=30)
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    token = take(sfn, activity)["taskToken"]
    sfn.send_task_heartbeat(taskToken=token)
    sfn.stop_execution(executionArn=execution, error="Operator", cause="changed our mind")
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    assert aws_error(lambda: sfn.send_task_heartbeat(taskToken=token)) == "TaskTimedOut"
    assert aws_error(lambda: sfn.send_task_success(taskToken=token, output="{}")) == "TaskTimedOut"
    assert aws_error(lambda: sfn.send_task_failure(taskToken=token, error="E")) == "TaskTimedOut"


def test_each_task_goes_to_exactly_one_of_many_workers(sfn):
    activity = new_activity(sfn)
    machine = activity_machine(sfn, activity)
    workers = [poll(sfn, activity, worker=f"w{i}") for i in range(6)]
    executions = [
        sfn.start_execution(stateMachineArn=machine, input=json.dumps({"i": i}))["executionArn"]
        for i in range(6)
    ]
    for _, thread in workers:
        thread.join(timeout=20)
    answers = [answer for answer, _ in workers]
    assert all("taskToken" in a for a in answers), answers
    assert len({a["taskToken"] for a in answers}) == 6
    assert sorted(json.loads(a["input"])["i"] for a in answers) == list(range(6))
    for answer in answers:
        sfn.send_task_success(taskToken=answer["taskToken"], output=answer["input"])
    assert [finished(sfn, e)["status"] for e in executions] == ["SUCCEEDED"] * 6


def test_activities_are_created_idempotently_described_listed_and_deleted(sfn):
    name = unique("activity")
    created = sfn.create_activity(name=name, tags=[{"key": "team", "value": "ops"}])
    assert created["activityArn"].endswith(f":activity:{name}") and ":us-east-1:" in created["activityArn"]
    again = sfn.create_activity(name=name)
    assert again["activityArn"] == created["activityArn"] and again["creationDate"] == created["creationDate"]
    assert sfn.list_tags_for_resource(resourceArn=created["activityArn"])["tags"] == [{"key": "team", "value": "ops"}]
    sfn.tag_resource(resourceArn=created["activityArn"], tags=[{"key": "team", "value": "sre"}, {"key": "env", "value": "prod"}])
    sfn.untag_resource(resourceArn=created["activityArn"], tagKeys=["env"])
    assert sfn.list_tags_for_resource(resourceArn=created["activityArn"])["tags"] == [{"key": "team", "value": "sre"}]
    described = sfn.describe_activity(activityArn=created["activityArn"])
    assert (described["name"], described["creationDate"]) == (name, created["creationDate"])

    others = [new_activity(sfn) for _ in range(2)]
    seen, token = [], None
    while True:
        page = sfn.list_activities(maxResults=1, **({"nextToken": token} if token else {}))
        assert len(page["activities"]) <= 1
        seen += [a["activityArn"] for a in page["activities"]]
        token = page.get("nextToken")
        if not token:
            break
    assert {created["activityArn"], *others} <= set(seen) and len(seen) == len(set(seen))
    assert aws_error(lambda: sfn.list_activities(nextToken="not-a-token")) == "InvalidToken"

    sfn.delete_activity(activityArn=created["activityArn"])
    assert aws_error(lambda: sfn.describe_activity(activityArn=created["activityArn"])) == "ActivityDoesNotExist"
    assert aws_error(lambda: sfn.get_activity_task(activityArn=created["activityArn"])) == "ActivityDoesNotExist"
    assert aws_error(lambda: sfn.list_tags_for_resource(resourceArn=created["activityArn"])) == "ResourceNotFound"
    assert aws_error(lambda: sfn.tag_resource(resourceArn=created["activityArn"], tags=[])) == "ResourceNotFound"
    sfn.delete_activity(activityArn=created["activityArn"])  # deleting none is fine, as on AWS


def test_bad_names_and_arns_get_awss_errors(sfn):
    assert aws_error(lambda: sfn.create_activity(name="has space")) == "InvalidName"
    assert aws_error(lambda: sfn.create_activity(name="x" * 81)) == "InvalidName"
    missing = "arn:aws:states:us-east-1:000000000000:activity:nobody"
    assert aws_error(lambda: sfn.get_activity_task(activityArn=missing)) == "ActivityDoesNotExist"
    assert aws_error(lambda: sfn.describe_activity(activityArn="arn:aws:states:us-east-1:1:stateMachine:m")) == "InvalidArn"
    assert aws_error(lambda: sfn.get_activity_task(activityArn="garbage")) == "InvalidArn"
    account = sfn.create_activity(name=unique("activity"))["activityArn"].split(":")[4]
    unknown = f"arn:aws:states:us-east-1:{account}:activity:{unique('nobody')}"
    assert aws_error(lambda: sfn.get_activity_task(activityArn=unknown)) == "ActivityDoesNotExist"


def test_tenants_see_only_their_own_activities_and_an_empty_poll_answers_after_60_seconds(tenant_sluice):
    owner, other = client(tenant_sluice, *TENANT_A_KEY), client(tenant_sluice, *TENANT_B_KEY)
    name = unique("activity")
    activity = owner.create_activity(name=name)["activityArn"]
    machine = activity_machine(owner, activity)
    execution = owner.start_execution(stateMachineArn=machine, input='{"secret": 1}')["executionArn"]
    # The other tenant's account names nothing of its own.
    assert aws_error(lambda: other.get_activity_task(activityArn=activity)) == "ActivityDoesNotExist"
    assert aws_error(lambda: other.describe_activity(activityArn=activity)) == "ActivityDoesNotExist"
    assert activity not in [a["activityArn"] for a in other.list_activities()["activities"]]
    # Its own activity of the same name has no task: its poll is held 60 s and answers empty.
    own = other.create_activity(name=name)["activityArn"]
    assert own != activity
    began = time.monotonic()
    empty = other.get_activity_task(activityArn=own, workerName="other")
    assert "taskToken" not in empty and empty.get("input") is None
    assert 59 <= time.monotonic() - began < READ_TIMEOUT
    task = take(owner, activity)
    assert json.loads(task["input"]) == {"secret": 1}
    assert aws_error(lambda: other.send_task_success(taskToken=task["taskToken"], output="{}")) == "TaskDoesNotExist"
    owner.send_task_success(taskToken=task["taskToken"], output="{}")
    assert finished(owner, execution)["status"] == "SUCCEEDED"


def test_waiting_and_taken_tasks_survive_a_restart(tmp_path, functions):
    server = Sluice(tmp_path / "data", functions.url_template)
    try:
        sfn = client(server)
        activity = new_activity(sfn)
        machine = activity_machine(sfn, activity, HeartbeatSeconds=30)
        one = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]
        two = sfn.start_execution(stateMachineArn=machine, input='{"n": 2}')["executionArn"]
        first = take(sfn, activity)
        assert json.loads(first["input"]) == {"n": 1}
        server.kill9()
        server.start()
        sfn = client(server)
        # The task taken before the crash is not handed out again; the waiting one is.
        second = wait_for(lambda: take(sfn, activity), timeout=30)
        assert json.loads(second["input"]) == {"n": 2}
        sfn.send_task_heartbeat(taskToken=first["taskToken"])
        sfn.send_task_success(taskToken=first["taskToken"], output='{"first": true}')
        sfn.send_task_success(taskToken=second["taskToken"], output='{"second": true}')
        assert finished(sfn, one)["status"] == "SUCCEEDED"
        assert finished(sfn, two)["status"] == "SUCCEEDED"
    finally:
        server.stop()

"""Two `sluice serve` nodes on one PostgreSQL database: what one node commits reaches the other
node's live views at once, without a round trip per execution (each node tells the others of
the steps it commits by `NOTIFY`, heard on the one connection each node keeps for `LISTEN`):

- a long-polled `DescribeExecution` (CloudFlow SDK) on one node answers as soon as the other
  node stops the execution, not up to a second later (when it would look at the database
  again);
- the native API's event stream (`GET /api/v1/events`) on one node shows the execution and
  state changes of the executions the other node runs;
- a Step Functions activity poll on one node is woken by a task the other node schedules,
  and each task goes to exactly one of the workers polling on both.

Each test prints the latencies it saw (p50 / p99 over its rounds).
"""

import json
import statistics
import threading
import time

import pytest
from alibabacloud_fnf20190315 import models as m

from conftest import KEY_ID, KEY_SECRET, POSTGRES, Sluice, fresh_database
from test_cloudflow import create, describe, pass_flow, start, unique, wait_flow, wait_for
from test_native_api import Api, Events
from test_stepfunctions import create as create_machine, finished

pytestmark = pytest.mark.skipif(
    not POSTGRES,
    reason="several nodes share a PostgreSQL database; SLUICE_TEST_POSTGRES is not set (./scripts/test sets it)",
)

ROUNDS = 30
# The long poll looks at the database once a second anyway: answering well within that shows
# the notice woke it. (The aim, measured with a quiet machine, is under 50 ms.)
LONG_POLL_WITHIN = 0.5
EVENT_WITHIN = 0.5  # seconds from an answer on one node to its event on the other's stream


@pytest.fixture
def pair(tmp_path, functions):
    database = fresh_database()
    nodes = [Sluice(tmp_path / name, functions.url_template, database=database) for name in "AB"]
    yield nodes
    for node in nodes:
        node.stop()


def report(what, latencies):
    ms = sorted(1000 * s for s in latencies)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    print(f"{what}: p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms over {len(ms)}")
    return p99 / 1000


def test_a_long_poll_on_one_node_answers_when_the_other_node_stops_the_execution(pair):
    a, b = pair
    at_a, at_b = a.client(), b.client()
    flow = unique("live_poll")
    create(at_a, flow, wait_flow(flow, 300))
    latencies = []
    for i in range(ROUNDS):
        name = f"e{i}"
        start(at_a, flow, name)
        answer = {}

        def long_poll():
            answer["status"] = describe(at_b, flow, name, wait=10).status
            answer["at"] = time.monotonic()

        polling = threading.Thread(target=long_poll)
        polling.start()
        time.sleep(0.2)  # the long poll is waiting on B
        at_a.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name=name, error="E", cause="c"))
        stopped = time.monotonic()
        polling.join(15)
        assert answer.get("status") == "Stopped", answer
        latencies.append(answer["at"] - stopped)
    assert report("long poll on B after a stop on A", latencies) < LONG_POLL_WITHIN


def test_the_event_stream_of_one_node_shows_what_the_other_node_runs(pair):
    a, b = pair
    at_a = a.client()
    flow = unique("live_events")
    create(at_a, flow, pass_flow(flow))
    stream = Events(Api(b, (KEY_ID, KEY_SECRET)), flow=flow)
    time.sleep(0.3)  # the stream is open
    latencies = []
    for i in range(ROUNDS):
        name = f"e{i}"
        start(at_a, flow, name, {"name": "x"})
        answered = time.monotonic()

        def succeeded():
            return next(
                (at for kind, data, at in stream.events
                 if kind == "execution" and data["execution"] == name and data["status"] == "succeeded"),
                None,
            )

        wait_for(succeeded)
        latencies.append(succeeded() - answered)
    first = [(k, d.get("change") or d["status"], d.get("state")) for k, d, _ in stream.events if d["execution"] == "e0"]
    assert first == [
        ("execution", "running", None),
        ("state", "entered", "Greet"),
        ("state", "exited", "Greet"),
        ("execution", "succeeded", None),
    ], first
    stream.close()
    assert report("event on B's stream after a start on A", latencies) < EVENT_WITHIN


def test_activity_workers_on_both_nodes_each_get_a_task_of_the_others_executions(pair):
    """Step Functions activities across nodes: workers long-poll on A and on B; executions
    started on A hand each task to exactly one worker (the pickup is a step of the execution,
    compare-and-set), and a poll waiting on B is woken by a start on A."""
    a, b = pair
    sfn_a, sfn_b = (node.stepfunctions(read_timeout=70) for node in pair)
    activity = sfn_a.create_activity(name=unique("activity"))["activityArn"]
    definition = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}}}
    machine = create_machine(sfn_a, json.dumps(definition))
    workers = 8
    answers = [{} for _ in range(workers)]

    def poll(i):
        client = (sfn_a, sfn_b)[i % 2]
        answers[i].update(client.get_activity_task(activityArn=activity, workerName=f"w{i}"))
        answers[i]["at"] = time.monotonic()

    threads = [threading.Thread(target=poll, args=(i,), daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # every poll is waiting
    started = time.monotonic()
    executions = [
        sfn_a.start_execution(stateMachineArn=machine, input=json.dumps({"i": i}))["executionArn"]
        for i in range(workers)
    ]
    for thread in threads:
        thread.join(20)
    assert all("taskToken" in answer for answer in answers), answers
    assert len({answer["taskToken"] for answer in answers}) == workers
    assert sorted(json.loads(answer["input"])["i"] for answer in answers) == list(range(workers))
    on_b = [answers[i]["at"] - started for i in range(1, workers, 2)]
    print(f"activity polls on B answered {min(on_b):.3f}..{max(on_b):.3f} s after the starts on A")
    # A poll looks at the database every 2 s anyway: well within that, the notice woke it.
    assert max(on_b) < 1.0, "the polls on B were not woken by the starts on A"
    for i, answer in enumerate(answers):
        (sfn_a, sfn_b)[i % 2].send_task_success(taskToken=answer["taskToken"], output="{}")
    assert [finished(sfn_a, e)["status"] for e in executions] == ["SUCCEEDED"] * workers

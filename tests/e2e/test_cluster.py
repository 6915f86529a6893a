"""Three `sluice serve` nodes on one PostgreSQL database, under a steady load of starts, stops
and callbacks spread over all of them.

- a schedule fires once per tick, however many nodes look at it;
- a stop, a GES graph stop or a FunctionGraph callback sent to one node aborts the function
  call another node is making, within 200 ms of the answer (the call's node hears of it by
  LISTEN/NOTIFY), also when the stop is sent while the call's node does not listen (it checks
  its calls against the store once it listens again);
- `kill -9` of one node mid-load: its work is taken over by the others once its lease runs
  out, no acknowledged execution is lost, each ends in exactly one terminal status, and no
  step's history appears twice.
"""

import json
import time

import pytest
from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkfunctiongraph import v2 as fg
from huaweicloudsdkges import v1 as ges

from conftest import LEASE_TIMEOUT, POSTGRES, Sluice, fresh_database
from functions import hang
from test_cloudflow import create, describe, pass_flow, start, task_flow, unique, wait_for
from test_crash import Load, assert_every_acknowledged_answer_held, create_load_flows, load_flows
from test_functiongraph import simple_workflow, wait_status
from test_ges import graph_of, wait_job
from test_stop import assert_all_closed

pytestmark = pytest.mark.skipif(
    not POSTGRES,
    reason="several nodes share a PostgreSQL database; SLUICE_TEST_POSTGRES is not set (./scripts/test sets it)",
)

ABORT_WITHIN = 0.2  # seconds between a stop's answer on one node and the call closed by another


@pytest.fixture
def cluster(tmp_path, functions):
    database = fresh_database()
    nodes = [Sluice(tmp_path / name, functions.url_template, database=database) for name in "ABC"]
    yield nodes
    for node in nodes:
        node.stop()


@pytest.fixture
def load(cluster, functions):
    load = Load(cluster, load_flows())
    create_load_flows(cluster[0].client(), functions, load)
    load.run()
    time.sleep(1.0)  # the load is under way
    yield load
    load.finish()
    load.close()


def test_a_stop_sent_to_one_node_aborts_the_call_another_node_makes(cluster, load, functions):
    functions.register("/e2e/cluster_hang", hang())
    flow = unique("cluster_hang")
    create(cluster[0].client(), flow, task_flow(flow, "cluster_hang"))
    delays = []
    for i, (caller, stopper) in enumerate([(1, 0), (2, 1), (0, 2), (1, 2), (2, 0)]):
        before = len(functions.calls_to("/e2e/cluster_hang"))
        # The node that starts an execution makes its first call.
        start(cluster[caller].client(), flow, f"x{i}")
        call = wait_for(lambda: functions.calls_to("/e2e/cluster_hang")[before:])[0]
        stopped = cluster[stopper].client().stop_execution(
            m.StopExecutionRequest(flow_name=flow, execution_name=f"x{i}", error="Manual", cause="by the test")
        ).body
        answered = time.monotonic()
        assert stopped.status == "Stopped"
        wait_for(lambda: call.closed_at, timeout=5)
        delays.append(call.closed_at - answered)
        assert describe(cluster[caller].client(), flow, f"x{i}").status == "Stopped"
    print("a stop on one node closed the call made by another after (ms):", [round(d * 1000, 1) for d in delays])
    assert max(delays) < ABORT_WITHIN, f"a call stayed open {max(delays):.3f} s after its stop"


def end_listening_connections(node):
    """Ends every node's LISTEN connection: until a node listens again, a NOTIFY is lost to it."""
    import subprocess

    sql = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
           "WHERE datname = current_database() AND query LIKE 'LISTEN %'")
    ended = subprocess.run(["psql", node.database, "-tA", "-c", sql], check=True, capture_output=True, text=True)
    assert int(ended.stdout.strip()) == 3, ended.stdout


def test_a_stop_sent_while_the_calling_node_does_not_listen_still_closes_its_call(cluster, functions):
    """A node whose LISTEN connection is being re-established misses the stop's signal: once it
    listens again it checks its calls in flight against the store, and closes the stopped one
    (before, the call ran on: the node waited 1 s to listen again and never learnt of it)."""
    functions.register("/e2e/cluster_deaf", hang())
    flow = unique("cluster_deaf")
    create(cluster[0].client(), flow, task_flow(flow, "cluster_deaf"))
    delays = []
    for i in range(5):
        before = len(functions.calls_to("/e2e/cluster_deaf"))
        start(cluster[1].client(), flow, f"d{i}")
        call = wait_for(lambda: functions.calls_to("/e2e/cluster_deaf")[before:])[0]
        end_listening_connections(cluster[0])
        stopped = cluster[0].client().stop_execution(
            m.StopExecutionRequest(flow_name=flow, execution_name=f"d{i}", error="Manual", cause="by the test")
        ).body
        answered = time.monotonic()
        assert stopped.status == "Stopped"
        wait_for(lambda: call.closed_at, timeout=5)
        delays.append(call.closed_at - answered)
    print("a stop sent while the calling node did not listen closed its call after (ms):",
          [round(d * 1000, 1) for d in delays])
    assert max(delays) < ABORT_WITHIN, f"a call stayed open {max(delays):.3f} s after its stop"


def test_a_stop_closes_every_copy_of_a_call_taken_over_from_a_node_that_lived_on(cluster, functions):
    """A node silent for longer than its lease (here frozen with SIGSTOP; after a database
    outage, every node) has its calls taken over and made again by another while it still
    makes them itself. A stop sent to it closes its own copy and, by its signal, the other
    (before, a node that closed the call itself told no one)."""
    import signal

    functions.register("/e2e/cluster_twice", hang())
    flow = unique("cluster_twice")
    create(cluster[0].client(), flow, task_flow(flow, "cluster_twice"))
    start(cluster[1].client(), flow, "t")
    first = wait_for(lambda: functions.calls_to("/e2e/cluster_twice"))[0]
    cluster[1].process.send_signal(signal.SIGSTOP)
    try:
        copies = wait_for(lambda: functions.calls_to("/e2e/cluster_twice")[1:], timeout=15)
    finally:
        cluster[1].process.send_signal(signal.SIGCONT)
    assert first.closed_at is None, "the frozen node still makes its call"
    stopped = cluster[1].client().stop_execution(
        m.StopExecutionRequest(flow_name=flow, execution_name="t", error="Manual", cause="by the test")).body
    answered = time.monotonic()
    assert stopped.status == "Stopped"
    calls = [first] + copies
    assert len(calls) == 2, [c.received_at for c in calls]
    assert_all_closed(calls, answered, within=ABORT_WITHIN)


def test_a_graph_stop_sent_to_one_node_closes_the_calls_of_the_others(cluster, load, functions):
    functions.register("/e2e/cluster_graph_hang", hang())
    flow = unique("cluster_graph")
    create(cluster[0].client(), flow, task_flow(flow, "cluster_graph_hang"))
    before = len(functions.calls_to("/e2e/cluster_graph_hang"))
    for node, name in ((1, "b"), (2, "c")):
        start(cluster[node].client(), flow, name)
    wait_for(lambda: len(functions.calls_to("/e2e/cluster_graph_hang")) - before == 2)
    calls = functions.calls_to("/e2e/cluster_graph_hang")[before:]
    client = cluster[0].huawei(ges.GesClient)
    graph = graph_of(client, flow)
    job_id = client.stop_graph(ges.StopGraphRequest(graph_id=graph.id, action_id="stop")).job_id
    assert wait_job(client, graph.id, job_id).status == "success"
    assert_all_closed(calls, time.monotonic(), within=ABORT_WITHIN)
    assert [describe(cluster[1].client(), flow, n).status for n in "bc"] == ["Stopped"] * 2


def test_a_callback_sent_to_one_node_closes_the_call_another_node_makes(cluster, load, functions):
    functions.register("/default/cluster_fg_slow", hang())
    name = unique("cluster_fg")
    node_b, node_a = (cluster[1].huawei(fg.FunctionGraphClient), cluster[0].huawei(fg.FunctionGraphClient))
    created = node_b.create_workflow(fg.CreateWorkflowRequest(body=simple_workflow(name, "cluster_fg_slow")))
    before = len(functions.calls_to("/default/cluster_fg_slow"))
    run_id = node_b.start_workflow_execution(fg.StartWorkflowExecutionRequest(
        workflow_id=created.id, body=fg.FlowExecuteBody(input={"n": 1}))).execution_id
    call = wait_for(lambda: functions.calls_to("/default/cluster_fg_slow")[before:])[0]
    node_a.create_callback_workflow(fg.CreateCallbackWorkflowRequest(
        workflow_id=created.id, x_workflow_run_id=run_id, x_workflow_state_id="work",
        body=fg.CallbackWorkflowRequestBody(result="success", output={"from": "callback"})))
    answered = time.monotonic()
    wait_for(lambda: call.closed_at, timeout=5)
    assert call.closed_at - answered < ABORT_WITHIN
    done = wait_status(node_b, created.id, run_id)
    assert (done.status, done.output) == ("success", {"from": "callback"})


def test_kill_minus_9_of_one_node_loses_nothing(cluster, load):
    load.wait_for_starts(50)  # the three nodes serve the load
    victim = cluster[2]
    victim.kill9()
    time.sleep(float(LEASE_TIMEOUT.rstrip("s")) + 2.0)  # its lease runs out; the others take over
    load.wait_for_starts(20)  # the two left serve on
    load.wait_for_a_stop()
    load.finish()

    statuses = assert_every_acknowledged_answer_held(cluster[0].client(), load)
    print(f"one node of three killed; {len(load.started)} acknowledged starts, {len(load.stopped)} stops: {statuses}")


def test_a_schedule_fires_once_per_tick_on_three_nodes(cluster):
    fnf = cluster[0].client()
    flow = unique("cluster_tick")
    create(fnf, flow, pass_flow(flow))
    fnf.create_schedule(m.CreateScheduleRequest(
        flow_name=flow, schedule_name="tick", cron_expression="@every 1m",
        payload=json.dumps({"from": "schedule"}), enable=True))
    deadline = time.monotonic() + 90
    executions = []
    while time.monotonic() < deadline and not executions:
        time.sleep(1)
        executions = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions or []
    assert executions, "the schedule did not fire within 90 s"
    time.sleep(3)  # every node has had several rounds to fire the same tick again
    fnf.update_schedule(m.UpdateScheduleRequest(flow_name=flow, schedule_name="tick", enable=False))
    names = [e.name for e in fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions]
    assert len(names) == 1 and names[0].startswith("tick-"), names

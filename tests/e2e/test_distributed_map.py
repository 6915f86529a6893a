"""Distributed Map (CloudFlow `ProcessorConfig: {Mode: Distributed}`) through the official SDK:
children as executions of their own, listed by map run, `DescribeMapRun` and `UpdateMapRun`,
and a stop of the parent that stops every child (DESIGN.md's stop contract, item 3).

Source: the CloudFlow "Distributed mode" page (fields), the DescribeMapRun and UpdateMapRun API
pages (parameters and fields), the ListExecutions API page (`MapRunName`).
"""

import json
import time

from alibabacloud_fnf20190315 import models as m

from functions import echo, hang
from test_cloudflow import create, describe, start, unique, wait_for


def distributed_flow(name, function, extra=""):
    return f"""Type: StateMachine
Name: {name}
SpecVersion: v1
StartAt: Each
States:
  - Type: Map
    Name: Each
    ProcessorConfig:
      Mode: Distributed
      ExecutionMode: Standard
    ItemsPath: $Input.items
{extra}    Processor:
      StartAt: Work
      States:
        - Type: Task
          Name: Work
          Action: FC:InvokeFunction
          Parameters:
            resourceArn: acs:fc:::services/e2e/functions/{function}
            body:
              batch.$: $Input
          End: true
    End: true
"""


def history(fnf, flow, execution):
    request = m.GetExecutionHistoryRequest(flow_name=flow, execution_name=execution, limit=1000)
    return fnf.get_execution_history(request).body.events


def map_run_name(fnf, flow, execution):
    events = history(fnf, flow, execution)
    started = [e for e in events if e.type == "MapRunStarted"]
    assert len(started) == 1, [e.type for e in events]
    return json.loads(started[0].event_detail)["output"]["MapRunName"]


def children(fnf, flow, map_run):
    request = m.ListExecutionsRequest(flow_name=flow, map_run_name=map_run, limit=100)
    return fnf.list_executions(request).body.executions


def describe_map_run(fnf, flow, execution, map_run):
    request = m.DescribeMapRunRequest(flow_name=flow, execution_name=execution, map_run_name=map_run)
    return fnf.describe_map_run(request).body


def test_each_batch_runs_as_a_child_execution_listed_by_its_map_run(fnf, functions):
    functions.register("/e2e/dmap_echo", echo())
    flow = unique("dmap")
    batcher = "    ItemBatcher:\n      MaxItemsPerBatch: 2\n    MaxConcurrency: 2\n"
    create(fnf, flow, distributed_flow(flow, "dmap_echo", batcher))
    start(fnf, flow, "parent", {"items": [1, 2, 3, 4, 5]})
    done = describe(fnf, flow, "parent", wait=20)
    assert done.status == "Succeeded", done.output
    assert json.loads(done.output) == {
        "Items": [{"batch": {"Items": [1, 2]}}, {"batch": {"Items": [3, 4]}}, {"batch": {"Items": [5]}}]
    }
    run = map_run_name(fnf, flow, "parent")
    kids = children(fnf, flow, run)
    assert [k.status for k in kids] == ["Succeeded"] * 3
    assert sorted(k.name for k in kids) == [f"{run}-{i}" for i in range(3)]
    for kid in kids:
        events = [e.type for e in history(fnf, flow, kid.name)]
        assert events[0] == "ExecutionStarted" and events[-1] == "ExecutionSucceeded", events
        assert "TaskSucceeded" in events
    own = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow, limit=100)).body.executions
    assert [e.name for e in own] == ["parent"], "children are listed with their map run only"
    described = describe_map_run(fnf, flow, "parent", run)
    assert described.status == "Succeeded"
    assert described.map_run_name == run and described.execution_name == "parent"
    assert described.concurrency == 2
    counts = described.item_counts
    assert (counts.total, counts.succeed, counts.failed, counts.running, counts.pending) == (3, 3, 0, 0, 0)
    assert described.started_time and described.stopped_time


def test_update_map_run_raises_concurrency_and_a_stop_stops_every_child(fnf, functions):
    path = "/e2e/dmap_hang"
    functions.register(path, hang())
    flow = unique("dmap_stop")
    create(fnf, flow, distributed_flow(flow, "dmap_hang", "    MaxConcurrency: 1\n"))
    start(fnf, flow, "parent", {"items": list(range(6))})
    wait_for(lambda: len(functions.calls_to(path)) == 1)
    run = map_run_name(fnf, flow, "parent")
    described = describe_map_run(fnf, flow, "parent", run)
    assert described.status == "Running"
    counts = described.item_counts
    assert (counts.total, counts.running, counts.pending) == (6, 1, 5)

    update = m.UpdateMapRunRequest(
        flow_name=flow, execution_name="parent", map_run_name=run, concurrency=3, tolerated_failed_count=2
    )
    updated = fnf.update_map_run(update).body
    assert (updated.concurrency, updated.tolerated_failed_count) == (3, 2)
    wait_for(lambda: len(functions.calls_to(path)) == 3)
    described = describe_map_run(fnf, flow, "parent", run)
    assert (described.concurrency, described.tolerated_failed_count) == (3, 2)
    assert described.item_counts.running == 3
    assert [k.status for k in children(fnf, flow, run)] == ["Running"] * 3

    stopped = fnf.stop_execution(
        m.StopExecutionRequest(flow_name=flow, execution_name="parent", error="Manual", cause="by the test")
    ).body
    assert stopped.status == "Stopped"
    # The stop has answered: every child is stopped already, in the same transaction.
    kids = children(fnf, flow, run)
    assert [k.status for k in kids] == ["Stopped"] * 3
    for call in functions.calls_to(path):
        wait_for(lambda: call.closed_at, timeout=2)
    time.sleep(0.5)
    assert len(functions.calls_to(path)) == 3, "no child starts after the stop"
    described = describe_map_run(fnf, flow, "parent", run)
    assert described.status == "Aborted"
    assert (described.item_counts.aborted, described.item_counts.running) == (6, 0)
    for kid in kids:
        assert history(fnf, flow, kid.name)[-1].type == "ExecutionStopped"


def test_a_child_that_fails_at_once_fails_the_map_and_stops_the_children_started_with_it(fnf, functions):
    path = "/e2e/dmap_never"
    functions.register(path, hang())
    flow = unique("dmap_fail")
    definition = f"""Type: StateMachine
Name: {flow}
SpecVersion: v1
StartAt: Each
States:
  - Type: Map
    Name: Each
    ProcessorConfig:
      Mode: Distributed
    ItemsPath: $Input.items
    Processor:
      StartAt: Check
      States:
        - Type: Choice
          Name: Check
          Branches:
            - Condition: $Input == 0
              Next: Broken
          Default: Work
        - Type: Fail
          Name: Broken
          Code: Item.Broken
        - Type: Task
          Name: Work
          Action: FC:InvokeFunction
          Parameters:
            resourceArn: acs:fc:::services/e2e/functions/dmap_never
          End: true
    End: true
"""
    create(fnf, flow, definition)
    start(fnf, flow, "parent", {"items": [0, 1, 2]})
    done = describe(fnf, flow, "parent", wait=10)
    assert done.status == "Failed"
    run = map_run_name(fnf, flow, "parent")
    statuses = sorted((k.name, k.status) for k in children(fnf, flow, run))
    assert statuses == [(f"{run}-0", "Failed"), (f"{run}-1", "Stopped"), (f"{run}-2", "Stopped")]
    time.sleep(0.3)
    assert functions.calls_to(path) == [], "a child stopped in the step that created it calls nothing"
    assert describe_map_run(fnf, flow, "parent", run).status == "Failed"

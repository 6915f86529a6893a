"""Retention (`[retention]` in the configuration, docs/configuration.md): a server that keeps
finished executions two seconds purges them, their history and a distributed Map's children,
and then answers each dialect's not-found error through the official SDKs; an execution still
running when its elders are purged is kept and finishes.
"""

from concurrent.futures import ThreadPoolExecutor

import botocore.exceptions
import pytest
from alibabacloud_fnf20190315 import models as m

from conftest import configured_sluice
from functions import echo
from test_cloudflow import create, describe, error_code, pass_flow, start, unique, wait_flow, wait_for
from test_distributed_map import children, distributed_flow, map_run_name
from test_stepfunctions import ROLE

KEEP_SECONDS = 2
RETENTION_TOML = f"""
[retention]
cloudflow = "{KEEP_SECONDS}s"
asl = "{KEEP_SECONDS}s"
every = "200ms"
"""
PURGED_WITHIN = KEEP_SECONDS + 10


@pytest.fixture(scope="module")
def brief(tmp_path_factory, functions):
    server = configured_sluice(tmp_path_factory, functions, "sluice-retention", RETENTION_TOML)
    yield server
    server.stop()


def cloudflow_gone(fnf, flow, execution):
    def gone():
        try:
            describe(fnf, flow, execution)
        except Exception:  # the SDK's ClientException, checked below
            return True
        return False

    wait_for(gone, PURGED_WITHIN)
    return error_code(lambda: describe(fnf, flow, execution))


def test_a_purged_cloudflow_execution_and_its_history_are_not_found(brief):
    fnf = brief.client()
    flow = unique("brief")
    create(fnf, flow, pass_flow(flow))
    longer = unique("longer")
    create(fnf, longer, wait_flow(longer, KEEP_SECONDS + 2))
    start(fnf, longer, "sleeper")
    start(fnf, flow, "done", {"name": "brief"})
    assert describe(fnf, flow, "done", wait=10).status == "Succeeded"
    assert cloudflow_gone(fnf, flow, "done") == ("ExecutionNotExists", 404)
    history = m.GetExecutionHistoryRequest(flow_name=flow, execution_name="done")
    assert error_code(lambda: fnf.get_execution_history(history))[0] == "ExecutionNotExists"
    listed = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions or []
    assert [e.name for e in listed] == []
    # Started before "done" and running while it was purged: kept, and it finishes.
    assert describe(fnf, longer, "sleeper", wait=10).status == "Succeeded"


def test_a_distributed_maps_children_go_with_their_parent(brief, functions):
    fnf = brief.client()
    functions.register("/e2e/retention_echo", echo())
    flow = unique("dmap-brief")
    create(fnf, flow, distributed_flow(flow, "retention_echo"))
    start(fnf, flow, "parent", {"items": [1, 2, 3]})
    assert describe(fnf, flow, "parent", wait=20).status == "Succeeded"
    run = map_run_name(fnf, flow, "parent")
    kids = children(fnf, flow, run)
    assert len(kids) == 3
    assert cloudflow_gone(fnf, flow, "parent")[0] == "ExecutionNotExists"
    assert children(fnf, flow, run) in (None, [])
    for kid in kids:
        assert error_code(lambda: describe(fnf, flow, kid.name))[0] == "ExecutionNotExists"


def test_a_purged_state_machine_execution_is_execution_does_not_exist(brief):
    sfn = brief.stepfunctions()
    machine = sfn.create_state_machine(
        name=unique("brief"), definition='{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}', roleArn=ROLE
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED", 10)

    def gone():
        try:
            sfn.describe_execution(executionArn=arn)
        except botocore.exceptions.ClientError as e:
            return e.response["Error"]["Code"]
        return None

    assert wait_for(gone, PURGED_WITHIN) == "ExecutionDoesNotExist"


def test_a_purge_under_load_loses_no_unfinished_execution(brief):
    """Executions that finish and are purged around ones still waiting, which all finish."""
    fnf = brief.client()
    quick, slow = unique("quick"), unique("slow")
    create(fnf, quick, pass_flow(quick))
    create(fnf, slow, wait_flow(slow, KEEP_SECONDS + 1))
    waiting = [f"w{i}" for i in range(30)]

    def watch(name):
        """Long-polled from its start, a waiting execution is seen ending before its purge
        (two seconds later) however slow the load is; one purged while running is not found."""
        return describe(brief.client(), slow, name, wait=20).status

    with ThreadPoolExecutor(len(waiting)) as pool:
        watched = {}
        for i, name in enumerate(waiting):
            start(fnf, slow, name)
            watched[name] = pool.submit(watch, name)
            for j in range(5):
                start(fnf, quick, f"q{i}-{j}", {"name": "load"})
        assert {name: w.result() for name, w in watched.items()} == {name: "Succeeded" for name in waiting}
    assert cloudflow_gone(fnf, quick, "q29-4")[0] == "ExecutionNotExists"

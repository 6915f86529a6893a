"""An upgrade with work in flight: the server under test opens a database written by an older
sluice (its schema, its stored execution state) that stopped while executions waited in a Wait,
a task call was in flight and a DataArts Dag was half run, and every execution finishes
correctly. On SQLite the database is `data/upgrade/sluice.db`; on PostgreSQL the dump
`data/upgrade/postgres.sql`, loaded into a fresh database. How they were made, and by which
older server: `upgrade_fixture.py` and `data/upgrade/README.md`."""

import json
import shutil
import subprocess

import pytest
from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkdgc import v1 as dgc

from conftest import POSTGRES, Sluice, fresh_database
from functions import answer, echo
from test_cloudflow import wait_for
from upgrade_fixture import (
    AFTER, BEFORE, CALL_EXECUTION, CALL_FLOW, CALL_INPUT, DAG_JOB, DAG_NODES, HIVE, POSTGRES_FIXTURE,
    SLOW, SQLITE_FIXTURE, WAIT_EXECUTION, WAIT_FLOW, WORKSPACE, config_text, state_of,
)

TERMINAL_EVENTS = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionStopped", "ExecutionTimedOut"}
SLOW_ANSWER = {"answered": "after the upgrade"}


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory, functions):
    """The server under test on a copy of the older server's database, its functions answering."""
    functions.register(BEFORE, answer({"called": "again"}))
    functions.register(AFTER, echo())
    functions.register(SLOW, answer(SLOW_ANSWER))
    functions.register(HIVE, lambda call, conn: (200, {"node": state_of(call)}))
    directory = tmp_path_factory.mktemp("sluice-upgrade")
    config = directory / "sluice.toml"
    config.write_text(config_text(functions.port))
    database = None
    if POSTGRES:
        database = fresh_database()
        subprocess.run(["psql", database, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(POSTGRES_FIXTURE)],
                       check=True, stdout=subprocess.DEVNULL)
    else:
        (directory / "data").mkdir()
        shutil.copy(SQLITE_FIXTURE, directory / "data" / "sluice.db")
    server = Sluice(directory / "data", functions.url_template, config=config, database=database)
    yield server
    server.stop()


def finished(fnf, flow, execution):
    def done():
        described = fnf.describe_execution(m.DescribeExecutionRequest(flow_name=flow, execution_name=execution)).body
        return described if described.status != "Running" else None

    return wait_for(done, timeout=30)


def history(fnf, flow, execution):
    events = fnf.get_execution_history(m.GetExecutionHistoryRequest(flow_name=flow, execution_name=execution)).body.events
    ids = [e.event_id for e in events]
    assert ids == list(range(1, len(ids) + 1)), f"history ids are not dense: {ids}"
    assert [e.type for e in events if e.type in TERMINAL_EVENTS] == [events[-1].type]
    return events


def test_the_wait_fires_and_the_execution_runs_on(upgraded, functions):
    fnf = upgraded.client()
    described = finished(fnf, WAIT_FLOW, WAIT_EXECUTION)
    assert described.status == "Succeeded", described.error
    assert json.loads(described.output) == {"slept": {"Items": ["a", "b"]}}
    assert [c.body for c in functions.calls_to(AFTER)] == [{"slept": {"Items": ["a", "b"]}}]
    assert functions.calls_to(BEFORE) == [], "the call answered before the upgrade was made again"
    events = history(fnf, WAIT_FLOW, WAIT_EXECUTION)
    assert [e.type for e in events if e.step_name == "Pause"] == ["StepEntered"] * 2 + ["StepExited"] * 2
    assert events[-1].type == "ExecutionSucceeded"


def test_the_call_in_flight_is_made_again_and_completes(upgraded, functions):
    fnf = upgraded.client()
    described = finished(fnf, CALL_FLOW, CALL_EXECUTION)
    assert described.status == "Succeeded", described.error
    assert json.loads(described.output) == SLOW_ANSWER
    calls = functions.calls_to(SLOW)
    assert [c.body for c in calls] == [CALL_INPUT]
    headers = {k.lower(): v for k, v in calls[0].headers.items()}
    assert headers["x-sluice-attempt"] == "0", "the call made again is the same attempt"
    events = history(fnf, CALL_FLOW, CALL_EXECUTION)
    assert [e.type for e in events if e.type.startswith("Task")] == ["TaskScheduled", "TaskStarted", "TaskSucceeded"]


def test_the_half_run_dag_finishes(upgraded, functions):
    client = upgraded.huawei(dgc.DgcClient)
    listed = client.list_job_instances(dgc.ListJobInstancesRequest(workspace=WORKSPACE, job_name=DAG_JOB))
    [instance_id] = [i.instance_id for i in listed.instances]

    def done():
        shown = client.show_job_instance(dgc.ShowJobInstanceRequest(
            workspace=WORKSPACE, job_name=DAG_JOB, instance_id=str(instance_id)))
        return shown if shown.status not in ("running", "waiting") else None

    shown = wait_for(done, timeout=30)
    assert shown.status == "success"
    assert {n.node_name: n.status for n in shown.nodes} == {name: "success" for name in DAG_NODES}
    # The node done before the upgrade is not run again; the running one is, then the last.
    assert [state_of(c) for c in functions.calls_to(HIVE)] == ["transform", "load"]

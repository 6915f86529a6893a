"""GES graph lifecycle (huaweicloudsdkges, v1 and v2) against a real `sluice serve`.

A graph is a flow of the tenant. Stopping it closes the flow and stops every running execution
in a background job the SDK polls; starting reopens it.
"""

import json
import time

import pytest
from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkges import v1, v2

from conftest import TENANT_A_KEY, TENANT_A_PROJECT, TENANT_B_KEY, TENANT_B_PROJECT
from functions import hang
from test_cloudflow import create, describe, error_code, start, task_flow, unique, wait_for, wait_flow
from test_stop import assert_all_closed

RUNNING, STOPPED = "200", "900"


@pytest.fixture(scope="module")
def ges(sluice):
    return sluice.huawei(v1.GesClient)


@pytest.fixture(scope="module")
def ges2(sluice):
    return sluice.huawei(v2.GesClient)


def graph_of(ges, flow):
    graphs = ges.list_graphs(v1.ListGraphsRequest(limit=1000)).graphs
    found = [g for g in graphs if g.name == flow]
    assert len(found) == 1, [g.name for g in graphs]
    return found[0]


def wait_job(ges, graph_id, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        job = ges.show_job(v1.ShowJobRequest(graph_id=graph_id, job_id=job_id))
        if job.status in ("success", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


def v1_error(call):
    """GES v1 errors are `{"errorCode", "errorMessage"}`, which the Python SDK cannot parse:
    it reports the HTTP status as the code and the raw body as the message (Huawei's own
    behaviour, kept on purpose)."""
    with pytest.raises(ClientRequestException) as raised:
        call()
    body = json.loads(raised.value.error_msg)
    return raised.value.status_code, body["errorCode"]


def test_graphs_are_the_tenants_flows(fnf, ges, ges2):
    flow = unique("graph")
    create(fnf, flow, wait_flow(flow, 1))
    graph = graph_of(ges, flow)
    assert graph.status == RUNNING and graph.id
    shown = ges.show_graph(v1.ShowGraphRequest(graph_id=graph.id)).graph
    assert (shown.name, shown.status) == (flow, RUNNING)
    assert ges2.show_graph2(v2.ShowGraph2Request(graph_id=graph.id)).graph.name == flow
    listed = ges2.list_graphs2(v2.ListGraphs2Request(limit=1000))
    assert flow in [g.name for g in listed.graphs] and listed.graph_count >= 1


def test_stop_closes_the_graph_stops_its_executions_and_start_reopens_it(fnf, ges, functions):
    functions.register("/e2e/hang", hang())
    flow = unique("graph_stop")
    create(fnf, flow, task_flow(flow, "hang"))
    before = len(functions.calls_to("/e2e/hang"))
    for name in ("a", "b", "c"):
        start(fnf, flow, name)
    wait_for(lambda: len(functions.calls_to("/e2e/hang")) - before == 3)
    calls = functions.calls_to("/e2e/hang")[before:]
    graph = graph_of(ges, flow)

    job_id = ges.stop_graph(v1.StopGraphRequest(graph_id=graph.id, action_id="stop")).job_id
    assert job_id and len(job_id) == 32
    job = wait_job(ges, graph.id, job_id)
    finished = time.monotonic()
    assert (job.status, job.job_type, job.job_name, job.related_graph) == (
        "success", "GraphManagement", "StopGraph", flow)
    assert job.job_progress == 100 and job.end_time
    assert_all_closed(calls, finished)
    assert [describe(fnf, flow, n).status for n in ("a", "b", "c")] == ["Stopped"] * 3
    assert graph_of(ges, flow).status == STOPPED

    # A stopped graph refuses new executions through every dialect, and a second stop.
    assert error_code(lambda: start(fnf, flow, "d"))[0] == "InvalidArgument"
    assert v1_error(lambda: ges.stop_graph(v1.StopGraphRequest(graph_id=graph.id, action_id="stop"))) == (
        400, "GES.7003")

    job_id = ges.start_graph(v1.StartGraphRequest(graph_id=graph.id, action_id="start")).job_id
    assert wait_job(ges, graph.id, job_id).status == "success"
    assert graph_of(ges, flow).status == RUNNING
    start(fnf, flow, "d")
    assert v1_error(lambda: ges.start_graph(v1.StartGraphRequest(graph_id=graph.id, action_id="start"))) == (
        400, "GES.7037")
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="d"))


def test_restart_stops_running_executions_and_leaves_the_graph_running(fnf, ges):
    flow = unique("graph_restart")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "w")
    graph = graph_of(ges, flow)
    job_id = ges.restart_graph(v1.RestartGraphRequest(graph_id=graph.id, action_id="restart")).job_id
    job = wait_job(ges, graph.id, job_id)
    assert (job.status, job.job_name) == ("success", "RestartGraph")
    assert describe(fnf, flow, "w").status == "Stopped"
    assert graph_of(ges, flow).status == RUNNING
    start(fnf, flow, "after")
    assert describe(fnf, flow, "after").status == "Running"
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="after"))


def test_v2_speaks_snake_case_and_its_errors_parse(fnf, ges, ges2):
    flow = unique("graph_v2")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "w")
    graph_id = graph_of(ges, flow).id
    job_id = ges2.stop_graph2(v2.StopGraph2Request(graph_id=graph_id)).job_id
    wait_for(lambda: ges2.show_job2(v2.ShowJob2Request(graph_id=graph_id, job_id=job_id)).status == "success")
    assert describe(fnf, flow, "w").status == "Stopped"
    with pytest.raises(ClientRequestException) as raised:
        ges2.stop_graph2(v2.StopGraph2Request(graph_id=graph_id))
    assert (raised.value.status_code, raised.value.error_code) == (400, "GES.7003")
    assert raised.value.request_id
    jobs = ges2.list_jobs2(v2.ListJobs2Request(graph_name=flow)).job_list
    assert [j.job_id for j in jobs] == [job_id]


def test_unknown_graphs_jobs_and_operations(fnf, ges):
    assert v1_error(lambda: ges.stop_graph(v1.StopGraphRequest(graph_id="0000000000000000-nothing", action_id="stop"))) == (
        400, "GES.7000")
    flow = unique("graph_errors")
    create(fnf, flow, wait_flow(flow, 1))
    graph = graph_of(ges, flow)
    assert v1_error(lambda: ges.stop_graph(v1.StopGraphRequest(graph_id=graph.id, action_id="explode"))) == (
        400, "GES.7048")
    assert v1_error(lambda: ges.show_job(v1.ShowJobRequest(graph_id=graph.id, job_id="f" * 32))) == (
        400, "GES.7007")
    assert graph_of(ges, flow).status == RUNNING


def test_bad_signatures_and_foreign_projects_are_refused(sluice, tenant_sluice, fnf):
    flow = unique("graph_auth")
    create(fnf, flow, wait_flow(flow, 1))
    graph_id = graph_of(sluice.huawei(v1.GesClient), flow).id
    wrong_secret = sluice.huawei(v1.GesClient, secret="not-the-secret")
    with pytest.raises(ClientRequestException) as raised:
        wrong_secret.stop_graph(v1.StopGraphRequest(graph_id=graph_id, action_id="stop"))
    assert (raised.value.status_code, raised.value.error_code) == (401, "APIG.0301")
    assert graph_of(sluice.huawei(v1.GesClient), flow).status == RUNNING

    # Tenant A's key naming tenant B's project; tenant B sees none of tenant A's graphs.
    flow_a = unique("tenant_a_graph")
    create(tenant_sluice.client(*TENANT_A_KEY), flow_a, wait_flow(flow_a, 1))
    foreign = tenant_sluice.huawei(v2.GesClient, *TENANT_A_KEY, project_id=TENANT_B_PROJECT)
    with pytest.raises(ClientRequestException) as raised:
        foreign.list_graphs2(v2.ListGraphs2Request())
    assert (raised.value.status_code, raised.value.error_code) == (403, "GES.7041")
    own = tenant_sluice.huawei(v2.GesClient, *TENANT_B_KEY, project_id=TENANT_B_PROJECT)
    assert flow_a not in [g.name for g in own.list_graphs2(v2.ListGraphs2Request(limit=1000)).graphs]
    mine = tenant_sluice.huawei(v2.GesClient, *TENANT_A_KEY, project_id=TENANT_A_PROJECT)
    assert flow_a in [g.name for g in mine.list_graphs2(v2.ListGraphs2Request(limit=1000)).graphs]


def test_stopping_a_graph_with_1000_running_executions_reports_progress(fnf, ges):
    flow = unique("graph_1000")
    create(fnf, flow, wait_flow(flow, 3600))
    names = [f"e{i}" for i in range(1000)]
    for name in names:
        start(fnf, flow, name)
    graph_id = graph_of(ges, flow).id
    job_id = ges.stop_graph(v1.StopGraphRequest(graph_id=graph_id, action_id="stop")).job_id
    seen = []
    while True:
        job = ges.show_job(v1.ShowJobRequest(graph_id=graph_id, job_id=job_id))
        seen.append((job.status, job.job_progress))
        if job.status in ("success", "failed"):
            break
        time.sleep(0.005)
    assert job.status == "success", job.fail_reason
    assert any(status == "running" and 0 < progress < 100 for status, progress in seen), seen[:20]
    progress = [p for _, p in seen]
    assert progress == sorted(progress), "progress went backwards"
    listed = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow, status="Stopped", limit=99))
    stopped = len(listed.body.executions)
    token = listed.body.next_token
    while token:
        listed = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow, status="Stopped", limit=99, next_token=token))
        stopped += len(listed.body.executions)
        token = listed.body.next_token
    assert stopped == 1000
    assert not fnf.list_executions(m.ListExecutionsRequest(flow_name=flow, status="Running")).body.executions


def test_a_graph_stop_reaches_executions_started_through_every_api(sluice, ges, functions):
    """One DataArts job, also a FunctionGraph workflow and a GES graph: instances started by
    DataArts and executions started by FunctionGraph are all stopped by the graph stop."""
    from huaweicloudsdkdgc import v1 as dgc
    from huaweicloudsdkfunctiongraph import v2 as fg

    functions.register("/dlf/cross", hang())
    jobs = sluice.huawei(dgc.DgcClient)
    workflows = sluice.huawei(fg.FunctionGraphClient)
    job = unique("cross")
    node = dgc.Node(name="call", type="RESTAPI", location=dgc.Location(x="0", y="0"),
                    properties=[dgc.ModelProperty(name="url", value=f"http://127.0.0.1:{functions.port}/dlf/cross")])
    jobs.create_job(dgc.CreateJobRequest(body=dgc.JobInfo(name=job, nodes=[node])))
    before = len(functions.calls_to("/dlf/cross"))
    instance_id = jobs.run_once(dgc.RunOnceRequest(job_name=job, body=dgc.StartJobReq(job_params=[]))).instance_id
    workflow = [w for w in workflows.list_workflow(fg.ListWorkflowRequest(workflow_name=job)).workflows if w.name == job][0]
    execution_id = workflows.start_workflow_execution(fg.StartWorkflowExecutionRequest(
        workflow_id=workflow.id, body=fg.FlowExecuteBody(input={}))).execution_id
    wait_for(lambda: len(functions.calls_to("/dlf/cross")) - before == 2)
    calls = functions.calls_to("/dlf/cross")[before:]

    graph = graph_of(ges, job)
    assert graph.id == workflow.id, "one flow, one id in every API"
    job_id = ges.stop_graph(v1.StopGraphRequest(graph_id=graph.id, action_id="stop")).job_id
    assert wait_job(ges, graph.id, job_id).status == "success"
    finished = time.monotonic()
    assert_all_closed(calls, finished)
    shown = jobs.show_job_instance(dgc.ShowJobInstanceRequest(job_name=job, instance_id=str(instance_id)))
    assert shown.status == "manual-stop"
    run = workflows.show_workflow_execution(fg.ShowWorkflowExecutionRequest(workflow_id=workflow.id, execution_id=execution_id))
    assert run.status == "cancel"
    # Each API refuses new runs of the stopped graph in its own words.
    with pytest.raises(ClientRequestException) as raised:
        jobs.run_once(dgc.RunOnceRequest(job_name=job, body=dgc.StartJobReq(job_params=[])))
    assert raised.value.error_code.startswith("DLF.")
    with pytest.raises(ClientRequestException) as raised:
        workflows.start_workflow_execution(fg.StartWorkflowExecutionRequest(
            workflow_id=workflow.id, body=fg.FlowExecuteBody(input={})))
    assert (raised.value.status_code, raised.value.error_code) == (428, "FSS.0428")


def concurrently(count, call):
    """`call(i)` from `count` threads released at once; the answers (or the exceptions)."""
    import threading

    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        barrier.wait()
        try:
            results[i] = call(i)
        except Exception as e:  # the refusals are what is counted
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_of_50_concurrent_stops_of_one_graph_exactly_one_starts_a_job(sluice, fnf):
    """Checking that the graph is open and recording the stop's job is one transaction: the
    other 49 get GES.7003, and the same for 50 starts of the stopped graph (GES.7037)."""
    flow = unique("graph_race")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "w")
    clients = [sluice.huawei(v1.GesClient) for _ in range(50)]
    graph_id = graph_of(clients[0], flow).id

    def outcome(result, refused):
        if isinstance(result, ClientRequestException):
            assert (result.status_code, json.loads(result.error_msg)["errorCode"]) == (400, refused), result
            return "refused"
        assert not isinstance(result, Exception), result
        assert result.job_id and len(result.job_id) == 32
        return result.job_id

    stops = concurrently(50, lambda i: clients[i].stop_graph(v1.StopGraphRequest(graph_id=graph_id, action_id="stop")))
    jobs = [j for j in (outcome(r, "GES.7003") for r in stops) if j != "refused"]
    assert len(jobs) == 1, f"{len(jobs)} of 50 concurrent stops started a job"
    assert wait_job(clients[0], graph_id, jobs[0]).status == "success"
    assert describe(fnf, flow, "w").status == "Stopped"

    starts = concurrently(50, lambda i: clients[i].start_graph(v1.StartGraphRequest(graph_id=graph_id, action_id="start")))
    jobs = [j for j in (outcome(r, "GES.7037") for r in starts) if j != "refused"]
    assert len(jobs) == 1, f"{len(jobs)} of 50 concurrent starts started a job"
    assert wait_job(clients[0], graph_id, jobs[0]).status == "success"
    assert graph_of(clients[0], flow).status == RUNNING

"""FunctionGraph workflows v2 (huaweicloudsdkfunctiongraph) against a real `sluice serve`.

Every flow of the tenant is a workflow here, whatever API created it: it can be listed, shown,
started and terminated, with statuses mapped as the README's table says.
"""

import time

import pytest
from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkfunctiongraph import v2 as fg

from functions import hang
from test_cloudflow import create, describe, error_code, pass_flow, start, task_flow, unique, wait_for, wait_flow
from test_stop import CLOSE_WITHIN


@pytest.fixture(scope="module")
def fgs(sluice):
    return sluice.huawei(fg.FunctionGraphClient)


def workflow_of(fgs, name):
    found = [w for w in fgs.list_workflow(fg.ListWorkflowRequest(workflow_name=name)).workflows if w.name == name]
    assert len(found) == 1
    return found[0]


def fgs_error(call):
    with pytest.raises(ClientRequestException) as raised:
        call()
    return raised.value.status_code, raised.value.error_code


def test_a_cloudflow_flow_is_a_workflow_that_starts_and_reports_its_nodes(fnf, fgs):
    flow = unique("fg_pass")
    create(fnf, flow, pass_flow(flow))
    workflow = workflow_of(fgs, flow)
    assert workflow.workflow_urn.startswith("urn:fss:") and workflow.workflow_urn.endswith(f":workflow:default:{flow}:latest")
    shown = fgs.show_work_flow(fg.ShowWorkFlowRequest(workflow_id=workflow.id))
    assert shown.definition.name == flow

    body = fg.FlowExecuteBody(input={"name": "Ada"})
    execution_id = fgs.start_workflow_execution(
        fg.StartWorkflowExecutionRequest(workflow_id=workflow.id, body=body)).execution_id
    assert describe(fnf, flow, execution_id, wait=10).status == "Succeeded"
    shown = fgs.show_workflow_execution(
        fg.ShowWorkflowExecutionRequest(workflow_id=workflow.id, execution_id=execution_id))
    assert (shown.status, shown.output) == ("success", {"greeting": "Hello, Ada!"})
    assert shown.input == {"name": "Ada"}
    [node] = shown.node_execution_details
    assert node.node_id == "Greet" and [e.status for e in node.executions] == ["success"]
    assert node.executions[0].end_time >= node.executions[0].begin_time

    listed = fgs.list_workflow_executions(fg.ListWorkflowExecutionsRequest(workflow_id=workflow.id, status="success"))
    assert [e.execution_id for e in listed.executions] == [execution_id]
    page = fgs.show_workflow_execution_for_page(fg.ShowWorkflowExecutionForPageRequest(workflow_id=workflow.id))
    assert page.total == 1 and page.executions[0].status == "success"


def test_terminate_closes_the_in_flight_call_and_reports_cancel(fnf, fgs, functions):
    functions.register("/e2e/hang", hang())
    flow = unique("fg_stop")
    create(fnf, flow, task_flow(flow, "hang"))
    workflow = workflow_of(fgs, flow)
    before = len(functions.calls_to("/e2e/hang"))
    execution_id = fgs.start_workflow_execution(
        fg.StartWorkflowExecutionRequest(workflow_id=workflow.id, body=fg.FlowExecuteBody(input={}))).execution_id
    wait_for(lambda: len(functions.calls_to("/e2e/hang")) > before)
    call = functions.calls_to("/e2e/hang")[-1]
    response = fgs.stop_work_flow(fg.StopWorkFlowRequest(workflow_id=workflow.id, execution_id=execution_id))
    answered = time.monotonic()
    assert response.status_code == 200
    wait_for(lambda: call.closed_at, timeout=2)
    assert call.closed_at - answered < CLOSE_WITHIN
    shown = fgs.show_workflow_execution(
        fg.ShowWorkflowExecutionRequest(workflow_id=workflow.id, execution_id=execution_id))
    assert shown.status == "cancel"
    assert [e.status for e in shown.node_execution_details[0].executions] == ["cancel"]
    assert describe(fnf, flow, execution_id).status == "Stopped"
    # A finished execution cannot be terminated again; an unknown one does not exist.
    assert fgs_error(lambda: fgs.stop_work_flow(
        fg.StopWorkFlowRequest(workflow_id=workflow.id, execution_id=execution_id))) == (400, "FSS.0400")
    assert fgs_error(lambda: fgs.stop_work_flow(
        fg.StopWorkFlowRequest(workflow_id=workflow.id, execution_id="nope"))) == (404, "FSS.0404")
    assert fgs_error(lambda: fgs.stop_work_flow(
        fg.StopWorkFlowRequest(workflow_id="0000000000000000-nope", execution_id="x"))) == (404, "FSS.0404")


def test_an_execution_started_elsewhere_is_terminated_here(fnf, fgs):
    flow = unique("fg_wait")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "w")
    workflow = workflow_of(fgs, flow)
    running = fgs.list_workflow_executions(fg.ListWorkflowExecutionsRequest(workflow_id=workflow.id, status="running"))
    assert [e.execution_id for e in running.executions] == ["w"]
    fgs.stop_work_flow(fg.StopWorkFlowRequest(workflow_id=workflow.id, execution_id="w"))
    assert describe(fnf, flow, "w").status == "Stopped"
    assert error_code(lambda: fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="w"))) == (
        "ExecutionAlreadyCompleted", 400)


def test_bad_input_is_refused_in_functiongraph_shape(fgs, sluice):
    with pytest.raises(ClientRequestException) as raised:
        fgs.list_workflow_executions(fg.ListWorkflowExecutionsRequest(workflow_id="0000000000000000-x", limit=5))
    assert (raised.value.status_code, raised.value.error_code) == (404, "FSS.0404")
    assert raised.value.request_id
    wrong = sluice.huawei(fg.FunctionGraphClient, secret="wrong")
    assert fgs_error(lambda: wrong.list_workflow(fg.ListWorkflowRequest())) == (401, "APIG.0301")
    foreign = sluice.huawei(fg.FunctionGraphClient, project_id="ffffffffffffffffffffffffffffffff")
    assert fgs_error(lambda: foreign.list_workflow(fg.ListWorkflowRequest())) == (403, "FSS.0403")

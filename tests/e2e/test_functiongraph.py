"""FunctionGraph workflows v2 (huaweicloudsdkfunctiongraph) against a real `sluice serve`.

Every flow of the tenant is a workflow here, whatever API created it: it can be listed, shown,
started and terminated, with statuses mapped as the README's table says.
"""

import time

import pytest
from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkfunctiongraph import v2 as fg

from conftest import PROJECT_ID
from functions import fail, hang
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


def urn(function):
    return f"urn:fss:local:{PROJECT_ID}:function:default:{function}:latest"


def call(state_id, ref, arguments, **fields):
    action = fg.Action(function_ref=fg.FunctionRef(ref_name=ref, invoke_mode="synchronize", arguments=arguments))
    return fg.OperationState(id=state_id, name=state_id, type="Operation", actions=[action], **fields)


def workflow_body(name, mode="NORMAL"):
    """Double the input's n, sleep a second, finish; a failure is caught into `recover`."""
    return fg.WorkflowCreateBody(
        name=name,
        mode=mode,
        start="double",
        functions=[fg.Function(name="double", operation=urn("fg_double")),
                   fg.Function(name="note", operation=urn("fg_note"))],
        constants={"label": "doubled"},
        retries=[fg.Retry(name="twice", delay=1, max_attempts=2)],
        states=[
            call("double", "double", {"n": "$.n", "label": "$CONST.label"}, transition="pause",
                 on_errors=[fg.OnError(error="*", retry_ref="twice", transition="recover")]),
            fg.OperationState(id="pause", name="pause", type="Sleep", duration=1, transition="done"),
            call("recover", "note", {"failed": True}, transition="done"),
            fg.OperationState(id="done", name="done", type="End", end=True),
        ],
    )


def doubling(call, conn):
    n = call.body["n"]
    if n < 0:
        return 500, {"errorCode": "Negative", "errorMessage": "n < 0"}
    return 200, {"n": n * 2, "label": call.body["label"]}


def test_a_workflow_created_here_runs_its_states_with_retry_and_catch(fgs, functions):
    functions.register("/default/fg_double", doubling)
    functions.register("/default/fg_note", lambda call, conn: (200, {"noted": call.body}))
    name = unique("fg_workflow")
    created = fgs.create_workflow(fg.CreateWorkflowRequest(body=workflow_body(name)))
    assert created.name == name and created.id and created.workflow_urn.endswith(f":{name}:latest")
    shown = fgs.show_work_flow(fg.ShowWorkFlowRequest(workflow_id=created.id))
    assert shown.definition.start == "double" and len(shown.definition.states) == 4

    run = fgs.start_workflow_execution(fg.StartWorkflowExecutionRequest(
        workflow_id=created.id, body=fg.FlowExecuteBody(input={"n": 21}))).execution_id
    show = lambda: fgs.show_workflow_execution(fg.ShowWorkflowExecutionRequest(workflow_id=created.id, execution_id=run))
    done = wait_for(lambda: (lambda s: s if s.status != "running" else None)(show()), timeout=15)
    assert (done.status, done.output) == ("success", {"n": 42, "label": "doubled"})
    assert [n.node_id for n in done.node_execution_details] == ["double", "pause", "done"]

    before = len(functions.calls_to("/default/fg_double"))
    failing = fgs.start_workflow_execution(fg.StartWorkflowExecutionRequest(
        workflow_id=created.id, body=fg.FlowExecuteBody(input={"n": -1}))).execution_id
    show = lambda: fgs.show_workflow_execution(fg.ShowWorkflowExecutionRequest(workflow_id=created.id, execution_id=failing))
    done = wait_for(lambda: (lambda s: s if s.status != "running" else None)(show()), timeout=15)
    assert done.status == "success" and done.output == {"noted": {"failed": True}}
    assert len(functions.calls_to("/default/fg_double")) - before == 3, "one call and two retries"
    assert [e.status for e in done.node_execution_details[0].executions] == ["fail"]

    now_ms = int(time.time() * 1000)
    window = {"period": "1", "start_time": str(now_ms - 600_000), "end_time": str(now_ms + 60_000)}
    metric = fgs.show_work_flow_metric(fg.ShowWorkFlowMetricRequest(workflow_urn=created.workflow_urn, **window))
    assert sum(p.value for p in metric.count) == 2
    assert sum(p.value for p in metric.fail_count) == 0 and sum(p.value for p in metric.running_count) == 0
    assert any(p.value > 0 for p in metric.duration)
    tenant = fgs.show_tenant_metric(fg.ShowTenantMetricRequest(**window))
    assert sum(p.value for p in tenant.count) >= 2


def test_update_delete_and_express_sync_executions(fgs, functions):
    functions.register("/default/fg_double", doubling)
    name = unique("fg_express")
    created = fgs.create_workflow(fg.CreateWorkflowRequest(body=workflow_body(name, mode="EXPRESS")))
    result = fgs.start_sync_workflow_execution(fg.StartSyncWorkflowExecutionRequest(
        workflow_id=created.id, body=fg.FlowExecuteBody(input={"n": 4})))
    assert (result.status, result.output) == ("success", {"n": 8, "label": "doubled"})
    assert fgs_error(lambda: fgs.start_workflow_execution(fg.StartWorkflowExecutionRequest(
        workflow_id=created.id, body=fg.FlowExecuteBody(input={})))) == (400, "FSS.0400")

    body = workflow_body(name, mode="EXPRESS")
    body.description = "updated"
    fgs.update_work_flow(fg.UpdateWorkFlowRequest(workflow_id=created.id, body=body))
    assert workflow_of(fgs, name).description == "updated"
    broken = workflow_body(name, mode="EXPRESS")
    broken.start = "nowhere"
    assert fgs_error(lambda: fgs.update_work_flow(fg.UpdateWorkFlowRequest(workflow_id=created.id, body=broken))) == (
        400, "FSS.0400")

    deleted = fgs.batch_delete_workflows(fg.BatchDeleteWorkflowsRequest(
        body=fg.WorkflowDeleteBody(workflow_urns=[created.workflow_urn, "urn:fss:local:p:workflow:default:ghost:latest"])))
    assert deleted.success == [created.workflow_urn]
    assert [f.workflow_urn for f in deleted.fail] == ["urn:fss:local:p:workflow:default:ghost:latest"]
    assert fgs_error(lambda: fgs.show_work_flow(fg.ShowWorkFlowRequest(workflow_id=created.id))) == (404, "FSS.0404")


def test_a_malformed_definition_is_refused_and_creates_nothing(fgs):
    name = unique("fg_broken")
    body = workflow_body(name)
    body.states[0].transition = "no_such_state"
    with pytest.raises(ClientRequestException) as raised:
        fgs.create_workflow(fg.CreateWorkflowRequest(body=body))
    assert (raised.value.status_code, raised.value.error_code) == (400, "FSS.0400")
    assert "no_such_state" in raised.value.error_msg
    assert not fgs.list_workflow(fg.ListWorkflowRequest(workflow_name=name)).workflows


def simple_workflow(name, function):
    return fg.WorkflowCreateBody(
        name=name,
        start="work",
        functions=[fg.Function(name="f", operation=urn(function))],
        states=[
            call("work", "f", {"n": "$.n"}, transition="done"),
            fg.OperationState(id="done", name="done", type="End", end=True),
        ],
    )


def wait_status(fgs, workflow_id, execution_id, not_status="running"):
    show = lambda: fgs.show_workflow_execution(
        fg.ShowWorkflowExecutionRequest(workflow_id=workflow_id, execution_id=execution_id))
    return wait_for(lambda: (lambda s: s if s.status != not_status else None)(show()), timeout=15)


def test_a_failed_execution_is_retried_from_its_failed_state(fgs, functions):
    functions.register("/default/fg_flaky", fail("Not.Yet"))
    name = unique("fg_retry")
    created = fgs.create_workflow(fg.CreateWorkflowRequest(body=simple_workflow(name, "fg_flaky")))
    run_id = fgs.start_workflow_execution(fg.StartWorkflowExecutionRequest(
        workflow_id=created.id, body=fg.FlowExecuteBody(input={"n": 5}))).execution_id
    assert wait_status(fgs, created.id, run_id).status == "fail"

    functions.register("/default/fg_flaky", lambda call, conn: (200, {"got": call.body["n"]}))
    fgs.retry_work_flow(fg.RetryWorkFlowRequest(workflow_id=created.id, execution_id=run_id))
    done = wait_status(fgs, created.id, run_id)
    assert (done.status, done.output) == ("success", {"got": 5})
    work = [n for n in done.node_execution_details if n.node_id == "work"][0]
    assert [e.status for e in work.executions] == ["fail", "success"]
    with pytest.raises(ClientRequestException) as raised:
        fgs.retry_work_flow(fg.RetryWorkFlowRequest(workflow_id=created.id, execution_id=run_id))
    assert (raised.value.status_code, raised.value.error_code) == (400, "FSS.0400")


def test_a_callback_completes_the_running_state(fgs, functions):
    functions.register("/default/fg_slow", hang())
    name = unique("fg_callback")
    created = fgs.create_workflow(fg.CreateWorkflowRequest(body=simple_workflow(name, "fg_slow")))
    before = len(functions.calls_to("/default/fg_slow"))
    run_id = fgs.start_workflow_execution(fg.StartWorkflowExecutionRequest(
        workflow_id=created.id, body=fg.FlowExecuteBody(input={"n": 1}))).execution_id
    wait_for(lambda: len(functions.calls_to("/default/fg_slow")) > before)
    slow = functions.calls_to("/default/fg_slow")[-1]
    answer = fgs.create_callback_workflow(fg.CreateCallbackWorkflowRequest(
        workflow_id=created.id, x_workflow_run_id=run_id, x_workflow_state_id="work",
        body=fg.CallbackWorkflowRequestBody(result="success", output={"from": "callback"})))
    assert answer.execution_id == run_id
    done = wait_status(fgs, created.id, run_id)
    assert (done.status, done.output) == ("success", {"from": "callback"})
    wait_for(lambda: slow.closed_at, timeout=2)
    with pytest.raises(ClientRequestException) as raised:
        fgs.create_callback_workflow(fg.CreateCallbackWorkflowRequest(
            workflow_id=created.id, x_workflow_run_id=run_id, x_workflow_state_id="work",
            body=fg.CallbackWorkflowRequestBody(result="success", output={})))
    assert (raised.value.status_code, raised.value.error_code) == (400, "FSS.0400")

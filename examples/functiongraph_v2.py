"""FunctionGraph workflows (v2) with the official SDK (`pip install huaweicloudsdkfunctiongraph`):
create a workflow, start an execution, watch it run, terminate it, read its history."""

import json
import pathlib

from huaweicloudsdkfunctiongraph import v2 as fg

import sluice_env as env

DEFINITION = json.loads((pathlib.Path(__file__).parent / "functiongraph_v2.json").read_text())


def main():
    fgs = env.huawei(fg.FunctionGraphClient)
    name = DEFINITION["name"]
    existing = fgs.list_workflow(fg.ListWorkflowRequest(workflow_name=name)).workflows
    if existing:
        workflow = existing[0].id
        fgs.update_work_flow(fg.UpdateWorkFlowRequest(workflow_id=workflow, body=DEFINITION))
    else:
        # The SDK takes the WorkflowCreateBody as a model object or as its JSON, as here.
        workflow = fgs.create_workflow(fg.CreateWorkflowRequest(body=DEFINITION)).id
    print(f"workflow id: {workflow}")

    run = fgs.start_workflow_execution(fg.StartWorkflowExecutionRequest(
        workflow_id=workflow, body=fg.FlowExecuteBody(input={"order": 42}))).execution_id

    def show():
        return fgs.show_workflow_execution(fg.ShowWorkflowExecutionRequest(workflow_id=workflow, execution_id=run))

    env.wait_until("the pause node", lambda: any(n.node_id == "pause" for n in show().node_execution_details or []))
    env.expect("while it sleeps", show().status, "running")

    fgs.stop_work_flow(fg.StopWorkFlowRequest(workflow_id=workflow, execution_id=run))
    shown = show()
    env.expect("after terminate", shown.status, "cancel")
    for node in shown.node_execution_details:
        print(f"  node {node.node_id}: {[e.status for e in node.executions]}")

    history = fgs.show_workflow_execution_for_page(fg.ShowWorkflowExecutionForPageRequest(workflow_id=workflow, limit=10))
    env.expect("this run in the history", any(e.execution_id == run for e in history.executions), True)


if __name__ == "__main__":
    main()

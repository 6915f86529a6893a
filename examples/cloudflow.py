"""CloudFlow with its official SDK (`pip install alibabacloud-fnf20190315`): create a flow,
start an execution, watch it run, stop it, read its history."""

import json
import pathlib
import time

from alibabacloud_fnf20190315 import models as m
from alibabacloud_fnf20190315.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

import sluice_env as env

DEFINITION = (pathlib.Path(__file__).parent / "cloudflow.yaml").read_text()
FLOW = "example-order"  # a flow is named as its definition's Name says


def main():
    scheme, host = env.ENDPOINT.split("://")
    fnf = Client(Config(access_key_id=env.ACCESS_KEY_ID, access_key_secret=env.ACCESS_KEY_SECRET,
                        endpoint=host, protocol=scheme, region_id="local"))
    try:
        fnf.create_flow(m.CreateFlowRequest(name=FLOW, definition=DEFINITION, description="sluice example", type="FDL"))
    except ClientException as e:
        if e.code != "FlowAlreadyExists":
            raise
        fnf.update_flow(m.UpdateFlowRequest(name=FLOW, definition=DEFINITION))

    execution = f"run-{time.time_ns()}"
    fnf.start_execution(m.StartExecutionRequest(flow_name=FLOW, execution_name=execution,
                                                input=json.dumps({"order": 42})))

    def history():
        return fnf.get_execution_history(m.GetExecutionHistoryRequest(
            flow_name=FLOW, execution_name=execution, limit=100)).body.events

    # Prepare and Route take no time; Ship waits 300 s.
    env.wait_until("the Ship state", lambda: any(e.step_name == "Ship" for e in history()))
    described = fnf.describe_execution(m.DescribeExecutionRequest(flow_name=FLOW, execution_name=execution)).body
    env.expect("while it waits", described.status, "Running")

    stopped = fnf.stop_execution(m.StopExecutionRequest(
        flow_name=FLOW, execution_name=execution, error="Example", cause="stopped by examples/cloudflow.py")).body
    env.expect("after StopExecution", stopped.status, "Stopped")

    events = history()
    for event in events:
        print(f"  {event.event_id:3} {event.type:20} {event.step_name}")
    env.expect("last event", events[-1].type, "ExecutionStopped")


if __name__ == "__main__":
    main()

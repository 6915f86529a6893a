"""A schedule really starts executions on time (CloudFlow's shortest interval is one minute)."""

import json
import time
import uuid

from alibabacloud_fnf20190315 import models as m


def test_an_every_minute_schedule_starts_an_execution_with_its_payload(fnf):
    flow = f"scheduled_{uuid.uuid4().hex[:8]}"
    definition = f"""Type: StateMachine
Name: {flow}
SpecVersion: v1
StartAt: Echo
States:
  - Type: Pass
    Name: Echo
    End: true
"""
    fnf.create_flow(m.CreateFlowRequest(name=flow, definition=definition, description="", type="FDL"))
    created = time.time()
    fnf.create_schedule(
        m.CreateScheduleRequest(
            flow_name=flow,
            schedule_name="tick",
            cron_expression="@every 1m",
            payload=json.dumps({"from": "schedule"}),
            enable=True,
        )
    )
    deadline = created + 90
    executions = []
    while time.time() < deadline and not executions:
        time.sleep(1)
        executions = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions or []
    assert executions, "the schedule did not start an execution within 90 s"
    fired_after = time.time() - created
    assert 55 <= fired_after <= 90, f"fired after {fired_after:.1f} s, expected about 60 s"
    execution = executions[0]
    assert execution.name.startswith("tick-")
    done = fnf.describe_execution(
        m.DescribeExecutionRequest(flow_name=flow, execution_name=execution.name, wait_time_seconds=10)
    ).body
    assert done.status == "Succeeded"
    assert json.loads(done.output) == {"from": "schedule"}
    fnf.update_schedule(m.UpdateScheduleRequest(flow_name=flow, schedule_name="tick", enable=False))

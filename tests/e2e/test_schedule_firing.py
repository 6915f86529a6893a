"""Schedules really start executions on time (the shortest interval is one minute), through
CloudFlow's schedules and DataArts' job scheduling, waited for together; each firing is a line
of the server's log."""

import datetime
import json
import time
import uuid

import pytest
from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkdgc import v1 as dgc

from conftest import Sluice


@pytest.fixture
def sluice(tmp_path, functions):
    server = Sluice(tmp_path / "data", functions.url_template, log="info")
    yield server
    server.stop()


def test_every_minute_schedules_of_both_apis_start_executions(sluice):
    fnf = sluice.client()
    created = time.time()
    flow = cloudflow_schedule(fnf)
    jobs = sluice.huawei(dgc.DgcClient)
    job = dataarts_scheduled_job(jobs)

    deadline = created + 90
    executions, instances = [], []
    while time.time() < deadline and not (executions and instances):
        time.sleep(1)
        executions = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions or []
        instances = jobs.list_job_instances(dgc.ListJobInstancesRequest(job_name=job)).instances or []
    assert executions, "the CloudFlow schedule did not start an execution within 90 s"
    assert instances, "the DataArts job's scheduling did not start an instance within 90 s"

    execution = executions[0]
    assert execution.name.startswith("tick-")
    done = fnf.describe_execution(
        m.DescribeExecutionRequest(flow_name=flow, execution_name=execution.name, wait_time_seconds=10)
    ).body
    assert done.status == "Succeeded"
    assert json.loads(done.output) == {"from": "schedule"}
    fired_after = datetime.datetime.fromisoformat(done.started_time).timestamp() - created
    assert 55 <= fired_after <= 90, f"@every 1m fired after {fired_after:.1f} s, expected about 60 s"
    fnf.update_schedule(m.UpdateScheduleRequest(flow_name=flow, schedule_name="tick", enable=False))

    instance = instances[0]
    assert instance.instance_type == 0, "a scheduled instance"
    assert time.gmtime(instance.plan_time / 1000).tm_sec == 0, "the cron fires on the minute"
    assert [j.status for j in jobs.list_jobs(dgc.ListJobsRequest(job_name=job)).jobs] == ["SCHEDULING"]
    jobs.stop_job(dgc.StopJobRequest(job_name=job))
    assert [j.status for j in jobs.list_jobs(dgc.ListJobsRequest(job_name=job)).jobs] == ["STOPPED"]

    fired = [e for e in sluice.log_events() if e.get("message") == "schedule fired"]
    by_flow = {e["flow"]: e for e in fired}
    assert by_flow[flow]["schedule"] == "tick" and by_flow[flow]["started"] is True, fired
    assert by_flow[job]["tenant"] == "default" and by_flow[job]["started"] is True, fired
    assert f"tick-{by_flow[flow]['tick']}" == execution.name


def cloudflow_schedule(fnf):
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
    fnf.create_schedule(
        m.CreateScheduleRequest(
            flow_name=flow,
            schedule_name="tick",
            cron_expression="@every 1m",
            payload=json.dumps({"from": "schedule"}),
            enable=True,
        )
    )
    return flow


def dataarts_scheduled_job(jobs):
    """Every minute on the second 0, in GMT+8, from now until tomorrow."""
    job = f"scheduled_job_{uuid.uuid4().hex[:8]}"
    start = time.strftime("%Y-%m-%dT%H:%M:%S+00", time.gmtime(time.time() - 5))
    end = time.strftime("%Y-%m-%dT%H:%M:%S+00", time.gmtime(time.time() + 86400))
    cron = dgc.Cron(start_time=start, end_time=end, expression="0 * * * * ?", expression_time_zone="GMT+8")
    node = dgc.Node(name="noop", type="Dummy", location=dgc.Location(x="0", y="0"))
    info = dgc.JobInfo(name=job, nodes=[node], process_type="BATCH", schedule=dgc.Schedule(type="CRON", cron=cron))
    jobs.create_job(dgc.CreateJobRequest(body=info))
    jobs.start_job(dgc.StartJobRequest(job_name=job, body=dgc.StartJobReq(job_params=[])))
    return job

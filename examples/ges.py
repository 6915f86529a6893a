"""The GES graph lifecycle with the official SDK (`pip install huaweicloudsdkges`): in sluice a
graph is a flow, so this creates one (with the CloudFlow SDK) and starts two executions, then
stops the graph (an asynchronous job that closes the flow and stops every execution), watches
the job, starts the graph again, and reads the graph's jobs."""

import json
import pathlib
import time

from alibabacloud_fnf20190315 import models as m
from alibabacloud_fnf20190315.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config
from huaweicloudsdkges import v1 as ges

import sluice_env as env

DEFINITION = (pathlib.Path(__file__).parent / "ges_flow.yaml").read_text()
FLOW = "example-graph"
RUNNING, STOPPED = "200", "900"  # graph.status codes


def main():
    scheme, host = env.ENDPOINT.split("://")
    fnf = Client(Config(access_key_id=env.ACCESS_KEY_ID, access_key_secret=env.ACCESS_KEY_SECRET,
                        endpoint=host, protocol=scheme, region_id="local"))
    try:
        fnf.create_flow(m.CreateFlowRequest(name=FLOW, definition=DEFINITION, description="sluice example", type="FDL"))
    except ClientException as e:
        if e.code != "FlowAlreadyExists":
            raise

    graphs = env.huawei(ges.GesClient)
    # A graph id is the flow's id: 16 hex digits, a dash, the flow's name.
    graph = next(g for g in graphs.list_graphs(ges.ListGraphsRequest(limit=1000)).graphs if g.name == FLOW)
    print(f"graph id: {graph.id}")
    if graph.status != RUNNING:  # an earlier run left it stopped
        started = graphs.start_graph(ges.StartGraphRequest(graph_id=graph.id, action_id="start")).job_id
        wait_job(graphs, graph.id, started)

    runs = [f"run-{time.time_ns()}-{i}" for i in range(2)]
    for run in runs:
        fnf.start_execution(m.StartExecutionRequest(flow_name=FLOW, execution_name=run, input=json.dumps({})))
    env.expect("graph status", status(graphs, graph.id), RUNNING)

    stop = graphs.stop_graph(ges.StopGraphRequest(graph_id=graph.id, action_id="stop")).job_id
    print(f"stop job id: {stop}")
    done = wait_job(graphs, graph.id, stop)
    print(f"job progress: {done.job_progress}")
    env.expect("graph status after the stop job", status(graphs, graph.id), STOPPED)
    for run in runs:
        described = fnf.describe_execution(m.DescribeExecutionRequest(flow_name=FLOW, execution_name=run)).body
        env.expect(f"execution {run}", described.status, "Stopped")

    reopened = graphs.start_graph(ges.StartGraphRequest(graph_id=graph.id, action_id="start")).job_id
    wait_job(graphs, graph.id, reopened)
    env.expect("graph status after start", status(graphs, graph.id), RUNNING)

    listed = graphs.list_jobs(ges.ListJobsRequest(graph_name=FLOW, limit=100)).job_list
    for job in listed:
        print(f"  job {job.job_id}: {job.job_name} {job.status}")
    env.expect("the stop job among the graph's jobs", any(j.job_id == done.job_id for j in listed), True)


def status(graphs, graph_id):
    return graphs.show_graph(ges.ShowGraphRequest(graph_id=graph_id)).graph.status


def wait_job(graphs, graph_id, job_id):
    job = env.wait_until(f"job {job_id}", lambda: (lambda j: j if j.status in ("success", "failed") else None)(
        graphs.show_job(ges.ShowJobRequest(graph_id=graph_id, job_id=job_id))))
    env.expect(f"job {job_id}", job.status, "success")
    return job


if __name__ == "__main__":
    main()

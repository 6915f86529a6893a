"""DataArts Factory jobs (huaweicloudsdkdgc) against a real `sluice serve`: DAGs of RESTAPI,
Dummy and Shell nodes, run-immediate, instances with node statuses, stop, rerun, workspaces."""

import time

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdgc import v1 as dgc

from conftest import Sluice
from functions import answer, fail, hang
from test_cloudflow import unique, wait_for
from test_stop import CLOSE_WITHIN

WORKSPACE = "ws-e2e"


@pytest.fixture(scope="module")
def client(sluice):
    return sluice.huawei(dgc.DgcClient)


def rest_node(name, url, after=(), **fields):
    properties = [dgc.ModelProperty(name="url", value=url), dgc.ModelProperty(name="method", value="POST"),
                  dgc.ModelProperty(name="headers", value='{"X-Node": "%s"}' % name),
                  dgc.ModelProperty(name="body", value='{"node": "%s"}' % name)]
    return dgc.Node(name=name, type="RESTAPI", location=dgc.Location(x="0", y="0"), pre_node_name=list(after),
                    properties=properties, **fields)


def dummy_node(name, after=()):
    return dgc.Node(name=name, type="Dummy", location=dgc.Location(x="0", y="0"), pre_node_name=list(after))


def create_job(client, name, nodes, schedule=None, workspace=WORKSPACE):
    info = dgc.JobInfo(name=name, nodes=nodes, process_type="BATCH", schedule=schedule or dgc.Schedule(type="EXECUTE_ONCE"))
    client.create_job(dgc.CreateJobRequest(workspace=workspace, body=info))


def run(client, job, workspace=WORKSPACE):
    return client.run_once(dgc.RunOnceRequest(workspace=workspace, job_name=job, body=dgc.StartJobReq(job_params=[]))).instance_id


def instance(client, job, instance_id):
    return client.show_job_instance(dgc.ShowJobInstanceRequest(workspace=WORKSPACE, job_name=job, instance_id=str(instance_id)))


def finished(client, job, instance_id, timeout=20):
    return wait_for(lambda: (lambda i: i if i.status not in ("running", "waiting") else None)(
        instance(client, job, instance_id)), timeout=timeout)


def dlf_error(call):
    with pytest.raises(ClientRequestException) as raised:
        call()
    return raised.value.status_code, raised.value.error_code


def node_statuses(shown):
    return {n.node_name: n.status for n in shown.nodes}


def test_a_diamond_dag_runs_each_node_after_its_predecessors(client, functions):
    base = f"http://127.0.0.1:{functions.port}/dlf"
    for name in ("extract", "left", "right"):
        functions.register(f"/dlf/{name}", answer({"done": name}))
    job = unique("dag")
    create_job(client, job, [
        rest_node("extract", f"{base}/extract"),
        rest_node("left", f"{base}/left", after=["extract"]),
        rest_node("right", f"{base}/right", after=["extract"]),
        dummy_node("load", after=["left", "right"]),
    ])
    instance_id = run(client, job)
    assert isinstance(instance_id, int)
    shown = finished(client, job, instance_id)
    assert shown.status == "success" and shown.total == 4
    assert node_statuses(shown) == {"extract": "success", "left": "success", "right": "success", "load": "success"}
    extract = functions.calls_to("/dlf/extract")[-1]
    branches = [functions.calls_to(f"/dlf/{n}")[-1] for n in ("left", "right")]
    assert all(b.received_at > extract.received_at for b in branches)
    headers = {k.lower(): v for k, v in extract.headers.items()}
    assert headers["x-node"] == "extract" and extract.body == {"node": "extract"}
    listed = client.list_job_instances(dgc.ListJobInstancesRequest(workspace=WORKSPACE, job_name=job))
    assert [i.instance_id for i in listed.instances] == [instance_id]
    assert listed.instances[0].status == "success"


def test_stop_closes_the_running_node_and_runs_no_further_node(client, functions):
    base = f"http://127.0.0.1:{functions.port}/dlf"
    functions.register("/dlf/slow", hang())
    functions.register("/dlf/after", answer({}))
    job = unique("dag_stop")
    create_job(client, job, [rest_node("slow", f"{base}/slow"), rest_node("after", f"{base}/after", after=["slow"])])
    before = len(functions.calls_to("/dlf/slow"))
    instance_id = run(client, job)
    wait_for(lambda: len(functions.calls_to("/dlf/slow")) > before)
    call = functions.calls_to("/dlf/slow")[-1]
    after_calls = len(functions.calls_to("/dlf/after"))
    response = client.stop_job_instance(dgc.StopJobInstanceRequest(
        workspace=WORKSPACE, job_name=job, instance_id=str(instance_id)))
    answered = time.monotonic()
    assert response.status_code == 204
    wait_for(lambda: call.closed_at, timeout=2)
    assert call.closed_at - answered < CLOSE_WITHIN
    shown = instance(client, job, instance_id)
    assert shown.status == "manual-stop"
    assert node_statuses(shown) == {"slow": "manual-stop", "after": "skip"}
    time.sleep(0.3)
    assert len(functions.calls_to("/dlf/after")) == after_calls, "a node ran after the stop"
    # Only a running instance can be stopped; an unknown one does not exist.
    assert dlf_error(lambda: client.stop_job_instance(dgc.StopJobInstanceRequest(
        workspace=WORKSPACE, job_name=job, instance_id=str(instance_id)))) == (400, "DLF.3051")
    assert dlf_error(lambda: client.stop_job_instance(dgc.StopJobInstanceRequest(
        workspace=WORKSPACE, job_name=job, instance_id="12345"))) == (400, "DLF.0137")


def test_fail_policies_retries_and_rerun(client, functions):
    base = f"http://127.0.0.1:{functions.port}/dlf"
    functions.register("/dlf/broken", fail("Broken"))
    functions.register("/dlf/next", answer({}))
    ignoring = unique("dag_ignore")
    create_job(client, ignoring, [
        rest_node("flaky", f"{base}/broken", fail_policy="IGNORE"),
        rest_node("next", f"{base}/next", after=["flaky"]),
    ])
    shown = finished(client, ignoring, run(client, ignoring))
    assert shown.status == "success"
    assert node_statuses(shown) == {"flaky": "fail", "next": "success"}

    failing = unique("dag_fail")
    create_job(client, failing, [
        rest_node("flaky", f"{base}/broken", fail_policy="FAIL", retry_times=1, retry_interval=1),
        rest_node("next", f"{base}/next", after=["flaky"]),
    ])
    before = len(functions.calls_to("/dlf/broken"))
    instance_id = run(client, failing)
    shown = finished(client, failing, instance_id)
    assert shown.status == "fail"
    assert node_statuses(shown) == {"flaky": "fail", "next": "skip"}
    assert len(functions.calls_to("/dlf/broken")) - before == 2, "one attempt and one retry"

    functions.register("/dlf/broken", answer({"fixed": True}))
    client.restore_job_instance(dgc.RestoreJobInstanceRequest(
        workspace=WORKSPACE, job_name=failing, instance_id=str(instance_id)))
    shown = finished(client, failing, instance_id)
    assert shown.status == "success"
    assert node_statuses(shown) == {"flaky": "success", "next": "success"}


def test_jobs_are_scoped_by_workspace_and_bad_input_changes_nothing(client, functions):
    job = unique("dag_ws")
    create_job(client, job, [dummy_node("only")])
    assert client.show_job(dgc.ShowJobRequest(workspace=WORKSPACE, job_name=job)).name == job
    assert dlf_error(lambda: client.show_job(dgc.ShowJobRequest(job_name=job))) == (400, "DLF.0100")
    assert job in [j.name for j in client.list_jobs(dgc.ListJobsRequest(workspace=WORKSPACE, limit=100)).jobs]
    assert job not in [j.name for j in client.list_jobs(dgc.ListJobsRequest(limit=100)).jobs]
    assert dlf_error(lambda: create_job(client, job, [dummy_node("only")])) == (400, "DLF.0102")

    cyclic = unique("dag_cycle")
    assert dlf_error(lambda: create_job(client, cyclic, [dummy_node("a", after=["b"]), dummy_node("b", after=["a"])])) == (
        400, "DLF.3051")
    shell = unique("dag_shell")
    node = dgc.Node(name="sh", type="Shell", location=dgc.Location(x="0", y="0"),
                    properties=[dgc.ModelProperty(name="script", value="true")])
    with pytest.raises(ClientRequestException) as raised:
        create_job(client, shell, [node])
    assert "allow_shell" in raised.value.error_msg
    unknown_type = unique("dag_hive")
    node = dgc.Node(name="q", type="HiveSQL", location=dgc.Location(x="0", y="0"), properties=[])
    assert dlf_error(lambda: create_job(client, unknown_type, [node])) == (400, "DLF.3051")
    names = [j.name for j in client.list_jobs(dgc.ListJobsRequest(workspace=WORKSPACE, limit=1000)).jobs]
    assert not {cyclic, shell, unknown_type} & set(names)

    client.delete_job(dgc.DeleteJobRequest(workspace=WORKSPACE, job_name=job))
    assert dlf_error(lambda: client.show_job(dgc.ShowJobRequest(workspace=WORKSPACE, job_name=job))) == (400, "DLF.0100")


def alive(pid):
    """Running, not merely a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_stopped_shell_node_leaves_no_process_behind(tmp_path, functions):
    config = tmp_path / "sluice.toml"
    config.write_text("allow_shell = true\n")
    server = Sluice(tmp_path / "data", functions.url_template, config=config)
    try:
        client = server.huawei(dgc.DgcClient)
        pids = tmp_path / "pids"
        script = f"echo $$ > {pids}; sleep 60 & echo $! >> {pids}; wait"
        node = dgc.Node(name="sh", type="Shell", location=dgc.Location(x="0", y="0"),
                        properties=[dgc.ModelProperty(name="script", value=script)])
        job = unique("dag_sh")
        create_job(client, job, [node])
        instance_id = run(client, job)
        wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2)
        shell, child = (int(p) for p in pids.read_text().split())
        assert alive(shell) and alive(child)
        client.stop_job_instance(dgc.StopJobInstanceRequest(workspace=WORKSPACE, job_name=job, instance_id=str(instance_id)))
        wait_for(lambda: not alive(shell) and not alive(child), timeout=2)
        assert instance(client, job, instance_id).status == "manual-stop"
    finally:
        server.stop()


def test_bad_signatures_and_foreign_projects_are_refused(sluice, tenant_sluice, client):
    from conftest import TENANT_A_KEY, TENANT_B_PROJECT

    wrong = sluice.huawei(dgc.DgcClient, secret="wrong")
    assert dlf_error(lambda: wrong.list_jobs(dgc.ListJobsRequest())) == (401, "APIG.0301")
    job = unique("dag_auth")
    assert dlf_error(lambda: create_job(wrong, job, [dummy_node("a")])) == (401, "APIG.0301")
    assert dlf_error(lambda: client.show_job(dgc.ShowJobRequest(workspace=WORKSPACE, job_name=job))) == (400, "DLF.0100")
    foreign = tenant_sluice.huawei(dgc.DgcClient, *TENANT_A_KEY, project_id=TENANT_B_PROJECT)
    assert dlf_error(lambda: foreign.list_jobs(dgc.ListJobsRequest())) == (403, "DLF.6888")


def test_concurrent_starts_and_stops_of_a_jobs_scheduling_all_succeed(sluice):
    """Starting scheduling creates the job's schedule or updates it, stopping removes it: of
    concurrent calls, each gets its 204 (before, the losers of the create or the delete got an
    error) and the job ends scheduled, then stopped."""
    from test_ges import concurrently

    clients = [sluice.huawei(dgc.DgcClient) for _ in range(50)]
    job = unique("sched_race")
    start = time.strftime("%Y-%m-%dT%H:%M:%S+00", time.gmtime(time.time() + 86400))
    end = time.strftime("%Y-%m-%dT%H:%M:%S+00", time.gmtime(time.time() + 2 * 86400))
    cron = dgc.Cron(start_time=start, end_time=end, expression="0 0 * * * ?", expression_time_zone="GMT+8")
    node = dummy_node("noop")
    info = dgc.JobInfo(name=job, nodes=[node], process_type="BATCH", schedule=dgc.Schedule(type="CRON", cron=cron))
    clients[0].create_job(dgc.CreateJobRequest(body=info))
    status = lambda: [j.status for j in clients[0].list_jobs(dgc.ListJobsRequest(job_name=job)).jobs]

    started = concurrently(50, lambda i: clients[i].start_job(
        dgc.StartJobRequest(job_name=job, body=dgc.StartJobReq(job_params=[]))))
    assert [r for r in started if isinstance(r, Exception)] == []
    assert status() == ["SCHEDULING"]
    stopped = concurrently(50, lambda i: clients[i].stop_job(dgc.StopJobRequest(job_name=job)))
    assert [r for r in stopped if isinstance(r, Exception)] == []
    assert status() == ["STOPPED"]

"""What the server says about the work it does (issue 10 item 11), read from its log.

- at `info`: one line per execution started and per execution ended (succeeded, failed, timed
  out, stopped), naming tenant, dialect, flow, execution, duration and error; one per
  background job started and finished;
- at `debug`: one line per task call;
- the start-up line counts what a restarted server really took up (the calls it makes again,
  the timers it fires, the jobs it resumes).
"""

import time

from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkdgc import v1 as dgc
from huaweicloudsdkges import v1 as ges

from conftest import POSTGRES, Sluice
from functions import fail, hang
from test_cloudflow import create, describe, pass_flow, start, task_flow, unique, wait_flow, wait_for
from test_ges import graph_of, wait_job

LIMITS = """
[limits]
standard_timeout_secs = 3
"""


def lines(server, message, **fields):
    """The log lines with that message whose fields include `fields`."""
    return [
        e for e in server.log_events()
        if e.get("message") == message and all(e.get(k) == v for k, v in fields.items())
    ]


def test_every_execution_event_job_and_task_call_is_logged(tmp_path, functions):
    config = tmp_path / "sluice.toml"
    config.write_text(LIMITS)  # executions time out after 3 s
    server = Sluice(tmp_path / "data", functions.url_template, config=config, log="info,sluice_runtime=debug")
    try:
        fnf = server.client()
        functions.register("/e2e/log_broken", fail("Biz.Broken", "the order is broken"))
        ok, broken, slow, stopped = (unique(p) for p in ("log_ok", "log_broken", "log_slow", "log_stopped"))
        create(fnf, ok, pass_flow(ok))
        create(fnf, broken, task_flow(broken, "log_broken"))
        create(fnf, slow, wait_flow(slow, 300))
        create(fnf, stopped, wait_flow(stopped, 300))
        for flow in (ok, broken, slow, stopped):
            start(fnf, flow, "run", {"name": "log"})
        fnf.stop_execution(m.StopExecutionRequest(flow_name=stopped, execution_name="run", error="Manual", cause="test"))

        jobs = server.huawei(dgc.DgcClient)
        job = unique("log_job")
        node = dgc.Node(name="noop", type="Dummy", location=dgc.Location(x="0", y="0"))
        jobs.create_job(dgc.CreateJobRequest(body=dgc.JobInfo(name=job, nodes=[node])))
        jobs.run_once(dgc.RunOnceRequest(job_name=job, body=dgc.StartJobReq(job_params=[])))

        graphs = server.huawei(ges.GesClient)
        graph_id = graph_of(graphs, slow).id
        statuses = {f: describe(fnf, f, "run", wait=10).status for f in (ok, broken, slow)}
        assert statuses == {ok: "Succeeded", broken: "Failed", slow: "TimedOut"}
        job_id = graphs.stop_graph(ges.StopGraphRequest(graph_id=graph_id, action_id="stop")).job_id
        assert wait_job(graphs, graph_id, job_id).status == "success"
        wait_for(lambda: lines(server, "job finished", job=job_id), timeout=5)

        common = {"tenant": "default", "execution": "run", "level": "INFO"}
        for flow in (ok, broken, slow, stopped):
            assert lines(server, "execution started", flow=flow, dialect="cloudflow", **common), flow
        assert lines(server, "execution succeeded", flow=ok, status="Succeeded", **common)
        [failed] = lines(server, "execution failed", flow=broken, status="Failed", **common)
        assert failed["error"].startswith("Biz.Broken: ") and "the order is broken" in failed["error"]
        [timed_out] = lines(server, "execution timed out", flow=slow, status="TimedOut", **common)
        assert 3000 <= timed_out["duration_ms"] < 10000, timed_out
        [stop] = lines(server, "execution stopped", flow=stopped, status="Stopped", **common)
        assert stop["error"].startswith("Manual"), stop
        assert lines(server, "execution started", flow=job, dialect="dataarts", tenant="default")
        assert lines(server, "execution succeeded", flow=job, dialect="dataarts", tenant="default")
        assert lines(server, "job started", job=job_id, kind="CloseFlow", flow=slow, level="INFO")
        [closed] = lines(server, "job finished", job=job_id, kind="CloseFlow", flow=slow, level="INFO")
        assert closed["status"] == "Succeeded"

        [call] = lines(server, "task call", flow=broken, execution="run", level="DEBUG")
        assert (call["state"], call["attempt"], call["target"]) == ("Call", 0, "e2e/log_broken")
        assert call["outcome"].startswith("Biz.Broken") and call["ms"] >= 0
    finally:
        server.stop()


def test_a_restarted_server_says_what_it_took_up(tmp_path, functions):
    """Before: `took over unfinished work calls=0 timers=0 jobs=0` while an execution waited
    in a Wait."""
    functions.register("/e2e/log_hang", hang(max_seconds=60))
    server = Sluice(tmp_path / "data", functions.url_template, log="info")
    try:
        fnf = server.client()
        waiting, calling = unique("log_waiting"), unique("log_calling")
        create(fnf, waiting, wait_flow(waiting, 300))
        create(fnf, calling, task_flow(calling, "log_hang"))
        before = len(functions.calls_to("/e2e/log_hang"))
        start(fnf, waiting, "w")
        start(fnf, calling, "c")
        wait_for(lambda: len(functions.calls_to("/e2e/log_hang")) > before)
        server.kill9()
        server.start()
        [first, second] = lines(server, "took over unfinished work")
        assert (first["calls"], first["timers"], first["jobs"]) == (0, 0, 0), "a fresh server"
        # On PostgreSQL a restarted node is a new node: it takes over its predecessor's work
        # once that one's lease has run out, and says so then.
        later = wait_for(lambda: lines(server, "took over the work of dead nodes"), timeout=15) if POSTGRES else []
        taken = [(e["calls"], e["timers"], e["jobs"]) for e in [second] + later]
        # The Wait's timer, and each execution's own deadline.
        assert [t for t in taken if t != (0, 0, 0)] == [(1, 3, 0)], taken
        wait_for(lambda: len(functions.calls_to("/e2e/log_hang")) > before + 1, timeout=15)
        fnf.stop_execution(m.StopExecutionRequest(flow_name=calling, execution_name="c"))
        fnf.stop_execution(m.StopExecutionRequest(flow_name=waiting, execution_name="w"))
    finally:
        server.stop()

"""The HTTP layer under hostile clients, with the official SDKs' traffic beside them: slow
clients are cut off at the default limits while the SDKs are served, a DataArts schedule that
cannot be read is refused when the job is written (it used to panic the handler and drop the
connection when scheduling started), `/metrics` can be put behind a key, and every request
gets a `debug` log line. Raw sockets for what no SDK sends."""

import json
import re
import selectors
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdgc import v1 as dgc

from conftest import Sluice
from test_cloudflow import create, describe, pass_flow, start, unique, wait_for
from test_dataarts import create_job, dummy_node

# The server's defaults (docs/configuration.md, "The HTTP server").
HEADER_TIMEOUT = 10
BODY_TIMEOUT = 20
# How late past its limit the server may cut a slow connection off.
SLACK = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory, functions):
    """A server with the default HTTP limits and a `debug` request log."""
    base = tmp_path_factory.mktemp("hardening-http")
    server = Sluice(base / "data", functions.url_template, log="warn,sluice_api::http=debug")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jobs(server):
    return server.huawei(dgc.DgcClient)


def dlf_error(call):
    with pytest.raises(ClientRequestException) as raised:
        call()
    return raised.value.status_code, raised.value.error_code, raised.value.error_msg


def cron_job(jobs, name, **cron):
    cron = dgc.Cron(expression=cron.pop("expression", "0 0 2 * * ?"), **cron)
    create_job(jobs, name, [dummy_node("only")], schedule=dgc.Schedule(type="CRON", cron=cron))


def shown_cron(jobs, name):
    shown = jobs.show_job(dgc.ShowJobRequest(workspace="ws-e2e", job_name=name))
    return shown.schedule.cron


# ---- item 6: the start time that panicked ---------------------------------------------------

def test_a_start_time_that_is_not_a_time_is_refused_when_the_job_is_created(jobs):
    name = unique("bad_start")
    status, code, message = dlf_error(lambda: cron_job(jobs, name, start_time="2018-10-22T23:59:59+0éx"))
    assert (status, code) == (400, "DLF.3025")
    assert "startTime" in message
    status, code, _ = dlf_error(lambda: jobs.show_job(dgc.ShowJobRequest(workspace="ws-e2e", job_name=name)))
    assert (status, code) == (400, "DLF.0100"), "a refused job was created"
    # The documented forms of the zone suffix are all read.
    for start in ("2018-10-22T23:59:59+08", "2018-10-22T23:59:59+0800", "2018-10-22T23:59:59+08:00"):
        good = unique("start")
        cron_job(jobs, good, start_time=start)
        jobs.start_job(dgc.StartJobRequest(workspace="ws-e2e", job_name=good))


# ---- item 7: time zones and cron checked when written ---------------------------------------

def test_expression_time_zones_in_every_documented_form_are_scheduled(jobs):
    for zone in ("GMT+08:00", "GMT+8:00", "GMT+8", "GMT-03:30", "Asia/Shanghai", "UTC"):
        name = unique("zone")
        cron_job(jobs, name, expression_time_zone=zone)
        response = jobs.start_job(dgc.StartJobRequest(workspace="ws-e2e", job_name=name))
        assert response.status_code == 204, zone
        listed = jobs.list_jobs(dgc.ListJobsRequest(workspace="ws-e2e", job_name=name)).jobs
        assert [j.status for j in listed] == ["SCHEDULING"], zone
    status, code, message = dlf_error(lambda: cron_job(jobs, unique("zone"), expression_time_zone="Mars/Olympus"))
    assert (status, code) == (400, "DLF.3025") and "expressionTimeZone" in message


def test_an_invalid_cron_is_refused_when_the_job_is_created_or_updated(jobs):
    name = unique("bad_cron")
    for expression in ("every day at two", "0 0 2 * *", "0 0 25 * * ?"):
        status, code, _ = dlf_error(lambda: cron_job(jobs, name, expression=expression))
        assert (status, code) == (400, "DLF.3025"), expression
    cron_job(jobs, name)
    bad = dgc.JobInfo(name=name, nodes=[dummy_node("only")], process_type="BATCH",
                      schedule=dgc.Schedule(type="CRON", cron=dgc.Cron(expression="0 0 99 * * ?")))
    status, code, _ = dlf_error(lambda: jobs.update_job(dgc.UpdateJobRequest(workspace="ws-e2e", job_name=name, body=bad)))
    assert (status, code) == (400, "DLF.3025")
    assert shown_cron(jobs, name).expression == "0 0 2 * * ?", "a refused update changed the job"


# ---- item 9: slow clients beside the SDKs' traffic ------------------------------------------

ATTACKERS = 800


def hostile_connections(port):
    """800 connections to both dialects: a third send nothing, a third half their headers, a
    third their headers and half their body. Returns (socket, kind) pairs."""
    partial_head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Slow: "
    partial_body = (b"POST /v1/0e2e0000000000000000000000000001/jobs HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\": ")
    connections = []
    for i in range(ATTACKERS):
        kind = ("silent", "partial headers", "partial body")[i % 3]
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if kind == "partial headers":
            s.sendall(partial_head)
        elif kind == "partial body":
            s.sendall(partial_body)
        connections.append((s, kind))
    return connections


def closed_by_server(connections, deadline):
    """Waits until the server closed each connection or `deadline` (monotonic) passes; returns
    {socket: (seconds after the start, what it answered)} for the closed ones."""
    started = time.monotonic()
    selector = selectors.DefaultSelector()
    received = {}
    for s, _ in connections:
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        received[s] = b""
    closed = {}
    while len(closed) < len(connections) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if data:
                received[s] += data
                continue
            closed[s] = (time.monotonic() - started, received[s])
            selector.unregister(s)
    selector.close()
    return closed


def sdk_traffic(server, jobs, stop, outcomes):
    """CloudFlow and DataArts calls through the official SDKs until `stop` is set."""
    fnf = server.client()
    flow = unique("beside")
    create(fnf, flow, pass_flow(flow))
    while not stop.is_set():
        began = time.monotonic()
        try:
            name = start(fnf, flow, input={"name": "sdk"}).name
            done = wait_for(lambda: (lambda e: e if e.status == "Succeeded" else None)(describe(fnf, flow, name)))
            assert json.loads(done.output) == {"greeting": "Hello, sdk!"}
            jobs.list_jobs(dgc.ListJobsRequest(workspace="ws-e2e"))
            outcomes.append(("ok", time.monotonic() - began))
        except Exception as e:  # noqa: BLE001 - every failure is reported by the test
            outcomes.append((repr(e), time.monotonic() - began))


def test_slow_clients_are_cut_off_while_the_sdks_are_served(server, jobs):
    stop, outcomes = threading.Event(), []
    beside = threading.Thread(target=sdk_traffic, args=(server, jobs, stop, outcomes))
    beside.start()
    connections = []
    try:
        started = time.monotonic()
        connections = hostile_connections(server.port)
        assert server.alive
        closed = closed_by_server(connections, started + BODY_TIMEOUT + SLACK + 2)
    finally:
        stop.set()
        beside.join(timeout=60)
        for s, _ in connections:
            s.close()
    failures = [o for o in outcomes if o[0] != "ok"]
    assert not failures, failures[:5]
    assert len(outcomes) >= 10, f"only {len(outcomes)} rounds of SDK calls in {BODY_TIMEOUT} s"
    assert max(seconds for _, seconds in outcomes) < 5, "an SDK call waited behind the slow clients"
    by_kind = {}
    for s, kind in connections:
        by_kind.setdefault(kind, []).append(closed.get(s))
    for kind, limit in (("silent", HEADER_TIMEOUT), ("partial headers", HEADER_TIMEOUT), ("partial body", BODY_TIMEOUT)):
        results = by_kind[kind]
        still_open = sum(1 for r in results if r is None)
        assert still_open == 0, f"{still_open} {kind} connections still open after {limit + SLACK} s"
        latest = max(seconds for seconds, _ in results)
        assert latest < limit + SLACK, f"a {kind} connection was closed only after {latest:.1f} s"
    assert all(answer.startswith(b"HTTP/1.1 408") for _, answer in by_kind["partial body"])


# ---- item 12: health, metrics behind a key --------------------------------------------------

def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_metrics_can_be_put_behind_a_key(tmp_path, functions):
    config = tmp_path / "sluice.toml"
    config.write_text('[http]\nmetrics_key = "scrape-secret"\nheader_timeout = "5s"\n')
    keyed = Sluice(tmp_path / "data", functions.url_template, config=config)
    try:
        assert get(f"{keyed.endpoint}/healthz") == (200, "ok")
        status, _ = get(f"{keyed.endpoint}/metrics")
        assert status == 401
        status, _ = get(f"{keyed.endpoint}/metrics", {"Authorization": "Bearer wrong"})
        assert status == 401
        fnf = keyed.client()
        fnf.list_flows(m.ListFlowsRequest(limit=10))
        status, text = get(f"{keyed.endpoint}/metrics", {"Authorization": "Bearer scrape-secret"})
        assert status == 200 and "# TYPE" in text, text[:200]
    finally:
        keyed.stop()


# ---- item 11: a debug line per request ------------------------------------------------------

def test_every_request_gets_a_debug_line_with_its_dialect_action_status_and_id(server, jobs):
    fnf = server.client()
    flow = unique("logged")
    created = create(fnf, flow, pass_flow(flow))
    jobs.list_jobs(dgc.ListJobsRequest(workspace="ws-e2e"))
    status, code, _ = dlf_error(lambda: jobs.show_job(dgc.ShowJobRequest(workspace="ws-e2e", job_name=unique("none"))))
    assert (status, code) == (400, "DLF.0100")

    def request_lines():
        lines = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
        return [line["fields"] for line in lines if line["fields"].get("message") == "request"]

    def line_with(**fields):
        return next((line for line in request_lines() if fields.items() <= line.items()), None)

    line = wait_for(lambda: line_with(request_id=created.request_id), timeout=5)
    assert (line["dialect"], line["action"], line["status"]) == ("cloudflow", "fnf:CreateFlow", 200), line
    assert line["latency_ms"] > 0, line
    for action, status in (("dlf:job:list", 200), ("dlf:job:get", 400)):
        line = line_with(dialect="dataarts", action=action, status=status)
        assert line and re.fullmatch(r"[0-9a-f]{32}", line["request_id"]), request_lines()[-5:]

"""Outbound calls a user's definition names (issue 10, item 5: SSRF): each tenant's allowlist
decides, before any connection is made, which addresses its DataArts RESTAPI nodes may reach.
The operator's own function endpoints stay reachable; the development tenant may reach
loopback (the rest of the suite relies on that)."""

import http.server
import threading

import pytest
from huaweicloudsdkdgc import v1 as dgc

from conftest import Sluice
from functions import answer
from test_cloudflow import create, describe, start, task_flow, unique, wait_for
from test_dataarts import WORKSPACE, create_job, finished, rest_node, run

CLOSED = ("closed-admin", "closed-secret", "c0000000000000000000000000000001")
OPEN = ("open-admin", "open-secret", "d0000000000000000000000000000002")
WIDE = ("wide-admin", "wide-secret", "e0000000000000000000000000000003")


def tenant(name, key, outbound=None):
    lines = [f'[[tenants]]\nid = "{name}"\nproject_id = "{key[2]}"']
    if outbound is not None:
        lines.append("outbound = [" + ", ".join(f'"{entry}"' for entry in outbound) + "]")
    lines.append(f'[[tenants.keys]]\nid = "{key[0]}"\nsecret = "{key[1]}"')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory, functions):
    directory = tmp_path_factory.mktemp("sluice-outbound")
    config = directory / "sluice.toml"
    config.write_text(tenant("closed", CLOSED) + tenant("open", OPEN, [f"127.0.0.1:{functions.port}"])
                      + tenant("wide", WIDE, ["0.0.0.0/0", "::/0"]))
    sluice = Sluice(directory / "data", functions.url_template, config=config)
    yield sluice
    sluice.stop()


def dlf(server, key):
    return server.huawei(dgc.DgcClient, key[0], key[1], project_id=key[2])


def run_rest_job(client, url):
    job = unique("outbound")
    create_job(client, job, [rest_node("call", url)])
    instance_id = run(client, job)
    shown = finished(client, job, instance_id)
    listed = client.list_job_instances(dgc.ListJobInstancesRequest(workspace=WORKSPACE, job_name=job))
    return shown.status, listed.instances[0].error_message or ""


def test_a_tenant_without_an_allowlist_reaches_no_address_its_definition_names(server, functions):
    path = f"/dlf/{unique('closed')}"
    functions.register(path, answer({"reached": True}))
    status, error = run_rest_job(dlf(server, CLOSED), f"http://127.0.0.1:{functions.port}{path}")
    assert status == "fail"
    assert "Sluice.OutboundRefused" in error and "allowlist of tenant closed" in error, error
    assert functions.calls_to(path) == [], "the refused target was called"


def test_the_operators_function_endpoints_stay_reachable(server, functions):
    fnf = server.client(CLOSED[0], CLOSED[1])
    flow = unique("operator_endpoint")
    functions.register(f"/e2e/{flow}", answer({"ok": 1}))
    create(fnf, flow, task_flow(flow, flow))
    name = start(fnf, flow).name
    assert wait_for(lambda: describe(fnf, flow, name).status == "Succeeded", timeout=20)
    assert len(functions.calls_to(f"/e2e/{flow}")) == 1


def test_an_allowlisted_address_is_reached_and_others_are_not(server, functions):
    path = f"/dlf/{unique('open')}"
    functions.register(path, answer({"reached": True}))
    status, error = run_rest_job(dlf(server, OPEN), f"http://127.0.0.1:{functions.port}{path}")
    assert status == "success", error
    assert len(functions.calls_to(path)) == 1
    # A name is resolved and checked by its addresses: `localhost` is 127.0.0.1 (or ::1),
    # allowed here only on the function server's port.
    status, error = run_rest_job(dlf(server, OPEN), f"http://localhost:{functions.port + 1}{path}")
    assert status == "fail" and "Sluice.OutboundRefused" in error, error


def test_metadata_and_link_local_addresses_need_an_entry_naming_them(server):
    for url in ("http://169.254.169.254/latest/meta-data/", "http://100.100.100.200/latest/meta-data/",
                "http://[::ffff:169.254.169.254]/"):
        status, error = run_rest_job(dlf(server, WIDE), url)
        assert status == "fail" and "link-local or cloud-metadata" in error, (url, error)


def test_a_redirect_is_not_followed_to_a_refused_address(server, functions):
    target = f"/dlf/{unique('redirected')}"
    functions.register(target, answer({"reached": True}))

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{functions.port}{target}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    redirector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    try:
        port = redirector.server_address[1]
        # The wide tenant may reach the redirector; the redirect's target is not followed.
        status, error = run_rest_job(dlf(server, WIDE), f"http://127.0.0.1:{port}/go")
        assert status == "fail" and "307" in error, error
        assert functions.calls_to(target) == []
    finally:
        redirector.shutdown()

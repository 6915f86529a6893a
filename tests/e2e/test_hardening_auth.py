"""Hardening of authentication and credentials (issue 10, items 1–4 and 10) against a real
`sluice serve`: the attacks as raw HTTP (the SDKs cannot produce them), the official SDKs for
the normal traffic beside them.

- Huawei SDK-HMAC-SHA256: the body hash is the received body's; a content-hash header that is
  unsigned or does not match is refused; `UNSIGNED-PAYLOAD` only for a key allowed to send it;
  one canonical form of the query (no case folding).
- Alibaba `SignatureNonce`: a replayed request is refused with `SignatureNonceUsed`, also on
  another node sharing the PostgreSQL database.
- Configuration: the development tenant only when no tenant is configured; a banner without
  secrets; clear refusals of bad credentials.
- Echoed values in error messages are bounded.
"""

import hashlib
import http.client
import json
import os
import subprocess

import pytest
from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkdgc import v1 as dgc

from conftest import BINARY, KEY_ID, KEY_SECRET, POSTGRES, PROJECT_ID, Sluice, fresh_database, free_port
from test_cloudflow import create, pass_flow, unique
from test_cloudflow_errors import assert_error, code_of, common_params, send, sign
from test_dataarts import WORKSPACE, dummy_node

# ---- Huawei raw requests -------------------------------------------------------------------


def signed(server, method, path, query=(), body=b"", headers=None, key=(KEY_ID, KEY_SECRET)):
    """A request signed by the official huaweicloudsdkcore Signer: (uri, headers, body)."""
    host = f"127.0.0.1:{server.port}"
    all_headers = {"Content-Type": "application/json", "X-Project-Id": PROJECT_ID, "Host": host,
                   "workspace": WORKSPACE}
    all_headers.update(headers or {})
    all_headers = {k: v for k, v in all_headers.items() if v is not None}
    request = SdkRequest(method=method, schema="http", host=host, resource_path=path, query_params=list(query),
                         header_params=all_headers, body=body)
    Signer(BasicCredentials(*key)).sign(request)
    return request.uri, dict(request.header_params), body


def deliver(server, method, uri, headers, body):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, uri, body=body or None, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


def job_body(name):
    return json.dumps({"name": name, "nodes": [{"name": "a", "type": "Dummy", "location": {"x": "0", "y": "0"}}],
                       "processType": "BATCH", "schedule": {"type": "EXECUTE_ONCE"}}).encode()


def jobs_path(project=PROJECT_ID):
    return f"/v1/{project}/jobs"


@pytest.fixture(scope="module")
def dlf(sluice):
    return sluice.huawei(dgc.DgcClient)


def job_exists(client, name):
    return job_exists_in(client, name, WORKSPACE)


def assert_unauthenticated(result):
    status, body = result
    assert (status, body["error_code"]) == (401, "APIG.0301"), body
    return body["error_msg"]


def test_a_replayed_job_create_with_another_body_and_an_unsigned_content_hash_is_refused(sluice, dlf):
    original, other = unique("job_original"), unique("job_swapped")
    uri, headers, body = signed(sluice, "POST", jobs_path(), body=job_body(original))
    swapped = job_body(other)
    forged = dict(headers, **{"X-Sdk-Content-Sha256": hashlib.sha256(body).hexdigest()})
    message = assert_unauthenticated(deliver(sluice, "POST", uri, forged, swapped))
    assert "X-Sdk-Content-Sha256" in message
    assert not job_exists(dlf, other)
    # The same body swap without the header: the hash of the received body does not match.
    assert_unauthenticated(deliver(sluice, "POST", uri, headers, swapped))
    assert not job_exists(dlf, other)
    # The request as signed is served, and the SDK's own traffic beside it.
    assert deliver(sluice, "POST", uri, headers, body)[0] == 204
    assert job_exists(dlf, original)
    dlf.create_job(dgc.CreateJobRequest(workspace=WORKSPACE, body=dgc.JobInfo(
        name=unique("job_sdk"), nodes=[dummy_node("a")], process_type="BATCH",
        schedule=dgc.Schedule(type="EXECUTE_ONCE"))))


def test_a_signed_content_hash_must_be_the_bodys(sluice, dlf):
    name, other = unique("job_hashed"), unique("job_hash_lie")
    body = job_body(name)
    # Signed over the declared hash of one body, sent with another.
    declared = {"X-Sdk-Content-Sha256": hashlib.sha256(body).hexdigest()}
    uri, headers, _ = signed(sluice, "POST", jobs_path(), body=job_body(other), headers=declared)
    message = assert_unauthenticated(deliver(sluice, "POST", uri, headers, job_body(other)))
    assert "does not match" in message
    assert not job_exists(dlf, other)
    # Declared and matching: served.
    uri, headers, _ = signed(sluice, "POST", jobs_path(), body=body, headers=declared)
    assert deliver(sluice, "POST", uri, headers, body)[0] == 204
    assert job_exists(dlf, name)


def test_unsigned_payload_is_refused_unless_the_key_allows_it(sluice, dlf, tmp_path, functions):
    name = unique("job_unsigned")
    unsigned = {"X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"}
    uri, headers, body = signed(sluice, "POST", jobs_path(), body=job_body(name), headers=unsigned)
    message = assert_unauthenticated(deliver(sluice, "POST", uri, headers, body))
    assert "UNSIGNED-PAYLOAD" in message
    assert not job_exists(dlf, name)

    config = tmp_path / "sluice.toml"
    config.write_text(f"""
[[tenants]]
id = "uploads"
project_id = "{PROJECT_ID}"
[[tenants.keys]]
id = "uploader"
secret = "uploader-secret"
allow_unsigned_payload = true
""")
    server = Sluice(tmp_path / "data", functions.url_template, config=config)
    try:
        uri, headers, body = signed(server, "POST", jobs_path(), body=job_body(name), headers=unsigned,
                                    key=("uploader", "uploader-secret"))
        assert deliver(server, "POST", uri, headers, body)[0] == 204
        assert job_exists(server.huawei(dgc.DgcClient, "uploader", "uploader-secret"), name)
    finally:
        server.stop()


def test_query_names_are_not_case_folded(sluice, dlf):
    uri, headers, _ = signed(sluice, "GET", jobs_path(), query=[("limit", 1)])
    assert uri.endswith("?limit=1")
    status, body = deliver(sluice, "GET", uri, headers, b"")
    assert status == 200, body
    assert_unauthenticated(deliver(sluice, "GET", uri.replace("limit=", "LIMIT="), headers, b""))
    # A parameter the signer did not sign, or one of its values moved, is refused too.
    assert_unauthenticated(deliver(sluice, "GET", uri + "&offset=5", headers, b""))
    assert dlf.list_jobs(dgc.ListJobsRequest(workspace=WORKSPACE, limit=1)).total >= 0


def test_an_unsigned_header_does_not_change_the_request(sluice, dlf):
    name = unique("job_workspace")
    # Signed without a workspace (the default one); an attacker adds an unsigned `workspace`.
    uri, headers, body = signed(sluice, "POST", jobs_path(), body=job_body(name), headers={"workspace": None})
    assert "workspace" not in headers["Authorization"]
    assert deliver(sluice, "POST", uri, dict(headers, workspace="ws-elsewhere"), body)[0] == 204
    elsewhere = sluice.huawei(dgc.DgcClient)
    assert not job_exists_in(elsewhere, name, "ws-elsewhere")
    assert job_exists_in(elsewhere, name, None)


def job_exists_in(client, name, workspace):
    try:
        client.show_job(dgc.ShowJobRequest(workspace=workspace, job_name=name))
        return True
    except Exception as error:
        assert getattr(error, "error_code", None) == "DLF.0100", error
        return False


# ---- Alibaba SignatureNonce ----------------------------------------------------------------


def signed_rpc(action, form, key=(KEY_ID, KEY_SECRET)):
    query = common_params(action, key_id=key[0])
    query["Signature"] = sign("POST", {**query, **form}, key[1])
    return query, form


def test_a_replayed_delete_flow_does_not_delete_the_recreated_flow(sluice, fnf):
    flow = unique("replayed")
    create(fnf, flow, pass_flow(flow))
    query, form = signed_rpc("DeleteFlow", {"Name": flow})
    assert send(sluice.port, "POST", query, form)[0] == 200
    create(fnf, flow, pass_flow(flow))
    body = assert_error(send(sluice.port, "POST", query, form), "SignatureNonceUsed", 400)
    assert body["Message"] == "Specified signature nonce was used already."
    assert fnf.describe_flow(m.DescribeFlowRequest(name=flow)).body.name == flow
    # The nonce is the key's: another request signed with it is refused as well.
    other, other_form = signed_rpc("DescribeFlow", {"Name": flow})
    other["SignatureNonce"] = query["SignatureNonce"]
    other["Signature"] = sign("POST", {**{k: v for k, v in other.items() if k != "Signature"}, **other_form},
                              KEY_SECRET)
    assert_error(send(sluice.port, "POST", other, other_form), "SignatureNonceUsed", 400)
    # A nonce never seen is served, and so is every SDK call (each with its own nonce).
    fresh, fresh_form = signed_rpc("DescribeFlow", {"Name": flow})
    assert send(sluice.port, "POST", fresh, fresh_form)[0] == 200


def test_a_refused_signature_remembers_no_nonce(sluice, fnf):
    flow = unique("nonce_kept")
    create(fnf, flow, pass_flow(flow))
    query, form = signed_rpc("DescribeFlow", {"Name": flow})
    wrong = dict(query, Signature=sign("POST", {**common_params("DescribeFlow"), **form}, "wrong"))
    wrong["SignatureNonce"] = query["SignatureNonce"]
    assert_error(send(sluice.port, "POST", wrong, form), "SignatureNotMatch", 403)
    assert send(sluice.port, "POST", query, form)[0] == 200


@pytest.mark.skipif(not POSTGRES, reason="a replay to another node needs two nodes on one PostgreSQL "
                                         "database (SLUICE_TEST_POSTGRES, set by ./scripts/test)")
def test_a_replay_to_another_node_is_refused(tmp_path, functions):
    database = fresh_database()
    one = Sluice(tmp_path / "one", functions.url_template, database=database)
    two = Sluice(tmp_path / "two", functions.url_template, database=database)
    try:
        flow = unique("cross_node_replay")
        create(one.client(), flow, pass_flow(flow))
        query, form = signed_rpc("DeleteFlow", {"Name": flow})
        assert send(one.port, "POST", query, form)[0] == 200
        create(two.client(), flow, pass_flow(flow))
        assert_error(send(two.port, "POST", query, form), "SignatureNonceUsed", 400)
        assert two.client().describe_flow(m.DescribeFlowRequest(name=flow)).body.name == flow
    finally:
        one.stop()
        two.stop()


# ---- the configuration loader --------------------------------------------------------------


def serve(tmp_path, config_text=None, listen="127.0.0.1:0", env=None, timeout=20):
    """Runs `sluice serve` until it fails to start (or is healthy): (exit code or None, output)."""
    args = [BINARY, "serve", "--listen", listen, "--data-dir", str(tmp_path / "data")]
    if config_text is not None:
        config = tmp_path / "sluice.toml"
        config.write_text(config_text)
        args += ["--config", str(config)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    environment.update(env or {})
    environment["SLUICE_LOG"] = "warn"
    if POSTGRES:
        args += ["--database", fresh_database()]
    try:
        done = subprocess.run(args, env=environment, capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as running:
        out = (running.stdout or b"").decode() + (running.stderr or b"").decode()
        return None, out


TEAM_A_PROJECT = "a1000000000000000000000000000001"
ONE_TENANT = f"""
[[tenants]]
id = "team-a"
account_id = "1234567890123456"
project_id = "{TEAM_A_PROJECT}"
[[tenants.keys]]
id = "team-a-admin"
secret = "team-a-very-secret"
"""


def test_configured_tenants_replace_the_development_tenant(tmp_path, functions):
    config = tmp_path / "sluice.toml"
    config.write_text(ONE_TENANT)
    server = Sluice(tmp_path / "data", functions.url_template, config=config)
    try:
        own = server.client("team-a-admin", "team-a-very-secret")
        flow = unique("configured")
        create(own, flow, pass_flow(flow))
        # Neither the environment's key (conftest sets SLUICE_ACCESS_KEY_ID) nor the built-in
        # development key is live.
        for key in ((KEY_ID, KEY_SECRET), ("sluice-dev-key", "sluice-dev-secret")):
            assert code_of(lambda: server.client(*key).list_flows(m.ListFlowsRequest())) == (
                "InvalidAccessKeyID", 403), key
        banner = server.banner()
        assert "team-a" in banner and "team-a-admin" in banner
        assert "team-a-very-secret" not in banner and "sluice-dev" not in banner and KEY_SECRET not in banner
    finally:
        server.stop()


def test_without_tenants_the_development_tenant_is_announced_without_its_secret(tmp_path, functions):
    server = Sluice(tmp_path / "data", functions.url_template)
    try:
        banner = server.banner()
        assert KEY_ID in banner and PROJECT_ID in banner
        assert KEY_SECRET not in banner
        assert server.client().list_flows(m.ListFlowsRequest()).body is not None
    finally:
        server.stop()


def test_the_development_tenant_can_be_asked_for_by_name(tmp_path, functions):
    config = tmp_path / "sluice.toml"
    config.write_text(ONE_TENANT + '\n[[tenants]]\nid = "default"\n')
    server = Sluice(tmp_path / "data", functions.url_template, config=config)
    try:
        assert server.client().list_flows(m.ListFlowsRequest()).body is not None
        assert server.client("team-a-admin", "team-a-very-secret").list_flows(m.ListFlowsRequest()).body
    finally:
        server.stop()


@pytest.mark.parametrize("config, complaint", [
    (ONE_TENANT + '\n[[tenants]]\nid = "team-b"\n[[tenants.keys]]\nid = "team-a-admin"\nsecret = "other"\n',
     "team-a-admin"),
    ('[[tenants]]\nid = "t"\n[[tenants.keys]]\nid = "k"\nsecret = ""\n', "empty secret"),
    (ONE_TENANT + f'\n[[tenants]]\nid = "team-b"\nproject_id = "{TEAM_A_PROJECT}"\n', TEAM_A_PROJECT),
    (ONE_TENANT + '\n[[tenants]]\nid = "team-a"\n', "team-a"),
])
def test_bad_credentials_refuse_to_start(tmp_path, config, complaint):
    code, output = serve(tmp_path, config)
    assert code not in (None, 0), output
    assert complaint in output, output


def test_the_development_credentials_are_refused_on_a_public_address(tmp_path):
    code, output = serve(tmp_path, listen=f"0.0.0.0:{free_port()}")
    assert code not in (None, 0), output
    assert "sluice-dev-key" in output and "loopback" in output, output
    # With its own secret, the development tenant may listen anywhere.
    code, output = serve(tmp_path, listen=f"0.0.0.0:{free_port()}", timeout=5,
                         env={"SLUICE_ACCESS_KEY_ID": "own", "SLUICE_ACCESS_KEY_SECRET": "own-secret"})
    assert code is None, output


# ---- echoed values -------------------------------------------------------------------------


def test_echoed_values_are_cut_in_both_dialects(sluice, fnf, dlf):
    token = "T" * 5000
    status, body = send(sluice.port, "POST", *signed_rpc("ReportTaskSucceeded", {"TaskToken": token,
                                                                                 "Output": "{}"}))
    assert status >= 400 and len(body["Message"]) < 1000, (status, len(body["Message"]))
    assert "T" * 200 in body["Message"] and token not in body["Message"]
    uri, headers, _ = signed(sluice, "GET", f"/v1/{PROJECT_ID}/jobs/{'j' * 5000}")
    status, body = deliver(sluice, "GET", uri, headers, b"")
    assert status >= 400 and len(body["error_msg"]) < 1000, (status, body)


def test_an_oversized_input_is_worded_once(sluice, fnf):
    flow = unique("big_input")
    create(fnf, flow, pass_flow(flow))
    big = json.dumps({"x": "y" * (70 * 1024)})
    error = code_of(lambda: fnf.start_execution(m.StartExecutionRequest(flow_name=flow, input=big)))
    assert error == ("EntityTooLarge", 400)
    with pytest.raises(Exception) as raised:
        fnf.start_execution(m.StartExecutionRequest(flow_name=flow, input=big))
    message = raised.value.data["Message"]
    assert "the the" not in message and "the execution input is" in message, message

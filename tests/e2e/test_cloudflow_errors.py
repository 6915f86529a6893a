"""CloudFlow's error codes (spec §6.2), through the official SDK and through raw requests signed
here (spec §4.3), plus tenant isolation. A failed request changes nothing."""

import base64
import datetime
import hashlib
import hmac
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from alibabacloud_fnf20190315 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException, ThrottlingException
from alibabacloud_tea_openapi.utils import Utils

from conftest import KEY_ID, KEY_SECRET, TENANT_A_KEY, TENANT_A_READONLY_KEY, TENANT_B_KEY, THROTTLED_KEY
from functions import answer
from test_cloudflow import create, describe, pass_flow, start, task_flow, unique, wait_for, wait_flow


def sdk_error(call):
    """The ClientException of a call that must fail; checks that its body carries a RequestId."""
    with pytest.raises(ClientException) as raised:
        call()
    error = raised.value
    assert error.request_id and error.request_id != "None", "error body without RequestId"
    assert error.data.get("RequestId") == error.request_id
    assert error.data.get("Message")
    return error


def code_of(call):
    error = sdk_error(call)
    return error.code, error.status_code


def flow_names(fnf):
    names, token = [], None
    while True:
        body = fnf.list_flows(m.ListFlowsRequest(limit=1000, next_token=token)).body
        names += [f.name for f in body.flows or []]
        token = body.next_token
        if not token:
            return sorted(names)


# ---- raw requests --------------------------------------------------------------------------


def percent(text):
    return urllib.parse.quote(text, safe="~")


def sign(method, params, secret):
    """HMAC-SHA1 of spec §4.3, computed independently of the SDK."""
    canonical = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{percent('/')}&{percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def timestamp(offset=datetime.timedelta()):
    return (datetime.datetime.now(datetime.timezone.utc) + offset).strftime("%Y-%m-%dT%H:%M:%SZ")


def common_params(action, key_id=KEY_ID, version="2019-03-15", when=None):
    return {
        "Action": action,
        "Format": "json",
        "Version": version,
        "Timestamp": when or timestamp(),
        "SignatureNonce": uuid.uuid4().hex,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": key_id,
    }


def send(port, method, query, form=None):
    """Sends a request as the SDK would (signature in the query, action parameters in a form
    body for POST); returns (status, parsed JSON body)."""
    url = f"http://127.0.0.1:{port}/?{urllib.parse.urlencode(query)}"
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def raw_call(port, action, form=None, method="POST", secret=KEY_SECRET, key_id=KEY_ID, version="2019-03-15",
             when=None, tamper=None):
    """A correctly signed raw request; `tamper(query, form)` may change it after signing."""
    query = common_params(action, key_id=key_id, version=version, when=when)
    form = dict(form or {})
    if method == "GET":
        query.update(form)
        form = None
    query["Signature"] = sign(method, {**query, **(form or {})}, secret)
    if tamper:
        tamper(query, form)
    return send(port, method, query, form)


def assert_error(result, code, status):
    got_status, body = result
    assert (body.get("Code"), got_status) == (code, status), body
    assert body.get("RequestId"), body
    assert body.get("Message"), body
    return body


def test_our_signer_agrees_with_the_sdk_signer(sluice):
    params = common_params("ListFlows")
    params["Limit"] = "5"
    for method in ("GET", "POST"):
        assert sign(method, params, KEY_SECRET) == Utils.get_rpcsignature(params, method, KEY_SECRET)
    # And with the spec's test vector (§4.4).
    vector = {
        "Action": "StopExecution", "Format": "json", "Version": "2019-03-15",
        "Timestamp": "2024-01-01T00:00:00Z", "SignatureNonce": "0123456789abcdef0123456789abcdef",
        "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "AccessKeyId": "testid",
        "FlowName": "my_flow", "ExecutionName": "exec-1", "Error": "Manual", "Cause": "stop by user",
    }
    assert sign("POST", vector, "testsecret") == "vgaIv+Gtlvu3MqZxJOP6eR5+PO0="


def test_a_correctly_signed_raw_request_succeeds(sluice, fnf):
    flow = unique("raw")
    status, body = raw_call(sluice.port, "CreateFlow", {"Name": flow, "Definition": pass_flow(flow), "Type": "FDL",
                                                        "Description": "raw"})
    assert status == 200, body
    assert body["Name"] == flow and body["RequestId"]
    status, body = raw_call(sluice.port, "DescribeFlow", {"Name": flow}, method="GET")
    assert status == 200 and body["Description"] == "raw"


# ---- authentication ------------------------------------------------------------------------


def test_signature_not_match_for_a_wrong_secret(sluice, fnf):
    before = flow_names(fnf)
    wrong = sluice.client(secret="not-the-secret")
    flow = unique("wrong_secret")
    assert code_of(lambda: create(wrong, flow, pass_flow(flow))) == ("SignatureNotMatch", 403)
    assert flow_names(fnf) == before


def test_signature_not_match_for_a_tampered_parameter(sluice, fnf):
    flow = unique("tamper")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "victim")

    def change_execution(query, form):
        form["ExecutionName"] = "victim"

    result = raw_call(
        sluice.port, "StopExecution", {"FlowName": flow, "ExecutionName": "other"}, tamper=change_execution
    )
    assert_error(result, "SignatureNotMatch", 403)
    assert describe(fnf, flow, "victim").status == "Running"

    def change_query(query, form):
        query["Limit"] = "2"

    assert_error(raw_call(sluice.port, "ListFlows", {"Limit": "1"}, method="GET", tamper=change_query),
                 "SignatureNotMatch", 403)

    def change_method(query, form):
        query["Signature"] = sign("GET", {**{k: v for k, v in query.items() if k != "Signature"}, **form}, KEY_SECRET)

    # Signed as GET, sent as POST.
    assert_error(raw_call(sluice.port, "ListFlows", {"Limit": "1"}, tamper=change_method), "SignatureNotMatch", 403)
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="victim"))


def test_invalid_access_key_id(sluice, fnf):
    unknown = sluice.client(key_id="nobody-" + uuid.uuid4().hex[:6])
    error = sdk_error(lambda: unknown.list_flows(m.ListFlowsRequest()))
    assert (error.code, error.status_code) == ("InvalidAccessKeyID", 403)
    assert_error(raw_call(sluice.port, "ListFlows", method="GET", key_id="nobody"), "InvalidAccessKeyID", 403)


def test_request_time_too_skewed(sluice, fnf):
    old = timestamp(-datetime.timedelta(minutes=20))
    assert_error(raw_call(sluice.port, "ListFlows", method="GET", when=old), "RequestTimeTooSkewed", 403)
    future = timestamp(datetime.timedelta(minutes=20))
    assert_error(raw_call(sluice.port, "ListFlows", method="GET", when=future), "RequestTimeTooSkewed", 403)
    # A few minutes off is fine.
    status, body = raw_call(sluice.port, "ListFlows", method="GET", when=timestamp(-datetime.timedelta(minutes=3)))
    assert status == 200, body

    flow = unique("skewed")
    before = flow_names(fnf)
    assert_error(
        raw_call(sluice.port, "CreateFlow", {"Name": flow, "Definition": pass_flow(flow), "Type": "FDL"}, when=old),
        "RequestTimeTooSkewed", 403,
    )
    assert flow_names(fnf) == before


def test_action_not_supported(sluice):
    assert_error(raw_call(sluice.port, "Explode", {"FlowName": "x"}), "ActionNotSupported", 400)
    assert_error(raw_call(sluice.port, "Explode", method="GET"), "ActionNotSupported", 400)


def test_api_version_not_supported(sluice, fnf):
    flow = unique("version")
    before = flow_names(fnf)
    assert_error(
        raw_call(sluice.port, "CreateFlow", {"Name": flow, "Definition": pass_flow(flow), "Type": "FDL"},
                 version="2020-01-01"),
        "APIVersionNotSupported", 400,
    )
    assert flow_names(fnf) == before


def test_missing_required_params(sluice, fnf):
    assert_error(raw_call(sluice.port, "DescribeFlow", method="GET"), "MissingRequiredParams", 400)
    assert_error(raw_call(sluice.port, "StartExecution", {"ExecutionName": "x"}), "MissingRequiredParams", 400)
    flow = unique("missing")
    before = flow_names(fnf)
    assert_error(raw_call(sluice.port, "CreateFlow", {"Name": flow, "Type": "FDL"}), "MissingRequiredParams", 400)
    assert flow_names(fnf) == before
    # Through the SDK as well.
    assert code_of(lambda: fnf.describe_execution(m.DescribeExecutionRequest(flow_name=flow))) == (
        "MissingRequiredParams", 400)
    # Missing signature parameters.
    def drop_nonce(query, form):
        del query["SignatureNonce"]

    status, body = raw_call(sluice.port, "ListFlows", method="GET", tamper=drop_nonce)
    assert status in (400, 403) and body["RequestId"]


# ---- arguments -----------------------------------------------------------------------------


def test_invalid_arguments_change_nothing(fnf):
    before = flow_names(fnf)
    for bad in ("1starts-with-digit", "has space", "x" * 129, "dots.not.allowed", "ünicode"):
        assert code_of(lambda: create(fnf, bad, pass_flow(bad))) == ("InvalidArgument", 400), bad
    flow = unique("bad_def")
    assert code_of(lambda: create(fnf, flow, "Type: StateMachine\nStates: [")) == ("InvalidArgument", 400)
    assert code_of(lambda: create(fnf, flow, "not: a flow")) == ("InvalidArgument", 400)
    assert code_of(lambda: create(fnf, flow, pass_flow("another_name"))) == ("InvalidArgument", 400)
    assert code_of(
        lambda: fnf.create_flow(m.CreateFlowRequest(name=flow, definition=pass_flow(flow), type="NotFDL"))
    ) == ("InvalidArgument", 400)
    assert code_of(
        lambda: fnf.create_flow(
            m.CreateFlowRequest(name=flow, definition=pass_flow(flow), type="FDL", execution_mode="Turbo")
        )
    ) == ("InvalidArgument", 400)
    assert flow_names(fnf) == before

    for limit in (0, -1, 1001):
        assert code_of(lambda: fnf.list_flows(m.ListFlowsRequest(limit=limit))) == ("InvalidArgument", 400), limit

    good = unique("good")
    create(fnf, good, wait_flow(good, 300))
    assert code_of(lambda: fnf.list_executions(m.ListExecutionsRequest(flow_name=good, limit=0))) == (
        "InvalidArgument", 400)
    assert code_of(lambda: fnf.list_executions(m.ListExecutionsRequest(flow_name=good, status="Sleeping"))) == (
        "InvalidArgument", 400)
    assert code_of(lambda: describe(fnf, good, "x", wait=61)) == ("InvalidArgument", 400)
    assert code_of(
        lambda: fnf.list_flow_versions(m.ListFlowVersionsRequest(flow_name=good, next_token="garbage"))
    ) == ("InvalidArgument", 400)
    assert code_of(lambda: start(fnf, good, "bad name")) == ("InvalidArgument", 400)
    assert code_of(
        lambda: fnf.start_execution(m.StartExecutionRequest(flow_name=good, execution_name="j", input="{not json"))
    ) == ("InvalidArgument", 400)
    assert not fnf.list_executions(m.ListExecutionsRequest(flow_name=good)).body.executions

    # A rejected update leaves the flow as it was.
    assert code_of(
        lambda: fnf.update_flow(m.UpdateFlowRequest(name=good, definition="Type: StateMachine\nStates: ["))
    ) == ("InvalidArgument", 400)
    assert fnf.describe_flow(m.DescribeFlowRequest(name=good)).body.definition == wait_flow(good, 300)


def test_entity_too_large(fnf):
    flow = unique("large")
    create(fnf, flow, pass_flow(flow))
    big = json.dumps({"name": "x" * (64 * 1024 + 10)})
    assert code_of(
        lambda: fnf.start_execution(m.StartExecutionRequest(flow_name=flow, execution_name="big", input=big))
    ) == ("EntityTooLarge", 400)
    assert code_of(lambda: describe(fnf, flow, "big")) == ("ExecutionNotExists", 404)
    assert not fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions
    # Just under the limit is accepted.
    fits = json.dumps({"name": "x" * (60 * 1024)})
    fnf.start_execution(m.StartExecutionRequest(flow_name=flow, execution_name="fits", input=fits))
    assert describe(fnf, flow, "fits", wait=10).status in ("Succeeded", "Failed")


# ---- resources -----------------------------------------------------------------------------


def test_not_exists_and_already_exists(fnf):
    missing = unique("missing")
    assert code_of(lambda: fnf.describe_flow(m.DescribeFlowRequest(name=missing))) == ("FlowNotExists", 404)
    assert code_of(lambda: fnf.update_flow(m.UpdateFlowRequest(name=missing, description="x"))) == (
        "FlowNotExists", 404)
    assert code_of(lambda: fnf.delete_flow(m.DeleteFlowRequest(name=missing))) == ("FlowNotExists", 404)
    assert code_of(lambda: start(fnf, missing, "x")) == ("FlowNotExists", 404)
    assert code_of(lambda: fnf.list_executions(m.ListExecutionsRequest(flow_name=missing))) == ("FlowNotExists", 404)
    assert code_of(lambda: describe(fnf, missing, "x")) == ("FlowNotExists", 404)

    flow = unique("exists")
    create(fnf, flow, pass_flow(flow), "original")
    assert code_of(lambda: create(fnf, flow, pass_flow(flow), "duplicate")) == ("FlowAlreadyExists", 409)
    assert fnf.describe_flow(m.DescribeFlowRequest(name=flow)).body.description == "original"

    assert code_of(lambda: describe(fnf, flow, "nope")) == ("ExecutionNotExists", 404)
    assert code_of(lambda: fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="nope"))) == (
        "ExecutionNotExists", 404)
    assert code_of(
        lambda: fnf.get_execution_history(m.GetExecutionHistoryRequest(flow_name=flow, execution_name="nope"))
    ) == ("ExecutionNotExists", 404)

    start(fnf, flow, "done", {"name": "z"})
    assert describe(fnf, flow, "done", wait=10).status == "Succeeded"
    assert code_of(lambda: start(fnf, flow, "done")) == ("ExecutionAlreadyExists", 400)
    assert code_of(lambda: fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="done"))) == (
        "ExecutionAlreadyCompleted", 400)
    assert describe(fnf, flow, "done").status == "Succeeded"


def test_task_already_completed(fnf, functions):
    functions.register("/e2e/token", answer({"ok": True}))
    flow = unique("late_token")
    create(fnf, flow, task_flow(flow, "token", extra="    TaskMode: WaitForCustomCallback\n", token=True))
    start(fnf, flow, "t", {"n": flow})
    call = wait_for(lambda: next((c for c in functions.calls_to("/e2e/token") if c.body["order"] == {"n": flow}), None))
    token = call.body["token"]
    fnf.report_task_failed(m.ReportTaskFailedRequest(task_token=token, error="First", cause="first"))
    assert describe(fnf, flow, "t", wait=10).status == "Failed"
    assert code_of(
        lambda: fnf.report_task_succeeded(m.ReportTaskSucceededRequest(task_token=token, output="{}"))
    ) == ("TaskAlreadyCompleted", 400)
    assert code_of(
        lambda: fnf.report_task_failed(m.ReportTaskFailedRequest(task_token=token, error="Second", cause="x"))
    ) == ("TaskAlreadyCompleted", 400)
    assert describe(fnf, flow, "t").status == "Failed"

    # A token for a stopped execution.
    start(fnf, flow, "s", {"n": flow + "s"})
    call = wait_for(
        lambda: next((c for c in functions.calls_to("/e2e/token") if c.body["order"] == {"n": flow + "s"}), None)
    )
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="s"))
    assert code_of(
        lambda: fnf.report_task_succeeded(m.ReportTaskSucceededRequest(task_token=call.body["token"], output="{}"))
    ) == ("TaskAlreadyCompleted", 400)
    assert describe(fnf, flow, "s").status == "Stopped"

    # A token that was never issued.
    code, status = code_of(
        lambda: fnf.report_task_succeeded(m.ReportTaskSucceededRequest(task_token="forged-token", output="{}"))
    )
    assert status == 400 and code in ("InvalidArgument", "TaskAlreadyCompleted")


def test_concurrent_updates_are_consistent(sluice, fnf):
    flow = unique("concurrent")
    create(fnf, flow, wait_flow(flow, 1))
    definitions = [wait_flow(flow, seconds) for seconds in range(2, 34)]
    results = [None] * len(definitions)
    barrier = threading.Barrier(len(definitions))

    def update(i):
        client = sluice.client()
        barrier.wait()
        try:
            client.update_flow(m.UpdateFlowRequest(name=flow, definition=definitions[i], description=f"d{i}"))
            results[i] = "ok"
        except ClientException as error:
            results[i] = (error.code, error.status_code, error.request_id)

    threads = [threading.Thread(target=update, args=(i,)) for i in range(len(definitions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    failures = [r for r in results if r != "ok"]
    for failure in failures:
        assert failure[:2] == ("ConcurrentUpdateError", 409), failure
        assert failure[2]
    assert results.count("ok") >= 1
    described = fnf.describe_flow(m.DescribeFlowRequest(name=flow)).body
    assert described.definition in definitions
    winner = definitions.index(described.definition)
    assert results[winner] == "ok"
    assert described.description == f"d{winner}", "definition and description come from different updates"


# ---- tenants, permissions, rate limits -----------------------------------------------------


def test_read_only_key_is_denied_other_actions(tenant_sluice):
    admin = tenant_sluice.client(*TENANT_A_KEY)
    reader = tenant_sluice.client(*TENANT_A_READONLY_KEY)
    flow = unique("readonly")
    create(admin, flow, wait_flow(flow, 300))
    start(admin, flow, "r")

    assert describe(reader, flow, "r").status == "Running"
    assert flow in [f.name for f in reader.list_flows(m.ListFlowsRequest(limit=1000)).body.flows]

    assert code_of(lambda: reader.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="r"))) == (
        "AccessDenied", 403)
    assert describe(admin, flow, "r").status == "Running"
    other = unique("reader_flow")
    assert code_of(lambda: create(reader, other, pass_flow(other))) == ("AccessDenied", 403)
    assert other not in [f.name for f in admin.list_flows(m.ListFlowsRequest(limit=1000)).body.flows]
    assert code_of(lambda: reader.describe_flow(m.DescribeFlowRequest(name=flow))) == ("AccessDenied", 403)
    assert code_of(lambda: reader.delete_flow(m.DeleteFlowRequest(name=flow))) == ("AccessDenied", 403)
    assert admin.describe_flow(m.DescribeFlowRequest(name=flow)).body.name == flow
    admin.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="r"))


def test_tenants_are_isolated(tenant_sluice):
    a = tenant_sluice.client(*TENANT_A_KEY)
    b = tenant_sluice.client(*TENANT_B_KEY)
    flow = unique("isolated")
    create(a, flow, wait_flow(flow, 300))
    start(a, flow, "secret-run")

    assert flow not in [f.name for f in b.list_flows(m.ListFlowsRequest(limit=1000)).body.flows or []]
    assert code_of(lambda: b.describe_flow(m.DescribeFlowRequest(name=flow))) == ("FlowNotExists", 404)
    assert code_of(lambda: describe(b, flow, "secret-run")) == ("FlowNotExists", 404)
    assert code_of(lambda: b.list_executions(m.ListExecutionsRequest(flow_name=flow))) == ("FlowNotExists", 404)
    assert code_of(
        lambda: b.get_execution_history(m.GetExecutionHistoryRequest(flow_name=flow, execution_name="secret-run"))
    ) == ("FlowNotExists", 404)
    assert code_of(lambda: b.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="secret-run"))) == (
        "FlowNotExists", 404)
    assert code_of(lambda: b.delete_flow(m.DeleteFlowRequest(name=flow))) == ("FlowNotExists", 404)
    assert describe(a, flow, "secret-run").status == "Running"

    # B may use the same name for its own flow, independent of A's.
    create(b, flow, pass_flow(flow), "b's")
    start(b, flow, "b-run", {"name": "b"})
    assert describe(b, flow, "b-run", wait=10).status == "Succeeded"
    assert [e.name for e in a.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions] == [
        "secret-run"]
    assert a.describe_flow(m.DescribeFlowRequest(name=flow)).body.definition == wait_flow(flow, 300)
    a.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="secret-run"))

    # A tenant's key cannot sign as another's: A's key id with B's secret.
    mixed = tenant_sluice.client(TENANT_A_KEY[0], TENANT_B_KEY[1])
    assert code_of(lambda: mixed.list_flows(m.ListFlowsRequest()))[0] == "SignatureNotMatch"


def test_rate_limited_tenant_is_throttled(tenant_sluice):
    client = tenant_sluice.client(*THROTTLED_KEY)
    outcomes = []
    for _ in range(6):
        try:
            client.list_flows(m.ListFlowsRequest())
            outcomes.append("ok")
        except (ClientException, ThrottlingException) as error:
            assert error.request_id and error.request_id != "None"
            outcomes.append((error.code, error.status_code))
    assert outcomes[:2] == ["ok", "ok"], outcomes
    assert ("ResourceThrottled", 429) in outcomes, outcomes
    # Another action of the same tenant is not limited.
    flow = unique("throttled")
    create(client, flow, pass_flow(flow))
    # Another tenant is not affected.
    other = tenant_sluice.client(*TENANT_B_KEY)
    for _ in range(5):
        other.list_flows(m.ListFlowsRequest())


# ---- more edges: a failed request changes nothing --------------------------------------------


def test_deleted_flow_hides_its_executions(fnf):
    flow = unique("deleted")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "old")
    fnf.delete_flow(m.DeleteFlowRequest(name=flow))
    assert code_of(lambda: describe(fnf, flow, "old")) == ("FlowNotExists", 404)
    create(fnf, flow, pass_flow(flow))
    assert not fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions
    assert code_of(lambda: describe(fnf, flow, "old")) == ("ExecutionNotExists", 404)
    start(fnf, flow, "old", {"name": "new"})
    done = describe(fnf, flow, "old", wait=10)
    assert done.status == "Succeeded" and json.loads(done.output) == {"greeting": "Hello, new!"}


def test_rejected_stop_leaves_the_execution_running(fnf):
    flow = unique("bad_stop")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "r")
    assert code_of(
        lambda: fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="r", error="E" * 129))
    ) == ("InvalidArgument", 400)
    assert code_of(
        lambda: fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="r", cause="C" * 4097))
    ) == ("InvalidArgument", 400)
    assert describe(fnf, flow, "r").status == "Running"
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="r", error="E" * 128))
    assert describe(fnf, flow, "r").status == "Stopped"


def test_long_poll_on_a_missing_execution_answers_at_once(fnf):
    import time

    flow = unique("lp_missing")
    create(fnf, flow, pass_flow(flow))
    began = time.monotonic()
    assert code_of(lambda: describe(fnf, flow, "nope", wait=30)) == ("ExecutionNotExists", 404)
    assert time.monotonic() - began < 2


def test_schedule_errors(fnf):
    flow = unique("sched_err")
    create(fnf, flow, pass_flow(flow))
    assert code_of(
        lambda: fnf.update_schedule(m.UpdateScheduleRequest(flow_name=flow, schedule_name="none", enable=False))
    ) == ("ScheduleNotExists", 404)
    assert code_of(
        lambda: fnf.delete_schedule(m.DeleteScheduleRequest(flow_name=flow, schedule_name="none"))
    ) == ("ScheduleNotExists", 404)
    assert code_of(
        lambda: fnf.create_schedule(
            m.CreateScheduleRequest(flow_name=flow, schedule_name="bad name", cron_expression="@every 1h")
        )
    ) == ("InvalidArgument", 400)
    big = json.dumps({"x": "y" * (64 * 1024 + 1)})
    assert code_of(
        lambda: fnf.create_schedule(
            m.CreateScheduleRequest(flow_name=flow, schedule_name="big", cron_expression="@every 1h", payload=big)
        )
    ) == ("EntityTooLarge", 400)
    assert not fnf.list_schedules(m.ListSchedulesRequest(flow_name=flow)).body.schedules
    assert code_of(lambda: fnf.list_schedules(m.ListSchedulesRequest(flow_name=unique("none")))) == (
        "FlowNotExists", 404)


def test_rejected_reports_leave_the_task_waiting(fnf, functions):
    functions.register("/e2e/wait_report", answer({"ok": True}))
    flow = unique("bad_report")
    create(fnf, flow, task_flow(flow, "wait_report", extra="    TaskMode: WaitForCustomCallback\n", token=True))
    start(fnf, flow, "w", {"n": flow})
    call = wait_for(
        lambda: next((c for c in functions.calls_to("/e2e/wait_report") if c.body["order"] == {"n": flow}), None)
    )
    token = call.body["token"]
    big = json.dumps({"x": "y" * (64 * 1024 + 1)})
    assert code_of(
        lambda: fnf.report_task_succeeded(m.ReportTaskSucceededRequest(task_token=token, output=big))
    ) == ("EntityTooLarge", 400)
    assert code_of(
        lambda: fnf.report_task_succeeded(m.ReportTaskSucceededRequest(task_token=token, output="{not json"))
    ) == ("InvalidArgument", 400)
    assert code_of(
        lambda: fnf.report_task_failed(m.ReportTaskFailedRequest(task_token=token, error="E" * 129))
    ) == ("InvalidArgument", 400)
    assert describe(fnf, flow, "w").status == "Running"
    fnf.report_task_succeeded(m.ReportTaskSucceededRequest(task_token=token, output=json.dumps({"fine": 1})))
    done = describe(fnf, flow, "w", wait=10)
    assert done.status == "Succeeded" and json.loads(done.output) == {"fine": 1}


def test_concurrent_starts_of_one_name_return_the_same_execution(sluice, fnf):
    flow = unique("race_start")
    create(fnf, flow, wait_flow(flow, 300))
    results = [None] * 16
    barrier = threading.Barrier(len(results))

    def go(i):
        client = sluice.client()
        barrier.wait()
        try:
            body = client.start_execution(m.StartExecutionRequest(flow_name=flow, execution_name="one", input="{}")).body
            results[i] = (body.name, body.started_time)
        except ClientException as error:
            results[i] = (error.code, error.status_code)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(set(results)) == 1 and results[0][0] == "one", results
    executions = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions
    assert [e.name for e in executions] == ["one"]
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="one"))


def test_concurrent_stops_stop_once(sluice, fnf):
    flow = unique("race_stop")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "s")
    results = [None] * 12
    barrier = threading.Barrier(len(results))

    def go(i):
        client = sluice.client()
        barrier.wait()
        try:
            results[i] = client.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="s")).body.status
        except ClientException as error:
            results[i] = (error.code, error.status_code)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results.count("Stopped") >= 1, results
    for r in results:
        assert r in ("Stopped", ("ExecutionAlreadyCompleted", 400), ("ConcurrentUpdateError", 409)), results
    events = fnf.get_execution_history(m.GetExecutionHistoryRequest(flow_name=flow, execution_name="s")).body.events
    assert [e.type for e in events].count("ExecutionStopped") == 1
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))


def test_another_tenant_cannot_complete_a_task(tenant_sluice, functions):
    functions.register("/e2e/tenant_token", answer({"ok": True}))
    a = tenant_sluice.client(*TENANT_A_KEY)
    b = tenant_sluice.client(*TENANT_B_KEY)
    flow = unique("tenant_token")
    create(a, flow, task_flow(flow, "tenant_token", extra="    TaskMode: WaitForCustomCallback\n", token=True))
    start(a, flow, "t", {"n": flow})
    call = wait_for(
        lambda: next((c for c in functions.calls_to("/e2e/tenant_token") if c.body["order"] == {"n": flow}), None)
    )
    token = call.body["token"]
    code, status = code_of(
        lambda: b.report_task_succeeded(m.ReportTaskSucceededRequest(task_token=token, output="{}"))
    )
    assert status in (400, 403, 404), (code, status)
    assert describe(a, flow, "t").status == "Running"
    a.report_task_succeeded(m.ReportTaskSucceededRequest(task_token=token, output="{}"))
    assert describe(a, flow, "t", wait=10).status == "Succeeded"


def test_update_flow_must_keep_its_name_and_mode(fnf):
    flow = unique("rename")
    create(fnf, flow, pass_flow(flow))
    assert code_of(lambda: fnf.update_flow(m.UpdateFlowRequest(name=flow, definition=pass_flow("other")))) == (
        "InvalidArgument", 400)
    assert fnf.describe_flow(m.DescribeFlowRequest(name=flow)).body.definition == pass_flow(flow)


def test_express_input_too_large(fnf):
    flow = unique("express_big")
    fnf.create_flow(
        m.CreateFlowRequest(name=flow, definition=pass_flow(flow), type="FDL", execution_mode="Express")
    )
    big = json.dumps({"name": "x" * (64 * 1024 + 1)})
    assert code_of(lambda: fnf.start_sync_execution(m.StartSyncExecutionRequest(flow_name=flow, input=big))) == (
        "EntityTooLarge", 400)


def test_tenant_isolation_of_schedules_versions_and_aliases(tenant_sluice):
    a = tenant_sluice.client(*TENANT_A_KEY)
    b = tenant_sluice.client(*TENANT_B_KEY)
    flow = unique("iso_sched")
    create(a, flow, pass_flow(flow))
    a.create_schedule(m.CreateScheduleRequest(flow_name=flow, schedule_name="s", cron_expression="@every 1h"))
    version = a.publish_flow_version(m.PublishFlowVersionRequest(flow_name=flow)).body.version
    assert code_of(lambda: b.list_schedules(m.ListSchedulesRequest(flow_name=flow))) == ("FlowNotExists", 404)
    assert code_of(lambda: b.describe_schedule(m.DescribeScheduleRequest(flow_name=flow, schedule_name="s"))) == (
        "FlowNotExists", 404)
    assert code_of(lambda: b.delete_schedule(m.DeleteScheduleRequest(flow_name=flow, schedule_name="s"))) == (
        "FlowNotExists", 404)
    assert code_of(lambda: b.list_flow_versions(m.ListFlowVersionsRequest(flow_name=flow))) == ("FlowNotExists", 404)
    assert code_of(
        lambda: b.delete_flow_version(m.DeleteFlowVersionRequest(flow_name=flow, flow_version=version))
    ) == ("FlowNotExists", 404)
    assert a.describe_schedule(m.DescribeScheduleRequest(flow_name=flow, schedule_name="s")).body.schedule_name == "s"
    assert [v.version for v in a.list_flow_versions(m.ListFlowVersionsRequest(flow_name=flow)).body.flow_versions] == [
        version]


def test_signatures_over_awkward_characters(sluice, fnf):
    awkward = "a+b c/d=e&f*g~h%20i 'ü' 流程 \"q\" \n!"
    flow = unique("awkward")
    create(fnf, flow, pass_flow(flow), awkward)
    assert fnf.describe_flow(m.DescribeFlowRequest(name=flow)).body.description == awkward
    status, body = raw_call(sluice.port, "UpdateFlow", {"Name": flow, "Description": awkward[::-1]})
    assert status == 200, body
    status, body = raw_call(sluice.port, "DescribeFlow", {"Name": flow}, method="GET")
    assert status == 200 and body["Description"] == awkward[::-1]

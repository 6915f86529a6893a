"""FunctionGraph's legacy v1.0 `cloud_graphs` API against a real `sluice serve`. No current SDK
has these calls, so requests are signed with the official SDK core's signer."""

import json
import time
import urllib.parse
import uuid

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from conftest import KEY_ID, KEY_SECRET, PROJECT_ID
from functions import echo, hang
from test_cloudflow import wait_for
from test_stop import CLOSE_WITHIN

FUNCTION = "urn:fss:local:{project}:function:e2e:{name}"


class CloudGraphs:
    def __init__(self, sluice, secret=KEY_SECRET, project=PROJECT_ID):
        self.port = sluice.port
        self.secret = secret
        self.project = project

    def call(self, method, path, body=None, query=None):
        raw = json.dumps(body).encode() if body is not None else b""
        request = SdkRequest(
            method=method, schema="http", host=f"127.0.0.1:{self.port}",
            resource_path=f"/v1.0/{self.project}/cloud_graphs{path}",
            query_params=list((query or {}).items()),
            header_params={"Content-Type": "application/json", "X-Project-Id": self.project},
            body=raw,
        )
        Signer(BasicCredentials(KEY_ID, self.secret)).sign(request)
        response = requests.request(method, f"http://127.0.0.1:{self.port}{request.uri}",
                                    headers=request.header_params, data=raw, timeout=30)
        assert response.headers.get("X-Request-Id")
        return response.status_code, (response.json() if response.content else None)

    def ok(self, method, path, body=None, query=None):
        status, answer = self.call(method, path, body, query)
        assert status in (200, 204), answer
        return answer


def quoted(urn):
    return urllib.parse.quote(urn, safe="")


def order_flow(project):
    """Wait for an order event, enrich it, route fast orders straight to the end and others
    through a one-second delay."""
    return {
        "event-defs": {"order": {"source": f"urn:fgs:local:{project}:trigger:orders"}},
        "states": {
            "wait_order": {"type": "EVENT", "start": True, "events": [{
                "event-expression": "order", "action-mode": "SEQUENTIAL",
                "actions": [{"action-name": "enrich", "function": FUNCTION.format(project=project, name="echo"),
                             "invocation-mode": "SYNC", "timeout": 30,
                             "results": [{"match": "MatchAny", "retry-interval": 1, "max-retry": 2}]}],
                "next-state": "route"}]},
            "route": {"type": "SWITCH", "choices": [{"path": "$.kind", "value": "fast", "next-state": "finish"}],
                      "default": "pause"},
            "pause": {"type": "DELAY", "time-delay": 1, "next-state": "finish"},
            "finish": {"type": "NOOP", "next-state": "end"},
            "end": {"type": "END"},
        },
    }


def create_graph(graphs, definition):
    name = f"graph_{uuid.uuid4().hex[:8]}"
    created = graphs.ok("POST", "", {"graph_name": name, "definition": json.dumps(definition), "description": "e2e"})
    assert created["graph_urn"] == f"urn:fgs:local:{graphs.project}:graph:{name}"
    assert created["created_at"].endswith("Z")
    return name, created["graph_urn"]


def start(graphs, urn, name, payload):
    started = graphs.ok("POST", f"/{quoted(urn)}/executions/action", {
        "action_type": "start", "executions": {"execution_name": name, "input": json.dumps(payload)}})
    assert started["execution_urn"].startswith(f"urn:fgs:local:{graphs.project}:execution:")
    return started["execution_urn"]


def show(graphs, execution_urn):
    return graphs.ok("GET", f"/executions/{quoted(execution_urn)}")["execution_info"]


@pytest.fixture(scope="module")
def graphs(sluice):
    return CloudGraphs(sluice)


def test_an_event_driven_graph_runs_after_its_event(graphs, functions):
    functions.register("/e2e/echo", echo())
    name, urn = create_graph(graphs, order_flow(PROJECT_ID))
    shown = graphs.ok("GET", f"/{quoted(urn)}")
    assert shown["name"] == name and shown["definition"]["states"]["end"] == {"type": "END"}
    assert urn in [g["graph_urn"] for g in graphs.ok("GET", "", query={"name": name})["graphs"]]

    execution = start(graphs, urn, "order1", {"id": 1})
    info = show(graphs, execution)
    assert info["execution_state"] == "RUNNING" and info["start_state"] == "wait_order"
    wait_for(lambda: show(graphs, execution)["state_map"]["wait_order"]["status"] == "RUNNING")
    assert show(graphs, execution)["state_map"]["route"]["status"] == "NOTRUNNING"

    answer = graphs.ok("POST", f"/{quoted(urn)}/executions/{quoted(execution)}/event_test", {
        "trigger_urn": f"urn:fgs:local:{PROJECT_ID}:trigger:orders",
        "input": json.dumps({"kind": "slow", "id": 1}), "invocation_mode": "sync"})
    assert "wait_order" in answer["response"]
    done = wait_for(lambda: (lambda i: i if i["execution_state"] != "RUNNING" else None)(show(graphs, execution)))
    assert done["execution_state"] == "SUCCESS"
    assert json.loads(done["output"]) == {"kind": "slow", "id": 1}
    states = done["state_map"]
    assert {k: v["status"] for k, v in states.items()} == {
        "wait_order": "SUCCESS", "route": "SUCCESS", "pause": "SUCCESS", "finish": "SUCCESS", "end": "SUCCESS"}
    assert functions.calls_to("/e2e/echo")[-1].body == {"kind": "slow", "id": 1}

    history = graphs.ok("GET", f"/executions/{quoted(execution)}/history", query={"limit": 100})
    types = [e["type"] for e in history["state_history"]]
    assert types[0] == "Execution Start" and types[-1] == "Execution End" and "State End" in types
    listed = graphs.ok("GET", f"/{quoted(urn)}/executions")
    assert [(e["execution_name"], e["execution_status"]) for e in listed["executions"]] == [("order1", "SUCCESS")]
    detail = graphs.ok("GET", f"/graph_detail/{quoted(execution)}")
    assert detail["graph_urn"] == urn and detail["definition"]["states"]["route"]["type"] == "SWITCH"


def test_stop_aborts_a_waiting_or_calling_execution(graphs, functions):
    functions.register("/e2e/hang", hang())
    definition = order_flow(PROJECT_ID)
    name, urn = create_graph(graphs, definition)
    waiting = start(graphs, urn, "waits", {})
    stopped = graphs.ok("POST", f"/{quoted(urn)}/executions/action",
                        {"action_type": "stop", "executions": {"execution_urn": waiting}})
    assert stopped["stopped_at"].endswith("Z")
    info = show(graphs, waiting)
    assert info["execution_state"] == "ABORTED" and info["state_map"]["wait_order"]["status"] == "ABORTED"
    assert graphs.call("POST", f"/{quoted(urn)}/executions/action",
                       {"action_type": "stop", "executions": {"execution_urn": waiting}})[1]["error_code"] == "FGS.2022"
    status, error = graphs.call("POST", f"/{quoted(urn)}/executions/{quoted(waiting)}/event_test", {"input": "{}"})
    assert (status, error["error_code"]) == (400, "FGS.2024")

    calling = {"states": {
        "work": {"type": "OPERATION", "start": True, "action-mode": "SEQUENTIAL", "next-state": "end",
                 "actions": [{"action-name": "slow", "function": FUNCTION.format(project=PROJECT_ID, name="hang")}]},
        "end": {"type": "END"}}}
    _, urn = create_graph(graphs, calling)
    before = len(functions.calls_to("/e2e/hang"))
    execution = start(graphs, urn, "calls", {})
    wait_for(lambda: len(functions.calls_to("/e2e/hang")) > before)
    call = functions.calls_to("/e2e/hang")[-1]
    graphs.ok("POST", f"/{quoted(urn)}/executions/action", {"action_type": "stop", "executions": {"execution_urn": execution}})
    answered = time.monotonic()
    wait_for(lambda: call.closed_at, timeout=2)
    assert call.closed_at - answered < CLOSE_WITHIN
    ghost = execution.rsplit(":", 2)[0] + ":ghost:" + "0" * 32
    status, error = graphs.call("POST", f"/{quoted(urn)}/executions/action",
                                {"action_type": "stop", "executions": {"execution_urn": ghost}})
    assert (status, error["error_code"]) == (404, "FGS.2002")


def test_bad_definitions_signatures_and_requests_are_refused(graphs, sluice):
    before = graphs.ok("GET", "", query={"limit": 1000})["count"]
    two_starts = {"states": {"a": {"type": "NOOP", "start": True, "next-state": "b"},
                             "b": {"type": "END", "start": True}}}
    unknown_type = {"states": {"a": {"type": "LOOP", "start": True}, "b": {"type": "END"}}}
    for bad in (two_starts, unknown_type):
        status, error = graphs.call("POST", "", {"graph_name": f"bad_{uuid.uuid4().hex[:6]}", "definition": json.dumps(bad)})
        assert (status, error["error_code"]) == (400, "FGS.1001"), error
    status, error = graphs.call("POST", "", {"graph_name": "bad_json", "definition": "{nope"})
    assert (status, error["error_code"]) == (400, "FGS.1001")
    assert graphs.ok("GET", "", query={"limit": 1000})["count"] == before

    name, urn = create_graph(graphs, order_flow(PROJECT_ID))
    status, error = graphs.call("POST", "", {"graph_name": name, "definition": json.dumps(order_flow(PROJECT_ID))})
    assert (status, error["error_code"]) == (409, "FGS.1005")
    status, error = graphs.call("POST", f"/{quoted(urn)}/executions/action", {"action_type": "pause", "executions": {}})
    assert (status, error["error_code"]) == (400, "FGS.2006")
    status, error = graphs.call("POST", f"/{quoted(urn)}/executions/action",
                                {"action_type": "start", "executions": {"execution_name": "x", "input": "{not json"}})
    assert (status, error["error_code"]) == (400, "FGS.2008")
    status, error = CloudGraphs(sluice, secret="wrong").call("GET", "")
    assert (status, error["error_code"]) == (401, "APIG.0301")
    status, error = CloudGraphs(sluice, project="f" * 32).call("GET", "")
    assert status == 403
    graphs.ok("DELETE", f"/{quoted(urn)}")
    status, error = graphs.call("GET", f"/{quoted(urn)}")
    assert (status, error["error_code"]) == (404, "FGS.1011")

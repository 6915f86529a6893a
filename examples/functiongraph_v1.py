"""FunctionGraph's legacy v1.0 workflows (`cloud_graphs`): create a graph, start an execution,
watch it run, stop it, read its history. No current SDK has these calls, so the requests are
signed with the official SDK core's signer (`pip install huaweicloudsdkcore requests`)."""

import json
import pathlib
import time
import urllib.parse

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

import sluice_env as env

DEFINITION = (pathlib.Path(__file__).parent / "functiongraph_v1.json").read_text()
GRAPH = "example_v1_pause"


def call(method, path, body=None):
    """One signed request to `/v1.0/{project}/cloud_graphs{path}`; returns (status, JSON)."""
    scheme, host = env.ENDPOINT.split("://")
    raw = json.dumps(body).encode() if body is not None else b""
    request = SdkRequest(method=method, schema=scheme, host=host,
                         resource_path=f"/v1.0/{env.PROJECT_ID}/cloud_graphs{path}",
                         query_params=[], header_params={"Content-Type": "application/json"}, body=raw)
    Signer(BasicCredentials(env.ACCESS_KEY_ID, env.ACCESS_KEY_SECRET)).sign(request)
    response = requests.request(method, f"{env.ENDPOINT}{request.uri}", headers=request.header_params,
                                data=raw, timeout=30)
    return response.status_code, (response.json() if response.content else None)


def ok(method, path, body=None):
    status, answer = call(method, path, body)
    if status not in (200, 201, 204):
        raise SystemExit(f"{method} {path}: {status} {answer}")
    return answer


def quoted(urn):
    return urllib.parse.quote(urn, safe="")


def main():
    graph = f"urn:fgs:local:{env.PROJECT_ID}:graph:{GRAPH}"
    status, _ = call("GET", f"/{quoted(graph)}")
    if status == 200:
        ok("PUT", f"/{quoted(graph)}", {"info": DEFINITION, "info_type": "definition"})
    else:
        graph = ok("POST", "", {"graph_name": GRAPH, "definition": DEFINITION, "description": "sluice example"})["graph_urn"]
    print(f"graph urn: {graph}")

    started = ok("POST", f"/{quoted(graph)}/executions/action", {
        "action_type": "start",
        "executions": {"execution_name": f"run-{time.time_ns()}", "input": json.dumps({"order": 42})}})
    execution = started["execution_urn"]

    def state():
        return ok("GET", f"/executions/{quoted(execution)}")["execution_info"]["execution_state"]

    env.expect("while it waits in the DELAY", state(), "RUNNING")
    stopped = ok("POST", f"/{quoted(graph)}/executions/action",
                 {"action_type": "stop", "executions": {"execution_urn": execution}})
    print(f"stopped at: {stopped['stopped_at']}")
    env.expect("after stop", state(), "ABORTED")

    history = ok("GET", f"/executions/{quoted(execution)}/history")
    for entry in history["state_history"]:
        print(f"  {entry.get('type')}: {entry.get('state_name', '')}")


if __name__ == "__main__":
    main()

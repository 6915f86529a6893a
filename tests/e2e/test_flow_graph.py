"""`GET /api/v1/flows/{flow}/graph`: the definition of a flow of every dialect as nodes and edges,
nested through `parent` (Parallel branches, Map processors, Dag nodes), against a real
`sluice serve`; flows created with each vendor's official SDK."""

import base64
import json
import urllib.error
import urllib.request

import pytest
from huaweicloudsdkdgc import v1 as dgc
from huaweicloudsdkfunctiongraph import v2 as fg

from conftest import KEY_ID, KEY_SECRET, TENANT_B_KEY
from test_cloudflow import create, unique
from test_dataarts import create_job, dummy_node
from test_functiongraph import workflow_body


def get(server, path, key=(KEY_ID, KEY_SECRET)):
    headers = {}
    if key:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{key[0]}:{key[1]}".encode()).decode()
    request = urllib.request.Request(f"{server.endpoint}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), json.loads(e.read())


def graph(server, flow):
    status, _, body = get(server, f"/api/v1/flows/{flow}/graph")
    assert status == 200, body
    nodes = {n["id"]: (n["name"], n["type"], n["parent"]) for n in body["nodes"]}
    edges = [(e["from"], e["to"], e["label"]) for e in body["edges"]]
    return nodes, edges


CLOUDFLOW = """Type: StateMachine
Name: NAME
SpecVersion: v1
StartAt: Route
States:
  - Type: Choice
    Name: Route
    Branches:
      - Condition: $Input.skip == true
        Next: Done
    Default: Both
  - Type: Parallel
    Name: Both
    Next: Done
    Catch:
      - Errors: ["FnF.ALL"]
        Next: Failed
    Branches:
      - StartAt: Fan
        States:
          - Type: Map
            Name: Fan
            End: true
            ItemsPath: $Input.items
            Processor:
              StartAt: Item
              States:
                - Type: Pass
                  Name: Item
                  End: true
      - StartAt: Nap
        States:
          - Type: Wait
            Name: Nap
            Seconds: 1
            End: true
  - Type: Fail
    Name: Failed
    Code: Broken
  - Type: Pass
    Name: Done
    End: true
"""


def test_a_cloudflow_graph_nests_branches_and_processors(sluice, fnf):
    name = unique("graph_cf")
    create(fnf, name, CLOUDFLOW.replace("NAME", name))
    nodes, edges = graph(sluice, name)
    assert nodes == {
        "Route": ("Route", "Choice", None),
        "Both": ("Both", "Parallel", None),
        "Both/0": ("Branch 1", "Branch", "Both"),
        "Both/0/Fan": ("Fan", "Map", "Both/0"),
        "Both/0/Fan/processor": ("Processor", "Processor", "Both/0/Fan"),
        "Both/0/Fan/processor/Item": ("Item", "Pass", "Both/0/Fan/processor"),
        "Both/1": ("Branch 2", "Branch", "Both"),
        "Both/1/Nap": ("Nap", "Wait", "Both/1"),
        "Failed": ("Failed", "Fail", None),
        "Done": ("Done", "Pass", None),
    }
    assert edges == [
        ("Route", "Done", "case 1"),
        ("Route", "Both", "default"),
        ("Both", "Done", ""),
        ("Both", "Failed", "catch"),
    ]


def test_a_functiongraph_workflow_graph_has_its_transitions_and_error_routes(sluice):
    fgs = sluice.huawei(fg.FunctionGraphClient)
    name = unique("graph_fg")
    fgs.create_workflow(fg.CreateWorkflowRequest(body=workflow_body(name)))
    nodes, edges = graph(sluice, name)
    assert {n: (kind, parent) for n, (_, kind, parent) in nodes.items()} == {
        "double": ("Task", None),
        "pause": ("Wait", None),
        "recover": ("Task", None),
        "done": ("Succeed", None),
    }
    assert sorted(edges) == sorted([
        ("double", "pause", ""),
        ("double", "recover", "catch"),
        ("pause", "done", ""),
        ("recover", "done", ""),
    ])


def test_a_dataarts_job_graph_holds_its_nodes_inside_the_dag(sluice):
    client = sluice.huawei(dgc.DgcClient)
    name = unique("graph_dag")
    create_job(client, name, [dummy_node("extract"), dummy_node("left", ["extract"]),
                              dummy_node("right", ["extract"]), dummy_node("load", ["left", "right"])])
    nodes, edges = graph(sluice, name)
    [dag] = [id for id, (_, kind, parent) in nodes.items() if parent is None]
    assert nodes[dag][1] == "Dag"
    assert {nodes[id][0]: nodes[id][2] for id in nodes if id != dag} == {
        "extract": dag, "left": dag, "right": dag, "load": dag,
    }
    assert edges == [
        (f"{dag}/extract", f"{dag}/left", ""),
        (f"{dag}/extract", f"{dag}/right", ""),
        (f"{dag}/left", f"{dag}/load", ""),
        (f"{dag}/right", f"{dag}/load", ""),
    ]


@pytest.mark.parametrize("key", [None, ("e2e-key", "wrong")])
def test_the_graph_needs_credentials(sluice, fnf, key):
    name = unique("graph_auth")
    create(fnf, name, CLOUDFLOW.replace("NAME", name))
    status, content_type, body = get(sluice, f"/api/v1/flows/{name}/graph", key=key)
    assert status == 401 and content_type.startswith("application/problem+json"), body


def test_an_unknown_or_foreign_flow_has_no_graph(sluice, fnf, tenant_sluice):
    status, content_type, body = get(sluice, f"/api/v1/flows/{unique('nope')}/graph")
    assert status == 404 and content_type.startswith("application/problem+json"), body
    name = unique("graph_mine")
    create(tenant_sluice.client(*TENANT_B_KEY), name, CLOUDFLOW.replace("NAME", name))
    status, _, body = get(tenant_sluice, f"/api/v1/flows/{name}/graph", key=("tenant-a-admin", "tenant-a-secret"))
    assert status in (403, 404), body

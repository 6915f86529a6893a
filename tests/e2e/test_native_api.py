"""The native JSON API (`/api/v1`) against a real `sluice serve`, over plain HTTP with Basic
credentials: every route, every filter, paging over 3,000 executions, permissions, problem+json
errors, another tenant's names, the live event stream, and the OpenAPI document.

Flows are created with the official CloudFlow SDK (the native API reads them, whatever their
dialect); executions are started and stopped through the native API.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from openapi_spec_validator import validate

from conftest import configured_sluice
from functions import hang
from test_cloudflow import create, pass_flow, task_flow, unique, wait_for

ADMIN = ("native-admin", "native-admin-secret")
READER = ("native-reader", "native-reader-secret")
OTHER = ("native-other", "native-other-secret")

PROJECT = "c0000000000000000000000000000003"

CONFIG = f"""
[[tenants]]
id = "native-a"
account_id = "4444444444444444"
project_id = "{PROJECT}"

[[tenants.keys]]
id = "{ADMIN[0]}"
secret = "{ADMIN[1]}"
actions = ["sluice:*", "fnf:*", "ges:*"]

[[tenants.keys]]
id = "{READER[0]}"
secret = "{READER[1]}"
actions = ["sluice:ListFlows", "sluice:ListExecutions", "sluice:DescribeExecution"]

[[tenants]]
id = "native-b"
account_id = "5555555555555555"

[[tenants.keys]]
id = "{OTHER[0]}"
secret = "{OTHER[1]}"
actions = ["sluice:*", "fnf:*"]
"""

STATUSES = {"running", "succeeded", "failed", "timed_out", "stopped"}


@pytest.fixture(scope="module")
def server(tmp_path_factory, functions):
    server = configured_sluice(tmp_path_factory, functions, "sluice-native", CONFIG)
    yield server
    server.stop()


class Api:
    """The native API as one key sees it."""

    def __init__(self, server, key):
        self.base = f"{server.endpoint}/api/v1"
        self.session = requests.Session()
        self.session.auth = key
        self.session.trust_env = False

    def get(self, path, **params):
        return self.session.get(self.base + path, params=params, timeout=30)

    def post(self, path, body=None):
        return self.session.post(self.base + path, json=body, timeout=30)

    def ok(self, response, status=200):
        assert response.status_code == status, response.text
        return response.json()

    def start(self, flow, name=None, input=None):
        body = {"name": name} if name else {}
        if input is not None:
            body["input"] = input
        return self.ok(self.post(f"/flows/{flow}/executions", body), 201)

    def execution(self, flow, name):
        return self.ok(self.get(f"/flows/{flow}/executions/{name}"))

    def all_executions(self, **params):
        """Every execution the query lists, page after page, and the number of pages."""
        executions, token, pages = [], None, 0
        while True:
            query = dict(params, **({"page_token": token} if token else {}))
            page = self.ok(self.get("/executions", **query))
            executions += page["executions"]
            pages += 1
            token = page["next_page_token"]
            if not token:
                return executions, pages


@pytest.fixture(scope="module")
def admin(server):
    return Api(server, ADMIN)


@pytest.fixture(scope="module")
def reader(server):
    return Api(server, READER)


@pytest.fixture(scope="module")
def other(server):
    return Api(server, OTHER)


@pytest.fixture(scope="module")
def fnf(server):
    return server.client(*ADMIN)


def assert_problem(response, status, code=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["type"] == "about:blank"
    assert problem["title"] and problem["detail"]
    if code:
        assert problem["code"] == code, problem
    return problem


def running_flow(fnf, functions, prefix="slow"):
    """A flow whose one task hangs until its call is closed (by a stop)."""
    path = f"/e2e/{prefix}"
    functions.register(path, hang(60))
    flow = unique(prefix)
    create(fnf, flow, task_flow(flow, prefix))
    return flow


def test_flows_are_listed_and_described(admin, fnf):
    names = sorted(unique("nflow") for _ in range(3))
    for name in names:
        create(fnf, name, pass_flow(name))
    flows = admin.ok(admin.get("/flows", limit=1000))["flows"]
    ours = [f for f in flows if f["name"] in names]
    assert [f["name"] for f in ours] == names
    for flow in ours:
        assert flow["dialect"] == "cloudflow" and flow["open"] is True
        assert flow["revision"] == 1 and flow["created_at"].endswith("Z")
    described = admin.ok(admin.get(f"/flows/{names[0]}"))
    assert described["definition"] == pass_flow(names[0]) and described["dialect"] == "cloudflow"


def test_flows_page_by_name(admin, fnf):
    for _ in range(3):
        name = unique("npage")
        create(fnf, name, pass_flow(name))
    first = admin.ok(admin.get("/flows", limit=2))
    assert len(first["flows"]) == 2 and first["next_page_token"]
    second = admin.ok(admin.get("/flows", limit=2, page_token=first["next_page_token"]))
    assert second["flows"][0]["name"] > first["flows"][-1]["name"]


def test_an_execution_starts_runs_and_is_described_with_its_state_runs(admin, fnf):
    flow = unique("nrun")
    create(fnf, flow, pass_flow(flow))
    started = admin.start(flow, "first", {"name": "native"})
    assert started["name"] == "first" and started["flow"] == flow
    assert started["status"] in STATUSES
    done = wait_for(lambda: (e := admin.execution(flow, "first"))["status"] == "succeeded" and e)
    assert done["input"] == {"name": "native"}
    assert done["output"] == {"greeting": "Hello, native!"}
    assert done["started_at"] and done["stopped_at"] and done["dialect"] == "cloudflow"
    [state] = done["states"]
    assert state["name"] == "Greet"
    [run] = state["runs"]
    assert run["status"] == "succeeded" and run["attempts"] == 0
    # A state's input is what it sees, after its InputConstructor (as CloudFlow's history shows).
    assert run["input"] == {"greeting": "Hello, native!"} and run["output"] == {"greeting": "Hello, native!"}
    assert run["entered_at"] <= run["exited_at"]


def test_a_generated_name_and_a_repeated_name(admin, fnf):
    flow = unique("nname")
    create(fnf, flow, pass_flow(flow))
    generated = admin.start(flow, input={"name": "x"})
    assert len(generated["name"]) == 36
    admin.start(flow, "same", {"name": "a"})
    wait_for(lambda: admin.execution(flow, "same")["status"] == "succeeded")
    assert_problem(admin.post(f"/flows/{flow}/executions", {"name": "same"}), 409, "ExecutionExists")


def test_the_history_pages_oldest_first(admin, fnf):
    flow = unique("nhist")
    create(fnf, flow, pass_flow(flow))
    admin.start(flow, "h", {"name": "h"})
    wait_for(lambda: admin.execution(flow, "h")["status"] == "succeeded")
    everything = admin.ok(admin.get(f"/flows/{flow}/executions/h/history", limit=1000))
    events = everything["events"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    assert everything["next_page_token"] is None
    paged, token = [], None
    while True:
        page = admin.ok(
            admin.get(f"/flows/{flow}/executions/h/history", limit=2, **({"page_token": token} if token else {}))
        )
        paged += page["events"]
        token = page["next_page_token"]
        if not token:
            break
    assert [e["id"] for e in paged] == [e["id"] for e in events]


def test_stop_answers_the_stopped_execution_then_409(admin, fnf, functions):
    flow = running_flow(fnf, functions, "nstop")
    admin.start(flow, "s")
    wait_for(lambda: functions.calls_to("/e2e/nstop"))
    stopped = admin.ok(admin.post(f"/flows/{flow}/executions/s/stop", {"error": "Manual", "cause": "by the test"}))
    assert stopped["status"] == "stopped"
    assert stopped["error"] == "Manual" and stopped["cause"] == "by the test"
    [state] = stopped["states"]
    assert state["runs"][0]["attempts"] == 1
    assert_problem(admin.post(f"/flows/{flow}/executions/s/stop"), 409, "ExecutionCompleted")


def test_executions_are_filtered_by_flow_status_prefix_and_time(admin, fnf, functions):
    done_flow = unique("nfilter")
    create(fnf, done_flow, pass_flow(done_flow))
    slow_flow = running_flow(fnf, functions, "nfilterslow")
    before = time.time()
    for name in ("alpha-1", "alpha-2", "beta-1"):
        admin.start(done_flow, name, {"name": name})
    admin.start(slow_flow, "alpha-running")
    wait_for(lambda: all(admin.execution(done_flow, n)["status"] == "succeeded" for n in ("alpha-1", "alpha-2", "beta-1")))

    def names(**params):
        return [e["name"] for e in admin.ok(admin.get("/executions", limit=1000, **params))["executions"]]

    assert names(flow=done_flow) == ["beta-1", "alpha-2", "alpha-1"], "newest first"
    assert names(flow=done_flow, name_prefix="alpha-") == ["alpha-2", "alpha-1"]
    assert names(flow=slow_flow, status="running") == ["alpha-running"]
    assert names(flow=done_flow, status="running") == []
    assert "alpha-running" in names(status="running", name_prefix="alpha-")
    assert "alpha-running" not in names(status="succeeded")
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(before - 1))
    assert set(names(started_after=since, name_prefix="alpha")) >= {"alpha-1", "alpha-2", "alpha-running"}
    assert names(flow=done_flow, started_before="2000-01-01T00:00:00Z") == []
    listed = admin.ok(admin.get("/executions", flow=done_flow))["executions"][0]
    assert set(listed) == {"flow", "name", "dialect", "status", "started_at", "stopped_at"}
    admin.post(f"/flows/{slow_flow}/executions/alpha-running/stop")


def test_paging_walks_3000_executions_once_each(admin, fnf):
    flow = unique("nbulk")
    create(fnf, flow, pass_flow(flow))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: admin.start(flow, f"e{i:04d}", {"name": "x"}), range(3000)))
    listed, pages = admin.all_executions(flow=flow, limit=1000)
    names = [e["name"] for e in listed]
    assert pages == 4, "three full pages, then an empty last one"
    assert sorted(names) == [f"e{i:04d}" for i in range(3000)], "each execution exactly once"
    small, small_pages = admin.all_executions(flow=flow, limit=250, name_prefix="e1")
    assert sorted(e["name"] for e in small) == [f"e{i:04d}" for i in range(1000, 2000)]
    assert small_pages == 5


@pytest.mark.parametrize(
    "path, params",
    [
        ("/executions", {"limit": 0}),
        ("/executions", {"limit": 1001}),
        ("/executions", {"limit": "ten"}),
        ("/executions", {"status": "Running"}),
        ("/executions", {"status": "paused"}),
        ("/executions", {"started_after": "yesterday"}),
        ("/executions", {"page_token": "garbage"}),
        ("/executions", {"stauts": "running"}),
        ("/flows", {"page_token": "garbage"}),
        ("/flows", {"limit": -1}),
        ("/events", {"execution": "without-its-flow"}),
    ],
)
def test_bad_parameters_are_problem_400(admin, path, params):
    assert_problem(admin.get(path, **params), 400, "InvalidParameter")


def test_bad_bodies_are_problem_400(admin, fnf):
    flow = unique("nbody")
    create(fnf, flow, pass_flow(flow))
    url = f"{admin.base}/flows/{flow}/executions"
    not_json = admin.session.post(url, data="{not json", headers={"content-type": "application/json"})
    assert_problem(not_json, 400)
    assert_problem(admin.post(f"/flows/{flow}/executions", {"input": [1, 2]}), 400, "InvalidParameter")
    assert_problem(admin.post(f"/flows/{flow}/executions", {"nmae": "typo"}), 400)
    assert_problem(admin.post(f"/flows/{flow}/executions", {"name": "bad name!"}), 400, "InvalidParameter")
    assert_problem(admin.post("/stop-jobs", {"filter": {"flow": flow, "status": "succeeded"}}), 400)
    assert_problem(admin.post("/stop-jobs", {"filter": {}}), 400)


def test_credentials_are_required_and_checked(server, admin):
    url = f"{admin.base}/flows"
    bare = requests.get(url, timeout=10)
    assert_problem(bare, 401, "Unauthenticated")
    assert bare.headers["www-authenticate"].startswith("Basic")
    assert_problem(requests.get(url, auth=(ADMIN[0], "wrong"), timeout=10), 401)
    assert_problem(requests.get(url, auth=("nobody", "x"), timeout=10), 401)
    assert_problem(requests.get(url, headers={"authorization": "Basic !!!"}, timeout=10), 401)
    assert_problem(requests.get(f"{admin.base}/no/such/route", auth=ADMIN, timeout=10), 404, "NoSuchRoute")


def test_a_key_does_only_what_its_actions_allow(reader, admin, fnf, functions):
    flow = running_flow(fnf, functions, "nperm")
    admin.start(flow, "p")
    assert reader.ok(reader.get("/flows"))
    assert reader.ok(reader.get("/executions", flow=flow))["executions"][0]["name"] == "p"
    assert reader.execution(flow, "p")["name"] == "p"
    for denied in (
        reader.post(f"/flows/{flow}/executions/p/stop"),
        reader.post(f"/flows/{flow}/executions", {}),
        reader.post("/stop-jobs", {"filter": {"flow": flow}}),
        reader.get(f"/flows/{flow}"),
        reader.get(f"/flows/{flow}/executions/p/history"),
        reader.get("/jobs/whatever"),
        reader.get("/events"),
    ):
        assert_problem(denied, 403, "AccessDenied")
    assert admin.execution(flow, "p")["status"] == "running", "a refused stop changes nothing"
    admin.post(f"/flows/{flow}/executions/p/stop")


def test_another_tenants_names_are_404(admin, other, fnf):
    flow = unique("nmine")
    create(fnf, flow, pass_flow(flow))
    admin.start(flow, "mine", {"name": "a"})
    for response in (
        other.get(f"/flows/{flow}"),
        other.get(f"/flows/{flow}/executions/mine"),
        other.get(f"/flows/{flow}/executions/mine/history"),
        other.get("/executions", flow=flow),
        other.post(f"/flows/{flow}/executions", {}),
        other.post(f"/flows/{flow}/executions/mine/stop"),
        other.post("/stop-jobs", {"filter": {"flow": flow}}),
        other.get("/events", flow=flow),
    ):
        assert_problem(response, 404, "FlowNotFound")
    assert all(e["flow"] != flow for e in other.ok(other.get("/executions", limit=1000))["executions"])
    job = admin.ok(admin.post("/stop-jobs", {"filter": {"flow": flow}}), 202)
    assert_problem(other.get(f"/jobs/{job['id']}"), 404, "NotFound")


def test_a_stop_job_stops_what_its_filter_selects_and_counts(admin, fnf, functions):
    flow = running_flow(fnf, functions, "njob")
    for name in ("keep-1", "stop-1", "stop-2", "stop-3"):
        admin.start(flow, name)
    wait_for(lambda: len(functions.calls_to("/e2e/njob")) >= 4)
    admin.post(f"/flows/{flow}/executions/stop-3/stop")
    job = admin.ok(
        admin.post(
            "/stop-jobs", {"filter": {"flow": flow, "status": "running", "name_prefix": "stop-"}, "error": "Bulk", "cause": "all of them"}
        ),
        202,
    )
    assert job["kind"] == "stop_executions" and job["flow"] == flow
    done = wait_for(lambda: (j := admin.ok(admin.get(f"/jobs/{job['id']}")))["status"] == "succeeded" and j)
    assert (done["matched"], done["stopped"], done["already_completed"], done["failed"]) == (2, 2, 0, 0)
    assert done["finished_at"]
    assert admin.execution(flow, "stop-1")["status"] == "stopped"
    assert admin.execution(flow, "stop-1")["error"] == "Bulk"
    assert admin.execution(flow, "keep-1")["status"] == "running"
    admin.post(f"/flows/{flow}/executions/keep-1/stop")


def test_ges_graph_jobs_appear_as_jobs(server, admin, fnf, functions):
    from huaweicloudsdkges import v1

    flow = running_flow(fnf, functions, "nges")
    admin.start(flow, "g")
    wait_for(lambda: functions.calls_to("/e2e/nges"))
    ges = server.huawei(v1.GesClient, ADMIN[0], ADMIN[1], PROJECT)
    graph = next(g for g in ges.list_graphs(v1.ListGraphsRequest(limit=1000)).graphs if g.name == flow)
    job_id = ges.stop_graph(v1.StopGraphRequest(graph_id=graph.id, action_id="stop")).job_id
    done = wait_for(lambda: (j := admin.ok(admin.get(f"/jobs/{job_id}")))["status"] == "succeeded" and j)
    assert (done["kind"], done["flow"], done["matched"], done["stopped"]) == ("close_flow", flow, 1, 1)
    assert admin.ok(admin.get(f"/flows/{flow}"))["open"] is False
    assert admin.execution(flow, "g")["status"] == "stopped"


class Events:
    """An open `GET /api/v1/events` stream, read on a thread."""

    def __init__(self, api, **params):
        self.response = api.session.get(api.base + "/events", params=params, stream=True, timeout=60)
        assert self.response.status_code == 200, self.response.text
        assert self.response.headers["content-type"].startswith("text/event-stream")
        self.events = []
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        kind = None
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind:
                    self.events.append((kind, json.loads(line[5:]), time.monotonic()))
                    kind = None
        except (requests.RequestException, AttributeError):
            # close() from the test's thread ends a blocked read: urllib3 then raises one of
            # these, depending on where the read was.
            pass

    def close(self):
        self.response.close()


def test_events_stream_execution_and_state_changes(admin, other, fnf):
    flow = unique("nevents")
    create(fnf, flow, pass_flow(flow))
    mine = Events(admin, flow=flow)
    theirs = Events(other)
    time.sleep(0.2)
    admin.start(flow, "live", {"name": "x"})
    wait_for(lambda: any(k == "execution" and d["status"] == "succeeded" for k, d, _ in mine.events))
    kinds = [(k, d.get("change") or d["status"]) for k, d, _ in mine.events]
    assert kinds == [
        ("execution", "running"),
        ("state", "entered"),
        ("state", "exited"),
        ("execution", "succeeded"),
    ], kinds
    assert all(d["flow"] == flow and d["execution"] == "live" for _, d, _ in mine.events)
    assert mine.events[1][1]["state"] == "Greet"
    time.sleep(0.3)
    assert not theirs.events, "another tenant's stream shows nothing of ours"
    mine.close()
    theirs.close()


def test_the_openapi_document_is_valid_and_lists_every_route(server):
    response = requests.get(f"{server.endpoint}/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) >= {
        "/api/v1/flows",
        "/api/v1/flows/{flow}",
        "/api/v1/executions",
        "/api/v1/flows/{flow}/executions",
        "/api/v1/flows/{flow}/executions/{execution}",
        "/api/v1/flows/{flow}/executions/{execution}/history",
        "/api/v1/flows/{flow}/executions/{execution}/stop",
        "/api/v1/stop-jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/events",
    }
    assert document["components"]["securitySchemes"]["basic"]["scheme"] == "basic"

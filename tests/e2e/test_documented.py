"""Every documented example of `crates/cli/tests/data/documented/cases.json` (the vendors' own
pages, each case naming its source) through a real `sluice serve` and the official SDKs: the
CloudFlow cases (both forms) with alibabacloud-fnf20190315, the FunctionGraph ones with
huaweicloudsdkfunctiongraph. `sluice run` runs the same cases in crates/cli/tests/run_examples.rs.
"""

import json
import re
import time
import uuid

import pytest
from alibabacloud_fnf20190315 import models as m
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkfunctiongraph import v2 as fg

from conftest import ROOT, Sluice
from test_cloudflow import describe, start, wait_for

DOCUMENTED = json.loads((ROOT / "crates/cli/tests/data/documented/cases.json").read_text())
CASES = DOCUMENTED["cases"]
TERMINAL = ("Succeeded", "Failed", "TimedOut", "Stopped")
FUNCTIONS = "/documented"
# Flow name -> the definition file it was last created or updated with.
FLOWS = {}


def is_functiongraph(case):
    return "/functiongraph/" in case["file"]


def params(cases):
    return [pytest.param(case, id=case["name"]) for case in cases]


@pytest.fixture(scope="module")
def documented(tmp_path_factory, functions):
    """A server of its own: the documented definitions keep their own names (`my-wkfl`…),
    which a CloudFlow flow must be named after."""
    server = Sluice(tmp_path_factory.mktemp("documented"), f"http://127.0.0.1:{functions.port}{FUNCTIONS}/{{function}}")
    yield server
    server.stop()


def behaviour(spec):
    """What a function does, as cases.json spells it (see ../examples.json's comment)."""
    if spec == "echo":
        return lambda call, conn: (200, call.body)
    (kind, value), = spec.items()
    if kind == "return":
        return lambda call, conn: (200, value)
    if kind == "fail":
        return lambda call, conn: (500, {"errorCode": value, "errorMessage": "failed on purpose"})
    if kind == "upper":
        return lambda call, conn: (200, {value: str(call.body.get(value, "")).upper()})
    raise ValueError(f"unknown behaviour {spec!r}")


def skip_unless_built(case):
    for key in ("needs", "serve_needs"):
        if key in case:
            pytest.skip(f"needs {case[key]}")


def flow_for(fnf, case, definition):
    """The flow running `definition`: named as the definition names itself (legacy
    definitions have no name), created the first time, updated when another file uses it."""
    written = re.search(r"^Name: *(\S+)", definition, re.MULTILINE)
    name = written.group(1) if written else "documented_legacy"
    if name not in FLOWS:
        fnf.create_flow(m.CreateFlowRequest(name=name, definition=definition, description=case["page"], type="FDL"))
    elif FLOWS[name] != case["file"]:
        fnf.update_flow(m.UpdateFlowRequest(name=name, definition=definition))
    FLOWS[name] = case["file"]
    return name


def history(fnf, flow, execution):
    return fnf.get_execution_history(
        m.GetExecutionHistoryRequest(flow_name=flow, execution_name=execution, limit=1000)).body.events


@pytest.mark.parametrize("case", params([c for c in CASES if not is_functiongraph(c)]))
def test_a_documented_cloudflow_example_runs_as_the_page_says(documented, functions, case):
    skip_unless_built(case)
    expect = case["expect"]
    for function, spec in case.get("functions", {}).items():
        functions.register(f"{FUNCTIONS}/{function}", behaviour(spec))
    calls_before = {f: len(functions.calls_to(f"{FUNCTIONS}/{f}")) for f in expect.get("calls", {})}
    fnf = documented.client()
    flow = flow_for(fnf, case, (ROOT / case["file"]).read_text())

    execution = f"doc-{uuid.uuid4().hex[:12]}"
    began = time.monotonic()
    start(fnf, flow, execution, case["input"])
    deadline = began + 60
    while (done := describe(fnf, flow, execution, wait=5)).status not in TERMINAL:
        assert time.monotonic() < deadline, f"still {done.status}"
    took = time.monotonic() - began

    events = history(fnf, flow, execution)
    entered = [e.step_name for e in events if e.type == "StepEntered"]
    if expect["exit"] == 0:
        assert done.status == "Succeeded", events[-1].event_detail
        if "output" in expect:
            assert json.loads(done.output) == expect["output"]
    else:
        assert done.status == "Failed"
        assert expect["error"] in json.loads(events[-1].event_detail).values(), events[-1].event_detail
    seen = iter(entered)
    assert all(step in seen for step in expect.get("entered", [])), entered
    assert not set(expect.get("not_entered", [])) & set(entered), entered
    for function, count in expect.get("calls", {}).items():
        # An asynchronous invocation's state is done once the request is on its way: the
        # function server may count it a moment later.
        wait_for(lambda: len(functions.calls_to(f"{FUNCTIONS}/{function}")) - calls_before[function] >= count)
        assert len(functions.calls_to(f"{FUNCTIONS}/{function}")) - calls_before[function] == count
    assert took >= expect.get("min_seconds", 0)


@pytest.mark.parametrize("case", params([c for c in CASES if is_functiongraph(c)]))
def test_a_documented_functiongraph_example_is_answered_as_the_case_says(documented, case):
    """The CreateWorkflow request example, sent as the page gives it (a JSON body); sluice
    refuses it, saying why (the case's `differs`)."""
    skip_unless_built(case)
    fgs = documented.huawei(fg.FunctionGraphClient)
    body = json.loads((ROOT / case["file"]).read_text())
    expect = case["expect"]
    assert expect["exit"] == 2, "only refusals are documented for FunctionGraph so far"
    with pytest.raises(ClientRequestException) as refused:
        fgs.create_workflow(fg.CreateWorkflowRequest(body=body))
    assert (refused.value.status_code, refused.value.error_code) == (400, "FSS.0400")
    for text in expect["stderr"]:
        assert text in refused.value.error_msg
    assert not fgs.list_workflow(fg.ListWorkflowRequest(workflow_name=body["name"])).workflows

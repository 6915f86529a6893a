"""Running a published version or an alias through the official SDK (alibabacloud-fnf20190315):
StartExecution and StartSyncExecution with `Qualifier` run that version's definition, an alias
routes each start by its weights, DescribeFlow with `FlowVersion` shows a version, a version an
alias routes to cannot be deleted, and a NextToken no listing handed out is refused.
"""

import json

import pytest
from alibabacloud_fnf20190315 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from conftest import ROOT
from test_cloudflow import create, describe, error_code, start, unique, wait_flow


SAYS = (ROOT / "crates/service/tests/data/says.yaml").read_text()


def says(name, n):
    """A flow whose output says which definition ran."""
    return SAYS.replace("FLOW", name).replace("NUMBER", str(n))


def flow_with_versions(fnf, mode="Standard"):
    """A flow with versions "1" and "2" (saying 1 and 2) whose current definition says 3."""
    flow = unique("versioned")
    fnf.create_flow(
        m.CreateFlowRequest(name=flow, definition=says(flow, 1), description="", type="FDL", execution_mode=mode)
    )
    versions = []
    for n in (2, 3):
        versions.append(fnf.publish_flow_version(m.PublishFlowVersionRequest(flow_name=flow)).body.version)
        fnf.update_flow(m.UpdateFlowRequest(name=flow, definition=says(flow, n)))
    assert versions == ["1", "2"]
    return flow


def started(fnf, flow, name, qualifier=None):
    return fnf.start_execution(
        m.StartExecutionRequest(flow_name=flow, execution_name=name, input="{}", qualifier=qualifier)
    ).body


def ran(fnf, flow, name, qualifier=None):
    """Which definition an execution started with `qualifier` ran, and the definition
    DescribeExecution reports for it."""
    started(fnf, flow, name, qualifier)
    done = describe(fnf, flow, name, wait=10)
    assert done.status == "Succeeded"
    return json.loads(done.output)["definition"], done.flow_definition


def alias(fnf, flow, name, weights, update=False):
    if update:
        routes = [m.UpdateFlowAliasRequestRoutingConfigurations(version=v, weight=w) for v, w in weights]
        return fnf.update_flow_alias(m.UpdateFlowAliasRequest(flow_name=flow, name=name, routing_configurations=routes))
    routes = [m.CreateFlowAliasRequestRoutingConfigurations(version=v, weight=w) for v, w in weights]
    return fnf.create_flow_alias(m.CreateFlowAliasRequest(flow_name=flow, name=name, routing_configurations=routes))


def test_a_start_with_a_version_runs_that_versions_definition(fnf):
    flow = flow_with_versions(fnf)
    first = started(fnf, flow, "first", qualifier="1")
    assert first.flow_definition == says(flow, 1)
    assert ran(fnf, flow, "again-1", "1") == (1, says(flow, 1))
    assert ran(fnf, flow, "on-2", "2") == (2, says(flow, 2))
    assert ran(fnf, flow, "latest") == (3, says(flow, 3))
    listed = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions
    assert {e.name: e.flow_definition for e in listed}["on-2"] == says(flow, 2)

    assert fnf.describe_flow(m.DescribeFlowRequest(name=flow, flow_version="1")).body.definition == says(flow, 1)
    assert fnf.describe_flow(m.DescribeFlowRequest(name=flow, flow_version="2")).body.definition == says(flow, 2)
    assert fnf.describe_flow(m.DescribeFlowRequest(name=flow)).body.definition == says(flow, 3)


def test_an_alias_routes_each_start_by_its_weights(fnf):
    flow = flow_with_versions(fnf)
    alias(fnf, flow, "prod", [("1", 0), ("2", 100)])
    assert {ran(fnf, flow, f"all-on-2-{i}", "prod")[0] for i in range(5)} == {2}
    alias(fnf, flow, "prod", [("1", 100)], update=True)
    assert {ran(fnf, flow, f"all-on-1-{i}", "prod")[0] for i in range(5)} == {1}

    alias(fnf, flow, "prod", [("1", 50), ("2", 50)], update=True)
    seen = [ran(fnf, flow, f"half-{i}", "prod") for i in range(40)]
    # Each start rolls on its own: 40 fair rolls all alike is a 2^-39 chance.
    assert {n for n, _ in seen} == {1, 2}
    assert all(definition == says(flow, n) for n, definition in seen)


def test_start_sync_execution_runs_a_version_or_an_alias(fnf):
    flow = flow_with_versions(fnf, mode="Express")
    alias(fnf, flow, "live", [("2", 100)])

    def sync(qualifier):
        body = fnf.start_sync_execution(
            m.StartSyncExecutionRequest(flow_name=flow, input="{}", qualifier=qualifier)
        ).body
        assert body.status == "Succeeded"
        return json.loads(body.output)["definition"]

    assert [sync("1"), sync("2"), sync("live"), sync(None)] == [1, 2, 2, 3]


def test_an_unknown_version_or_alias_starts_nothing(fnf):
    flow = flow_with_versions(fnf)
    for qualifier in ("99", "nosuch", "9" * 40, "not an alias!", "x" * 5000):
        with pytest.raises(ClientException) as refused:
            started(fnf, flow, "x", qualifier)
        assert (refused.value.code, refused.value.status_code) == ("InvalidArgument", 400), qualifier[:20]
        assert len(refused.value.message) < 300, "the qualifier is not quoted back at any length"
    assert not fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions
    assert error_code(
        lambda: fnf.describe_flow(m.DescribeFlowRequest(name=flow, flow_version="99"))
    ) == ("InvalidArgument", 400)


def test_an_alias_routes_to_one_or_two_existing_versions(fnf):
    flow = flow_with_versions(fnf)
    fnf.publish_flow_version(m.PublishFlowVersionRequest(flow_name=flow))
    for weights in ([("1", 30), ("2", 30), ("3", 40)], [("1", 50), ("1", 50)], [("1", 60)], [("7", 100)]):
        assert error_code(lambda: alias(fnf, flow, "bad", weights)) == ("InvalidArgument", 400), weights
    assert not fnf.list_flow_aliases(m.ListFlowAliasesRequest(flow_name=flow)).body.aliases


def test_a_version_an_alias_routes_to_cannot_be_deleted(fnf):
    flow = flow_with_versions(fnf)
    alias(fnf, flow, "canary", [("1", 90), ("2", 10)])

    def delete(version):
        return fnf.delete_flow_version(m.DeleteFlowVersionRequest(flow_name=flow, flow_version=version))

    for version in ("1", "2"):
        with pytest.raises(ClientException) as refused:
            delete(version)
        assert (refused.value.code, refused.value.status_code) == ("InvalidArgument", 400)
        assert f"flow version {version} of flow {flow} cannot be deleted: alias canary routes to it" \
            in refused.value.message
    assert [v.version for v in fnf.list_flow_versions(m.ListFlowVersionsRequest(flow_name=flow)).body.flow_versions] \
        == ["2", "1"]

    alias(fnf, flow, "canary", [("2", 100)], update=True)
    delete("1")
    assert error_code(lambda: started(fnf, flow, "gone", "1")) == ("InvalidArgument", 400)
    assert ran(fnf, flow, "still-routed", "canary")[0] == 2


def test_an_execution_keeps_running_the_version_it_started_with(fnf):
    flow = unique("keeps")
    create(fnf, flow, wait_flow(flow, 300))
    fnf.publish_flow_version(m.PublishFlowVersionRequest(flow_name=flow))
    started(fnf, flow, "long", "1")
    fnf.update_flow(m.UpdateFlowRequest(name=flow, definition=says(flow, 2)))
    fnf.delete_flow_version(m.DeleteFlowVersionRequest(flow_name=flow, flow_version="1"))
    running = describe(fnf, flow, "long")
    assert running.status == "Running" and running.flow_definition == wait_flow(flow, 300)
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="long"))
    assert describe(fnf, flow, "long").status == "Stopped"


def test_a_next_token_no_listing_handed_out_is_refused(fnf):
    flow = flow_with_versions(fnf)
    alias(fnf, flow, "a1", [("1", 100)])
    alias(fnf, flow, "a2", [("2", 100)])
    for i in range(3):
        start(fnf, flow, f"e{i}")
        fnf.create_schedule(m.CreateScheduleRequest(
            flow_name=flow, schedule_name=f"s{i}", cron_expression="@every 1h", enable=False))
    listings = {
        "flows": lambda token, limit=1: fnf.list_flows(m.ListFlowsRequest(limit=limit, next_token=token)).body,
        "executions": lambda token, limit=1: fnf.list_executions(
            m.ListExecutionsRequest(flow_name=flow, limit=limit, next_token=token)).body,
        "schedules": lambda token, limit=1: fnf.list_schedules(
            m.ListSchedulesRequest(flow_name=flow, limit=limit, next_token=token)).body,
        "aliases": lambda token, limit=1: fnf.list_flow_aliases(
            m.ListFlowAliasesRequest(flow_name=flow, limit=limit, next_token=token)).body,
        "versions": lambda token, limit=1: fnf.list_flow_versions(
            m.ListFlowVersionsRequest(flow_name=flow, limit=str(limit), next_token=token)).body,
        "history": lambda token, limit=1: fnf.get_execution_history(
            m.GetExecutionHistoryRequest(flow_name=flow, execution_name="e0", limit=limit, next_token=token)).body,
    }
    tokens = {}
    for name, listing in listings.items():
        tokens[name] = listing(None).next_token
        assert tokens[name], name
        assert listing(tokens[name]).request_id, name
        for garbage in ("garbage", "e0", flow, "%00", "x" * 2000):
            assert error_code(lambda: listing(garbage)) == ("InvalidArgument", 400), (name, garbage[:20])
    # A token is good for the listing that handed it out only.
    for name in ("flows", "executions", "schedules", "aliases"):
        other = tokens["aliases" if name != "aliases" else "schedules"]
        assert error_code(lambda: listings[name](other)) == ("InvalidArgument", 400), name

"""Every CloudFlow action through the official SDK, asserting what a user would check."""

import inspect
import json
import re
import time

from alibabacloud_fnf20190315 import models as m

from functions import answer, echo
from test_cloudflow import create, describe, error_code, pass_flow, start, task_flow, unique, wait_for, wait_flow


def express_flow(name):
    return pass_flow(name)


def failing_flow(name):
    return f"""Type: StateMachine
Name: {name}
SpecVersion: v1
StartAt: Boom
States:
  - Type: Fail
    Name: Boom
    Code: Boom.Error
    Detail: on purpose
"""


# ---- flows ---------------------------------------------------------------------------------


def test_create_describe_update_delete_flow(fnf):
    name = unique("crud")
    created = create(fnf, name, pass_flow(name), "first")
    assert created.name == name
    assert created.execution_mode == "Standard"
    assert created.definition == pass_flow(name)
    assert created.request_id

    described = fnf.describe_flow(m.DescribeFlowRequest(name=name)).body
    assert described.name == name and described.description == "first"
    assert described.created_time == created.created_time

    new_definition = wait_flow(name, 1)
    updated = fnf.update_flow(
        m.UpdateFlowRequest(name=name, definition=new_definition, description="second", type="FDL")
    ).body
    assert updated.definition == new_definition and updated.description == "second"
    assert updated.last_modified_time >= created.last_modified_time
    assert fnf.describe_flow(m.DescribeFlowRequest(name=name)).body.definition == new_definition

    # Absent fields are left unchanged.
    fnf.update_flow(m.UpdateFlowRequest(name=name, description="third"))
    described = fnf.describe_flow(m.DescribeFlowRequest(name=name)).body
    assert described.definition == new_definition and described.description == "third"

    fnf.delete_flow(m.DeleteFlowRequest(name=name))
    assert error_code(lambda: fnf.describe_flow(m.DescribeFlowRequest(name=name))) == ("FlowNotExists", 404)
    listed = fnf.list_flows(m.ListFlowsRequest(limit=1000)).body.flows or []
    assert name not in [f.name for f in listed]
    # The name can be used again.
    assert create(fnf, name, pass_flow(name)).name == name


def test_list_flows_paginates_with_limit_and_next_token(fnf):
    prefix = unique("page")
    names = sorted(f"{prefix}_{i}" for i in range(5))
    for name in names:
        create(fnf, name, pass_flow(name))

    seen, token, pages = [], None, 0
    while True:
        body = fnf.list_flows(m.ListFlowsRequest(limit=2, next_token=token)).body
        assert len(body.flows) <= 2
        seen += [f.name for f in body.flows]
        pages += 1
        token = body.next_token
        if not token:
            break
        assert pages < 1000
    assert len(seen) == len(set(seen)), "a flow was listed twice"
    assert [n for n in seen if n.startswith(prefix)] == names or sorted(
        n for n in seen if n.startswith(prefix)
    ) == names
    everything = fnf.list_flows(m.ListFlowsRequest(limit=1000)).body
    assert set(names) <= {f.name for f in everything.flows}
    assert sorted(seen) == sorted(f.name for f in everything.flows)


# ---- executions ----------------------------------------------------------------------------


def test_start_execution_is_idempotent_for_a_running_name(fnf):
    flow = unique("idem")
    create(fnf, flow, wait_flow(flow, 300))
    first = start(fnf, flow, "same", {"a": 1})
    again = start(fnf, flow, "same", {"a": 1})
    assert again.name == first.name == "same"
    assert again.started_time == first.started_time
    assert again.status == "Running"
    executions = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions
    assert [e.name for e in executions] == ["same"]
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="same"))
    # Once finished, the name is taken.
    assert error_code(lambda: start(fnf, flow, "same", {"a": 1})) == ("ExecutionAlreadyExists", 400)


def test_start_execution_on_a_finished_name_is_refused(fnf):
    flow = unique("finished")
    create(fnf, flow, pass_flow(flow))
    start(fnf, flow, "once", {"name": "a"})
    assert describe(fnf, flow, "once", wait=10).status == "Succeeded"
    assert error_code(lambda: start(fnf, flow, "once", {"name": "a"})) == ("ExecutionAlreadyExists", 400)
    # The finished execution is untouched.
    assert json.loads(describe(fnf, flow, "once").output) == {"greeting": "Hello, a!"}


def test_start_execution_without_a_name_generates_one(fnf):
    flow = unique("noname")
    create(fnf, flow, pass_flow(flow))
    started = start(fnf, flow, None, {"name": "x"})
    assert started.name
    assert describe(fnf, flow, started.name, wait=10).status == "Succeeded"


def test_start_sync_execution_on_an_express_flow(fnf):
    flow = unique("express")
    fnf.create_flow(
        m.CreateFlowRequest(
            name=flow, definition=express_flow(flow), description="x", type="FDL", execution_mode="Express"
        )
    )
    assert fnf.describe_flow(m.DescribeFlowRequest(name=flow)).body.execution_mode == "Express"
    result = fnf.start_sync_execution(
        m.StartSyncExecutionRequest(flow_name=flow, execution_name="sync", input=json.dumps({"name": "sync"}))
    ).body
    assert result.status == "Succeeded"
    assert json.loads(result.output) == {"greeting": "Hello, sync!"}
    assert result.name.startswith("sync:")
    assert result.flow_name == flow and result.started_time and result.stopped_time
    # Names are not unique for Express executions.
    again = fnf.start_sync_execution(
        m.StartSyncExecutionRequest(flow_name=flow, execution_name="sync", input=json.dumps({"name": "b"}))
    ).body
    assert again.status == "Succeeded" and again.name != result.name


def test_start_sync_execution_reports_a_failure(fnf):
    flow = unique("express_fail")
    fnf.create_flow(
        m.CreateFlowRequest(
            name=flow, definition=failing_flow(flow), description="x", type="FDL", execution_mode="Express"
        )
    )
    result = fnf.start_sync_execution(m.StartSyncExecutionRequest(flow_name=flow, input="{}")).body
    assert result.status == "Failed"
    assert result.error_code == "Boom.Error"
    assert result.name


def test_start_sync_execution_on_a_standard_flow_is_an_error(fnf):
    flow = unique("standard")
    create(fnf, flow, pass_flow(flow))
    code, status = error_code(
        lambda: fnf.start_sync_execution(m.StartSyncExecutionRequest(flow_name=flow, input="{}"))
    )
    assert status == 400 and code in ("ActionNotSupported", "InvalidArgument")
    assert not fnf.list_executions(m.ListExecutionsRequest(flow_name=flow)).body.executions


def test_start_execution_on_an_express_flow_is_an_error(fnf):
    flow = unique("express_async")
    fnf.create_flow(
        m.CreateFlowRequest(
            name=flow, definition=express_flow(flow), description="x", type="FDL", execution_mode="Express"
        )
    )
    code, status = error_code(lambda: start(fnf, flow, "e"))
    assert status == 400 and code in ("ActionNotSupported", "InvalidArgument")


def test_describe_execution_long_poll_returns_when_the_execution_ends(fnf):
    flow = unique("longpoll")
    create(fnf, flow, wait_flow(flow, 2))
    start(fnf, flow, "lp")
    began = time.monotonic()
    assert describe(fnf, flow, "lp").status == "Running"
    done = describe(fnf, flow, "lp", wait=20)
    elapsed = time.monotonic() - began
    assert done.status == "Succeeded"
    assert 1.5 < elapsed < 6, f"long poll answered after {elapsed:.1f}s"


def test_describe_execution_long_poll_times_out_on_a_running_execution(fnf):
    flow = unique("longpoll_timeout")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "lp")
    began = time.monotonic()
    assert describe(fnf, flow, "lp", wait=1).status == "Running"
    assert 0.8 < time.monotonic() - began < 5
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="lp"))


def test_describe_execution_long_poll_returns_on_a_stop(fnf):
    flow = unique("longpoll_stop")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "lp")
    import threading

    result = {}

    def poll():
        result["body"] = describe(fnf, flow, "lp", wait=30)
        result["at"] = time.monotonic()

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    stopped_at = time.monotonic()
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="lp", error="E", cause="C"))
    poller.join(timeout=20)
    assert result["body"].status == "Stopped"
    assert result["at"] - stopped_at < 3


def test_stop_execution(fnf):
    flow = unique("stop")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "s", {"k": "v"})
    stopped = fnf.stop_execution(
        m.StopExecutionRequest(flow_name=flow, execution_name="s", error="Manual", cause="test")
    ).body
    assert stopped.status == "Stopped" and stopped.stopped_time and stopped.name == "s"
    assert stopped.flow_name == flow
    assert json.loads(stopped.input) == {"k": "v"}
    events = fnf.get_execution_history(m.GetExecutionHistoryRequest(flow_name=flow, execution_name="s")).body.events
    assert events[-1].type == "ExecutionStopped"
    assert "Manual" in events[-1].event_detail


def test_list_executions_filters_and_paginates(fnf):
    flow = unique("listing")
    create(fnf, flow, wait_flow(flow, 300))
    for name in ("alpha-1", "alpha-2", "alpha-3", "beta-1"):
        start(fnf, flow, name)
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="alpha-2"))

    def names(**kwargs):
        return sorted(e.name for e in fnf.list_executions(m.ListExecutionsRequest(flow_name=flow, **kwargs)).body.executions or [])

    assert names() == ["alpha-1", "alpha-2", "alpha-3", "beta-1"]
    assert names(status="Running") == ["alpha-1", "alpha-3", "beta-1"]
    assert names(status="Stopped") == ["alpha-2"]
    assert names(status="Succeeded") == []
    assert names(execution_name_prefix="alpha") == ["alpha-1", "alpha-2", "alpha-3"]
    assert names(execution_name_prefix="alpha", status="Running") == ["alpha-1", "alpha-3"]

    seen, token = [], None
    for _ in range(10):
        body = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow, limit=3, next_token=token)).body
        assert len(body.executions) <= 3
        seen += [e.name for e in body.executions]
        token = body.next_token
        if not token:
            break
    assert sorted(seen) == ["alpha-1", "alpha-2", "alpha-3", "beta-1"]

    listed = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow, status="Stopped")).body.executions[0]
    assert listed.status == "Stopped" and listed.stopped_time and listed.flow_name == flow
    for name in ("alpha-1", "alpha-3", "beta-1"):
        fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name=name))


def test_get_execution_history_paginates_by_next_token(fnf, functions):
    functions.register("/e2e/echo", echo())
    flow = unique("history_pages")
    create(fnf, flow, task_flow(flow, "echo"))
    start(fnf, flow, "h", {"a": 1})
    assert describe(fnf, flow, "h", wait=10).status == "Succeeded"
    full = fnf.get_execution_history(
        m.GetExecutionHistoryRequest(flow_name=flow, execution_name="h", limit=1000)
    ).body
    assert not full.next_token
    assert len(full.events) >= 4

    paged, token, calls = [], None, 0
    while True:
        body = fnf.get_execution_history(
            m.GetExecutionHistoryRequest(flow_name=flow, execution_name="h", limit=2, next_token=token)
        ).body
        assert len(body.events) <= 2
        paged += body.events
        calls += 1
        token = body.next_token
        if not token:
            break
        assert calls < 100
    assert [e.event_id for e in paged] == [e.event_id for e in full.events]
    assert [e.type for e in paged] == [e.type for e in full.events]
    assert calls >= len(full.events) // 2


def test_report_task_succeeded_and_failed(fnf, functions):
    functions.register("/e2e/callback", answer({"ok": True}))
    flow = unique("report")
    create(fnf, flow, task_flow(flow, "callback", extra="    TaskMode: WaitForCustomCallback\n", token=True))

    def token_for(execution):
        start(fnf, flow, execution, {"execution": execution})
        call = wait_for(
            lambda: next(
                (c for c in functions.calls_to("/e2e/callback") if c.body.get("order") == {"execution": execution}),
                None,
            )
        )
        return call.body["token"]

    ok_token = token_for("ok")
    event = fnf.report_task_succeeded(
        m.ReportTaskSucceededRequest(task_token=ok_token, output=json.dumps({"result": 42}))
    ).body
    assert event.event_id > 0 and event.request_id
    done = describe(fnf, flow, "ok", wait=10)
    assert done.status == "Succeeded" and json.loads(done.output) == {"result": 42}

    bad_token = token_for("bad")
    failed = fnf.report_task_failed(
        m.ReportTaskFailedRequest(task_token=bad_token, error="Rejected.ByHuman", cause="no way")
    ).body
    assert failed.event_id > 0
    done = describe(fnf, flow, "bad", wait=10)
    assert done.status == "Failed"
    events = fnf.get_execution_history(m.GetExecutionHistoryRequest(flow_name=flow, execution_name="bad")).body.events
    assert "Rejected.ByHuman" in events[-1].event_detail


# ---- schedules -----------------------------------------------------------------------------


def test_schedule_lifecycle(fnf):
    flow = unique("sched")
    create(fnf, flow, pass_flow(flow))
    created = fnf.create_schedule(
        m.CreateScheduleRequest(
            flow_name=flow,
            schedule_name="every-minute",
            cron_expression="@every 1m",
            payload=json.dumps({"name": "cron"}),
            description="minutely",
            enable=True,
        )
    ).body
    assert created.schedule_name == "every-minute"
    assert created.cron_expression == "@every 1m"
    assert created.enable is True and created.schedule_id and created.created_time

    described = fnf.describe_schedule(m.DescribeScheduleRequest(flow_name=flow, schedule_name="every-minute")).body
    assert described.cron_expression == "@every 1m"
    assert json.loads(described.payload) == {"name": "cron"}
    assert described.description == "minutely" and described.enable is True

    updated = fnf.update_schedule(
        m.UpdateScheduleRequest(
            flow_name=flow, schedule_name="every-minute", cron_expression="0 */5 * * * *", enable=False,
            description="five",
        )
    ).body
    assert updated.cron_expression == "0 */5 * * * *" and updated.enable is False
    described = fnf.describe_schedule(m.DescribeScheduleRequest(flow_name=flow, schedule_name="every-minute")).body
    assert described.cron_expression == "0 */5 * * * *" and described.enable is False
    assert described.description == "five"
    assert json.loads(described.payload) == {"name": "cron"}, "an absent Payload must be left unchanged"

    for i in range(3):
        fnf.create_schedule(
            m.CreateScheduleRequest(flow_name=flow, schedule_name=f"extra-{i}", cron_expression="@every 1h")
        )
    seen, token = [], None
    for _ in range(10):
        body = fnf.list_schedules(m.ListSchedulesRequest(flow_name=flow, limit=2, next_token=token)).body
        assert len(body.schedules) <= 2
        seen += [s.schedule_name for s in body.schedules]
        token = body.next_token
        if not token:
            break
    assert sorted(seen) == ["every-minute", "extra-0", "extra-1", "extra-2"]

    fnf.delete_schedule(m.DeleteScheduleRequest(flow_name=flow, schedule_name="every-minute"))
    assert error_code(
        lambda: fnf.describe_schedule(m.DescribeScheduleRequest(flow_name=flow, schedule_name="every-minute"))
    ) == ("ScheduleNotExists", 404)
    listed = fnf.list_schedules(m.ListSchedulesRequest(flow_name=flow)).body.schedules
    assert sorted(s.schedule_name for s in listed) == ["extra-0", "extra-1", "extra-2"]


def test_schedule_validation(fnf):
    flow = unique("sched_bad")
    create(fnf, flow, pass_flow(flow))
    for cron in ("not a cron", "* * * * *", "@every 30s", "@every 0m", "*/10 * * * * *", "CRON_TZ=Mars/Base 0 0 0 * * *"):
        code = error_code(
            lambda: fnf.create_schedule(m.CreateScheduleRequest(flow_name=flow, schedule_name="s", cron_expression=cron))
        )
        assert code == ("InvalidArgument", 400), cron
    assert not fnf.list_schedules(m.ListSchedulesRequest(flow_name=flow)).body.schedules
    fnf.create_schedule(m.CreateScheduleRequest(flow_name=flow, schedule_name="s", cron_expression="@every 2h"))
    assert error_code(
        lambda: fnf.create_schedule(m.CreateScheduleRequest(flow_name=flow, schedule_name="s", cron_expression="@every 1h"))
    ) == ("ScheduleAlreadyExists", 409)
    assert error_code(
        lambda: fnf.update_schedule(m.UpdateScheduleRequest(flow_name=flow, schedule_name="s", cron_expression="bad"))
    ) == ("InvalidArgument", 400)
    assert (
        fnf.describe_schedule(m.DescribeScheduleRequest(flow_name=flow, schedule_name="s")).body.cron_expression
        == "@every 2h"
    )
    assert error_code(
        lambda: fnf.create_schedule(
            m.CreateScheduleRequest(flow_name=unique("none"), schedule_name="s", cron_expression="@every 1h")
        )
    ) == ("FlowNotExists", 404)
    assert error_code(
        lambda: fnf.create_schedule(
            m.CreateScheduleRequest(flow_name=flow, schedule_name="p", cron_expression="@every 1h", payload="[not json")
        )
    ) == ("InvalidArgument", 400)


# ---- versions and aliases ------------------------------------------------------------------


def test_flow_versions(fnf):
    flow = unique("versions")
    create(fnf, flow, pass_flow(flow))
    first = fnf.publish_flow_version(m.PublishFlowVersionRequest(flow_name=flow, description="v1")).body
    assert first.flow_name == flow and first.version
    fnf.update_flow(m.UpdateFlowRequest(name=flow, definition=wait_flow(flow, 1)))
    second = fnf.publish_flow_version(m.PublishFlowVersionRequest(flow_name=flow, description="v2")).body
    assert second.version != first.version

    listed = fnf.list_flow_versions(m.ListFlowVersionsRequest(flow_name=flow)).body
    assert sorted(v.version for v in listed.flow_versions) == sorted([first.version, second.version])
    by_version = {v.version: v for v in listed.flow_versions}
    assert by_version[first.version].description == "v1"
    assert by_version[second.version].created_time

    page = fnf.list_flow_versions(m.ListFlowVersionsRequest(flow_name=flow, limit="1")).body
    assert len(page.flow_versions) == 1 and page.next_token
    rest = fnf.list_flow_versions(m.ListFlowVersionsRequest(flow_name=flow, limit="1", next_token=page.next_token)).body
    assert {page.flow_versions[0].version, rest.flow_versions[0].version} == {first.version, second.version}

    fnf.delete_flow_version(m.DeleteFlowVersionRequest(flow_name=flow, flow_version=first.version))
    listed = fnf.list_flow_versions(m.ListFlowVersionsRequest(flow_name=flow)).body
    assert [v.version for v in listed.flow_versions] == [second.version]


def test_flow_aliases(fnf):
    flow = unique("aliases")
    create(fnf, flow, pass_flow(flow))
    v1 = fnf.publish_flow_version(m.PublishFlowVersionRequest(flow_name=flow)).body.version
    v2 = fnf.publish_flow_version(m.PublishFlowVersionRequest(flow_name=flow)).body.version
    routing = m.CreateFlowAliasRequestRoutingConfigurations

    created = fnf.create_flow_alias(
        m.CreateFlowAliasRequest(
            flow_name=flow, name="prod", description="production", routing_configurations=[routing(version=v1, weight=100)]
        )
    ).body
    assert created.name == "prod" and created.flow_name == flow and created.description == "production"
    assert [(r.version, r.weight) for r in created.routing_configurations] == [(v1, 100)]

    alias = fnf.describe_flow_alias(m.DescribeFlowAliasRequest(flow_name=flow, name="prod")).body.alias
    assert alias.name == "prod" and alias.created_time
    assert [(r.version, r.weight) for r in alias.routing_configurations] == [(v1, 100)]

    fnf.update_flow_alias(
        m.UpdateFlowAliasRequest(
            flow_name=flow,
            name="prod",
            description="canary",
            routing_configurations=[
                m.UpdateFlowAliasRequestRoutingConfigurations(version=v1, weight=90),
                m.UpdateFlowAliasRequestRoutingConfigurations(version=v2, weight=10),
            ],
        )
    )
    alias = fnf.describe_flow_alias(m.DescribeFlowAliasRequest(flow_name=flow, name="prod")).body.alias
    assert alias.description == "canary"
    assert sorted((r.version, r.weight) for r in alias.routing_configurations) == sorted([(v1, 90), (v2, 10)])

    fnf.create_flow_alias(
        m.CreateFlowAliasRequest(flow_name=flow, name="staging", routing_configurations=[routing(version=v2, weight=100)])
    )
    listed = fnf.list_flow_aliases(m.ListFlowAliasesRequest(flow_name=flow)).body.aliases
    assert sorted(a.name for a in listed) == ["prod", "staging"]
    page = fnf.list_flow_aliases(m.ListFlowAliasesRequest(flow_name=flow, limit=1)).body
    assert len(page.aliases) == 1 and page.next_token
    rest = fnf.list_flow_aliases(m.ListFlowAliasesRequest(flow_name=flow, limit=1, next_token=page.next_token)).body
    assert sorted([page.aliases[0].name, rest.aliases[0].name]) == ["prod", "staging"]

    fnf.delete_flow_alias(m.DeleteFlowAliasRequest(flow_name=flow, name="prod"))
    listed = fnf.list_flow_aliases(m.ListFlowAliasesRequest(flow_name=flow)).body.aliases
    assert [a.name for a in listed] == ["staging"]
    code, status = error_code(lambda: fnf.describe_flow_alias(m.DescribeFlowAliasRequest(flow_name=flow, name="prod")))
    assert status in (400, 404)


def test_describe_regions(fnf):
    body = fnf.describe_regions(m.DescribeRegionsRequest(accept_language="en")).body
    assert body.request_id
    regions = body.regions.region
    assert len(regions) >= 1 and regions[0].region_id


# ---- success bodies carry only fields the SDK reads ------------------------------------------


def unread_fields(raw, parsed, path=""):
    """Keys of the raw body that the SDK model dropped (a misspelt or misplaced field)."""
    missing = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            if not isinstance(parsed, dict) or key not in parsed:
                missing.append(f"{path}{key}")
            else:
                missing += unread_fields(value, parsed[key], f"{path}{key}.")
    elif isinstance(raw, list) and isinstance(parsed, list):
        for i, (r, p) in enumerate(zip(raw, parsed)):
            missing += unread_fields(r, p, f"{path}{i}.")
    return missing


def test_every_success_body_field_is_one_the_sdk_reads(sluice, fnf, functions):
    from test_cloudflow_errors import raw_call

    functions.register("/e2e/echo", echo())
    flow = unique("fields")
    sync_flow = unique("fields_sync")
    port = sluice.port
    env = json.dumps({"Variables": [{"Name": "A", "Value": "1"}]})
    calls = [
        ("CreateFlow", "POST", {"Name": flow, "Definition": task_flow(flow, "echo"), "Type": "FDL",
                                "Description": "d", "Environment": env}),
        ("CreateFlow", "POST", {"Name": sync_flow, "Definition": pass_flow(sync_flow), "Type": "FDL",
                                "ExecutionMode": "Express"}),
        ("DescribeFlow", "GET", {"Name": flow}),
        ("UpdateFlow", "POST", {"Name": flow, "Description": "e"}),
        ("ListFlows", "GET", {"Limit": "1"}),
        ("StartExecution", "POST", {"FlowName": flow, "ExecutionName": "x", "Input": "{}"}),
        ("DescribeExecution", "GET", {"FlowName": flow, "ExecutionName": "x", "WaitTimeSeconds": "10"}),
        ("ListExecutions", "GET", {"FlowName": flow}),
        ("GetExecutionHistory", "GET", {"FlowName": flow, "ExecutionName": "x", "Limit": "2"}),
        ("StartSyncExecution", "POST", {"FlowName": sync_flow, "Input": json.dumps({"name": "n"})}),
        ("CreateSchedule", "POST", {"FlowName": flow, "ScheduleName": "s", "CronExpression": "@every 1h",
                                    "Payload": "{}", "Enable": "true"}),
        ("DescribeSchedule", "GET", {"FlowName": flow, "ScheduleName": "s"}),
        ("UpdateSchedule", "POST", {"FlowName": flow, "ScheduleName": "s", "Enable": "false"}),
        ("ListSchedules", "GET", {"FlowName": flow}),
        ("PublishFlowVersion", "POST", {"FlowName": flow, "Description": "v"}),
        ("ListFlowVersions", "GET", {"FlowName": flow}),
        ("CreateFlowAlias", "POST", {"FlowName": flow, "Name": "a",
                                     "RoutingConfigurations": json.dumps([{"Version": "1", "Weight": 100}])}),
        ("DescribeFlowAlias", "GET", {"FlowName": flow, "Name": "a"}),
        ("UpdateFlowAlias", "POST", {"FlowName": flow, "Name": "a", "Description": "b"}),
        ("ListFlowAliases", "GET", {"FlowName": flow}),
        ("DeleteFlowAlias", "POST", {"FlowName": flow, "Name": "a"}),
        ("DeleteSchedule", "POST", {"FlowName": flow, "ScheduleName": "s"}),
        ("DescribeRegions", "POST", {}),
        ("DeleteFlowVersion", "POST", {"FlowName": flow, "FlowVersion": "1"}),
        ("DeleteFlow", "POST", {"Name": sync_flow}),
    ]
    # Extras the SDK ignores: harmless, and useful to other clients.
    harmless = {
        "UpdateFlow": ["ExecutionMode"],
        "StartExecution": ["Environment"],
        "ListFlowVersions": ["FlowName"],
        "CreateFlowAlias": ["LastModifiedTime"],
        "DescribeFlowAlias": ["Alias.LastModifiedTime"],
        "UpdateFlowAlias": ["Alias.LastModifiedTime"],
        "ListFlowAliases": ["FlowName", "Aliases.0.LastModifiedTime"],
    }
    unread_by_action, unsent_by_action = {}, {}
    for action, method, params in calls:
        status, raw = raw_call(port, action, params, method=method)
        assert status == 200, (action, raw)
        model = getattr(m, f"{action}ResponseBody")
        parsed = model().from_map(raw).to_map()
        unread = [f for f in unread_fields(raw, parsed) if f not in harmless.get(action, [])]
        if unread:
            unread_by_action[action] = unread
        read = set(re.findall(r"m\.get\('(\w+)'\)", inspect.getsource(model.from_map)))
        unsent = sorted(read - set(raw) - OPTIONAL_FIELDS)
        if unsent:
            unsent_by_action[action] = unsent
    assert not unread_by_action, f"fields the SDK does not read: {unread_by_action}"
    assert not unsent_by_action, f"fields the SDK reads but were not sent: {unsent_by_action}"


# Fields that are legitimately absent from the bodies above.
OPTIONAL_FIELDS = {
    "NextToken", "Environment", "ResourceGroupId", "ExternalStorageLocation", "RoleArn",
    "ErrorCode", "ErrorMessage", "StoppedTime", "Output", "RedriveEnabled",
}


def test_a_running_execution_keeps_the_definition_it_started_with(fnf):
    flow = unique("pinned")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "old")
    fnf.update_flow(m.UpdateFlowRequest(name=flow, definition=pass_flow(flow)))
    assert describe(fnf, flow, "old").flow_definition == wait_flow(flow, 300)
    start(fnf, flow, "new", {"name": "n"})
    done = describe(fnf, flow, "new", wait=10)
    assert done.status == "Succeeded" and done.flow_definition == pass_flow(flow)
    assert describe(fnf, flow, "old").status == "Running"
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="old"))


def test_restarting_a_running_name_with_another_input(fnf):
    flow = unique("other_input")
    create(fnf, flow, wait_flow(flow, 300))
    start(fnf, flow, "r", {"a": 1})
    assert error_code(lambda: start(fnf, flow, "r", {"a": 2})) == ("ExecutionAlreadyExists", 400)
    assert json.loads(describe(fnf, flow, "r").input) == {"a": 1}
    fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name="r"))


def test_list_executions_by_start_time(fnf):
    import datetime

    flow = unique("by_time")
    create(fnf, flow, wait_flow(flow, 300))
    early = start(fnf, flow, "early")
    time.sleep(1.1)
    middle = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    time.sleep(0.1)
    late = start(fnf, flow, "late")
    assert early.started_time < middle < late.started_time

    def names(**kwargs):
        body = fnf.list_executions(m.ListExecutionsRequest(flow_name=flow, **kwargs)).body
        return sorted(e.name for e in body.executions or [])

    assert names(started_time_begin=middle) == ["late"]
    assert names(started_time_end=middle) == ["early"]
    assert names(started_time_begin=early.started_time, started_time_end=late.started_time) == ["early", "late"]
    assert error_code(lambda: names(started_time_begin="yesterday")) == ("InvalidArgument", 400)
    for name in ("early", "late"):
        fnf.stop_execution(m.StopExecutionRequest(flow_name=flow, execution_name=name))

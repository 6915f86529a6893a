use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::cloudflow::error::Code;

/// Decodes `Action=action&Version=2019-03-15` plus `fields`, sent as the Python SDK does:
/// common parameters in the query, the rest in a form body.
fn decode(action: &str, fields: &[(&str, &str)]) -> Result<Request, CloudFlowError> {
    let query = format!("Action={action}&Version={VERSION}&Format=json&RegionId=cn-hangzhou");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let form = Some("application/x-www-form-urlencoded");
    Request::decode(&Params::decode("POST", Some(&query), form, body.as_bytes()))
}

fn decoded(action: &str, fields: &[(&str, &str)]) -> Request {
    decode(action, fields).unwrap_or_else(|e| panic!("{action}: {e}"))
}

fn refused(action: &str, fields: &[(&str, &str)]) -> CloudFlowError {
    decode(action, fields).expect_err(action)
}

fn s(text: &str) -> String {
    text.to_string()
}

fn page(limit: usize, next_token: Option<&str>) -> Page {
    Page {
        limit,
        next_token: next_token.map(s),
    }
}

/// An action, a valid set of its parameters, and the names among them that are required.
type ActionCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

const ACTIONS: &[ActionCase] = &[
    (
        "CreateFlow",
        &[("Name", "f"), ("Definition", "d"), ("Type", "FDL")],
        &["Name", "Definition", "Type"],
    ),
    ("DescribeFlow", &[("Name", "f")], &["Name"]),
    ("UpdateFlow", &[("Name", "f")], &["Name"]),
    ("DeleteFlow", &[("Name", "f")], &["Name"]),
    ("ListFlows", &[], &[]),
    ("StartExecution", &[("FlowName", "f")], &["FlowName"]),
    ("StartSyncExecution", &[("FlowName", "f")], &["FlowName"]),
    (
        "DescribeExecution",
        &[("FlowName", "f"), ("ExecutionName", "e")],
        &["FlowName", "ExecutionName"],
    ),
    ("ListExecutions", &[("FlowName", "f")], &["FlowName"]),
    (
        "StopExecution",
        &[("FlowName", "f"), ("ExecutionName", "e")],
        &["FlowName", "ExecutionName"],
    ),
    (
        "GetExecutionHistory",
        &[("FlowName", "f"), ("ExecutionName", "e")],
        &["FlowName", "ExecutionName"],
    ),
    (
        "ReportTaskSucceeded",
        &[("TaskToken", "t"), ("Output", "{}")],
        &["TaskToken", "Output"],
    ),
    (
        "ReportTaskFailed",
        &[("TaskToken", "t"), ("Error", "E")],
        &["TaskToken", "Error"],
    ),
    (
        "CreateSchedule",
        &[
            ("FlowName", "f"),
            ("ScheduleName", "s"),
            ("CronExpression", "0 * * * * *"),
        ],
        &["FlowName", "ScheduleName", "CronExpression"],
    ),
    (
        "DescribeSchedule",
        &[("FlowName", "f"), ("ScheduleName", "s")],
        &["FlowName", "ScheduleName"],
    ),
    (
        "UpdateSchedule",
        &[("FlowName", "f"), ("ScheduleName", "s")],
        &["FlowName", "ScheduleName"],
    ),
    (
        "DeleteSchedule",
        &[("FlowName", "f"), ("ScheduleName", "s")],
        &["FlowName", "ScheduleName"],
    ),
    ("ListSchedules", &[("FlowName", "f")], &["FlowName"]),
    ("PublishFlowVersion", &[("FlowName", "f")], &["FlowName"]),
    ("ListFlowVersions", &[("FlowName", "f")], &["FlowName"]),
    (
        "DeleteFlowVersion",
        &[("FlowName", "f"), ("FlowVersion", "1")],
        &["FlowName", "FlowVersion"],
    ),
    (
        "CreateFlowAlias",
        &[
            ("FlowName", "f"),
            ("Name", "prod"),
            ("RoutingConfigurations", r#"[{"Version":"1","Weight":100}]"#),
        ],
        &["FlowName", "Name", "RoutingConfigurations"],
    ),
    (
        "DescribeFlowAlias",
        &[("FlowName", "f"), ("Name", "prod")],
        &["FlowName", "Name"],
    ),
    (
        "UpdateFlowAlias",
        &[("FlowName", "f"), ("Name", "prod")],
        &["FlowName", "Name"],
    ),
    (
        "DeleteFlowAlias",
        &[("FlowName", "f"), ("Name", "prod")],
        &["FlowName", "Name"],
    ),
    ("ListFlowAliases", &[("FlowName", "f")], &["FlowName"]),
    (
        "DescribeMapRun",
        &[
            ("FlowName", "f"),
            ("ExecutionName", "e"),
            ("MapRunName", "m"),
        ],
        &["FlowName", "ExecutionName", "MapRunName"],
    ),
    (
        "UpdateMapRun",
        &[
            ("FlowName", "f"),
            ("ExecutionName", "e"),
            ("MapRunName", "m"),
        ],
        &["FlowName", "ExecutionName", "MapRunName"],
    ),
    ("DescribeRegions", &[], &[]),
];

#[test]
fn all_29_actions_are_served() {
    assert_eq!(Request::ACTIONS.len(), 29);
    let tested: Vec<&str> = ACTIONS.iter().map(|(action, _, _)| *action).collect();
    assert_eq!(Request::ACTIONS, tested.as_slice());
}

#[test]
fn every_action_decodes_with_its_name_and_permission() {
    for (action, fields, _) in ACTIONS {
        let request = decoded(action, fields);
        assert_eq!(request.name(), *action);
        assert_eq!(request.permission(), format!("fnf:{action}"));
    }
}

#[test]
fn every_required_parameter_is_required() {
    for (action, fields, required) in ACTIONS {
        for name in *required {
            for absent_or_empty in [None, Some("")] {
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .filter(|(field, _)| field != name)
                    .copied()
                    .chain(absent_or_empty.map(|empty| (*name, empty)))
                    .collect();
                let error = refused(action, &fields);
                assert_eq!(error.code, Code::MissingRequiredParams, "{action} {name}");
                assert_eq!(
                    error.message,
                    format!("The HTTP query '{name}' must be specified.")
                );
            }
        }
    }
}

#[test]
fn version_and_action_are_checked_first() {
    let p = |query: &str| Params::decode("GET", Some(query), None, b"");
    let code = |query: &str| Request::decode(&p(query)).expect_err(query);
    let old = code("Version=2020-01-01&Action=ListFlows");
    assert_eq!(old.code, Code::ApiVersionNotSupported);
    assert_eq!(
        old.message,
        "The requested API version '2020-01-01' is not supported yet. Please check."
    );
    let unknown = code("Version=2019-03-15&Action=Explode");
    assert_eq!(unknown.code, Code::ActionNotSupported);
    assert_eq!(
        unknown.message,
        "The requested API operation 'Explode' is incorrect. Please check."
    );
    assert_eq!(code("Action=ListFlows").code, Code::MissingRequiredParams);
    assert_eq!(
        code("Version=2019-03-15").message,
        "The HTTP query 'Action' must be specified."
    );
    assert_eq!(
        code("Version=2019-03-15&Action=listflows").code,
        Code::ActionNotSupported,
        "action names are case-sensitive"
    );
}

#[test]
fn create_flow_decodes_every_field() {
    let request = decoded(
        "CreateFlow",
        &[
            ("Name", "my_flow"),
            ("Definition", "Type: StateMachine\nName: my_flow\n"),
            ("Description", "d"),
            ("Type", "FDL"),
            ("ExecutionMode", "Express"),
            ("RoleArn", "acs:ram::1:role/fnf"),
            ("Environment", r#"{"Variables":[{"Name":"k","Value":"v"}]}"#),
            ("ExternalStorageLocation", "oss://b"),
            ("ResourceGroupId", "rg-1"),
        ],
    );
    assert_eq!(
        request,
        Request::CreateFlow(CreateFlow {
            name: s("my_flow"),
            definition: s("Type: StateMachine\nName: my_flow\n"),
            description: s("d"),
            execution_mode: ExecutionMode::Express,
            role_arn: Some(s("acs:ram::1:role/fnf")),
            environment: Some(json!({"Variables": [{"Name": "k", "Value": "v"}]})),
            external_storage_location: Some(s("oss://b")),
            resource_group_id: Some(s("rg-1")),
        })
    );
}

#[test]
fn create_flow_defaults_and_refusals() {
    let minimal = [("Name", "f"), ("Definition", "d"), ("Type", "FDL")];
    let Request::CreateFlow(flow) = decoded("CreateFlow", &minimal) else {
        panic!("not CreateFlow");
    };
    assert_eq!(flow.execution_mode, ExecutionMode::Standard);
    assert_eq!(flow.description, "");
    let with = |name, value| {
        let mut fields = minimal.to_vec();
        fields.push((name, value));
        decode("CreateFlow", &fields)
    };
    assert!(matches!(
        with("ExecutionMode", ""),
        Ok(Request::CreateFlow(CreateFlow {
            execution_mode: ExecutionMode::Standard,
            ..
        }))
    ));
    for (name, value) in [("ExecutionMode", "Fast"), ("Environment", "{not json")] {
        assert_eq!(
            with(name, value).expect_err(name).code,
            Code::InvalidArgument
        );
    }
    let yaml = [("Name", "f"), ("Definition", "d"), ("Type", "YAML")];
    let error = refused("CreateFlow", &yaml);
    assert_eq!(error.code, Code::InvalidArgument);
    assert!(error.message.contains("FDL"), "{}", error.message);
}

#[test]
fn update_flow_leaves_absent_fields_alone() {
    assert_eq!(
        decoded("UpdateFlow", &[("Name", "f"), ("Description", "")]),
        Request::UpdateFlow(UpdateFlow {
            name: s("f"),
            definition: None,
            description: Some(s("")),
            role_arn: None,
            environment: None,
        })
    );
    assert_eq!(
        decoded(
            "UpdateFlow",
            &[
                ("Name", "f"),
                ("Definition", "d"),
                ("Type", "FDL"),
                ("Environment", "{}")
            ]
        ),
        Request::UpdateFlow(UpdateFlow {
            name: s("f"),
            definition: Some(s("d")),
            description: None,
            role_arn: None,
            environment: Some(json!({})),
        })
    );
    assert_eq!(
        refused("UpdateFlow", &[("Name", "f"), ("Type", "JSON")]).code,
        Code::InvalidArgument
    );
}

#[test]
fn flow_lookups_decode() {
    assert_eq!(
        decoded("DescribeFlow", &[("Name", "f"), ("FlowVersion", "2")]),
        Request::DescribeFlow(DescribeFlow {
            name: s("f"),
            flow_version: Some(s("2")),
        })
    );
    assert_eq!(
        decoded("DeleteFlow", &[("Name", "f")]),
        Request::DeleteFlow(DeleteFlow { name: s("f") })
    );
}

#[test]
fn listings_page_from_1_to_1000_defaulting_to_60() {
    assert_eq!(
        decoded("ListFlows", &[]),
        Request::ListFlows(ListFlows {
            page: page(60, None),
            resource_group_id: None,
        })
    );
    assert_eq!(
        decoded(
            "ListFlows",
            &[
                ("Limit", "1000"),
                ("NextToken", "f2"),
                ("ResourceGroupId", "rg")
            ]
        ),
        Request::ListFlows(ListFlows {
            page: page(1000, Some("f2")),
            resource_group_id: Some(s("rg")),
        })
    );
    for bad in ["0", "1001", "-1", "ten", "1.5"] {
        let error = refused("ListFlows", &[("Limit", bad)]);
        assert_eq!(error.code, Code::InvalidArgument, "{bad}");
        assert!(error.message.contains("'Limit'") && error.message.contains("1 to 1000"));
    }
    let paged = [("FlowName", "f"), ("Limit", "5"), ("NextToken", "3")];
    assert_eq!(
        decoded("ListSchedules", &paged),
        Request::ListSchedules(ListSchedules {
            flow_name: s("f"),
            page: page(5, Some("3")),
        })
    );
    assert_eq!(
        decoded("ListFlowVersions", &paged),
        Request::ListFlowVersions(ListFlowVersions {
            flow_name: s("f"),
            page: page(5, Some("3")),
        })
    );
    assert_eq!(
        decoded("ListFlowAliases", &paged),
        Request::ListFlowAliases(ListFlowAliases {
            flow_name: s("f"),
            page: page(5, Some("3")),
        })
    );
    for action in [
        "ListSchedules",
        "ListFlowVersions",
        "ListFlowAliases",
        "ListExecutions",
    ] {
        assert_eq!(
            refused(action, &[("FlowName", "f"), ("Limit", "0")]).code,
            Code::InvalidArgument
        );
    }
}

#[test]
fn starts_decode() {
    let fields = [
        ("FlowName", "f"),
        ("ExecutionName", "e"),
        ("Input", r#"{"a":1}"#),
        ("Qualifier", "prod"),
    ];
    let mut start = fields.to_vec();
    start.push(("CallbackFnFTaskToken", "tok"));
    assert_eq!(
        decoded("StartExecution", &start),
        Request::StartExecution(StartExecution {
            flow_name: s("f"),
            execution_name: Some(s("e")),
            input: Some(s(r#"{"a":1}"#)),
            qualifier: Some(s("prod")),
            callback_fnf_task_token: Some(s("tok")),
        })
    );
    assert_eq!(
        decoded("StartSyncExecution", &fields),
        Request::StartSyncExecution(StartSyncExecution {
            flow_name: s("f"),
            execution_name: Some(s("e")),
            input: Some(s(r#"{"a":1}"#)),
            qualifier: Some(s("prod")),
        })
    );
    assert_eq!(
        decoded(
            "StartExecution",
            &[("FlowName", "f"), ("ExecutionName", "")]
        ),
        Request::StartExecution(StartExecution {
            flow_name: s("f"),
            execution_name: None,
            input: None,
            qualifier: None,
            callback_fnf_task_token: None,
        }),
        "an empty name asks for a generated one"
    );
}

#[test]
fn describe_execution_waits_0_to_60_seconds() {
    let with_wait = |wait: &str| {
        decode(
            "DescribeExecution",
            &[
                ("FlowName", "f"),
                ("ExecutionName", "e"),
                ("WaitTimeSeconds", wait),
            ],
        )
    };
    assert_eq!(
        with_wait("60").expect("60"),
        Request::DescribeExecution(DescribeExecution {
            flow_name: s("f"),
            execution_name: s("e"),
            wait_time_seconds: 60,
        })
    );
    let Request::DescribeExecution(default) = decoded(
        "DescribeExecution",
        &[("FlowName", "f"), ("ExecutionName", "e")],
    ) else {
        panic!("not DescribeExecution");
    };
    assert_eq!(default.wait_time_seconds, 0);
    for bad in ["61", "-1", "soon"] {
        let error = with_wait(bad).expect_err(bad);
        assert_eq!(error.code, Code::InvalidArgument);
        assert!(error.message.contains("'WaitTimeSeconds'") && error.message.contains("0 to 60"));
    }
}

#[test]
fn list_executions_decodes_its_filters() {
    let request = decoded(
        "ListExecutions",
        &[
            ("FlowName", "f"),
            ("Limit", "10"),
            ("NextToken", "e9"),
            ("Status", "Running"),
            ("ExecutionNamePrefix", "e"),
            ("StartedTimeBegin", "2020-12-02T02:39:20.402Z"),
            ("StartedTimeEnd", "2020-12-02T02:39:21Z"),
            ("MapRunName", "m"),
            ("MetadataOnly", "True"),
            ("Qualifier", "prod"),
        ],
    );
    assert_eq!(
        request,
        Request::ListExecutions(ListExecutions {
            flow_name: s("f"),
            page: page(10, Some("e9")),
            status: Some(Status::Running),
            execution_name_prefix: Some(s("e")),
            started_time_begin: Some(1_606_876_760_402),
            started_time_end: Some(1_606_876_761_000),
            map_run_name: Some(s("m")),
            metadata_only: true,
            qualifier: Some(s("prod")),
        })
    );
    for (name, bad) in [
        ("Status", "Done"),
        ("Status", "running"),
        ("StartedTimeBegin", "yesterday"),
        ("StartedTimeEnd", "2020-13-01T00:00:00Z"),
        ("MetadataOnly", "maybe"),
    ] {
        assert_eq!(
            refused("ListExecutions", &[("FlowName", "f"), (name, bad)]).code,
            Code::InvalidArgument,
            "{name}={bad}"
        );
    }
}

#[test]
fn stop_execution_limits_error_and_cause() {
    assert_eq!(
        decoded(
            "StopExecution",
            &[
                ("FlowName", "f"),
                ("ExecutionName", "e"),
                ("Error", "Manual"),
                ("Cause", "stop by user")
            ]
        ),
        Request::StopExecution(StopExecution {
            flow_name: s("f"),
            execution_name: s("e"),
            error: Some(s("Manual")),
            cause: Some(s("stop by user")),
        })
    );
    let long_error = "x".repeat(129);
    let long_cause = "x".repeat(4097);
    for (name, bad) in [
        ("Error", long_error.as_str()),
        ("Error", ""),
        ("Cause", long_cause.as_str()),
    ] {
        let fields = [("FlowName", "f"), ("ExecutionName", "e"), (name, bad)];
        let error = refused("StopExecution", &fields);
        assert_eq!(error.code, Code::InvalidArgument, "{name}");
        assert!(error.message.contains(name));
    }
    let max_cause = "é".repeat(4096);
    let fields = [
        ("FlowName", "f"),
        ("ExecutionName", "e"),
        ("Cause", max_cause.as_str()),
    ];
    assert!(
        decode("StopExecution", &fields).is_ok(),
        "limits count characters"
    );
}

#[test]
fn get_execution_history_decodes() {
    assert_eq!(
        decoded(
            "GetExecutionHistory",
            &[
                ("FlowName", "f"),
                ("ExecutionName", "e"),
                ("NextToken", "3")
            ]
        ),
        Request::GetExecutionHistory(GetExecutionHistory {
            flow_name: s("f"),
            execution_name: s("e"),
            page: page(60, Some("3")),
        })
    );
}

#[test]
fn task_reports_decode() {
    assert_eq!(
        decoded(
            "ReportTaskSucceeded",
            &[("TaskToken", "tok+/="), ("Output", r#"{"x":1}"#)]
        ),
        Request::ReportTaskSucceeded(ReportTaskSucceeded {
            task_token: s("tok+/="),
            output: s(r#"{"x":1}"#),
        })
    );
    assert_eq!(
        decoded(
            "ReportTaskFailed",
            &[("TaskToken", "t"), ("Error", "E"), ("Cause", "c")]
        ),
        Request::ReportTaskFailed(ReportTaskFailed {
            task_token: s("t"),
            error: s("E"),
            cause: Some(s("c")),
        })
    );
    let long_error = "x".repeat(129);
    assert_eq!(
        refused(
            "ReportTaskFailed",
            &[("TaskToken", "t"), ("Error", &long_error)]
        )
        .code,
        Code::InvalidArgument
    );
}

#[test]
fn schedules_decode() {
    let fields = [
        ("FlowName", "f"),
        ("ScheduleName", "s1"),
        ("CronExpression", "0 * * * * *"),
        ("Description", "d"),
        ("Enable", "True"),
        ("Payload", r#"{"a":1}"#),
    ];
    assert_eq!(
        decoded("CreateSchedule", &fields),
        Request::CreateSchedule(CreateSchedule {
            flow_name: s("f"),
            schedule_name: s("s1"),
            cron_expression: s("0 * * * * *"),
            description: Some(s("d")),
            enable: Some(true),
            payload: Some(s(r#"{"a":1}"#)),
        })
    );
    assert_eq!(
        decoded("UpdateSchedule", &fields),
        Request::UpdateSchedule(UpdateSchedule {
            flow_name: s("f"),
            schedule_name: s("s1"),
            cron_expression: Some(s("0 * * * * *")),
            description: Some(s("d")),
            enable: Some(true),
            payload: Some(s(r#"{"a":1}"#)),
        })
    );
    let by_name = [("FlowName", "f"), ("ScheduleName", "s1")];
    assert_eq!(
        decoded("DescribeSchedule", &by_name),
        Request::DescribeSchedule(DescribeSchedule {
            flow_name: s("f"),
            schedule_name: s("s1"),
        })
    );
    assert_eq!(
        decoded("DeleteSchedule", &by_name),
        Request::DeleteSchedule(DeleteSchedule {
            flow_name: s("f"),
            schedule_name: s("s1"),
        })
    );
    let mut bad_enable = by_name.to_vec();
    bad_enable.push(("Enable", "1"));
    assert_eq!(
        refused("UpdateSchedule", &bad_enable).code,
        Code::InvalidArgument
    );
}

#[test]
fn versions_decode() {
    assert_eq!(
        decoded(
            "PublishFlowVersion",
            &[("FlowName", "f"), ("Description", "v1")]
        ),
        Request::PublishFlowVersion(PublishFlowVersion {
            flow_name: s("f"),
            description: Some(s("v1")),
        })
    );
    assert_eq!(
        decoded(
            "DeleteFlowVersion",
            &[("FlowName", "f"), ("FlowVersion", "2")]
        ),
        Request::DeleteFlowVersion(DeleteFlowVersion {
            flow_name: s("f"),
            flow_version: s("2"),
        })
    );
}

#[test]
fn aliases_decode() {
    let routing = r#"[{"Version":"1","Weight":100}]"#;
    let fields = [
        ("FlowName", "f"),
        ("Name", "prod"),
        ("Description", "d"),
        ("RoutingConfigurations", routing),
    ];
    assert_eq!(
        decoded("CreateFlowAlias", &fields),
        Request::CreateFlowAlias(CreateFlowAlias {
            flow_name: s("f"),
            name: s("prod"),
            description: Some(s("d")),
            routing_configurations: json!([{"Version": "1", "Weight": 100}]),
        })
    );
    assert_eq!(
        decoded("UpdateFlowAlias", &fields),
        Request::UpdateFlowAlias(UpdateFlowAlias {
            flow_name: s("f"),
            name: s("prod"),
            description: Some(s("d")),
            routing_configurations: Some(json!([{"Version": "1", "Weight": 100}])),
        })
    );
    let by_name = [("FlowName", "f"), ("Name", "prod")];
    assert_eq!(
        decoded("DescribeFlowAlias", &by_name),
        Request::DescribeFlowAlias(DescribeFlowAlias {
            flow_name: s("f"),
            name: s("prod"),
        })
    );
    assert_eq!(
        decoded("DeleteFlowAlias", &by_name),
        Request::DeleteFlowAlias(DeleteFlowAlias {
            flow_name: s("f"),
            name: s("prod"),
        })
    );
    for action in ["CreateFlowAlias", "UpdateFlowAlias"] {
        let bad = [
            ("FlowName", "f"),
            ("Name", "prod"),
            ("RoutingConfigurations", "[{"),
        ];
        assert_eq!(refused(action, &bad).code, Code::InvalidArgument);
    }
}

#[test]
fn map_runs_decode() {
    let run = [
        ("FlowName", "f"),
        ("ExecutionName", "e"),
        ("MapRunName", "m"),
    ];
    assert_eq!(
        decoded("DescribeMapRun", &run),
        Request::DescribeMapRun(DescribeMapRun {
            flow_name: s("f"),
            execution_name: s("e"),
            map_run_name: s("m"),
        })
    );
    let mut tuned = run.to_vec();
    tuned.extend([
        ("Concurrency", "5"),
        ("ToleratedFailedCount", "0"),
        ("ToleratedFailedPercentage", "1.5"),
    ]);
    assert_eq!(
        decoded("UpdateMapRun", &tuned),
        Request::UpdateMapRun(UpdateMapRun {
            flow_name: s("f"),
            execution_name: s("e"),
            map_run_name: s("m"),
            concurrency: Some(5),
            tolerated_failed_count: Some(0),
            tolerated_failed_percentage: Some(1.5),
        })
    );
    for (name, bad) in [
        ("Concurrency", "0"),
        ("ToleratedFailedCount", "-1"),
        ("ToleratedFailedPercentage", "101"),
    ] {
        let mut fields = run.to_vec();
        fields.push((name, bad));
        assert_eq!(
            refused("UpdateMapRun", &fields).code,
            Code::InvalidArgument,
            "{name}"
        );
    }
}

#[test]
fn describe_regions_decodes() {
    assert_eq!(
        decoded("DescribeRegions", &[("AcceptLanguage", "en-US")]),
        Request::DescribeRegions(DescribeRegions {
            accept_language: Some(s("en-US")),
        })
    );
}

/// pop-core (Node) sends GETs with everything in the query and POSTs with everything,
/// `Action` included, in the body.
#[test]
fn requests_decode_wherever_the_parameters_are() {
    let get = Params::decode(
        "GET",
        Some("Action=DescribeFlow&Version=2019-03-15&Name=f"),
        None,
        b"",
    );
    assert_eq!(
        Request::decode(&get).expect("GET"),
        Request::DescribeFlow(DescribeFlow {
            name: s("f"),
            flow_version: None,
        })
    );
    let post = Params::decode(
        "POST",
        None,
        Some("application/x-www-form-urlencoded"),
        b"Action=DeleteFlow&Version=2019-03-15&Name=f",
    );
    assert_eq!(
        Request::decode(&post).expect("POST"),
        Request::DeleteFlow(DeleteFlow { name: s("f") })
    );
}

proptest! {
    #[test]
    fn arbitrary_requests_never_panic(
        raw_query in ".{0,200}",
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let params = Params::decode("POST", Some(&raw_query), None, &body);
        let _ = Request::decode(&params);
        let _ = crate::signature::alibaba::verify(
            params.method(),
            params.all(),
            |_| Some("s".into()),
            jiff::Timestamp::UNIX_EPOCH,
        );
    }

    /// Any value in any field of any action decodes or is refused, never panics.
    #[test]
    fn arbitrary_values_never_panic(
        action in proptest::sample::select(Request::ACTIONS),
        fields in proptest::collection::vec(
            (
                proptest::sample::select(&[
                    "Name", "FlowName", "ExecutionName", "Limit", "WaitTimeSeconds", "Status",
                    "Error", "Cause", "Enable", "Environment", "RoutingConfigurations",
                    "StartedTimeBegin", "Concurrency", "ToleratedFailedPercentage", "Type",
                    "ExecutionMode", "MetadataOnly", "CronExpression", "TaskToken", "Output",
                ][..]),
                ".{0,20}",
            ),
            0..8,
        ),
    ) {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Ok(request) = decode(action, &fields) {
            prop_assert_eq!(request.name(), action);
        }
    }
}

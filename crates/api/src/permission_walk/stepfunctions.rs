//! The Step Functions part of the walk: a request of every action (`Action` matched
//! exhaustively, so a new action cannot be left out), signed with SigV4, naming the populated
//! server's flow and execution (any flow of the tenant is a state machine).

use axum::http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::{NAME, SECRET, Server, answer};
use crate::signature::aws;
use crate::stepfunctions::request::TARGET_PREFIX;
use crate::stepfunctions::{Action, TARGET_HEADER};

const REGION: &str = "us-east-1";
/// The tenant's account id in the walk's configuration.
const ACCOUNT: &str = "1";

/// The actions that only read: the admin's answers to them show the requests name what is
/// there.
pub(super) const READS: [Action; 11] = [
    Action::DescribeStateMachine,
    Action::ListStateMachines,
    Action::DescribeExecution,
    Action::ListExecutions,
    Action::GetExecutionHistory,
    Action::DescribeStateMachineForExecution,
    Action::ListTagsForResource,
    Action::ListStateMachineVersions,
    Action::DescribeStateMachineAlias,
    Action::ListStateMachineAliases,
    Action::ListMapRuns,
];

/// The body of a request of `action`, naming what the populated server holds.
pub(super) fn body(action: Action) -> Value {
    let machine = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{NAME}");
    let execution = format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{NAME}:{NAME}");
    let definition = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;
    let token = "1.present.secret.1";
    let version = format!("{machine}:1");
    let alias = format!("{machine}:{NAME}");
    let map_run = format!("arn:aws:states:{REGION}:{ACCOUNT}:mapRun:{NAME}/{NAME}:{NAME}");
    let activity = format!("arn:aws:states:{REGION}:{ACCOUNT}:activity:{NAME}");
    match action {
        Action::CreateStateMachine => {
            json!({"name": NAME, "definition": definition, "roleArn": "arn:aws:iam::1:role/r"})
        }
        Action::UpdateStateMachine => json!({"stateMachineArn": machine, "definition": definition}),
        Action::DescribeStateMachine
        | Action::DeleteStateMachine
        | Action::StartExecution
        | Action::StartSyncExecution
        | Action::ListExecutions => json!({"stateMachineArn": machine}),
        Action::ListStateMachines => json!({}),
        Action::DescribeExecution
        | Action::StopExecution
        | Action::GetExecutionHistory
        | Action::DescribeStateMachineForExecution => json!({"executionArn": execution}),
        Action::ValidateStateMachineDefinition => json!({"definition": definition}),
        Action::ListTagsForResource => json!({"resourceArn": machine}),
        Action::TagResource => {
            json!({"resourceArn": machine, "tags": [{"key": "k", "value": "v"}]})
        }
        Action::UntagResource => json!({"resourceArn": machine, "tagKeys": ["k"]}),
        Action::SendTaskSuccess => json!({"taskToken": token, "output": "{}"}),
        Action::SendTaskFailure => json!({"taskToken": token, "error": "E"}),
        Action::SendTaskHeartbeat => json!({"taskToken": token}),
        Action::PublishStateMachineVersion
        | Action::ListStateMachineVersions
        | Action::ListStateMachineAliases => json!({"stateMachineArn": machine}),
        Action::DeleteStateMachineVersion => json!({"stateMachineVersionArn": version}),
        Action::CreateStateMachineAlias => json!({
            "name": "other",
            "routingConfiguration": [{"stateMachineVersionArn": version, "weight": 100}],
        }),
        Action::DescribeStateMachineAlias | Action::DeleteStateMachineAlias => {
            json!({"stateMachineAliasArn": alias})
        }
        Action::UpdateStateMachineAlias => {
            json!({"stateMachineAliasArn": alias, "description": "d"})
        }
        Action::RedriveExecution | Action::ListMapRuns => json!({"executionArn": execution}),
        Action::DescribeMapRun => json!({"mapRunArn": map_run}),
        Action::UpdateMapRun => json!({"mapRunArn": map_run, "maxConcurrency": 1}),
        Action::CreateActivity => json!({"name": NAME}),
        Action::DescribeActivity | Action::DeleteActivity => json!({"activityArn": activity}),
        Action::ListActivities => json!({}),
        // An activity nobody creates: a poll of one that exists would wait its 60 seconds.
        Action::GetActivityTask => json!({
            "activityArn": format!("arn:aws:states:{REGION}:{ACCOUNT}:activity:never-created"),
            "workerName": "walk",
        }),
        Action::TestState => json!({"definition": r#"{"Type": "Pass", "End": true}"#}),
    }
}

/// The action's name in `X-Amz-Target` (`states:StartExecution` → `StartExecution`).
pub(super) fn target(action: Action) -> String {
    let permission: &'static str = action.into();
    format!(
        "{TARGET_PREFIX}{}",
        permission.trim_start_matches("states:")
    )
}

impl Server {
    /// Sends a Step Functions action signed (SigV4) by `key`.
    pub(super) async fn stepfunctions(&self, key: &str, action: Action) -> (u16, Value) {
        let body = body(action).to_string();
        let date = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let named = [
            ("content-type", "application/x-amz-json-1.0".to_string()),
            ("host", self.addr.to_string()),
            ("x-amz-date", date),
            (TARGET_HEADER, target(action)),
        ];
        let mut headers = HeaderMap::new();
        for (name, value) in &named {
            headers.insert(*name, HeaderValue::from_str(value).expect("a header value"));
        }
        let signed = ["content-type", "host", "x-amz-date", TARGET_HEADER];
        let request = aws::SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let authorization =
            aws::authorization(&request, key, SECRET, REGION, "states", &signed).expect("signed");
        headers.insert(
            "authorization",
            HeaderValue::from_str(&authorization).expect("a header value"),
        );
        headers.remove("host");
        let url = format!("http://{}/", self.addr);
        let response = self
            .http
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .expect("an answer");
        answer(response).await
    }
}

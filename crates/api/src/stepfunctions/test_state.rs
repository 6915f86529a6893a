//! `TestState`: one state run alone by the service (`StateTest`), answered in AWS's shape:
//! `status` (`SUCCEEDED`, `FAILED`, `RETRIABLE`, `CAUGHT_ERROR`), `output`, `error` and
//! `cause`, `nextState`, and at the `DEBUG` and `TRACE` levels `inspectionData`: each stage
//! of the state's data as JSON text, its variables, and which retrier or catcher handled its
//! error (API reference, `TestState` and `InspectionData`). Mocks, a context object and a
//! state configuration are refused: this server has no mocks.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use sluice_service::{
    HttpTaskRequest, Inspection, QueryLanguage, StateTest, StateTestOutcome, StateTestStatus,
    TestedKind,
};

use super::actions::{Actions, Reply};
use super::error::SfnError;
use super::request::{Validate, not_supported, required};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InspectionLevel {
    #[default]
    Info,
    Debug,
    /// `DEBUG`, and an HTTP Task's request and response, which this server does not record.
    Trace,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestState {
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub input: Option<String>,
    pub inspection_level: Option<InspectionLevel>,
    /// What an EventBridge connection adds to an HTTP Task: this server adds nothing to hide.
    pub reveal_secrets: Option<bool>,
    pub variables: Option<String>,
    pub state_name: Option<String>,
    pub mock: Option<Value>,
    pub context: Option<String>,
    pub state_configuration: Option<Value>,
}

impl Validate for TestState {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.definition, "definition")?;
        const NO_MOCKS: &str = "states are tested against the real functions; mocks are not";
        not_supported(self.mock.is_some(), "mock", NO_MOCKS)?;
        not_supported(self.context.is_some(), "context", NO_MOCKS)?;
        not_supported(
            self.state_configuration.is_some(),
            "stateConfiguration",
            NO_MOCKS,
        )
    }
}

impl Actions<'_> {
    pub(super) async fn test_state(&self, r: TestState) -> Reply {
        let level = r.inspection_level.unwrap_or_default();
        let test = StateTest {
            definition: r.definition.unwrap_or_default(),
            state_name: r.state_name,
            input: r.input,
            variables: r.variables,
            role_arn: r.role_arn,
            context_ids: None,
        };
        let outcome = self.service.test_state(self.caller, test).await?;
        Ok(body(&outcome, level))
    }
}

fn body(outcome: &StateTestOutcome, level: InspectionLevel) -> Value {
    let mut body = json!({"status": status(outcome.status)});
    if let Some(output) = &outcome.output {
        body["output"] = json!(output.to_string());
    }
    if let Some(error) = &outcome.error {
        body["error"] = json!(error.code.as_str());
        body["cause"] = json!(error.detail);
    }
    if let Some(next) = &outcome.next_state {
        body["nextState"] = json!(next);
    }
    if level != InspectionLevel::Info {
        body["inspectionData"] = inspection_data(&outcome.inspection, outcome.kind);
    }
    if let (InspectionLevel::Trace, Some(http)) = (level, &outcome.http) {
        body["inspectionData"]["request"] = trace_request(&http.request);
        if let Some(response) = &http.response {
            body["inspectionData"]["response"] = trace_response(&http.request, response);
        }
    }
    body
}

/// An HTTP Task's request as `TRACE` shows it (API reference, `InspectionDataRequest`: every
/// member text; the headers as a JSON object).
fn trace_request(request: &HttpTaskRequest) -> Value {
    let headers: Map<String, Value> = (request.headers.iter())
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    json!({
        "protocol": protocol(&request.url),
        "method": request.method.as_str(),
        "url": request.url,
        "headers": Value::Object(headers).to_string(),
        "body": request.body.clone().unwrap_or_default(),
    })
}

/// The answer as `TRACE` shows it (`InspectionDataResponse`), from the task's result.
fn trace_response(request: &HttpTaskRequest, response: &Value) -> Value {
    let body = match &response["ResponseBody"] {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    json!({
        "protocol": protocol(&request.url),
        "statusCode": response["StatusCode"].to_string(),
        "statusMessage": response["StatusText"].as_str().unwrap_or(""),
        "headers": response["Headers"].to_string(),
        "body": body,
    })
}

fn protocol(url: &str) -> &str {
    url.split_once("://").map_or("https", |(scheme, _)| scheme)
}

fn status(status: StateTestStatus) -> &'static str {
    match status {
        StateTestStatus::Succeeded => "SUCCEEDED",
        StateTestStatus::Failed => "FAILED",
        StateTestStatus::Retriable => "RETRIABLE",
        StateTestStatus::CaughtError => "CAUGHT_ERROR",
    }
}

/// The stages the state reached, each as JSON text, those AWS shows for its kind: JSONPath's
/// `afterInputPath`, `afterParameters`, `afterResultSelector` and `afterResultPath` are "not
/// populated when QueryLanguage is JSONata", whose effective input is `afterArguments` (API
/// reference, `InspectionData`); a Choice, Wait, Succeed or Fail state has no arguments and no
/// result, a Pass state a `result` only when it has a `Result`, which also replaces its
/// effective input (AWS's answers as LocalStack recorded them: its
/// `tests/aws/services/stepfunctions/v2/test_state/test_test_state_scenarios.snapshot.json`).
fn inspection_data(inspection: &Inspection, kind: TestedKind) -> Value {
    let jsonata = inspection.query == QueryLanguage::Jsonata;
    let (arguments, result, result_stages) = match kind {
        TestedKind::Pass { result: true } => (false, true, true),
        TestedKind::Pass { result: false } => (true, false, true),
        TestedKind::Task => (true, true, true),
        TestedKind::Other => (false, false, false),
    };
    let input_path = !jsonata && (arguments || kind == TestedKind::Other);
    let shown = [
        ("input", &inspection.input, true),
        ("afterInputPath", &inspection.after_input_path, input_path),
        (
            "afterParameters",
            &inspection.after_arguments,
            !jsonata && arguments,
        ),
        (
            "afterArguments",
            &inspection.after_arguments,
            jsonata && arguments,
        ),
        ("result", &inspection.result, result),
        (
            "afterResultSelector",
            &inspection.after_result_selector,
            !jsonata && result_stages,
        ),
        (
            "afterResultPath",
            &inspection.after_result_path,
            !jsonata && result_stages,
        ),
    ];
    let mut data = Map::new();
    for (name, value, show) in shown {
        if let (true, Some(value)) = (show, value) {
            data.insert(name.to_string(), json!(value.to_string()));
        }
    }
    if !inspection.variables.is_empty() {
        data.insert(
            "variables".to_string(),
            json!(Value::Object(inspection.variables.clone()).to_string()),
        );
    }
    if let Some(details) = error_details(inspection) {
        data.insert("errorDetails".to_string(), details);
    }
    Value::Object(data)
}

/// Which catcher handled the error, or which retrier would retry it after how many seconds.
fn error_details(inspection: &Inspection) -> Option<Value> {
    if let Some(retry) = inspection.retry {
        return Some(json!({
            "retryIndex": retry.index,
            "retryBackoffIntervalSeconds": retry.backoff_ms.div_ceil(1000),
        }));
    }
    inspection
        .catch_index
        .map(|index| json!({"catchIndex": index}))
}

#[cfg(test)]
mod tests {
    use sluice_service::RetryDetails;

    use super::*;

    fn outcome(status: StateTestStatus, inspection: Inspection) -> StateTestOutcome {
        StateTestOutcome {
            kind: TestedKind::Task,
            status,
            output: Some(json!({"a": 1})),
            error: None,
            next_state: Some("Next".into()),
            inspection,
            http: None,
        }
    }

    #[test]
    fn info_shows_the_outcome_and_debug_the_stages_as_json_text() {
        let inspection = Inspection {
            input: Some(json!({"x": 1})),
            after_input_path: Some(json!(1)),
            after_arguments: Some(json!({"v": 1})),
            after_result_path: Some(json!({"a": 1})),
            ..Inspection::default()
        };
        let done = outcome(StateTestStatus::Succeeded, inspection);
        let info = body(&done, InspectionLevel::Info);
        assert_eq!(
            info,
            json!({"status": "SUCCEEDED", "output": "{\"a\":1}", "nextState": "Next"})
        );
        let debug = body(&done, InspectionLevel::Debug);
        assert_eq!(
            debug["inspectionData"],
            json!({
                "input": "{\"x\":1}",
                "afterInputPath": "1",
                "afterParameters": "{\"v\":1}",
                "afterResultPath": "{\"a\":1}",
            })
        );
    }

    #[test]
    fn a_jsonata_state_shows_its_arguments_and_no_jsonpath_stage() {
        let inspection = Inspection {
            query: QueryLanguage::Jsonata,
            input: Some(json!({})),
            after_input_path: Some(json!({})),
            after_arguments: Some(json!([1])),
            after_result_path: Some(json!(2)),
            ..Inspection::default()
        };
        let data = inspection_data(&inspection, TestedKind::Task);
        assert_eq!(data, json!({"input": "{}", "afterArguments": "[1]"}));
    }

    #[test]
    fn each_kind_of_state_shows_the_stages_aws_shows_for_it() {
        let every = Inspection {
            input: Some(json!(0)),
            after_input_path: Some(json!(1)),
            after_arguments: Some(json!(2)),
            result: Some(json!(3)),
            after_result_selector: Some(json!(4)),
            after_result_path: Some(json!(5)),
            ..Inspection::default()
        };
        let names = |kind| {
            let data = inspection_data(&every, kind);
            let mut names: Vec<String> = data.as_object().unwrap().keys().cloned().collect();
            names.sort();
            names
        };
        assert_eq!(names(TestedKind::Other), ["afterInputPath", "input"]);
        assert_eq!(
            names(TestedKind::Pass { result: false }),
            [
                "afterInputPath",
                "afterParameters",
                "afterResultPath",
                "afterResultSelector",
                "input"
            ]
        );
        assert_eq!(
            names(TestedKind::Pass { result: true }),
            ["afterResultPath", "afterResultSelector", "input", "result"]
        );
        assert_eq!(names(TestedKind::Task).len(), 6);
    }

    #[test]
    fn a_retriable_error_says_which_retrier_and_how_long() {
        let inspection = Inspection {
            retry: Some(RetryDetails {
                index: 1,
                backoff_ms: 1500,
            }),
            ..Inspection::default()
        };
        assert_eq!(
            inspection_data(&inspection, TestedKind::Task)["errorDetails"],
            json!({"retryIndex": 1, "retryBackoffIntervalSeconds": 2})
        );
    }
}

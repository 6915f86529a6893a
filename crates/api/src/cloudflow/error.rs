//! CloudFlow's errors (spec §6): the codes, their HTTP statuses, the vendor's message
//! templates, the body shape, and the one mapping from service and signature errors to them.

use serde_json::{Value, json};
use sluice_service::ServiceError;

use crate::signature::alibaba::SignatureError;
use crate::signature::replay::ReplayError;

/// Every code of spec §6.2, plus the API gateway's `SignatureNonceUsed`, and nothing else:
/// clients switch on these strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    ActionNotSupported,
    ApiVersionNotSupported,
    EntityTooLarge,
    InvalidArgument,
    MissingRequiredHeader,
    MissingRequiredParams,
    ExecutionAlreadyExists,
    ExecutionAlreadyCompleted,
    TaskAlreadyCompleted,
    AccessDenied,
    InvalidAccessKeyId,
    RequestTimeTooSkewed,
    SignatureNotMatch,
    SignatureNonceUsed,
    FlowNotExists,
    ExecutionNotExists,
    ScheduleNotExists,
    FlowAlreadyExists,
    ScheduleAlreadyExists,
    ConcurrentUpdateError,
    TaskInvalidState,
    PreconditionFailed,
    UnsupportedMediaType,
    ResourceThrottled,
    InternalServerError,
}

impl Code {
    pub const ALL: [Code; 25] = [
        Code::ActionNotSupported,
        Code::ApiVersionNotSupported,
        Code::EntityTooLarge,
        Code::InvalidArgument,
        Code::MissingRequiredHeader,
        Code::MissingRequiredParams,
        Code::ExecutionAlreadyExists,
        Code::ExecutionAlreadyCompleted,
        Code::TaskAlreadyCompleted,
        Code::AccessDenied,
        Code::InvalidAccessKeyId,
        Code::RequestTimeTooSkewed,
        Code::SignatureNotMatch,
        Code::SignatureNonceUsed,
        Code::FlowNotExists,
        Code::ExecutionNotExists,
        Code::ScheduleNotExists,
        Code::FlowAlreadyExists,
        Code::ScheduleAlreadyExists,
        Code::ConcurrentUpdateError,
        Code::TaskInvalidState,
        Code::PreconditionFailed,
        Code::UnsupportedMediaType,
        Code::ResourceThrottled,
        Code::InternalServerError,
    ];

    /// The code as it appears on the wire (note `APIVersionNotSupported`, `InvalidAccessKeyID`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ActionNotSupported => "ActionNotSupported",
            Code::ApiVersionNotSupported => "APIVersionNotSupported",
            Code::EntityTooLarge => "EntityTooLarge",
            Code::InvalidArgument => "InvalidArgument",
            Code::MissingRequiredHeader => "MissingRequiredHeader",
            Code::MissingRequiredParams => "MissingRequiredParams",
            Code::ExecutionAlreadyExists => "ExecutionAlreadyExists",
            Code::ExecutionAlreadyCompleted => "ExecutionAlreadyCompleted",
            Code::TaskAlreadyCompleted => "TaskAlreadyCompleted",
            Code::AccessDenied => "AccessDenied",
            Code::InvalidAccessKeyId => "InvalidAccessKeyID",
            Code::RequestTimeTooSkewed => "RequestTimeTooSkewed",
            Code::SignatureNotMatch => "SignatureNotMatch",
            Code::SignatureNonceUsed => "SignatureNonceUsed",
            Code::FlowNotExists => "FlowNotExists",
            Code::ExecutionNotExists => "ExecutionNotExists",
            Code::ScheduleNotExists => "ScheduleNotExists",
            Code::FlowAlreadyExists => "FlowAlreadyExists",
            Code::ScheduleAlreadyExists => "ScheduleAlreadyExists",
            Code::ConcurrentUpdateError => "ConcurrentUpdateError",
            Code::TaskInvalidState => "TaskInvalidState",
            Code::PreconditionFailed => "PreconditionFailed",
            Code::UnsupportedMediaType => "UnsupportedMediaType",
            Code::ResourceThrottled => "ResourceThrottled",
            Code::InternalServerError => "InternalServerError",
        }
    }

    /// The HTTP status CloudFlow answers with (spec §6.2). The "already" codes are 400 there,
    /// not 409 as in AWS Step Functions.
    pub fn http_status(self) -> u16 {
        match self {
            Code::ActionNotSupported
            | Code::ApiVersionNotSupported
            | Code::EntityTooLarge
            | Code::InvalidArgument
            | Code::MissingRequiredHeader
            | Code::MissingRequiredParams
            | Code::ExecutionAlreadyExists
            | Code::ExecutionAlreadyCompleted
            | Code::TaskAlreadyCompleted
            // The gateway's: `{"Code":"SignatureNonceUsed","Message":"Specified signature
            // nonce was used already."}` with 400 Bad Request.
            | Code::SignatureNonceUsed => 400,
            Code::AccessDenied
            | Code::InvalidAccessKeyId
            | Code::RequestTimeTooSkewed
            | Code::SignatureNotMatch => 403,
            Code::FlowNotExists | Code::ExecutionNotExists | Code::ScheduleNotExists => 404,
            Code::FlowAlreadyExists
            | Code::ScheduleAlreadyExists
            | Code::ConcurrentUpdateError
            | Code::TaskInvalidState => 409,
            Code::PreconditionFailed => 412,
            Code::UnsupportedMediaType => 415,
            Code::ResourceThrottled => 429,
            Code::InternalServerError => 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct CloudFlowError {
    pub code: Code,
    pub message: String,
}

/// Constructors carry the vendor's message templates (spec §6.2, double spaces made single),
/// so every path producing a code words it the same way.
impl CloudFlowError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn missing(name: &str) -> Self {
        Self::new(
            Code::MissingRequiredParams,
            format!("The HTTP query '{name}' must be specified."),
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    pub fn action_not_supported(action: &str) -> Self {
        Self::new(
            Code::ActionNotSupported,
            format!("The requested API operation '{action}' is incorrect. Please check."),
        )
    }

    pub fn api_version_not_supported(version: &str) -> Self {
        Self::new(
            Code::ApiVersionNotSupported,
            format!("The requested API version '{version}' is not supported yet. Please check."),
        )
    }

    pub fn flow_not_exists(flow: &str) -> Self {
        Self::new(Code::FlowNotExists, format!("Flow {flow} does not exist."))
    }

    pub fn flow_already_exists(flow: &str) -> Self {
        Self::new(
            Code::FlowAlreadyExists,
            format!("Flow {flow} already exists."),
        )
    }

    pub fn execution_not_exists(flow: &str, execution: &str) -> Self {
        Self::new(
            Code::ExecutionNotExists,
            format!("Execution {execution} for flow {flow} does not exist."),
        )
    }

    pub fn execution_already_exists(flow: &str, execution: &str) -> Self {
        Self::new(
            Code::ExecutionAlreadyExists,
            format!("Execution {execution} for flow {flow} already exists."),
        )
    }

    pub fn execution_already_completed(flow: &str, execution: &str) -> Self {
        Self::new(
            Code::ExecutionAlreadyCompleted,
            format!("Execution '{execution}' for flow '{flow}' has already completed."),
        )
    }

    pub fn task_already_completed(task: &str) -> Self {
        Self::new(
            Code::TaskAlreadyCompleted,
            format!("Task {task} has already completed."),
        )
    }

    /// The wording of the real service's denial (spec §6.1), without the resource ARN.
    pub fn access_denied(action: &str) -> Self {
        Self::new(
            Code::AccessDenied,
            format!("the caller is not authorized to perform '{action}'"),
        )
    }

    pub fn internal(detail: &str) -> Self {
        // A self-hosted server's caller is its operator: the detail helps more than it leaks.
        Self::new(
            Code::InternalServerError,
            format!("An internal error has occurred. Please retry. ({detail})"),
        )
    }

    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    /// The error body (spec §6.1), in the order the vendor writes it; the message bounded
    /// (it may quote what the client sent).
    pub fn body(&self, request_id: &str, host_id: &str) -> Value {
        json!({
            "RequestId": request_id,
            "HostId": host_id,
            "Code": self.code.as_str(),
            "Message": crate::echo::bounded(self.message.clone()),
        })
    }
}

impl From<SignatureError> for CloudFlowError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::Missing(name) => CloudFlowError::missing(name),
            SignatureError::UnknownKey(id) => CloudFlowError::new(
                Code::InvalidAccessKeyId,
                format!("The AccessKey ID {id} is invalid."),
            ),
            SignatureError::Mismatch => CloudFlowError::new(
                Code::SignatureNotMatch,
                "The request signature we calculated does not match the signature you provided. Check your access key and signing method.",
            ),
            SignatureError::Skewed { request, server } => CloudFlowError::new(
                Code::RequestTimeTooSkewed,
                format!(
                    "The difference between the request time {request} and the current time {server} is too large."
                ),
            ),
            SignatureError::UnsupportedMethod(_)
            | SignatureError::UnsupportedVersion(_)
            | SignatureError::BadTimestamp(_)
            | SignatureError::LongNonce => CloudFlowError::invalid(e.to_string()),
        }
    }
}

impl From<ReplayError> for CloudFlowError {
    fn from(e: ReplayError) -> Self {
        match e {
            ReplayError::Replayed(_) => CloudFlowError::new(
                Code::SignatureNonceUsed,
                "Specified signature nonce was used already.",
            ),
            ReplayError::Store(detail) => CloudFlowError::internal(&detail),
        }
    }
}

/// The one place service errors become CloudFlow codes.
impl From<ServiceError> for CloudFlowError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::InvalidArgument(_)
            | ServiceError::InvalidName(_)
            | ServiceError::InvalidInput(_)
            | ServiceError::InvalidDefinition(_)
            | ServiceError::NotSupported(_) => CloudFlowError::invalid(e.to_string()),
            // CloudFlow's own words for a start in the wrong mode (spec §2.3).
            ServiceError::WrongMode(message) => {
                CloudFlowError::new(Code::ActionNotSupported, message)
            }
            ServiceError::PayloadTooLarge { what, size, limit } => CloudFlowError::new(
                Code::EntityTooLarge,
                format!(
                    "The payload size exceeds maximum allowed size ({limit} bytes): {what} is {size} bytes."
                ),
            ),
            ServiceError::FlowNotFound(flow) => CloudFlowError::flow_not_exists(&flow),
            ServiceError::FlowExists(flow) => CloudFlowError::flow_already_exists(&flow),
            // CloudFlow has no code for a stopped flow; the request is what cannot be served.
            ServiceError::FlowClosed(flow) => CloudFlowError::invalid(format!(
                "Flow {flow} is stopped (closed) and accepts no new executions."
            )),
            // CloudFlow has no flow-closing actions; another dialect's job state is a conflict.
            ServiceError::NotWaiting(_) => CloudFlowError::invalid(e.to_string()),
            ServiceError::FlowNotOpen(_) | ServiceError::FlowNotClosed(_) => {
                CloudFlowError::new(Code::ConcurrentUpdateError, e.to_string())
            }
            ServiceError::ExecutionNotFound { flow, execution } => {
                CloudFlowError::execution_not_exists(&flow, &execution)
            }
            ServiceError::ExecutionExists { flow, execution } => {
                CloudFlowError::execution_already_exists(&flow, &execution)
            }
            ServiceError::ExecutionCompleted { flow, execution } => {
                CloudFlowError::execution_already_completed(&flow, &execution)
            }
            ServiceError::TaskCompleted(task) | ServiceError::TaskNotFound(task) => {
                CloudFlowError::task_already_completed(&task)
            }
            ServiceError::ConcurrentUpdate => CloudFlowError::new(
                Code::ConcurrentUpdateError,
                "Update conflict, please retry.",
            ),
            ServiceError::AccessDenied { action } => CloudFlowError::access_denied(&action),
            ServiceError::Throttled => CloudFlowError::new(
                Code::ResourceThrottled,
                "The request is throttled. Please try again later.",
            ),
            // The service does not say which flow; the templates' flow part is left out.
            ServiceError::NotFound {
                kind: "schedule",
                name,
            } => CloudFlowError::new(
                Code::ScheduleNotExists,
                format!("The schedule {name} does not exist."),
            ),
            ServiceError::Exists {
                kind: "schedule",
                name,
            } => CloudFlowError::new(
                Code::ScheduleAlreadyExists,
                format!("The schedule {name} already exists."),
            ),
            // Versions and aliases have no codes of their own in CloudFlow.
            ServiceError::NotFound { .. } | ServiceError::Exists { .. } => {
                CloudFlowError::invalid(e.to_string())
            }
            ServiceError::Internal(detail) => CloudFlowError::internal(&detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_service::Problem;

    #[test]
    fn statuses_follow_the_vendor_table() {
        let expected = [
            ("ActionNotSupported", 400),
            ("APIVersionNotSupported", 400),
            ("EntityTooLarge", 400),
            ("InvalidArgument", 400),
            ("MissingRequiredHeader", 400),
            ("MissingRequiredParams", 400),
            ("ExecutionAlreadyExists", 400),
            ("ExecutionAlreadyCompleted", 400),
            ("TaskAlreadyCompleted", 400),
            ("AccessDenied", 403),
            ("InvalidAccessKeyID", 403),
            ("RequestTimeTooSkewed", 403),
            ("SignatureNotMatch", 403),
            ("SignatureNonceUsed", 400),
            ("FlowNotExists", 404),
            ("ExecutionNotExists", 404),
            ("ScheduleNotExists", 404),
            ("FlowAlreadyExists", 409),
            ("ScheduleAlreadyExists", 409),
            ("ConcurrentUpdateError", 409),
            ("TaskInvalidState", 409),
            ("PreconditionFailed", 412),
            ("UnsupportedMediaType", 415),
            ("ResourceThrottled", 429),
            ("InternalServerError", 500),
        ];
        let actual: Vec<(&str, u16)> = Code::ALL
            .iter()
            .map(|code| (code.as_str(), code.http_status()))
            .collect();
        assert_eq!(actual, expected);
    }

    fn mapped(e: ServiceError) -> (&'static str, u16, String) {
        let error = CloudFlowError::from(e);
        (error.code.as_str(), error.http_status(), error.message)
    }

    fn flow_and_execution() -> (String, String) {
        ("f".into(), "e".into())
    }

    #[test]
    fn service_errors_map_to_cloudflow_codes_and_templates() {
        let (flow, execution) = flow_and_execution();
        let cases = [
            (
                ServiceError::InvalidArgument("bad name".into()),
                ("InvalidArgument", 400, "bad name"),
            ),
            (
                ServiceError::InvalidDefinition(Problem::new("no StartAt").into()),
                (
                    "InvalidArgument",
                    400,
                    "the definition is invalid: no StartAt",
                ),
            ),
            (
                ServiceError::NotSupported("Map ItemReader".into()),
                (
                    "InvalidArgument",
                    400,
                    "Map ItemReader is not supported by this server",
                ),
            ),
            (
                ServiceError::WrongMode("Standard execution is not supported".into()),
                (
                    "ActionNotSupported",
                    400,
                    "Standard execution is not supported",
                ),
            ),
            (
                ServiceError::PayloadTooLarge {
                    what: "the execution input",
                    size: 70_000,
                    limit: 65_536,
                },
                (
                    "EntityTooLarge",
                    400,
                    "The payload size exceeds maximum allowed size (65536 bytes): the execution input is 70000 bytes.",
                ),
            ),
            (
                ServiceError::FlowNotFound("f".into()),
                ("FlowNotExists", 404, "Flow f does not exist."),
            ),
            (
                ServiceError::FlowExists("f".into()),
                ("FlowAlreadyExists", 409, "Flow f already exists."),
            ),
            (
                ServiceError::FlowClosed("f".into()),
                (
                    "InvalidArgument",
                    400,
                    "Flow f is stopped (closed) and accepts no new executions.",
                ),
            ),
            (
                ServiceError::ExecutionNotFound {
                    flow: flow.clone(),
                    execution: execution.clone(),
                },
                (
                    "ExecutionNotExists",
                    404,
                    "Execution e for flow f does not exist.",
                ),
            ),
            (
                ServiceError::ExecutionExists {
                    flow: flow.clone(),
                    execution: execution.clone(),
                },
                (
                    "ExecutionAlreadyExists",
                    400,
                    "Execution e for flow f already exists.",
                ),
            ),
            (
                ServiceError::ExecutionCompleted { flow, execution },
                (
                    "ExecutionAlreadyCompleted",
                    400,
                    "Execution 'e' for flow 'f' has already completed.",
                ),
            ),
            (
                ServiceError::TaskCompleted("t".into()),
                ("TaskAlreadyCompleted", 400, "Task t has already completed."),
            ),
            (
                ServiceError::ConcurrentUpdate,
                (
                    "ConcurrentUpdateError",
                    409,
                    "Update conflict, please retry.",
                ),
            ),
            (
                ServiceError::AccessDenied {
                    action: "fnf:StopExecution".into(),
                },
                (
                    "AccessDenied",
                    403,
                    "the caller is not authorized to perform 'fnf:StopExecution'",
                ),
            ),
            (
                ServiceError::Throttled,
                (
                    "ResourceThrottled",
                    429,
                    "The request is throttled. Please try again later.",
                ),
            ),
            (
                ServiceError::NotFound {
                    kind: "schedule",
                    name: "s".into(),
                },
                ("ScheduleNotExists", 404, "The schedule s does not exist."),
            ),
            (
                ServiceError::Exists {
                    kind: "schedule",
                    name: "s".into(),
                },
                (
                    "ScheduleAlreadyExists",
                    409,
                    "The schedule s already exists.",
                ),
            ),
            (
                ServiceError::NotFound {
                    kind: "flow version",
                    name: "3".into(),
                },
                ("InvalidArgument", 400, "flow version 3 does not exist"),
            ),
            (
                ServiceError::Exists {
                    kind: "flow alias",
                    name: "prod".into(),
                },
                ("InvalidArgument", 400, "flow alias prod already exists"),
            ),
            (
                ServiceError::Internal("disk full".into()),
                (
                    "InternalServerError",
                    500,
                    "An internal error has occurred. Please retry. (disk full)",
                ),
            ),
        ];
        for (error, (code, status, message)) in cases {
            assert_eq!(mapped(error), (code, status, message.to_string()));
        }
    }

    #[test]
    fn signature_errors_map_to_403s_or_bad_requests() {
        let code = |e: SignatureError| CloudFlowError::from(e).code;
        assert_eq!(code(SignatureError::Mismatch), Code::SignatureNotMatch);
        assert_eq!(
            code(SignatureError::UnknownKey("k".into())),
            Code::InvalidAccessKeyId
        );
        assert_eq!(
            code(SignatureError::Skewed {
                request: "a".into(),
                server: "b".into()
            }),
            Code::RequestTimeTooSkewed
        );
        assert_eq!(
            code(SignatureError::Missing("Signature")),
            Code::MissingRequiredParams
        );
        assert_eq!(
            code(SignatureError::UnsupportedMethod("HMAC-SHA256".into())),
            Code::InvalidArgument
        );
        let replayed = CloudFlowError::from(ReplayError::Replayed("n".into()));
        assert_eq!(
            (
                replayed.code,
                replayed.http_status(),
                replayed.message.as_str()
            ),
            (
                Code::SignatureNonceUsed,
                400,
                "Specified signature nonce was used already."
            )
        );
    }

    #[test]
    fn the_body_has_the_vendor_shape() {
        let body = CloudFlowError::flow_not_exists("f").body("req-1", "fnf.local");
        assert_eq!(
            body.to_string(),
            r#"{"RequestId":"req-1","HostId":"fnf.local","Code":"FlowNotExists","Message":"Flow f does not exist."}"#
        );
    }
}

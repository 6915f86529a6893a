//! CloudFlow's errors (spec §6): the codes, their HTTP statuses, the body shape, and the one
//! mapping from service errors to them.

use serde_json::{Value, json};
use sluice_service::ServiceError;

use crate::signature::alibaba::SignatureError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    ActionNotSupported,
    ApiVersionNotSupported,
    EntityTooLarge,
    InvalidArgument,
    MissingRequiredParams,
    ExecutionAlreadyExists,
    ExecutionAlreadyCompleted,
    TaskAlreadyCompleted,
    AccessDenied,
    InvalidAccessKeyId,
    RequestTimeTooSkewed,
    SignatureNotMatch,
    FlowNotExists,
    ExecutionNotExists,
    ScheduleNotExists,
    FlowAlreadyExists,
    ScheduleAlreadyExists,
    ConcurrentUpdateError,
    ResourceThrottled,
    InternalServerError,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ActionNotSupported => "ActionNotSupported",
            Code::ApiVersionNotSupported => "APIVersionNotSupported",
            Code::EntityTooLarge => "EntityTooLarge",
            Code::InvalidArgument => "InvalidArgument",
            Code::MissingRequiredParams => "MissingRequiredParams",
            Code::ExecutionAlreadyExists => "ExecutionAlreadyExists",
            Code::ExecutionAlreadyCompleted => "ExecutionAlreadyCompleted",
            Code::TaskAlreadyCompleted => "TaskAlreadyCompleted",
            Code::AccessDenied => "AccessDenied",
            Code::InvalidAccessKeyId => "InvalidAccessKeyID",
            Code::RequestTimeTooSkewed => "RequestTimeTooSkewed",
            Code::SignatureNotMatch => "SignatureNotMatch",
            Code::FlowNotExists => "FlowNotExists",
            Code::ExecutionNotExists => "ExecutionNotExists",
            Code::ScheduleNotExists => "ScheduleNotExists",
            Code::FlowAlreadyExists => "FlowAlreadyExists",
            Code::ScheduleAlreadyExists => "ScheduleAlreadyExists",
            Code::ConcurrentUpdateError => "ConcurrentUpdateError",
            Code::ResourceThrottled => "ResourceThrottled",
            Code::InternalServerError => "InternalServerError",
        }
    }

    /// The HTTP status CloudFlow answers with (spec §6.2; the "already" codes are 400 there).
    pub fn http_status(self) -> u16 {
        match self {
            Code::AccessDenied
            | Code::InvalidAccessKeyId
            | Code::RequestTimeTooSkewed
            | Code::SignatureNotMatch => 403,
            Code::FlowNotExists | Code::ExecutionNotExists | Code::ScheduleNotExists => 404,
            Code::FlowAlreadyExists | Code::ScheduleAlreadyExists | Code::ConcurrentUpdateError => {
                409
            }
            Code::ResourceThrottled => 429,
            Code::InternalServerError => 500,
            _ => 400,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct CloudFlowError {
    pub code: Code,
    pub message: String,
}

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

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::InternalServerError, message)
    }

    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    /// The error body (spec §6.1).
    pub fn body(&self, request_id: &str, host_id: &str) -> Value {
        json!({
            "RequestId": request_id,
            "HostId": host_id,
            "Code": self.code.as_str(),
            "Message": self.message,
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
            SignatureError::Invalid(message) => CloudFlowError::invalid(message),
        }
    }
}

/// The one place service errors become CloudFlow codes.
impl From<ServiceError> for CloudFlowError {
    fn from(e: ServiceError) -> Self {
        let message = e.to_string();
        let code = match &e {
            ServiceError::InvalidArgument(_)
            | ServiceError::InvalidDefinition(_)
            | ServiceError::FlowClosed(_)
            | ServiceError::NotSupported(_) => Code::InvalidArgument,
            ServiceError::WrongMode(_) => Code::ActionNotSupported,
            ServiceError::PayloadTooLarge { .. } => Code::EntityTooLarge,
            ServiceError::FlowNotFound(_) => Code::FlowNotExists,
            ServiceError::FlowExists(_) => Code::FlowAlreadyExists,
            ServiceError::ExecutionNotFound { .. } => Code::ExecutionNotExists,
            ServiceError::ExecutionExists { .. } => Code::ExecutionAlreadyExists,
            ServiceError::ExecutionCompleted { .. } => Code::ExecutionAlreadyCompleted,
            ServiceError::TaskCompleted(_) => Code::TaskAlreadyCompleted,
            ServiceError::ConcurrentUpdate => Code::ConcurrentUpdateError,
            ServiceError::AccessDenied { .. } => Code::AccessDenied,
            ServiceError::Throttled => Code::ResourceThrottled,
            ServiceError::NotFound {
                kind: "schedule", ..
            } => Code::ScheduleNotExists,
            ServiceError::Exists {
                kind: "schedule", ..
            } => Code::ScheduleAlreadyExists,
            ServiceError::NotFound { .. } | ServiceError::Exists { .. } => Code::InvalidArgument,
            ServiceError::Internal(_) => Code::InternalServerError,
        };
        CloudFlowError::new(code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_vendor_table() {
        assert_eq!(Code::ExecutionAlreadyCompleted.http_status(), 400);
        assert_eq!(Code::SignatureNotMatch.http_status(), 403);
        assert_eq!(Code::FlowNotExists.http_status(), 404);
        assert_eq!(Code::FlowAlreadyExists.http_status(), 409);
        assert_eq!(Code::ResourceThrottled.http_status(), 429);
        assert_eq!(Code::InternalServerError.http_status(), 500);
    }

    #[test]
    fn service_errors_map_to_cloudflow_codes() {
        let completed = ServiceError::ExecutionCompleted {
            flow: "f".into(),
            execution: "e".into(),
        };
        assert_eq!(
            CloudFlowError::from(completed).code,
            Code::ExecutionAlreadyCompleted
        );
        assert_eq!(
            CloudFlowError::from(ServiceError::Throttled).code,
            Code::ResourceThrottled
        );
        let size = ServiceError::PayloadTooLarge {
            what: "input",
            size: 2,
            limit: 1,
        };
        assert_eq!(CloudFlowError::from(size).code, Code::EntityTooLarge);
        let body = CloudFlowError::from(ServiceError::FlowNotFound("f".into())).body("r", "h");
        assert_eq!(body["Code"], "FlowNotExists");
        assert_eq!(body["RequestId"], "r");
    }
}

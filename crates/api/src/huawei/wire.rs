//! Answers and errors on the wire, in each service's casing.

use serde_json::{Map, Value};
use sluice_service::views::Status;

/// How a service spells its error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// `{"error_code", "error_msg", "request_id"}`: FunctionGraph, DataArts, GES v2.
    Snake,
    /// `{"errorCode", "errorMessage"}`: GES v1. The Python SDK cannot parse this shape and
    /// reports the HTTP status as the code; that is Huawei's own behaviour, kept on purpose.
    Camel,
}

/// A successful answer: a status and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: Some(body),
        }
    }

    pub fn ok(body: Value) -> Self {
        Reply::json(200, body)
    }

    pub fn empty(status: u16) -> Self {
        Reply { status, body: None }
    }
}

/// An error answer in a service's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct HuaweiError {
    pub shape: ErrorShape,
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl HuaweiError {
    pub fn new(
        shape: ErrorShape,
        status: u16,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        HuaweiError {
            shape,
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A signature the gateway refuses: the API gateway's own code and shape, whatever the
    /// service behind it.
    pub fn unauthenticated(_service_shape: ErrorShape, why: &str) -> Self {
        HuaweiError::new(
            ErrorShape::Snake,
            401,
            "APIG.0301",
            format!("Incorrect IAM authentication information: {why}"),
        )
    }

    pub fn internal(shape: ErrorShape, detail: &str) -> Self {
        HuaweiError::new(shape, 500, "APIG.0101", format!("Internal error: {detail}"))
    }

    /// A path no Huawei service here has.
    pub fn not_found_route(path: &str) -> Self {
        HuaweiError::new(
            ErrorShape::Snake,
            404,
            "APIG.0101",
            format!("The API does not exist or has not been published: {path}"),
        )
    }

    /// The error body; the message bounded (it may quote what the client sent).
    pub fn into_reply(self, request_id: &str) -> Reply {
        let message = crate::echo::bounded(self.message);
        let mut body = Map::new();
        match self.shape {
            ErrorShape::Snake => {
                body.insert("error_code".into(), self.code.into());
                body.insert("error_msg".into(), message.into());
                body.insert("request_id".into(), request_id.into());
            }
            ErrorShape::Camel => {
                body.insert("errorCode".into(), self.code.into());
                body.insert("errorMessage".into(), message.into());
            }
        }
        Reply::json(self.status, Value::Object(body))
    }
}

/// Keys of a snake_case object (recursively) in lowerCamelCase, for services whose v1 spells
/// the same fields that way (GES v1 vs v2).
pub fn camel_case_keys(value: Value) -> Value {
    use heck::ToLowerCamelCase;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_lower_camel_case(), camel_case_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_case_keys).collect()),
        other => other,
    }
}

/// What a service calls each execution status, in the order starting, running, succeeded,
/// failed, timed out, stopped.
pub struct StatusWords(pub [&'static str; 6]);

impl StatusWords {
    /// Every status, running before starting: a filter by a word both share means running.
    const ORDER: [Status; 6] = [
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::TimedOut,
        Status::Stopped,
        Status::Starting,
    ];

    pub fn word(&self, status: Status) -> &'static str {
        let [starting, running, succeeded, failed, timed_out, stopped] = self.0;
        match status {
            Status::Starting => starting,
            Status::Running => running,
            Status::Succeeded => succeeded,
            Status::Failed => failed,
            Status::TimedOut => timed_out,
            Status::Stopped => stopped,
        }
    }

    /// The statuses called `word`, running before starting; none if no status is.
    pub fn named(&self, word: &str) -> Vec<Status> {
        let called = |s: &Status| self.word(*s) == word;
        Self::ORDER.into_iter().filter(called).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn error_bodies_take_the_service_shape() {
        let snake = HuaweiError::new(ErrorShape::Snake, 404, "FSS.0404", "gone").into_reply("r1");
        assert_eq!(
            snake.body,
            Some(json!({"error_code": "FSS.0404", "error_msg": "gone", "request_id": "r1"}))
        );
        let camel =
            HuaweiError::new(ErrorShape::Camel, 400, "GES.7001", "not running").into_reply("r1");
        assert_eq!(
            camel.body,
            Some(json!({"errorCode": "GES.7001", "errorMessage": "not running"}))
        );
        assert_eq!(camel.status, 400);
    }

    #[test]
    fn keys_become_lower_camel_case_at_every_depth() {
        let v = json!({"job_id": "x", "job_list": [{"related_graph": "g"}], "status": "200"});
        assert_eq!(
            camel_case_keys(v),
            json!({"jobId": "x", "jobList": [{"relatedGraph": "g"}], "status": "200"})
        );
    }
}

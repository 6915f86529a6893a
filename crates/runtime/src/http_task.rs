//! AWS Step Functions' HTTP Task (`arn:aws:states:::http:invoke`): the request its
//! `Parameters` (or `Arguments`) describe, made from here, answered in AWS's shape.
//!
//! Source: the Developer Guide, "Call HTTPS APIs in Step Functions workflows": `ApiEndpoint`,
//! `Method`, `Headers`, `QueryParameters`, `RequestBody`, `Transform` (`RequestBodyEncoding`
//! `URL_ENCODED`, `RequestEncodingOptions.ArrayFormat`); the result `{Headers, ResponseBody,
//! StatusCode, StatusText}`; a non-2xx answer fails with `States.Http.StatusCode.<code>`.
//! `Authentication.ConnectionArn` names an EventBridge connection, which sluice has none of:
//! it is accepted and unused (credentials go in `Headers`). Plain `http` is allowed too (AWS
//! calls HTTPS only), for the services a team runs beside sluice; the tenant's outbound
//! allowlist decides before any connection, as for every call.

use reqwest::Method;
use serde_json::{Map, Value, json};
use sluice_ir::TaskError;
use sluice_store::TenantId;

use crate::invoke::{Invoker, codes};

/// The connection failed or timed out (AWS's name).
pub const SOCKET_ERROR: &str = "States.Http.Socket";

/// How much of a failed answer's body its cause keeps.
const MAX_CAUSE_BODY: usize = 4096;

/// The request an HTTP Task's input describes.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpTaskRequest {
    pub url: String,
    pub method: Method,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl HttpTaskRequest {
    pub fn from_input(input: &Value) -> Result<Self, TaskError> {
        let refuse = |why: String| TaskError::new("States.Runtime", why);
        let endpoint = input["ApiEndpoint"]
            .as_str()
            .ok_or_else(|| refuse("an HTTP Task needs ApiEndpoint, a URL".into()))?;
        let mut url = reqwest::Url::parse(endpoint)
            .map_err(|e| refuse(format!("ApiEndpoint {endpoint:?} is not a URL: {e}")))?;
        let method_name = input["Method"]
            .as_str()
            .ok_or_else(|| refuse("an HTTP Task needs Method".into()))?;
        let method = match method_name {
            "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "HEAD" => {
                Method::from_bytes(method_name.as_bytes()).map_err(|e| refuse(e.to_string()))?
            }
            other => return Err(refuse(format!("Method {other:?} is not an HTTP Task's"))),
        };
        let array_format = input
            .pointer("/Transform/RequestEncodingOptions/ArrayFormat")
            .and_then(Value::as_str)
            .unwrap_or("REPEAT");
        if let Some(query) = input["QueryParameters"].as_object() {
            let pairs = form_pairs(query, array_format);
            url.query_pairs_mut().extend_pairs(pairs);
        }
        let mut headers: Vec<(String, String)> = input["Headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.clone(), text(value)))
            .collect();
        let url_encoded =
            input.pointer("/Transform/RequestBodyEncoding") == Some(&json!("URL_ENCODED"));
        let (body, content_type) = match (&input["RequestBody"], url_encoded) {
            (Value::Null, _) => (None, None),
            (Value::Object(fields), true) => {
                let mut form = form_urlencoded::Serializer::new(String::new());
                form.extend_pairs(form_pairs(fields, array_format));
                (
                    Some(form.finish()),
                    Some("application/x-www-form-urlencoded"),
                )
            }
            (Value::String(text), _) => (Some(text.clone()), None),
            (other, _) => (
                Some(other.to_string()),
                Some("application/json; charset=UTF-8"),
            ),
        };
        let named = |h: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(h));
        if let Some(content_type) = content_type.filter(|_| !named("content-type")) {
            headers.push(("Content-Type".into(), content_type.into()));
        }
        Ok(Self {
            url: url.to_string(),
            method,
            headers,
            body,
        })
    }
}

/// A string as it is; any other value as JSON text.
fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// The `key=value` pairs of an object, arrays spelled as `ArrayFormat` says.
fn form_pairs(fields: &Map<String, Value>, array_format: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (key, value) in fields {
        let Value::Array(items) = value else {
            pairs.push((key.clone(), text(value)));
            continue;
        };
        match array_format {
            "COMMAS" => pairs.push((
                key.clone(),
                items.iter().map(text).collect::<Vec<_>>().join(","),
            )),
            "BRACKETS" => pairs.extend(items.iter().map(|i| (format!("{key}[]"), text(i)))),
            "INDICES" => pairs.extend(
                items
                    .iter()
                    .enumerate()
                    .map(|(n, i)| (format!("{key}[{n}]"), text(i))),
            ),
            _ => pairs.extend(items.iter().map(|i| (key.clone(), text(i)))),
        }
    }
    pairs
}

/// AWS's result of an answer: its headers (each a list of values), its body (JSON when it
/// says so, else text), status code and text.
pub(crate) fn result(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: String,
) -> Value {
    let mut named: Map<String, Value> = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match named
            .entry(name.as_str().to_owned())
            .or_insert_with(|| json!([]))
        {
            Value::Array(values) => values.push(Value::String(value)),
            _ => unreachable!("every header's entry is a list"),
        }
    }
    let is_json = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    let body = match serde_json::from_str::<Value>(&body) {
        Ok(parsed) if is_json => parsed,
        _ => Value::String(body),
    };
    json!({
        "Headers": named,
        "ResponseBody": body,
        "StatusCode": status.as_u16(),
        "StatusText": status.canonical_reason().unwrap_or(""),
    })
}

impl Invoker {
    pub(crate) async fn http_task(
        &self,
        tenant: Option<&TenantId>,
        input: &Value,
    ) -> Result<Value, TaskError> {
        let request = HttpTaskRequest::from_input(input)?;
        let mut sent = self
            .checked_request(tenant, request.method, &request.url, &request.headers)
            .await?;
        if let Some(body) = request.body {
            sent = sent.body(body);
        }
        let answer = sent.send().await.map_err(|e| {
            TaskError::new(
                SOCKET_ERROR,
                format!("requesting {} failed: {e}", request.url),
            )
        })?;
        let (status, headers) = (answer.status(), answer.headers().clone());
        let body = answer.text().await.map_err(|e| {
            TaskError::new(
                codes::CONNECTION_FAILED,
                format!("reading the answer failed: {e}"),
            )
        })?;
        let result = result(status, &headers, body);
        if status.is_success() {
            return Ok(result);
        }
        let mut cause = result;
        if let Some(Value::String(text)) = cause.get_mut("ResponseBody")
            && text.len() > MAX_CAUSE_BODY
        {
            let cut = (0..=MAX_CAUSE_BODY)
                .rev()
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(0);
            text.truncate(cut);
        }
        Err(TaskError::new(
            format!("States.Http.StatusCode.{}", status.as_u16()),
            cause.to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_request_becomes_a_url_with_its_query_and_a_json_body() {
        let input = json!({
            "ApiEndpoint": "https://api.example.com/v1/customers",
            "Authentication": {"ConnectionArn": "arn:aws:events:us-east-2:123456789012:connection/Stripe/1"},
            "Method": "POST",
            "Headers": {"X-Trace": "abc"},
            "QueryParameters": {"limit": 10, "tags": ["a", "b"]},
            "RequestBody": {"name": "Ann"},
        });
        let request = HttpTaskRequest::from_input(&input).expect("a request");
        assert_eq!(
            request.url,
            "https://api.example.com/v1/customers?limit=10&tags=a&tags=b"
        );
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.body.as_deref(), Some(r#"{"name":"Ann"}"#));
        assert!(request.headers.contains(&(
            "Content-Type".into(),
            "application/json; charset=UTF-8".into()
        )));
        assert!(request.headers.contains(&("X-Trace".into(), "abc".into())));
    }

    #[test]
    fn a_url_encoded_body_spells_arrays_as_its_array_format_says() {
        let body = |format: &str| {
            let input = json!({
                "ApiEndpoint": "http://127.0.0.1:9/form", "Method": "PUT",
                "RequestBody": {"ids": [1, 2]},
                "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                              "RequestEncodingOptions": {"ArrayFormat": format}},
            });
            HttpTaskRequest::from_input(&input)
                .expect("a request")
                .body
                .expect("a body")
        };
        assert_eq!(body("REPEAT"), "ids=1&ids=2");
        assert_eq!(body("COMMAS"), "ids=1%2C2");
        assert_eq!(body("BRACKETS"), "ids%5B%5D=1&ids%5B%5D=2");
        assert_eq!(body("INDICES"), "ids%5B0%5D=1&ids%5B1%5D=2");
    }

    #[test]
    fn a_request_without_endpoint_or_with_another_method_is_refused() {
        let missing = HttpTaskRequest::from_input(&json!({"Method": "GET"})).expect_err("refused");
        assert!(missing.detail.contains("ApiEndpoint"));
        let input = json!({"ApiEndpoint": "https://a.example", "Method": "TRACE"});
        let wrong = HttpTaskRequest::from_input(&input).expect_err("refused");
        assert!(wrong.detail.contains("TRACE"));
    }

    #[test]
    fn an_answer_is_headers_as_lists_a_parsed_json_body_and_its_status() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().expect("a value"));
        headers.append("set-cookie", "a=1".parse().expect("a value"));
        headers.append("set-cookie", "b=2".parse().expect("a value"));
        let answer = result(
            reqwest::StatusCode::CREATED,
            &headers,
            r#"{"id": 7}"#.into(),
        );
        assert_eq!(answer["ResponseBody"], json!({"id": 7}));
        assert_eq!(answer["Headers"]["set-cookie"], json!(["a=1", "b=2"]));
        assert_eq!(
            (answer["StatusCode"].clone(), answer["StatusText"].clone()),
            (json!(201), json!("Created"))
        );
        let text = result(
            reqwest::StatusCode::OK,
            &reqwest::header::HeaderMap::new(),
            "plain".into(),
        );
        assert_eq!(text["ResponseBody"], json!("plain"));
    }
}

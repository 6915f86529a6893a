//! One CloudFlow RPC request, from bytes to a status and a JSON body.

use sluice_service::{Caller, Service};

use super::dispatch::dispatch;
use super::error::CloudFlowError;
use super::params::Params;
use super::request::Request;
use crate::Answer;
use crate::signature::{alibaba, replay};

/// `HostId` of error bodies.
const HOST_ID: &str = "fnf.sluice.local";
/// The dialect's name in logs.
const DIALECT: &str = "cloudflow";

/// Handles one request; every answer is JSON, errors in CloudFlow's shape.
pub async fn handle(
    service: &Service,
    request_id: &str,
    method: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Answer {
    let (action, outcome) = match decode(service, method, query, content_type, body).await {
        Err(error) => (None, Err(error)),
        Ok((caller, request)) => {
            let action = request.permission();
            let outcome = match service.authorize(&caller, action) {
                Ok(()) => dispatch(service, &caller, request, request_id).await,
                Err(denied) => Err(denied.into()),
            };
            (Some(action), outcome)
        }
    };
    match outcome {
        Ok(body) => Answer {
            dialect: DIALECT,
            action,
            status: 200,
            body: Some(body),
        },
        Err(error) => {
            if error.http_status() >= 500 {
                tracing::error!(request_id, error = %error.message, "request failed");
            }
            error_answer(&error, request_id, action)
        }
    }
}

/// The answer to a request that failed in a way the server did not foresee (a panic).
pub fn internal_error(request_id: &str) -> Answer {
    let error = CloudFlowError::internal("the request failed unexpectedly");
    error_answer(&error, request_id, None)
}

/// A new request id (`RequestId`): an upper-case UUID.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

fn error_answer(error: &CloudFlowError, request_id: &str, action: Option<&'static str>) -> Answer {
    Answer {
        dialect: DIALECT,
        action,
        status: error.http_status(),
        body: Some(error.body(request_id, HOST_ID)),
    }
}

/// The caller (the signature verified, the nonce not seen before) and the typed request.
async fn decode(
    service: &Service,
    method: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(Caller, Request), CloudFlowError> {
    let params = Params::decode(method, query, content_type, body);
    let tenants = service.tenants();
    let secret_of = |key_id: &str| tenants.key(key_id).map(|(secret, _)| secret.to_string());
    let verified = alibaba::verify(
        params.method(),
        params.all(),
        secret_of,
        jiff::Timestamp::now(),
    )?;
    replay::claim(service, &verified, alibaba::MAX_SKEW).await?;
    let caller = tenants
        .key(&verified.key_id)
        .map(|(_, caller)| caller.clone())
        .ok_or_else(|| CloudFlowError::internal("the verified key vanished"))?;
    Ok((caller, Request::decode(&params)?))
}

//! One CloudFlow RPC request, from bytes to a status and a JSON body.

use serde_json::Value;
use sluice_service::Service;

use super::dispatch::dispatch;
use super::error::CloudFlowError;
use super::params::Params;
use super::request::Request;
use crate::signature::{alibaba, replay};

/// `HostId` of error bodies.
const HOST_ID: &str = "fnf.sluice.local";

/// Handles one request; the answer is `(HTTP status, JSON body)`, errors in CloudFlow's shape.
pub async fn handle(
    service: &Service,
    method: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    match answer(service, method, query, content_type, body, &request_id).await {
        Ok(body) => (200, body),
        Err(error) => {
            if error.http_status() >= 500 {
                tracing::error!(request_id, error = %error.message, "request failed");
            }
            (error.http_status(), error.body(&request_id, HOST_ID))
        }
    }
}

async fn answer(
    service: &Service,
    method: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    request_id: &str,
) -> Result<Value, CloudFlowError> {
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
    let request = Request::decode(&params)?;
    service.authorize(&caller, request.action())?;
    dispatch(service, &caller, request, request_id).await
}

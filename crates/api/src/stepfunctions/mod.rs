//! AWS Step Functions, the AWS JSON 1.0 protocol: `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Action>` and a JSON body, signed with Signature Version 4
//! by the tenant's access key, answered in JSON or with `{"__type", "message"}`.
//!
//! Flow: [`handle`] verifies the signature over the request as received (`signature/aws.rs`;
//! `X-Amz-Target` must be signed: nothing unsigned is read; no replay claim, see
//! [`authenticate`]), has `request` decode the target and body into a typed [`Call`], checks the call's
//! permission (`states:<Action>`) and has `actions` call the service; `render` and `history`
//! spell the answers, `error` maps every failure to AWS's codes in one place, `arn` builds and
//! reads ARNs (the tenant's account id, the region the request was signed for).

mod actions;
mod activities;
mod aliases;
mod arn;
mod error;
pub mod history;
mod map_runs;
mod redrive;
mod render;
pub mod request;
mod sync;
mod tags;
mod tasks;
mod test_state;
mod versions;

use axum::http::{HeaderMap, Method};
use sluice_service::{Caller, Service};

pub use error::{Code, SfnError};
pub use request::{Action, Call};

use crate::Answer;
use crate::signature::aws;
use arn::Arns;

/// The dialect's name in logs.
const DIALECT: &str = "stepfunctions";
/// The signing name of the service in the credential scope.
const SIGNING_NAME: &str = "states";
/// The header naming the action.
pub const TARGET_HEADER: &str = "x-amz-target";
/// The content types of the AWS JSON protocol.
const CONTENT_TYPES: [&str; 2] = ["application/x-amz-json-1.0", "application/x-amz-json-1.1"];

pub use crate::Incoming;

/// Whether a request is one of this API's: it names an action in `X-Amz-Target`.
pub fn claims(headers: &HeaderMap) -> bool {
    headers.contains_key(TARGET_HEADER)
}

/// Every permission this dialect checks, for the documentation's list.
pub fn permissions() -> Vec<&'static str> {
    use strum::VariantArray;
    Action::VARIANTS.iter().map(|a| (*a).into()).collect()
}

/// Handles one request. Never fails: every problem is an answer in AWS's error shape.
pub async fn handle(service: &Service, incoming: Incoming<'_>) -> Answer {
    let (action, outcome) = match authenticate(service, &incoming) {
        Err(e) => (None, Err(e)),
        Ok((caller, arns)) => match decode(&incoming) {
            Err(e) => (None, Err(e)),
            Ok(call) => {
                let action = call.permission();
                let outcome = match service.authorize(&caller, action) {
                    Ok(()) => actions::run(service, &caller, &arns, call).await,
                    Err(denied) => Err(SfnError::of_service(denied, &arns)),
                };
                (Some(action), outcome)
            }
        },
    };
    match outcome {
        Ok(body) => Answer {
            dialect: DIALECT,
            action,
            status: 200,
            body: Some(body),
        },
        Err(e) => {
            if e.status() >= 500 {
                tracing::error!(error = %e.message, "request failed");
            }
            error_answer(&e, action)
        }
    }
}

/// The answer to a request that failed in a way the server did not foresee (a panic).
pub fn internal_error() -> Answer {
    error_answer(&SfnError::internal("the request failed unexpectedly"), None)
}

/// A new request id (`x-amzn-RequestId`): a UUID.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn error_answer(e: &SfnError, action: Option<&'static str>) -> Answer {
    Answer {
        dialect: DIALECT,
        action,
        status: e.status(),
        body: Some(e.body()),
    }
}

/// The caller (the signature verified, within the skew window) and the ARNs it speaks in.
///
/// A verified request is not claimed once (`replay.rs`), unlike the other schemes': SigV4 has
/// no nonce, and botocore signs neither its invocation id nor its attempt, so identical
/// requests within one second of `X-Amz-Date` carry one signature. AWS's API is built on such
/// repeats (a `StartExecution` of a name with the same input returns the running execution, a
/// `CreateStateMachine` of the same definition the state machine; clients poll
/// `DescribeExecution`), and AWS serves them; refusing a repeat would break them. Freshness is
/// the skew window alone, as at AWS.
fn authenticate(service: &Service, incoming: &Incoming<'_>) -> Result<(Caller, Arns), SfnError> {
    let tenants = service.tenants();
    let secret_of = |key_id: &str| tenants.key(key_id).map(|(secret, _)| secret.to_string());
    let request = aws::SignedRequest {
        method: incoming.method.as_str(),
        path: incoming.path,
        query: incoming.query.unwrap_or(""),
        headers: incoming.headers,
        body: incoming.body,
    };
    let signed = aws::verify(
        &request,
        SIGNING_NAME,
        &[TARGET_HEADER],
        secret_of,
        jiff::Timestamp::now(),
    )?;
    let caller = tenants
        .key(&signed.key_id)
        .map(|(_, caller)| caller.clone())
        .ok_or_else(|| SfnError::internal("the verified key vanished"))?;
    let arns = Arns::new(&signed.region, &caller.aws_account_id, &caller.key_id);
    Ok((caller, arns))
}

/// The call of a verified request: `POST /`, a JSON content type, the signed target.
fn decode(incoming: &Incoming<'_>) -> Result<Call, SfnError> {
    if incoming.method != Method::POST || incoming.path != "/" {
        return Err(SfnError::new(
            Code::UnknownOperationException,
            "The AWS JSON protocol is POST / only.",
        ));
    }
    let header = |name: &str| {
        incoming
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let content_type = header("content-type").unwrap_or("");
    if !CONTENT_TYPES.iter().any(|t| content_type.starts_with(t)) {
        return Err(SfnError::new(
            Code::SerializationException,
            format!(
                "The Content-Type must be application/x-amz-json-1.0, not {:?}.",
                crate::echo::bounded(content_type.to_string())
            ),
        ));
    }
    Call::decode(header(TARGET_HEADER).unwrap_or(""), incoming.body)
}

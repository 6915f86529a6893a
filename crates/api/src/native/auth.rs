//! Who is calling, and whether they may: the one place every native route authenticates.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sluice_service::{Caller, Service};
use subtle::ConstantTimeEq;

use super::problem::Problem;
use crate::console::session;

/// The `sluice:` permission each route needs (a key's `actions` name them, or `sluice:*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ListFlows,
    DescribeFlow,
    ListExecutions,
    DescribeExecution,
    GetExecutionHistory,
    StartExecution,
    StopExecution,
    RedriveExecution,
    StartStopJob,
    DescribeJob,
    ListJobs,
    ListSchedules,
    WatchEvents,
}

impl Action {
    pub const ALL: [Action; 13] = [
        Action::ListFlows,
        Action::DescribeFlow,
        Action::ListExecutions,
        Action::DescribeExecution,
        Action::GetExecutionHistory,
        Action::StartExecution,
        Action::StopExecution,
        Action::RedriveExecution,
        Action::StartStopJob,
        Action::DescribeJob,
        Action::ListJobs,
        Action::ListSchedules,
        Action::WatchEvents,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::ListFlows => "sluice:ListFlows",
            Action::DescribeFlow => "sluice:DescribeFlow",
            Action::ListExecutions => "sluice:ListExecutions",
            Action::DescribeExecution => "sluice:DescribeExecution",
            Action::GetExecutionHistory => "sluice:GetExecutionHistory",
            Action::StartExecution => "sluice:StartExecution",
            Action::StopExecution => "sluice:StopExecution",
            Action::RedriveExecution => "sluice:RedriveExecution",
            Action::StartStopJob => "sluice:StartStopJob",
            Action::DescribeJob => "sluice:DescribeJob",
            Action::ListJobs => "sluice:ListJobs",
            Action::ListSchedules => "sluice:ListSchedules",
            Action::WatchEvents => "sluice:WatchEvents",
        }
    }

    /// Whether the action changes something: a console session must then send its CSRF
    /// token.
    pub fn changes(self) -> bool {
        matches!(
            self,
            Action::StartExecution
                | Action::StopExecution
                | Action::RedriveExecution
                | Action::StartStopJob
        )
    }
}

/// The caller of a request, if its credentials are a tenant's access key, and if that key may
/// perform `action` (and the tenant is within its rate limit for it).
pub fn auth(service: &Service, headers: &HeaderMap, action: Action) -> Result<Caller, Problem> {
    let caller = match headers.contains_key(header::AUTHORIZATION) {
        true => basic(service, headers)?,
        false => console_session(service, headers, action)?,
    };
    service.authorize(&caller, action.as_str())?;
    Ok(caller)
}

/// The console's session cookie (with its CSRF token when the action changes something).
fn console_session(
    service: &Service,
    headers: &HeaderMap,
    action: Action,
) -> Result<Caller, Problem> {
    let now = jiff::Timestamp::now().as_millisecond();
    match session::check(service.tenants(), headers, action.changes(), now) {
        Some(session) => Ok(session?.caller),
        None => Err(Problem::unauthenticated(
            "send an access key id and secret with HTTP Basic, or log in to the console",
        )),
    }
}

/// HTTP Basic (RFC 7617): the access key id as the user, its secret as the password.
fn basic(service: &Service, headers: &HeaderMap) -> Result<Caller, Problem> {
    let encoded = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or_else(|| {
            Problem::unauthenticated("send an access key id and secret with HTTP Basic")
        })?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            Problem::unauthenticated("the Basic credentials are not base64 of id:secret")
        })?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| Problem::unauthenticated("the Basic credentials are not id:secret"))?;
    match service.tenants().key(id) {
        Some((known, caller)) if bool::from(known.as_bytes().ct_eq(secret.as_bytes())) => {
            Ok(caller.clone())
        }
        _ => Err(Problem::unauthenticated(
            "the access key id or secret is not right",
        )),
    }
}

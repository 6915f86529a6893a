//! Query strings and JSON bodies decoded into typed requests; what does not decode is a
//! problem+json 400 saying why, never axum's plain-text rejection.

use axum::extract::{FromRequest, FromRequestParts, Json, Query, Request};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sluice_service::{Listing, page_cursor, page_token};
use utoipa::IntoParams;

use super::problem::Problem;

/// Items per page when `limit` is absent, and the most a page holds.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// A query string decoded into `T`.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Params(value))
            .map_err(|e| Problem::bad_request(e.body_text()))
    }
}

/// A JSON body decoded into `T`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| Body(value))
            .map_err(|e| Problem::bad_request(e.body_text()))
    }
}

/// Keyset paging: at most `limit` items, after the page `page_token` came with.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// Items per page, 1 to 1000 (default 100).
    pub limit: Option<usize>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

impl Paging {
    pub fn limit(&self) -> Result<usize, Problem> {
        page_limit(self.limit)
    }

    /// The numeric cursor (an execution or event id) the token carries.
    pub fn cursor(&self, listing: Listing) -> Result<Option<i64>, Problem> {
        let Some(token) = &self.page_token else {
            return Ok(None);
        };
        let cursor = page_cursor(listing, token)?;
        cursor
            .parse()
            .map(Some)
            .map_err(|_| Problem::bad_request("the page_token is not one this listing handed out"))
    }
}

/// Items per page: `limit`, 1 to 1000, or 100 when absent.
pub fn page_limit(limit: Option<usize>) -> Result<usize, Problem> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(n) => Err(Problem::bad_request(format!(
            "limit must be between 1 and {MAX_LIMIT}, not {n}"
        ))),
    }
}

/// The token of the page after `last`, when the page was full.
pub fn next_token(listing: Listing, full: bool, last: Option<i64>) -> Option<String> {
    last.filter(|_| full)
        .map(|cursor| page_token(listing, &cursor.to_string()))
}

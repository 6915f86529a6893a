//! Console sessions: a key id and secret, checked once at log-in, become a cookie the browser
//! sends with every request to the console and to the native API.
//!
//! The cookie is `key id . expiry . nonce . MAC`, the MAC an HMAC-SHA256 under a key derived
//! from the access key's secret, so every node holding the configuration can check it and a
//! changed secret ends the key's sessions. It is `HttpOnly` (no script reads it),
//! `SameSite=Strict` (no other site's page sends it) and expires after [`LIFETIME`]. Every
//! request that changes something must also carry the session's CSRF token (derived from the
//! nonce) in [`CSRF_HEADER`], which only the console's own pages can read. Logging out revokes
//! the nonce in this process until the cookie would have expired anyway.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sluice_service::{Caller, Tenants};
use subtle::ConstantTimeEq;

/// How long a session lasts from log-in.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// The cookie holding the session.
pub const COOKIE: &str = "sluice_session";
/// The header an unsafe request carries the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Why a request's session is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("not logged in")]
    Missing,
    #[error("the access key id or secret is wrong")]
    BadCredentials,
    #[error("the session is invalid or has expired; log in again")]
    Expired,
    #[error("the request lacks the session's CSRF token (header {CSRF_HEADER})")]
    Csrf,
}

/// A checked session.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    /// The cookie's value.
    pub token: String,
    pub csrf: String,
    pub expires_ms: i64,
    nonce: String,
}

/// The sessions this process has seen closed: nonce → when the cookie would have expired.
/// (Another node sharing the database still accepts a closed session's cookie until it
/// expires; the browser that logged out no longer has it.)
static REVOKED: LazyLock<Mutex<HashMap<String, i64>>> = LazyLock::new(Default::default);

/// Checks a key id and secret and opens a session for the key.
pub fn open(
    tenants: &Tenants,
    key_id: &str,
    secret: &str,
    now_ms: i64,
) -> Result<Session, SessionError> {
    let (known, caller) = tenants.key(key_id).ok_or(SessionError::BadCredentials)?;
    if !bool::from(known.as_bytes().ct_eq(secret.as_bytes())) {
        return Err(SessionError::BadCredentials);
    }
    let expires_ms = now_ms + LIFETIME.as_millis() as i64;
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let body = format!("{}.{expires_ms}.{nonce}", URL_SAFE_NO_PAD.encode(key_id));
    let mac = URL_SAFE_NO_PAD.encode(mac(known, &body));
    Ok(Session {
        caller: caller.clone(),
        csrf: csrf_token(known, &nonce),
        token: format!("{body}.{mac}"),
        expires_ms,
        nonce,
    })
}

/// The session a request's cookie carries: `None` when it has none; for a request that
/// `changes` something, only with the session's CSRF token.
pub fn check(
    tenants: &Tenants,
    headers: &HeaderMap,
    changes: bool,
    now_ms: i64,
) -> Option<Result<Session, SessionError>> {
    let token = cookie(headers, COOKIE)?;
    let session = verify(tenants, token, now_ms);
    Some(session.and_then(|session| {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !changes || bool::from(sent.as_bytes().ct_eq(session.csrf.as_bytes())) {
            Ok(session)
        } else {
            Err(SessionError::Csrf)
        }
    }))
}

/// Ends a session in this process.
pub fn close(session: &Session, now_ms: i64) {
    let mut revoked = REVOKED.lock().unwrap_or_else(|e| e.into_inner());
    revoked.retain(|_, expires| *expires > now_ms);
    revoked.insert(session.nonce.clone(), session.expires_ms);
}

fn verify(tenants: &Tenants, token: &str, now_ms: i64) -> Result<Session, SessionError> {
    let (body, sent_mac) = token.rsplit_once('.').ok_or(SessionError::Expired)?;
    let mut parts = body.splitn(3, '.');
    let (Some(key), Some(expires), Some(nonce)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SessionError::Expired);
    };
    let key_id = URL_SAFE_NO_PAD
        .decode(key)
        .ok()
        .and_then(|k| String::from_utf8(k).ok())
        .ok_or(SessionError::Expired)?;
    let (secret, caller) = tenants.key(&key_id).ok_or(SessionError::Expired)?;
    let sent_mac = URL_SAFE_NO_PAD
        .decode(sent_mac)
        .map_err(|_| SessionError::Expired)?;
    if !bool::from(mac(secret, body).ct_eq(&sent_mac)) {
        return Err(SessionError::Expired);
    }
    let expires_ms: i64 = expires.parse().map_err(|_| SessionError::Expired)?;
    let revoked = REVOKED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(nonce);
    if expires_ms <= now_ms || revoked {
        return Err(SessionError::Expired);
    }
    Ok(Session {
        caller: caller.clone(),
        token: token.to_string(),
        csrf: csrf_token(secret, nonce),
        expires_ms,
        nonce: nonce.to_string(),
    })
}

/// The `Set-Cookie` value that stores a session in the browser.
pub fn set_cookie(session: &Session, now_ms: i64) -> String {
    let max_age = (session.expires_ms - now_ms).max(0) / 1000;
    format!(
        "{COOKIE}={}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict",
        session.token
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
}

/// The key sessions are signed with: derived from the access key's secret, so a session
/// MAC is never a signature some other scheme would accept.
fn mac(secret: &str, message: &str) -> Vec<u8> {
    let derived = hmac(secret.as_bytes(), b"sluice console session");
    hmac(&derived, message.as_bytes())
}

fn csrf_token(secret: &str, nonce: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(secret, &format!("csrf.{nonce}")))
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests;

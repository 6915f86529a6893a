use axum::http::HeaderValue;
use sluice_service::{KeyConfig, TenantConfig};

use super::*;

const NOW: i64 = 1_800_000_000_000;

fn tenants(secret: &str) -> Tenants {
    Tenants::new(&[TenantConfig {
        id: "t1".into(),
        account_id: "123".into(),
        project_id: None,
        keys: vec![KeyConfig {
            id: "ak".into(),
            secret: secret.into(),
            actions: vec!["*".into()],
            allow_unsigned_payload: false,
        }],
        rate_limits: Default::default(),
        outbound: None,
    }])
}

fn request(token: &str, csrf: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let cookie = format!("other=1; {COOKIE}={token}");
    headers.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
    if let Some(csrf) = csrf {
        headers.insert(CSRF_HEADER, HeaderValue::from_str(csrf).unwrap());
    }
    headers
}

fn checked(
    sessions: &Sessions,
    tenants: &Tenants,
    headers: &HeaderMap,
    method: Method,
    now: i64,
) -> Result<Session, SessionError> {
    sessions
        .check(tenants, headers, &method, now)
        .expect("the request has a session cookie")
}

#[test]
fn a_session_opens_with_the_right_secret_only() {
    let sessions = Sessions::default();
    let t = tenants("sk");
    assert_eq!(
        sessions.open(&t, "ak", "wrong", NOW).unwrap_err(),
        SessionError::BadCredentials
    );
    assert_eq!(
        sessions.open(&t, "nobody", "sk", NOW).unwrap_err(),
        SessionError::BadCredentials
    );
    let session = sessions.open(&t, "ak", "sk", NOW).expect("opens");
    assert_eq!(session.caller.key_id, "ak");
    let cookie = set_cookie(&session, NOW);
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(cookie.contains(&format!("Max-Age={}", LIFETIME.as_secs())));
}

#[test]
fn reads_need_the_cookie_and_changes_need_the_csrf_token_too() {
    let sessions = Sessions::default();
    let t = tenants("sk");
    let session = sessions.open(&t, "ak", "sk", NOW).unwrap();
    let bare = request(&session.token, None);
    assert!(checked(&sessions, &t, &bare, Method::GET, NOW).is_ok());
    assert_eq!(
        checked(&sessions, &t, &bare, Method::POST, NOW).unwrap_err(),
        SessionError::Csrf
    );
    let wrong = request(&session.token, Some("forged"));
    assert_eq!(
        checked(&sessions, &t, &wrong, Method::POST, NOW).unwrap_err(),
        SessionError::Csrf
    );
    let with_token = request(&session.token, Some(&session.csrf));
    let again = checked(&sessions, &t, &with_token, Method::POST, NOW).expect("accepted");
    assert_eq!(again.caller.tenant, session.caller.tenant);
    assert!(
        sessions
            .check(&t, &HeaderMap::new(), &Method::GET, NOW)
            .is_none()
    );
}

#[test]
fn expired_forged_revoked_or_rekeyed_sessions_are_refused() {
    let sessions = Sessions::default();
    let t = tenants("sk");
    let session = sessions.open(&t, "ak", "sk", NOW).unwrap();
    let headers = request(&session.token, None);
    let later = NOW + LIFETIME.as_millis() as i64;
    assert_eq!(
        checked(&sessions, &t, &headers, Method::GET, later).unwrap_err(),
        SessionError::Expired
    );
    let stretched = session.token.replacen(
        &session.expires_ms.to_string(),
        &(session.expires_ms + 1).to_string(),
        1,
    );
    assert_eq!(
        checked(&sessions, &t, &request(&stretched, None), Method::GET, NOW).unwrap_err(),
        SessionError::Expired
    );
    assert_eq!(
        checked(&sessions, &tenants("new"), &headers, Method::GET, NOW).unwrap_err(),
        SessionError::Expired
    );
    assert_eq!(
        checked(&sessions, &t, &request("garbage", None), Method::GET, NOW).unwrap_err(),
        SessionError::Expired
    );
    sessions.close(&session, NOW);
    assert_eq!(
        checked(&sessions, &t, &headers, Method::GET, NOW).unwrap_err(),
        SessionError::Expired
    );
}

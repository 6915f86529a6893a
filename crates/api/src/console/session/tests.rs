use axum::http::HeaderValue;
use sluice_service::{KeyConfig, TenantConfig};

use super::*;

const NOW: i64 = 1_800_000_000_000;

fn tenants(secret: &str) -> Tenants {
    Tenants::new(&[TenantConfig {
        id: "t1".into(),
        account_id: "123".into(),
        aws_account_id: None,
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
    tenants: &Tenants,
    headers: &HeaderMap,
    changes: bool,
    now: i64,
) -> Result<Session, SessionError> {
    check(tenants, headers, changes, now).expect("the request has a session cookie")
}

#[test]
fn a_session_opens_with_the_right_secret_only() {
    let t = tenants("sk");
    assert_eq!(
        open(&t, "ak", "wrong", NOW).unwrap_err(),
        SessionError::BadCredentials
    );
    assert_eq!(
        open(&t, "nobody", "sk", NOW).unwrap_err(),
        SessionError::BadCredentials
    );
    let session = open(&t, "ak", "sk", NOW).expect("opens");
    assert_eq!(session.caller.key_id, "ak");
    let cookie = set_cookie(&session, NOW);
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(cookie.contains(&format!("Max-Age={}", LIFETIME.as_secs())));
}

#[test]
fn reads_need_the_cookie_and_changes_need_the_csrf_token_too() {
    let t = tenants("sk");
    let session = open(&t, "ak", "sk", NOW).unwrap();
    let bare = request(&session.token, None);
    assert!(checked(&t, &bare, false, NOW).is_ok());
    assert_eq!(
        checked(&t, &bare, true, NOW).unwrap_err(),
        SessionError::Csrf
    );
    let wrong = request(&session.token, Some("forged"));
    assert_eq!(
        checked(&t, &wrong, true, NOW).unwrap_err(),
        SessionError::Csrf
    );
    let with_token = request(&session.token, Some(&session.csrf));
    let again = checked(&t, &with_token, true, NOW).expect("accepted");
    assert_eq!(again.caller.tenant, session.caller.tenant);
    assert!(check(&t, &HeaderMap::new(), false, NOW).is_none());
}

#[test]
fn expired_forged_revoked_or_rekeyed_sessions_are_refused() {
    let t = tenants("sk");
    let session = open(&t, "ak", "sk", NOW).unwrap();
    let headers = request(&session.token, None);
    let later = NOW + LIFETIME.as_millis() as i64;
    assert_eq!(
        checked(&t, &headers, false, later).unwrap_err(),
        SessionError::Expired
    );
    let stretched = session.token.replacen(
        &session.expires_ms.to_string(),
        &(session.expires_ms + 1).to_string(),
        1,
    );
    assert_eq!(
        checked(&t, &request(&stretched, None), false, NOW).unwrap_err(),
        SessionError::Expired
    );
    assert_eq!(
        checked(&tenants("new"), &headers, false, NOW).unwrap_err(),
        SessionError::Expired
    );
    assert_eq!(
        checked(&t, &request("garbage", None), false, NOW).unwrap_err(),
        SessionError::Expired
    );
    close(&session, NOW);
    assert_eq!(
        checked(&t, &headers, false, NOW).unwrap_err(),
        SessionError::Expired
    );
}

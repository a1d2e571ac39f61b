//! Login recipes: the token is obtained before the scan, refreshed only when
//! the liveness request fails, and never reaches the report.

use crate::support::{assert_valid_report, mortar};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Tokens are good for three requests to `/` (the liveness request `/me` does
/// not use them up), so a scan outlives its first session.
#[derive(Default)]
struct Sessions {
    issued: u64,
    uses: HashMap<String, u32>,
    logins: u64,
    unauthorized: u64,
}

const PASSWORD: &str = "correct horse battery";

fn token_of(headers: &HeaderMap) -> Option<String> {
    headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ").map(str::to_string)
}

async fn serve(refuse_cross_origin: bool) -> (u16, Arc<Mutex<Sessions>>) {
    let state = Arc::new(Mutex::new(Sessions::default()));
    let app = Router::new()
        .route(
            "/login",
            post(|State(s): State<Arc<Mutex<Sessions>>>, Json(body): Json<Value>| async move {
                if body["password"] != PASSWORD {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                let mut s = s.lock().unwrap();
                s.issued += 1;
                s.logins += 1;
                let token = format!("tok-{}-{}", s.issued, 0xdead_beef_u64 * s.issued);
                s.uses.insert(token.clone(), 0);
                Ok(Json(json!({"access_token": token, "token_type": "Bearer"})))
            }),
        )
        .route(
            "/me",
            get(|State(s): State<Arc<Mutex<Sessions>>>, headers: HeaderMap| async move {
                let s = s.lock().unwrap();
                match token_of(&headers).and_then(|t| s.uses.get(&t).copied()) {
                    Some(uses) if uses < 3 => StatusCode::OK,
                    _ => StatusCode::UNAUTHORIZED,
                }
            }),
        )
        .fallback(move |State(s): State<Arc<Mutex<Sessions>>>, headers: HeaderMap| async move {
            let mut s = s.lock().unwrap();
            let token = token_of(&headers);
            match token.as_ref().and_then(|t| s.uses.get_mut(t)) {
                Some(uses) if *uses < 3 && !(refuse_cross_origin && headers.contains_key("origin")) => {
                    *uses += 1;
                    // Echoes the caller's credential, as debug endpoints do; the
                    // versioned Server header gives the scan a finding whose
                    // evidence holds this body.
                    (
                        StatusCode::OK,
                        [("server", "sessiond/1.2.3")],
                        Json(json!({"caller": headers.get("authorization").and_then(|v| v.to_str().ok())})),
                    )
                }
                _ => {
                    s.unauthorized += 1;
                    (
                        StatusCode::UNAUTHORIZED,
                        [("server", "sessiond/1.2.3")],
                        Json(json!({"error": "session expired"})),
                    )
                }
            }
        })
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, state)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_session_is_refreshed_and_no_token_or_password_is_reported() {
    let (port, state) = serve(false).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("login.json"), format!(r#"{{"username":"dave","password":"{PASSWORD}"}}"#)).unwrap();
    std::fs::write(
        dir.path().join("mortar.toml"),
        format!(
            r#"url = "http://127.0.0.1:{port}/"
rate = 0
[identities.dave.login]
request = "POST /login"
headers = {{ "Content-Type" = "application/json" }}
body = "@login.json"
token_json = "/access_token"
liveness = "GET /me"
"#
        ),
    )
    .unwrap();
    let config = dir.path().join("mortar.toml");
    let out = mortar(&["scan", "--config", config.to_str().unwrap(), "--format", "json"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    let dave = report["coverage"]["identities"].as_array().unwrap().iter().find(|i| i["name"] == "dave").unwrap();
    assert_eq!(dave["accepted"], true, "{dave}");
    let logins = dave["logins"].as_u64().unwrap();
    let server_logins = state.lock().unwrap().logins;
    assert_eq!(logins, server_logins, "logins counted by mortar and by the server differ");
    assert!(logins >= 2, "the session should have been refreshed: {dave}");
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains("tok-"), "a session token reached the output");
        assert!(!text.contains(PASSWORD), "the password reached the output");
    }
    assert!(out.stdout.contains("$MORTAR_DAVE_AUTHORIZATION"), "the echoed token should show as a placeholder");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_refuses_the_identity_with_exit_2() {
    let (port, _state) = serve(false).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mortar.toml"),
        format!(
            r#"url = "http://127.0.0.1:{port}/"
[identities.eve.login]
request = "POST /login"
headers = {{ "Content-Type" = "application/json" }}
body = 'env:EVE_LOGIN'
token_json = "/access_token"
"#
        ),
    )
    .unwrap();
    let config = dir.path().join("mortar.toml");
    let out = mortar(
        &["scan", "--config", config.to_str().unwrap()],
        &[("EVE_LOGIN", r#"{"username":"eve","password":"wrong-password-here"}"#)],
    )
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("login failed: the login request answered HTTP 401"), "{}", out.stderr);
    assert!(!out.stderr.contains("wrong-password-here"));
}

/// A 401 the session survives (the liveness request still answers 2xx) is an
/// answer, not a lost session: no new login. Here cross-origin requests (the
/// CORS probe) are refused while plain ones are served.
#[tokio::test(flavor = "multi_thread")]
async fn an_expected_401_does_not_trigger_a_new_login() {
    let (port, state) = serve(true).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mortar.toml"),
        format!(
            r#"url = "http://127.0.0.1:{port}/api/"
checks = ["misconfiguration.cors-reflected-origin"]
[identities.dave.login]
request = "POST /login"
headers = {{ "Content-Type" = "application/json" }}
body = '{{"password":"{PASSWORD}"}}'
token_json = "/access_token"
liveness = "GET /me"
"#
        ),
    )
    .unwrap();
    let config = dir.path().join("mortar.toml");
    let out = mortar(&["scan", "--config", config.to_str().unwrap(), "--format", "json"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sessions = state.lock().unwrap();
    assert!(sessions.unauthorized >= 1, "the CORS probe should have been refused");
    assert_eq!(sessions.logins, 1, "a 401 with a live session must not log in again");
}

//! `member-accounts` (axum, active profile, no identity): a members' club
//! under `/club/v1`. `POST /club/v1/members` takes
//! `{"member": {"nickname", "email", "password"}}`; `POST
//! /club/v1/auth/signin` takes `{"email", "password"}` and answers a session
//! token. Failed sign-ins are throttled per e-mail address in both variants.
//!
//! The vulnerable variant keeps the password as it came, hands the stored
//! member (password included) back from both operations, and takes any
//! password. The fixed variant refuses passwords shorter than 10 characters
//! or on a common-password list, stores a salted PBKDF2-HMAC-SHA256 hash, and
//! answers only the member's nickname and e-mail.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "member-accounts", start };

/// Members kept at most (a scan signs up a few dozen).
const MAX_MEMBERS: usize = 2000;
/// Failed sign-ins per e-mail address and window before 429.
const ALLOWED_FAILURES: usize = 5;
const WINDOW: Duration = Duration::from_secs(60);
/// PBKDF2 rounds: low for a lab that signs up dozens of accounts per scan;
/// a production service would use argon2id or at least 600,000 rounds.
const PBKDF2_ROUNDS: u32 = 2_000;
/// The start of every common-password list.
const COMMON: &[&str] = &["123456", "password", "12345678", "qwerty", "123456789", "12345", "111111", "1234567"];

/// How a password is kept.
#[derive(Clone)]
enum Stored {
    /// The vulnerable variant: as it came.
    Plain(String),
    /// The fixed variant: salt and PBKDF2-HMAC-SHA256 output.
    Hashed([u8; 16], [u8; 32]),
}

#[derive(Clone)]
struct Member {
    nickname: String,
    email: String,
    password: Stored,
}

struct Club {
    variant: Variant,
    members: Mutex<Vec<Member>>,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let member = json!({"type": "object", "required": ["nickname", "email", "password"], "properties": {
        "nickname": {"type": "string", "example": "hiker"},
        "email": {"type": "string", "format": "email", "example": "hiker@club.test"},
        "password": {"type": "string", "format": "password", "example": "a long passphrase"}}});
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Members' club", "version": "1.4.0"},
        "servers": [{"url": "/club/v1"}],
        "paths": {
            "/members": {"post": {"operationId": "joinClub",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["member"], "properties": {"member": member}}}}},
                "responses": {"201": {"description": "joined"}, "409": {"description": "e-mail taken"},
                    "422": {"description": "password refused"}}}},
            "/auth/signin": {"post": {"operationId": "signIn",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["email", "password"], "properties": {
                        "email": {"type": "string", "format": "email", "example": "hiker@club.test"},
                        "password": {"type": "string", "format": "password", "example": "a long passphrase"}}}}}},
                "responses": {"200": {"description": "a session"}, "401": {"description": "wrong credentials"},
                    "429": {"description": "too many attempts"}}}}
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let club = Arc::new(Club { variant, members: Mutex::new(Vec::new()), failures: Mutex::new(HashMap::new()) });
    let router = Router::new()
        .route("/club/v1/members", post(join))
        .route("/club/v1/auth/signin", post(sign_in))
        .with_state(club);
    let addr = ctx.serve_axum(router)?;
    let mut args = ctx.ca_args();
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let expected = super::vulnerable_expects_each(
        variant,
        &[
            ("data-exposure.password-in-response", "POST", "/club/v1/members"),
            ("data-exposure.password-in-response", "POST", "/club/v1/auth/signin"),
            ("authentication.weak-password-policy", "POST", "/club/v1/members"),
        ],
    );
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

fn pbkdf2(password: &str, salt: &[u8; 16]) -> [u8; 32] {
    // One output block of PBKDF2 (RFC 8018): U1 = HMAC(P, S || 1), Ui = HMAC(P, Ui-1), T = xor of all.
    let mac = |data: &[u8]| -> [u8; 32] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(password.as_bytes()).expect("HMAC takes any key");
        m.update(data);
        m.finalize().into_bytes().into()
    };
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = mac(&block);
    let mut out = u;
    for _ in 1..PBKDF2_ROUNDS {
        u = mac(&u);
        out.iter_mut().zip(u).for_each(|(o, x)| *o ^= x);
    }
    out
}

fn matches(stored: &Stored, given: &str) -> bool {
    match stored {
        Stored::Plain(p) => p == given,
        Stored::Hashed(salt, hash) => {
            let got = pbkdf2(given, salt);
            got.iter().zip(hash).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        }
    }
}

/// What an answer shows of a member.
fn view(club: &Club, member: &Member) -> Value {
    match (&club.variant, &member.password) {
        // The flaw: the stored record, password and all.
        (Variant::Vulnerable, Stored::Plain(p)) => {
            json!({"nickname": member.nickname, "email": member.email, "password": p})
        }
        _ => json!({"nickname": member.nickname, "email": member.email}),
    }
}

fn refuse(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

async fn join(State(club): State<Arc<Club>>, body: axum::body::Bytes) -> Response {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
    let field = |name: &str| parsed["member"][name].as_str().map(str::to_owned);
    let (Some(nickname), Some(email), Some(password)) = (field("nickname"), field("email"), field("password")) else {
        return refuse(StatusCode::BAD_REQUEST, "member.nickname, member.email and member.password are required");
    };
    let stored = match club.variant {
        Variant::Vulnerable => Stored::Plain(password),
        Variant::Fixed => {
            if password.chars().count() < 10 || COMMON.contains(&password.to_ascii_lowercase().as_str()) {
                return refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "choose a password of 10 characters or more that is not a common one",
                );
            }
            let mut salt = [0u8; 16];
            if crate::tls::fill_random(&mut salt).is_err() {
                return refuse(StatusCode::INTERNAL_SERVER_ERROR, "try again");
            }
            let hash = pbkdf2(&password, &salt);
            Stored::Hashed(salt, hash)
        }
    };
    let mut members = club.members.lock().unwrap_or_else(|e| e.into_inner());
    if members.iter().any(|m| m.email.eq_ignore_ascii_case(&email)) {
        return refuse(StatusCode::CONFLICT, "this e-mail address has an account");
    }
    if members.len() >= MAX_MEMBERS {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "the club is full");
    }
    let member = Member { nickname, email, password: stored };
    members.push(member.clone());
    (StatusCode::CREATED, Json(json!({"member": view(&club, &member)}))).into_response()
}

async fn sign_in(State(club): State<Arc<Club>>, body: axum::body::Bytes) -> Response {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
    let (Some(email), Some(password)) = (parsed["email"].as_str(), parsed["password"].as_str()) else {
        return refuse(StatusCode::BAD_REQUEST, "email and password are required");
    };
    let key = email.to_ascii_lowercase();
    {
        let mut failures = club.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let recent = failures.entry(key.clone()).or_default();
        recent.retain(|at| now.duration_since(*at) < WINDOW);
        if recent.len() >= ALLOWED_FAILURES {
            return ([("retry-after", "1")], refuse(StatusCode::TOO_MANY_REQUESTS, "too many attempts"))
                .into_response();
        }
    }
    let found = club
        .members
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|m| m.email.eq_ignore_ascii_case(email))
        .cloned();
    // The same answer whatever failed: no account or a wrong password.
    match found.filter(|m| matches(&m.password, password)) {
        Some(member) => {
            let token = crate::tls::random_hex(16).unwrap_or_default();
            Json(json!({"session": token, "member": view(&club, &member)})).into_response()
        }
        None => {
            club.failures.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default().push(Instant::now());
            refuse(StatusCode::UNAUTHORIZED, "wrong e-mail or password")
        }
    }
}

//! `signing-*`: an order-tracking API whose every request is authenticated
//! with an HMAC signature (see [`crate::signing`] for the scheme). Each
//! scenario's vulnerable variant lacks one property of a sound verifier; its
//! fixed variant is [`VerifierSettings::fixed`], its nonces in the lab database.
//!
//! Every scenario exists twice: scanned with the signing secret (the
//! scanner signs its own requests), and scanned with only a captured signed
//! request (`--signed-sample`) and the scheme description, no secret. A
//! captured sample can be used once on a service with a nonce store, as in
//! real life: scan a fresh lab.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpRequest, HttpResponse, web};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::signing::{
    Compare, Coverage, LabVerifier, NONCE_HEADER, Received, SIGNATURE_HEADER, TIMESTAMP_HEADER, VerifierSettings,
    verify_actix, verify_axum,
};
use crate::{Expected, LabError, LabTarget, Variant};

/// The flaw a scenario plants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// The request line (method, path, query) is not signed.
    BodyOnly,
    /// No timestamp, no nonce: a captured request works forever.
    Replay,
    /// The timestamp is signed but its age never checked.
    AnyTimestamp,
    /// An empty key left in the rotation list.
    EmptySecret,
    /// Only as many characters as were sent are compared.
    PrefixCompare,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framework {
    Actix,
    Axum,
}

impl Flaw {
    fn check(self) -> &'static str {
        match self {
            Flaw::BodyOnly => "request-signing.unsigned-component",
            Flaw::Replay => "request-signing.replay",
            Flaw::AnyTimestamp => "request-signing.stale-timestamp",
            Flaw::EmptySecret => "request-signing.weak-secret",
            Flaw::PrefixCompare => "request-signing.signature-bypass",
        }
    }

    fn framework(self) -> Framework {
        match self {
            Flaw::BodyOnly | Flaw::Replay | Flaw::PrefixCompare => Framework::Actix,
            Flaw::AnyTimestamp | Flaw::EmptySecret => Framework::Axum,
        }
    }

    /// The vulnerable verifier: the fixed one minus one property.
    fn settings(self, key: Vec<u8>) -> VerifierSettings {
        let fixed = VerifierSettings::fixed(key.clone());
        match self {
            Flaw::BodyOnly => VerifierSettings { coverage: Coverage::BodyOnly, ..fixed },
            Flaw::Replay => VerifierSettings { coverage: Coverage::NoFreshness, nonce_store: false, ..fixed },
            Flaw::AnyTimestamp => VerifierSettings { window_secs: None, ..fixed },
            Flaw::EmptySecret => VerifierSettings { keys: vec![key, Vec::new()], ..fixed },
            Flaw::PrefixCompare => VerifierSettings { compare: Compare::SentPrefix, ..fixed },
        }
    }
}

macro_rules! scenarios {
    ($($konst:ident, $sample:ident, $flaw:expr, $name:literal;)*) => {
        $(
            pub(super) const $konst: Scenario = Scenario {
                name: $name,
                start: |ctx, variant| start(ctx, variant, $flaw, false, $name),
            };
            pub(super) const $sample: Scenario = Scenario {
                name: concat!($name, "-sample"),
                start: |ctx, variant| start(ctx, variant, $flaw, true, concat!($name, "-sample")),
            };
        )*
    };
}

scenarios! {
    BODY_ONLY, BODY_ONLY_SAMPLE, Flaw::BodyOnly, "signing-body-only";
    REPLAY, REPLAY_SAMPLE, Flaw::Replay, "signing-replay";
    ANY_TIMESTAMP, ANY_TIMESTAMP_SAMPLE, Flaw::AnyTimestamp, "signing-any-timestamp";
    EMPTY_SECRET, EMPTY_SECRET_SAMPLE, Flaw::EmptySecret, "signing-empty-secret";
    PREFIX_COMPARE, PREFIX_COMPARE_SAMPLE, Flaw::PrefixCompare, "signing-prefix-compare";
}

/// The signed endpoint the scan is pointed at.
const ORDERS_PATH: &str = "/api/orders";

/// How old the any-timestamp scenario's captured sample is: a request
/// picked out of yesterday's logs.
const OLD_SAMPLE_AGE_SECS: i64 = 26 * 3600;

fn start(
    ctx: &mut LabContext,
    variant: Variant,
    flaw: Flaw,
    sample_only: bool,
    name: &'static str,
) -> Result<LabTarget, LabError> {
    let key = crate::tls::random_hex(32)?.into_bytes();
    let settings = match variant {
        Variant::Vulnerable => flaw.settings(key.clone()),
        Variant::Fixed => VerifierSettings::fixed(key.clone()),
    };
    let coverage = settings.coverage;
    let verifier = Arc::new(LabVerifier::new(settings, ctx.db()?, format!("{name}-{variant}")));
    let addr = match flaw.framework() {
        Framework::Actix => {
            let verifier = Arc::clone(&verifier);
            ctx.serve_actix(move || {
                App::new()
                    .app_data(web::Data::from(Arc::clone(&verifier)))
                    .route(ORDERS_PATH, web::get().to(orders_actix))
                    .route("/api/orders/{id}", web::get().to(orders_actix))
            })?
        }
        Framework::Axum => ctx.serve_axum(
            Router::new()
                .route(ORDERS_PATH, get(orders_axum))
                .route("/api/orders/{id}", get(orders_axum))
                .with_state(Arc::clone(&verifier)),
        )?,
    };
    let stem = format!("{name}-{variant}");
    let dir = ctx.dir().to_owned();
    let key_path = dir.join(format!("{stem}.key"));
    crate::write_file(&key_path, &key, 0o600)?;
    let config_path = dir.join(format!("{stem}.toml"));
    let secret_line = if sample_only { String::new() } else { format!("secret = \"@{}\"\n", key_path.display()) };
    let config = format!(
        "# The scheme as the API documents it.\n[identities.client.signing]\n{secret_line}algorithm = \"sha256\"\n\
         template = {template:?}\nsignature_header = \"X-Signature\"\nsignature_format = \"sha256={{sig}}\"\n\
         encoding = \"hex\"\n{freshness}",
        template = coverage.template(),
        freshness = if coverage == Coverage::NoFreshness {
            ""
        } else {
            "timestamp_header = \"X-Timestamp\"\ntimestamp_format = \"unix\"\nnonce_header = \"X-Nonce\"\n"
        },
    );
    crate::write_file(&config_path, config.as_bytes(), 0o600)?;
    let mut scan_args = ctx.ca_args();
    scan_args.extend(["--config".to_owned(), config_path.display().to_string()]);
    if sample_only {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
        let signed_at = if flaw == Flaw::AnyTimestamp { now - OLD_SAMPLE_AGE_SECS } else { now };
        let sample = captured_sample(&verifier, &key, addr, signed_at, &crate::tls::random_hex(16)?);
        let sample_path = dir.join(format!("{stem}.http"));
        crate::write_file(&sample_path, sample.as_bytes(), 0o600)?;
        scan_args.extend(["--signed-sample".to_owned(), sample_path.display().to_string()]);
    }
    Ok(LabTarget {
        scenario: name.to_owned(),
        variant,
        url: format!("https://{addr}{ORDERS_PATH}"),
        spec: None,
        scan_args,
        expected: match variant {
            Variant::Vulnerable => vec![Expected::Check(flaw.check().to_owned())],
            Variant::Fixed => Vec::new(),
        },
        allowed: Vec::new(),
    })
}

/// A signed `GET /api/orders?status=open` as a client of the service sent it.
fn captured_sample(
    verifier: &LabVerifier,
    key: &[u8],
    addr: std::net::SocketAddr,
    signed_at: i64,
    nonce: &str,
) -> String {
    let no_headers = |_: &str| Vec::new();
    let query = "status=open";
    let received = Received { method: "GET", path: ORDERS_PATH, query, header: &no_headers, body: b"" };
    let signature = verifier.sign(key, &received, signed_at, nonce);
    let mut text = format!("GET {ORDERS_PATH}?{query} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n");
    if verifier.coverage() != Coverage::NoFreshness {
        text.push_str(&format!("{TIMESTAMP_HEADER}: {signed_at}\r\n{NONCE_HEADER}: {nonce}\r\n"));
    }
    text.push_str(&format!("{SIGNATURE_HEADER}: {signature}\r\n\r\n"));
    text
}

fn orders() -> serde_json::Value {
    json!({"orders": [
        {"id": "ord_7001", "status": "open", "total": "129.00"},
        {"id": "ord_7002", "status": "shipped", "total": "42.50"},
    ]})
}

async fn orders_actix(verifier: web::Data<LabVerifier>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    if let Some(refused) = verify_actix(&verifier, &request, &body).await {
        return refused;
    }
    HttpResponse::Ok().json(orders())
}

async fn orders_axum(
    State(verifier): State<Arc<LabVerifier>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = verify_axum(&verifier, &method, &uri, &headers, &body).await {
        return refused;
    }
    axum::Json(orders()).into_response()
}

//! `race-first-request` (write-up 000, actix-web with mutual TLS): per-client
//! permissions initialised lazily on a certificate's first request. Each
//! client certificate may run one free export; the quota row for a subject is
//! created the first time that subject calls.
//!
//! Vulnerable: the handler reads the quota, treats "no row yet" as the
//! permissive default (one export left), runs the export (a read of the
//! usage report), records it, then writes the quota: a burst of first requests from a new certificate all see "no row"
//! and all export. Fixed: the row is initialised with `INSERT ... ON CONFLICT
//! DO NOTHING` and spent with `UPDATE ... WHERE exports_left > 0` in one
//! transaction, succeeding only when a row changed. Both variants verify the
//! client certificate strictly (lab CA, CRL) and read the subject from the
//! verified connection: the handshake is sound, the flaw is after it.

use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, web};
use serde_json::json;
use sqlx::{Row, SqlitePool};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::Scenario;
use crate::serve::{LabContext, PeerCert};
use crate::tls::ClientAuth;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "race-first-request", start };

/// Exports a client may run before it needs a paid plan.
const FREE_EXPORTS: i64 = 1;

struct Service {
    pool: SqlitePool,
    variant: Variant,
    scope: String,
}

type Shared = web::Data<Service>;

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let scope = format!("{}-{variant}", SCENARIO.name);
    let shared = web::Data::from(Arc::new(Service { pool: ctx.db()?, variant, scope: scope.clone() }));
    let addr = ctx.serve_actix_mtls(
        move || {
            App::new()
                .app_data(shared.clone())
                .route("/api/", web::get().to(index))
                .route("/api/me", web::get().to(me))
                .route("/api/exports", web::post().to(export))
        },
        ClientAuth::Strict,
    )?;
    // A known client for the pre-flight and the other checks; the race plan
    // issues a new certificate from the lab CA for every fresh resource.
    let dir = ctx.dir().to_owned();
    let (ca_cert, ca_key) = ctx.client_ca_paths();
    let config = format!(
        "profile = \"active\"\n\n[identities.alice]\ncert = {:?}\nkey = {:?}\n\n[[race]]\n\
         name = \"a client certificate runs one free export\"\nburst = {{ request = \"POST /api/exports\", body = '{{\"format\": \"csv\"}}' }}\n\
         success = \"2xx\"\nlimit = {FREE_EXPORTS}\nfresh_client_cert = {{ ca_cert = {:?}, ca_key = {:?} }}\n",
        dir.join("mtls-alice.pem").display().to_string(),
        dir.join("mtls-alice.key").display().to_string(),
        ca_cert.display().to_string(),
        ca_key.display().to_string(),
    );
    let config_path = dir.join(format!("{scope}.toml"));
    crate::write_file(&config_path, config.as_bytes(), 0o600)?;
    let mut target = super::api_target(ctx, SCENARIO.name, variant, addr, "race-condition.limit-overrun");
    target.scan_args.extend(["--config".to_owned(), config_path.display().to_string()]);
    Ok(target)
}

/// The verified client certificate's common name (strict client auth: always present).
fn subject(request: &HttpRequest) -> Option<String> {
    let peer = request.conn_data::<PeerCert>()?;
    let (_, cert) = X509Certificate::from_der(peer.0.as_deref()?).ok()?;
    Some(cert.subject().iter_common_name().next()?.as_str().ok()?.to_owned())
}

fn no_client() -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({"error": "client certificate required"}))
}

fn failed(e: sqlx::Error) -> HttpResponse {
    tracing::warn!("race-first-request: database error: {e}");
    HttpResponse::ServiceUnavailable().json(json!({"error": "try again"}))
}

async fn index() -> HttpResponse {
    HttpResponse::Ok().json(json!({"service": "reports", "auth": "client certificate"}))
}

async fn me(service: Shared, request: HttpRequest) -> HttpResponse {
    let Some(subject) = subject(&request) else { return no_client() };
    let left = sqlx::query("SELECT exports_left FROM client_quotas WHERE scope = ? AND subject = ?")
        .bind(&service.scope)
        .bind(&subject)
        .fetch_optional(&service.pool)
        .await;
    match left {
        Ok(row) => HttpResponse::Ok().json(json!({
            "subject": subject,
            "exports_left": row.map(|r| r.get::<i64, _>(0)).unwrap_or(FREE_EXPORTS),
        })),
        Err(e) => failed(e),
    }
}

#[derive(serde::Deserialize)]
struct ExportRequest {
    format: String,
}

async fn export(service: Shared, request: HttpRequest, order: web::Json<ExportRequest>) -> HttpResponse {
    let Some(subject) = subject(&request) else { return no_client() };
    if !["csv", "json"].contains(&order.format.as_str()) {
        return HttpResponse::BadRequest().json(json!({"error": "format: csv or json"}));
    }
    let done = match service.variant {
        Variant::Vulnerable => vulnerable_export(&service, &subject).await,
        Variant::Fixed => fixed_export(&service, &subject).await,
    };
    match done {
        Ok(Some(export)) => HttpResponse::Created().json(json!({"export": export, "subject": subject})),
        Ok(None) => HttpResponse::PaymentRequired().json(json!({"error": "free export already used"})),
        Err(e) => failed(e),
    }
}

/// The flaw: "no quota row yet" is the permissive default, and the row is
/// written after the export, across awaits.
async fn vulnerable_export(service: &Service, subject: &str) -> Result<Option<i64>, sqlx::Error> {
    let left: i64 = sqlx::query("SELECT exports_left FROM client_quotas WHERE scope = ? AND subject = ?")
        .bind(&service.scope)
        .bind(subject)
        .fetch_optional(&service.pool)
        .await?
        .map(|r| r.get(0))
        .unwrap_or(FREE_EXPORTS);
    if left <= 0 {
        return Ok(None);
    }
    run_export(service).await?;
    let export: i64 = sqlx::query("INSERT INTO exports (scope, subject) VALUES (?, ?) RETURNING id")
        .bind(&service.scope)
        .bind(subject)
        .fetch_one(&service.pool)
        .await?
        .get(0);
    sqlx::query(
        "INSERT INTO client_quotas (scope, subject, exports_left) VALUES (?, ?, ?) \
         ON CONFLICT (scope, subject) DO UPDATE SET exports_left = excluded.exports_left",
    )
    .bind(&service.scope)
    .bind(subject)
    .bind(left - 1)
    .execute(&service.pool)
    .await?;
    Ok(Some(export))
}

/// The export itself: the service's usage report (every client's exports
/// in this scope), read before the export is recorded. It decides nothing.
async fn run_export(service: &Service) -> Result<(), sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*), COALESCE(SUM(id), 0) FROM exports WHERE scope = ?")
        .bind(&service.scope)
        .fetch_one(&service.pool)
        .await?;
    tracing::trace!("race-first-request: report over {} export(s)", row.get::<i64, _>(0));
    Ok(())
}

/// The remediation: initialise atomically, spend conditionally, one transaction.
async fn fixed_export(service: &Service, subject: &str) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = service.pool.begin().await?;
    sqlx::query(
        "INSERT INTO client_quotas (scope, subject, exports_left) VALUES (?, ?, ?) \
         ON CONFLICT (scope, subject) DO NOTHING",
    )
    .bind(&service.scope)
    .bind(subject)
    .bind(FREE_EXPORTS)
    .execute(&mut *tx)
    .await?;
    let spent = sqlx::query(
        "UPDATE client_quotas SET exports_left = exports_left - 1 \
         WHERE scope = ? AND subject = ? AND exports_left > 0",
    )
    .bind(&service.scope)
    .bind(subject)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !spent {
        return Ok(None);
    }
    run_export(service).await?;
    let export: i64 = sqlx::query("INSERT INTO exports (scope, subject) VALUES (?, ?) RETURNING id")
        .bind(&service.scope)
        .bind(subject)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    tx.commit().await?;
    Ok(Some(export))
}

//! The signed race scenarios of write-ups 003 and 004 (actix-web, SQLite,
//! every request HMAC-signed and verified soundly by [`crate::signing`]: the
//! signature is not the flaw, the check-then-act after it is).
//!
//! - `race-reserve` (003): `POST /api/items/{id}/reserve` takes one unit of
//!   stock. Vulnerable: read the stock, record the reservation, then
//!   decrement, three awaited statements. Fixed: `UPDATE ... WHERE stock > 0`
//!   and the reservation in one transaction, succeeding only when a row
//!   changed.
//! - `race-orders` (004): cancel and ship of one order both require it to be
//!   pending. Vulnerable: each reads the status, records its event, then
//!   writes the new status. Fixed: each is one conditional `UPDATE ... WHERE
//!   status = 'pending'` plus its event in one transaction.

use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, web};
use serde_json::json;
use sqlx::{Row, SqlitePool};

use super::Scenario;
use crate::serve::LabContext;
use crate::signing::{Coverage, LabVerifier, VerifierSettings, verify_actix};
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const RESERVE: Scenario = Scenario { name: "race-reserve", start: start_reserve };
pub(super) const ORDERS: Scenario = Scenario { name: "race-orders", start: start_orders };

struct Service {
    pool: SqlitePool,
    variant: Variant,
    scope: String,
    verifier: LabVerifier,
}

type Shared = web::Data<Service>;

fn service(ctx: &LabContext, name: &str, variant: Variant, key: &[u8]) -> Result<Arc<Service>, LabError> {
    let scope = format!("{name}-{variant}");
    let pool = ctx.db()?;
    let verifier = LabVerifier::new(VerifierSettings::fixed(key.to_vec()), pool.clone(), scope.clone());
    Ok(Arc::new(Service { pool, variant, scope, verifier }))
}

/// Writes the key and the scan configuration (signing scheme and race plan).
fn target(
    ctx: &LabContext,
    name: &str,
    variant: Variant,
    addr: std::net::SocketAddr,
    key: &[u8],
    plan: &str,
    check: &str,
) -> Result<LabTarget, LabError> {
    let stem = format!("{name}-{variant}");
    let key_path = ctx.dir().join(format!("{stem}.key"));
    crate::write_file(&key_path, key, 0o600)?;
    let config = format!(
        "profile = \"active\"\n\n[identities.client.signing]\nsecret = \"@{}\"\nalgorithm = \"sha256\"\n\
         template = {:?}\nsignature_header = \"X-Signature\"\nsignature_format = \"sha256={{sig}}\"\n\
         encoding = \"hex\"\ntimestamp_header = \"X-Timestamp\"\ntimestamp_format = \"unix\"\n\
         nonce_header = \"X-Nonce\"\n\n{plan}",
        key_path.display(),
        Coverage::Full.template(),
    );
    let config_path = ctx.dir().join(format!("{stem}.toml"));
    crate::write_file(&config_path, config.as_bytes(), 0o600)?;
    let mut scan_args = ctx.ca_args();
    scan_args.extend(["--config".to_owned(), config_path.display().to_string()]);
    Ok(LabTarget {
        scenario: name.to_owned(),
        variant,
        url: format!("https://{addr}/api/"),
        spec: None,
        scan_args,
        expected: match variant {
            Variant::Vulnerable => vec![Expected::Check(check.to_owned())],
            Variant::Fixed => Vec::new(),
        },
        allowed: Vec::new(),
    })
}

fn start_reserve(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let key = crate::tls::random_hex(32)?.into_bytes();
    let shared = web::Data::from(service(ctx, RESERVE.name, variant, &key)?);
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(shared.clone())
            .route("/api/", web::get().to(index))
            .route("/api/items", web::post().to(create_item))
            .route("/api/items/{id}/reserve", web::post().to(reserve))
    })?;
    let plan = "[[race]]\nname = \"an item in stock once is reserved once\"\n\
                setup = [{ request = \"POST /api/items\", capture = { item = \"/id\" } }]\n\
                burst = { request = \"POST /api/items/{item}/reserve\" }\nlimit = 1\n";
    target(ctx, RESERVE.name, variant, addr, &key, plan, "race-condition.limit-overrun")
}

fn start_orders(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let key = crate::tls::random_hex(32)?.into_bytes();
    let shared = web::Data::from(service(ctx, ORDERS.name, variant, &key)?);
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(shared.clone())
            .route("/api/", web::get().to(index))
            .route("/api/orders", web::post().to(create_order))
            .route("/api/orders/{id}/cancel", web::post().to(cancel))
            .route("/api/orders/{id}/ship", web::post().to(ship))
    })?;
    let plan = "[[race]]\nname = \"an order is either cancelled or shipped\"\n\
                setup = [{ request = \"POST /api/orders\", capture = { order = \"/id\" } }]\n\
                burst = [{ request = \"POST /api/orders/{order}/cancel\" }, \
                { request = \"POST /api/orders/{order}/ship\" }]\nlimit = 1\nrounds = 8\n";
    // 8 rounds: here one round confirms with a probability near one half
    // (BENCHMARKS.md), so 3 rounds would miss about one scan in ten.
    target(ctx, ORDERS.name, variant, addr, &key, plan, "race-condition.toctou")
}

async fn index() -> HttpResponse {
    HttpResponse::Ok().json(json!({"service": "fulfilment", "signed": "HMAC-SHA256, see X-Signature"}))
}

fn failed(e: sqlx::Error) -> HttpResponse {
    tracing::warn!("signed race scenario: database error: {e}");
    HttpResponse::ServiceUnavailable().json(json!({"error": "try again"}))
}

/// Verifies the signature, then runs `action`: `Ok(true)` is done, `Ok(false)` a conflict.
async fn signed<F>(service: &Service, request: &HttpRequest, body: &[u8], action: F) -> HttpResponse
where
    F: std::future::Future<Output = Result<Option<serde_json::Value>, sqlx::Error>>,
{
    if let Some(refused) = verify_actix(&service.verifier, request, body).await {
        return refused;
    }
    match action.await {
        Ok(Some(done)) => HttpResponse::Ok().json(done),
        Ok(None) => HttpResponse::Conflict().json(json!({"error": "not possible in the current state"})),
        Err(e) => failed(e),
    }
}

async fn create_item(service: Shared, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    signed(&service, &request, &body, async {
        let row = sqlx::query("INSERT INTO items (scope, stock) VALUES (?, 1) RETURNING id")
            .bind(&service.scope)
            .fetch_one(&service.pool)
            .await?;
        Ok(Some(json!({"id": row.get::<i64, _>(0), "stock": 1})))
    })
    .await
}

async fn reserve(service: Shared, request: HttpRequest, body: web::Bytes, id: web::Path<i64>) -> HttpResponse {
    let id = id.into_inner();
    signed(&service, &request, &body, async {
        let done = match service.variant {
            Variant::Vulnerable => {
                // The flaw: check, record, decrement, with awaits between.
                let stock: i64 = sqlx::query("SELECT stock FROM items WHERE id = ? AND scope = ?")
                    .bind(id)
                    .bind(&service.scope)
                    .fetch_optional(&service.pool)
                    .await?
                    .map(|r| r.get(0))
                    .unwrap_or(0);
                if stock <= 0 {
                    return Ok(None);
                }
                // The reservation number shown to the customer.
                let number: i64 = sqlx::query("SELECT COUNT(*) + 1 FROM reservations WHERE item_id = ? AND scope = ?")
                    .bind(id)
                    .bind(&service.scope)
                    .fetch_one(&service.pool)
                    .await?
                    .get(0);
                tracing::debug!("race-reserve: reservation {number} of item {id}");
                sqlx::query("INSERT INTO reservations (item_id, scope) VALUES (?, ?)")
                    .bind(id)
                    .bind(&service.scope)
                    .execute(&service.pool)
                    .await?;
                sqlx::query("UPDATE items SET stock = stock - 1 WHERE id = ? AND scope = ?")
                    .bind(id)
                    .bind(&service.scope)
                    .execute(&service.pool)
                    .await?;
                true
            }
            Variant::Fixed => {
                let mut tx = service.pool.begin().await?;
                let taken = sqlx::query("UPDATE items SET stock = stock - 1 WHERE id = ? AND scope = ? AND stock > 0")
                    .bind(id)
                    .bind(&service.scope)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if taken {
                    sqlx::query("INSERT INTO reservations (item_id, scope) VALUES (?, ?)")
                        .bind(id)
                        .bind(&service.scope)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
                taken
            }
        };
        Ok(done.then(|| json!({"reserved": id})))
    })
    .await
}

async fn create_order(service: Shared, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    signed(&service, &request, &body, async {
        let row = sqlx::query("INSERT INTO orders (scope, status) VALUES (?, 'pending') RETURNING id")
            .bind(&service.scope)
            .fetch_one(&service.pool)
            .await?;
        Ok(Some(json!({"id": row.get::<i64, _>(0), "status": "pending"})))
    })
    .await
}

/// Moves a pending order to `to`, recording `event`.
async fn transition(service: &Service, id: i64, to: &'static str) -> Result<bool, sqlx::Error> {
    match service.variant {
        Variant::Vulnerable => {
            // The flaw: the status check and the write are separate statements.
            let status: Option<String> = sqlx::query("SELECT status FROM orders WHERE id = ? AND scope = ?")
                .bind(id)
                .bind(&service.scope)
                .fetch_optional(&service.pool)
                .await?
                .map(|r| r.get(0));
            if status.as_deref() != Some("pending") {
                return Ok(false);
            }
            sqlx::query("INSERT INTO order_events (order_id, scope, kind) VALUES (?, ?, ?)")
                .bind(id)
                .bind(&service.scope)
                .bind(to)
                .execute(&service.pool)
                .await?;
            sqlx::query("UPDATE orders SET status = ? WHERE id = ? AND scope = ?")
                .bind(to)
                .bind(id)
                .bind(&service.scope)
                .execute(&service.pool)
                .await?;
            Ok(true)
        }
        Variant::Fixed => {
            let mut tx = service.pool.begin().await?;
            let moved = sqlx::query("UPDATE orders SET status = ? WHERE id = ? AND scope = ? AND status = 'pending'")
                .bind(to)
                .bind(id)
                .bind(&service.scope)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if moved {
                sqlx::query("INSERT INTO order_events (order_id, scope, kind) VALUES (?, ?, ?)")
                    .bind(id)
                    .bind(&service.scope)
                    .bind(to)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Ok(moved)
        }
    }
}

async fn cancel(service: Shared, request: HttpRequest, body: web::Bytes, id: web::Path<i64>) -> HttpResponse {
    let id = id.into_inner();
    signed(&service, &request, &body, async {
        Ok(transition(&service, id, "cancelled").await?.then(|| json!({"order": id, "status": "cancelled"})))
    })
    .await
}

async fn ship(service: Shared, request: HttpRequest, body: web::Bytes, id: web::Path<i64>) -> HttpResponse {
    let id = id.into_inner();
    signed(&service, &request, &body, async {
        Ok(transition(&service, id, "shipped").await?.then(|| json!({"order": id, "status": "shipped"})))
    })
    .await
}

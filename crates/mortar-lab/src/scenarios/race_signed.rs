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
//! - `race-transfer` (004): two transfers out of one balance. Vulnerable: read
//!   the balance, record the transfer, then subtract, so concurrent transfers
//!   all pass the check and the balance goes below zero (the plan reads it
//!   back). Fixed: `UPDATE ... SET balance = balance - ? WHERE balance >= ?`
//!   and the transfer record in one transaction.

use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, web};
use serde_json::json;
use sqlx::{Row, SqlitePool};

use super::Scenario;
use crate::serve::LabContext;
use crate::signing::{Coverage, LabVerifier, VerifierSettings, verify_actix};
use crate::{LabError, LabTarget, Variant};

pub(super) const RESERVE: Scenario = Scenario { name: "race-reserve", start: start_reserve };
pub(super) const ORDERS: Scenario = Scenario { name: "race-orders", start: start_orders };
pub(super) const TRANSFER: Scenario = Scenario { name: "race-transfer", start: start_transfer };

/// What a new account holds.
const OPENING_BALANCE: i64 = 100;

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
    let mut target = super::api_target(ctx, name, variant, addr, check);
    target.scan_args.extend(["--config".to_owned(), config_path.display().to_string()]);
    Ok(target)
}

/// Starts one signed scenario: a fresh key, the service, `/api/` plus `routes`.
fn start_signed(
    ctx: &mut LabContext,
    variant: Variant,
    name: &str,
    routes: fn(&mut web::ServiceConfig),
    plan: &str,
    check: &str,
) -> Result<LabTarget, LabError> {
    let key = crate::tls::random_hex(32)?.into_bytes();
    let shared = web::Data::from(service(ctx, name, variant, &key)?);
    let addr = ctx.serve_actix(move || {
        App::new().app_data(shared.clone()).route("/api/", web::get().to(index)).configure(routes)
    })?;
    target(ctx, name, variant, addr, &key, plan, check)
}

fn start_reserve(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let routes = |config: &mut web::ServiceConfig| {
        config
            .route("/api/items", web::post().to(create_item))
            .route("/api/items/{id}/reserve", web::post().to(reserve));
    };
    let plan = "[[race]]\nname = \"an item in stock once is reserved once\"\n\
                setup = [{ request = \"POST /api/items\", capture = { item = \"/id\" } }]\n\
                burst = { request = \"POST /api/items/{item}/reserve\" }\nlimit = 1\nunique = \"/number\"\n";
    start_signed(ctx, variant, RESERVE.name, routes, plan, "race-condition.limit-overrun")
}

fn start_orders(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let routes = |config: &mut web::ServiceConfig| {
        config
            .route("/api/orders", web::post().to(create_order))
            .route("/api/orders/{id}/cancel", web::post().to(cancel))
            .route("/api/orders/{id}/ship", web::post().to(ship));
    };
    let plan = "[[race]]\nname = \"an order is either cancelled or shipped\"\n\
                setup = [{ request = \"POST /api/orders\", capture = { order = \"/id\" } }]\n\
                burst = [{ request = \"POST /api/orders/{order}/cancel\" }, \
                { request = \"POST /api/orders/{order}/ship\" }]\nlimit = 1\n";
    start_signed(ctx, variant, ORDERS.name, routes, plan, "race-condition.toctou")
}

fn start_transfer(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let routes = |config: &mut web::ServiceConfig| {
        config
            .route("/api/accounts", web::post().to(create_account))
            .route("/api/accounts/{id}", web::get().to(account))
            .route("/api/accounts/{id}/transfers", web::post().to(transfer));
    };
    let plan = format!(
        "[[race]]\nname = \"a balance pays for one transfer of all of it\"\n\
         setup = [{{ request = \"POST /api/accounts\", capture = {{ account = \"/id\" }} }}]\n\
         burst = [{{ request = \"POST /api/accounts/{{account}}/transfers\", \
         body = '{{\"to\": \"savings\", \"amount\": {OPENING_BALANCE}}}' }}, \
         {{ request = \"POST /api/accounts/{{account}}/transfers\", \
         body = '{{\"to\": \"supplier\", \"amount\": {OPENING_BALANCE}}}' }}]\n\
         limit = 1\nstate = {{ request = \"GET /api/accounts/{{account}}\", value = \"/balance\" }}\n"
    );
    start_signed(ctx, variant, TRANSFER.name, routes, &plan, "race-condition.toctou")
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
    answer(action.await)
}

/// `Ok(Some(_))` is done, `Ok(None)` a conflict with the current state.
fn answer(result: Result<Option<serde_json::Value>, sqlx::Error>) -> HttpResponse {
    match result {
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
                let stock = scoped_int(&service, "SELECT stock FROM items WHERE id = ? AND scope = ?", id).await?;
                let stock = stock.unwrap_or(0);
                if stock <= 0 {
                    return Ok(None);
                }
                // The reservation number shown to the customer, read before the insert.
                let number: i64 = sqlx::query("SELECT COUNT(*) + 1 FROM reservations WHERE item_id = ? AND scope = ?")
                    .bind(id)
                    .bind(&service.scope)
                    .fetch_one(&service.pool)
                    .await?
                    .get(0);
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
                Some(number)
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
                    let number: i64 =
                        sqlx::query("SELECT COUNT(*) + 1 FROM reservations WHERE item_id = ? AND scope = ?")
                            .bind(id)
                            .bind(&service.scope)
                            .fetch_one(&mut *tx)
                            .await?
                            .get(0);
                    sqlx::query("INSERT INTO reservations (item_id, scope) VALUES (?, ?)")
                        .bind(id)
                        .bind(&service.scope)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Some(number)
                } else {
                    None
                }
            }
        };
        Ok(done.map(|number| json!({"reserved": id, "number": number})))
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
            // The order's history, for the customer notification.
            let history: i64 = sqlx::query("SELECT COUNT(*) FROM order_events WHERE order_id = ? AND scope = ?")
                .bind(id)
                .bind(&service.scope)
                .fetch_one(&service.pool)
                .await?
                .get(0);
            tracing::trace!("race-orders: order {id} has {history} event(s)");
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

const BALANCE: &str = "SELECT balance FROM accounts WHERE id = ? AND scope = ?";

/// One integer column of the row `id` of this scenario's scope.
async fn scoped_int(service: &Service, sql: &'static str, id: i64) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(sql).bind(id).bind(&service.scope).fetch_optional(&service.pool).await?;
    Ok(row.map(|r| r.get(0)))
}

async fn create_account(service: Shared, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    signed(&service, &request, &body, async {
        let row = sqlx::query("INSERT INTO accounts (scope, balance) VALUES (?, ?) RETURNING id")
            .bind(&service.scope)
            .bind(OPENING_BALANCE)
            .fetch_one(&service.pool)
            .await?;
        Ok(Some(json!({"id": row.get::<i64, _>(0), "balance": OPENING_BALANCE})))
    })
    .await
}

async fn account(service: Shared, request: HttpRequest, body: web::Bytes, id: web::Path<i64>) -> HttpResponse {
    let id = id.into_inner();
    signed(&service, &request, &body, async {
        let balance = scoped_int(&service, BALANCE, id).await?;
        Ok(balance.map(|balance| json!({"id": id, "balance": balance})))
    })
    .await
}

#[derive(serde::Deserialize)]
struct TransferRequest {
    to: String,
    amount: i64,
}

async fn transfer(service: Shared, request: HttpRequest, body: web::Bytes, id: web::Path<i64>) -> HttpResponse {
    let id = id.into_inner();
    if let Some(refused) = verify_actix(&service.verifier, &request, &body).await {
        return refused;
    }
    let order: TransferRequest = match serde_json::from_slice(&body) {
        Ok(t @ TransferRequest { amount: 1.., .. }) => t,
        _ => return HttpResponse::BadRequest().json(json!({"error": "expected {\"to\": name, \"amount\": n > 0}"})),
    };
    answer(
        async {
            let done = match service.variant {
                Variant::Vulnerable => {
                    // The flaw: the balance check and the debit are separate statements.
                    let balance = scoped_int(&service, BALANCE, id).await?.unwrap_or(0);
                    if balance < order.amount {
                        return Ok(None);
                    }
                    record_transfer(&service, id, &order, &service.pool).await?;
                    sqlx::query("UPDATE accounts SET balance = balance - ? WHERE id = ? AND scope = ?")
                        .bind(order.amount)
                        .bind(id)
                        .bind(&service.scope)
                        .execute(&service.pool)
                        .await?;
                    true
                }
                Variant::Fixed => {
                    let mut tx = service.pool.begin().await?;
                    let debited = sqlx::query(
                        "UPDATE accounts SET balance = balance - ? WHERE id = ? AND scope = ? AND balance >= ?",
                    )
                    .bind(order.amount)
                    .bind(id)
                    .bind(&service.scope)
                    .bind(order.amount)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if debited {
                        record_transfer(&service, id, &order, &mut *tx).await?;
                        tx.commit().await?;
                    }
                    debited
                }
            };
            Ok(done.then(|| json!({"account": id, "to": order.to, "amount": order.amount})))
        }
        .await,
    )
}

async fn record_transfer<'e, E>(
    service: &Service,
    id: i64,
    order: &TransferRequest,
    executor: E,
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    sqlx::query("INSERT INTO transfers (account_id, scope, destination, amount) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(&service.scope)
        .bind(&order.to)
        .bind(order.amount)
        .execute(executor)
        .await?;
    Ok(())
}

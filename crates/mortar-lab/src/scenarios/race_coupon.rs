//! `race-coupon` (axum, SQLite): a coupon that may be redeemed once.
//!
//! The vulnerable variant reads the coupon, records the redemption in the
//! ledger, then decrements the coupon: until the first request's decrement
//! lands, every request of a burst has seen `uses_left = 1` and succeeds
//! (write-up 003's check-then-act, awaits on a real database, no sleep). The
//! fixed variant makes the check part of the write, `UPDATE ... WHERE
//! uses_left > 0`, and records the redemption in the same transaction only
//! when that changed a row: atomic under any concurrency.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use sqlx::{Row, SqlitePool};

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "race-coupon", start: |ctx, v| start(ctx, v, false) };
/// The same API scanned with only its OpenAPI description: no race plan, the
/// candidate comes from the description (a create operation and a redeem action).
pub(super) const FROM_SPEC: Scenario = Scenario { name: "race-coupon-spec", start: |ctx, v| start(ctx, v, true) };

#[derive(Clone)]
struct Shop {
    pool: SqlitePool,
    variant: Variant,
    /// Keeps this target's rows apart from the other targets' in the shared database.
    scope: String,
}

/// The API's OpenAPI description.
fn description() -> serde_json::Value {
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}});
    let coupon = json!({"type": "object", "properties": {"id": {"type": "integer"}, "uses_left": {"type": "integer"}}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "promotions", "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/coupons": {"post": {"operationId": "createCoupon",
                "responses": {"201": {"description": "created", "content": {"application/json": {"schema": coupon}}}}}},
            "/coupons/{id}": {"get": {"operationId": "getCoupon", "parameters": [id],
                "responses": {"200": {"description": "the coupon", "content": {"application/json": {"schema": coupon}}},
                              "404": {"description": "no such coupon"}}}},
            "/coupons/{id}/redeem": {"post": {"operationId": "redeemCoupon", "parameters": [id],
                "responses": {"200": {"description": "redeemed"}, "409": {"description": "already used"}}}}
        }
    })
}

fn start(ctx: &mut LabContext, variant: Variant, from_spec: bool) -> Result<LabTarget, LabError> {
    let name = if from_spec { FROM_SPEC.name } else { SCENARIO.name };
    let shop = Shop { pool: ctx.db()?, variant, scope: format!("{name}-{variant}") };
    let router = Router::new()
        .route("/api/", get(index))
        .route("/api/coupons", post(create))
        .route("/api/coupons/{id}", get(show))
        .route("/api/coupons/{id}/redeem", post(redeem))
        // The same API under its versioned prefix, as its description documents it.
        .route("/api/v1/coupons", post(create))
        .route("/api/v1/coupons/{id}", get(show))
        .route("/api/v1/coupons/{id}/redeem", post(redeem))
        .with_state(shop);
    let addr = ctx.serve_axum(router)?;
    // The race plan a user would write for this API: how to make a fresh
    // coupon, what to race, and how many successes the rules allow.
    let plan = "[[race]]\nname = \"a coupon is redeemed at most once\"\n\
                  setup = [{ request = \"POST /api/coupons\", capture = { coupon = \"/id\" } }]\n\
                  burst = { request = \"POST /api/coupons/{coupon}/redeem\" }\n\
                  success = \"2xx\"\nlimit = 1\n";
    let config =
        if from_spec { "profile = \"active\"\n".to_string() } else { format!("profile = \"active\"\n\n{plan}") };
    let config_path = ctx.dir().join(format!("{name}-{variant}.toml"));
    crate::write_file(&config_path, config.as_bytes(), 0o644)?;
    let mut scan_args = ctx.ca_args();
    scan_args.extend(["--config".to_owned(), config_path.display().to_string()]);
    let mut spec = None;
    if from_spec {
        let spec_path = ctx.dir().join(format!("{name}-{variant}.openapi.json"));
        crate::write_private_file(&spec_path, description().to_string().as_bytes())?;
        scan_args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
        spec = Some(spec_path.display().to_string());
    }
    Ok(LabTarget {
        scenario: name.to_owned(),
        variant,
        url: if from_spec { format!("https://{addr}/") } else { format!("https://{addr}/api/") },
        spec,
        scan_args,
        expected: match variant {
            Variant::Vulnerable => vec![Expected::Check("race-condition.limit-overrun".to_owned())],
            Variant::Fixed => Vec::new(),
        },
        allowed: Vec::new(),
    })
}

async fn index() -> Json<serde_json::Value> {
    Json(json!({"service": "promotions", "links": {"coupons": "/api/coupons"}}))
}

fn failed(e: sqlx::Error) -> Response {
    tracing::warn!("race-coupon: database error: {e}");
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": "try again"}))).into_response()
}

async fn create(State(shop): State<Shop>) -> Response {
    let inserted = sqlx::query("INSERT INTO coupons (scope, uses_left) VALUES (?, 1) RETURNING id")
        .bind(&shop.scope)
        .fetch_one(&shop.pool)
        .await;
    match inserted {
        Ok(row) => (StatusCode::CREATED, Json(json!({"id": row.get::<i64, _>(0), "uses_left": 1}))).into_response(),
        Err(e) => failed(e),
    }
}

async fn show(State(shop): State<Shop>, Path(id): Path<i64>) -> Response {
    let row = sqlx::query("SELECT uses_left FROM coupons WHERE id = ? AND scope = ?")
        .bind(id)
        .bind(&shop.scope)
        .fetch_optional(&shop.pool)
        .await;
    match row {
        Ok(Some(row)) => Json(json!({"id": id, "uses_left": row.get::<i64, _>(0)})).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, Json(json!({"error": "no such coupon"}))).into_response(),
        Err(e) => failed(e),
    }
}

async fn redeem(State(shop): State<Shop>, Path(id): Path<i64>) -> Response {
    let redeemed = match shop.variant {
        Variant::Vulnerable => redeem_check_then_act(&shop, id).await,
        Variant::Fixed => redeem_atomically(&shop, id).await,
    };
    match redeemed {
        Ok(true) => Json(json!({"redeemed": true, "coupon": id})).into_response(),
        Ok(false) => (StatusCode::CONFLICT, Json(json!({"error": "coupon already used"}))).into_response(),
        Err(e) => failed(e),
    }
}

/// The flaw: the check and the writes are separate statements with awaits between.
async fn redeem_check_then_act(shop: &Shop, id: i64) -> Result<bool, sqlx::Error> {
    let uses_left: Option<i64> = sqlx::query("SELECT uses_left FROM coupons WHERE id = ? AND scope = ?")
        .bind(id)
        .bind(&shop.scope)
        .fetch_optional(&shop.pool)
        .await?
        .map(|row| row.get(0));
    if uses_left.unwrap_or(0) <= 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO redemptions (coupon_id, scope) VALUES (?, ?)")
        .bind(id)
        .bind(&shop.scope)
        .execute(&shop.pool)
        .await?;
    sqlx::query("UPDATE coupons SET uses_left = uses_left - 1 WHERE id = ? AND scope = ?")
        .bind(id)
        .bind(&shop.scope)
        .execute(&shop.pool)
        .await?;
    Ok(true)
}

/// The remediation: the condition is part of the write; one row changed means
/// this request, and only this one, used the coupon.
async fn redeem_atomically(shop: &Shop, id: i64) -> Result<bool, sqlx::Error> {
    // The transaction's first statement writes, so SQLite takes the write
    // lock at once (a read first would fail with SQLITE_BUSY on upgrade).
    let mut tx = shop.pool.begin().await?;
    let done = sqlx::query("UPDATE coupons SET uses_left = uses_left - 1 WHERE id = ? AND scope = ? AND uses_left > 0")
        .bind(id)
        .bind(&shop.scope)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO redemptions (coupon_id, scope) VALUES (?, ?)")
        .bind(id)
        .bind(&shop.scope)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

//! `sql-injection` (axum, SQLite through sqlx, active profile): a parts
//! catalogue under `/catalogue/v1`. The vulnerable variant builds the
//! single-part lookup with `format!`, so the `sku` path parameter is spliced
//! into the statement; a malformed statement is answered with a bare 500
//! (no database message: only the boolean differential can prove it), and
//! a missing part with a 404 that echoes the sku. The listing by
//! `warehouse` binds its parameter in both variants (the control in the
//! same API); the fixed variant binds `sku` too.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{Row, SqlitePool};
use tokio::sync::OnceCell;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "sql-injection", start };

const PARTS: &[(&str, &str, &str, i64)] = &[
    ("HX-2210", "Hex bolt M10x40, zinc", "hamburg", 38),
    ("HX-2212", "Hex bolt M12x50, zinc", "hamburg", 54),
    ("WS-0410", "Spring washer M10", "rotterdam", 6),
    ("NY-0812", "Nylon lock nut M12", "rotterdam", 17),
];

struct Catalogue {
    pool: SqlitePool,
    variant: Variant,
    scope: String,
    seeded: OnceCell<()>,
}

impl Catalogue {
    async fn seed(&self) -> Result<(), sqlx::Error> {
        self.seeded
            .get_or_try_init(|| async {
                for (sku, name, warehouse, price) in PARTS {
                    sqlx::query(
                        "INSERT OR IGNORE INTO parts (scope, sku, name, warehouse, price_cents) VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(&self.scope)
                    .bind(sku)
                    .bind(name)
                    .bind(warehouse)
                    .bind(price)
                    .execute(&self.pool)
                    .await?;
                }
                Ok::<(), sqlx::Error>(())
            })
            .await
            .map(|_| ())
    }
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let catalogue = Arc::new(Catalogue {
        pool: ctx.db()?,
        variant,
        scope: format!("{}-{variant}", SCENARIO.name),
        seeded: OnceCell::new(),
    });
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Parts catalogue", "version": "1.8.0"},
        "servers": [{"url": "/catalogue/v1"}],
        "paths": {
            "/parts": {"get": {"operationId": "listParts",
                "parameters": [{"name": "warehouse", "in": "query", "required": true, "schema": {"type": "string"}, "example": "hamburg"}],
                "responses": {"200": {"description": "parts stocked there"}}}},
            "/parts/{sku}": {"get": {"operationId": "getPart",
                "parameters": [{"name": "sku", "in": "path", "required": true, "schema": {"type": "string"}, "example": "HX-2210"}],
                "responses": {"200": {"description": "the part"}, "404": {"description": "no such part"}}}}
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let router = Router::new()
        .route("/catalogue/v1/parts", get(list))
        .route("/catalogue/v1/parts/{sku}", get(part))
        .with_state(catalogue);
    let addr = ctx.serve_axum(router)?;
    let mut args = ctx.ca_args();
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let expected =
        super::vulnerable_expects_at(variant, "input-validation.sql-injection", "GET", "/catalogue/v1/parts/{sku}");
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

fn failed(e: sqlx::Error) -> Response {
    tracing::debug!("sql-injection: database error: {e}");
    // No database text in the answer: the flaw must be proven by behaviour.
    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "internal error"}))).into_response()
}

fn part_json(row: &sqlx::sqlite::SqliteRow) -> Value {
    json!({"sku": row.get::<String, _>(0), "name": row.get::<String, _>(1), "price_cents": row.get::<i64, _>(2)})
}

async fn part(State(catalogue): State<Arc<Catalogue>>, Path(sku): Path<String>) -> Response {
    if let Err(e) = catalogue.seed().await {
        return failed(e);
    }
    let row = match catalogue.variant {
        // The flaw: the path parameter becomes part of the SQL text.
        Variant::Vulnerable => {
            let statement = format!(
                "SELECT sku, name, price_cents FROM parts WHERE scope = '{}' AND sku = '{sku}'",
                catalogue.scope
            );
            // (sqlx refuses dynamic SQL unless told it is audited: this is the flaw, on purpose.)
            sqlx::query(sqlx::AssertSqlSafe(statement)).fetch_optional(&catalogue.pool).await
        }
        Variant::Fixed => {
            sqlx::query("SELECT sku, name, price_cents FROM parts WHERE scope = ? AND sku = ?")
                .bind(&catalogue.scope)
                .bind(&sku)
                .fetch_optional(&catalogue.pool)
                .await
        }
    };
    match row {
        Ok(Some(row)) => Json(part_json(&row)).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, Json(json!({"error": format!("no part with sku {sku}")}))).into_response(),
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    warehouse: String,
}

async fn list(State(catalogue): State<Arc<Catalogue>>, Query(query): Query<ListQuery>) -> Response {
    if let Err(e) = catalogue.seed().await {
        return failed(e);
    }
    let rows = sqlx::query("SELECT sku, name, price_cents FROM parts WHERE scope = ? AND warehouse = ? ORDER BY sku")
        .bind(&catalogue.scope)
        .bind(&query.warehouse)
        .fetch_all(&catalogue.pool)
        .await;
    match rows {
        Ok(rows) => {
            Json(json!({"warehouse": query.warehouse, "parts": rows.iter().map(part_json).collect::<Vec<_>>()}))
                .into_response()
        }
        Err(e) => failed(e),
    }
}

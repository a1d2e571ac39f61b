//! `nosql-injection` (actix-web, active profile): a library's loan desk
//! under `/loans/v1` backed by an in-memory document store that reads
//! filters the way MongoDB does (a field's condition is a value, or an
//! object of operators: `$eq`, `$ne`, `$gt`, `$gte`, `$lt`, `$lte`, `$in`,
//! `$nin`; an object without operators is compared as a value). `POST
//! /loans/lookups` takes `{"card": ..., "branch": ...}` and answers the loans
//! whose documents match. The vulnerable variant puts the body's JSON values
//! into the filter as they come, so `{"card": {"$ne": "x"}}` matches every
//! reader's loans; the fixed variant takes a type with string fields (an
//! object is a 400) and builds the filter from them.

use actix_web::{App, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "nosql-injection", start };

/// The loans: (card, branch, title, due).
const LOANS: &[(&str, &str, &str, &str)] = &[
    ("C-40117", "harbour", "The Rings of Saturn", "2026-12-19"),
    ("C-40117", "harbour", "Austerlitz", "2026-12-22"),
    ("C-52880", "harbour", "Vertigo", "2026-12-15"),
    ("C-61342", "old-town", "The Emigrants", "2027-01-04"),
];

fn documents() -> Vec<Value> {
    LOANS
        .iter()
        .map(|(card, branch, title, due)| json!({"card": card, "branch": branch, "title": title, "due": due}))
        .collect()
}

/// Whether a document's field value meets a condition, MongoDB-style.
fn meets(field: Option<&Value>, condition: &Value) -> bool {
    let Value::Object(ops) = condition else { return field == Some(condition) };
    if !ops.keys().all(|k| k.starts_with('$')) {
        // An object that is no operator is a value to compare with.
        return field == Some(condition);
    }
    let order = |a: &Value, b: &Value| match (a, b) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
        _ => None,
    };
    ops.iter().all(|(op, operand)| match op.as_str() {
        "$eq" => field == Some(operand),
        "$ne" => field != Some(operand),
        "$gt" => field.and_then(|f| order(f, operand)).is_some_and(|o| o.is_gt()),
        "$gte" => field.and_then(|f| order(f, operand)).is_some_and(|o| o.is_ge()),
        "$lt" => field.and_then(|f| order(f, operand)).is_some_and(|o| o.is_lt()),
        "$lte" => field.and_then(|f| order(f, operand)).is_some_and(|o| o.is_le()),
        "$in" => operand.as_array().is_some_and(|items| field.is_some_and(|f| items.contains(f))),
        "$nin" => operand.as_array().is_some_and(|items| field.is_none_or(|f| !items.contains(f))),
        // Unknown operators match nothing (a real store would refuse the query).
        _ => false,
    })
}

fn find(filter: &Map<String, Value>) -> Vec<Value> {
    documents().into_iter().filter(|doc| filter.iter().all(|(k, c)| meets(doc.get(k), c))).collect()
}

/// What the fixed lookup accepts: strings only.
#[derive(Deserialize)]
struct Lookup {
    card: String,
    branch: String,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Loan desk", "version": "1.4.2"},
        "servers": [{"url": "/loans/v1"}],
        "paths": {
            "/loans/lookups": {"post": {"operationId": "lookUpLoans",
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["card", "branch"],
                        "properties": {"card": {"type": "string"}, "branch": {"type": "string"}}},
                    "example": {"card": "C-40117", "branch": "harbour"}}}},
                "responses": {"200": {"description": "the card's loans at that branch"}, "400": {"description": "not a lookup"}}}},
            "/branches": {"get": {"operationId": "listBranches", "responses": {"200": {"description": "the branches"}}}}
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(variant))
            .route("/loans/v1/loans/lookups", web::post().to(look_up))
            .route("/loans/v1/branches", web::get().to(branches))
    })?;
    let mut args = ctx.ca_args();
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let expected =
        super::vulnerable_expects_at(variant, "input-validation.nosql-injection", "POST", "/loans/v1/loans/lookups");
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

async fn branches() -> HttpResponse {
    HttpResponse::Ok().json(json!({"branches": ["harbour", "old-town"]}))
}

fn refused() -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": "a lookup is {\"card\": string, \"branch\": string}"}))
}

async fn look_up(variant: web::Data<Variant>, body: web::Bytes) -> HttpResponse {
    let filter = match **variant {
        // The flaw: the request's JSON values become the filter's conditions.
        Variant::Vulnerable => match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(body)) => {
                body.into_iter().filter(|(k, _)| k == "card" || k == "branch").collect::<Map<String, Value>>()
            }
            _ => return refused(),
        },
        Variant::Fixed => match serde_json::from_slice::<Lookup>(&body) {
            Ok(Lookup { card, branch }) => {
                Map::from_iter([("card".to_owned(), Value::from(card)), ("branch".to_owned(), Value::from(branch))])
            }
            Err(_) => return refused(),
        },
    };
    if filter.is_empty() {
        return refused();
    }
    HttpResponse::Ok().json(json!({"loans": find(&filter)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_operators_as_mongodb_does() {
        let filter = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(find(&filter(json!({"card": "C-40117", "branch": "harbour"}))).len(), 2);
        assert_eq!(find(&filter(json!({"card": {"$ne": "x"}, "branch": "harbour"}))).len(), 3);
        assert_eq!(find(&filter(json!({"card": {"mrtrop": "x"}}))).len(), 0, "an object without operators is a value");
        assert_eq!(find(&filter(json!({"due": {"$lt": "2026-12-20"}}))).len(), 2);
        assert_eq!(find(&filter(json!({"card": {"$in": ["C-52880", "C-61342"]}}))).len(), 2);
        assert_eq!(find(&filter(json!({"card": {"$where": "1"}}))).len(), 0);
    }
}

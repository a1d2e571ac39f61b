//! `bola-documents` (actix-web, active profile): a document store scanned
//! with its OpenAPI description and two customers' tokens, ids sequential
//! in both variants. Customers create documents (`POST /documents`) and
//! delete their own. Vulnerable: `GET` and `PATCH /documents/{id}` find the
//! document by id alone, so one customer reads and renames another's.
//! Fixed: both look it up by id and owner and answer 404 otherwise.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "bola-documents", start };

struct Document {
    id: u64,
    owner: &'static str,
    title: String,
    body: String,
}

#[derive(Clone)]
struct Store {
    variant: Variant,
    tokens: Arc<Vec<(String, &'static str)>>,
    documents: Arc<Mutex<Vec<Document>>>,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let paths = json!({
        "/documents": {
            "get": {"operationId": "listDocuments", "responses": {"200": {"description": "the caller's documents"}}},
            "post": {"operationId": "createDocument",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                    "properties": {"title": {"type": "string"}, "body": {"type": "string"}}}}}},
                "responses": {"201": {"description": "created"}}}
        },
        "/documents/{documentId}": {
            "get": {"operationId": "getDocument",
                "parameters": [{"name": "documentId", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "a document"}, "404": {"description": "no such document"}}},
            "patch": {"operationId": "renameDocument",
                "parameters": [{"name": "documentId", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                    "properties": {"title": {"type": "string"}}}}}},
                "responses": {"200": {"description": "renamed"}, "404": {"description": "no such document"}}},
            "delete": {"operationId": "deleteDocument",
                "parameters": [{"name": "documentId", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": {"204": {"description": "deleted"}, "404": {"description": "no such document"}}}
        }
    });
    let spec = super::bearer_api_description("Documents", paths);
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, serde_json::to_string_pretty(&spec).unwrap_or_default().as_bytes())?;
    let mut args = ctx.ca_args();
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let tokens = super::customer_tokens(ctx, SCENARIO.name, variant, &["alice", "bob"], &mut args)?;
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    let documents = vec![
        Document {
            id: 11,
            owner: "alice",
            title: "Board minutes March".into(),
            body: "Merger talks with Harbor Logistics".into(),
        },
        Document {
            id: 12,
            owner: "bob",
            title: "Payroll overview".into(),
            body: "Salary bands for the platform team".into(),
        },
    ];
    let store = Store { variant, tokens: Arc::new(tokens), documents: Arc::new(Mutex::new(documents)) };
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(store.clone()))
            .route("/api/v1/documents", web::get().to(list))
            .route("/api/v1/documents", web::post().to(create))
            .route("/api/v1/documents/{id}", web::delete().to(remove))
            .route("/api/v1/documents/{id}", web::get().to(read))
            .route("/api/v1/documents/{id}", web::patch().to(rename))
    })?;
    let expected = super::vulnerable_expects(variant, &["bola.cross-identity-read", "bola.cross-identity-write"]);
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

fn caller(store: &Store, request: &HttpRequest) -> Option<&'static str> {
    let given = request.headers().get("authorization")?.to_str().ok()?;
    store.tokens.iter().find(|(t, _)| t == given).map(|(_, c)| *c)
}

fn view(d: &Document) -> Value {
    json!({"id": d.id, "title": d.title, "body": d.body})
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({"error": "bearer token required"}))
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": "no such document"}))
}

async fn list(store: web::Data<Store>, request: HttpRequest) -> HttpResponse {
    let Some(who) = caller(&store, &request) else { return unauthorized() };
    let Ok(documents) = store.documents.lock() else { return HttpResponse::InternalServerError().finish() };
    HttpResponse::Ok()
        .json(json!({"documents": documents.iter().filter(|d| d.owner == who).map(view).collect::<Vec<_>>()}))
}

/// The document `id` as the caller may see it: by id alone (the flaw), or by id and owner.
fn visible(store: &Store, d: &Document, id: &str, who: &str) -> bool {
    d.id.to_string() == id && (store.variant == Variant::Vulnerable || d.owner == who)
}

async fn read(store: web::Data<Store>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let Some(who) = caller(&store, &request) else { return unauthorized() };
    let Ok(documents) = store.documents.lock() else { return HttpResponse::InternalServerError().finish() };
    match documents.iter().find(|d| visible(&store, d, &id, who)) {
        Some(d) => HttpResponse::Ok().json(view(d)),
        None => not_found(),
    }
}

async fn rename(
    store: web::Data<Store>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let Some(who) = caller(&store, &request) else { return unauthorized() };
    let Ok(mut documents) = store.documents.lock() else { return HttpResponse::InternalServerError().finish() };
    let Some(d) = documents.iter_mut().find(|d| visible(&store, d, &id, who)) else { return not_found() };
    if let Some(title) = body["title"].as_str() {
        d.title = title.chars().take(200).collect();
    }
    HttpResponse::Ok().json(view(d))
}

/// Documents a customer may create between restarts (the lab runs for hours).
const MAX_DOCUMENTS: usize = 500;

async fn create(store: web::Data<Store>, request: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    let Some(who) = caller(&store, &request) else { return unauthorized() };
    let Ok(mut documents) = store.documents.lock() else { return HttpResponse::InternalServerError().finish() };
    if documents.len() >= MAX_DOCUMENTS {
        return HttpResponse::InsufficientStorage().json(json!({"error": "too many documents"}));
    }
    let text = |key: &str| body[key].as_str().unwrap_or_default().chars().take(200).collect::<String>();
    let id = documents.iter().map(|d| d.id).max().unwrap_or(10) + 1;
    let document = Document { id, owner: who, title: text("title"), body: text("body") };
    let created = view(&document);
    documents.push(document);
    HttpResponse::Created().json(created)
}

/// Deleting is the owner's alone in both variants (the flaw is the lookup of GET and PATCH).
async fn remove(store: web::Data<Store>, request: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let Some(who) = caller(&store, &request) else { return unauthorized() };
    let Ok(mut documents) = store.documents.lock() else { return HttpResponse::InternalServerError().finish() };
    let before = documents.len();
    documents.retain(|d| !(d.id.to_string() == *id && d.owner == who));
    if documents.len() == before { not_found() } else { HttpResponse::NoContent().finish() }
}

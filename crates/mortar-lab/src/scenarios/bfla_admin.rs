//! `bfla-admin` (actix-web): a project tracker with an administrative area,
//! scanned with its OpenAPI description and two identities from mortar.toml:
//! `alice` (`role = "user"`) and `root` (`role = "admin"`). Vulnerable: the
//! user directory under `/admin` checks only that the caller is signed in
//! (the audit log next to it checks the role). Fixed: one guard on the whole
//! administrative scope answers 403 to anyone but an administrator.

use actix_web::{App, HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "bfla-admin", start };

fn description() -> Value {
    let get = |id: &str, tag: &str| json!({"get": {"operationId": id, "tags": [tag], "responses": {"200": {"description": "ok"}, "403": {"description": "not allowed"}}}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Projects", "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/projects": get("listProjects", "projects"),
            "/admin/users": get("listUsers", "admin"),
            "/admin/audit-log": get("auditLog", "admin"),
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    Admin,
}

#[derive(Clone)]
struct Tracker {
    variant: Variant,
    /// (Authorization header value, role).
    tokens: Vec<(String, Role)>,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let mut tokens = Vec::new();
    let mut config = String::from("# Two identities: an ordinary user and an administrator.\n");
    for (name, role) in [("alice", Role::User), ("root", Role::Admin)] {
        let authorization = format!("Bearer {}", crate::tls::random_hex(24)?);
        let path = ctx.dir().join(format!("{}-{variant}-{name}.identity", SCENARIO.name));
        crate::write_private_file(&path, authorization.as_bytes())?;
        let role_name = if role == Role::Admin { "admin" } else { "user" };
        config.push_str(&format!(
            "\n[identities.{name}]\nheaders = {{ Authorization = \"@{}\" }}\nrole = \"{role_name}\"\n",
            path.display()
        ));
        tokens.push((authorization, role));
    }
    let config_path = ctx.dir().join(format!("{}-{variant}.toml", SCENARIO.name));
    crate::write_file(&config_path, config.as_bytes(), 0o644)?;
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, serde_json::to_string_pretty(&description()).unwrap_or_default().as_bytes())?;
    let mut args = ctx.ca_args();
    args.extend([
        "--config".to_owned(),
        config_path.display().to_string(),
        "--spec".to_owned(),
        spec_path.display().to_string(),
    ]);
    let tracker = Tracker { variant, tokens };
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(tracker.clone()))
            .route("/api/v1/projects", web::get().to(projects))
            .route("/api/v1/admin/users", web::get().to(users))
            .route("/api/v1/admin/audit-log", web::get().to(audit_log))
    })?;
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::At {
            check: "bfla.privileged-operation".to_owned(),
            method: "GET".to_owned(),
            path: "/api/v1/admin/users".to_owned(),
        }],
        Variant::Fixed => Vec::new(),
    };
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

fn role(tracker: &Tracker, request: &HttpRequest) -> Option<Role> {
    let given = request.headers().get("authorization")?.to_str().ok()?;
    tracker.tokens.iter().find(|(t, _)| t == given).map(|(_, r)| *r)
}

/// The administrative guard: the refusal to send, `None` for an administrator.
fn refuse_unless_admin(tracker: &Tracker, request: &HttpRequest) -> Option<HttpResponse> {
    match role(tracker, request) {
        None => Some(HttpResponse::Unauthorized().json(json!({"error": "bearer token required"}))),
        Some(Role::Admin) => None,
        Some(Role::User) => Some(HttpResponse::Forbidden().json(json!({"error": "administrators only"}))),
    }
}

async fn projects(tracker: web::Data<Tracker>, request: HttpRequest) -> HttpResponse {
    match role(&tracker, &request) {
        None => HttpResponse::Unauthorized().json(json!({"error": "bearer token required"})),
        Some(_) => HttpResponse::Ok().json(json!({"projects": [{"id": "prj-77", "name": "Aurora rollout"}]})),
    }
}

async fn users(tracker: web::Data<Tracker>, request: HttpRequest) -> HttpResponse {
    let refusal = match tracker.variant {
        // The flaw: signed in is taken for allowed.
        Variant::Vulnerable if role(&tracker, &request).is_some() => None,
        Variant::Vulnerable => Some(HttpResponse::Unauthorized().json(json!({"error": "bearer token required"}))),
        Variant::Fixed => refuse_unless_admin(&tracker, &request),
    };
    if let Some(refusal) = refusal {
        return refusal;
    }
    HttpResponse::Ok().json(json!({"users": [
        {"id": "usr-5001", "login": "alice.marchetti", "role": "user", "last_login_ip": "10.20.4.17"},
        {"id": "usr-5002", "login": "root.operator", "role": "admin", "last_login_ip": "10.20.0.3"},
    ]}))
}

async fn audit_log(tracker: web::Data<Tracker>, request: HttpRequest) -> HttpResponse {
    if let Some(refusal) = refuse_unless_admin(&tracker, &request) {
        return refusal;
    }
    HttpResponse::Ok()
        .json(json!({"events": [{"at": "2026-11-29T08:12:00Z", "actor": "root.operator", "action": "rotate-keys"}]}))
}

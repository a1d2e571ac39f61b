//! `bfla-admin` (actix-web) and `bfla-console` (axum): a project tracker
//! with an administrative area, scanned with its OpenAPI description and two
//! identities from mortar.toml: `alice` (`role = "user"`) and `root`
//! (`role = "admin"`). Vulnerable: the user directory under `/admin` checks
//! only that the caller is signed in (the audit log next to it checks the
//! role). Fixed: one guard on the whole administrative area answers 403 to
//! anyone but an administrator.

use actix_web::{App, HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "bfla-admin", start };
/// The same tracker on axum.
pub(super) const AXUM: Scenario = Scenario { name: "bfla-console", start: start_axum };

fn description() -> Value {
    let get = |id: &str, tag: &str| json!({"get": {"operationId": id, "tags": [tag], "responses": {"200": {"description": "ok"}, "403": {"description": "not allowed"}}}});
    super::bearer_api_description(
        "Projects",
        json!({
            "/projects": get("listProjects", "projects"),
            "/admin/users": get("listUsers", "admin"),
            "/admin/audit-log": get("auditLog", "admin"),
        }),
    )
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

/// The routes, whatever serves them.
#[derive(Clone, Copy)]
enum Route {
    Projects,
    Users,
    AuditLog,
}

/// Tokens, mortar.toml with both identities, the description; the tracker and the scan arguments.
fn setup(
    ctx: &mut LabContext,
    name: &str,
    variant: Variant,
) -> Result<(Tracker, Vec<String>, std::path::PathBuf), LabError> {
    let mut tokens = Vec::new();
    let mut config = String::from("# Two identities: an ordinary user and an administrator.\n");
    for (who, role) in [("alice", Role::User), ("root", Role::Admin)] {
        let authorization = format!("Bearer {}", crate::tls::random_hex(24)?);
        let path = ctx.dir().join(format!("{name}-{variant}-{who}.identity"));
        crate::write_private_file(&path, authorization.as_bytes())?;
        let role_name = if role == Role::Admin { "admin" } else { "user" };
        config.push_str(&format!(
            "\n[identities.{who}]\nheaders = {{ Authorization = \"@{}\" }}\nrole = \"{role_name}\"\n",
            path.display()
        ));
        tokens.push((authorization, role));
    }
    let config_path = ctx.dir().join(format!("{name}-{variant}.toml"));
    crate::write_file(&config_path, config.as_bytes(), 0o644)?;
    let spec_path = ctx.dir().join(format!("{name}-{variant}.openapi.json"));
    crate::write_private_file(&spec_path, serde_json::to_string_pretty(&description()).unwrap_or_default().as_bytes())?;
    let mut args = ctx.ca_args();
    args.extend([
        "--config".to_owned(),
        config_path.display().to_string(),
        "--spec".to_owned(),
        spec_path.display().to_string(),
    ]);
    Ok((Tracker { variant, tokens }, args, spec_path))
}

fn expected(variant: Variant) -> Vec<Expected> {
    match variant {
        Variant::Vulnerable => vec![Expected::At {
            check: "bfla.privileged-operation".to_owned(),
            method: "GET".to_owned(),
            path: "/api/v1/admin/users".to_owned(),
        }],
        Variant::Fixed => Vec::new(),
    }
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let (tracker, args, spec_path) = setup(ctx, SCENARIO.name, variant)?;
    let addr = ctx.serve_actix(move || {
        let route = |r: Route| {
            web::get().to(move |tracker: web::Data<Tracker>, request: HttpRequest| async move {
                let given = request.headers().get("authorization").and_then(|v| v.to_str().ok());
                let (status, body) = answer(&tracker, given, r);
                HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default()).json(body)
            })
        };
        App::new()
            .app_data(web::Data::new(tracker.clone()))
            .route("/api/v1/projects", route(Route::Projects))
            .route("/api/v1/admin/users", route(Route::Users))
            .route("/api/v1/admin/audit-log", route(Route::AuditLog))
    })?;
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected(variant)))
}

fn start_axum(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let (tracker, args, spec_path) = setup(ctx, AXUM.name, variant)?;
    let route = |r: Route| {
        axum::routing::get(move |State(tracker): State<std::sync::Arc<Tracker>>, headers: HeaderMap| async move {
            let (status, body) = answer(&tracker, headers.get("authorization").and_then(|v| v.to_str().ok()), r);
            (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(body))
                .into_response()
        })
    };
    let router = axum::Router::new()
        .route("/api/v1/projects", route(Route::Projects))
        .route("/api/v1/admin/users", route(Route::Users))
        .route("/api/v1/admin/audit-log", route(Route::AuditLog))
        .with_state(std::sync::Arc::new(tracker));
    let addr = ctx.serve_axum(router)?;
    Ok(super::spec_target(AXUM.name, variant, addr, &spec_path, args, expected(variant)))
}

/// Status and body of a route for the caller with Authorization `given`.
fn answer(tracker: &Tracker, given: Option<&str>, route: Route) -> (u16, Value) {
    let role = given.and_then(|g| tracker.tokens.iter().find(|(t, _)| t == g).map(|(_, r)| *r));
    let Some(role) = role else { return (401, json!({"error": "bearer token required"})) };
    // The administrative guard; the vulnerable user directory forgets it (signed in is taken for allowed).
    let guarded = match route {
        Route::Projects => false,
        Route::Users => tracker.variant == Variant::Fixed,
        Route::AuditLog => true,
    };
    if guarded && role != Role::Admin {
        return (403, json!({"error": "administrators only"}));
    }
    let body = match route {
        Route::Projects => json!({"projects": [{"id": "prj-77", "name": "Aurora rollout"}]}),
        Route::Users => json!({"users": [
            {"id": "usr-5001", "login": "alice.marchetti", "role": "user", "last_login_ip": "10.20.4.17"},
            {"id": "usr-5002", "login": "root.operator", "role": "admin", "last_login_ip": "10.20.0.3"},
        ]}),
        Route::AuditLog => {
            json!({"events": [{"at": "2026-11-29T08:12:00Z", "actor": "root.operator", "action": "rotate-keys"}]})
        }
    };
    (200, body)
}

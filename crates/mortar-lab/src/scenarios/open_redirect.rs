//! `open-redirect` (actix-web, standard profile): a sign-in flow under
//! `/auth/v3` whose `GET /session/resume?continue=` (where the browser lands
//! once signed in) ends with `303 See Other` to the page the user was on. The
//! vulnerable variant puts `continue` into `Location` as it comes, so a link
//! to the API's own sign-in flow sends its user to any site (the phishing
//! page that asks to sign in again). (Not a sign-out: the scanner holds
//! operations named like one back, and its redirect probe skips them.) The
//! fixed variant accepts only a path of this site: starting with exactly one
//! `/` (not `//`, which browsers read as another host), without `\` (which
//! they read as `/`) and without control characters (which they drop);
//! anything else goes to `/home`. `GET /session` (the control) answers JSON
//! in both.

use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::{App, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "open-redirect", start };

/// Where the browser goes when `continue` is missing or refused.
const HOME: &str = "/home";

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Sign-in flow", "version": "3.0.4"},
        "servers": [{"url": "/auth/v3"}],
        "paths": {
            "/session/resume": {"get": {"operationId": "resumeSession",
                "parameters": [{"name": "continue", "in": "query", "required": false, "schema": {"type": "string"}, "example": "/home"}],
                "responses": {"303": {"description": "on to the page given",
                    "headers": {"Location": {"schema": {"type": "string"}}}}}}},
            "/session": {"get": {"operationId": "getSession",
                "responses": {"200": {"description": "the caller's session"}}}}
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(variant))
            .route("/auth/v3/session/resume", web::get().to(resume))
            .route("/auth/v3/session", web::get().to(session))
    })?;
    // The standard profile: a redirect is proven by GET requests alone.
    let mut args = ctx.ca_args();
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    let expected =
        super::vulnerable_expects_at(variant, "input-validation.open-redirect", "GET", "/auth/v3/session/resume");
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

#[derive(Deserialize)]
struct Resume {
    #[serde(rename = "continue")]
    next: Option<String>,
}

/// A path on this site: one leading `/`, then neither `/` nor `\` anywhere
/// a browser would read a host from, and no control characters. (Starting
/// with `/`, it has no scheme.)
fn is_local_path(next: &str) -> bool {
    next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.chars().any(char::is_control)
}

async fn resume(variant: web::Data<Variant>, request: HttpRequest) -> HttpResponse {
    // A query that does not parse is no destination (and no framework error text).
    let next = web::Query::<Resume>::from_query(request.query_string())
        .ok()
        .and_then(|query| query.into_inner().next)
        .unwrap_or_else(|| HOME.to_owned());
    let location = match **variant {
        // The flaw: the destination is the caller's to choose.
        Variant::Vulnerable => next,
        Variant::Fixed if is_local_path(&next) => next,
        Variant::Fixed => HOME.to_owned(),
    };
    match HeaderValue::from_str(&location) {
        Ok(location) => HttpResponse::SeeOther().insert_header((LOCATION, location)).finish(),
        Err(_) => HttpResponse::BadRequest().json(json!({"error": "continue is not a valid destination"})),
    }
}

async fn session() -> HttpResponse {
    HttpResponse::Ok().json(json!({"signedIn": false, "signInPath": "/auth/v3/sign-in"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_pass() {
        for good in ["/home", "/orders/17?tab=open", "/a//b", "/"] {
            assert!(is_local_path(good), "{good}");
        }
        for bad in [
            "https://mortar-redirect.invalid/x",
            "//mortar-redirect.invalid/x",
            "/\\mortar-redirect.invalid/x",
            "\\/mortar-redirect.invalid",
            "/\t/mortar-redirect.invalid",
            "javascript:alert(1)",
            "home",
            "",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }
}

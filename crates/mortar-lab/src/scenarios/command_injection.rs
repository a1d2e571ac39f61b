//! `command-injection` (actix-web, active profile): a network diagnostics API
//! under `/diag/v2` whose `GET /hosts/{host}/lookup` answers a name lookup's
//! output. The vulnerable variant builds the command line
//! `lookup-host {host}` with `format!` and hands it to a shell, so `;`, `|`,
//! `$(..)` and the like in the path parameter run commands of the caller's
//! choosing. The shell is [simulated](shell) (its only commands are `echo`,
//! `lookup-host`, `true`, `false` and `:`): the lab shows the flaw without
//! being a remote shell on whoever runs it. The fixed variant does what the remedy
//! says: it refuses anything but a host name (letters, digits, dots,
//! hyphens, not starting with a hyphen or a dot, at most 253 characters)
//! with 400, and calls the lookup with the name as its one argument, no shell
//! in between. `GET /hosts` (the control) lists the known hosts in both.

use actix_web::{App, HttpResponse, web};
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

mod shell;

pub(super) const SCENARIO: Scenario = Scenario { name: "command-injection", start };

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Network diagnostics", "version": "2.3.0"},
        "servers": [{"url": "/diag/v2"}],
        "paths": {
            "/hosts": {"get": {"operationId": "listHosts",
                "responses": {"200": {"description": "the hosts the diagnostics know"}}}},
            "/hosts/{host}/lookup": {"get": {"operationId": "lookupHost",
                "parameters": [{"name": "host", "in": "path", "required": true, "schema": {"type": "string"}, "example": "db.internal"}],
                "responses": {"200": {"description": "the lookup's output"}, "400": {"description": "not a host name"}}}}
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(variant))
            .route("/diag/v2/hosts", web::get().to(hosts))
            .route("/diag/v2/hosts/{host}/lookup", web::get().to(lookup))
    })?;
    let mut args = ctx.ca_args();
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let expected = super::vulnerable_expects_at(
        variant,
        "input-validation.command-injection",
        "GET",
        "/diag/v2/hosts/{host}/lookup",
    );
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

async fn hosts() -> HttpResponse {
    let names: Vec<&str> = shell::HOSTS.iter().map(|(name, _)| *name).collect();
    HttpResponse::Ok().json(json!({"hosts": names}))
}

/// A host name: letters, digits, dots and hyphens, at most 253 characters,
/// not starting with a hyphen (a real program would read it as an option) or a dot.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['-', '.'])
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

async fn lookup(variant: web::Data<Variant>, host: web::Path<String>) -> HttpResponse {
    let host = host.into_inner();
    let output = match **variant {
        // The flaw: the input becomes part of a shell command line.
        Variant::Vulnerable => shell::run(&format!("lookup-host {host}")).0,
        Variant::Fixed => {
            if !is_host_name(&host) {
                return HttpResponse::BadRequest()
                    .json(json!({"error": "host must be a host name: letters, digits, dots and hyphens"}));
            }
            // The remedy: the program with the input as one argument, no shell to parse it.
            shell::lookup_host(std::slice::from_ref(&host)).0
        }
    };
    HttpResponse::Ok().json(json!({"host": host, "output": output}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_told_from_the_rest() {
        for good in ["db.internal", "DB-2.internal", "a", &"a".repeat(253)] {
            assert!(is_host_name(good), "{good}");
        }
        for bad in ["", "-n", ".internal", "db.internal;echo x", "db internal", "db.internal\n", &"a".repeat(254)] {
            assert!(!is_host_name(bad), "{bad}");
        }
    }
}

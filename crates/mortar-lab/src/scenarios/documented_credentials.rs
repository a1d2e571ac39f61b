//! `documented-credentials` (actix-web): a clinic's practitioner roster under
//! `/clinic/api/v2`, scanned with its OpenAPI description and one front-desk
//! token. The vulnerable variant's description *lists* `passwordDigest` and
//! `mfaSecret` in the roster's item schema, and the handler fills them from
//! the account store: the answer matches its documentation, and still hands
//! every caller every practitioner's password digest and TOTP seed. The fixed
//! variant's schema and answer carry the public fields only.

use actix_web::{App, HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "documented-credentials", start };

fn practitioner_schema(variant: Variant) -> Value {
    let mut properties = json!({
        "practitionerId": {"type": "integer"}, "name": {"type": "string"}, "speciality": {"type": "string"}
    });
    if variant == Variant::Vulnerable {
        // The flaw, documented: the account's credentials are part of the roster type.
        properties["passwordDigest"] = json!({"type": "string", "description": "bcrypt digest"});
        properties["mfaSecret"] = json!({"type": "string", "description": "TOTP seed (base32)"});
    }
    json!({"type": "object", "properties": properties})
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let token = crate::tls::random_hex(20)?;
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Clinic roster", "version": "2.4.1"},
        "servers": [{"url": "/clinic/api/v2"}],
        "components": {"securitySchemes": {"deskToken": {"type": "http", "scheme": "bearer"}}},
        "security": [{"deskToken": []}],
        "paths": {
            "/practitioners": {"get": {"operationId": "roster", "responses": {"200": {"description": "the roster",
                "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "practitioners": {"type": "array", "items": practitioner_schema(variant)}}}}}}}}}
        }
    });
    let (args, spec_path) = super::bearer_spec_args(ctx, SCENARIO.name, variant, &spec, &format!("Bearer {token}"))?;
    let expected = format!("Bearer {token}");
    let addr = ctx.serve_actix(move || {
        let expected = expected.clone();
        App::new().route(
            "/clinic/api/v2/practitioners",
            web::get().to(move |request: HttpRequest| {
                let signed_in =
                    request.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
                async move {
                    if !signed_in {
                        return HttpResponse::Unauthorized().json(json!({"message": "sign in at the front desk"}));
                    }
                    HttpResponse::Ok().json(json!({"practitioners": roster(variant)}))
                }
            }),
        )
    })?;
    let expected = super::vulnerable_expects_at(
        variant,
        "property-authorization.excessive-exposure",
        "GET",
        "/clinic/api/v2/practitioners",
    );
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

fn roster(variant: Variant) -> Vec<Value> {
    let people = [
        (
            3101,
            "Dr. Ines Albrecht",
            "cardiology",
            "$2b$12$Qm9vZ0xvdXJkUm9zdGVyQ.8dFq0tB6uYz1hV3nKp2sXeW4rLm7aO",
            "JBSWY3DPEHPK3PXP",
        ),
        (
            3102,
            "Dr. Tomasz Wójcik",
            "dermatology",
            "$2b$12$c2VjcmV0U2FsdEZvclRvbQ.Zr5yUo9cXv2bN8mQw1eR4tY7uI0pAs",
            "KRSXG5DSNFXGOIDB",
        ),
    ];
    people
        .iter()
        .map(|(id, name, speciality, digest, seed)| {
            let mut p = json!({"practitionerId": id, "name": name, "speciality": speciality});
            if variant == Variant::Vulnerable {
                p["passwordDigest"] = json!(digest);
                p["mfaSecret"] = json!(seed);
            }
            p
        })
        .collect()
}

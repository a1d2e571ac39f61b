//! `property-authorization.excessive-exposure` (OWASP API3:2023, objects that
//! tell more than they should) reads the answers of GET operations and reports
//! properties named like credentials (password hashes, salts, secrets, private
//! keys) or privileges and internals (roles, admin flags, permissions,
//! internal notes) that the operation's documented response schema does not
//! list. Without a schema only credential-named properties holding a value
//! are reported (a role is often meant to be seen; a password hash never is).

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::json::normalized;
use crate::probes::pages::{masked_evidence, pages};
use crate::probes::spec::defined_at;
use crate::probes::write::documented_properties;
use mortar_engine::Exchange;
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "property-authorization.excessive-exposure",
        category: Category::PropertyAuthorization,
        severity: Severity::High,
        profile: Profile::Passive,
        title: "Sensitive properties returned beyond the documented schema",
        description: "Reads the JSON answers of GET operations and reports properties named like credentials \
            (password hashes, salts, secrets, private keys, reset or OTP secrets; high) or privileges and \
            internals (roles, admin flags, permissions, internal notes; medium) that the operation's documented \
            response schema does not list, at any depth. Without a schema, only credential-named properties \
            that hold a value are reported (firm). Values are masked in the evidence.",
        remediation: Remediation {
            summary: "Serialise responses from dedicated types that list exactly the documented properties; never \
                return the database row or the domain object itself.",
            actix_web: "Map the row into a `#[derive(Serialize)] struct UserView { id, display_name, .. }` (or mark \
                internal fields `#[serde(skip_serializing)]`) and return `HttpResponse::Ok().json(UserView::from(row))`; \
                generate the OpenAPI schema from that type (e.g. utoipa) so the two cannot drift.",
            axum: "Return `Json(UserView::from(row))` where `UserView` is a `#[derive(Serialize)]` struct with only the \
                public fields (or `#[serde(skip_serializing)]` on the internal ones), and derive the OpenAPI schema \
                from it (e.g. utoipa) so the description and the answer stay the same.",
        },
        references: References { owasp_api: &["API3:2023"], cwe: &["CWE-213", "CWE-200"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Names that are credentials wherever they appear.
const CREDENTIAL_NAMES: &[&str] = &[
    "password",
    "passwd",
    "passwordhash",
    "hashedpassword",
    "passworddigest",
    "encryptedpassword",
    "pwdhash",
    "passhash",
    "salt",
    "passwordsalt",
    "secret",
    "clientsecret",
    "apisecret",
    "secretkey",
    "privatekey",
    "otpsecret",
    "totpsecret",
    "mfasecret",
    "twofactorsecret",
    "resettoken",
    "passwordresettoken",
    "recoverycodes",
    "apikey",
];

/// Names that grant or describe privileges, and internal bookkeeping.
const PRIVILEGE_NAMES: &[&str] = &[
    "role",
    "roles",
    "isadmin",
    "admin",
    "issuperuser",
    "superuser",
    "isstaff",
    "staff",
    "permissions",
    "privileges",
    "accesslevel",
    "scopes",
    "internalnotes",
    "internalid",
    "internal",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sensitivity {
    Privilege,
    Credential,
}

fn sensitivity(name: &str) -> Option<Sensitivity> {
    let n = normalized(name);
    if CREDENTIAL_NAMES.contains(&n.as_str()) || n.ends_with("passwordhash") || n.ends_with("secret") {
        Some(Sensitivity::Credential)
    } else if PRIVILEGE_NAMES.contains(&n.as_str()) {
        Some(Sensitivity::Privilege)
    } else {
        None
    }
}

fn items_schema(schema: &Value) -> Option<&Value> {
    schema.get("items").or_else(|| {
        ["allOf", "oneOf", "anyOf"]
            .iter()
            .find_map(|k| schema.get(*k).and_then(Value::as_array).and_then(|subs| subs.iter().find_map(items_schema)))
    })
}

/// Undocumented sensitive properties of `value` against `schema`: (JSON path, kind, value as text).
fn undocumented(value: &Value, schema: &Value, path: &str, out: &mut Vec<(String, Sensitivity, String)>) {
    match value {
        Value::Object(map) => {
            let Some(props) = documented_properties(schema) else { return };
            for (key, v) in map {
                let here = format!("{path}.{key}");
                match props.get(key) {
                    Some(sub) => undocumented(v, sub, &here, out),
                    None => {
                        if let Some(kind) = sensitivity(key)
                            && !v.is_null()
                        {
                            out.push((here, kind, text(v)));
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = items_schema(schema) {
                for v in items.iter().take(20) {
                    undocumented(v, item_schema, &format!("{path}[]"), out);
                }
            }
        }
        _ => {}
    }
}

/// Credential-named properties holding a value, anywhere (no schema to compare
/// with), except values in a known key format.
fn credentials_anywhere(value: &Value, path: &str, out: &mut Vec<(String, Sensitivity, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}.{key}");
                let filled = matches!(v, Value::String(s) if s.len() >= 4)
                    || v.is_array() && v.as_array().is_some_and(|a| !a.is_empty());
                // A key in a known format is data-exposure.secrets-in-response's to report.
                let known_format = v.as_str().is_some_and(|t| !crate::probes::secrets::find_secrets(t).is_empty());
                if sensitivity(key) == Some(Sensitivity::Credential) && filled && !known_format {
                    out.push((here, Sensitivity::Credential, text(v)));
                } else {
                    credentials_anywhere(v, &here, out);
                }
            }
        }
        Value::Array(items) => items.iter().take(20).for_each(|v| credentials_anywhere(v, &format!("{path}[]"), out)),
        _ => {}
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn json(ex: &Exchange) -> Option<Value> {
    serde_json::from_slice(&ex.response.body).ok()
}

fn ok(ex: &Exchange) -> bool {
    (200..300).contains(&ex.response.status)
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let mut judged = 0usize;
    let mut described_paths = BTreeSet::new();
    // Operations with a documented response: compared with the schema.
    for op in ctx.operations.iter().filter(|o| o.endpoint.method == "GET") {
        let Some(schema) = &op.described.response_schema else { continue };
        described_paths.insert(op.endpoint.path.clone());
        let Ok(exchange) = ctx.baseline(id, &op.endpoint).await else { continue };
        let Some(body) = json(&exchange).filter(|_| ok(&exchange)) else { continue };
        judged += 1;
        let mut found = Vec::new();
        undocumented(&body, schema, "$", &mut found);
        if !found.is_empty() {
            report_exposure(&ctx, &reporter, &op.endpoint, Some(op), &exchange, found);
        }
    }
    // Everything else the scan can read: only credentials count without a schema.
    let seen = pages(&ctx, id).await;
    for page in seen.pages.iter().filter(|p| !described_paths.contains(&p.endpoint.path)) {
        let Some(body) = json(&page.exchange).filter(|_| ok(&page.exchange)) else { continue };
        judged += 1;
        let mut found = Vec::new();
        credentials_anywhere(&body, "$", &mut found);
        if !found.is_empty() {
            report_exposure(&ctx, &reporter, &page.endpoint, None, &page.exchange, found);
        }
    }
    if judged == 0 {
        return CheckVerdict::Skipped("no GET operation answered with a JSON body".into());
    }
    CheckVerdict::Ran(format!(
        "{judged} JSON answer(s) read, {} against a documented response schema",
        described_paths.len()
    ))
}

fn report_exposure(
    ctx: &ScanContext,
    reporter: &Reporter,
    endpoint: &Endpoint,
    op: Option<&ScanOperation>,
    exchange: &Exchange,
    found: Vec<(String, Sensitivity, String)>,
) {
    // Every credential value of the answer is masked, whichever property is reported.
    let values: Vec<String> =
        found.iter().filter(|(_, k, _)| *k == Sensitivity::Credential).map(|(_, _, v)| v.clone()).collect();
    // One observation per property name: the same property on several operations is one finding.
    let mut by_name: std::collections::BTreeMap<String, (Sensitivity, BTreeSet<String>)> = Default::default();
    for (path, kind, _) in &found {
        let name = path.rsplit('.').next().unwrap_or(path).to_string();
        by_name.entry(name).or_insert((*kind, BTreeSet::new())).1.insert(path.clone());
    }
    let (confidence, why) = match op {
        Some(op) => {
            (Confidence::Confirmed, format!("which its documented response schema ({}) does not list", defined_at(op)))
        }
        None => {
            (Confidence::Firm, "named like a credential, with a value (no response schema to compare with)".to_string())
        }
    };
    let request = ctx.request("GET", endpoint).identity(ctx.primary_identity());
    for (name, (kind, paths)) in by_name {
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        reporter.observe(Observation {
            endpoint: Some(endpoint.clone()),
            component: Some(name.clone()),
            severity: Some(if kind == Sensitivity::Credential { Severity::High } else { Severity::Medium }),
            confidence,
            title: None,
            description: format!(
                "GET {} answered with `{name}` (at {}), {why}.{}",
                endpoint.path,
                paths.join(", "),
                if kind == Sensitivity::Credential { " Its values are masked below." } else { "" }
            ),
            evidence: vec![masked_evidence(ctx, exchange, format!("The answer, with `{name}`."), &values)],
            reproduce: ctx.curl(&request),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn undocumented_sensitive_properties_are_found_at_any_depth() {
        let schema = json!({"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "team": {"type": "object", "properties": {"id": {}}}
        }}});
        let body = json!([{"id": "u1", "name": "A", "password_hash": "$2b$12$abcdefghijkl", "team": {"id": 1, "internal_notes": "x"}, "nickname": "z"}]);
        let mut found = Vec::new();
        undocumented(&body, &schema, "$", &mut found);
        let paths: Vec<&str> = found.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(paths, vec!["$[].password_hash", "$[].team.internal_notes"], "nickname is harmless");
        assert_eq!(found[0].1, Sensitivity::Credential);
        assert_eq!(found[1].1, Sensitivity::Privilege);
    }

    #[test]
    fn documented_and_free_form_properties_are_not_reported() {
        let body = json!({"id": 1, "role": "member", "meta": {"is_admin": true}});
        let documented =
            json!({"allOf": [{"properties": {"id": {}}}, {"properties": {"role": {}, "meta": {"type": "object"}}}]});
        let mut found = Vec::new();
        undocumented(&body, &documented, "$", &mut found);
        assert!(found.is_empty(), "{found:?}");
        let map_type = json!({"type": "object", "additionalProperties": {"type": "string"}});
        undocumented(&json!({"password": "hunter22"}), &map_type, "$", &mut found);
        assert!(found.is_empty());
    }

    #[test]
    fn without_a_schema_only_filled_credentials_count() {
        let mut found = Vec::new();
        credentials_anywhere(
            &json!({"role": "admin", "password": "", "user": {"passwordHash": "pbkdf2$abc"}}),
            "$",
            &mut found,
        );
        let paths: Vec<&str> = found.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(paths, vec!["$.user.passwordHash"]);
    }
}

//! `property-authorization.excessive-exposure` (OWASP API3:2023, objects that
//! tell more than they should) reads the answers of GET operations and reports
//! properties named like credentials (password hashes, salts, secrets, private
//! keys) or privileges and internals (roles, admin flags, permissions,
//! internal notes) that the operation's documented response schema does not
//! list. Passwords, their hashes and salts, OTP secrets and reset tokens are
//! reported even when the schema lists them: documenting a leak does not make
//! it safe. Without a schema only credential-named properties holding a value
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
            response schema does not list, at any depth. Passwords, password hashes, salts, OTP secrets and reset \
            tokens holding a value are reported even when the schema lists them. Without a schema, only \
            credential-named properties that hold a value are reported (firm). Values are masked in the evidence.",
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

/// Credentials no answer has a reason to carry, documented or not: a schema
/// that lists one documents the leak, it does not excuse it.
const NEVER_RETURNED: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passwordhash",
    "hashedpassword",
    "passworddigest",
    "encryptedpassword",
    "pwdhash",
    "passhash",
    "salt",
    "passwordsalt",
    "otpsecret",
    "totpsecret",
    "mfasecret",
    "twofactorsecret",
    "resettoken",
    "passwordresettoken",
    "recoverycodes",
];

fn never_returned(name: &str) -> bool {
    let n = normalized(name);
    NEVER_RETURNED.contains(&n.as_str()) || n.ends_with("passwordhash")
}

/// A value that is there, not a placeholder: a non-empty list, or a string of
/// four or more characters that is not all mask characters (`********`).
fn filled(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            s.chars().count() >= 4 && !s.chars().all(|c| matches!(c, '*' | '•' | 'x' | 'X' | '#' | '.'))
        }
        Value::Array(a) => !a.is_empty(),
        Value::Number(_) => true,
        _ => false,
    }
}

/// One sensitive property of an answer.
#[derive(Debug, Clone)]
struct Exposed {
    /// Its JSON path (`$.users[].password`).
    path: String,
    kind: Sensitivity,
    /// Its value as text (masked in reports).
    value: String,
    /// Whether the response schema lists it (a credential that is documented as returned).
    documented: bool,
}

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

/// Sensitive properties of `value` against `schema`: the undocumented ones,
/// and documented credentials that are never to be returned, holding a value.
/// (JSON path, kind, value as text).
fn undocumented(value: &Value, schema: &Value, path: &str, out: &mut Vec<Exposed>) {
    match value {
        Value::Object(map) => {
            let Some(props) = documented_properties(schema) else {
                // A free-form object: only what is never returned counts.
                credentials_anywhere(value, path, &mut |name| never_returned(name), out);
                return;
            };
            for (key, v) in map {
                let here = format!("{path}.{key}");
                match props.get(key) {
                    Some(_) if never_returned(key) && filled(v) => {
                        out.push(Exposed {
                            path: here,
                            kind: Sensitivity::Credential,
                            value: text(v),
                            documented: true,
                        });
                    }
                    Some(sub) => undocumented(v, sub, &here, out),
                    None => {
                        if let Some(kind) = sensitivity(key)
                            && !v.is_null()
                        {
                            out.push(Exposed { path: here, kind, value: text(v), documented: false });
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

/// Properties that `credential` accepts, holding a value, anywhere (no schema
/// to compare with), except values in a known key format.
fn credentials_anywhere(value: &Value, path: &str, credential: &mut dyn FnMut(&str) -> bool, out: &mut Vec<Exposed>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}.{key}");
                // A key in a known format is data-exposure.secrets-in-response's to report.
                let known_format = v.as_str().is_some_and(|t| !crate::probes::secrets::find_secrets(t).is_empty());
                if credential(key) && filled(v) && !v.is_number() && !known_format {
                    out.push(Exposed { path: here, kind: Sensitivity::Credential, value: text(v), documented: false });
                } else {
                    credentials_anywhere(v, &here, credential, out);
                }
            }
        }
        Value::Array(items) => {
            items.iter().take(20).for_each(|v| credentials_anywhere(v, &format!("{path}[]"), credential, out))
        }
        _ => {}
    }
}

fn credential_named(name: &str) -> bool {
    sensitivity(name) == Some(Sensitivity::Credential)
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
        credentials_anywhere(&body, "$", &mut credential_named, &mut found);
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
    found: Vec<Exposed>,
) {
    // Every credential value of the answer is masked, whichever property is reported.
    let values: Vec<String> =
        found.iter().filter(|e| e.kind == Sensitivity::Credential).map(|e| e.value.clone()).collect();
    // One observation per property name: the same property on several operations is one finding.
    let mut by_name: std::collections::BTreeMap<String, (Sensitivity, bool, BTreeSet<String>)> = Default::default();
    for e in &found {
        let name = e.path.rsplit('.').next().unwrap_or(&e.path).to_string();
        let entry = by_name.entry(name).or_insert((e.kind, e.documented, BTreeSet::new()));
        entry.2.insert(e.path.clone());
    }
    let why = |documented: bool| match op {
        Some(op) if documented => (
            Confidence::Confirmed,
            format!(
                "which its documented response schema ({}) lists: the API is built to hand out a credential no caller needs",
                defined_at(op)
            ),
        ),
        Some(op) => {
            (Confidence::Confirmed, format!("which its documented response schema ({}) does not list", defined_at(op)))
        }
        None => {
            (Confidence::Firm, "named like a credential, with a value (no response schema to compare with)".to_string())
        }
    };
    let request = ctx.request("GET", endpoint).identity(ctx.primary_identity());
    for (name, (kind, documented, paths)) in by_name {
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let (confidence, why) = why(documented);
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
        let paths: Vec<&str> = found.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, vec!["$[].password_hash", "$[].team.internal_notes"], "nickname is harmless");
        assert_eq!(found[0].kind, Sensitivity::Credential);
        assert_eq!(found[1].kind, Sensitivity::Privilege);
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
        undocumented(&json!({"is_admin": "yes", "theme": "dark"}), &map_type, "$", &mut found);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn documented_passwords_with_a_value_are_reported_masked_ones_are_not() {
        let schema = json!({"type": "object", "properties": {"users": {"type": "array", "items": {"type": "object",
            "properties": {"username": {}, "password": {"type": "string"}, "email": {}}}}}});
        let mut found = Vec::new();
        undocumented(
            &json!({"users": [{"username": "name1", "password": "pass1", "email": "a@b.c"}]}),
            &schema,
            "$",
            &mut found,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].path.as_str(), found[0].documented), ("$.users[].password", true));
        let mut masked = Vec::new();
        undocumented(&json!({"users": [{"username": "name1", "password": "********"}]}), &schema, "$", &mut masked);
        assert!(masked.is_empty(), "{masked:?}");
        // A free-form map still must not carry one.
        let mut map = Vec::new();
        let map_type = json!({"type": "object", "additionalProperties": {"type": "string"}});
        undocumented(&json!({"db_password": "x", "password": "hunter22"}), &map_type, "$", &mut map);
        assert_eq!(map.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), vec!["$.password"]);
    }

    #[test]
    fn without_a_schema_only_filled_credentials_count() {
        let mut found = Vec::new();
        credentials_anywhere(
            &json!({"role": "admin", "password": "", "user": {"passwordHash": "pbkdf2$abc"}}),
            "$",
            &mut credential_named,
            &mut found,
        );
        let paths: Vec<&str> = found.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, vec!["$.user.passwordHash"]);
    }
}

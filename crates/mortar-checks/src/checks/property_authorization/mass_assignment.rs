//! `property-authorization.mass-assignment` (OWASP API3:2023, objects that
//! take more than they should; active profile) reads an object, writes it
//! back with one privilege-like property changed that the write's documented
//! body does not offer, reads it again, and reports the change when it stuck;
//! then writes the original value back.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::json::normalized;
use crate::probes::write::{
    documented_properties, read_object, send_write, write_body, write_read_pairs, write_request,
};
use mortar_engine::Exchange;
use mortar_model::{
    Category, CheckInfo, Confidence, Identity, Observation, Profile, References, Remediation, Severity,
};
use serde_json::Value;
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "property-authorization.mass-assignment",
        category: Category::PropertyAuthorization,
        severity: Severity::High,
        profile: Profile::Active,
        title: "Privileged property writable by the caller (mass assignment)",
        description: "For PUT and PATCH operations whose object can be read back with GET on the same path: \
            reads the object as the identity, writes it back with one privilege-like property (role, admin \
            flag, permissions, plan, credits, verification) changed that the documented request body does not \
            offer or marks read-only, and reads it again. The change sticking is the proof (read before, \
            write, read after are the evidence); the original value is written back afterwards and the report \
            says whether that worked. At most 3 operations and 3 properties each.",
        remediation: Remediation {
            summary: "Bind request bodies to types that hold only the properties the caller may change; set \
                privileged properties only in server code paths that check the caller's right to do so.",
            actix_web: "Take `web::Json<UpdateProfile>` where `UpdateProfile` has only the editable fields (add \
                `#[serde(deny_unknown_fields)]` to answer 400 to anything else) and copy them onto the row; never \
                deserialize the body into the stored `User` type or merge raw JSON into it.",
            axum: "Extract `Json<UpdateProfile>` with only the editable fields (`#[serde(deny_unknown_fields)]` to \
                refuse the rest) and apply them explicitly; never `Json<User>` or a JSON merge into the stored row. \
                Role and plan changes go through their own admin-only handlers.",
        },
        references: References { owasp_api: &["API3:2023"], cwe: &["CWE-915"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Properties worth changing to prove mass assignment (privilege, money, trust).
const WRITABLE_PRIVILEGES: &[&str] = &[
    "role",
    "roles",
    "isadmin",
    "admin",
    "issuperuser",
    "superuser",
    "isstaff",
    "permissions",
    "accesslevel",
    "plan",
    "tier",
    "credits",
    "credit",
    "balance",
    "verified",
    "isverified",
    "emailverified",
    "approved",
    "isapproved",
];

fn ok(ex: &Exchange) -> bool {
    (200..300).contains(&ex.response.status)
}

/// A value a privilege-like property is changed to, different from `current`.
fn escalated(name: &str, current: &Value) -> Option<Value> {
    let n = normalized(name);
    match current {
        Value::Bool(b) => Some(Value::Bool(!b)),
        Value::Number(num) => Some(Value::from(num.as_f64()? as i64 + 1000)),
        Value::String(s) => {
            let wanted = if matches!(n.as_str(), "plan" | "tier") { "enterprise" } else { "admin" };
            Some(Value::from(if s.eq_ignore_ascii_case(wanted) { "owner" } else { wanted }))
        }
        Value::Array(items) => {
            let mut more = items.clone();
            more.push(Value::from("admin"));
            Some(Value::Array(more))
        }
        _ => None,
    }
}

/// Whether the description lets the caller write `name` (listed in the body and not read-only).
fn documented_writable(op: &ScanOperation, name: &str) -> bool {
    let Some(schema) = &op.described.request_schema else { return false };
    documented_properties(schema)
        .and_then(|props| props.get(name).cloned())
        .is_some_and(|p| p.get("readOnly") != Some(&Value::Bool(true)))
}

const MAX_WRITE_OPERATIONS: usize = 3;

const MAX_PROPERTIES: usize = 3;

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let Some(identity) = ctx.primary_identity() else {
        return CheckVerdict::Skipped("no identity: an object of one's own is needed to write to".into());
    };
    let pairs: Vec<(&ScanOperation, &ScanOperation)> = write_read_pairs(&ctx).take(MAX_WRITE_OPERATIONS).collect();
    if pairs.is_empty() {
        return CheckVerdict::Skipped("no PUT or PATCH operation with a GET on the same path".into());
    }
    let mut tried = 0usize;
    for (write, read) in pairs {
        tried += probe(&ctx, &reporter, &identity, write, read).await;
    }
    CheckVerdict::Ran(format!("{tried} privilege-like propert(ies) written and read back as `{}`", identity.name))
}

/// Tries the privilege-like properties of one object; returns how many were written.
async fn probe(
    ctx: &ScanContext,
    reporter: &Reporter,
    identity: &Arc<Identity>,
    write: &ScanOperation,
    read: &ScanOperation,
) -> usize {
    let Some((_, object)) = read_object(CHECK.info.id, ctx, identity, read).await else { return 0 };
    let candidates: Vec<(String, Value)> = object
        .iter()
        .filter(|(k, _)| WRITABLE_PRIVILEGES.contains(&normalized(k).as_str()) && !documented_writable(write, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .take(MAX_PROPERTIES)
        .collect();
    let mut tried = 0;
    for (name, original) in candidates {
        let Some(changed) = escalated(&name, &original) else { continue };
        // Read again right before: the object as it is now is what gets written back.
        let Some((before, object)) = read_object(CHECK.info.id, ctx, identity, read).await else { break };
        let body = write_body(write, &object, &name, &changed);
        let Some(written) = send_write(CHECK.info.id, ctx, identity, write, &body).await else { continue };
        tried += 1;
        if !ok(&written) {
            continue;
        }
        let Some((after, object_after)) = read_object(CHECK.info.id, ctx, identity, read).await else {
            continue;
        };
        if object_after.get(&name) != Some(&changed) {
            continue;
        }
        // Proven; put the original back and say whether that worked.
        let restore = write_body(write, &object_after, &name, &original);
        let restored = match send_write(CHECK.info.id, ctx, identity, write, &restore).await {
            Some(ex) if ok(&ex) => read_object(CHECK.info.id, ctx, identity, read)
                .await
                .is_some_and(|(_, o)| o.get(&name) == Some(&original)),
            _ => false,
        };
        let request = write_request(ctx, identity, write, &body);
        reporter.observe(Observation {
            endpoint: Some(write.endpoint.clone()),
            component: Some(name.clone()),
            severity: None,
            confidence: Confidence::Confirmed,
            title: None,
            description: format!(
                "{} {} took `{name}` from the request body, a property its documented request body does not \
                 offer: as `{}`, it was {original} before the write, the write sent {changed} and answered HTTP {}, \
                 and GET {} then read {changed}. {}",
                write.endpoint.method,
                write.endpoint.path,
                identity.name,
                written.response.status,
                read.endpoint.path,
                if restored {
                    format!("The original value ({original}) was written back afterwards.")
                } else {
                    format!("Writing the original value ({original}) back did not work: restore it by hand.")
                }
            ),
            evidence: vec![
                ctx.evidence(&before, "The object before the write."),
                ctx.evidence(&written, "The write with the privileged property."),
                ctx.evidence(&after, "The object read back: the property changed."),
            ],
            reproduce: ctx.curl(&request),
        });
    }
    tried
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escalation_changes_the_value_in_the_privileged_direction() {
        assert_eq!(escalated("is_admin", &json!(false)), Some(json!(true)));
        assert_eq!(escalated("role", &json!("member")), Some(json!("admin")));
        assert_eq!(escalated("role", &json!("admin")), Some(json!("owner")));
        assert_eq!(escalated("plan", &json!("free")), Some(json!("enterprise")));
        assert_eq!(escalated("credits", &json!(5)), Some(json!(1005)));
        assert_eq!(escalated("roles", &json!(["user"])), Some(json!(["user", "admin"])));
    }

    #[test]
    fn read_only_properties_are_not_documented_writable() {
        let mut op = ScanOperation::bare("PATCH", "/me");
        op.described.request_schema = Some(json!({"properties": {"display_name": {}, "role": {"readOnly": true}}}));
        assert!(!documented_writable(&op, "role"), "read-only is not writable");
        assert!(documented_writable(&op, "display_name"));
    }
}

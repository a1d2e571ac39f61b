//! `property-authorization.mass-assignment` (OWASP API3:2023, objects that
//! take more than they should; active profile) reads an object, writes it
//! back with one privilege-like property changed that the write's documented
//! body does not offer, reads it again, and reports the change when it stuck;
//! then writes the original value back. On create operations (sign-up
//! first) it creates two objects, the second with the privilege-like
//! properties the API shows elsewhere, and finds both through any read
//! (`probes/readback.rs`): the second holding the privileged value while the
//! first holds another is the proof.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::account::unique_tag;
use crate::probes::json::normalized;
use crate::probes::write::{
    documented_properties, read_object, send_write, write_body, write_read_pairs, write_request,
};
use mortar_engine::Exchange;
use mortar_model::{
    Category, CheckInfo, Confidence, Identity, Observation, Profile, References, Remediation, Severity,
};
use serde_json::{Map, Value};
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
            says whether that worked. At most 3 operations and 3 properties each. For create operations (POST \
            with a JSON body, sign-up first; at most 3): the privilege-like properties the API's answers and \
            response schemas show are added to the body of a second object; both objects (made unique by their \
            account fields) are then found through any GET operation, and the proof is the second holding the \
            privileged value while the first holds another. Created objects are left in place.",
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
    "moderator",
    "ismoderator",
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
    let identity = ctx.primary_identity();
    let pairs: Vec<(&ScanOperation, &ScanOperation)> = write_read_pairs(&ctx).take(MAX_WRITE_OPERATIONS).collect();
    let creates = create_operations(&ctx);
    if creates.is_empty() && (pairs.is_empty() || identity.is_none()) {
        return CheckVerdict::Skipped(
            "no PUT or PATCH operation with a GET on the same path (with an identity), and no create operation \
             with a JSON body"
                .into(),
        );
    }
    let mut parts = Vec::new();
    if let Some(identity) = &identity
        && !pairs.is_empty()
    {
        let mut tried = 0usize;
        for (write, read) in pairs {
            tried += probe(&ctx, &reporter, identity, write, read).await;
        }
        parts.push(format!("{tried} privilege-like propert(ies) written and read back as `{}`", identity.name));
    }
    if !creates.is_empty() {
        let candidates = privileged_candidates(&ctx, CHECK.info.id).await;
        let mut created = 0usize;
        for create in &creates {
            created += probe_create(&ctx, &reporter, identity.as_ref(), create, &candidates).await;
        }
        parts.push(format!(
            "{} create operation(s) sent with {} privilege-like propert(ies) learned from the API's answers, {created} \
             pair(s) of objects created and looked for",
            creates.len(),
            candidates.len()
        ));
    }
    CheckVerdict::Ran(parts.join("; "))
}

/// Create operations probed per scan.
const MAX_CREATE_OPERATIONS: usize = 3;
/// Read-back requests per created object.
const MAX_READBACK_REQUESTS: usize = 8;

/// POST operations that create something from a JSON object body: not an
/// action on one object (`/users/{id}/password`), not a sign-in, token,
/// reset or search, not held. Sign-up and account-like paths first.
fn create_operations(ctx: &ScanContext) -> Vec<&ScanOperation> {
    let held: Vec<_> = ctx.hold.held().iter().map(|h| h.endpoint.clone()).collect();
    let mut out: Vec<&ScanOperation> = ctx
        .operations
        .iter()
        .filter(|op| op.endpoint.method == "POST" && !held.contains(&op.endpoint))
        .filter(|op| !op.endpoint.path.trim_end_matches('/').ends_with('}'))
        .filter(|op| crate::probes::sign_in::kind(op).is_none())
        .filter(|op| {
            op.body.as_ref().and_then(|b| serde_json::from_slice::<Value>(b).ok()).is_some_and(|b| b.is_object())
        })
        .collect();
    let account_like = |op: &&ScanOperation| {
        let path = op.endpoint.path.to_ascii_lowercase();
        ["register", "signup", "sign-up", "user", "account", "member", "customer", "profile"]
            .iter()
            .any(|w| path.contains(w))
    };
    out.sort_by_key(|op| !account_like(op));
    out.truncate(MAX_CREATE_OPERATIONS);
    out
}

/// A privilege-like property the API shows somewhere: its name as written,
/// and a value it was seen with (or its documented type, as a value of it).
#[derive(Debug, Clone, PartialEq)]
struct Candidate {
    name: String,
    sample: Value,
}

/// Privilege-like properties learned from the API: the documented response
/// schemas of every operation and the JSON answers of the reachability sweep.
async fn privileged_candidates(ctx: &ScanContext, check: &'static str) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut add = |name: &str, sample: Value| {
        if WRITABLE_PRIVILEGES.contains(&normalized(name).as_str()) && !out.iter().any(|c| c.name == name) {
            out.push(Candidate { name: name.to_string(), sample });
        }
    };
    fn schema_sample(schema: &Value) -> Value {
        match schema.get("type").and_then(Value::as_str) {
            Some("boolean") => Value::Bool(false),
            Some("integer" | "number") => Value::from(0),
            Some("array") => Value::Array(Vec::new()),
            _ => Value::from(""),
        }
    }
    fn walk_schema(schema: &Value, depth: usize, add: &mut dyn FnMut(&str, Value)) {
        if depth > 3 {
            return;
        }
        if let Some(items) = schema.get("items") {
            walk_schema(items, depth + 1, add);
        }
        for (name, property) in documented_properties(schema).unwrap_or_default() {
            add(&name, schema_sample(&property));
            walk_schema(&property, depth + 1, add);
        }
    }
    fn walk_value(value: &Value, depth: usize, add: &mut dyn FnMut(&str, Value)) {
        if depth > 4 {
            return;
        }
        match value {
            Value::Object(map) => {
                for (name, v) in map {
                    if !v.is_object() {
                        add(name, v.clone());
                    }
                    walk_value(v, depth + 1, add);
                }
            }
            Value::Array(items) => items.iter().take(20).for_each(|v| walk_value(v, depth + 1, add)),
            _ => {}
        }
    }
    // Answers first: a value seen says the type better than a schema.
    for reach in ctx.reachability(check).await.values().flatten() {
        if let Ok(exchange) = &reach.result
            && let Ok(value) = serde_json::from_slice::<Value>(&exchange.response.body)
        {
            walk_value(&value, 0, &mut add);
        }
    }
    for op in &ctx.operations {
        if let Some(schema) = &op.described.response_schema {
            walk_schema(schema, 0, &mut add);
        }
    }
    out.truncate(MAX_PROPERTIES * 2);
    out
}

/// The value a privilege-like property is given at creation: the privileged
/// end of its type, whatever the sample held.
fn privileged_value(candidate: &Candidate) -> Option<Value> {
    let n = normalized(&candidate.name);
    match &candidate.sample {
        Value::Bool(_) => Some(Value::Bool(true)),
        Value::Number(_) => Some(Value::from(1_000_000)),
        Value::String(_) => {
            Some(Value::from(if matches!(n.as_str(), "plan" | "tier") { "enterprise" } else { "admin" }))
        }
        Value::Array(_) => Some(Value::Array(vec![Value::from("admin")])),
        _ => None,
    }
}

/// The create body with the account-like string properties made unique
/// (`tag`, or `tag@example.com` for e-mail addresses); returns the body and
/// the value an object of it can be found by.
fn unique_body(body: &Map<String, Value>, tag: &str) -> Option<(Map<String, Value>, String)> {
    let mut out = body.clone();
    let mut marker = None;
    for (name, value) in out.iter_mut() {
        let Value::String(current) = value else { continue };
        let lower = name.to_ascii_lowercase();
        // The names an account (or a record) is known by: they must be new for a create to succeed.
        let names_it = crate::probes::sign_in::user_field(name)
            || ["handle", "nick", "alias", "slug"].iter().any(|w| lower.contains(w));
        if !names_it || crate::probes::sign_in::secret_field(name) {
            continue;
        }
        let email = crate::probes::sign_in::holds_email(name, current);
        let unique = if email { format!("{tag}@example.com") } else { tag.to_string() };
        if marker.is_none() || !email {
            marker = Some(unique.clone());
        }
        *value = Value::from(unique);
    }
    marker.map(|m| (out, m))
}

/// Creates two objects through `create`, one with the privilege-like
/// properties set, and reads both back through any operation; reports each
/// property the second object holds with its privileged value while the
/// first holds another. Returns how many pairs were created.
async fn probe_create(
    ctx: &ScanContext,
    reporter: &Reporter,
    identity: Option<&Arc<Identity>>,
    create: &ScanOperation,
    candidates: &[Candidate],
) -> usize {
    let Some(Ok(Value::Object(body))) = create.body.as_ref().map(|b| serde_json::from_slice::<Value>(b)) else {
        return 0;
    };
    let offered: Vec<(&Candidate, Value)> = candidates
        .iter()
        .filter(|c| !documented_writable(create, &c.name) && !body.contains_key(&c.name))
        .filter_map(|c| Some((c, privileged_value(c)?)))
        .take(MAX_PROPERTIES)
        .collect();
    if offered.is_empty() {
        return 0;
    }
    let (Some((control_body, control_marker)), Some((mut probe_body, probe_marker))) =
        (unique_body(&body, &unique_tag("mrtr")), unique_body(&body, &unique_tag("mrtr")))
    else {
        return 0;
    };
    for (candidate, value) in &offered {
        probe_body.insert(candidate.name.clone(), value.clone());
    }
    let send = async |body: &Map<String, Value>| {
        let mut request = ctx.request("POST", &create.endpoint).identity(identity.cloned());
        request.body = serde_json::to_vec(body).unwrap_or_default();
        request.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        request.headers.push(("Content-Type".into(), b"application/json".to_vec()));
        let exchange = ctx.send(CHECK.info.id, Some(&create.endpoint), request.clone()).await.ok()?;
        ok(&exchange).then(|| (Arc::new(exchange), request))
    };
    let Some((control_created, _)) = send(&control_body).await else { return 0 };
    let Some((probe_created, probe_request)) = send(&probe_body).await else { return 1 };
    let readers = crate::probes::readback::readers(ctx, CHECK.info.id, identity).await;
    let wanted: Vec<String> = offered.iter().map(|(c, _)| c.name.clone()).collect();
    let find = async |marker: &str| {
        crate::probes::readback::find_object(
            ctx,
            CHECK.info.id,
            identity,
            &readers,
            marker,
            &wanted,
            MAX_READBACK_REQUESTS,
        )
        .await
    };
    let (Some(control), Some(probe)) = (find(&control_marker).await, find(&probe_marker).await) else { return 1 };
    for (candidate, value) in offered {
        let (Some(held), Some(control_value)) =
            (probe.object.get(&candidate.name), control.object.get(&candidate.name))
        else {
            continue;
        };
        if held != &value || control_value == &value {
            continue;
        }
        reporter.observe(Observation {
            endpoint: Some(create.endpoint.clone()),
            component: Some(candidate.name.clone()),
            severity: None,
            confidence: Confidence::Confirmed,
            title: None,
            description: format!(
                "POST {} took `{}` from the request body, a property its documented request body does not offer: \
                 an object created with `{}: {value}` (`{probe_marker}`) reads back with {held} through GET {}, \
                 while one created without it (`{control_marker}`) reads back with {control_value}. Anyone who can \
                 create one gives it the privilege. The two objects were left in place: remove them by hand.",
                create.endpoint.path, candidate.name, candidate.name, probe.endpoint.path,
            ),
            evidence: vec![
                ctx.evidence(&control_created, "Created without the property."),
                ctx.evidence(&probe_created, "Created with the privileged property."),
                ctx.evidence(&control.exchange, format!("The first object read back: {control_value}.")),
                ctx.evidence(&probe.exchange, format!("The second object read back: {held}.")),
            ],
            reproduce: ctx.curl(&probe_request),
        });
    }
    1
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
    fn created_objects_get_the_privileged_end_and_unique_account_values() {
        let candidate = |name: &str, sample: Value| Candidate { name: name.into(), sample };
        assert_eq!(privileged_value(&candidate("admin", json!(true))), Some(json!(true)), "true even if seen true");
        assert_eq!(privileged_value(&candidate("role", json!("user"))), Some(json!("admin")));
        assert_eq!(privileged_value(&candidate("plan", json!(""))), Some(json!("enterprise")));
        let body: Map<String, Value> = serde_json::from_value(
            json!({"username": "ana", "email": "ana@example.com", "password": "x", "bio": "hi", "handle": "a"}),
        )
        .unwrap_or_default();
        let (unique, marker) = unique_body(&body, "mrtr1").expect("account fields");
        assert_eq!(marker, "mrtr1");
        assert_eq!(unique["email"], json!("mrtr1@example.com"));
        assert_eq!(unique["password"], json!("x"), "the secret is kept");
        assert_eq!(unique["bio"], json!("hi"));
        assert_eq!(unique["handle"], json!("mrtr1"));
        assert!(unique_body(&serde_json::from_value(json!({"title": "x"})).unwrap_or_default(), "t").is_none());
    }

    #[test]
    fn read_only_properties_are_not_documented_writable() {
        let mut op = ScanOperation::bare("PATCH", "/me");
        op.described.request_schema = Some(json!({"properties": {"display_name": {}, "role": {"readOnly": true}}}));
        assert!(!documented_writable(&op, "role"), "read-only is not writable");
        assert!(documented_writable(&op, "display_name"));
    }
}

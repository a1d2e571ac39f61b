//! Certificate identity not enforced at the point of use (write-up 001): the
//! server verifies the client certificate, yet identity A's certificate reads
//! identity B's objects because the handler trusts the id in the path instead
//! of comparing it with the verified identity.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::mtls::{cert_identities, own_cert, probe};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Most of B's identifiers tried per operation.
const MAX_IDS: usize = 3;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "mtls.cert-identity-not-enforced",
        category: Category::Mtls,
        severity: Severity::High,
        profile: Profile::Standard,
        title: "Client certificate identity not checked at the point of use",
        description: "Learns identifiers that belong to the second certificate identity (id-like values in its \
            answers to safe operations without path parameters that the first identity's answers lack), then asks \
            for each safe operation with one path parameter filled with them: first with the owner's certificate, \
            then with the first identity's. The same answer for both means the server verified the certificate but \
            not that it may reach this object (identity cached by a middleware, handler trusting the path id). \
            Each probe is a fresh connection with its own client configuration, resumption off.",
        remediation: Remediation {
            summary: "Derive the caller from the verified certificate in the handler (or the data layer) and compare \
                it with the object's owner on every access; never let the path id stand in for the identity.",
            actix_web: "Read the subject captured in `HttpServer::on_connect` from `req.conn_data()` in the handler and \
                return 403 unless it owns the requested id (or query with `WHERE owner = $subject`).",
            axum: "In the handler, take the peer certificate's subject from the connection extension and compare it \
                with `Path(id)` (or filter the query by it); do not rely on claims a middleware stored earlier.",
        },
        references: References { owasp_api: &["API1:2023"], cwe: &["CWE-639", "CWE-367"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Id-like scalar values in a JSON answer.
fn ids(body: &[u8]) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = k.to_ascii_lowercase();
                    let idish = key == "id"
                        || key.ends_with("_id")
                        || key.ends_with("id") && k.ends_with("Id")
                        || matches!(key.as_str(), "owner" | "username" | "user" | "login" | "account");
                    match v {
                        Value::String(s) if idish && !s.is_empty() && s.len() <= 128 && !s.contains('/') => {
                            out.insert(s.clone());
                        }
                        Value::Number(n) if idish => {
                            out.insert(n.to_string());
                        }
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        walk(&v, &mut out);
    }
    out
}

/// The operation with its single path parameter set to `value`.
fn with_path_value(op: &ScanOperation, value: &str) -> Option<ScanOperation> {
    let path = &op.endpoint.path;
    if path.matches('{').count() != 1 {
        return None;
    }
    let (head, rest) = path.split_once('{')?;
    let (_, tail) = rest.split_once('}')?;
    let encoded: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let query = op.target.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    let mut out = op.clone();
    out.target = format!("{head}{encoded}{tail}{query}");
    Some(out)
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let identities = cert_identities(&ctx);
    let (Some(a), Some(b)) = (identities.first().cloned(), identities.get(1).cloned()) else {
        return CheckVerdict::Skipped("needs two identities with client certificates".into());
    };
    let safe: Vec<&ScanOperation> = ctx.operations.iter().filter(|o| o.endpoint.method == "GET").collect();
    let (plain, templated): (Vec<&ScanOperation>, Vec<&ScanOperation>) =
        safe.into_iter().partition(|o| !o.endpoint.path.contains('{'));
    let templated: Vec<&ScanOperation> =
        templated.into_iter().filter(|o| o.endpoint.path.matches('{').count() == 1).collect();
    if templated.is_empty() {
        return CheckVerdict::Skipped("no safe operation with one path parameter".into());
    }
    // Whose identifiers: B's answers minus A's.
    let (mut ids_a, mut ids_b) = (BTreeSet::new(), BTreeSet::new());
    for op in plain.iter().take(6) {
        for (who, set) in [(&a, &mut ids_a), (&b, &mut ids_b)] {
            if let Ok((p, _)) = probe(&ctx, id, op, "own certificate", own_cert(who), Some(who.clone()), &[]).await
                && let Some(ex) = p.ok()
            {
                set.extend(ids(&ex.response.body));
            }
        }
    }
    let theirs: Vec<String> = ids_b.difference(&ids_a).take(MAX_IDS).cloned().collect();
    if theirs.is_empty() {
        return CheckVerdict::Inconclusive(format!(
            "no identifier seen only in identity `{}`'s answers: cannot tell its objects",
            b.name
        ));
    }
    let mut tried = 0;
    let mut found = 0;
    for op in &templated {
        for value in &theirs {
            let Some(concrete) = with_path_value(op, value) else { continue };
            let owner_offer = format!("identity `{}`'s own certificate (owner of `{value}`)", b.name);
            let Ok((owner, _)) = probe(&ctx, id, &concrete, &owner_offer, own_cert(&b), Some(b.clone()), &[]).await
            else {
                continue;
            };
            let Some(owner_ex) = owner.ok().cloned() else { continue };
            tried += 1;
            let other_offer =
                format!("identity `{}`'s own certificate, asking for `{}`'s object `{value}`", a.name, b.name);
            let Ok((other, request)) =
                probe(&ctx, id, &concrete, &other_offer, own_cert(&a), Some(a.clone()), &[]).await
            else {
                continue;
            };
            if let Some(ex) = other.ok()
                && ex.response.body == owner_ex.response.body
            {
                found += 1;
                reporter.observe(Observation {
                    endpoint: Some(op.endpoint.clone()),
                    component: None,
                    severity: None,
                    confidence: Confidence::Confirmed,
                    title: None,
                    description: format!(
                        "Identity `{}`'s verified certificate got identity `{}`'s object `{value}` from {} {}: the \
                         same answer (HTTP {}) as the owner's certificate. The certificate is verified, but the \
                         identity is not compared with the object at the point of use. {}",
                        a.name,
                        b.name,
                        op.endpoint.method,
                        op.endpoint.path,
                        ex.response.status,
                        other.summary()
                    ),
                    evidence: vec![other.evidence(&ctx, &request), ctx.evidence(&owner_ex, owner.summary())],
                    reproduce: ctx.curl(&request),
                });
                break;
            }
        }
    }
    if tried == 0 {
        return CheckVerdict::Inconclusive(format!(
            "no templated operation answered `{}` for its own identifiers",
            b.name
        ));
    }
    CheckVerdict::Ran(format!(
        "{tried} object(s) of `{}` requested with `{}`'s certificate: {found} served",
        b.name, a.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_like_values_are_collected() {
        let got =
            ids(br#"{"userId":"bob","links":{"profile":"/api/users/bob/profile"},"items":[{"id":7,"name":"x"}]}"#);
        assert_eq!(got.into_iter().collect::<Vec<_>>(), ["7", "bob"]);
        assert!(ids(b"not json").is_empty());
    }

    #[test]
    fn one_path_parameter_is_filled_and_encoded() {
        let mut op = ScanOperation::bare("GET", "/api/users/{userId}/profile");
        op.target = "/api/users/u1/profile?x=1".into();
        assert_eq!(with_path_value(&op, "b ob").unwrap().target, "/api/users/b%20ob/profile?x=1");
        assert!(with_path_value(&ScanOperation::bare("GET", "/a/{x}/{y}"), "v").is_none());
    }
}

//! `bola.cross-identity-write`: another identity (not an administrator)
//! changes one text property of the owner's object, and the owner reads the
//! change back; the owner then writes the original value back.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::bola::REMEDIATION;
use crate::probes::spec::{defined_at, described, no_description};
use crate::probes::write::{
    create_object, documented_properties, read_object_at, write_body, write_read_pairs, write_request,
};
use mortar_engine::Exchange;
use mortar_model::{Category, CheckInfo, Identity, Observation, Profile, References, Severity};
use serde_json::Value;
use std::sync::Arc;

fn ok(ex: &Exchange) -> bool {
    (200..300).contains(&ex.response.status)
}

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "bola.cross-identity-write",
        category: Category::Bola,
        severity: Severity::Critical,
        profile: Profile::Active,
        title: "Object writable by another identity (BOLA/IDOR)",
        description: "With two or more identities, for PUT and PATCH operations whose object can be read back \
            with GET: the first identity (the owner) creates a fresh object when the API has a POST on the \
            collection (else uses one the scan learned) and reads it, another identity (not an administrator) \
            writes one documented text property of it with a marked value, and the owner reads it again. The \
            marked value in the owner's object is the proof; the owner then writes the original back. Properties \
            that identify or authenticate (username, email, password, phone, token, role) are never written. \
            Evidence: the owner's read, the other identity's write, the owner's read back. DELETE is sent only \
            to remove an object the check created, in the scan's last phase.",
        remediation: REMEDIATION,
        references: References { owasp_api: &["API1:2023"], cwe: &["CWE-639", "CWE-285"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Text properties a write may carry without harm, in order of preference.
const HARMLESS: &[&str] =
    &["name", "title", "description", "notes", "note", "label", "memo", "comment", "display_name"];

/// Parts of property names that identify or authenticate the owner:
/// changing one could lock the owner out (a username in the token, a
/// password), so they are never marked.
const IDENTIFYING: &[&str] = &["user", "login", "mail", "pass", "phone", "token", "secret", "key", "role", "admin"];

/// The property to mark: documented in the write's body (or harmless by
/// name), a string in the object, and not [`IDENTIFYING`].
fn markable(write: &ScanOperation, object: &serde_json::Map<String, Value>) -> Option<String> {
    let documented: Vec<String> = write
        .described
        .request_schema
        .as_ref()
        .and_then(documented_properties)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let string = |k: &String| {
        let lower = k.to_ascii_lowercase();
        object.get(k).is_some_and(Value::is_string) && !IDENTIFYING.iter().any(|part| lower.contains(part))
    };
    documented
        .iter()
        .filter(|k| string(k))
        .min_by_key(|k| HARMLESS.iter().position(|h| h == &k.to_ascii_lowercase()).unwrap_or(HARMLESS.len()))
        .cloned()
        .or_else(|| HARMLESS.iter().map(|h| h.to_string()).find(|h| string(h)))
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    if !described(&ctx) {
        return no_description();
    }
    let others: Vec<&Arc<Identity>> =
        ctx.identities.iter().skip(1).filter(|i| i.role != Some(mortar_model::Role::Admin)).collect();
    let (Some(owner), Some(other)) = (ctx.identities.first(), others.first()) else {
        return CheckVerdict::Skipped(
            "needs two identities (the owner first, and one that is not an administrator)".into(),
        );
    };
    let pairs: Vec<_> = write_read_pairs(&ctx).filter(|(w, _)| w.endpoint.path.ends_with('}')).take(3).collect();
    if pairs.is_empty() {
        return CheckVerdict::Skipped("no PUT or PATCH on one object with a GET on the same path".into());
    }
    let mut tried = 0;
    let mut created_objects = Vec::new();
    for (write, read) in pairs {
        // A fresh object of the owner's when the API can create one, so that
        // the probe never touches what the owner had; else the one learned.
        let created = create_object(id, &ctx, owner, write).await;
        let target = created.clone().unwrap_or_else(|| write.target.clone());
        if created.is_some() {
            created_objects.push((write, target.clone()));
        }
        let at = |request: mortar_engine::Request| mortar_engine::Request { target: target.clone(), ..request };
        let Some((before, object)) = read_object_at(id, &ctx, owner, read, &target).await else { continue };
        let Some(name) = markable(write, &object) else { continue };
        let original = object.get(&name).cloned().unwrap_or(Value::Null);
        let marked = Value::from(format!("{} (mortar {})", original.as_str().unwrap_or_default(), other.name));
        let body = write_body(write, &object, &name, &marked);
        tried += 1;
        let request = at(write_request(&ctx, other, write, &body));
        let Ok(written) = ctx.send(id, Some(&write.endpoint), request.clone()).await else { continue };
        let Some((after, object_after)) = read_object_at(id, &ctx, owner, read, &target).await else { continue };
        if object_after.get(&name) != Some(&marked) {
            continue;
        }
        let restore = at(write_request(&ctx, owner, write, &write_body(write, &object_after, &name, &original)));
        let restored = match ctx.send(id, Some(&write.endpoint), restore).await {
            Ok(ex) if ok(&ex) => read_object_at(id, &ctx, owner, read, &target)
                .await
                .is_some_and(|(_, o)| o.get(&name) == Some(&original)),
            _ => false,
        };
        reporter.observe(Observation::confirmed(
            write.endpoint.clone(),
            format!(
                "{} {} (defined at {}) let `{}` change `{name}` of `{}`'s object {}{}: the write answered HTTP {} and \
                 `{}` then read {marked} where it had read {original}. {}",
                write.endpoint.method,
                write.endpoint.path,
                defined_at(write),
                other.name,
                owner.name,
                target,
                if created.is_some() { " (created by the owner for this probe)" } else { "" },
                written.response.status,
                owner.name,
                if restored {
                    "The owner wrote the original value back."
                } else {
                    "Writing the original value back did not work: restore it by hand."
                }
            ),
            vec![
                ctx.evidence(&before, format!("The owner `{}` reads its object.", owner.name)),
                ctx.evidence(&written, format!("`{}` writes to it.", other.name)),
                ctx.evidence(&after, format!("The owner reads the change `{}` made.", other.name)),
            ],
            ctx.curl(&request),
        ));
    }
    // The objects the check created go away again, where the API can delete
    // them (held back to the scan's last phase, like every DELETE).
    for (write, target) in &created_objects {
        let delete =
            ctx.operations.iter().find(|o| o.endpoint.method == "DELETE" && o.endpoint.path == write.endpoint.path);
        if let Some(delete) = delete {
            let request = ctx.request("DELETE", &delete.endpoint).identity(Some(owner.clone()));
            let _ = ctx
                .send(id, Some(&delete.endpoint), mortar_engine::Request { target: target.clone(), ..request })
                .await;
        }
    }
    CheckVerdict::Ran(format!("{tried} object(s) written as `{}` and read back as `{}`", other.name, owner.name))
}

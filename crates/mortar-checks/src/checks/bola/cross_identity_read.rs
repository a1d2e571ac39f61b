//! `bola.cross-identity-read`: an object one identity owns, read by another.
//!
//! The scan learns object ids as the first identity (the owner: its lists'
//! ids fill the description's path parameters), and the reachability sweep
//! asks every operation as every identity. For a `GET` on one object
//! (a path parameter in its last segment), another identity's 2xx answer is a
//! finding only when it carries values that appear in the owner's answer and
//! nowhere in the other identity's own answers (its own lists and objects),
//! when its own listing of the collection does not list that object, and when
//! the object is not served anonymously (public, or an authentication
//! problem, reported elsewhere). Status codes alone prove nothing.
//!
//! With one identity there is no second owner to compare: numeric ids next
//! to the identity's own (just above the highest it lists, just below the
//! lowest) are asked as that identity, and an answer with data found nowhere
//! in its own answers is reported `tentative` (whose object it is cannot be
//! known with one identity).

use crate::check::{Check, CheckVerdict};
use crate::context::{Reach, Reporter, ScanContext, ScanOperation};
use crate::probes::bola::REMEDIATION;
use crate::probes::json::leaves;
use crate::probes::spec::{answered, defined_at, described, no_description, swept};
use mortar_engine::Exchange;
use mortar_model::{Category, CheckInfo, Endpoint, Observation, Profile, References, Severity};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "bola.cross-identity-read",
        category: Category::Bola,
        severity: Severity::High,
        profile: Profile::Standard,
        title: "Object readable by another identity (BOLA/IDOR)",
        description: "With two or more identities and an API description: objects the first identity owns \
            (ids learned from its own answers) are read as every other identity with GET. A finding needs the \
            other identity's 2xx answer to carry values from the owner's object that appear nowhere in the \
            other identity's own data, the object to be absent from the other identity's own listing, and the \
            object not to be served anonymously. Both identities' requests and responses are the evidence. \
            With one identity, numeric ids next to its own (at most 3 GETs per operation) that answer with data \
            found nowhere in its own answers are reported as tentative.",
        remediation: REMEDIATION,
        references: References { owasp_api: &["API1:2023"], cwe: &["CWE-639", "CWE-285"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

fn ok(ex: &Exchange) -> bool {
    (200..300).contains(&ex.response.status)
}

/// `GET /things/{id}`: the id parameter's name, and the collection's path.
fn object_operation(op: &ScanOperation) -> Option<(&str, String)> {
    if op.endpoint.method != "GET" {
        return None;
    }
    let (collection, last) = op.endpoint.path.trim_end_matches('/').rsplit_once('/')?;
    let name = last.strip_prefix('{')?.strip_suffix('}')?;
    Some((name, collection.to_string()))
}

/// The concrete id the owner's request used (the last path segment).
fn requested_id(op: &ScanOperation) -> Option<String> {
    let path = op.target.split('?').next()?;
    path.trim_end_matches('/').rsplit('/').next().map(str::to_string)
}

/// Every object `id` a body names (strings, and numbers written out), at any depth.
fn object_ids(body: &[u8]) -> BTreeSet<String> {
    fn walk(value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                match map.get("id") {
                    Some(Value::String(s)) => {
                        out.insert(s.clone());
                    }
                    Some(Value::Number(n)) => {
                        out.insert(n.to_string());
                    }
                    _ => {}
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        walk(&value, &mut out);
    }
    out
}

/// Whether a listing body names `id` as some object's `id`.
fn lists_id(body: &[u8], id: &str) -> bool {
    object_ids(body).contains(id)
}

/// Every integer `id` a listing names.
fn listed_ids(body: &[u8]) -> BTreeSet<i64> {
    object_ids(body).iter().filter_map(|id| id.parse().ok()).collect()
}

/// Ids next to the owner's: just above the highest, just below the lowest.
fn adjacent_ids(own: &BTreeSet<i64>) -> Vec<i64> {
    let (Some(low), Some(high)) = (own.first(), own.last()) else { return Vec::new() };
    [high + 1, high + 2, low - 1].into_iter().filter(|id| *id >= 0 && !own.contains(id)).collect()
}

/// One identity: its neighbours' objects, read as itself.
async fn adjacent(ctx: &ScanContext, reporter: &Reporter) -> CheckVerdict {
    let owner = ctx.identities[0].clone();
    let sweep = ctx.reachability(CHECK.info.id).await;
    let mine = |reaches: &[Reach]| -> Option<Arc<Exchange>> {
        answered(reaches).find(|(r, _)| r.identity == owner.name).map(|(_, ex)| ex.clone()).filter(|ex| ok(ex))
    };
    // Everything the identity was given as its own.
    let mut own_values = BTreeSet::new();
    for reaches in sweep.values() {
        if let Some(ex) = mine(reaches) {
            leaves(&ex.response.body, &mut own_values);
        }
    }
    let mut probed = 0;
    for op in &ctx.operations {
        let Some((_, collection)) = object_operation(op) else { continue };
        let Some(id) = requested_id(op).and_then(|i| i.parse::<i64>().ok()) else { continue };
        let Some(reaches) = sweep.get(&op.endpoint) else { continue };
        if mine(reaches).is_none() {
            continue;
        }
        let listing = ctx
            .operations
            .iter()
            .find(|o| o.endpoint.method == "GET" && o.endpoint.path == collection)
            .and_then(|o| sweep.get(&o.endpoint))
            .and_then(|r| mine(r));
        let mut own_ids = listing.map(|ex| listed_ids(&ex.response.body)).unwrap_or_default();
        own_ids.insert(id);
        let path = op.target.split('?').next().unwrap_or_default();
        let query = op.target.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
        let Some((prefix, _)) = path.trim_end_matches('/').rsplit_once('/') else { continue };
        for neighbour in adjacent_ids(&own_ids) {
            probed += 1;
            let mut request = ctx.request("GET", &op.endpoint).identity(Some(owner.clone()));
            request.target = format!("{prefix}/{neighbour}{query}");
            let Ok(ex) = ctx.send(CHECK.info.id, Some(&op.endpoint), request.clone()).await else { continue };
            if !ok(&ex) {
                continue;
            }
            let mut seen = BTreeSet::new();
            leaves(&ex.response.body, &mut seen);
            seen.remove(&neighbour.to_string());
            let foreign: Vec<&String> = seen.iter().filter(|v| !own_values.contains(*v)).collect();
            if foreign.is_empty() {
                continue;
            }
            let shown: Vec<String> = foreign.iter().take(3).map(|v| format!("`{v}`")).collect();
            let description = format!(
                "GET {} (defined at {}): `{}` lists ids {} as its own, yet id {neighbour} next to them answered \
                 HTTP {} with data found nowhere in its own answers ({}). With one identity mortar cannot tell \
                 whose object this is: give a second identity (`--identity`) to confirm or clear it.",
                op.endpoint.path,
                defined_at(op),
                owner.name,
                own_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
                ex.response.status,
                shown.join(", ")
            );
            let evidence = vec![ctx.evidence(&ex, format!("`{}` reads id {neighbour}, not among its own", owner.name))];
            let mut observation =
                Observation::confirmed(op.endpoint.clone(), description, evidence, ctx.curl(&request));
            observation.confidence = mortar_model::Confidence::Tentative;
            reporter.observe(observation);
            break;
        }
    }
    CheckVerdict::Ran(format!("one identity: {probed} adjacent id(s) probed with GET"))
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !described(&ctx) {
        return no_description();
    }
    match ctx.identities.len() {
        0 => return CheckVerdict::Skipped("needs an identity that the pre-flight accepted".into()),
        1 => return adjacent(&ctx, &reporter).await,
        _ => {}
    }
    let owner = ctx.identities[0].name.clone();
    let sweep = ctx.reachability(CHECK.info.id).await;
    let by = |reaches: &'_ [Reach], who: &str| -> Option<Arc<Exchange>> {
        answered(reaches).find(|(r, _)| r.identity == who).map(|(_, ex)| ex.clone())
    };
    let mut judged = 0;
    for op in &ctx.operations {
        let Some((_, collection)) = object_operation(op) else { continue };
        let Some(reaches) = sweep.get(&op.endpoint) else { continue };
        let Some(owned) = by(reaches, &owner).filter(|ex| ok(ex)) else { continue };
        if by(reaches, "anonymous").is_some_and(|ex| ok(&ex) && ex.response.body == owned.response.body) {
            continue; // served to anyone: not a question of whose object it is
        }
        let mut owner_values = BTreeSet::new();
        leaves(&owned.response.body, &mut owner_values);
        let id = requested_id(op).unwrap_or_default();
        owner_values.remove(&id);
        judged += 1;
        // An administrator reading others' objects is what it is for.
        for other in ctx.identities.iter().skip(1).filter(|i| i.role != Some(mortar_model::Role::Admin)) {
            let Some(read) = by(reaches, &other.name).filter(|ex| ok(ex)) else { continue };
            // The other identity's own data: every answer it read elsewhere. Not
            // the answers to writes: in the active profile the sweep sends them
            // too, and a write to the owner's object answers with the owner's data.
            let mut own = BTreeSet::new();
            let reads = |e: &Endpoint| matches!(e.method.as_str(), "GET" | "HEAD");
            for (endpoint, elsewhere) in sweep.iter().filter(|(e, _)| **e != op.endpoint && reads(e)) {
                if let Some(ex) = by(elsewhere, &other.name).filter(|ex| ok(ex)) {
                    leaves(&ex.response.body, &mut own);
                    // Its own listing names the object: shared with it, not a leak.
                    if endpoint.method == "GET" && endpoint.path == collection && lists_id(&ex.response.body, &id) {
                        own.extend(owner_values.iter().cloned());
                    }
                }
            }
            let mut seen = BTreeSet::new();
            leaves(&read.response.body, &mut seen);
            let leaked: Vec<&String> = seen.iter().filter(|v| owner_values.contains(*v) && !own.contains(*v)).collect();
            if leaked.is_empty() {
                continue;
            }
            let shown: Vec<String> = leaked.iter().take(3).map(|v| format!("`{v}`")).collect();
            let request = ctx.request("GET", &op.endpoint).identity(Some(other.clone()));
            let description = format!(
                "GET {} (defined at {}) served {}'s object {} to `{}`: its answer carries {} value(s) of the \
                     owner's object that appear nowhere in `{}`'s own data ({}), and `{}`'s own listing does not \
                     list the object.",
                op.endpoint.path,
                defined_at(op),
                owner,
                op.target,
                other.name,
                leaked.len(),
                other.name,
                shown.join(", "),
                other.name
            );
            let evidence = vec![
                ctx.evidence(&owned, format!("the owner `{owner}` reads its object")),
                ctx.evidence(&read, format!("`{}` reads the same object and gets the owner's data", other.name)),
            ];
            reporter.observe(Observation::confirmed(op.endpoint.clone(), description, evidence, ctx.curl(&request)));
        }
    }
    swept(&ctx, judged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_lie_just_outside_the_owned_range() {
        assert_eq!(adjacent_ids(&BTreeSet::from([1, 2])), vec![3, 4, 0]);
        assert_eq!(adjacent_ids(&BTreeSet::from([0])), vec![1, 2]);
        assert!(adjacent_ids(&BTreeSet::new()).is_empty());
        assert_eq!(listed_ids(br#"{"items": [{"id": 5}, {"id": "7"}, {"id": "x"}]}"#), BTreeSet::from([5, 7]));
    }

    #[test]
    fn a_listing_names_an_object_by_id() {
        assert!(lists_id(br#"{"invoices": [{"id": 3}, {"id": 4}]}"#, "4"));
        assert!(lists_id(br#"[{"id": "ord_1"}]"#, "ord_1"));
        assert!(!lists_id(br#"{"invoices": [{"id": 3, "customer_id": 4}]}"#, "4"));
    }
}

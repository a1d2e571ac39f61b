//! `bfla.privileged-operation`: administrative operations answered to an
//! ordinary user (OWASP API5:2023).
//!
//! Which operations are administrative comes from the description: a path
//! segment (`admin`, `internal`, `manage`, `staff`, ...), a tag, an OAuth
//! scope or the operationId saying so. Which identities are ordinary users
//! comes from the user (`role = "user"` in mortar.toml) or from the API
//! itself: an identity refused (401/403) by one administrative operation that
//! another identity was served is not an administrator.
//!
//! A finding needs the ordinary user's 2xx answer while anonymous callers
//! are refused (otherwise it is an authentication problem, reported
//! elsewhere), and it is confirmed when the answer carries the data an
//! administrator got from the same operation. An administrative operation
//! the description leaves unsecured that serves a caller with no credential
//! at all, in an API that refuses such callers elsewhere, is reported too
//! (firm: by its name and that answer). Judged from the reachability
//! sweep: no request beyond it. Method swaps (calling an administrative
//! operation's write with another method) are not tried.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reach, Reporter, ScanContext, ScanOperation};
use crate::probes::json::{leaves, reads_as_refusal};
use crate::probes::spec::{answered, defined_at, described, no_description};
use mortar_engine::Exchange;
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Role, Severity};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "bfla.privileged-operation",
        category: Category::Bfla,
        severity: Severity::High,
        profile: Profile::Standard,
        title: "Administrative operation served to an ordinary user (BFLA)",
        description: "Finds administrative operations in the API description (path segments such as admin, \
            internal, manage, staff; tags; OAuth scopes; operationId) and reports those that answered 2xx to an \
            ordinary user while refusing anonymous callers. Ordinary users are identities marked \
            `role = \"user\"` in mortar.toml, or identities the API itself refused on another administrative \
            operation that a second identity was served. Confirmed when the answer carries the data an \
            administrator received. Also reports (firm) administrative operations the description leaves \
            unsecured that answer 2xx, with no refusal, to callers without any credential while another \
            operation refuses them. Judged from the reachability sweep (safe methods outside the active \
            profile).",
        remediation: Remediation {
            summary: "Check the caller's role in every administrative handler (deny by default), in one place \
                that wraps all administrative routes, not route by route.",
            actix_web: "Mount administrative routes under `web::scope(\"/admin\")` wrapped with a guard or \
                middleware that reads the authenticated user's role (e.g. `actix-web-grants`' \
                `GrantsMiddleware` with `#[protect(\"ROLE_ADMIN\")]`) and answers 403 otherwise.",
            axum: "Nest administrative routes in their own Router with \
                `.route_layer(middleware::from_fn(require_admin))`, where `require_admin` reads the authenticated \
                user from the request extensions and returns `StatusCode::FORBIDDEN` unless the role is admin.",
        },
        references: References { owasp_api: &["API5:2023"], cwe: &["CWE-285", "CWE-269"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Words that mark an operation as administrative.
const ADMIN_WORDS: &[&str] = &[
    "admin",
    "admins",
    "administration",
    "administrator",
    "internal",
    "manage",
    "management",
    "staff",
    "superuser",
    "backoffice",
    "sudo",
    "moderation",
];

/// Why the description makes an operation administrative, if it does.
pub(crate) fn privileged(op: &ScanOperation) -> Option<String> {
    let is_word = |w: &str| ADMIN_WORDS.contains(&w.to_ascii_lowercase().as_str());
    for segment in op.endpoint.path.split('/').filter(|s| !s.starts_with('{')) {
        if segment.split(['-', '_', '.']).any(is_word) {
            return Some(format!("its path has the segment `{segment}`"));
        }
    }
    let d = &op.described;
    if let Some(tag) = d.tags.iter().find(|t| t.split([' ', '-', '_']).any(is_word)) {
        return Some(format!("it is tagged `{tag}`"));
    }
    if let Some(scope) = d.scopes.iter().find(|s| s.split([':', '.', '-', '_', '/']).any(is_word)) {
        return Some(format!("it requires the scope `{scope}`"));
    }
    if let Some(id) = &d.operation_id {
        let words = camel_words(id);
        if words.iter().any(|w| is_word(w)) {
            return Some(format!("its operationId is `{id}`"));
        }
    }
    None
}

/// `adminListUsers` → admin, list, users; `get_admin-stats` → get, admin, stats.
fn camel_words(id: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in id.chars() {
        if c == '_' || c == '-' || c == '.' || c == ' ' || (c.is_uppercase() && !current.is_empty()) {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if !c.is_alphanumeric() {
                continue;
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn ok(ex: &Exchange) -> bool {
    (200..300).contains(&ex.response.status)
}

fn forbidden(ex: &Exchange) -> bool {
    matches!(ex.response.status, 401 | 403)
}

/// The answer of `who` in a sweep entry, when it was the operation's own method.
fn answer_of<'a>(reaches: &'a [Reach], who: &str, method: &str) -> Option<&'a Arc<Exchange>> {
    answered(reaches).find(|(r, ex)| r.identity == who && ex.request.method == method).map(|(_, ex)| ex)
}

/// Whether `user` got the administrator's data: the same body, or every distinctive value of it.
fn same_data(admin: &Exchange, user: &Exchange) -> bool {
    if admin.response.body == user.response.body && !admin.response.body.is_empty() {
        return true;
    }
    let (mut expected, mut got) = (BTreeSet::new(), BTreeSet::new());
    leaves(&admin.response.body, &mut expected);
    leaves(&user.response.body, &mut got);
    !expected.is_empty() && expected.is_subset(&got)
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !described(&ctx) {
        return no_description();
    }
    let admin_ops: Vec<(&ScanOperation, String)> = ctx
        .operations
        .iter()
        .filter(|o| o.is_safe() || ctx.settings.profile == Profile::Active)
        .filter_map(|o| privileged(o).map(|why| (o, why)))
        .collect();
    if admin_ops.is_empty() {
        return CheckVerdict::Skipped("the description names no administrative operation".into());
    }
    let sweep = ctx.reachability(CHECK.info.id).await;
    let open_to_anyone = served_to_anyone(&ctx, &reporter, sweep, &admin_ops);
    if ctx.identities.is_empty() {
        if open_to_anyone > 0 {
            return CheckVerdict::Ran(format!(
                "{open_to_anyone} administrative operation(s) served to anonymous callers"
            ));
        }
        return CheckVerdict::Skipped("no identity: an ordinary user's credentials are needed".into());
    }
    // Ordinary users: declared, or refused where another identity was served.
    let mut users: BTreeMap<String, String> = BTreeMap::new();
    for identity in &ctx.identities {
        if identity.role == Some(Role::User) {
            users.insert(identity.name.clone(), "marked `role = \"user\"`".into());
        }
    }
    for (op, _) in &admin_ops {
        let Some(reaches) = sweep.get(&op.endpoint) else { continue };
        let served =
            ctx.identities.iter().any(|i| answer_of(reaches, &i.name, &op.endpoint.method).is_some_and(|e| ok(e)));
        for identity in ctx.identities.iter().filter(|i| i.role != Some(Role::Admin)) {
            if served
                && answer_of(reaches, &identity.name, &op.endpoint.method).is_some_and(|e| forbidden(e))
                && !users.contains_key(&identity.name)
            {
                users.insert(
                    identity.name.clone(),
                    format!(
                        "refused by {} {}, which another identity was served",
                        op.endpoint.method, op.endpoint.path
                    ),
                );
            }
        }
    }
    if users.is_empty() && open_to_anyone > 0 {
        return CheckVerdict::Ran(format!(
            "{open_to_anyone} administrative operation(s) served to anonymous callers; no identity is known to be an \
             ordinary user"
        ));
    }
    if users.is_empty() {
        return CheckVerdict::Skipped(
            "no identity is known to be an ordinary user (mark one `role = \"user\"` in mortar.toml)".into(),
        );
    }
    let admins: Vec<&str> =
        ctx.identities.iter().filter(|i| !users.contains_key(&i.name)).map(|i| i.name.as_str()).collect();
    let mut judged = 0;
    for (op, why) in &admin_ops {
        let Some(reaches) = sweep.get(&op.endpoint) else { continue };
        let method = &op.endpoint.method;
        let Some(anonymous) = answer_of(reaches, "anonymous", method) else { continue };
        for (user, known_as) in &users {
            let Some(answer) = answer_of(reaches, user, method) else { continue };
            judged += 1;
            if !ok(answer) || ok(anonymous) {
                continue;
            }
            let admin = admins.iter().find_map(|a| answer_of(reaches, a, method).filter(|e| ok(e)).map(|e| (*a, e)));
            let confirmed = admin.is_some_and(|(_, a)| same_data(a, answer));
            // An inferred user with an answer unlike the administrator's proves nothing.
            if !confirmed && ctx.identities.iter().any(|i| &i.name == user && i.role != Some(Role::User)) {
                continue;
            }
            let mut evidence = vec![
                ctx.evidence(anonymous, "Anonymous callers are refused."),
                ctx.evidence(answer, format!("`{user}`, an ordinary user, is served.")),
            ];
            if let Some((name, a)) = admin {
                evidence.push(ctx.evidence(a, format!("`{name}` (administrator) gets the same operation.")));
            }
            let identity = ctx.identities.iter().find(|i| &i.name == user).cloned();
            let request = ctx.request(method, &op.endpoint).identity(identity);
            let mut observation = Observation::confirmed(
                op.endpoint.clone(),
                format!(
                    "{method} {} is administrative ({why}; {}). `{user}` is an ordinary user ({known_as}), yet it \
                     answered HTTP {}{}, while anonymous callers get HTTP {}.",
                    op.endpoint.path,
                    defined_at(op),
                    answer.response.status,
                    match admin {
                        Some((name, _)) if confirmed => format!(" with the data administrator `{name}` receives"),
                        _ => String::new(),
                    },
                    anonymous.response.status
                ),
                evidence,
                ctx.curl(&request),
            );
            if !confirmed {
                observation.confidence = Confidence::Firm;
            }
            reporter.observe(observation);
        }
    }
    CheckVerdict::Ran(format!(
        "{} administrative operation(s), {judged} answer(s) of {} ordinary user(s) judged; {open_to_anyone} served to \
         anonymous callers",
        admin_ops.len(),
        users.len()
    ))
}

/// Reports the administrative operations that serve anyone: an anonymous
/// 2xx answer that is no refusal, on an operation the description does not
/// declare secured (a declared one is `authentication.security-not-enforced`'s
/// finding), in an API that refuses anonymous callers elsewhere (the control:
/// it has authentication, and this operation escapes it). How many.
fn served_to_anyone(
    ctx: &ScanContext,
    reporter: &Reporter,
    sweep: &BTreeMap<mortar_model::Endpoint, Vec<Reach>>,
    admin_ops: &[(&ScanOperation, String)],
) -> usize {
    let control = ctx.operations.iter().find_map(|op| {
        let reaches = sweep.get(&op.endpoint)?;
        answer_of(reaches, "anonymous", &op.endpoint.method).filter(|e| forbidden(e)).map(|e| (op, e))
    });
    let Some((control_op, control)) = control else { return 0 };
    let mut reported = 0;
    for (op, why) in admin_ops.iter().filter(|(op, _)| !op.secured) {
        let Some(reaches) = sweep.get(&op.endpoint) else { continue };
        let method = &op.endpoint.method;
        let Some(anonymous) = answer_of(reaches, "anonymous", method) else { continue };
        if !ok(anonymous) || reads_as_refusal(&anonymous.response.body) {
            continue;
        }
        let request = ctx.request(method, &op.endpoint);
        let mut observation = Observation::confirmed(
            op.endpoint.clone(),
            format!(
                "{method} {} is administrative ({why}; {}), yet it answered HTTP {} to a caller without any \
                 credential, while the API refuses such callers elsewhere ({} {} answered HTTP {}): anyone can \
                 call it.",
                op.endpoint.path,
                defined_at(op),
                anonymous.response.status,
                control_op.endpoint.method,
                control_op.endpoint.path,
                control.response.status
            ),
            vec![
                ctx.evidence(anonymous, "No credential: served."),
                ctx.evidence(control, "Control: another operation refuses callers without one."),
            ],
            ctx.curl(&request),
        );
        // By its name and an anonymous answer: what it did was not read back.
        observation.confidence = Confidence::Firm;
        observation.component = Some("anonymous".into());
        reporter.observe(observation);
        reported += 1;
    }
    reported
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, path: &str) -> ScanOperation {
        ScanOperation::bare(method, path)
    }

    #[test]
    fn administrative_operations_are_named_by_path_tag_scope_or_id() {
        assert!(privileged(&op("GET", "/api/admin/users")).is_some());
        assert!(privileged(&op("GET", "/internal-tools/export")).is_some());
        assert!(privileged(&op("GET", "/api/users/{admin}")).is_none(), "a parameter name says nothing");
        assert!(privileged(&op("GET", "/api/badminton/courts")).is_none(), "whole words only");
        let mut tagged = op("GET", "/api/reports");
        tagged.described.tags = vec!["Admin reports".into()];
        assert!(privileged(&tagged).unwrap().contains("tagged"));
        let mut scoped = op("GET", "/api/reports");
        scoped.described.scopes = vec!["reports:manage".into()];
        assert!(privileged(&scoped).unwrap().contains("scope"));
        let mut named = op("GET", "/api/reports");
        named.described.operation_id = Some("adminListReports".into());
        assert!(privileged(&named).unwrap().contains("operationId"));
        named.described.operation_id = Some("listBadmintonCourts".into());
        assert!(privileged(&named).is_none());
    }

    #[test]
    fn camel_case_ids_split_into_words() {
        assert_eq!(camel_words("adminListUsers"), vec!["admin", "list", "users"]);
        assert_eq!(camel_words("get_admin-stats"), vec!["get", "admin", "stats"]);
    }
}

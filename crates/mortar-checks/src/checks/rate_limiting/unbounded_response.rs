//! `rate-limiting.unbounded-response`: list operations that hand out
//! everything at once (OWASP API4:2023, unrestricted resource consumption):
//! a GET whose answer holds at least 200 items while its description offers
//! no way to ask for a page, or an answer over mortar's 1 MiB body limit.
//! Read from the answers the scan already fetches; nothing else is sent.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::spec::{defined_at, described, no_description};
use mortar_model::{Category, CheckInfo, Observation, Profile, References, Remediation, Severity};
use serde_json::Value;
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "rate-limiting.unbounded-response",
        category: Category::RateLimiting,
        severity: Severity::Low,
        profile: Profile::Passive,
        title: "List answered without pagination or size limit",
        description: "Reads the answers of documented GET operations: one whose JSON answer holds 200 or more \
            items in one array while the operation documents no paging parameter (limit, page, per_page, offset, \
            cursor and the like) is reported, and so is any answer larger than mortar's 1 MiB body limit. Each \
            such call costs the server (and its database) in proportion to all the data there is.",
        remediation: Remediation {
            summary: "Page every list: a `limit` with a default and a maximum (e.g. 50 and 100) and a cursor or \
                offset, applied in the database query, and document them.",
            actix_web: "Take `web::Query<Page>` with `limit: Option<u32>` clamped to a maximum and a cursor, pass \
                them to `LIMIT $1` / `WHERE id > $2` in the query, and return the next cursor with the items.",
            axum: "Extract `Query<Page>` (`limit` clamped with `.min(100)`, default 50, plus a cursor), apply them in \
                the SQL (`LIMIT`, keyset `WHERE id > ?`), and answer with the items and the next cursor.",
        },
        references: References { owasp_api: &["API4:2023"], cwe: &["CWE-770", "CWE-400"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Items in one array from which a list without paging is reported.
const MANY_ITEMS: usize = 200;

/// Query parameter names (lower case, `_`/`-` removed) that page a list.
const PAGING: &[&str] = &[
    "limit",
    "page",
    "perpage",
    "pagesize",
    "size",
    "offset",
    "cursor",
    "after",
    "before",
    "first",
    "last",
    "top",
    "skip",
    "take",
    "max",
    "maxresults",
    "count",
    "pagetoken",
    "startingafter",
    "endingbefore",
    "from",
];

fn pages_itself(names: &[(String, Option<String>)]) -> bool {
    names.iter().any(|(n, _)| {
        let n: String = n.chars().filter(|c| !matches!(c, '_' | '-')).flat_map(char::to_lowercase).collect();
        PAGING.contains(&n.as_str())
    })
}

/// The length of the longest array in a JSON value (the list, or `{"items": [...]}`).
fn longest_array(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.len().max(items.iter().map(longest_array).max().unwrap_or(0)),
        Value::Object(map) => map.values().map(longest_array).max().unwrap_or(0),
        _ => 0,
    }
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !described(&ctx) {
        return no_description();
    }
    let mut read = 0;
    for op in ctx.operations.iter().filter(|o| o.endpoint.method == "GET") {
        let Ok(exchange) = ctx.baseline(CHECK.info.id, &op.endpoint).await else { continue };
        if !(200..300).contains(&exchange.response.status) {
            continue;
        }
        read += 1;
        let size = exchange.response.body.len();
        let why = if exchange.response.body_truncated {
            format!("its answer is larger than mortar's body limit ({size} bytes read, the rest not)")
        } else if pages_itself(&op.described.query_parameters) {
            continue;
        } else {
            let Ok(value) = serde_json::from_slice::<Value>(&exchange.response.body) else { continue };
            let items = longest_array(&value);
            if items < MANY_ITEMS {
                continue;
            }
            format!(
                "its answer holds {items} items in one list ({size} bytes) and the operation documents no paging \
                 parameter (limit, page, offset, cursor, ...)"
            )
        };
        let request = ctx.request("GET", &op.endpoint).identity(ctx.primary_identity());
        reporter.observe(Observation::confirmed(
            op.endpoint.clone(),
            format!("GET {} (defined at {}): {why}.", op.endpoint.path, defined_at(op)),
            vec![ctx.evidence(&exchange, "The whole list in one answer (the evidence keeps its start).")],
            ctx.curl(&request),
        ));
    }
    CheckVerdict::Ran(format!("{read} documented GET answer(s) read for their size"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paging_parameters_are_recognised_by_name() {
        assert!(pages_itself(&[("per_page".into(), None)]));
        assert!(pages_itself(&[("pageToken".into(), None)]));
        assert!(!pages_itself(&[("q".into(), None), ("sort".into(), None)]));
    }

    #[test]
    fn the_longest_list_counts_wherever_it_is() {
        assert_eq!(longest_array(&json!({"items": [1, 2, 3], "meta": {"tags": [1]}})), 3);
        assert_eq!(longest_array(&json!([[1, 2], [3]])), 2);
        assert_eq!(longest_array(&json!({"n": 1})), 0);
    }
}

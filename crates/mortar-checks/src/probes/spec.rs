//! The spec sweep helpers shared by the checks that compare the API description with what
//! the API does (they all judge the reachability sweep).

use crate::check::CheckVerdict;
use crate::context::{Reach, ScanContext, ScanOperation};
use mortar_engine::Exchange;
use std::sync::Arc;

/// The skip verdict when the scan has no API description.
pub(crate) fn no_description() -> CheckVerdict {
    CheckVerdict::Skipped("no API description (give --spec, or publish one the scan can discover)".into())
}

/// Whether the scan's operations come from a description.
pub(crate) fn described(ctx: &ScanContext) -> bool {
    ctx.operations.iter().any(|o| o.source.is_some())
}

/// The exchanges of a sweep entry that got a response.
pub(crate) fn answered(reaches: &[Reach]) -> impl Iterator<Item = (&Reach, &Arc<Exchange>)> {
    reaches.iter().filter_map(|r| r.result.as_ref().ok().map(|ex| (r, ex)))
}

/// `file:line` of an operation, for descriptions.
pub(crate) fn defined_at(op: &ScanOperation) -> String {
    match &op.source {
        Some((file, Some(line), _)) => format!("{file}:{line}"),
        Some((file, None, pointer)) => format!("{file}#{pointer}"),
        None => "the description".into(),
    }
}

/// The path prefix every documented operation shares (`/api` when all of
/// them start with `/api/...`): the API's own root, which a description
/// without `servers` leaves at `/`. Stops at parameters and version
/// segments (`v2`), which differ between operations of one API. `/` when
/// nothing is shared.
pub(crate) fn shared_prefix<'a>(templates: impl IntoIterator<Item = &'a str>) -> String {
    let mut shared: Option<Vec<&str>> = None;
    for template in templates {
        let mut segments: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
        // The last segment names the operation's resource, not a root.
        segments.pop();
        let segments: Vec<&str> = segments.into_iter().take_while(|s| !s.starts_with('{') && !is_version(s)).collect();
        shared = Some(match shared {
            None => segments,
            Some(prefix) => prefix.iter().zip(&segments).take_while(|(a, b)| a == b).map(|(a, _)| *a).collect(),
        });
    }
    format!("/{}", shared.unwrap_or_default().join("/"))
}

/// `v1`, `v2`, `v10`.
fn is_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The verdict after judging the sweep.
pub(crate) fn swept(ctx: &ScanContext, judged: usize) -> CheckVerdict {
    CheckVerdict::Ran(format!(
        "{judged} of {} documented operation(s) judged from the reachability sweep",
        ctx.operations.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_prefix_stops_at_parameters_versions_and_differences() {
        assert_eq!(shared_prefix(["/api/users", "/api/v2/users/login", "/api/articles/{slug}"]), "/api");
        assert_eq!(shared_prefix(["/v1/user/{id}", "/", "/v1/order"]), "/");
        assert_eq!(shared_prefix(["/shop/api/orders", "/shop/api/items/{id}"]), "/shop/api");
        assert_eq!(shared_prefix(["/{tenant}/orders"]), "/");
        assert_eq!(shared_prefix(Vec::<&str>::new()), "/");
        assert_eq!(shared_prefix(["/api/orders"]), "/api", "one operation's own segment is no root");
    }
}

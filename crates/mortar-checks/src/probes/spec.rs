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

/// The verdict after judging the sweep.
pub(crate) fn swept(ctx: &ScanContext, judged: usize) -> CheckVerdict {
    CheckVerdict::Ran(format!(
        "{judged} of {} documented operation(s) judged from the reachability sweep",
        ctx.operations.len()
    ))
}

//! The lab's scenarios. Each module serves one flaw in a `vulnerable` and a
//! `fixed` variant that differ only by that flaw; adding a scenario means one
//! module plus one line in [`ALL`].

use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

mod cors;
mod version_disclosure;

/// One scenario: its name and how to start one variant of it.
pub(crate) struct Scenario {
    /// The scenario name, as printed in `LabTarget::scenario`.
    pub name: &'static str,
    /// Starts (or schedules) the servers of one variant and describes the target.
    pub start: fn(&mut LabContext, Variant) -> Result<LabTarget, LabError>,
}

/// Every scenario, in the order their targets are listed.
pub(crate) const ALL: &[Scenario] = &[cors::SCENARIO, version_disclosure::SCENARIO];

//! What was and was not tested, and why.

use crate::Category;
use serde::{Deserialize, Serialize};

/// The outcome of running one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// It ran to the end; its verdict stands.
    Ran,
    /// It did not run (profile, selection, nothing to test).
    Skipped,
    /// It started but could not conclude (deadline, budget, target errors).
    Inconclusive,
}

/// Coverage of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckCoverage {
    /// Check id.
    pub check: String,
    /// Its category.
    pub category: Category,
    /// Ran, skipped or inconclusive.
    pub status: CheckStatus,
    /// Why it was skipped or inconclusive (or what it covered when it ran).
    pub reason: Option<String>,
    /// Requests it sent.
    pub requests: u64,
}

/// One operation an identity reached, with the statuses it saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationReach {
    /// Method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// Distinct status codes seen, ascending.
    pub statuses: Vec<u16>,
    /// The methods actually sent to it: its own, or OPTIONS when the profile
    /// does not allow its (unsafe) method.
    pub probed_with: Vec<String>,
}

/// What an identity was used for and what it reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityCoverage {
    /// Identity name (`anonymous` for requests without credentials).
    pub name: String,
    /// Whether the pre-flight request showed it is accepted.
    pub accepted: bool,
    /// What the pre-flight saw: status or transport error.
    pub preflight: String,
    /// Successful logins (1 + refreshes); 0 without a login recipe.
    pub logins: u64,
    /// The request after which the identity stopped working and could not
    /// be logged in again (later requests as it were not sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_after: Option<String>,
    /// Check ids that sent requests as this identity.
    pub used_by: Vec<String>,
    /// Operations that answered this identity.
    pub operations_reached: Vec<OperationReach>,
}

/// An operation of the API description that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedOperation {
    /// The description file (or URL) that defines it.
    pub file: String,
    /// JSON pointer to it.
    pub pointer: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// Why it was skipped.
    pub reason: String,
}

/// The coverage section of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Coverage {
    /// One entry per check in the registry.
    pub checks: Vec<CheckCoverage>,
    /// One entry per identity, `anonymous` included when used.
    pub identities: Vec<IdentityCoverage>,
    /// Operations of the API description that were left out, with the reason.
    #[serde(default)]
    pub skipped_operations: Vec<SkippedOperation>,
}

impl Coverage {
    /// Categories in which at least one check ran (even inconclusively): those get a score.
    pub fn tested_categories(&self) -> Vec<Category> {
        let mut cats: Vec<Category> =
            self.checks.iter().filter(|c| c.status != CheckStatus::Skipped).map(|c| c.category).collect();
        cats.sort();
        cats.dedup();
        cats
    }
}

//! A check's metadata: the data that drives `mortar checks`, reports and docs.

use crate::{Category, Severity};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How intrusive a scan may be. Ordered: each profile includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// GET, HEAD and OPTIONS to known paths, no attack payloads.
    Passive,
    /// Adds probes sent with safe methods only.
    Standard,
    /// Adds probes that change state if they succeed. Never the default.
    Active,
}

impl Profile {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Passive => "passive",
            Profile::Standard => "standard",
            Profile::Active => "active",
        }
    }

    /// Whether a check that needs `required` may run under this profile.
    pub fn permits(self, required: Profile) -> bool {
        required <= self
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A profile name that is not passive, standard or active.
#[derive(Debug, thiserror::Error)]
#[error("unknown profile `{0}` (expected passive, standard or active)")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "passive" => Ok(Profile::Passive),
            "standard" => Ok(Profile::Standard),
            "active" => Ok(Profile::Active),
            _ => Err(UnknownProfile(s.to_string())),
        }
    }
}

/// The web framework in front of mortar, for remediation written for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    /// actix-web (Rust).
    ActixWeb,
    /// axum (Rust).
    Axum,
    /// Not known: generic remediation.
    #[default]
    Unknown,
}

/// Standards a check maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct References {
    /// OWASP API Security Top 10 2023 ids, e.g. `API8:2023`.
    pub owasp_api: &'static [&'static str],
    /// CWE ids, e.g. `CWE-942`.
    pub cwe: &'static [&'static str],
}

/// How to fix what a check finds, generic and per framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remediation {
    /// One line, shown in the summary.
    pub summary: &'static str,
    /// The fix for an actix-web service.
    pub actix_web: &'static str,
    /// The fix for an axum service.
    pub axum: &'static str,
}

impl Remediation {
    /// The remediation text for a finding on a service built with `framework`.
    pub fn for_framework(&self, framework: Framework) -> String {
        match framework {
            Framework::ActixWeb => format!("{}\n\nactix-web: {}", self.summary, self.actix_web),
            Framework::Axum => format!("{}\n\naxum: {}", self.summary, self.axum),
            Framework::Unknown => format!("{}\n\nactix-web: {}\n\naxum: {}", self.summary, self.actix_web, self.axum),
        }
    }
}

/// Everything known about a check before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInfo {
    /// `<category>.<slug>`, stable once released.
    pub id: &'static str,
    /// The category it scores in.
    pub category: Category,
    /// Severity of its findings unless the check says otherwise.
    pub severity: Severity,
    /// The least intrusive profile that runs it.
    pub profile: Profile,
    /// One line for `mortar checks` and finding titles.
    pub title: &'static str,
    /// What it tests and how it proves it.
    pub description: &'static str,
    /// How to fix it.
    pub remediation: Remediation,
    /// OWASP API Top 10 and CWE.
    pub references: References,
}

impl CheckInfo {
    /// The slug after the category (`reflected-origin` in `misconfiguration.reflected-origin`).
    pub fn slug(&self) -> &'static str {
        self.id.split_once('.').map(|(_, slug)| slug).unwrap_or(self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_include_the_less_intrusive_ones() {
        assert!(Profile::Active.permits(Profile::Standard));
        assert!(Profile::Standard.permits(Profile::Passive));
        assert!(!Profile::Standard.permits(Profile::Active));
        assert!(!Profile::Passive.permits(Profile::Standard));
    }
}

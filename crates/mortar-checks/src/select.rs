//! Which checks run: profile, `--checks` and `--skip-checks` (ids, categories or globs).

use crate::check::Check;
use crate::registry::CHECKS;
use mortar_model::{CheckCoverage, CheckStatus, Profile};

/// What the user selected.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these (ids, categories or globs); empty means every check.
    pub checks: Vec<String>,
    /// Never these.
    pub skip: Vec<String>,
}

/// A pattern that matches no check.
#[derive(Debug, thiserror::Error)]
#[error("`{pattern}` given to {flag} matches no check id or category (see `mortar checks`)")]
pub struct SelectionError {
    /// The pattern.
    pub pattern: String,
    /// `--checks` or `--skip-checks`.
    pub flag: &'static str,
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn matches(pattern: &str, check: &Check) -> bool {
    glob(pattern, check.info.id) || glob(pattern, check.info.category.id())
}

/// Splits the registry into the checks to run and the skipped ones (with reasons).
pub fn plan(
    profile: Profile,
    selection: &Selection,
) -> Result<(Vec<&'static Check>, Vec<CheckCoverage>), SelectionError> {
    for (patterns, flag) in [(&selection.checks, "--checks"), (&selection.skip, "--skip-checks")] {
        if let Some(bad) = patterns.iter().find(|p| !CHECKS.iter().any(|c| matches(p, c))) {
            return Err(SelectionError { pattern: bad.clone(), flag });
        }
    }
    let mut run = Vec::new();
    let mut skipped = Vec::new();
    for &check in CHECKS {
        let reason = if !selection.checks.is_empty() && !selection.checks.iter().any(|p| matches(p, check)) {
            Some("not selected by --checks".to_string())
        } else if selection.skip.iter().any(|p| matches(p, check)) {
            Some("excluded by --skip-checks".to_string())
        } else if !profile.permits(check.info.profile) {
            Some(format!("needs the {} profile (this scan: {profile})", check.info.profile))
        } else {
            None
        };
        match reason {
            None => run.push(check),
            Some(reason) => skipped.push(CheckCoverage {
                check: check.info.id.to_string(),
                category: check.info.category,
                status: CheckStatus::Skipped,
                reason: Some(reason),
                requests: 0,
            }),
        }
    }
    Ok((run, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_categories_select() {
        assert!(glob("misconfiguration.*", "misconfiguration.cors-reflected-origin"));
        assert!(glob("*cors*", "misconfiguration.cors-reflected-origin"));
        assert!(!glob("inventory.*", "misconfiguration.cors-reflected-origin"));
        let sel = Selection { checks: vec!["inventory".into()], skip: vec![] };
        let (run, skipped) = plan(Profile::Standard, &sel).unwrap();
        assert!(run.iter().all(|c| c.info.category.id() == "inventory") && !run.is_empty());
        assert!(skipped.iter().all(|s| s.reason.as_deref() == Some("not selected by --checks")));
    }

    #[test]
    fn an_unknown_pattern_is_an_error() {
        let sel = Selection { checks: vec![], skip: vec!["nope.*".into()] };
        let err = plan(Profile::Standard, &sel).unwrap_err();
        assert_eq!(err.flag, "--skip-checks");
    }
}

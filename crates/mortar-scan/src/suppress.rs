//! Suppressions (`[[suppressions]]` in mortar.toml): accepted findings that
//! stay in the report, marked `suppressed`, and count for neither the score
//! nor the gates. Each one says why, and may expire.

use crate::error::InputError;
use mortar_model::{Finding, FindingStatus};
use serde::Deserialize;
use time::Date;

/// One `[[suppressions]]` table as written.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SuppressionConfig {
    /// A finding id (as in the JSON report).
    pub id: Option<String>,
    /// A check id, for every finding of it (or those under `path`).
    pub check: Option<String>,
    /// With `check`: a path template glob (`*` matches anything).
    pub path: Option<String>,
    /// Why the finding is accepted (required).
    pub reason: Option<String>,
    /// Last day (YYYY-MM-DD) the suppression applies; after it the finding counts again.
    pub expires: Option<String>,
}

/// A validated suppression.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppression {
    /// What it matches.
    pub matcher: Matcher,
    /// Why.
    pub reason: String,
    /// Last day it applies.
    pub expires: Option<Date>,
}

/// What a suppression matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// One finding by id.
    Id(String),
    /// The findings of a check, optionally only at paths matching a glob.
    Check { check: String, path: Option<String> },
}

/// Validates the tables: an `id`, or a `check` (with an optional `path`), and a reason.
pub fn parse(configs: &[SuppressionConfig]) -> Result<Vec<Suppression>, InputError> {
    configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let what = format!("suppressions[{i}]");
            let reason = c
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .ok_or_else(|| InputError::new(format!("{what}: `reason` is required (say why it is accepted)")))?
                .to_string();
            let matcher = match (&c.id, &c.check, &c.path) {
                (Some(id), None, None) => Matcher::Id(id.clone()),
                (None, Some(check), path) => Matcher::Check { check: check.clone(), path: path.clone() },
                _ => {
                    return Err(InputError::new(format!(
                        "{what}: give either `id`, or `check` with an optional `path`"
                    )));
                }
            };
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let expires = c
                .expires
                .as_deref()
                .map(|d| {
                    Date::parse(d, format)
                        .map_err(|_| InputError::new(format!("{what}: expires `{d}` is not a date like 2027-01-31")))
                })
                .transpose()?;
            Ok(Suppression { matcher, reason, expires })
        })
        .collect()
}

fn matches(s: &Suppression, f: &Finding) -> bool {
    match &s.matcher {
        Matcher::Id(id) => *id == f.id,
        Matcher::Check { check, path } => {
            *check == f.check
                && path.as_ref().is_none_or(|glob| {
                    let globs = [glob.clone()];
                    f.endpoint.as_ref().is_some_and(|e| mortar_checks::context::path_selected(&e.path, &globs, &[]))
                })
        }
    }
}

/// Marks suppressed findings; returns report notes (what was suppressed, and
/// expired suppressions that no longer apply).
pub fn apply(findings: &mut [Finding], suppressions: &[Suppression], today: Date) -> Vec<String> {
    let mut notes = Vec::new();
    for s in suppressions {
        let hits: Vec<&mut Finding> = findings.iter_mut().filter(|f| matches(s, f)).collect();
        let label = match &s.matcher {
            Matcher::Id(id) => format!("finding {id}"),
            Matcher::Check { check, path: Some(p) } => format!("{check} at {p}"),
            Matcher::Check { check, path: None } => check.clone(),
        };
        if let Some(expires) = s.expires
            && expires < today
        {
            if !hits.is_empty() {
                notes.push(format!(
                    "Suppression of {label} expired on {expires}; {} finding(s) count again ({}).",
                    hits.len(),
                    s.reason
                ));
            }
            continue;
        }
        let n = hits.len();
        for f in hits {
            f.status = FindingStatus::Suppressed;
        }
        if n > 0 {
            notes.push(format!("{n} finding(s) of {label} suppressed: {}", s.reason));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use mortar_model::finding::FindingReferences;
    use mortar_model::{Category, Confidence, Endpoint, Severity, finding_id};
    use time::macros::date;

    fn finding(check: &str, path: &str) -> Finding {
        let endpoint = Endpoint::new("GET", path);
        Finding {
            id: finding_id(check, Some(&endpoint), None),
            check: check.into(),
            category: Category::Misconfiguration,
            severity: Severity::Medium,
            confidence: Confidence::Firm,
            title: "t".into(),
            description: "d".into(),
            endpoint: Some(endpoint),
            affected: vec![],
            component: None,
            evidence: vec![],
            reproduce: "curl".into(),
            remediation: "r".into(),
            references: FindingReferences { owasp_api: vec![], cwe: vec![] },
            status: FindingStatus::New,
        }
    }

    fn config(id: Option<&str>, check: Option<&str>, path: Option<&str>, expires: Option<&str>) -> SuppressionConfig {
        SuppressionConfig {
            id: id.map(String::from),
            check: check.map(String::from),
            path: path.map(String::from),
            reason: Some("accepted by the API team".into()),
            expires: expires.map(String::from),
        }
    }

    #[test]
    fn by_id_by_check_and_path_and_expired() {
        let mut findings =
            vec![finding("a.one", "/api/x"), finding("a.two", "/api/admin/y"), finding("a.two", "/api/z")];
        let id = findings[0].id.clone();
        let rules = parse(&[
            config(Some(&id), None, None, Some("2027-01-01")),
            config(None, Some("a.two"), Some("/api/admin/*"), None),
            config(None, Some("a.two"), Some("/api/z"), Some("2026-01-01")),
        ])
        .unwrap();
        let notes = apply(&mut findings, &rules, date!(2026 - 11 - 22));
        let statuses: Vec<FindingStatus> = findings.iter().map(|f| f.status).collect();
        assert_eq!(statuses, [FindingStatus::Suppressed, FindingStatus::Suppressed, FindingStatus::New]);
        assert!(notes.iter().any(|n| n.contains("expired on 2026-01-01")), "{notes:?}");
        assert_eq!(notes.len(), 3, "{notes:?}");
    }

    #[test]
    fn invalid_tables_are_usage_errors() {
        let no_reason = SuppressionConfig { id: Some("x".into()), ..SuppressionConfig::default() };
        assert!(parse(&[no_reason]).unwrap_err().to_string().contains("reason"));
        assert!(parse(&[config(Some("x"), Some("c"), None, None)]).unwrap_err().to_string().contains("either"));
        assert!(parse(&[config(None, None, Some("/p"), None)]).is_err());
        assert!(parse(&[config(Some("x"), None, None, Some("31/01/2027"))]).unwrap_err().to_string().contains("date"));
    }
}

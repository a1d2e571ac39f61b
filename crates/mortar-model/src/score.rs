//! The scoring formula (documented in SCORING.md; keep the two in step).
//!
//! Each counted finding costs points: its severity's base (critical 40, high 20,
//! medium 8, low 3, info 0) times its confidence's weight (confirmed 4/4, firm
//! 3/4, tentative 2/4), rounded down. A category's score is 100 minus the cost
//! of its findings, floored at 0; a category in which no check ran has no
//! score. The total is 100 minus the cost of every counted finding, floored at
//! 0, then capped at 59 if any counted finding is critical and at 69 if any is
//! high. Adding a finding only adds cost or a cap, so no score can rise:
//! the formula is monotone.

use crate::{Category, Confidence, Finding, Severity};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A letter grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Grade {
    /// 90 and above.
    A,
    /// 80-89.
    B,
    /// 70-79.
    C,
    /// 60-69.
    D,
    /// Below 60.
    F,
}

impl Grade {
    /// The grade of a 0-100 score.
    pub fn of(score: u8) -> Grade {
        match score {
            90.. => Grade::A,
            80..=89 => Grade::B,
            70..=79 => Grade::C,
            60..=69 => Grade::D,
            _ => Grade::F,
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The cost of one finding in score points.
pub fn cost(severity: Severity, confidence: Confidence) -> u32 {
    let base = match severity {
        Severity::Critical => 40,
        Severity::High => 20,
        Severity::Medium => 8,
        Severity::Low => 3,
        Severity::Info => 0,
    };
    let weight = match confidence {
        Confidence::Confirmed => 4,
        Confidence::Firm => 3,
        Confidence::Tentative => 2,
    };
    base * weight / 4
}

/// Scores of a set of findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreCard {
    /// Total 0-100.
    pub total: u8,
    /// Per tested category, in [`Category::ALL`] order; `None` when untested.
    pub categories: Vec<(Category, Option<u8>)>,
}

/// Scores `findings` (only those the caller counts) given the categories that were tested.
pub fn score<'a>(findings: impl IntoIterator<Item = &'a Finding> + Clone, tested: &[Category]) -> ScoreCard {
    let points = |f: &&Finding| cost(f.severity, f.confidence);
    let spent: u32 = findings.clone().into_iter().map(|f| points(&f)).sum();
    let mut total = 100u32.saturating_sub(spent);
    for f in findings.clone() {
        match f.severity {
            Severity::Critical => total = total.min(59),
            Severity::High => total = total.min(69),
            _ => {}
        }
    }
    let categories = Category::ALL
        .into_iter()
        .map(|cat| {
            // A finding proves its category was tested, whatever coverage says.
            let in_cat: Vec<&Finding> = findings.clone().into_iter().filter(|f| f.category == cat).collect();
            let tested = tested.contains(&cat) || !in_cat.is_empty();
            let value = tested.then(|| {
                let spent: u32 = in_cat.iter().map(points).sum();
                100u32.saturating_sub(spent) as u8
            });
            (cat, value)
        })
        .collect();
    ScoreCard { total: total as u8, categories }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FindingStatus, finding::FindingReferences};

    fn finding(cat: Category, sev: Severity, conf: Confidence) -> Finding {
        Finding {
            id: "x".into(),
            check: format!("{}.x", cat.id()),
            category: cat,
            severity: sev,
            confidence: conf,
            title: String::new(),
            description: String::new(),
            endpoint: None,
            affected: vec![],
            component: None,
            evidence: vec![],
            reproduce: String::new(),
            remediation: String::new(),
            references: FindingReferences { owasp_api: vec![], cwe: vec![] },
            status: FindingStatus::New,
        }
    }

    #[test]
    fn grades_follow_the_contract() {
        assert_eq!(Grade::of(90), Grade::A);
        assert_eq!(Grade::of(89), Grade::B);
        assert_eq!(Grade::of(70), Grade::C);
        assert_eq!(Grade::of(60), Grade::D);
        assert_eq!(Grade::of(59), Grade::F);
    }

    #[test]
    fn caps_apply_for_critical_and_high() {
        let tested = [Category::Misconfiguration];
        let high = [finding(Category::Misconfiguration, Severity::High, Confidence::Tentative)];
        assert_eq!(score(&high, &tested).total, 69);
        let crit = [finding(Category::Misconfiguration, Severity::Critical, Confidence::Tentative)];
        assert_eq!(score(&crit, &tested).total, 59);
        let none: [Finding; 0] = [];
        assert_eq!(score(&none, &tested).total, 100);
    }

    #[test]
    fn untested_categories_have_no_score() {
        let none: [Finding; 0] = [];
        let card = score(&none, &[Category::Inventory]);
        for (cat, value) in card.categories {
            assert_eq!(value.is_some(), cat == Category::Inventory, "{cat}");
        }
    }

    /// Adding any finding to any set never raises the total or a category score.
    #[test]
    fn scoring_is_monotone() {
        let mut all = Vec::new();
        for cat in [Category::Misconfiguration, Category::Inventory, Category::Bola] {
            for sev in Severity::ALL {
                for conf in [Confidence::Confirmed, Confidence::Firm, Confidence::Tentative] {
                    all.push(finding(cat, sev, conf));
                }
            }
        }
        let tested = [Category::Misconfiguration, Category::Inventory];
        // Walk many growing prefixes of several permutations of the findings.
        for stride in [1usize, 7, 11, 13] {
            let mut set: Vec<Finding> = Vec::new();
            let mut prev = score(&set, &tested);
            for k in 0..all.len() {
                set.push(all[(k * stride) % all.len()].clone());
                let next = score(&set, &tested);
                assert!(next.total <= prev.total, "total rose adding {:?}", set.last());
                for ((_, a), (_, b)) in prev.categories.iter().zip(&next.categories) {
                    if let (Some(a), Some(b)) = (a, b) {
                        assert!(b <= a);
                    }
                }
                prev = next;
            }
        }
    }
}

//! Personal data in API responses: e-mail addresses, international phone
//! numbers, payment card numbers (Luhn-valid, known issuer prefixes) and US
//! social security numbers (only next to a word that names them).
//!
//! Precision choices: addresses at reserved documentation domains
//! (example.com/.net/.org, .example, .invalid, .localhost, .test) and
//! file-name lookalikes (`logo@2x.png`) are ignored; phone numbers are only
//! recognised in international form (`+` and 8-15 digits), since national
//! formats cannot be told from ids, amounts and timestamps.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::pages::{mask, masked_evidence, pages};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "data-exposure.pii",
        category: Category::DataExposure,
        severity: Severity::Medium,
        profile: Profile::Passive,
        title: "Personal data exposed in API responses",
        description: "Reads response bodies for personal data: e-mail addresses (documentation domains \
            ignored), international phone numbers, payment card numbers (Luhn-valid with a known issuer \
            prefix) and US social security numbers next to an 'ssn' or 'social security' label. Reports \
            counts per kind with masked samples: medium when card numbers or SSNs appear, low for contact \
            data alone, which may be intended (check who may read it).",
        remediation: Remediation {
            summary: "Return only the personal fields the caller needs and is allowed to see; mask card numbers \
                and national ids (last four digits at most).",
            actix_web: "Serialise per-audience response structs (`#[derive(Serialize)] struct PublicCustomer`) \
                instead of database rows, add `#[serde(skip_serializing)]` or a masking `serialize_with` to \
                sensitive fields, and check the caller's rights in the handler before including contact data.",
            axum: "Serialise per-audience response structs (`#[derive(Serialize)] struct PublicCustomer`) instead \
                of database rows, add `#[serde(skip_serializing)]` or a masking `serialize_with` to sensitive \
                fields, and check the caller's rights (extractor) before including contact data.",
        },
        references: References { owasp_api: &["API3:2023"], cwe: &["CWE-359", "CWE-200"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Kinds of personal data, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A payment card number.
    Card,
    /// A US social security number.
    Ssn,
    /// An e-mail address.
    Email,
    /// A phone number in international form.
    Phone,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Card => "card number",
            Kind::Ssn => "social security number",
            Kind::Email => "e-mail address",
            Kind::Phone => "phone number",
        }
    }
}

/// Domains reserved for documentation and tests (RFC 2606 / 6761).
fn reserved_domain(domain: &str) -> bool {
    let d = domain.to_ascii_lowercase();
    ["example.com", "example.net", "example.org"].iter().any(|r| d == *r || d.ends_with(&format!(".{r}")))
        || [".example", ".invalid", ".localhost", ".test"].iter().any(|t| d.ends_with(t))
}

const FILE_SUFFIXES: &[&str] = &["png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "json", "html", "ico"];

fn emails(text: &str, out: &mut Vec<(Kind, String)>) {
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices('@') {
        let local_ok = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
        let mut start = at;
        while start > 0 && local_ok(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || b".-".contains(&bytes[end])) {
            end += 1;
        }
        let local = text[start..at].trim_start_matches('.');
        let domain = text[at + 1..end].trim_end_matches(['.', '-']);
        let Some((_, tld)) = domain.rsplit_once('.') else { continue };
        let valid = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('-')
            && domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-'))
            && tld.len() >= 2
            && tld.bytes().all(|b| b.is_ascii_alphabetic())
            && !FILE_SUFFIXES.contains(&tld.to_ascii_lowercase().as_str())
            && !reserved_domain(domain);
        if valid {
            out.push((Kind::Email, format!("{local}@{domain}")));
        }
    }
}

/// `+` then 8-15 digits, optionally grouped by single spaces, dashes, dots or parentheses.
fn phones(text: &str, out: &mut Vec<(Kind, String)>) {
    let bytes = text.as_bytes();
    for (plus, _) in text.match_indices('+') {
        if plus > 0 && (bytes[plus - 1].is_ascii_alphanumeric() || bytes[plus - 1] == b'+') {
            continue;
        }
        let mut end = plus + 1;
        let mut digits = 0;
        let mut last_sep = false;
        while end < bytes.len() {
            let b = bytes[end];
            if b.is_ascii_digit() {
                digits += 1;
                last_sep = false;
            } else if b" -.()".contains(&b) && !last_sep && digits > 0 {
                last_sep = true;
            } else {
                break;
            }
            end += 1;
        }
        let mut value = text[plus..end].trim_end_matches([' ', '-', '.', '(']).to_string();
        if value.ends_with(')') && !value.contains('(') {
            value.pop();
        }
        let next_alnum = bytes.get(plus + value.len()).is_some_and(|b| b.is_ascii_alphanumeric());
        let first = value.as_bytes().get(1).copied().unwrap_or(b'0');
        if (8..=15).contains(&digits) && first != b'0' && !next_alnum {
            out.push((Kind::Phone, value));
        }
    }
}

/// Luhn checksum over ASCII digits.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    // `is_multiple_of` needs Rust 1.87; the workspace's rust-version is 1.85.
    #[allow(clippy::manual_is_multiple_of)]
    let valid = sum % 10 == 0;
    valid
}

/// Visa, Mastercard, American Express, Discover, JCB with their lengths.
fn issuer_prefix(d: &[u8]) -> bool {
    let n = |k: usize| std::str::from_utf8(&d[..k]).ok().and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    match d.len() {
        16 => {
            d[0] == b'4'
                || (51..=55).contains(&n(2))
                || (2221..=2720).contains(&n(4))
                || n(4) == 6011
                || n(2) == 65
                || (3528..=3589).contains(&n(4))
        }
        15 => n(2) == 34 || n(2) == 37,
        13 | 19 => d[0] == b'4',
        _ => false,
    }
}

fn cards(text: &str, out: &mut Vec<(Kind, String)>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        // Digits, optionally in groups separated by one space or dash (one separator kind).
        let mut end = i;
        let mut digits = Vec::new();
        let mut sep: Option<u8> = None;
        while end < bytes.len() {
            let b = bytes[end];
            if b.is_ascii_digit() {
                digits.push(b);
            } else if (b == b' ' || b == b'-')
                && sep.is_none_or(|s| s == b)
                && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
                && digits.len() >= 4
            {
                sep = Some(b);
            } else {
                break;
            }
            end += 1;
        }
        let next_ok = bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'.');
        let varied = digits.iter().any(|d| *d != digits[0]);
        if next_ok && varied && (13..=19).contains(&digits.len()) && issuer_prefix(&digits) && luhn(&digits) {
            out.push((Kind::Card, text[i..end].to_string()));
        }
        i = end.max(i + 1);
    }
}

fn ssns(text: &str, out: &mut Vec<(Kind, String)>) {
    let bytes = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    for i in 0..bytes.len().saturating_sub(10) {
        let w = &bytes[i..i + 11];
        let shape = w.iter().enumerate().all(|(k, b)| if k == 3 || k == 6 { *b == b'-' } else { b.is_ascii_digit() });
        if !shape
            || (i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'-'))
            || bytes.get(i + 11).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-')
        {
            continue;
        }
        let (area, group, serial) = (&w[0..3], &w[4..6], &w[7..11]);
        if area == b"000" || area == b"666" || area[0] == b'9' || group == b"00" || serial == b"0000" {
            continue;
        }
        let mut from = i.saturating_sub(40);
        while !lower.is_char_boundary(from) {
            from -= 1;
        }
        let before = &lower[from..i];
        if ["ssn", "social security", "social_security", "socialsecurity"].iter().any(|w| before.contains(w)) {
            out.push((Kind::Ssn, text[i..i + 11].to_string()));
        }
    }
}

/// Every piece of personal data in a text, without duplicates.
pub fn find_pii(text: &str) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    cards(text, &mut out);
    ssns(text, &mut out);
    emails(text, &mut out);
    phones(text, &mut out);
    let mut unique: Vec<(Kind, String)> = Vec::new();
    for f in out {
        if !unique.iter().any(|u| u.1 == f.1) {
            unique.push(f);
        }
    }
    unique.sort_by_key(|(k, _)| *k);
    unique
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let read = pages(&ctx, id).await;
    for page in &read.pages {
        let found = find_pii(&page.exchange.response.text());
        if found.is_empty() {
            continue;
        }
        let mut summary = Vec::new();
        for kind in [Kind::Card, Kind::Ssn, Kind::Email, Kind::Phone] {
            let values: Vec<&String> = found.iter().filter(|(k, _)| *k == kind).map(|(_, v)| v).collect();
            if let Some(first) = values.first() {
                summary.push(format!("{} x {} (e.g. {})", values.len(), kind.name(), mask(first)));
            }
        }
        let sensitive = found.iter().any(|(k, _)| matches!(k, Kind::Card | Kind::Ssn));
        let values: Vec<String> = found.iter().map(|(_, v)| v.clone()).collect();
        let request = ctx.request("GET", &page.endpoint).identity(ctx.primary_identity());
        reporter.observe(Observation {
            endpoint: Some(page.endpoint.clone()),
            component: None,
            severity: Some(if sensitive { Severity::Medium } else { Severity::Low }),
            confidence: if sensitive { Confidence::Firm } else { Confidence::Tentative },
            title: None,
            description: format!(
                "{} {} returns personal data: {}. Check that every caller who can read this response may see it.",
                page.endpoint.method,
                page.endpoint.path,
                summary.join(", ")
            ),
            evidence: vec![masked_evidence(
                &ctx,
                &page.exchange,
                "Personal data in this response is masked; the check saw it in full.",
                &values,
            )],
            reproduce: ctx.curl(&request),
        });
    }
    read.verdict("response bodies searched for personal data")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        find_pii(text)
    }

    #[test]
    fn finds_each_kind() {
        let text = r#"{"email":"alice.martin@northwind-mail.com","phone":"+44 20 7946 0958",
            "card":"4111 1111 1111 1111","ssn":"123-45-6789","amex":"378282246310005"}"#;
        let found = kinds(text);
        let names: Vec<Kind> = found.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, vec![Kind::Card, Kind::Card, Kind::Ssn, Kind::Email, Kind::Phone], "{found:?}");
        assert!(found.iter().any(|(_, v)| v == "+44 20 7946 0958"));
        assert!(found.iter().any(|(_, v)| v == "4111 1111 1111 1111"));
    }

    #[test]
    fn ignores_lookalikes() {
        let text = r#"{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","created":1700000000000,"ts":"2024-05-01T10:00:00+02:00",
            "order":4111111111111112,"zeros":"0000000000000000","amount":"12345678903","ref":"123-45-6789",
            "contact":"support@example.com","docs":"dev@api.example","img":"logo@2x.png","tz":"+0100",
            "sha":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","ver":"+1.2.3",
            "phone_local":"020 7946 0958","big":"+12","exp":"1e+10","luhn_but_no_issuer":"1234567812345670"}"#;
        assert!(kinds(text).is_empty(), "{:?}", kinds(text));
    }

    #[test]
    fn ssn_needs_a_label_and_valid_ranges() {
        assert_eq!(kinds(r#"{"ssn":"123-45-6789"}"#).len(), 1);
        assert_eq!(kinds("Social Security: 123-45-6789").len(), 1);
        assert!(kinds(r#"{"ssn":"000-45-6789","SSN2":"666-12-3456","x":"912-34-5678"}"#).is_empty());
        assert!(kinds(r#"{"part":"123-45-6789"}"#).is_empty());
    }

    #[test]
    fn luhn_works() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"79927398713"));
        assert!(!luhn(b"4111111111111112"));
    }
}

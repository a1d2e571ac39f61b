//! Secrets in text: cloud and SaaS keys by their published formats, PEM
//! private keys, and JWTs. Shared by `data-exposure.secrets-in-response` and
//! `property-authorization.excessive-exposure` (which leaves known formats
//! to the former).

use super::jwt::find_jwts;
use super::pages::tokens;

/// The kinds of secret, in report order.
pub const KINDS: &[&str] = &[
    "AWS access key id",
    "Stripe live key",
    "GitHub token",
    "Slack token",
    "Google API key",
    "private key (PEM)",
    "JWT",
];

/// Every secret in `text` as (kind, value). JWTs are included; the caller filters them.
pub fn find_secrets(text: &str) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let mut push = |kind: &'static str, v: &str| {
        if !out.iter().any(|(_, o)| o == v) {
            out.push((kind, v.to_string()));
        }
    };
    let upper_alnum = |s: &str| s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    for (_, t) in tokens(text, |c| c.is_ascii_alphanumeric()) {
        if t.len() == 20 && (t.starts_with("AKIA") || t.starts_with("ASIA")) && upper_alnum(t) {
            push("AWS access key id", t);
        }
    }
    for (_, t) in tokens(text, |c| c.is_ascii_alphanumeric() || c == '_') {
        let stripe = ["sk_live_", "rk_live_"].iter().find_map(|p| t.strip_prefix(p));
        if stripe.is_some_and(|rest| rest.len() >= 16 && alnum(rest)) {
            push("Stripe live key", t);
        }
        let github = ["ghp_", "gho_", "ghs_", "ghu_", "ghr_"].iter().find_map(|p| t.strip_prefix(p));
        if github.is_some_and(|rest| rest.len() == 36 && alnum(rest))
            || t.strip_prefix("github_pat_").is_some_and(|rest| rest.len() >= 22)
        {
            push("GitHub token", t);
        }
    }
    for (_, t) in tokens(text, |c| c.is_ascii_alphanumeric() || c == '-') {
        let b = t.as_bytes();
        if b.len() >= 15
            && t.starts_with("xox")
            && b"abporse".contains(&b[3])
            && b[4] == b'-'
            && t[5..].split('-').all(|p| !p.is_empty())
            && t[5..].bytes().any(|c| c.is_ascii_digit())
        {
            push("Slack token", t);
        }
    }
    for (_, t) in tokens(text, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        if t.len() == 39 && t.starts_with("AIza") {
            push("Google API key", t);
        }
    }
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let Some(header_end) = block[11..].find("-----").map(|i| i + 11) else { break };
        let label = &block[11..header_end];
        if label.ends_with("PRIVATE KEY") && label.len() < 40 {
            let end_marker = format!("-----END {label}-----");
            if let Some(end) = block.find(&end_marker) {
                push("private key (PEM)", &block[..end + end_marker.len()]);
                rest = &block[end + end_marker.len()..];
                continue;
            }
        }
        rest = &block[header_end..];
    }
    for jwt in find_jwts(text) {
        push("JWT", &jwt);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<&'static str> {
        find_secrets(text).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn finds_each_kind() {
        let gh = format!("ghp_{}", "a1B2".repeat(9));
        let text = format!(
            r#"{{"aws":"AKIAIOSFODNN7EXAMPLE","stripe":"sk_live_4eC39HqLyjWDarjtT1zdp7dc","gh":"{gh}",
            "slack":"xoxb-1234567890-abcdefghij","g":"AIzaSyA1234567890abcdefghijklmnopqrstuv",
            "pem":"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"}}"#
        );
        assert_eq!(
            kinds(&text),
            vec![
                "AWS access key id",
                "Stripe live key",
                "GitHub token",
                "Slack token",
                "Google API key",
                "private key (PEM)"
            ]
        );
    }

    #[test]
    fn ignores_lookalikes() {
        // Test keys, public keys, certificates, UUIDs, hashes, base64 blobs, ids.
        let text = r#"{"stripe":"sk_test_4eC39HqLyjWDarjtT1zdp7dc","pk":"pk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "cert":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "pub":"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
            "id":"0f8fad5b-d9cb-469f-a165-70867728950e","sha":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "blob":"AKIAAKIAAKIAAKIAAKIAAKIA","lower":"AKIAiosfodnn7example","b64":"eyJhIjoxfQ==",
            "gh":"ghp_short","slack":"xoxo-hello-world","name":"AIzawesome"}"#;
        assert!(kinds(text).is_empty(), "{:?}", kinds(text));
    }
}

//! Reproduce commands: curl lines with `$MORTAR_...` placeholders for secrets.

use mortar_engine::Request;

/// Non-secret facts a reproduce command may mention.
#[derive(Debug, Clone, Default)]
pub struct ReproduceContext {
    /// The CA file given with `--ca-cert`.
    pub ca_cert: Option<String>,
}

/// Quotes a word for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A curl command that sends the same request (identity secrets as placeholders).
pub fn curl(request: &Request, ctx: &ReproduceContext) -> String {
    let mut parts = vec!["curl".to_string(), "--path-as-is".into(), "-sS".into(), "-i".into()];
    match request.method.as_str() {
        "GET" => {}
        "HEAD" => parts.push("-I".into()),
        m => {
            parts.push("-X".into());
            parts.push(shell_quote(m));
        }
    }
    parts.push(shell_quote(&request.url()));
    for (name, value) in &request.headers {
        parts.push("-H".into());
        parts.push(shell_quote(&format!("{name}: {}", String::from_utf8_lossy(value))));
    }
    if let Some(identity) = &request.identity {
        for h in &identity.headers {
            if request.header_value(&h.name).is_none() {
                parts.push("-H".into());
                // Double quotes so the shell expands the placeholder.
                parts.push(format!("\"{}: ${}\"", h.name, identity.placeholder(&h.name)));
            }
        }
        if let Some(login) = &identity.login
            && request.header_value(&login.apply_header).is_none()
        {
            parts.push("-H".into());
            parts.push(format!("\"{}: ${}\"", login.apply_header, identity.placeholder(&login.apply_header)));
        }
        if identity.client_cert.is_some() {
            let base = identity.placeholder("CLIENT");
            parts.push(format!("--cert \"${base}_CERT\" --key \"${base}_KEY\""));
        }
    }
    if !request.body.is_empty() {
        parts.push("--data-binary".into());
        parts.push(shell_quote(&String::from_utf8_lossy(&request.body)));
    }
    if request.origin.https
        && let Some(ca) = &ctx.ca_cert
    {
        parts.push("--cacert".into());
        parts.push(shell_quote(ca));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use mortar_engine::Origin;
    use mortar_model::{Identity, IdentityHeader, Secret};
    use std::sync::Arc;

    #[test]
    fn secrets_become_placeholders_and_words_are_quoted() {
        let mut id = Identity::new("alice");
        id.headers.push(IdentityHeader { name: "Authorization".into(), value: Secret::new("Bearer s3cret") });
        let origin = Origin { https: true, host: "127.0.0.1".into(), port: 8443 };
        let req = Request::get(&origin, "/a b/../x?q='1'")
            .header("Origin", "https://evil.example")
            .identity(Some(Arc::new(id)));
        let line = curl(&req, &ReproduceContext { ca_cert: Some("/tmp/ca.pem".into()) });
        assert!(!line.contains("s3cret"));
        assert!(line.contains("\"Authorization: $MORTAR_ALICE_AUTHORIZATION\""), "{line}");
        assert!(line.contains("'https://127.0.0.1:8443/a b/../x?q='\\''1'\\'''"), "{line}");
        assert!(line.ends_with("--cacert /tmp/ca.pem"));
    }
}

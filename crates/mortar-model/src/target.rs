//! What is scanned.

/// The API under scan: its base URL split into the parts the engine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as the user gave it (normalised only by adding a trailing `/` path when none).
    pub url: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// Port, explicit or the scheme's default.
    pub port: u16,
    /// Base path, always starting with `/`.
    pub base_path: String,
}

/// Why a target URL was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    /// The scheme is missing or not http/https.
    #[error("`{0}` is not an http:// or https:// URL")]
    Scheme(String),
    /// No host after the scheme.
    #[error("`{0}` has no host")]
    NoHost(String),
    /// The port is not a number from 1 to 65535.
    #[error("`{0}` has an invalid port")]
    Port(String),
    /// User info in the URL would put credentials in reports.
    #[error("`{0}` carries credentials; pass them as an identity instead")]
    Credentials(String),
}

impl Target {
    /// Parses an absolute http(s) URL without normalising its path.
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| TargetError::Scheme(url.to_string()))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(TargetError::Scheme(url.to_string())),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(TargetError::Credentials(url.to_string()));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| TargetError::Port(url.to_string()))?;
        if host.is_empty() {
            return Err(TargetError::NoHost(url.to_string()));
        }
        let port = match port {
            Some(p) => p,
            None => default_port,
        };
        let path = path.split(['?', '#']).next().unwrap_or("");
        let base_path = if path.is_empty() { "/".to_string() } else { path.to_string() };
        Ok(Target {
            url: format!("{scheme}://{authority}{base_path}"),
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            base_path,
        })
    }

    /// Whether TLS is used.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// `host:port` as written in a Host header (IPv6 in brackets, default port omitted).
    pub fn authority(&self) -> String {
        format_authority(&self.scheme, &self.host, self.port)
    }

    /// Joins a path template under the base path: `/api/` + `users` gives `/api/users`.
    pub fn join(&self, path: &str) -> String {
        let base = self.base_path.trim_end_matches('/');
        let path = path.trim_start_matches('/');
        format!("{base}/{path}")
    }

    /// The absolute URL of a path on this target.
    pub fn url_for(&self, path_and_query: &str) -> String {
        format!("{}://{}{}", self.scheme, self.authority(), path_and_query)
    }
}

/// `host[:port]` for a Host header: brackets around IPv6, the default port left out.
pub fn format_authority(scheme: &str, host: &str, port: u16) -> String {
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    let default = matches!((scheme, port), ("http", 80) | ("https", 443));
    if default { host } else { format!("{host}:{port}") }
}

/// Splits `host[:port]` or `[v6][:port]`. `None` when the port is not a valid number.
pub fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let parse_port = |p: &str| p.parse::<u16>().ok().filter(|p| *p != 0);
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(p) => Some((host.to_string(), Some(parse_port(p)?))),
            None if after.is_empty() => Some((host.to_string(), None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, p)) => Some((host.to_string(), Some(parse_port(p)?))),
        None => Some((authority.to_string(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_the_path_verbatim() {
        let t = Target::parse("https://127.0.0.1:8443/api/./v1").unwrap();
        assert_eq!(t.host, "127.0.0.1");
        assert_eq!(t.port, 8443);
        assert_eq!(t.base_path, "/api/./v1");
        assert_eq!(t.join("users"), "/api/./v1/users");
        let t = Target::parse("http://[::1]").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.authority()), ("::1", 80, "[::1]".to_string()));
    }

    #[test]
    fn refuses_what_is_not_an_http_url() {
        assert!(matches!(Target::parse("not-a-url"), Err(TargetError::Scheme(_))));
        assert!(matches!(Target::parse("ftp://x"), Err(TargetError::Scheme(_))));
        assert!(matches!(Target::parse("http://:80/"), Err(TargetError::NoHost(_))));
        assert!(matches!(Target::parse("http://h:99999/"), Err(TargetError::Port(_))));
        assert!(matches!(Target::parse("http://u:p@h/"), Err(TargetError::Credentials(_))));
    }
}

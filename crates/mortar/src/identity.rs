//! Identities from flags and mortar.toml, with secret values read from
//! `@file` or `env:VAR` so they stay out of argv and shell history.

use crate::cli::ScanArgs;
use crate::config::{IdentityConfig, LoginConfig};
use crate::error::UsageError;
use mortar_model::{
    ClientCertificate, Identity, IdentityHeader, LoginRecipe, RecipeRequest, Role, Secret, SigningIdentity, TokenSource,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Reads a value that may be `@file`, `env:VAR`, or literal. Never puts the value in an error.
pub fn resolve_value(raw: &str, env: &BTreeMap<String, String>, what: &str) -> Result<Secret, UsageError> {
    if let Some(path) = raw.strip_prefix('@') {
        let bytes = std::fs::read(path).map_err(|e| UsageError::new(format!("{what}: cannot read {path}: {e}")))?;
        // Files written by editors end with a newline that is not part of the secret.
        let trimmed = bytes.strip_suffix(b"\r\n").or_else(|| bytes.strip_suffix(b"\n")).unwrap_or(&bytes);
        return Ok(Secret::new(trimmed.to_vec()));
    }
    if let Some(var) = raw.strip_prefix("env:") {
        let value =
            env.get(var).ok_or_else(|| UsageError::new(format!("{what}: environment variable {var} is not set")))?;
        return Ok(Secret::new(value.as_bytes().to_vec()));
    }
    Ok(Secret::new(raw.as_bytes().to_vec()))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn header_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses `HEADER:VALUE` (value resolved).
fn parse_header(spec: &str, env: &BTreeMap<String, String>, what: &str) -> Result<IdentityHeader, UsageError> {
    let (name, value) =
        spec.split_once(':').ok_or_else(|| UsageError::new(format!("{what}: expected HEADER:VALUE")))?;
    let name = name.trim();
    if !header_token(name) {
        return Err(UsageError::new(format!("{what}: `{name}` is not a valid header name")));
    }
    let value = resolve_value(value.trim_start(), env, what)?;
    if value.expose().iter().any(|b| *b == b'\r' || *b == b'\n') {
        return Err(UsageError::new(format!("{what}: the value of {name} contains a line break")));
    }
    Ok(IdentityHeader { name: name.to_string(), value })
}

fn read_cert(cert: &Path, key: &Path, what: &str) -> Result<ClientCertificate, UsageError> {
    let cert_chain_pem =
        std::fs::read(cert).map_err(|e| UsageError::new(format!("{what}: cannot read {}: {e}", cert.display())))?;
    let key_pem =
        std::fs::read(key).map_err(|e| UsageError::new(format!("{what}: cannot read {}: {e}", key.display())))?;
    Ok(ClientCertificate {
        cert_chain_pem,
        key_pem: Secret::new(key_pem),
        source: format!("{what} ({}, {})", cert.display(), key.display()),
    })
}

/// Parses `METHOD /path`.
fn recipe_request(text: &str, what: &str) -> Result<RecipeRequest, UsageError> {
    let (method, path) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| UsageError::new(format!("{what}: expected `METHOD /path`, got `{text}`")))?;
    let path = path.trim();
    if !path.starts_with('/') || !method.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(UsageError::new(format!("{what}: expected `METHOD /path`, got `{text}`")));
    }
    Ok(RecipeRequest { method: method.to_ascii_uppercase(), path: path.to_string() })
}

fn login_recipe(config: &LoginConfig, env: &BTreeMap<String, String>, what: &str) -> Result<LoginRecipe, UsageError> {
    let what = format!("{what}, login");
    let token = match (&config.token_json, &config.token_header, &config.token_cookie) {
        (Some(p), None, None) if p.starts_with('/') => TokenSource::JsonPointer(p.clone()),
        (Some(p), None, None) => {
            return Err(UsageError::new(format!(
                "{what}: token_json `{p}` must be a JSON pointer such as /access_token"
            )));
        }
        (None, Some(h), None) => TokenSource::Header(h.clone()),
        (None, None, Some(c)) => TokenSource::Cookie(c.clone()),
        _ => {
            return Err(UsageError::new(format!("{what}: give exactly one of token_json, token_header, token_cookie")));
        }
    };
    let mut headers = Vec::new();
    for (name, value) in config.headers.iter().flatten() {
        headers.push(parse_header(&format!("{name}:{value}"), env, &what)?);
    }
    let body = match &config.body {
        Some(raw) => resolve_value(raw, env, &what)?,
        None => Secret::new(Vec::new()),
    };
    let apply_header = config.header.clone().unwrap_or_else(|| "Authorization".into());
    if !header_token(&apply_header) {
        return Err(UsageError::new(format!("{what}: `{apply_header}` is not a valid header name")));
    }
    let apply_prefix = config.prefix.clone().unwrap_or_else(|| {
        if apply_header.eq_ignore_ascii_case("authorization") { "Bearer ".into() } else { String::new() }
    });
    Ok(LoginRecipe {
        request: recipe_request(&config.request, &what)?,
        headers,
        body,
        token,
        apply_header,
        apply_prefix,
        liveness: config.liveness.as_deref().map(|l| recipe_request(l, &format!("{what} liveness"))).transpose()?,
    })
}

/// Reads a `env:NAME` / `@PATH` signing secret reference from `env` or the file.
fn resolve_signing_secret(
    secret: &mortar_signing::SecretRef,
    env: &BTreeMap<String, String>,
) -> Result<mortar_signing::SigningSecret, mortar_signing::SigningError> {
    match secret {
        mortar_signing::SecretRef::Env(name) => match env.get(name) {
            Some(value) if !value.is_empty() => Ok(mortar_signing::SigningSecret::new(value.as_bytes().to_vec())),
            Some(_) => Err(mortar_signing::SigningError::SecretUnavailable {
                source_desc: secret.describe(),
                reason: "secret is empty".into(),
            }),
            None => Err(mortar_signing::SigningError::SecretUnavailable {
                source_desc: secret.describe(),
                reason: "variable is not set".into(),
            }),
        },
        other => other.resolve(),
    }
}

/// `[identities.NAME.signing]`: the scheme validated and the secret read now,
/// so that a bad table stops the scan before any request.
fn signing_identity(
    config: &mortar_signing::SigningConfig,
    env: &BTreeMap<String, String>,
    what: &str,
) -> Result<SigningIdentity, UsageError> {
    let fail = |e: mortar_signing::SigningError| UsageError::new(format!("{what}, signing: {e}"));
    let scheme = config.scheme(&mut |r| resolve_signing_secret(r, env)).map_err(fail)?;
    let Some(secret_ref) = &config.secret else {
        return Ok(SigningIdentity { scheme, signer: None, secret: None, source: "no secret given".into() });
    };
    let secret = resolve_signing_secret(secret_ref, env).map_err(fail)?;
    let signer = mortar_signing::Signer::new(scheme.clone(), &secret).map_err(fail)?;
    Ok(SigningIdentity {
        scheme,
        signer: Some(signer),
        secret: Some(Secret::new(secret.expose().to_vec())),
        source: secret_ref.describe(),
    })
}

/// Every identity of the scan: mortar.toml's, then flags' (a flag identity adds
/// to a file identity of the same name), in a stable order.
pub fn identities(
    args: &ScanArgs,
    file: Option<&BTreeMap<String, IdentityConfig>>,
    env: &BTreeMap<String, String>,
) -> Result<Vec<Arc<Identity>>, UsageError> {
    let mut by_name: BTreeMap<String, Identity> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut entry = |name: &str, by_name: &mut BTreeMap<String, Identity>| -> Result<(), UsageError> {
        if !valid_name(name) {
            return Err(UsageError::new(format!("identity name `{name}`: use letters, digits, - and _")));
        }
        if !by_name.contains_key(name) {
            by_name.insert(name.to_string(), Identity::new(name));
            order.push(name.to_string());
        }
        Ok(())
    };
    for (name, config) in file.into_iter().flatten() {
        entry(name, &mut by_name)?;
        let what = format!("identity `{name}` in the config");
        let id = by_name.get_mut(name).ok_or_else(|| UsageError::new("identity table"))?;
        if let Some(signing) = &config.signing {
            id.signing = Some(Arc::new(signing_identity(signing, env, &what)?));
        }
        if let Some(login) = &config.login {
            id.login = Some(login_recipe(login, env, &what)?);
        }
        for (header, value) in config.headers.iter().flatten() {
            id.headers.push(parse_header(&format!("{header}:{value}"), env, &what)?);
        }
        match (&config.cert, &config.key) {
            (Some(cert), Some(key)) => id.client_cert = Some(read_cert(cert, key, &what)?),
            (None, None) => {}
            _ => return Err(UsageError::new(format!("{what}: `cert` and `key` go together"))),
        }
        id.expendable = config.expendable.unwrap_or(false);
        id.revoked = config.revoked.unwrap_or(false);
        id.role = match config.role.as_deref() {
            None => None,
            Some("admin") => Some(Role::Admin),
            Some("user") => Some(Role::User),
            Some(other) => {
                return Err(UsageError::new(format!("{what}: role `{other}` is not `admin` or `user`")));
            }
        };
    }
    for spec in &args.identity {
        let (name, header) =
            spec.split_once('=').ok_or_else(|| UsageError::new("--identity: expected NAME=HEADER:VALUE"))?;
        entry(name, &mut by_name)?;
        let header = parse_header(header, env, &format!("--identity {name}"))?;
        if let Some(id) = by_name.get_mut(name) {
            id.headers.push(header);
        }
    }
    for spec in &args.identity_cert {
        let (name, files) =
            spec.split_once('=').ok_or_else(|| UsageError::new("--identity-cert: expected NAME=CERT.pem,KEY.pem"))?;
        let (cert, key) = files
            .split_once(',')
            .ok_or_else(|| UsageError::new(format!("--identity-cert {name}: expected CERT.pem,KEY.pem")))?;
        entry(name, &mut by_name)?;
        let cc = read_cert(Path::new(cert), Path::new(key), &format!("--identity-cert {name}"))?;
        if let Some(id) = by_name.get_mut(name) {
            id.client_cert = Some(cc);
        }
    }
    if !args.header.is_empty() || args.client_cert.is_some() {
        entry("default", &mut by_name)?;
    }
    for spec in &args.header {
        let header = parse_header(spec, env, "--header")?;
        if let Some(id) = by_name.get_mut("default") {
            id.headers.push(header);
        }
    }
    if let (Some(cert), Some(key)) = (&args.client_cert, &args.client_key) {
        let cc = read_cert(cert, key, "--client-cert")?;
        if let Some(id) = by_name.get_mut("default") {
            id.client_cert = Some(cc);
        }
    }
    Ok(order.into_iter().filter_map(|n| by_name.remove(&n)).map(Arc::new).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_from_files_and_environment_without_leaking() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, "Bearer from-file\n").unwrap();
        let env: BTreeMap<String, String> = [("TOK".to_string(), "from-env".to_string())].into();
        let args = ScanArgs {
            identity: vec![format!("alice=Authorization:@{}", file.display()), "bob=X-Api-Key:env:TOK".into()],
            header: vec!["X-Tenant: t1".into()],
            ..ScanArgs::default()
        };
        let ids = identities(&args, None, &env).unwrap();
        let names: Vec<&str> = ids.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "default"]);
        assert_eq!(ids[0].headers[0].value.expose(), b"Bearer from-file");
        assert_eq!(ids[1].headers[0].value.expose(), b"from-env");
        let missing = ScanArgs { identity: vec!["c=X-K:env:NOPE".into()], ..ScanArgs::default() };
        let err = identities(&missing, None, &env).unwrap_err().to_string();
        assert!(err.contains("NOPE") && !err.contains("from-env"));
    }

    #[test]
    fn login_recipes_parse_with_secret_bodies() {
        let env: BTreeMap<String, String> =
            [("PW_BODY".to_string(), r#"{"u":"d","password":"pw-1234"}"#.to_string())].into();
        let login = LoginConfig {
            request: "post /api/login".into(),
            body: Some("env:PW_BODY".into()),
            token_json: Some("/access_token".into()),
            liveness: Some("GET /api/me".into()),
            ..LoginConfig::default()
        };
        let config = IdentityConfig { login: Some(login.clone()), ..IdentityConfig::default() };
        let file: BTreeMap<String, IdentityConfig> = [("dave".to_string(), config)].into();
        let ids = identities(&ScanArgs::default(), Some(&file), &env).unwrap();
        let recipe = ids[0].login.as_ref().unwrap();
        assert_eq!((recipe.request.method.as_str(), recipe.apply_prefix.as_str()), ("POST", "Bearer "));
        assert_eq!(recipe.body.expose(), br#"{"u":"d","password":"pw-1234"}"#);
        let two = LoginConfig { token_header: Some("X-T".into()), ..login };
        let config = IdentityConfig { login: Some(two), ..IdentityConfig::default() };
        let file: BTreeMap<String, IdentityConfig> = [("dave".to_string(), config)].into();
        let err = identities(&ScanArgs::default(), Some(&file), &env).unwrap_err().to_string();
        assert!(err.contains("exactly one"), "{err}");
    }

    #[test]
    fn signing_tables_build_a_signer_and_never_echo_the_secret() {
        let env: BTreeMap<String, String> = [("HMAC_KEY".to_string(), "k3y-material-9f1c".to_string())].into();
        let parse = |text: &str| -> Result<Vec<Arc<Identity>>, String> {
            let table: BTreeMap<String, IdentityConfig> = toml::from_str(text).map_err(|e| e.to_string())?;
            identities(&ScanArgs::default(), Some(&table), &env).map_err(|e| e.to_string())
        };
        let ids = parse("[svc.signing]\nsecret = \"env:HMAC_KEY\"\npreset = \"github\"\n").unwrap();
        let signing = ids[0].signing.as_ref().expect("signing identity");
        assert_eq!(signing.secret.as_ref().map(|s| s.expose()), Some(&b"k3y-material-9f1c"[..]));
        assert!(!format!("{:?}", ids[0]).contains("k3y-material"));
        // A literal secret is refused without being repeated.
        let err = parse("[svc.signing]\nsecret = \"k3y-material-9f1c\"\npreset = \"github\"\n").unwrap_err();
        assert!(err.contains("literal secrets are not accepted") && !err.contains("k3y"), "{err}");
        let err = parse("[svc.signing]\nsecret = \"env:MISSING\"\npreset = \"github\"\n").unwrap_err();
        assert!(err.contains("env:MISSING") && err.contains("not set"), "{err}");
        let err = parse("[svc.signing]\nsecret = \"env:HMAC_KEY\"\n").unwrap_err();
        assert!(err.contains("preset"), "{err}");
    }
}

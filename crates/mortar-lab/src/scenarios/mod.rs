//! The lab's scenarios. Each module serves one flaw in a `vulnerable` and a
//! `fixed` variant that differ only by that flaw; adding a scenario means one
//! module plus one line in [`ALL`].

use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};
use serde_json::Value;
use std::net::SocketAddr;

mod account_hazards;
mod api_200;
mod bfla_admin;
mod bola_documents;
mod bola_invoices;
mod certificate;
mod command_injection;
mod cookie_flags;
mod cors;
mod cors_bypass;
mod dangerous_methods;
mod debug_endpoints;
mod documented_credentials;
mod hsts;
mod jwt_guessable_key;
mod jwt_weak;
mod legacy_sign_in;
mod llm_chat;
mod login_throttle;
mod member_accounts;
mod mtls;
mod mtls_path_identity;
mod nosql_injection;
mod open_admin;
mod open_redirect;
mod path_traversal;
mod pii_exposure;
mod plaintext_http;
mod properties;
mod race_coupon;
mod race_first_request;
mod race_signed;
mod secrets_exposure;
mod security_headers;
mod signing;
mod signup_mass_assignment;
mod spec_exposure;
mod spec_inventory;
mod sql_injection;
mod ssrf;
mod stack_trace;
mod template_injection;
mod tls_early_data;
mod token_auth;
mod unbounded_list;
mod unversioned_api;
mod user_enumeration;
mod version_disclosure;

/// One scenario: its name and how to start one variant of it.
pub(crate) struct Scenario {
    /// The scenario name, as printed in `LabTarget::scenario`.
    pub name: &'static str,
    /// Starts (or schedules) the servers of one variant and describes the target.
    pub start: fn(&mut LabContext, Variant) -> Result<LabTarget, LabError>,
}

/// Every scenario, in the order their targets are listed.
pub(crate) const ALL: &[Scenario] = &[
    cors::SCENARIO,
    version_disclosure::SCENARIO,
    cors_bypass::SCENARIO,
    dangerous_methods::SCENARIO,
    debug_endpoints::SCENARIO,
    security_headers::SCENARIO,
    hsts::SCENARIO,
    cookie_flags::SCENARIO,
    plaintext_http::SCENARIO,
    certificate::SELF_SIGNED,
    certificate::EXPIRED,
    certificate::NAME_MISMATCH,
    spec_exposure::SCENARIO,
    stack_trace::SCENARIO,
    secrets_exposure::SCENARIO,
    pii_exposure::SCENARIO,
    jwt_weak::SCENARIO,
    jwt_guessable_key::SCENARIO,
    spec_inventory::SCENARIO,
    unversioned_api::SCENARIO,
    mtls::OPTIONAL,
    mtls::ANY_CERT,
    mtls::EXPIRY,
    mtls::REVOCATION,
    mtls::FORWARDED,
    mtls_path_identity::SCENARIO,
    tls_early_data::SCENARIO,
    signing::BODY_ONLY,
    signing::REPLAY,
    signing::ANY_TIMESTAMP,
    signing::EMPTY_SECRET,
    signing::PREFIX_COMPARE,
    signing::BODY_ONLY_SAMPLE,
    signing::REPLAY_SAMPLE,
    signing::ANY_TIMESTAMP_SAMPLE,
    signing::EMPTY_SECRET_SAMPLE,
    signing::PREFIX_COMPARE_SAMPLE,
    race_coupon::SCENARIO,
    race_coupon::FROM_SPEC,
    race_first_request::SCENARIO,
    race_signed::RESERVE,
    race_signed::ORDERS,
    race_signed::TRANSFER,
    bola_invoices::SCENARIO,
    token_auth::JWT,
    token_auth::OPAQUE,
    properties::EXPOSURE,
    properties::MASS_ASSIGNMENT,
    documented_credentials::SCENARIO,
    bfla_admin::SCENARIO,
    bfla_admin::AXUM,
    ssrf::PREVIEW,
    ssrf::WEBHOOK,
    login_throttle::SCENARIO,
    llm_chat::SCENARIO,
    llm_chat::AXUM,
    api_200::SCENARIO,
    bola_documents::SCENARIO,
    account_hazards::SCENARIO,
    unbounded_list::SCENARIO,
    sql_injection::SCENARIO,
    user_enumeration::SCENARIO,
    command_injection::SCENARIO,
    template_injection::SCENARIO,
    path_traversal::SCENARIO,
    open_redirect::SCENARIO,
    signup_mass_assignment::SCENARIO,
    nosql_injection::SCENARIO,
    legacy_sign_in::SCENARIO,
    member_accounts::SCENARIO,
    open_admin::SCENARIO,
];

/// A target scanned with its API description: served over TLS at `addr`
/// (the description's servers say where the paths live), with `scan_args`
/// and `expected` as the scenario sets them.
pub(crate) fn spec_target(
    name: &str,
    variant: Variant,
    addr: SocketAddr,
    spec_path: &std::path::Path,
    scan_args: Vec<String>,
    expected: Vec<Expected>,
) -> LabTarget {
    LabTarget {
        scenario: name.to_owned(),
        variant,
        url: format!("https://{addr}/"),
        spec: Some(spec_path.display().to_string()),
        scan_args,
        expected,
        allowed: Vec::new(),
    }
}

/// An OpenAPI 3.0 description of a bearer-protected API under `/api/v1`.
pub(crate) fn bearer_api_description(title: &str, paths: Value) -> Value {
    serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    })
}

/// `checks` expected on the vulnerable variant, nothing on the fixed one.
pub(crate) fn vulnerable_expects(variant: Variant, checks: &[&str]) -> Vec<Expected> {
    match variant {
        Variant::Vulnerable => checks.iter().map(|c| Expected::Check((*c).to_owned())).collect(),
        Variant::Fixed => Vec::new(),
    }
}

/// `check` expected at `method path` on the vulnerable variant, nothing on the fixed one.
pub(crate) fn vulnerable_expects_at(variant: Variant, check: &str, method: &str, path: &str) -> Vec<Expected> {
    match variant {
        Variant::Vulnerable => {
            vec![Expected::At { check: check.to_owned(), method: method.to_owned(), path: path.to_owned() }]
        }
        Variant::Fixed => Vec::new(),
    }
}

/// Each `(check, method, path)` expected on the vulnerable variant, nothing on the fixed one.
pub(crate) fn vulnerable_expects_each(variant: Variant, at: &[(&str, &str, &str)]) -> Vec<Expected> {
    match variant {
        Variant::Vulnerable => at
            .iter()
            .map(|(check, method, path)| Expected::At {
                check: (*check).to_owned(),
                method: (*method).to_owned(),
                path: (*path).to_owned(),
            })
            .collect(),
        Variant::Fixed => Vec::new(),
    }
}

/// For a target scanned with an API description and one customer, `alice`:
/// writes the description and her `Authorization` value to files and returns
/// the scan arguments naming both, and the description's path.
pub(crate) fn bearer_spec_args(
    ctx: &mut LabContext,
    name: &str,
    variant: Variant,
    spec: &Value,
    authorization: &str,
) -> Result<(Vec<String>, std::path::PathBuf), LabError> {
    let mut args = ctx.ca_args();
    identity_arg(ctx, name, variant, "alice", authorization, &mut args)?;
    let spec_path = ctx.dir().join(format!("{name}-{variant}.openapi.json"));
    crate::write_private_file(&spec_path, serde_json::to_string_pretty(spec).unwrap_or_default().as_bytes())?;
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    Ok((args, spec_path))
}

/// Writes `who`'s `Authorization` value to a private file and adds
/// `--identity WHO=Authorization:@FILE` to `args`: secrets travel as paths.
fn identity_arg(
    ctx: &LabContext,
    name: &str,
    variant: Variant,
    who: &str,
    authorization: &str,
    args: &mut Vec<String>,
) -> Result<(), LabError> {
    let path = ctx.dir().join(format!("{name}-{variant}-{who}.identity"));
    crate::write_private_file(&path, authorization.as_bytes())?;
    args.extend(["--identity".to_owned(), format!("{who}=Authorization:@{}", path.display())]);
    Ok(())
}

/// A random bearer token for each customer, added to `args` as an identity;
/// returns (Authorization value, customer) for the server to check.
pub(crate) fn customer_tokens(
    ctx: &LabContext,
    name: &str,
    variant: Variant,
    customers: &[&'static str],
    args: &mut Vec<String>,
) -> Result<Vec<(String, &'static str)>, LabError> {
    let mut tokens = Vec::new();
    for customer in customers {
        let authorization = format!("Bearer {}", crate::tls::random_hex(16)?);
        identity_arg(ctx, name, variant, customer, &authorization, args)?;
        tokens.push((authorization, *customer));
    }
    Ok(tokens)
}

/// Writes a mortar.toml that selects the active profile and adds `--config FILE` to `args`.
pub(crate) fn active_profile_args(
    ctx: &LabContext,
    name: &str,
    variant: Variant,
    args: &mut Vec<String>,
) -> Result<(), LabError> {
    let config_path = ctx.dir().join(format!("{name}-{variant}.toml"));
    crate::write_file(&config_path, b"profile = \"active\"\n", 0o644)?;
    args.extend(["--config".to_owned(), config_path.display().to_string()]);
    Ok(())
}

/// The usual target: served over TLS at `addr` under `/api/`, scanned with
/// only the lab CA, and `check` expected on the vulnerable variant alone.
pub(crate) fn api_target(ctx: &LabContext, name: &str, variant: Variant, addr: SocketAddr, check: &str) -> LabTarget {
    LabTarget {
        scenario: name.to_owned(),
        variant,
        url: format!("https://{addr}/api/"),
        spec: None,
        scan_args: ctx.ca_args(),
        expected: match variant {
            Variant::Vulnerable => vec![Expected::Check(check.to_owned())],
            Variant::Fixed => Vec::new(),
        },
        allowed: Vec::new(),
    }
}

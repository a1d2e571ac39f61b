//! The checks: one directory per category and one file per check, named
//! after its id (`<category>.<slug>` is `checks/<category>/<slug>.rs`, `-` as
//! `_`); each file exports `pub static CHECK: Check`. Checks import only
//! [`crate::check`], [`crate::context`] and [`crate::probes`], never another
//! check (the registry tests hold them to both).

pub mod authentication;
pub mod bfla;
pub mod bola;
pub mod data_exposure;
pub mod encryption;
pub mod input_validation;
pub mod inventory;
pub mod llm;
pub mod misconfiguration;
pub mod mtls;
pub mod property_authorization;
pub mod race_condition;
pub mod rate_limiting;
pub mod request_signing;
pub mod ssrf;
pub mod unsafe_consumption;

/// The certificate facts at the path crates/mortar's `tls-audit` uses.
pub use encryption::certificate;

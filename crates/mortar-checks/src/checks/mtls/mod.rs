//! `mtls.*`: one module per check, named after its id.

pub mod cert_identity_not_enforced;
pub mod forged_client_cert;
pub mod optional_client_auth;
pub mod proxy_header_trust;
pub mod revoked_cert_accepted;

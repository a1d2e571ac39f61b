//! `encryption.*`: one module per check, named after its id.

pub mod certificate;
pub mod cookie_flags;
pub mod early_data;
pub mod hsts;
pub mod plaintext_http;
pub mod weak_tls;

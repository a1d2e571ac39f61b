//! `misconfiguration.*`: one module per check, named after its id.

pub mod cors_origin_bypass;
pub mod cors_reflected_origin;
pub mod dangerous_methods;
pub mod debug_endpoints;
pub mod security_headers;

//! `request-signing.*`: one module per check, named after its id.

pub mod algorithm_downgrade;
pub mod replay;
pub mod signature_bypass;
pub mod stale_timestamp;
pub mod unsigned_component;
pub mod weak_secret;

//! `request-signing.*`: judged from the probe session the six
//! `request-signing.*` checks share (`probes::request_signing`).
pub mod algorithm_downgrade;
pub mod replay;
pub mod signature_bypass;
pub mod stale_timestamp;
pub mod unsigned_component;
pub mod weak_secret;

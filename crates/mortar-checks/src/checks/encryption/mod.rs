//! `encryption.*`: one module per check.

pub mod early_data;
pub mod weak_tls;

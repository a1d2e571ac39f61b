//! `bola.*`: one module per check.

pub mod cross_identity_read;
pub mod cross_identity_write;

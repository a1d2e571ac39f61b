//! `bola.*`: one module per check, named after its id.

pub mod cross_identity_read;
pub mod cross_identity_write;

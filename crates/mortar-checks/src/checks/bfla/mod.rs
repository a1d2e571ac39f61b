//! `bfla.*`: one module per check, named after its id.

pub mod privileged_operation;

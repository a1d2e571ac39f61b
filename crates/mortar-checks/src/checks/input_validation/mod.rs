//! `input-validation.*`: one module per check, named after its id.

pub mod sql_injection;

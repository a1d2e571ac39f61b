//! `input-validation.*`: one module per check, named after its id.

pub mod command_injection;
pub mod nosql_injection;
pub mod open_redirect;
pub mod path_traversal;
pub mod sql_injection;
pub mod template_injection;

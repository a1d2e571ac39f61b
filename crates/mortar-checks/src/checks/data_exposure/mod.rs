//! `data-exposure.*`: one module per check, named after its id.

pub mod password_in_response;
pub mod pii;
pub mod secrets_in_response;
pub mod stack_trace;

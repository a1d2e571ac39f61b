//! `rate-limiting.*`: one module per check, named after its id.

pub mod sensitive_operation_unlimited;
pub mod unbounded_response;

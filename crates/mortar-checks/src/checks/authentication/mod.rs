//! `authentication.*`: one module per check, named after its id.

pub mod forged_token_accepted;
pub mod jwt_weaknesses;
pub mod security_not_enforced;
pub mod user_enumeration;
pub mod weak_password_policy;

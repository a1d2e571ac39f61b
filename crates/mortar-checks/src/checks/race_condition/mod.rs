//! `race-condition.*`: one module per check, named after its id.

pub mod limit_overrun;
pub mod toctou;

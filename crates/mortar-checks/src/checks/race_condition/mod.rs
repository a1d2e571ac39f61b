//! `race-condition.*`: one module per check.

pub mod limit_overrun;
pub mod toctou;

//! `ssrf.*`: one module per check.

pub mod canary_fetch;

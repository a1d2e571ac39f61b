//! `ssrf.*`: one module per check, named after its id.

pub mod canary_fetch;

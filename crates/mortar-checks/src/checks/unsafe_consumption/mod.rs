//! `unsafe-consumption.*`: one module per check, named after its id.

pub mod redirect_followed;

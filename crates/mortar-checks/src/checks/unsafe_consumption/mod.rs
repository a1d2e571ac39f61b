//! `unsafe-consumption.*`: one module per check.

pub mod redirect_followed;

//! `property-authorization.*`: one module per check.

pub mod excessive_exposure;
pub mod mass_assignment;

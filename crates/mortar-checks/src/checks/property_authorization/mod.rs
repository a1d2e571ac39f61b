//! `property-authorization.*`: one module per check, named after its id.

pub mod excessive_exposure;
pub mod mass_assignment;

//! `inventory.*`: one module per check, named after its id.

pub mod deprecated_operation_live;
pub mod documented_operation_missing;
pub mod framework_fingerprint;
pub mod spec_exposed;
pub mod undocumented_endpoints;
pub mod unversioned_api;
pub mod version_disclosure;

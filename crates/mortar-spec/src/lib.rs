//! OpenAPI ingestion for mortar: Swagger 2.0, OpenAPI 3.0 and 3.1 in JSON or
//! YAML, loaded with `$ref` resolution into mortar's own [`Api`] model, plus
//! value and request synthesis for every operation.
//!
//! ```no_run
//! let api = mortar_spec::load_file("openapi.yaml")?;
//! for op in &api.operations {
//!     let req = mortar_spec::build_request(&api, op, &mortar_spec::RequestOptions::default());
//!     println!("{} {}", req.method, req.path_and_query);
//! }
//! # Ok::<(), mortar_spec::SpecError>(())
//! ```
//!
//! Nothing here touches the network: external refs go through a [`RefSource`]
//! ([`FsRefSource`] for files); the caller fetches URLs.

#![warn(missing_docs)]

mod build;
mod doc;
pub mod error;
pub mod model;
mod refs;
pub mod request;
mod schema;
mod servers;
pub mod synth;
pub mod testgen;

pub use error::{ErrorKind, Problem, SpecError};
pub use model::*;
pub use refs::{FsRefSource, NoRefSource, RefSource};
pub use request::{ConcreteRequest, RequestOptions, build_request};
pub use servers::{ResolvedTarget, Server, ServerChoice, choose_server, paths_begin_with, resolve_target, target_for};
pub use synth::{KnownValues, SynthOptions, Synthesized, synthesize};

use std::path::Path;

/// Bounds that keep hostile specs from exhausting time or memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest single document, in bytes.
    pub max_document_bytes: usize,
    /// Largest sum of all documents of one load, in bytes.
    pub max_total_bytes: usize,
    /// Most documents one load may pull in through refs.
    pub max_documents: usize,
    /// Most YAML nodes one document may expand to, aliases included (billion laughs).
    pub max_yaml_nodes: usize,
    /// Deepest YAML nesting.
    pub max_depth: usize,
    /// Most nodes one inlined schema may expand to through refs (reference bombs).
    pub max_expanded_nodes: usize,
    /// Deepest schema nesting counted through refs, and longest ref chain.
    pub max_ref_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 32 << 20,
            max_total_bytes: 64 << 20,
            max_documents: 256,
            max_yaml_nodes: 2_000_000,
            max_depth: 128,
            max_expanded_nodes: 200_000,
            max_ref_depth: 64,
        }
    }
}

/// Loads a spec from a file, following relative file refs.
pub fn load_file(path: impl AsRef<Path>) -> Result<Api, SpecError> {
    let path = path.as_ref();
    let label = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| SpecError::new(ErrorKind::Io, &label, "", None, format!("cannot read: {e}")))?;
    load_bytes(&bytes, &label, &FsRefSource::new())
}

/// Loads a spec from bytes already read or fetched. `base` is the file path or
/// URL the bytes came from: relative refs resolve against it, and messages
/// name it (relative servers resolve against the scan target, see
/// [`resolve_target`]). External documents come from `resolver`.
pub fn load_bytes(bytes: &[u8], base: &str, resolver: &dyn RefSource) -> Result<Api, SpecError> {
    load_bytes_with(bytes, base, resolver, &Limits::default())
}

/// [`load_bytes`] with explicit [`Limits`].
pub fn load_bytes_with(bytes: &[u8], base: &str, resolver: &dyn RefSource, limits: &Limits) -> Result<Api, SpecError> {
    let mut store = refs::Store::new(resolver, limits.clone());
    store.add_root(bytes, base)?;
    build::Builder::run(&mut store)
}

//! One integration-test binary for mortar-signing: published vectors,
//! differential tests against reference implementations, and behaviour.

mod behaviour;
mod differential;
mod support;
mod vectors;

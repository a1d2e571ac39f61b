//! The machinery checks share: probe sessions several checks judge, page
//! fetching and masking, JSON, JWT and secret parsing, the spec sweep,
//! write/read-back, TLS and mTLS handshakes, the canary and the client CA.
//! Checks import from here, from [`crate::check`] and [`crate::context`],
//! never from one another.

pub mod canary;
pub mod issuer;
pub(crate) mod mtls;
pub(crate) mod tls;
pub(crate) mod tls_hello;
pub(crate) mod x509;

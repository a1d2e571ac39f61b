//! Per-operation and sweep state: what the scan knows of each operation, and
//! what each identity got from it in the reachability sweep.

use mortar_engine::Exchange;
use mortar_model::Endpoint;
use std::sync::Arc;

/// An operation the scan can call: its template for reports, and a concrete
/// request built from the API description (or the bare path without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOperation {
    /// Method and path template, as reported.
    pub endpoint: Endpoint,
    /// Concrete path and query to send.
    pub target: String,
    /// Headers the operation needs (synthesized header parameters, content type).
    pub headers: Vec<(String, Vec<u8>)>,
    /// A synthesized body, for methods that carry one.
    pub body: Option<Vec<u8>>,
    /// The description marks it deprecated.
    pub deprecated: bool,
    /// The description requires credentials for it.
    pub secured: bool,
    /// Where the description defines it: `file:line` and JSON pointer.
    pub source: Option<(String, Option<u32>, String)>,
    /// What the description says about it beyond the request (empty without one).
    pub described: Described,
}

/// An operation's description, as the access-control checks read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Described {
    /// `operationId`.
    pub operation_id: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Every OAuth scope any of its security requirements names.
    pub scopes: Vec<String>,
    /// The JSON schema of its first 2xx JSON response (refs inlined).
    pub response_schema: Option<serde_json::Value>,
    /// The JSON schema of its request body (refs inlined).
    pub request_schema: Option<serde_json::Value>,
    /// Its query parameters: name and schema `format`, optional ones included.
    pub query_parameters: Vec<(String, Option<String>)>,
}

impl ScanOperation {
    /// An operation known only by its path (no description).
    pub fn bare(method: &str, path: &str) -> ScanOperation {
        ScanOperation {
            endpoint: Endpoint::new(method, path),
            target: path.to_string(),
            headers: Vec::new(),
            body: None,
            deprecated: false,
            secured: false,
            source: None,
            described: Described::default(),
        }
    }

    /// Whether its method cannot change state.
    pub fn is_safe(&self) -> bool {
        matches!(self.endpoint.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
}

/// What one identity (or anonymous access) got from one operation during the
/// reachability sweep.
#[derive(Debug, Clone)]
pub struct Reach {
    /// Identity name, `anonymous` without credentials.
    pub identity: String,
    /// The method sent: the operation's, or OPTIONS for an unsafe operation
    /// outside the active profile.
    pub probe: String,
    /// The exchange, or the transport error.
    pub result: Result<Arc<Exchange>, String>,
}

//! mortar's own API model: what the scanner needs from a spec, the same shape
//! whatever the spec's version.
//!
//! Schemas are kept as JSON Schema values in one dialect (2020-12 style, as in
//! OpenAPI 3.1): every `$ref` inlined, `nullable`/`x-nullable` turned into a
//! `"null"` type, boolean `exclusiveMinimum`/`exclusiveMaximum` turned into
//! numbers, 2.0 `type: file` into `string`/`binary`. A recursive reference is
//! kept as `{"$ref": "<name>"}` where `<name>` is a key of [`Api::schemas`].

use crate::error::Problem;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The version family of the source document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum SpecVersion {
    /// Swagger 2.0.
    Swagger2,
    /// OpenAPI 3.0.x.
    OpenApi30,
    /// OpenAPI 3.1.x.
    OpenApi31,
}

/// A loaded API description.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Api {
    /// Version family.
    pub version: SpecVersion,
    /// The `swagger`/`openapi` field as written.
    pub declared_version: String,
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub api_version: String,
    /// The root document's path or URL, as given to the loader.
    pub source: String,
    /// Base path of the API (2.0 `basePath`, 3.x first server's path):
    /// starts with `/`, no trailing `/` unless it is `/`.
    pub base_path: String,
    /// Absolute URL of the first server, when it has one.
    pub server_url: Option<String>,
    /// Every server entry, in order (Swagger 2.0: one, from `host` and `basePath`).
    pub servers: Vec<crate::servers::Server>,
    /// Operations, sorted by path then method.
    pub operations: Vec<Operation>,
    /// Security schemes by name.
    pub security_schemes: BTreeMap<String, SecurityScheme>,
    /// Schemas that refer to themselves, by name; targets of `{"$ref": name}` markers.
    pub schemas: BTreeMap<String, Value>,
    /// Operations (or whole path items) left out, each with its pointer and reason.
    pub skipped: Vec<Problem>,
    /// Non-fatal oddities (an unusable security scheme, an unknown scheme name).
    pub warnings: Vec<Problem>,
}

impl Api {
    /// The operation with this `operationId`.
    pub fn operation(&self, operation_id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.operation_id.as_deref() == Some(operation_id))
    }
}

/// Where something came from, for reports (SARIF wants file and line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// File path or URL of the document that holds it.
    pub file: String,
    /// JSON pointer in that document, e.g. `/paths/~1users~1{id}/get`.
    pub pointer: String,
    /// 1-based line in that document.
    pub line: Option<u32>,
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template as in the spec, e.g. `/users/{id}` (without the base path).
    pub path: String,
    /// `operationId`.
    pub operation_id: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Path, query, header and cookie parameters (path-level ones merged in),
    /// sorted by location then name.
    pub parameters: Vec<Parameter>,
    /// The request body, if the operation takes one.
    pub request_body: Option<RequestBody>,
    /// Resolved security: alternatives (OR) of requirements (AND of schemes).
    /// Empty means no authentication; an empty requirement inside means optional.
    pub security: Vec<SecurityRequirement>,
    /// Whether `security` comes from the operation itself rather than the global default.
    pub security_overridden: bool,
    /// `deprecated`.
    pub deprecated: bool,
    /// Responses by status (`"200"`, `"4XX"`, `"default"`).
    pub responses: BTreeMap<String, Response>,
    /// Where the operation is defined.
    pub location: Location,
}

impl Operation {
    /// The project's endpoint for this operation, under `base_path`.
    pub fn endpoint(&self, base_path: &str) -> mortar_model::Endpoint {
        mortar_model::Endpoint::new(self.method.clone(), join_path(base_path, &self.path))
    }
}

/// Joins a base path and a path template without doubling or losing `/`.
pub fn join_path(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let path = path.trim_start_matches('/');
    format!("{base}/{path}")
}

/// One scheme requirement set: scheme name → scopes (all must hold).
pub type SecurityRequirement = BTreeMap<String, Vec<String>>;

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamLocation {
    /// In the path template.
    Path,
    /// In the query string.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

/// A non-body parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    /// Name.
    pub name: String,
    /// Location.
    pub location: ParamLocation,
    /// Whether it must be sent (always true in the path).
    pub required: bool,
    /// Its schema (normalised, refs inlined).
    pub schema: Value,
    /// Serialisation style (`form`, `simple`, `label`, `matrix`, `spaceDelimited`,
    /// `pipeDelimited`, `deepObject`), defaults applied; 2.0 `collectionFormat` mapped.
    pub style: String,
    /// Whether arrays and objects are exploded, defaults applied.
    pub explode: bool,
    /// `description`.
    pub description: Option<String>,
    /// An example value given by the spec, if any.
    pub example: Option<Value>,
    /// When the parameter is given with `content` instead of `schema`: its media type.
    pub content_type: Option<String>,
    /// `deprecated`.
    pub deprecated: bool,
}

/// A request body (3.x `requestBody`, 2.0 `in: body` or `in: formData`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestBody {
    /// Whether a body is required.
    pub required: bool,
    /// `description`.
    pub description: Option<String>,
    /// Accepted media types (JSON, `application/x-www-form-urlencoded`,
    /// `multipart/form-data`, ...) and their schemas.
    pub content: BTreeMap<String, MediaType>,
}

/// A schema and example for one media type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaType {
    /// Schema, when given.
    pub schema: Option<Value>,
    /// An example given by the spec, if any.
    pub example: Option<Value>,
}

/// One response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    /// `description`.
    pub description: String,
    /// Body schemas per media type (2.0: per `produces` type).
    pub content: BTreeMap<String, MediaType>,
    /// Header schemas by header name.
    pub headers: BTreeMap<String, Value>,
    /// Links (3.x) by name.
    pub links: BTreeMap<String, Link>,
}

/// A 3.x link from a response to another operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// Target `operationId`.
    pub operation_id: Option<String>,
    /// Target `operationRef`.
    pub operation_ref: Option<String>,
    /// Parameter name → runtime expression or constant.
    pub parameters: BTreeMap<String, Value>,
    /// Request body expression or constant.
    pub request_body: Option<Value>,
}

/// A security scheme, in 3.x terms (2.0 schemes mapped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SecurityScheme {
    /// An API key in a header, query parameter or cookie.
    ApiKey {
        /// Header, parameter or cookie name.
        name: String,
        /// Where it goes.
        location: ParamLocation,
    },
    /// HTTP authentication (`basic`, `bearer`, `digest`, ...; 2.0 `basic` maps here).
    Http {
        /// Lower-case scheme name.
        scheme: String,
        /// Bearer token format hint.
        bearer_format: Option<String>,
    },
    /// OAuth 2 with its flows (2.0 flow names mapped to 3.x names).
    #[serde(rename = "oauth2")]
    OAuth2 {
        /// Flows, by 3.x name (`implicit`, `password`, `clientCredentials`, `authorizationCode`).
        flows: BTreeMap<String, OAuthFlow>,
    },
    /// OpenID Connect discovery.
    OpenIdConnect {
        /// Discovery URL.
        url: String,
    },
    /// Mutual TLS (3.1).
    MutualTls,
}

/// One OAuth 2 flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthFlow {
    /// Authorization URL.
    pub authorization_url: Option<String>,
    /// Token URL.
    pub token_url: Option<String>,
    /// Scopes and their descriptions.
    pub scopes: BTreeMap<String, String>,
}

//! Typed errors: one [`SpecError`] for a spec that cannot be used at all.

use serde::Serialize;
use std::fmt;

/// What kind of problem stopped a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A file could not be read.
    Io,
    /// The [`crate::RefSource`] could not provide a referenced document.
    Fetch,
    /// The document is not valid JSON or YAML.
    Syntax,
    /// The document (or all documents together) exceed the byte limit.
    TooLarge,
    /// YAML aliases expand past the node limit (billion laughs).
    AliasBomb,
    /// Nesting deeper than the depth limit.
    TooDeep,
    /// No `swagger` or `openapi` field: not an API description.
    NotOpenApi,
    /// A `swagger`/`openapi` version this crate does not read.
    UnsupportedVersion,
    /// The document is structurally unusable (e.g. `paths` is not an object).
    Invalid,
    /// A `$ref` that is needed for the whole spec cannot be resolved.
    Reference,
}

/// A spec that cannot be loaded: names the file, the JSON pointer, the line and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{}", self.render())]
pub struct SpecError {
    /// The kind of problem.
    pub kind: ErrorKind,
    /// The file path or URL of the document at fault.
    pub file: String,
    /// JSON pointer inside that document (`""` for the whole document).
    pub pointer: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl SpecError {
    pub(crate) fn new(
        kind: ErrorKind,
        file: &str,
        pointer: &str,
        line: Option<u32>,
        message: impl Into<String>,
    ) -> Self {
        SpecError { kind, file: file.to_string(), pointer: pointer.to_string(), line, message: message.into() }
    }

    fn render(&self) -> String {
        let mut s = self.file.clone();
        if let Some(line) = self.line {
            s.push_str(&format!(":{line}"));
        }
        if !self.pointer.is_empty() {
            s.push_str(&format!(": at {}", self.pointer));
        }
        s.push_str(&format!(": {}", self.message));
        s
    }
}

/// A problem local to one part of a spec (an operation, a security scheme):
/// the rest of the spec still loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// File path or URL of the document where the problem was found.
    pub file: String,
    /// JSON pointer of the skipped part.
    pub pointer: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// Why it was skipped.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: at {}: {}", self.file, self.pointer, self.reason),
            None => write!(f, "{}: at {}: {}", self.file, self.pointer, self.reason),
        }
    }
}

//! Documents, base URIs and `$ref` resolution.
//!
//! Every document is keyed by its absolute URI (a `file://` URL for files).
//! Relative refs resolve against the base URI of the document they are in,
//! changed by 3.1 `$id` inside schemas. Only [`RefSource`] touches the outside.

use crate::Limits;
use crate::doc::{self, LineMap};
use crate::error::{ErrorKind, SpecError};
use crate::model::SpecVersion;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use url::Url;

/// Fetches documents named by external `$ref`s.
pub trait RefSource {
    /// Returns the bytes of the document at `uri` (absolute, without fragment,
    /// e.g. `file:///specs/common.yaml` or `https://api.example.com/schemas.json`).
    fn fetch(&self, uri: &str) -> std::io::Result<Vec<u8>>;
}

/// Reads `file://` URIs from the file system; refuses every other scheme
/// (fetching URLs is the caller's job, with its own scope and limits).
#[derive(Debug, Clone, Default)]
pub struct FsRefSource {
    root: Option<PathBuf>,
}

impl FsRefSource {
    /// Reads any local file a ref names.
    pub fn new() -> Self {
        FsRefSource { root: None }
    }

    /// Reads only files under `root` (after canonicalisation), so a spec cannot
    /// make the scanner read arbitrary local files.
    pub fn within(root: impl AsRef<Path>) -> Self {
        let root = root.as_ref();
        FsRefSource { root: Some(root.canonicalize().unwrap_or_else(|_| root.to_path_buf())) }
    }
}

impl RefSource for FsRefSource {
    fn fetch(&self, uri: &str) -> std::io::Result<Vec<u8>> {
        let url = Url::parse(uri).map_err(std::io::Error::other)?;
        if url.scheme() != "file" {
            return Err(std::io::Error::other(format!("{} refs are not fetched from the file system", url.scheme())));
        }
        let path = url.to_file_path().map_err(|_| std::io::Error::other("not a local file path"))?;
        if let Some(root) = &self.root {
            let real = path.canonicalize()?;
            if !real.starts_with(root) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{} is outside {}", real.display(), root.display()),
                ));
            }
        }
        std::fs::read(path)
    }
}

/// Refuses every external document: for specs whose refs must all be local.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRefSource;

impl RefSource for NoRefSource {
    fn fetch(&self, uri: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::other(format!("external references are disabled ({uri})")))
    }
}

/// Turns the caller's `base` (a path or a URL) into an absolute URI.
pub(crate) fn base_uri(base: &str) -> Url {
    if base.contains("://")
        && let Ok(u) = Url::parse(base)
    {
        return u;
    }
    let path = Path::new(base);
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    Url::from_file_path(&abs).unwrap_or_else(|_| Url::parse("file:///spec").expect("static URL"))
}

/// Percent-decodes a URI fragment.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A position in the loaded documents: which document, where, and the base
/// URI in force there.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub doc: usize,
    pub pointer: String,
    pub base: Url,
}

impl Ctx {
    /// The context of a child member.
    pub fn child(&self, token: &str) -> Ctx {
        Ctx {
            doc: self.doc,
            pointer: format!("{}/{}", self.pointer, doc::escape_token(token)),
            base: self.base.clone(),
        }
    }
}

/// A loaded document.
pub(crate) struct Document {
    pub uri: Url,
    pub label: String,
    pub value: Value,
    pub lines: LineMap,
}

/// Why a ref could not be followed (becomes a skipped operation or a [`SpecError`]).
#[derive(Debug, Clone)]
pub(crate) struct RefProblem {
    pub kind: ErrorKind,
    pub message: String,
}

impl RefProblem {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        RefProblem { kind, message: message.into() }
    }
}

/// All documents of one load.
pub(crate) struct Store<'a> {
    pub docs: Vec<Document>,
    by_uri: HashMap<String, usize>,
    /// 3.1 `$id` / `$anchor` URIs → (document, pointer).
    ids: HashMap<String, (usize, String)>,
    source: &'a dyn RefSource,
    pub limits: Limits,
    total_bytes: usize,
    pub version: SpecVersion,
    root_label: String,
}

impl<'a> Store<'a> {
    pub fn new(source: &'a dyn RefSource, limits: Limits) -> Self {
        Store {
            docs: Vec::new(),
            by_uri: HashMap::new(),
            ids: HashMap::new(),
            source,
            limits,
            total_bytes: 0,
            version: SpecVersion::OpenApi30,
            root_label: String::new(),
        }
    }

    /// Adds the root document.
    pub fn add_root(&mut self, bytes: &[u8], base: &str) -> Result<usize, SpecError> {
        let uri = base_uri(base);
        self.root_label = base.to_string();
        self.add(bytes, uri, base.to_string())
    }

    fn add(&mut self, bytes: &[u8], mut uri: Url, label: String) -> Result<usize, SpecError> {
        uri.set_fragment(None);
        self.total_bytes += bytes.len();
        if self.total_bytes > self.limits.max_total_bytes {
            return Err(SpecError::new(
                ErrorKind::TooLarge,
                &label,
                "",
                None,
                format!("documents together exceed {} bytes", self.limits.max_total_bytes),
            ));
        }
        if self.docs.len() >= self.limits.max_documents {
            return Err(SpecError::new(
                ErrorKind::TooLarge,
                &label,
                "",
                None,
                format!("more than {} referenced documents", self.limits.max_documents),
            ));
        }
        let (value, lines) = doc::parse(bytes, &label, &self.limits)?;
        let idx = self.docs.len();
        self.by_uri.insert(uri.to_string(), idx);
        self.docs.push(Document { uri: uri.clone(), label, value, lines });
        Ok(idx)
    }

    /// Indexes 3.1 `$id` and `$anchor` in a document (after the version is known).
    pub fn index_ids(&mut self, doc: usize) {
        if self.version != SpecVersion::OpenApi31 {
            return;
        }
        let mut found = Vec::new();
        let base = self.docs[doc].uri.clone();
        collect_ids(&self.docs[doc].value, &base, String::new(), &mut found, 0);
        for (uri, pointer) in found {
            self.ids.entry(uri).or_insert((doc, pointer));
        }
    }

    fn label_for(&self, uri: &Url) -> String {
        if uri.scheme() == "file" {
            if let Some(root) = self.docs.first()
                && root.uri.scheme() == "file"
                && let Some(rel) = root.uri.make_relative(uri)
            {
                let parent = Path::new(&self.root_label).parent().unwrap_or(Path::new(""));
                return parent.join(percent_decode(&rel)).display().to_string();
            }
            if let Ok(p) = uri.to_file_path() {
                return p.display().to_string();
            }
        }
        uri.to_string()
    }

    /// 1-based line of `pointer` in `doc`, or of its nearest ancestor that has one.
    pub fn line(&self, doc: usize, pointer: &str) -> Option<u32> {
        let lines = &self.docs.get(doc)?.lines;
        let mut p = pointer;
        loop {
            if let Some(l) = lines.get(p) {
                return Some(*l);
            }
            if p.is_empty() {
                return None;
            }
            p = &p[..p.rfind('/').unwrap_or(0)];
        }
    }

    /// Label (path or URL) of a document.
    pub fn label(&self, doc: usize) -> &str {
        self.docs.get(doc).map(|d| d.label.as_str()).unwrap_or("")
    }

    /// The value at `ctx`.
    pub fn get(&self, ctx: &Ctx) -> Option<&Value> {
        self.docs.get(ctx.doc)?.value.pointer(&ctx.pointer)
    }

    /// Resolves a `$ref` string relative to `base`: the target's context and a
    /// canonical key (`uri#pointer`) for cycle detection.
    pub fn resolve(&mut self, base: &Url, reference: &str) -> Result<(Ctx, String), RefProblem> {
        let url = base.join(reference).map_err(|e| {
            RefProblem::new(ErrorKind::Reference, format!("`{reference}` is not a valid reference: {e}"))
        })?;
        let fragment = percent_decode(url.fragment().unwrap_or(""));
        let mut doc_url = url.clone();
        doc_url.set_fragment(None);
        let doc_key = doc_url.to_string();
        // 3.1: a URI that names a schema by `$id` wins over a document fetch.
        let (doc, prefix) = if let Some((d, p)) = self.ids.get(&doc_key) {
            (*d, p.clone())
        } else if let Some(d) = self.by_uri.get(&doc_key) {
            (*d, String::new())
        } else {
            let bytes = self.source.fetch(&doc_key).map_err(|e| {
                RefProblem::new(ErrorKind::Fetch, format!("cannot load `{doc_key}` for `{reference}`: {e}"))
            })?;
            let label = self.label_for(&doc_url);
            let d = self.add(&bytes, doc_url.clone(), label).map_err(|e| RefProblem::new(e.kind, e.to_string()))?;
            self.index_ids(d);
            (d, String::new())
        };
        let pointer = if fragment.is_empty() || fragment.starts_with('/') {
            format!("{prefix}{fragment}")
        } else {
            let anchor_key = format!("{doc_key}#{fragment}");
            match self.ids.get(&anchor_key) {
                Some((_, p)) => p.clone(),
                None => {
                    return Err(RefProblem::new(
                        ErrorKind::Reference,
                        format!("`{reference}`: no anchor `{fragment}` in {}", self.label(doc)),
                    ));
                }
            }
        };
        if self.docs[doc].value.pointer(&pointer).is_none() {
            return Err(RefProblem::new(
                ErrorKind::Reference,
                format!("`{reference}` points to nothing (no `{pointer}` in {})", self.label(doc)),
            ));
        }
        let base = self.base_at(doc, &pointer);
        let key = format!("{}#{}", self.docs[doc].uri, pointer);
        Ok((Ctx { doc, pointer, base }, key))
    }

    /// The base URI in force at `pointer` (3.1: the nearest enclosing `$id`).
    pub fn base_at(&self, doc: usize, pointer: &str) -> Url {
        let d = &self.docs[doc];
        let mut base = d.uri.clone();
        if self.version != SpecVersion::OpenApi31 {
            return base;
        }
        let mut node = &d.value;
        let apply = |node: &Value, base: &mut Url| {
            if let Some(id) = node.get("$id").and_then(Value::as_str)
                && let Ok(u) = base.join(id)
            {
                *base = u;
            }
        };
        apply(node, &mut base);
        for tok in pointer.split('/').skip(1) {
            let tok = tok.replace("~1", "/").replace("~0", "~");
            let next = match node {
                Value::Object(m) => m.get(&tok),
                Value::Array(a) => tok.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
            match next {
                Some(n) => {
                    node = n;
                    apply(node, &mut base);
                }
                None => break,
            }
        }
        base
    }

    /// The context at the root of a document.
    pub fn root_ctx(&self, doc: usize) -> Ctx {
        Ctx { doc, pointer: String::new(), base: self.base_at(doc, "") }
    }
}

fn collect_ids(v: &Value, base: &Url, pointer: String, out: &mut Vec<(String, String)>, depth: usize) {
    if depth > 256 {
        return;
    }
    match v {
        Value::Object(m) => {
            let mut base = base.clone();
            if let Some(id) = m.get("$id").and_then(Value::as_str)
                && let Ok(mut u) = base.join(id)
            {
                u.set_fragment(None);
                out.push((u.to_string(), pointer.clone()));
                base = u;
            }
            if let Some(anchor) = m.get("$anchor").and_then(Value::as_str) {
                out.push((format!("{base}#{anchor}"), pointer.clone()));
            }
            for (k, child) in m {
                // Examples are data, not schemas: their `$id`s mean nothing.
                if k == "example" || k == "examples" || k == "default" || k == "const" || k == "enum" {
                    continue;
                }
                collect_ids(child, &base, format!("{pointer}/{}", doc::escape_token(k)), out, depth + 1);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                collect_ids(child, base, format!("{pointer}/{i}"), out, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/paths/~1users~1%7Bid%7D"), "/paths/~1users~1{id}");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
    }
}

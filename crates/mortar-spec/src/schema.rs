//! Schema inlining (refs followed, cycles kept as named references, budgets
//! against reference bombs) and normalisation to one dialect.

use crate::error::ErrorKind;
use crate::model::SpecVersion;
use crate::refs::{Ctx, RefProblem, Store};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Keywords whose value is one schema.
const SCHEMA_KEYS: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
    "contentSchema",
];
/// Keywords whose value is an array of schemas.
const SCHEMA_ARRAY_KEYS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/// Keywords whose value is a map of schemas.
const SCHEMA_MAP_KEYS: &[&str] = &["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
/// 3.1 `$ref` siblings that only annotate: merged over the target rather than `allOf`-combined.
const ANNOTATIONS: &[&str] = &[
    "description",
    "summary",
    "title",
    "example",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
];

/// Reads a boolean the way YAML 1.1 authors meant it (`yes`, `on`, `true`).
pub(crate) fn lenient_bool(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "on" => Some(true),
            "false" | "no" | "n" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// State shared by all inlining in one load: names of recursive schemas.
#[derive(Default)]
pub(crate) struct Recursion {
    names: HashMap<String, String>,
    taken: BTreeMap<String, ()>,
    pending: Vec<(String, Ctx)>,
    pub schemas: BTreeMap<String, Value>,
}

impl Recursion {
    fn name_for(&mut self, key: &str, ctx: &Ctx) -> String {
        if let Some(n) = self.names.get(key) {
            return n.clone();
        }
        let base = ctx.pointer.rsplit('/').next().unwrap_or("").replace("~1", "/").replace("~0", "~");
        let base = if base.is_empty() { "Schema".to_string() } else { base };
        let mut name = base.clone();
        let mut n = 2;
        while self.taken.contains_key(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.taken.insert(name.clone(), ());
        self.names.insert(key.to_string(), name.clone());
        self.pending.push((key.to_string(), ctx.clone()));
        name
    }
}

/// Per-call budget and cycle stack.
pub(crate) struct Inliner<'s, 'a> {
    pub store: &'s mut Store<'a>,
    pub rec: &'s mut Recursion,
    stack: Vec<String>,
    budget: usize,
    depth: usize,
}

impl<'s, 'a> Inliner<'s, 'a> {
    pub fn new(store: &'s mut Store<'a>, rec: &'s mut Recursion) -> Self {
        let budget = store.limits.max_expanded_nodes;
        Inliner { store, rec, stack: Vec::new(), budget, depth: 0 }
    }

    /// Inlines the schema at `ctx` (whose value is `v`).
    pub fn inline(&mut self, ctx: &Ctx, v: &Value) -> Result<Value, RefProblem> {
        self.depth += 1;
        let r = self.inline_inner(ctx, v);
        self.depth -= 1;
        r
    }

    fn spend(&mut self, n: usize) -> Result<(), RefProblem> {
        if self.budget < n {
            return Err(RefProblem::new(
                ErrorKind::Reference,
                format!("schema expands to more than {} nodes (reference bomb?)", self.store.limits.max_expanded_nodes),
            ));
        }
        self.budget -= n;
        Ok(())
    }

    fn inline_inner(&mut self, ctx: &Ctx, v: &Value) -> Result<Value, RefProblem> {
        if self.depth > self.store.limits.max_ref_depth {
            return Err(RefProblem::new(
                ErrorKind::Reference,
                format!("schema nesting (through refs) deeper than {} levels", self.store.limits.max_ref_depth),
            ));
        }
        let Value::Object(m) = v else {
            self.spend(1)?;
            return Ok(v.clone());
        };
        self.spend(1 + m.len())?;
        let version = self.store.version;
        // 3.1: `$id` changes the base for refs in this schema and below.
        let mut ctx = ctx.clone();
        if version == SpecVersion::OpenApi31
            && let Some(id) = m.get("$id").and_then(Value::as_str)
            && let Ok(u) = ctx.base.join(id)
        {
            ctx.base = u;
        }
        if let Some(reference) = m.get("$ref").and_then(Value::as_str) {
            let (target, key) = self.store.resolve(&ctx.base, reference)?;
            let resolved = if self.stack.contains(&key) {
                let name = self.rec.name_for(&key, &target);
                let mut marker = Map::new();
                marker.insert("$ref".into(), Value::String(name));
                Value::Object(marker)
            } else {
                let tv = self.store.get(&target).cloned().unwrap_or(Value::Null);
                self.stack.push(key);
                let r = self.inline(&target, &tv);
                self.stack.pop();
                r?
            };
            // 2.0 and 3.0 ignore everything next to `$ref`; 3.1 keeps it.
            let siblings: Map<String, Value> = if version == SpecVersion::OpenApi31 {
                m.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "$ref" | "$id" | "$schema"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            } else {
                Map::new()
            };
            if siblings.is_empty() {
                return Ok(resolved);
            }
            if siblings.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) {
                if let Value::Object(mut r) = resolved {
                    for (k, v) in siblings {
                        r.insert(k, v);
                    }
                    return Ok(Value::Object(r));
                }
                return Ok(resolved);
            }
            let mut rest = self.inline_object(&ctx, &siblings)?;
            let all = rest.entry("allOf").or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = all {
                a.insert(0, resolved);
            }
            return Ok(Value::Object(rest));
        }
        let out = self.inline_object(&ctx, m)?;
        Ok(Value::Object(normalize(out, version)))
    }

    fn inline_object(&mut self, ctx: &Ctx, m: &Map<String, Value>) -> Result<Map<String, Value>, RefProblem> {
        let mut out = Map::new();
        for (k, child) in m {
            let cctx = ctx.child(k);
            let nv = if SCHEMA_MAP_KEYS.contains(&k.as_str()) && child.is_object() {
                let mut mm = Map::new();
                for (pk, pv) in child.as_object().into_iter().flatten() {
                    mm.insert(pk.clone(), self.inline(&cctx.child(pk), pv)?);
                }
                Value::Object(mm)
            } else if SCHEMA_ARRAY_KEYS.contains(&k.as_str()) && child.is_array() {
                let mut arr = Vec::new();
                for (i, item) in child.as_array().into_iter().flatten().enumerate() {
                    arr.push(self.inline(&cctx.child(&i.to_string()), item)?);
                }
                Value::Array(arr)
            } else if SCHEMA_KEYS.contains(&k.as_str()) && child.is_object() {
                self.inline(&cctx, child)?
            } else {
                // Examples, enums, defaults and extensions are data: copied, never resolved.
                child.clone()
            };
            out.insert(k.clone(), nv);
        }
        Ok(out)
    }

    /// Expands every recursive schema named so far into [`Recursion::schemas`].
    pub fn finish_recursive(&mut self) -> Result<(), RefProblem> {
        while let Some((key, ctx)) = self.rec.pending.pop() {
            let name = self.rec.names.get(&key).cloned().unwrap_or_default();
            let v = self.store.get(&ctx).cloned().unwrap_or(Value::Null);
            self.stack = vec![key];
            self.budget = self.store.limits.max_expanded_nodes;
            let expanded = self.inline(&ctx, &v)?;
            self.rec.schemas.insert(name, expanded);
        }
        self.stack.clear();
        Ok(())
    }
}

/// Brings a 2.0/3.0 schema object to the 3.1 dialect (children already done).
pub(crate) fn normalize(mut m: Map<String, Value>, version: SpecVersion) -> Map<String, Value> {
    if version == SpecVersion::OpenApi31 {
        return m;
    }
    let nullable =
        lenient_bool(m.get("nullable")).unwrap_or(false) || lenient_bool(m.get("x-nullable")).unwrap_or(false);
    m.remove("nullable");
    m.remove("x-nullable");
    if m.get("type").and_then(Value::as_str) == Some("file") {
        m.insert("type".into(), Value::String("string".into()));
        m.insert("format".into(), Value::String("binary".into()));
    }
    if nullable {
        if let Some(Value::String(t)) = m.get("type").cloned() {
            m.insert("type".into(), Value::Array(vec![Value::String(t), Value::String("null".into())]));
        }
        if let Some(Value::Array(e)) = m.get_mut("enum")
            && !e.contains(&Value::Null)
        {
            e.push(Value::Null);
        }
    }
    for (ex, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(b) = lenient_bool(m.get(ex)) {
            m.remove(ex);
            if b && let Some(limit) = m.remove(bound) {
                m.insert(ex.into(), limit);
            }
        }
    }
    for k in ["readOnly", "writeOnly", "deprecated", "uniqueItems"] {
        if let Some(b) = lenient_bool(m.get(k)) {
            m.insert(k.into(), Value::Bool(b));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalizes_30_keywords() {
        let m = json!({"type": "integer", "nullable": true, "minimum": 5, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false});
        let out = normalize(m.as_object().unwrap().clone(), SpecVersion::OpenApi30);
        assert_eq!(Value::Object(out), json!({"type": ["integer", "null"], "exclusiveMinimum": 5, "maximum": 9}));
        let f = normalize(json!({"type": "file"}).as_object().unwrap().clone(), SpecVersion::Swagger2);
        assert_eq!(Value::Object(f), json!({"type": "string", "format": "binary"}));
    }
}

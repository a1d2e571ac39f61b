//! Maps loaded documents onto the model, per version.

use crate::error::{ErrorKind, Problem, SpecError};
use crate::model::*;
use crate::refs::{Ctx, RefProblem, Store};
use crate::schema::{Inliner, Recursion, lenient_bool};
use crate::servers;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const V2_SCHEMA_FIELDS: &[&str] = &[
    "type",
    "format",
    "items",
    "enum",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "x-nullable",
    "example",
    "x-example",
];

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Detects the version family from the root document.
fn detect(root: &Value, label: &str, store: &Store) -> Result<(SpecVersion, String), SpecError> {
    let line = |p: &str| store.line(0, p);
    if !root.is_object() {
        return Err(SpecError::new(ErrorKind::NotOpenApi, label, "", line(""), "the document is not an object"));
    }
    if let Some(v) = root.get("swagger") {
        let s = text(Some(v)).unwrap_or_default();
        return if s == "2.0" || s == "2" {
            Ok((SpecVersion::Swagger2, "2.0".into()))
        } else {
            Err(SpecError::new(
                ErrorKind::UnsupportedVersion,
                label,
                "/swagger",
                line("/swagger"),
                format!("unsupported swagger version `{s}`"),
            ))
        };
    }
    if let Some(v) = root.get("openapi") {
        let s = text(Some(v)).unwrap_or_default();
        if s.starts_with("3.0") {
            return Ok((SpecVersion::OpenApi30, s));
        }
        if s.starts_with("3.1") {
            return Ok((SpecVersion::OpenApi31, s));
        }
        return Err(SpecError::new(
            ErrorKind::UnsupportedVersion,
            label,
            "/openapi",
            line("/openapi"),
            format!("unsupported openapi version `{s}` (2.0, 3.0 and 3.1 are read)"),
        ));
    }
    Err(SpecError::new(
        ErrorKind::NotOpenApi,
        label,
        "",
        line(""),
        "no `swagger` or `openapi` field: not an OpenAPI/Swagger document",
    ))
}

pub(crate) struct Builder<'s, 'a> {
    pub store: &'s mut Store<'a>,
    rec: Recursion,
    version: SpecVersion,
    skipped: Vec<Problem>,
    warnings: Vec<Problem>,
}

type R<T> = Result<T, RefProblem>;

fn problem(kind: ErrorKind, msg: impl Into<String>) -> RefProblem {
    RefProblem::new(kind, msg)
}

impl<'s, 'a> Builder<'s, 'a> {
    pub fn run(store: &'s mut Store<'a>) -> Result<Api, SpecError> {
        let root = store.docs[0].value.clone();
        let label = store.label(0).to_string();
        let (version, declared) = detect(&root, &label, store)?;
        store.version = version;
        store.index_ids(0);
        let mut b = Builder { store, rec: Recursion::default(), version, skipped: Vec::new(), warnings: Vec::new() };
        let root_ctx = b.store.root_ctx(0);
        let servers = servers::spec_servers(&root, version);
        let base_path = servers.first().map(|s| s.path.clone()).unwrap_or_else(|| "/".into());
        let server_url = servers.first().and_then(servers::Server::absolute);
        let security_schemes = b.security_schemes(&root, &root_ctx);
        let global_security = match root.get("security") {
            Some(v) => b.security(v).map_err(|m| b.fatal(&root_ctx.child("security"), ErrorKind::Invalid, m))?,
            None => Vec::new(),
        };
        let mut operations = Vec::new();
        match root.get("paths") {
            None | Some(Value::Null) => {}
            Some(Value::Object(paths)) => {
                let pctx = root_ctx.child("paths");
                for (path, item) in paths {
                    if path.starts_with("x-") {
                        continue;
                    }
                    b.path_item(&root, &pctx.child(path), path, item, &global_security, &mut operations);
                }
            }
            Some(_) => {
                return Err(b.fatal(&root_ctx.child("paths"), ErrorKind::Invalid, "`paths` must be an object".into()));
            }
        }
        {
            let mut inl = Inliner::new(b.store, &mut b.rec);
            if let Err(p) = inl.finish_recursive() {
                b.warnings.push(Problem { file: label.clone(), pointer: String::new(), line: None, reason: p.message });
            }
        }
        for op in &operations {
            for req in &op.security {
                for name in req.keys() {
                    if !security_schemes.contains_key(name) {
                        b.warnings.push(Problem {
                            file: op.location.file.clone(),
                            pointer: format!("{}/security", op.location.pointer),
                            line: op.location.line,
                            reason: format!("security requirement names unknown scheme `{name}`"),
                        });
                    }
                }
            }
        }
        b.warnings.dedup();
        let method_rank = |m: &str| METHODS.iter().position(|x| x.eq_ignore_ascii_case(m)).unwrap_or(99);
        operations.sort_by(|a: &Operation, b: &Operation| {
            a.path.cmp(&b.path).then(method_rank(&a.method).cmp(&method_rank(&b.method)))
        });
        let info = root.get("info");
        Ok(Api {
            version,
            declared_version: declared,
            title: text(info.and_then(|i| i.get("title"))).unwrap_or_default(),
            api_version: text(info.and_then(|i| i.get("version"))).unwrap_or_default(),
            source: label,
            base_path,
            server_url,
            servers,
            operations,
            security_schemes,
            schemas: std::mem::take(&mut b.rec.schemas),
            skipped: b.skipped,
            warnings: b.warnings,
        })
    }

    fn fatal(&self, ctx: &Ctx, kind: ErrorKind, message: String) -> SpecError {
        SpecError::new(kind, self.store.label(ctx.doc), &ctx.pointer, self.store.line(ctx.doc, &ctx.pointer), message)
    }

    fn problem_at(&self, ctx: &Ctx, reason: String) -> Problem {
        Problem {
            file: self.store.label(ctx.doc).to_string(),
            pointer: ctx.pointer.clone(),
            line: self.store.line(ctx.doc, &ctx.pointer),
            reason,
        }
    }

    /// Follows `$ref` chains of non-schema objects (parameters, responses, ...).
    /// 3.1 lets `summary`/`description` next to the ref override the target's.
    fn deref(&mut self, ctx: &Ctx, v: &Value) -> R<(Ctx, Map<String, Value>)> {
        let mut ctx = ctx.clone();
        let mut v = v.clone();
        let mut seen = HashSet::new();
        let mut overrides = Map::new();
        while let Some(r) = v.get("$ref").and_then(Value::as_str).map(str::to_string) {
            if self.version == SpecVersion::OpenApi31 {
                for k in ["summary", "description"] {
                    if let Some(s) = v.get(k) {
                        overrides.entry(k.to_string()).or_insert(s.clone());
                    }
                }
            }
            let (target, key) = self.store.resolve(&ctx.base, &r)?;
            if !seen.insert(key) || seen.len() > self.store.limits.max_ref_depth {
                return Err(problem(ErrorKind::Reference, format!("`{r}` is part of a reference cycle")));
            }
            v = self.store.get(&target).cloned().unwrap_or(Value::Null);
            ctx = target;
        }
        match v {
            Value::Object(mut m) => {
                for (k, val) in overrides {
                    m.insert(k, val);
                }
                Ok((ctx, m))
            }
            other => Err(problem(ErrorKind::Invalid, format!("expected an object, found {}", kind_of(&other)))),
        }
    }

    fn schema(&mut self, ctx: &Ctx, v: &Value) -> R<Value> {
        Inliner::new(self.store, &mut self.rec).inline(ctx, v)
    }

    fn security(&self, v: &Value) -> Result<Vec<SecurityRequirement>, String> {
        let Value::Array(reqs) = v else { return Err("`security` must be an array".into()) };
        let mut out = Vec::new();
        for r in reqs {
            let Value::Object(m) = r else { return Err("each security requirement must be an object".into()) };
            let mut req = SecurityRequirement::new();
            for (name, scopes) in m {
                let scopes =
                    scopes.as_array().map(|a| a.iter().filter_map(|s| text(Some(s))).collect()).unwrap_or_default();
                req.insert(name.clone(), scopes);
            }
            out.push(req);
        }
        Ok(out)
    }

    fn security_schemes(&mut self, root: &Value, root_ctx: &Ctx) -> BTreeMap<String, SecurityScheme> {
        let (ctx, defs) = if self.version == SpecVersion::Swagger2 {
            (root_ctx.child("securityDefinitions"), root.get("securityDefinitions"))
        } else {
            (
                root_ctx.child("components").child("securitySchemes"),
                root.get("components").and_then(|c| c.get("securitySchemes")),
            )
        };
        let mut out = BTreeMap::new();
        for (name, v) in defs.and_then(Value::as_object).into_iter().flatten() {
            let sctx = ctx.child(name);
            match self.deref(&sctx, v).map_err(|p| p.message).and_then(|(_, m)| self.scheme(&m)) {
                Ok(s) => {
                    out.insert(name.clone(), s);
                }
                Err(reason) => {
                    let p = self.problem_at(&sctx, format!("security scheme skipped: {reason}"));
                    self.warnings.push(p);
                }
            }
        }
        out
    }

    fn scheme(&self, m: &Map<String, Value>) -> Result<SecurityScheme, String> {
        let s = |k: &str| text(m.get(k));
        let ty = s("type").ok_or("no `type`")?;
        Ok(match ty.as_str() {
            "apiKey" => SecurityScheme::ApiKey {
                name: s("name").ok_or("apiKey without `name`")?,
                location: match s("in").as_deref() {
                    Some("header") => ParamLocation::Header,
                    Some("query") => ParamLocation::Query,
                    Some("cookie") => ParamLocation::Cookie,
                    other => return Err(format!("apiKey `in` must be header, query or cookie, not {other:?}")),
                },
            },
            "basic" => SecurityScheme::Http { scheme: "basic".into(), bearer_format: None },
            "http" => SecurityScheme::Http {
                scheme: s("scheme").ok_or("http scheme without `scheme`")?.to_ascii_lowercase(),
                bearer_format: s("bearerFormat"),
            },
            "oauth2" => {
                let mut flows = BTreeMap::new();
                let scopes_of = |v: Option<&Value>| -> BTreeMap<String, String> {
                    v.and_then(Value::as_object)
                        .map(|m| m.iter().map(|(k, v)| (k.clone(), text(Some(v)).unwrap_or_default())).collect())
                        .unwrap_or_default()
                };
                if self.version == SpecVersion::Swagger2 {
                    let flow = match s("flow").as_deref() {
                        Some("implicit") => "implicit",
                        Some("password") => "password",
                        Some("application") => "clientCredentials",
                        Some("accessCode") => "authorizationCode",
                        other => return Err(format!("unknown oauth2 flow {other:?}")),
                    };
                    flows.insert(
                        flow.to_string(),
                        OAuthFlow {
                            authorization_url: s("authorizationUrl"),
                            token_url: s("tokenUrl"),
                            scopes: scopes_of(m.get("scopes")),
                        },
                    );
                } else {
                    for (fname, f) in m.get("flows").and_then(Value::as_object).into_iter().flatten() {
                        flows.insert(
                            fname.clone(),
                            OAuthFlow {
                                authorization_url: text(f.get("authorizationUrl")),
                                token_url: text(f.get("tokenUrl")),
                                scopes: scopes_of(f.get("scopes")),
                            },
                        );
                    }
                }
                SecurityScheme::OAuth2 { flows }
            }
            "openIdConnect" => SecurityScheme::OpenIdConnect {
                url: s("openIdConnectUrl").ok_or("openIdConnect without `openIdConnectUrl`")?,
            },
            "mutualTLS" => SecurityScheme::MutualTls,
            other => return Err(format!("unknown type `{other}`")),
        })
    }

    fn path_item(
        &mut self,
        root: &Value,
        ctx: &Ctx,
        path: &str,
        item: &Value,
        global_security: &[SecurityRequirement],
        out: &mut Vec<Operation>,
    ) {
        let (ictx, item) = match self.deref(ctx, item) {
            Ok(x) => x,
            Err(p) => {
                let pr = self.problem_at(ctx, format!("path item skipped: {}", p.message));
                self.skipped.push(pr);
                return;
            }
        };
        let mut shared = Vec::new();
        if let Some(params) = item.get("parameters") {
            let Value::Array(list) = params else {
                let pr = self
                    .problem_at(&ictx.child("parameters"), "path item skipped: `parameters` must be an array".into());
                self.skipped.push(pr);
                return;
            };
            for (i, p) in list.iter().enumerate() {
                shared.push((ictx.child("parameters").child(&i.to_string()), p.clone()));
            }
        }
        for method in METHODS {
            let Some(op) = item.get(*method) else { continue };
            let octx = ictx.child(method);
            match self.operation(root, &octx, path, method, op, &shared, global_security) {
                Ok(o) => out.push(o),
                Err(p) => {
                    let pr = self
                        .problem_at(&octx, format!("{} {path} skipped: {}", method.to_ascii_uppercase(), p.message));
                    self.skipped.push(pr);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &mut self,
        root: &Value,
        ctx: &Ctx,
        path: &str,
        method: &str,
        op: &Value,
        shared: &[(Ctx, Value)],
        global_security: &[SecurityRequirement],
    ) -> R<Operation> {
        let Value::Object(op) = op else {
            return Err(problem(ErrorKind::Invalid, format!("operation must be an object, found {}", kind_of(op))));
        };
        // Path-level first, then operation-level overriding by (in, name).
        let mut raw: Vec<(Ctx, Map<String, Value>)> = Vec::new();
        let mut own = Vec::new();
        if let Some(p) = op.get("parameters") {
            let Value::Array(list) = p else {
                return Err(problem(ErrorKind::Invalid, "`parameters` must be an array"));
            };
            for (i, p) in list.iter().enumerate() {
                own.push((ctx.child("parameters").child(&i.to_string()), p.clone()));
            }
        }
        for (pctx, p) in shared.iter().chain(own.iter()) {
            let (rctx, m) = self
                .deref(pctx, p)
                .map_err(|e| RefProblem::new(e.kind, format!("parameter {}: {}", pctx.pointer, e.message)))?;
            let key = (text(m.get("in")), text(m.get("name")));
            if let Some(pos) = raw.iter().position(|(_, e)| (text(e.get("in")), text(e.get("name"))) == key) {
                raw[pos] = (rctx, m);
            } else {
                raw.push((rctx, m));
            }
        }
        let consumes = list_of(op.get("consumes"))
            .or_else(|| list_of(root.get("consumes")))
            .unwrap_or_else(|| vec!["application/json".into()]);
        let produces = list_of(op.get("produces"))
            .or_else(|| list_of(root.get("produces")))
            .unwrap_or_else(|| vec!["application/json".into()]);

        let mut parameters = Vec::new();
        let mut request_body = None;
        let mut form: Vec<(String, Value, bool)> = Vec::new();
        for (pctx, m) in &raw {
            let name = text(m.get("name"))
                .ok_or_else(|| problem(ErrorKind::Invalid, format!("parameter {} has no `name`", pctx.pointer)))?;
            let loc = text(m.get("in")).unwrap_or_default();
            let required = lenient_bool(m.get("required")).unwrap_or(false);
            let description = text(m.get("description"));
            let location = match loc.as_str() {
                "path" => ParamLocation::Path,
                "query" => ParamLocation::Query,
                "header" => ParamLocation::Header,
                "cookie" if self.version != SpecVersion::Swagger2 => ParamLocation::Cookie,
                "body" if self.version == SpecVersion::Swagger2 => {
                    let schema = match m.get("schema") {
                        Some(s) => self.schema(&pctx.child("schema"), s)?,
                        None => json!({}),
                    };
                    let content = consumes
                        .iter()
                        .map(|c| (c.clone(), MediaType { schema: Some(schema.clone()), example: None }))
                        .collect();
                    request_body = Some(RequestBody { required, description, content });
                    continue;
                }
                "formData" if self.version == SpecVersion::Swagger2 => {
                    let mut s = self.v2_schema(pctx, m)?;
                    if let (Some(d), Value::Object(o)) = (&description, &mut s) {
                        o.insert("description".into(), Value::String(d.clone()));
                    }
                    form.push((name, s, required));
                    continue;
                }
                other => {
                    return Err(problem(
                        ErrorKind::Invalid,
                        format!("parameter `{name}` has unknown location `{other}`"),
                    ));
                }
            };
            let (schema, content_type) = if self.version == SpecVersion::Swagger2 {
                (self.v2_schema(pctx, m)?, None)
            } else if let Some(s) = m.get("schema") {
                (self.schema(&pctx.child("schema"), s)?, None)
            } else if let Some(Value::Object(c)) = m.get("content") {
                match c.iter().next() {
                    Some((ct, mt)) => {
                        let sctx = pctx.child("content").child(ct).child("schema");
                        let s = match mt.get("schema") {
                            Some(s) => self.schema(&sctx, s)?,
                            None => json!({}),
                        };
                        (s, Some(ct.clone()))
                    }
                    None => (json!({}), None),
                }
            } else {
                (json!({}), None)
            };
            let (style, explode) = self.style(m, location, &schema);
            let example =
                m.get("example").or_else(|| m.get("x-example")).cloned().or_else(|| first_example(m.get("examples")));
            parameters.push(Parameter {
                name,
                location,
                required: required || location == ParamLocation::Path,
                schema,
                style,
                explode,
                description,
                example,
                content_type,
                deprecated: lenient_bool(m.get("deprecated")).unwrap_or(false),
            });
        }
        parameters.sort_by(|a, b| a.location.cmp(&b.location).then(a.name.cmp(&b.name)));
        if !form.is_empty() {
            let mut props = Map::new();
            let mut req = Vec::new();
            let mut has_file = false;
            for (n, s, r) in &form {
                has_file |= s.get("format").and_then(Value::as_str) == Some("binary");
                props.insert(n.clone(), s.clone());
                if *r {
                    req.push(Value::String(n.clone()));
                }
            }
            let mut schema = Map::new();
            schema.insert("type".into(), json!("object"));
            schema.insert("properties".into(), Value::Object(props));
            if !req.is_empty() {
                schema.insert("required".into(), Value::Array(req));
            }
            let schema = Value::Object(schema);
            let mut types: Vec<String> = consumes
                .iter()
                .filter(|c| c.starts_with("application/x-www-form-urlencoded") || c.starts_with("multipart/form-data"))
                .cloned()
                .collect();
            if types.is_empty() {
                types.push(if has_file { "multipart/form-data" } else { "application/x-www-form-urlencoded" }.into());
            }
            let content =
                types.into_iter().map(|t| (t, MediaType { schema: Some(schema.clone()), example: None })).collect();
            request_body = Some(RequestBody { required: form.iter().any(|f| f.2), description: None, content });
        }
        if self.version != SpecVersion::Swagger2
            && let Some(rb) = op.get("requestBody")
        {
            let (bctx, m) = self.deref(&ctx.child("requestBody"), rb)?;
            let content = self.content(&bctx.child("content"), m.get("content"))?;
            request_body = Some(RequestBody {
                required: lenient_bool(m.get("required")).unwrap_or(false),
                description: text(m.get("description")),
                content,
            });
        }
        let mut responses = BTreeMap::new();
        if let Some(rs) = op.get("responses") {
            let Value::Object(rs) = rs else {
                return Err(problem(ErrorKind::Invalid, "`responses` must be an object"));
            };
            for (status, r) in rs {
                if status.starts_with("x-") {
                    continue;
                }
                let (rctx, m) = self.deref(&ctx.child("responses").child(status), r)?;
                let resp = self.response(&rctx, &m, &produces)?;
                responses.insert(status.clone(), resp);
            }
        }
        let (security, security_overridden) = match op.get("security") {
            Some(v) => (self.security(v).map_err(|m| problem(ErrorKind::Invalid, m))?, true),
            None => (global_security.to_vec(), false),
        };
        Ok(Operation {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            operation_id: text(op.get("operationId")),
            summary: text(op.get("summary")),
            tags: list_of(op.get("tags")).unwrap_or_default(),
            parameters,
            request_body,
            security,
            security_overridden,
            deprecated: lenient_bool(op.get("deprecated")).unwrap_or(false),
            responses,
            location: Location {
                file: self.store.label(ctx.doc).to_string(),
                pointer: ctx.pointer.clone(),
                line: self.store.line(ctx.doc, &ctx.pointer),
            },
        })
    }

    /// A 2.0 non-body parameter or header carries its schema inline.
    fn v2_schema(&mut self, ctx: &Ctx, m: &Map<String, Value>) -> R<Value> {
        let mut s = Map::new();
        for k in V2_SCHEMA_FIELDS {
            if let Some(v) = m.get(*k) {
                let key = if *k == "x-example" { "example" } else { k };
                s.insert(key.to_string(), v.clone());
            }
        }
        self.schema(ctx, &Value::Object(s))
    }

    fn style(&self, m: &Map<String, Value>, loc: ParamLocation, schema: &Value) -> (String, bool) {
        let default_style = match loc {
            ParamLocation::Query | ParamLocation::Cookie => "form",
            ParamLocation::Path | ParamLocation::Header => "simple",
        };
        if self.version == SpecVersion::Swagger2 {
            let is_array = schema.get("type").and_then(Value::as_str) == Some("array");
            let fmt = text(m.get("collectionFormat")).unwrap_or_else(|| "csv".into());
            if !is_array {
                return (default_style.into(), default_style == "form");
            }
            return match fmt.as_str() {
                "multi" => ("form".into(), true),
                "ssv" => ("spaceDelimited".into(), false),
                "pipes" => ("pipeDelimited".into(), false),
                // csv and tsv (no 3.x equivalent for tsv: closest is a delimited form)
                _ => (default_style.into(), false),
            };
        }
        let style = text(m.get("style")).unwrap_or_else(|| default_style.into());
        let explode = lenient_bool(m.get("explode")).unwrap_or(style == "form");
        (style, explode)
    }

    fn content(&mut self, ctx: &Ctx, v: Option<&Value>) -> R<BTreeMap<String, MediaType>> {
        let mut out = BTreeMap::new();
        for (ct, mt) in v.and_then(Value::as_object).into_iter().flatten() {
            let mctx = ctx.child(ct);
            let schema = match mt.get("schema") {
                Some(s) => Some(self.schema(&mctx.child("schema"), s)?),
                None => None,
            };
            let example = mt.get("example").cloned().or_else(|| first_example(mt.get("examples")));
            out.insert(ct.clone(), MediaType { schema, example });
        }
        Ok(out)
    }

    fn response(&mut self, ctx: &Ctx, m: &Map<String, Value>, produces: &[String]) -> R<Response> {
        let description = text(m.get("description")).unwrap_or_default();
        let mut headers = BTreeMap::new();
        for (name, h) in m.get("headers").and_then(Value::as_object).into_iter().flatten() {
            let hctx = ctx.child("headers").child(name);
            let schema = if self.version == SpecVersion::Swagger2 {
                match h {
                    Value::Object(hm) => self.v2_schema(&hctx, hm)?,
                    _ => json!({}),
                }
            } else {
                let (rctx, hm) = self.deref(&hctx, h)?;
                match hm.get("schema") {
                    Some(s) => self.schema(&rctx.child("schema"), s)?,
                    None => json!({}),
                }
            };
            headers.insert(name.clone(), schema);
        }
        let mut links = BTreeMap::new();
        let mut content = BTreeMap::new();
        if self.version == SpecVersion::Swagger2 {
            if let Some(s) = m.get("schema") {
                let schema = self.schema(&ctx.child("schema"), s)?;
                let example = m.get("examples").and_then(Value::as_object).and_then(|e| e.values().next().cloned());
                for p in produces {
                    content.insert(p.clone(), MediaType { schema: Some(schema.clone()), example: example.clone() });
                }
            }
        } else {
            content = self.content(&ctx.child("content"), m.get("content"))?;
            for (name, l) in m.get("links").and_then(Value::as_object).into_iter().flatten() {
                let (_, lm) = self.deref(&ctx.child("links").child(name), l)?;
                links.insert(
                    name.clone(),
                    Link {
                        operation_id: text(lm.get("operationId")),
                        operation_ref: text(lm.get("operationRef")),
                        parameters: lm
                            .get("parameters")
                            .and_then(Value::as_object)
                            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default(),
                        request_body: lm.get("requestBody").cloned(),
                    },
                );
            }
        }
        Ok(Response { description, content, headers, links })
    }
}

fn list_of(v: Option<&Value>) -> Option<Vec<String>> {
    v?.as_array().map(|a| a.iter().filter_map(|s| text(Some(s))).collect())
}

fn first_example(v: Option<&Value>) -> Option<Value> {
    // 3.x `examples` is a map of Example objects; a bare array is 3.1 schema style.
    match v? {
        Value::Object(m) => m.values().next().and_then(|e| e.get("value")).cloned(),
        Value::Array(a) => a.first().cloned(),
        _ => None,
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

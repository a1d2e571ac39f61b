//! Valid values for schemas, deterministic for a given seed.
//!
//! Order of preference: a value the caller observed ([`KnownValues`]), the
//! spec's `example`/`examples`/`default`, `const`, `enum`, then a value built
//! from the type and its constraints. Recursion (`{"$ref": name}` markers into
//! [`crate::Api::schemas`]) is followed to a depth limit.

use serde_json::{Map, Number, Value, json};
use std::collections::BTreeMap;

/// How values are synthesised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOptions {
    /// Seed of the deterministic generator: same seed and spec, same values.
    pub seed: u64,
    /// Depth below which optional properties and non-empty arrays are still generated.
    pub max_depth: usize,
    /// Most optional properties filled per object.
    pub max_optional_properties: usize,
    /// Values for a request: `readOnly` properties are left out.
    pub for_request: bool,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions { seed: 0x6d6f_7274_6172, max_depth: 5, max_optional_properties: 8, for_request: true }
    }
}

/// Values observed on the live API (real ids), preferred over invented ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnownValues {
    /// By parameter or property name (e.g. `"userId"`), used everywhere that name appears.
    pub by_name: BTreeMap<String, Vec<Value>>,
    /// By parameter key (see [`crate::request::param_key`]), for one parameter of one operation.
    pub by_pointer: BTreeMap<String, Vec<Value>>,
}

impl KnownValues {
    /// Records an observed value for a name.
    pub fn add_name(&mut self, name: impl Into<String>, value: Value) {
        self.by_name.entry(name.into()).or_default().push(value);
    }

    /// Records an observed value for one parameter key.
    pub fn add_pointer(&mut self, key: impl Into<String>, value: Value) {
        self.by_pointer.entry(key.into()).or_default().push(value);
    }

    /// The preferred observed value: by key first, then by name.
    pub fn lookup(&self, key: Option<&str>, name: &str) -> Option<&Value> {
        key.and_then(|k| self.by_pointer.get(k))
            .and_then(|v| v.first())
            .or_else(|| self.by_name.get(name).and_then(|v| v.first()))
    }
}

/// A synthesised value and what could not be honoured.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthesized {
    /// The value.
    pub value: Value,
    /// Constraints that were not met (e.g. an unsupported `pattern`), one line each.
    pub notes: Vec<String>,
}

/// Synthesises a value for `schema`; `schemas` resolves recursion markers.
pub fn synthesize(
    schema: &Value,
    schemas: &BTreeMap<String, Value>,
    known: &KnownValues,
    opts: &SynthOptions,
) -> Synthesized {
    let mut g = Gen { schemas, known, opts, rng: opts.seed ^ 0x9e37_79b9_7f4a_7c15, notes: Vec::new(), nodes: 0 };
    let value = match g.value(schema, 0, 0) {
        Some(v) => v,
        None => {
            g.note("no finite value satisfies the schema (required recursion?); using null".into());
            Value::Null
        }
    };
    Synthesized { value, notes: g.notes }
}

/// Stable 64-bit hash of a string (FNV-1a), to derive per-operation seeds.
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

const MAX_NODES: usize = 20_000;

struct Gen<'a> {
    schemas: &'a BTreeMap<String, Value>,
    known: &'a KnownValues,
    opts: &'a SynthOptions,
    rng: u64,
    notes: Vec<String>,
    nodes: usize,
}

fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

fn uint(v: Option<&Value>) -> Option<usize> {
    v.and_then(Value::as_u64).map(|n| n.min(1 << 20) as usize)
}

impl Gen<'_> {
    fn next(&mut self) -> u64 {
        // splitmix64: tiny, fast and reproducible everywhere.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn note(&mut self, n: String) {
        if !self.notes.contains(&n) && self.notes.len() < 32 {
            self.notes.push(n);
        }
    }

    fn value(&mut self, s: &Value, depth: usize, variant: usize) -> Option<Value> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            self.note(format!("value truncated at {MAX_NODES} nodes"));
            return None;
        }
        let m = match s {
            Value::Object(m) => m,
            Value::Bool(false) => return None,
            _ => return Some(json!("mortar")),
        };
        if let Some(name) = m.get("$ref").and_then(Value::as_str) {
            if depth > self.opts.max_depth + 4 {
                return None;
            }
            let Some(target) = self.schemas.get(name) else {
                self.note(format!("unknown schema reference `{name}`"));
                return Some(json!("mortar"));
            };
            let mut merged = target.as_object().cloned().unwrap_or_default();
            for (k, v) in m {
                if k != "$ref" {
                    merged.insert(k.clone(), v.clone());
                }
            }
            return self.value(&Value::Object(merged), depth + 1, variant);
        }
        if variant == 0
            && let Some(v) = m
                .get("example")
                .or_else(|| m.get("examples").and_then(|e| e.as_array()).and_then(|a| a.first()))
                .or_else(|| m.get("default"))
        {
            return Some(v.clone());
        }
        if let Some(c) = m.get("const") {
            return Some(c.clone());
        }
        if let Some(Value::Array(e)) = m.get("enum") {
            let non_null: Vec<&Value> = e.iter().filter(|v| !v.is_null()).collect();
            return Some(match non_null.len() {
                0 => Value::Null,
                n => non_null[variant % n].clone(),
            });
        }
        if let Some(Value::Array(all)) = m.get("allOf") {
            let mut base = m.clone();
            base.remove("allOf");
            for branch in all {
                let b = self.deref(branch, depth)?;
                merge(&mut base, &b);
            }
            return self.value(&Value::Object(base), depth + 1, variant);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = m.get(key) {
                let mut base = m.clone();
                base.remove(key);
                for branch in branches {
                    let Some(b) = self.deref(branch, depth) else { continue };
                    if b.get("type").and_then(Value::as_str) == Some("null") {
                        continue;
                    }
                    let mut merged = base.clone();
                    merge(&mut merged, &b);
                    if let Some(v) = self.value(&Value::Object(merged), depth + 1, variant) {
                        return Some(v);
                    }
                }
                return None;
            }
        }
        match type_of(m) {
            "object" => self.object(m, depth),
            "array" => self.array(m, depth),
            "integer" => Some(self.number(m, true, variant)),
            "number" => Some(self.number(m, false, variant)),
            "boolean" => Some(Value::Bool(variant.is_multiple_of(2))),
            "null" => Some(Value::Null),
            _ => Some(Value::String(self.string(m, variant))),
        }
    }

    /// A branch of allOf/oneOf with its recursion marker resolved one level.
    fn deref(&mut self, s: &Value, depth: usize) -> Option<Map<String, Value>> {
        let m = s.as_object()?;
        match m.get("$ref").and_then(Value::as_str) {
            Some(name) if depth <= self.opts.max_depth + 4 => {
                self.schemas.get(name).and_then(Value::as_object).cloned()
            }
            Some(_) => None,
            None => Some(m.clone()),
        }
    }

    fn object(&mut self, m: &Map<String, Value>, depth: usize) -> Option<Value> {
        let empty = Map::new();
        let props = m.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let required: Vec<String> = m
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let extra = m.get("additionalProperties").filter(|v| v.is_object()).cloned().unwrap_or(json!({}));
        let mut out = Map::new();
        let read_only = |s: &Value| s.get("readOnly").and_then(Value::as_bool).unwrap_or(false);
        for name in &required {
            let schema = props.get(name).unwrap_or(&extra);
            if self.opts.for_request && read_only(schema) {
                continue;
            }
            let v = match self.known.lookup(None, name) {
                Some(k) => k.clone(),
                None => self.value(schema, depth + 1, 0)?,
            };
            out.insert(name.clone(), v);
        }
        if depth < self.opts.max_depth {
            let mut added = 0;
            for (name, schema) in props {
                if added >= self.opts.max_optional_properties {
                    break;
                }
                if out.contains_key(name) || required.contains(name) || (self.opts.for_request && read_only(schema)) {
                    continue;
                }
                let v = match self.known.lookup(None, name) {
                    Some(k) => Some(k.clone()),
                    None => self.value(schema, depth + 1, 0),
                };
                if let Some(v) = v {
                    out.insert(name.clone(), v);
                    added += 1;
                }
            }
        }
        let min_props = uint(m.get("minProperties")).unwrap_or(0);
        let mut i = 1;
        while out.len() < min_props && i <= min_props + 8 {
            if let Some(v) = self.value(&extra, depth + 1, i) {
                out.insert(format!("key{i}"), v);
            }
            i += 1;
        }
        Some(Value::Object(out))
    }

    fn array(&mut self, m: &Map<String, Value>, depth: usize) -> Option<Value> {
        let min = uint(m.get("minItems")).unwrap_or(0);
        let max = uint(m.get("maxItems")).unwrap_or(usize::MAX);
        let want = if depth >= self.opts.max_depth { min } else { min.max(1) }.min(max);
        let prefix =
            m.get("prefixItems").and_then(Value::as_array).or_else(|| m.get("items").and_then(Value::as_array));
        let items = m.get("items").filter(|v| v.is_object()).cloned().unwrap_or(json!({}));
        let unique = m.get("uniqueItems").and_then(Value::as_bool).unwrap_or(false);
        let mut out: Vec<Value> = Vec::new();
        let mut variant = 0;
        while out.len() < want && variant < want + 16 {
            let schema = prefix.and_then(|p| p.get(out.len())).unwrap_or(&items).clone();
            match self.value(&schema, depth + 1, variant) {
                Some(v) => {
                    if !(unique && out.contains(&v)) {
                        out.push(v);
                    }
                }
                None if out.len() >= min => break,
                None => return None,
            }
            variant += 1;
        }
        if out.len() < min {
            self.note(format!("could only make {} distinct items of the {min} required", out.len()));
        }
        Some(Value::Array(out))
    }

    fn number(&mut self, m: &Map<String, Value>, integer: bool, variant: usize) -> Value {
        let mut lo = num(m.get("minimum")).map(|v| (v, false));
        let mut hi = num(m.get("maximum")).map(|v| (v, false));
        // 3.1 (and normalised 3.0) `exclusiveMinimum` is a number; a leftover boolean is ignored.
        if let Some(x) = num(m.get("exclusiveMinimum"))
            && lo.is_none_or(|(l, _)| x >= l)
        {
            lo = Some((x, true));
        }
        if let Some(x) = num(m.get("exclusiveMaximum"))
            && hi.is_none_or(|(h, _)| x <= h)
        {
            hi = Some((x, true));
        }
        let fmt = m.get("format").and_then(Value::as_str).unwrap_or("");
        let step = num(m.get("multipleOf")).filter(|s| *s > 0.0);
        let v = variant as f64;
        if integer {
            let (imin, imax) = if fmt == "int32" { (i32::MIN as f64, i32::MAX as f64) } else { (-9.0e15, 9.0e15) };
            let low = lo.map(|(l, ex)| if ex { l.floor() + 1.0 } else { l.ceil() }).unwrap_or(imin);
            let high = hi.map(|(h, ex)| if ex { h.ceil() - 1.0 } else { h.floor() }).unwrap_or(imax);
            let mut x = if lo.is_some() { low + v } else { (1.0 + v).min(high) };
            if let Some(s) = step {
                x = (x / s).ceil() * s;
                if x > high {
                    x = (high / s).floor() * s;
                }
            }
            if x > high {
                x = high;
            }
            if x < low || x > high {
                self.note(format!("no integer in [{low}, {high}] meets the constraints"));
            }
            return Value::Number((x as i64).into());
        }
        let mut x = match (lo, hi) {
            (Some((l, ex)), Some((h, _))) => {
                if ex {
                    l + ((h - l) / 2.0).min(1.0)
                } else {
                    l
                }
            }
            (Some((l, ex)), None) => {
                if ex {
                    l + 1.0
                } else {
                    l
                }
            }
            (None, Some((h, ex))) => {
                if ex {
                    (h - 1.0).min(1.5)
                } else {
                    h.min(1.5)
                }
            }
            (None, None) => 1.5,
        } + v;
        if let Some(s) = step {
            // With a step, the smallest multiple above the lower bound is the natural pick.
            let start = lo.map(|(l, _)| l + v * s).unwrap_or(x);
            let mut k = (start / s).ceil();
            if let Some((l, true)) = lo
                && k * s <= l
            {
                k += 1.0;
            }
            x = k * s;
            // Round away float noise (0.1 * 3 = 0.30000000000000004).
            x = (x * 1e9).round() / 1e9;
        }
        if let Some((h, ex)) = hi
            && (x > h || (ex && x >= h))
        {
            self.note(format!("number bounds leave no room below {h}"));
        }
        Number::from_f64(x).map(Value::Number).unwrap_or(json!(0))
    }

    fn string(&mut self, m: &Map<String, Value>, variant: usize) -> String {
        let min = uint(m.get("minLength")).unwrap_or(0);
        let max = uint(m.get("maxLength")).unwrap_or(usize::MAX);
        let fmt = m.get("format").and_then(Value::as_str).unwrap_or("");
        let n = variant;
        let formatted = match fmt {
            "date" => Some(format!("2024-01-{:02}", 15 + n % 14)),
            "date-time" => Some(format!("2024-01-{:02}T10:30:00Z", 15 + n % 14)),
            "time" => Some(format!("10:30:{:02}Z", n % 60)),
            "email" => Some(format!("user{}@example.com", n + 1)),
            "uuid" => {
                let (a, b) = (self.next(), self.next());
                Some(format!(
                    "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                    a >> 32,
                    (a >> 16) & 0xffff,
                    a & 0xfff,
                    0x8000 | (b >> 48) & 0x3fff,
                    b & 0xffff_ffff_ffff
                ))
            }
            "uri" | "url" | "iri" => Some(format!("https://example.com/r/{}", n + 1)),
            "uri-reference" | "iri-reference" => Some(format!("/r/{}", n + 1)),
            "ipv4" => Some(format!("192.0.2.{}", 10 + n % 200)),
            "ipv6" => Some(format!("2001:db8::{:x}", n + 1)),
            "hostname" | "idn-hostname" => Some(format!("host{}.example.com", n + 1)),
            "byte" => Some(if n == 0 { "bW9ydGFy".into() } else { format!("bW9ydGFy{:02}", n % 100) }),
            _ => None,
        };
        if let Some(s) = formatted {
            if s.len() < min || s.len() > max {
                self.note(format!("`{fmt}` value does not fit length bounds {min}..{max}"));
            }
            return s;
        }
        if let Some(p) = m.get("pattern").and_then(Value::as_str) {
            match pattern::generate(p, min, max, n, &mut || self.next()) {
                Ok(s) => return s,
                Err(why) => self.note(format!("pattern `{p}` not synthesised ({why}); the value may not match it")),
            }
        }
        let mut s = if n == 0 { "mortar".to_string() } else { format!("mortar{n}") };
        if s.len() < min {
            s.extend(std::iter::repeat_n('x', min - s.len()));
        }
        if s.len() > max {
            s.truncate(max);
        }
        s
    }
}

fn type_of(m: &Map<String, Value>) -> &str {
    match m.get("type") {
        Some(Value::String(t)) => return t,
        Some(Value::Array(ts)) => {
            if let Some(t) = ts.iter().filter_map(Value::as_str).find(|t| *t != "null") {
                return t;
            }
            if !ts.is_empty() {
                return "null";
            }
        }
        _ => {}
    }
    if m.contains_key("properties") || m.contains_key("required") || m.contains_key("additionalProperties") {
        "object"
    } else if m.contains_key("items") || m.contains_key("prefixItems") {
        "array"
    } else if m.contains_key("minimum") || m.contains_key("maximum") || m.contains_key("multipleOf") {
        "number"
    } else {
        "string"
    }
}

/// Merges `b` into `a` as `allOf` does: both must hold.
fn merge(a: &mut Map<String, Value>, b: &Map<String, Value>) {
    for (k, v) in b {
        match (k.as_str(), a.get_mut(k)) {
            ("properties", Some(Value::Object(ap))) => {
                for (pk, pv) in v.as_object().into_iter().flatten() {
                    match ap.get_mut(pk) {
                        Some(existing) if existing != pv => {
                            *existing = json!({"allOf": [existing.clone(), pv.clone()]});
                        }
                        Some(_) => {}
                        None => {
                            ap.insert(pk.clone(), pv.clone());
                        }
                    }
                }
            }
            ("required", Some(Value::Array(ar))) => {
                for r in v.as_array().into_iter().flatten() {
                    if !ar.contains(r) {
                        ar.push(r.clone());
                    }
                }
            }
            ("minimum" | "exclusiveMinimum" | "minLength" | "minItems" | "minProperties", Some(existing)) => {
                if num(Some(v)) > num(Some(existing)) {
                    *existing = v.clone();
                }
            }
            ("maximum" | "exclusiveMaximum" | "maxLength" | "maxItems" | "maxProperties", Some(existing)) => {
                if num(Some(v)) < num(Some(existing)) {
                    *existing = v.clone();
                }
            }
            ("allOf", Some(Value::Array(aa))) => {
                aa.extend(v.as_array().into_iter().flatten().cloned());
            }
            (_, Some(_)) => {}
            (_, None) => {
                a.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Strings for a practical subset of regular expressions: literals, escapes
/// (`\d \w \s`), classes, `.`, groups, alternation and quantifiers.
/// Backreferences, lookaround and Unicode classes are refused.
pub(crate) mod pattern {
    enum Node {
        Lit(char),
        Class(Vec<(char, char)>, bool),
        Group(Vec<Vec<Node>>),
        Repeat(Box<Node>, usize, Option<usize>),
    }

    struct P {
        c: Vec<char>,
        i: usize,
    }

    const DIGIT: (char, char) = ('0', '9');

    impl P {
        fn peek(&self) -> Option<char> {
            self.c.get(self.i).copied()
        }

        fn alt(&mut self, depth: usize) -> Result<Vec<Vec<Node>>, String> {
            if depth > 32 {
                return Err("groups nested too deeply".into());
            }
            let mut alts = vec![self.seq(depth)?];
            while self.peek() == Some('|') {
                self.i += 1;
                alts.push(self.seq(depth)?);
            }
            Ok(alts)
        }

        fn seq(&mut self, depth: usize) -> Result<Vec<Node>, String> {
            let mut out = Vec::new();
            while let Some(c) = self.peek() {
                if c == '|' || c == ')' {
                    break;
                }
                self.i += 1;
                let atom = match c {
                    '^' | '$' => continue,
                    '.' => Node::Class(vec![('a', 'z')], false),
                    '(' => {
                        if self.peek() == Some('?') {
                            if self.c.get(self.i + 1) == Some(&':') {
                                self.i += 2;
                            } else {
                                return Err("lookaround and named groups are not supported".into());
                            }
                        }
                        let g = self.alt(depth + 1)?;
                        if self.peek() != Some(')') {
                            return Err("unbalanced parenthesis".into());
                        }
                        self.i += 1;
                        Node::Group(g)
                    }
                    '[' => self.class()?,
                    '\\' => match self.escape(false)? {
                        Some(n) => n,
                        None => continue,
                    },
                    '*' | '+' | '?' | '{' => return Err(format!("quantifier `{c}` without an atom")),
                    other => Node::Lit(other),
                };
                out.push(self.quantify(atom)?);
            }
            Ok(out)
        }

        fn quantify(&mut self, atom: Node) -> Result<Node, String> {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => {
                    let close = self.c[self.i..].iter().position(|c| *c == '}').ok_or("unclosed `{`")?;
                    let body: String = self.c[self.i + 1..self.i + close].iter().collect();
                    let parse = |s: &str| s.trim().parse::<usize>().map_err(|_| format!("bad repetition `{{{body}}}`"));
                    let r = match body.split_once(',') {
                        None => {
                            let n = parse(&body)?;
                            (n, Some(n))
                        }
                        Some((a, "")) => (parse(a)?, None),
                        Some((a, b)) => (parse(a)?, Some(parse(b)?)),
                    };
                    self.i += close;
                    r
                }
                _ => return Ok(atom),
            };
            self.i += 1;
            if matches!(self.peek(), Some('?') | Some('+')) {
                self.i += 1; // lazy / possessive: same strings
            }
            if min > 1000 || max.is_some_and(|m| m < min) {
                return Err("repetition out of range".into());
            }
            Ok(Node::Repeat(Box::new(atom), min, max))
        }

        fn escape(&mut self, in_class: bool) -> Result<Option<Node>, String> {
            let c = self.peek().ok_or("trailing backslash")?;
            self.i += 1;
            Ok(Some(match c {
                'd' => Node::Class(vec![DIGIT], false),
                'D' => Node::Class(vec![DIGIT], true),
                'w' => Node::Class(vec![('a', 'z'), ('A', 'Z'), DIGIT, ('_', '_')], false),
                'W' => Node::Class(vec![('a', 'z'), ('A', 'Z'), DIGIT, ('_', '_')], true),
                's' => Node::Class(vec![(' ', ' ')], false),
                'S' => Node::Class(vec![(' ', ' ')], true),
                'b' | 'B' if !in_class => return Ok(None),
                'n' => Node::Lit('\n'),
                't' => Node::Lit('\t'),
                '1'..='9' => return Err("backreferences are not supported".into()),
                'p' | 'P' => return Err("Unicode classes are not supported".into()),
                'u' | 'x' => {
                    let n = if c == 'u' { 4 } else { 2 };
                    let hex: String = self.c.iter().skip(self.i).take(n).collect();
                    self.i += n;
                    let code = u32::from_str_radix(&hex, 16).map_err(|_| "bad hex escape")?;
                    Node::Lit(char::from_u32(code).ok_or("bad code point")?)
                }
                other => Node::Lit(other),
            }))
        }

        fn class(&mut self) -> Result<Node, String> {
            let negated = self.peek() == Some('^');
            if negated {
                self.i += 1;
            }
            let mut ranges = Vec::new();
            let mut first = true;
            loop {
                let c = self.peek().ok_or("unclosed `[`")?;
                self.i += 1;
                if c == ']' && !first {
                    break;
                }
                first = false;
                let lo = if c == '\\' {
                    match self.escape(true)? {
                        Some(Node::Lit(l)) => l,
                        Some(Node::Class(r, false)) => {
                            ranges.extend(r);
                            continue;
                        }
                        _ => return Err("negated escape inside a class".into()),
                    }
                } else {
                    c
                };
                if self.peek() == Some('-') && self.c.get(self.i + 1).is_some_and(|n| *n != ']') {
                    self.i += 1;
                    let mut hi = self.peek().ok_or("unclosed `[`")?;
                    self.i += 1;
                    if hi == '\\' {
                        hi = self.peek().ok_or("unclosed `[`")?;
                        self.i += 1;
                    }
                    if hi < lo {
                        return Err("reversed class range".into());
                    }
                    ranges.push((lo, hi));
                } else {
                    ranges.push((lo, lo));
                }
            }
            Ok(Node::Class(ranges, negated))
        }
    }

    fn emit(n: &Node, extra: usize, out: &mut String, rng: &mut dyn FnMut() -> u64) -> Result<(), String> {
        if out.len() > 4096 {
            return Err("pattern needs strings longer than 4096 characters".into());
        }
        match n {
            Node::Lit(c) => out.push(*c),
            Node::Class(ranges, false) => {
                let (lo, hi) = ranges[(rng() as usize) % ranges.len().max(1)];
                let span = (hi as u32 - lo as u32 + 1) as u64;
                out.push(char::from_u32(lo as u32 + (rng() % span) as u32).unwrap_or(lo));
            }
            Node::Class(ranges, true) => {
                let c = "aZ0_-x.~9Q".chars().find(|c| !ranges.iter().any(|(l, h)| c >= l && c <= h));
                out.push(c.ok_or("negated class excludes every candidate")?);
            }
            Node::Group(alts) => {
                for node in &alts[0] {
                    emit(node, extra, out, rng)?;
                }
            }
            Node::Repeat(node, min, max) => {
                let count = max.map_or(min + extra, |m| (min + extra).min(m));
                for _ in 0..count {
                    emit(node, extra, out, rng)?;
                }
            }
        }
        Ok(())
    }

    /// A string matching `pattern` with `min..=max` characters, or why not.
    pub(crate) fn generate(
        pattern: &str,
        min: usize,
        max: usize,
        variant: usize,
        rng: &mut dyn FnMut() -> u64,
    ) -> Result<String, String> {
        let mut p = P { c: pattern.chars().collect(), i: 0 };
        let alts = p.alt(0)?;
        if p.i != p.c.len() {
            return Err("unbalanced parenthesis".into());
        }
        let alt = &alts[variant % alts.len()];
        for extra in 0..=64 {
            let mut s = String::new();
            for node in alt {
                emit(node, extra, &mut s, rng)?;
            }
            let len = s.chars().count();
            if len >= min && len <= max {
                return Ok(s);
            }
            if len > max {
                break;
            }
        }
        Err(format!("no string found within length bounds {min}..{max}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synth(s: Value) -> Synthesized {
        synthesize(&s, &BTreeMap::new(), &KnownValues::default(), &SynthOptions::default())
    }

    #[test]
    fn examples_enums_const_and_formats() {
        assert_eq!(synth(json!({"type": "string", "example": "ex", "default": "d"})).value, "ex");
        assert_eq!(synth(json!({"type": "string", "examples": ["first"]})).value, "first");
        assert_eq!(synth(json!({"type": "integer", "default": 7})).value, 7);
        assert_eq!(synth(json!({"enum": [null, "b", "c"]})).value, "b");
        assert_eq!(synth(json!({"const": {"k": 1}})).value, json!({"k": 1}));
        for (fmt, re) in [
            ("date", r"^\d{4}-\d{2}-\d{2}$"),
            ("date-time", r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"),
            ("email", r"^[^@]+@[^@]+\.[a-z]+$"),
            ("uuid", r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
            ("uri", r"^https://"),
            ("ipv4", r"^(\d{1,3}\.){3}\d{1,3}$"),
            ("hostname", r"^[a-z0-9.]+$"),
            ("byte", r"^[A-Za-z0-9+/]+=*$"),
        ] {
            let v = synth(json!({"type": "string", "format": fmt})).value;
            assert!(regex::Regex::new(re).unwrap().is_match(v.as_str().unwrap()), "{fmt}: {v}");
        }
        assert_eq!(synth(json!({"type": "string", "format": "binary"})).value, "mortar");
    }

    #[test]
    fn numeric_bounds() {
        assert_eq!(synth(json!({"type": "integer", "minimum": 10})).value, 10);
        assert_eq!(synth(json!({"type": "integer", "exclusiveMinimum": 10})).value, 11);
        assert_eq!(synth(json!({"type": "integer", "maximum": -5})).value, -5);
        assert_eq!(synth(json!({"type": "integer", "exclusiveMaximum": 0})).value, -1);
        assert_eq!(synth(json!({"type": "integer", "minimum": 3, "multipleOf": 5})).value, 5);
        assert_eq!(
            synth(json!({"type": "integer", "minimum": 11, "maximum": 14, "multipleOf": 5})).value,
            10,
            "no multiple fits: noted"
        );
        assert!(!synth(json!({"type": "integer", "minimum": 11, "maximum": 14, "multipleOf": 5})).notes.is_empty());
        assert_eq!(synth(json!({"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.25})).value, 0.25);
        assert_eq!(synth(json!({"type": "number", "minimum": 0.1, "multipleOf": 0.1})).value, 0.1);
        let v =
            synth(json!({"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1.5})).value.as_f64().unwrap();
        assert!(v > 1.0 && v < 1.5, "{v}");
        // A 3.0 boolean exclusiveMinimum, once normalised, means the same as 3.1's number.
        let from30 = crate::schema::normalize(
            json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true}).as_object().unwrap().clone(),
            crate::SpecVersion::OpenApi30,
        );
        assert_eq!(synth(Value::Object(from30)).value, 1);
    }

    #[test]
    fn strings_and_patterns() {
        assert_eq!(synth(json!({"type": "string", "minLength": 10})).value, "mortarxxxx");
        assert_eq!(synth(json!({"type": "string", "maxLength": 3})).value, "mor");
        for (p, min, max) in [
            (r"^[A-Z]{2}\d{4}$", 0, usize::MAX),
            (r"^(abc|def)-[0-9a-f]+$", 0, usize::MAX),
            (r"^\w+@example\.org$", 12, 20),
            (r"^[^0-9]{3,5}$", 0, usize::MAX),
            (r"^(?:v\d+\.){2}\d+$", 0, usize::MAX),
            (r"^a*b?c{2,}$", 5, 6),
        ] {
            let mut s = json!({"type": "string", "pattern": p, "minLength": min});
            if max != usize::MAX {
                s["maxLength"] = json!(max);
            }
            let r = synth(s);
            let v = r.value.as_str().unwrap().to_string();
            assert!(regex::Regex::new(p).unwrap().is_match(&v), "{p}: {v}");
            assert!(v.len() >= min && v.len() <= max, "{p}: {v}");
            assert!(r.notes.is_empty(), "{p}: {:?}", r.notes);
        }
        let r = synth(json!({"type": "string", "pattern": r"^(a)\1$", "minLength": 8}));
        assert_eq!(r.value, "mortarxx");
        assert!(r.notes[0].contains("backreferences are not supported"), "{:?}", r.notes);
    }

    #[test]
    fn arrays_objects_and_combinators() {
        let v = synth(
            json!({"type": "array", "minItems": 3, "uniqueItems": true, "items": {"type": "integer", "minimum": 1}}),
        )
        .value;
        assert_eq!(v, json!([1, 2, 3]));
        let v =
            synth(json!({"type": "array", "minItems": 2, "uniqueItems": true, "items": {"enum": ["x", "y"]}})).value;
        assert_eq!(v, json!(["x", "y"]));
        assert_eq!(synth(json!({"type": "array", "maxItems": 0, "items": {}})).value, json!([]));
        let obj = json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "boolean"}, "b": {"type": "string", "readOnly": true}, "c": {"type": ["null", "integer"]}}});
        assert_eq!(synth(obj).value, json!({"a": true, "c": 1}));
        let all = json!({"allOf": [{"type": "object", "required": ["x"], "properties": {"x": {"type": "string", "minLength": 2}}}, {"properties": {"x": {"maxLength": 2}, "y": {"type": "integer"}}}]});
        assert_eq!(synth(all).value, json!({"x": "mo", "y": 1}));
        let one = json!({"oneOf": [{"type": "null"}, false, {"type": "string", "format": "email"}]});
        assert_eq!(synth(one).value, "user1@example.com");
        assert_eq!(synth(json!({"type": "string", "nullable": true})).value, "mortar");
        assert_eq!(synth(json!({"type": "null"})).value, Value::Null);
    }

    #[test]
    fn recursion_is_bounded_and_seed_is_deterministic() {
        let mut schemas = BTreeMap::new();
        schemas.insert(
            "N".to_string(),
            json!({"type": "object", "required": ["next"], "properties": {"next": {"$ref": "N"}}}),
        );
        let r = synthesize(&json!({"$ref": "N"}), &schemas, &KnownValues::default(), &SynthOptions::default());
        assert!(r.notes.iter().any(|n| n.contains("no finite value")), "{:?}", r.notes);
        let s = json!({"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}});
        let a = synthesize(&s, &schemas, &KnownValues::default(), &SynthOptions::default());
        let b = synthesize(&s, &schemas, &KnownValues::default(), &SynthOptions::default());
        assert_eq!(a, b);
        let c = synthesize(&s, &schemas, &KnownValues::default(), &SynthOptions { seed: 42, ..Default::default() });
        assert_ne!(a.value, c.value);
        let mut known = KnownValues::default();
        known.add_name("id", json!("real-id"));
        assert_eq!(synthesize(&s, &schemas, &known, &SynthOptions::default()).value, json!({"id": "real-id"}));
    }
}

//! Parsing one document (JSON or YAML) into a `serde_json::Value` plus a map
//! from JSON pointer to 1-based line, under size, depth and alias limits.

use crate::Limits;
use crate::error::{ErrorKind, SpecError};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

/// Pointer → line of the node (for object members: the line of the key).
pub(crate) type LineMap = HashMap<String, u32>;

/// Escapes one reference token for a JSON pointer (RFC 6901).
pub(crate) fn escape_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn pointer_of(path: &[String]) -> String {
    let mut p = String::new();
    for seg in path {
        p.push('/');
        p.push_str(&escape_token(seg));
    }
    p
}

/// Parses bytes as JSON (when they start with `{` or `[`) or YAML.
pub(crate) fn parse(bytes: &[u8], label: &str, limits: &Limits) -> Result<(Value, LineMap), SpecError> {
    if bytes.len() > limits.max_document_bytes {
        return Err(SpecError::new(
            ErrorKind::TooLarge,
            label,
            "",
            None,
            format!("document is {} bytes, over the limit of {}", bytes.len(), limits.max_document_bytes),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() as u32 + 1;
        SpecError::new(ErrorKind::Syntax, label, "", Some(line), "document is not valid UTF-8")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.trim_start().chars().next();
    if matches!(first, Some('{') | Some('[')) {
        parse_json(text, label, limits)
    } else {
        parse_yaml(text, label, limits)
    }
}

fn parse_json(text: &str, label: &str, limits: &Limits) -> Result<(Value, LineMap), SpecError> {
    // serde_json's own recursion limit (128) is what bounds depth here.
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let kind = if e.to_string().contains("recursion limit") { ErrorKind::TooDeep } else { ErrorKind::Syntax };
        SpecError::new(kind, label, "", Some(e.line() as u32), format!("invalid JSON: {e}"))
    })?;
    let _ = limits;
    Ok((value, json_lines(text.as_bytes())))
}

enum JFrame {
    Obj,
    Arr(usize),
}

/// A structural scan of (already validated) JSON that records the line of
/// every member key and array element. serde_json keeps no positions.
fn json_lines(src: &[u8]) -> LineMap {
    let mut lines = LineMap::new();
    let mut path: Vec<String> = Vec::new();
    let mut stack: Vec<JFrame> = Vec::new();
    let mut expect_key = false;
    let mut line = 1u32;
    let mut i = 0;
    let mut root_seen = false;
    // Called when a value starts: array elements get their index segment here;
    // object members got their key segment when the key was read.
    let begin =
        |stack: &mut Vec<JFrame>, path: &mut Vec<String>, lines: &mut LineMap, line: u32, root: &mut bool| match stack
            .last()
        {
            Some(JFrame::Arr(idx)) => {
                path.push(idx.to_string());
                lines.insert(pointer_of(path), line);
            }
            Some(JFrame::Obj) => {}
            None => {
                if !*root {
                    lines.insert(String::new(), line);
                    *root = true;
                }
            }
        };
    let end = |stack: &mut Vec<JFrame>, path: &mut Vec<String>| match stack.last_mut() {
        Some(JFrame::Arr(idx)) => {
            *idx += 1;
            path.pop();
        }
        Some(JFrame::Obj) => {
            path.pop();
        }
        None => {}
    };
    while i < src.len() {
        let c = src[i];
        match c {
            b'\n' => line += 1,
            b' ' | b'\t' | b'\r' | b':' => {}
            b',' => {
                if matches!(stack.last(), Some(JFrame::Obj)) {
                    expect_key = true;
                }
            }
            b'{' | b'[' => {
                begin(&mut stack, &mut path, &mut lines, line, &mut root_seen);
                if c == b'{' {
                    stack.push(JFrame::Obj);
                    expect_key = true;
                } else {
                    stack.push(JFrame::Arr(0));
                }
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
                end(&mut stack, &mut path);
            }
            b'"' => {
                let start = i;
                i += 1;
                let mut escaped = false;
                while i < src.len() && src[i] != b'"' {
                    if src[i] == b'\\' {
                        escaped = true;
                        i += 1;
                    }
                    i += 1;
                }
                let raw = &src[start..(i + 1).min(src.len())];
                if expect_key && matches!(stack.last(), Some(JFrame::Obj)) {
                    let key = if escaped {
                        serde_json::from_slice::<String>(raw).unwrap_or_default()
                    } else {
                        String::from_utf8_lossy(&raw[1..raw.len().saturating_sub(1).max(1)]).into_owned()
                    };
                    path.push(key);
                    lines.insert(pointer_of(&path), line);
                    expect_key = false;
                } else {
                    begin(&mut stack, &mut path, &mut lines, line, &mut root_seen);
                    end(&mut stack, &mut path);
                }
            }
            _ => {
                // Number, true, false, null: skip the token.
                begin(&mut stack, &mut path, &mut lines, line, &mut root_seen);
                while i + 1 < src.len() && !matches!(src[i + 1], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                    i += 1;
                }
                end(&mut stack, &mut path);
            }
        }
        i += 1;
    }
    lines
}

enum YFrame {
    Seq { items: Vec<Value>, anchor: usize, nodes: usize },
    Map { map: Map<String, Value>, anchor: usize, nodes: usize, key: Option<(String, bool)> },
}

struct YamlBuilder<'l> {
    label: &'l str,
    limits: &'l Limits,
    stack: Vec<YFrame>,
    path: Vec<String>,
    lines: LineMap,
    anchors: HashMap<usize, (Value, usize)>,
    total_nodes: usize,
    root: Option<Value>,
}

impl YamlBuilder<'_> {
    fn err(&self, kind: ErrorKind, line: u32, msg: String) -> SpecError {
        SpecError::new(kind, self.label, &pointer_of(&self.path), Some(line), msg)
    }

    fn count(&mut self, n: usize, line: u32) -> Result<(), SpecError> {
        self.total_nodes = self.total_nodes.saturating_add(n);
        if self.total_nodes > self.limits.max_yaml_nodes {
            return Err(self.err(
                ErrorKind::AliasBomb,
                line,
                format!(
                    "YAML expands to more than {} nodes (alias bomb?); refusing to expand further",
                    self.limits.max_yaml_nodes
                ),
            ));
        }
        Ok(())
    }

    /// Called before a node that is a value (not a key): records its line.
    fn enter_value(&mut self, line: u32) {
        match self.stack.last() {
            Some(YFrame::Seq { items, .. }) => {
                self.path.push(items.len().to_string());
                self.lines.insert(pointer_of(&self.path), line);
            }
            Some(YFrame::Map { .. }) => {}
            None => {
                self.lines.entry(String::new()).or_insert(line);
            }
        }
    }

    fn is_key_position(&self) -> bool {
        matches!(self.stack.last(), Some(YFrame::Map { key: None, .. }))
    }

    fn push_value(&mut self, v: Value, nodes: usize) {
        match self.stack.last_mut() {
            Some(YFrame::Seq { items, nodes: n, .. }) => {
                items.push(v);
                *n += nodes;
                self.path.pop();
            }
            Some(YFrame::Map { map, key, nodes: n, .. }) => {
                *n += nodes;
                if let Some((k, plain)) = key.take() {
                    if k == "<<" && plain {
                        // YAML 1.1 merge key, still common in specs: earlier keys win.
                        let sources = match v {
                            Value::Array(a) => a,
                            other => vec![other],
                        };
                        for s in sources {
                            if let Value::Object(m) = s {
                                for (mk, mv) in m {
                                    map.entry(mk).or_insert(mv);
                                }
                            }
                        }
                    } else {
                        map.insert(k, v);
                    }
                }
                self.path.pop();
            }
            None => {
                if self.root.is_none() {
                    self.root = Some(v);
                }
            }
        }
    }

    fn set_key(&mut self, key: String, plain: bool, line: u32) {
        self.path.push(key.clone());
        self.lines.insert(pointer_of(&self.path), line);
        if let Some(YFrame::Map { key: k, .. }) = self.stack.last_mut() {
            *k = Some((key, plain));
        }
    }
}

fn tag_suffix(tag: &Option<Tag>) -> Option<&str> {
    tag.as_ref().map(|t| t.suffix.as_str())
}

/// YAML 1.2 core schema resolution of a plain scalar. YAML 1.1 booleans
/// (`yes`, `on`) stay strings here; the model reads them leniently where a
/// boolean is expected.
fn resolve_scalar(s: String, style: TScalarStyle, tag: &Option<Tag>) -> Value {
    match tag_suffix(tag) {
        Some("str") => return Value::String(s),
        Some("null") => return Value::Null,
        Some("bool") | Some("int") | Some("float") => {}
        Some(_) if style != TScalarStyle::Plain => return Value::String(s),
        _ => {}
    }
    if style != TScalarStyle::Plain && tag.is_none() {
        return Value::String(s);
    }
    match s.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(&s);
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = s.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = s.trim_start_matches('+').parse::<u64>() {
            return Value::Number(u.into());
        }
    }
    if let Some(hex) = s.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Number(i.into());
    }
    if let Some(oct) = s.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Number(i.into());
    }
    let looks_float = body.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && body.bytes().filter(|b| *b == b'.').count() <= 1;
    if looks_float
        && let Ok(f) = s.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s)
}

fn parse_yaml(text: &str, label: &str, limits: &Limits) -> Result<(Value, LineMap), SpecError> {
    let mut parser = Parser::new_from_str(text);
    let mut b = YamlBuilder {
        label,
        limits,
        stack: Vec::new(),
        path: Vec::new(),
        lines: LineMap::new(),
        anchors: HashMap::new(),
        total_nodes: 0,
        root: None,
    };
    let mut documents = 0;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            SpecError::new(
                ErrorKind::Syntax,
                label,
                &pointer_of(&b.path),
                Some(e.marker().line() as u32),
                format!("invalid YAML: {} (column {})", e.info(), e.marker().col() + 1),
            )
        })?;
        let line = mark.line() as u32;
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(b.err(ErrorKind::Syntax, line, "more than one YAML document in the stream".into()));
                }
            }
            Event::Scalar(s, style, anchor, tag) => {
                b.count(1, line)?;
                if b.is_key_position() {
                    b.set_key(s, style == TScalarStyle::Plain, line);
                    continue;
                }
                b.enter_value(line);
                let v = resolve_scalar(s, style, &tag);
                if anchor > 0 {
                    b.anchors.insert(anchor, (v.clone(), 1));
                }
                b.push_value(v, 1);
            }
            Event::Alias(id) => {
                let Some(n) = b.anchors.get(&id).map(|(_, n)| *n) else {
                    return Err(b.err(ErrorKind::Syntax, line, "alias to an unknown anchor".into()));
                };
                // Count before cloning: this is what stops billion laughs early.
                b.count(n, line)?;
                let v = b.anchors.get(&id).map(|(v, _)| v.clone()).unwrap_or(Value::Null);
                if b.is_key_position() {
                    match v {
                        Value::String(s) => b.set_key(s, false, line),
                        other => b.set_key(other.to_string(), false, line),
                    }
                    continue;
                }
                b.enter_value(line);
                b.push_value(v, n);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                b.count(1, line)?;
                if b.is_key_position() {
                    return Err(b.err(
                        ErrorKind::Syntax,
                        line,
                        "complex (non-scalar) mapping keys are not supported".into(),
                    ));
                }
                b.enter_value(line);
                if b.stack.len() >= limits.max_depth {
                    return Err(b.err(
                        ErrorKind::TooDeep,
                        line,
                        format!("nesting deeper than {} levels", limits.max_depth),
                    ));
                }
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    YFrame::Seq { items: Vec::new(), anchor, nodes: 1 }
                } else {
                    YFrame::Map { map: Map::new(), anchor, nodes: 1, key: None }
                };
                b.stack.push(frame);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (v, anchor, nodes) = match b.stack.pop() {
                    Some(YFrame::Seq { items, anchor, nodes }) => (Value::Array(items), anchor, nodes),
                    Some(YFrame::Map { map, anchor, nodes, .. }) => (Value::Object(map), anchor, nodes),
                    None => continue,
                };
                if anchor > 0 {
                    b.anchors.insert(anchor, (v.clone(), nodes));
                }
                b.push_value(v, nodes);
            }
            _ => {}
        }
    }
    let root = b.root.take().unwrap_or(Value::Null);
    Ok((root, b.lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_follow_keys_and_elements() {
        let src = "{\n \"a\": {\n  \"b~/c\": [\n   1,\n   {\"d\": \"x\\\"y\"}\n  ]\n },\n \"e\": true\n}";
        let (v, lines) = parse(src.as_bytes(), "t.json", &Limits::default()).unwrap();
        assert_eq!(v["a"]["b~/c"][1]["d"], "x\"y");
        assert_eq!(lines[""], 1);
        assert_eq!(lines["/a"], 2);
        assert_eq!(lines["/a/b~0~1c"], 3);
        assert_eq!(lines["/a/b~0~1c/0"], 4);
        assert_eq!(lines["/a/b~0~1c/1/d"], 5);
        assert_eq!(lines["/e"], 8);
    }

    #[test]
    fn yaml_scalars_keys_and_lines() {
        let src = "a: 1\nb:\n  200:\n    x: yes\n  on: off\nc: [1.5, '2', 0x10, ~, true]\n";
        let (v, lines) = parse(src.as_bytes(), "t.yaml", &Limits::default()).unwrap();
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"]["200"]["x"], "yes");
        assert_eq!(v["b"]["on"], "off");
        assert_eq!(v["c"], serde_json::json!([1.5, "2", 16, null, true]));
        assert_eq!(lines["/b/200"], 3);
        assert_eq!(lines["/b/200/x"], 4);
        assert_eq!(lines["/b/on"], 5);
    }

    #[test]
    fn yaml_merge_keys_and_anchors() {
        let src = "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n";
        let (v, _) = parse(src.as_bytes(), "t.yaml", &Limits::default()).unwrap();
        assert_eq!(v["derived"], serde_json::json!({"x": 1, "y": 3}));
    }
}

//! What the two `llm.*` checks share: chat and completion operations found by
//! their path, operationId and body fields, the probe request, the time
//! budget and the fix. The probes are sent one at a time, capped in time, in
//! the active profile only (each probe costs the target a model call).

use crate::check::CheckVerdict;
use crate::context::{ScanContext, ScanOperation};
use crate::probes::spec::{described, no_description};
use mortar_engine::Exchange;
use mortar_model::Remediation;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// The fix, the same for injection and leaks.
pub(crate) const REMEDIATION: Remediation = Remediation {
    summary: "Treat the model's input as untrusted: keep secrets and authority out of the system prompt, enforce \
        what the assistant may do in code (not in instructions), filter answers that quote the system prompt, and \
        test with injection suites before release.",
    actix_web: "Keep the system prompt free of secrets, authorize every tool call in the handler against the \
        signed-in user (not the model's say-so), and run the model's answer through an output filter (e.g. refuse \
        answers containing the system prompt's distinctive lines) before `HttpResponse::Ok().json(..)`.",
    axum: "Keep the system prompt free of secrets, authorize every tool call in the handler against the \
        authenticated user (not the model's say-so), and filter the model's answer (e.g. drop answers quoting the \
        system prompt) before returning `Json(..)`.",
};

/// Time all probes of one check may take.
pub(crate) const BUDGET: Duration = Duration::from_secs(20);
/// Most chat operations probed.
const MAX_OPERATIONS: usize = 3;

const CHAT_WORDS: &[&str] = &[
    "chat",
    "chats",
    "completion",
    "completions",
    "prompt",
    "llm",
    "assistant",
    "ask",
    "conversation",
    "conversations",
    "generate",
    "copilot",
];
const MESSAGE_FIELDS: &[&str] = &["prompt", "message", "input", "question", "query", "content", "text"];

/// Where the probe text goes in a chat operation's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `messages: [{role, content}]`.
    Messages,
    /// A string field.
    Field(String),
}

fn chat_slot(op: &ScanOperation) -> Option<Slot> {
    if op.endpoint.method != "POST" {
        return None;
    }
    let body: Map<String, Value> = match op.body.as_deref().map(serde_json::from_slice::<Value>) {
        Some(Ok(Value::Object(map))) => map,
        _ => Map::new(),
    };
    let schema_props: Vec<String> = op
        .described
        .request_schema
        .as_ref()
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let keys: Vec<String> = body.keys().cloned().chain(schema_props).collect();
    let named_chat = op
        .endpoint
        .path
        .split(['/', '-', '_', '.'])
        .chain(op.described.operation_id.iter().map(String::as_str))
        .any(|w| CHAT_WORDS.iter().any(|c| w.to_ascii_lowercase().starts_with(c)))
        || op
            .described
            .tags
            .iter()
            .any(|t| ["ai", "llm", "chat", "assistant"].contains(&t.to_ascii_lowercase().as_str()));
    if keys.iter().any(|k| k == "messages") {
        return Some(Slot::Messages);
    }
    let field = keys.iter().find(|k| MESSAGE_FIELDS.contains(&k.to_ascii_lowercase().as_str()))?;
    // `query` or `text` alone is any search form: the operation must say it talks to a model.
    let strong = matches!(field.to_ascii_lowercase().as_str(), "prompt" | "message" | "question");
    (strong || named_chat).then(|| Slot::Field(field.clone()))
}

/// The operation's body with `text` in the slot.
pub(crate) fn chat_body(op: &ScanOperation, slot: &Slot, text: &str) -> Vec<u8> {
    let mut body: Map<String, Value> = match op.body.as_deref().map(serde_json::from_slice::<Value>) {
        Some(Ok(Value::Object(map))) => map,
        _ => Map::new(),
    };
    match slot {
        Slot::Messages => {
            body.insert("messages".into(), json!([{"role": "user", "content": text}]));
        }
        Slot::Field(name) => {
            body.insert(name.clone(), Value::from(text));
        }
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Sends `text` to the operation as the primary identity.
pub(crate) async fn ask(
    ctx: &ScanContext,
    check: &'static str,
    op: &ScanOperation,
    slot: &Slot,
    text: &str,
) -> Option<Exchange> {
    let mut request = ctx.request("POST", &op.endpoint).identity(ctx.primary_identity());
    request.body = chat_body(op, slot, text);
    request.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
    request.headers.push(("Content-Type".into(), b"application/json".to_vec()));
    ctx.send(check, Some(&op.endpoint), request).await.ok()
}

fn chat_operations(ctx: &ScanContext) -> Vec<(&ScanOperation, Slot)> {
    ctx.operations.iter().filter_map(|op| chat_slot(op).map(|s| (op, s))).take(MAX_OPERATIONS).collect()
}

/// The chat operations to probe, or the skip verdict (no description, none found).
pub(crate) fn targets(ctx: &ScanContext) -> Result<Vec<(&ScanOperation, Slot)>, CheckVerdict> {
    if !described(ctx) {
        return Err(no_description());
    }
    let ops = chat_operations(ctx);
    if ops.is_empty() {
        return Err(CheckVerdict::Skipped("no chat or completion operation in the description".into()));
    }
    Ok(ops)
}

/// The answer's body as text.
pub(crate) fn answer_text(ex: &Exchange) -> String {
    String::from_utf8_lossy(&ex.response.body).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_operations_are_found_by_fields_and_names() {
        let mut op = ScanOperation::bare("POST", "/api/v1/chat");
        op.body = Some(br#"{"messages": []}"#.to_vec());
        assert_eq!(chat_slot(&op), Some(Slot::Messages));
        let mut op = ScanOperation::bare("POST", "/api/v1/support/ask");
        op.body = Some(br#"{"query": "x", "locale": "en"}"#.to_vec());
        assert_eq!(chat_slot(&op), Some(Slot::Field("query".into())));
        let mut search = ScanOperation::bare("POST", "/api/v1/products/search");
        search.body = Some(br#"{"query": "x"}"#.to_vec());
        assert_eq!(chat_slot(&search), None, "a search form is not a model");
        let mut get = ScanOperation::bare("GET", "/api/v1/chat");
        get.body = Some(br#"{"prompt": "x"}"#.to_vec());
        assert_eq!(chat_slot(&get), None);
    }
}

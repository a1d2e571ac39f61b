//! `template-injection` (axum, minijinja, active profile): a notification
//! preview API under `/notify/v1` whose `POST /previews` renders the message
//! a customer would get. The vulnerable variant splices the body's `subject`
//! and `recipient` into the template *source* with `format!` before
//! rendering it, so `{{ 4127*7 }}` in either is evaluated (and, in engines
//! that reach objects, so is much worse). The fixed variant renders a
//! constant template in which they are context variables: input is data,
//! never template source. In both, a template that does not render is a 422
//! whose text is the API's, not the engine's, and `channel` only picks one of
//! two layouts.

use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use minijinja::{Environment, context};
use serde::Deserialize;
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "template-injection", start };

/// The shop named in every message (a context variable in both variants).
const SHOP: &str = "Lindqvist Hardware";
/// Instructions an engine may run while rendering one preview (minijinja's fuel).
const FUEL: u64 = 20_000;

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let example = json!({"channel": "email", "subject": "Your order shipped", "recipient": "Ana"});
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Notification previews", "version": "1.6.2"},
        "servers": [{"url": "/notify/v1"}],
        "paths": {
            "/previews": {"post": {"operationId": "previewNotification",
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["channel", "subject", "recipient"], "properties": {
                        "channel": {"type": "string", "enum": ["email", "sms"]},
                        "subject": {"type": "string"},
                        "recipient": {"type": "string"}}},
                    "example": example}}},
                "responses": {"200": {"description": "the rendered message", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"rendered": {"type": "string"}}}}}},
                    "422": {"description": "not a message that can be rendered"}}}}
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let router = Router::new()
        .route("/notify/v1/previews", post(move |body: Result<Json<Preview>, JsonRejection>| preview(variant, body)));
    let addr = ctx.serve_axum(router)?;
    let mut args = ctx.ca_args();
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let expected =
        super::vulnerable_expects_at(variant, "input-validation.template-injection", "POST", "/notify/v1/previews");
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

#[derive(Deserialize)]
struct Preview {
    channel: String,
    subject: String,
    recipient: String,
}

fn unprocessable(message: &str) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"error": message}))).into_response()
}

/// The message as the variant renders it; `Err` carries the engine's error (logged, never answered).
fn render(variant: Variant, preview: &Preview) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    let email = preview.channel == "email";
    match variant {
        // The flaw: the input is part of the template source.
        Variant::Vulnerable => {
            let (subject, recipient) = (&preview.subject, &preview.recipient);
            let source = if email {
                format!("Subject: {subject}\n\nDear {recipient},\n\nthank you for shopping at {{{{ shop }}}}.\n")
            } else {
                format!("{{{{ shop }}}}: {subject}. Hi {recipient}!")
            };
            env.render_str(&source, context! { shop => SHOP })
        }
        Variant::Fixed => {
            let source = if email {
                "Subject: {{ subject }}\n\nDear {{ recipient }},\n\nthank you for shopping at {{ shop }}.\n"
            } else {
                "{{ shop }}: {{ subject }}. Hi {{ recipient }}!"
            };
            env.render_str(
                source,
                context! { shop => SHOP, subject => &preview.subject, recipient => &preview.recipient },
            )
        }
    }
}

async fn preview(variant: Variant, body: Result<Json<Preview>, JsonRejection>) -> Response {
    // The deserialiser's own message is not the caller's business either.
    let Ok(Json(preview)) = body else {
        return unprocessable("the body must be a JSON object with channel, subject and recipient");
    };
    if !["email", "sms"].contains(&preview.channel.as_str()) {
        return unprocessable("channel must be email or sms");
    }
    match render(variant, &preview) {
        Ok(rendered) => Json(json!({"rendered": rendered})).into_response(),
        Err(e) => {
            tracing::debug!("template-injection: render error: {e}");
            // The engine's text would name the engine and quote the template: not the caller's business.
            unprocessable("the preview could not be rendered")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview(subject: &str) -> Preview {
        Preview { channel: "email".into(), subject: subject.into(), recipient: "Ana".into() }
    }

    #[test]
    fn only_the_vulnerable_variant_evaluates_the_input() {
        let payload = preview("Your order shippedmrtr{{4127*7}}z");
        let rendered = render(Variant::Vulnerable, &payload).expect("renders");
        assert!(rendered.contains("mrtr28889z") && rendered.contains(SHOP), "{rendered}");
        let rendered = render(Variant::Fixed, &payload).expect("renders");
        assert!(rendered.contains("mrtr{{4127*7}}z"), "{rendered}");
        let plain = preview("Your order shipped");
        assert_eq!(render(Variant::Vulnerable, &plain).ok(), render(Variant::Fixed, &plain).ok());
        assert!(render(Variant::Vulnerable, &preview("{{ broken")).is_err());
        assert!(render(Variant::Fixed, &preview("{{ broken")).is_ok());
        // Fuel bounds what a template may make the engine do.
        assert!(render(Variant::Vulnerable, &preview("{% for i in range(100000) %}{% endfor %}")).is_err());
    }
}

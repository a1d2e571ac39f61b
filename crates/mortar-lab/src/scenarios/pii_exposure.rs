//! `pii-exposure` (actix-web): a customer directory. The vulnerable variant
//! returns every customer's e-mail, phone, full card number and SSN; the
//! fixed one returns what a directory needs (id, display name, card last four).

use actix_web::{App, HttpResponse, web};
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "pii-exposure", start };

/// Customers as stored (the card numbers are the issuers' published test numbers).
const CUSTOMERS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "cus_1001",
        "Alice Martin",
        "alice.martin@northwind-mail.com",
        "+44 20 7946 0958",
        "4111 1111 1111 1111",
        "123-45-6789",
    ),
    ("cus_1002", "Bob Chen", "bob.chen@northwind-mail.com", "+1 415 555 0132", "5555555555554444", "219-09-9999"),
];

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(variant))
            .route("/api/", web::get().to(index))
            .route("/api/customers", web::get().to(customers))
    })?;
    Ok(super::api_target(ctx, SCENARIO.name, variant, addr, "data-exposure.pii"))
}

async fn index() -> HttpResponse {
    HttpResponse::Ok().json(json!({"service": "crm", "links": {"customers": "/api/customers"}}))
}

async fn customers(variant: web::Data<Variant>) -> HttpResponse {
    let list: Vec<serde_json::Value> = CUSTOMERS
        .iter()
        .map(|(id, name, email, phone, card, ssn)| match **variant {
            // The flaw: the stored rows are serialised whole.
            Variant::Vulnerable => json!({
                "id": id, "name": name, "email": email, "phone": phone, "card_number": card, "ssn": ssn,
            }),
            Variant::Fixed => json!({"id": id, "name": name, "card_last4": &card[card.len() - 4..]}),
        })
        .collect();
    HttpResponse::Ok().json(list)
}

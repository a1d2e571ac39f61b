//! `debug-endpoints` (actix-web): an orders API whose vulnerable variant also
//! serves Prometheus metrics at the server root (`/metrics`) and a Spring-style
//! actuator environment under the API (`/api/actuator/env`) and the process
//! environment as `printenv` lines (`/api/_debug`) to anyone; the fixed
//! variant serves none of them on the public listener (404, actix's default).

use actix_web::{App, HttpResponse, web};
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "debug-endpoints", start };

const METRICS: &str = "\
# HELP http_requests_total HTTP requests served, by route and status.
# TYPE http_requests_total counter
http_requests_total{route=\"/api/orders\",status=\"200\"} 1027
http_requests_total{route=\"/api/\",status=\"200\"} 88
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 2.4117248e+07
";

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let exposed = variant == Variant::Vulnerable;
    let addr = ctx.serve_actix(move || {
        let app = App::new().route("/api/", web::get().to(index)).route("/api/orders", web::get().to(orders));
        // The flaw: the management endpoints share the public listener.
        if exposed {
            app.route("/metrics", web::get().to(metrics))
                .route("/api/actuator/env", web::get().to(env))
                .route("/api/_debug", web::get().to(environment))
        } else {
            app
        }
    })?;
    // One entry per check (the lab-wide test compares check sets); the
    // /metrics finding at the root is asserted by the integration tests.
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::At {
            check: "misconfiguration.debug-endpoints".to_owned(),
            method: "GET".to_owned(),
            path: "/api/actuator/env".to_owned(),
        }],
        Variant::Fixed => Vec::new(),
    };
    Ok(LabTarget {
        scenario: SCENARIO.name.to_owned(),
        variant,
        url: format!("https://{addr}/api/"),
        spec: None,
        scan_args: ctx.ca_args(),
        expected,
        allowed: Vec::new(),
    })
}

async fn metrics() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(METRICS)
}

async fn env() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "activeProfiles": ["production"],
        "propertySources": [
            {"name": "server.ports", "properties": {"local.server.port": {"value": 8443}}},
            {"name": "systemEnvironment", "properties": {
                "DATABASE_HOST": {"value": "orders-db.internal"},
                "DATABASE_PASSWORD": {"value": "******"},
                "JAVA_HOME": {"value": "/usr/lib/jvm/java-17"}
            }}
        ]
    }))
}

/// A debug route dumping the process environment, as `printenv` prints it.
async fn environment() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("HOSTNAME=orders-5d8f7\nHOME=/home/orders\nPATH=/usr/local/bin:/usr/bin:/bin\nRUST_LOG=info\nDATABASE_PASSWORD=******\n")
}

async fn index() -> HttpResponse {
    HttpResponse::Ok().json(json!({"service": "orders", "version": "v1"}))
}

async fn orders() -> HttpResponse {
    HttpResponse::Ok().json(json!([{"id": "ord_4001", "customer": "dave", "item": "cable", "quantity": 3}]))
}

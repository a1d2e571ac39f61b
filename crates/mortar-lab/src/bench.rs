//! Benchmark-only endpoints for the synchronized-request engine. Not a
//! scenario (no finding is expected): they measure how tightly a burst lands.
//! The same endpoints are served by axum (hyper's HTTP/2) and by actix-web
//! (actix-http's), each with its own state: how close together a server
//! starts the streams of one connection depends on the server.
//!
//! - `ANY /bench/arrive`: records the arrival time at handler entry.
//! - `POST /bench/arrivals`: returns the recorded times (ns since the lab
//!   started, in arrival order) and clears them.
//! - `POST /bench/limit?window_us=N[&awaiting=1]`: a single-use action with a
//!   check-to-use window of N microseconds, made with a spin-wait (tokio timers
//!   are too coarse for 10 us): 200 when it succeeds, 409 when already used.
//!   By default the spin holds the worker thread, like CPU work between check
//!   and use; with `awaiting=1` it yields to the runtime on every turn, like a
//!   database call awaited between them, so the thread serves other requests
//!   meanwhile.
//! - `POST /bench/limit/reset`: makes the action usable once again.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{any, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest window the limit endpoint accepts: a spin-wait holds a worker thread.
const MAX_WINDOW: Duration = Duration::from_millis(50);

/// What both servers' handlers share: the logic lives here, the handlers only
/// adapt it to their framework.
struct BenchState {
    epoch: Instant,
    arrivals: Mutex<Vec<u64>>,
    used: AtomicU64,
}

impl BenchState {
    fn new() -> BenchState {
        BenchState { epoch: Instant::now(), arrivals: Mutex::new(Vec::new()), used: AtomicU64::new(0) }
    }

    fn record_arrival(&self) {
        let at = self.epoch.elapsed().as_nanos() as u64;
        if let Ok(mut arrivals) = self.arrivals.lock() {
            arrivals.push(at);
        }
    }

    fn take_arrivals(&self) -> Vec<u64> {
        self.arrivals.lock().map(|mut a| std::mem::take(&mut *a)).unwrap_or_default()
    }

    /// Check, wait, then use: the window between them is what a race
    /// exploits. True when this call used the action.
    async fn check_then_use(&self, window: &Window) -> bool {
        let length = Duration::from_micros(window.window_us.unwrap_or(1000)).min(MAX_WINDOW);
        if self.used.load(Ordering::SeqCst) >= 1 {
            return false;
        }
        let until = Instant::now() + length;
        while Instant::now() < until {
            if window.awaiting == Some(1) {
                tokio::task::yield_now().await;
            } else {
                std::hint::spin_loop();
            }
        }
        self.used.fetch_add(1, Ordering::SeqCst);
        true
    }

    fn reset(&self) {
        self.used.store(0, Ordering::SeqCst);
    }
}

#[derive(Deserialize)]
struct Window {
    window_us: Option<u64>,
    awaiting: Option<u8>,
}

fn used_body(used: bool) -> Value {
    if used { json!({"redeemed": true}) } else { json!({"error": "already redeemed"}) }
}

/// The axum router.
pub(crate) fn router() -> Router {
    Router::new()
        .route("/bench/arrive", any(arrive))
        .route("/bench/arrivals", post(arrivals))
        .route("/bench/limit", post(limit))
        .route("/bench/limit/reset", post(reset))
        .with_state(Arc::new(BenchState::new()))
}

/// The body extractor runs first: the handler is entered once the whole
/// request (its final byte included) has arrived, as with a JSON extractor.
async fn arrive(State(state): State<Arc<BenchState>>, _body: Bytes) -> &'static str {
    state.record_arrival();
    "ok"
}

async fn arrivals(State(state): State<Arc<BenchState>>) -> Json<Value> {
    Json(json!(state.take_arrivals()))
}

async fn limit(
    State(state): State<Arc<BenchState>>,
    Query(window): Query<Window>,
    _body: Bytes,
) -> (StatusCode, Json<Value>) {
    let used = state.check_then_use(&window).await;
    (if used { StatusCode::OK } else { StatusCode::CONFLICT }, Json(used_body(used)))
}

async fn reset(State(state): State<Arc<BenchState>>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}

/// Serves the same endpoints on actix-web (HTTPS, ALPN h2 and http/1.1) with
/// their own state; the body extractor runs first here too.
pub(crate) fn serve_actix(ctx: &mut crate::serve::LabContext) -> Result<SocketAddr, crate::LabError> {
    use actix_web::{App, HttpResponse, web};
    let state = web::Data::new(BenchState::new());
    ctx.serve_actix_bare(move || {
        App::new()
            .app_data(state.clone())
            .route(
                "/bench/arrive",
                web::route().to(|state: web::Data<BenchState>, _body: web::Bytes| async move {
                    state.record_arrival();
                    HttpResponse::Ok().body("ok")
                }),
            )
            .route(
                "/bench/arrivals",
                web::post()
                    .to(|state: web::Data<BenchState>| async move { HttpResponse::Ok().json(state.take_arrivals()) }),
            )
            .route(
                "/bench/limit",
                web::post().to(
                    |state: web::Data<BenchState>, window: web::Query<Window>, _body: web::Bytes| async move {
                        let used = state.check_then_use(&window).await;
                        let mut response = if used { HttpResponse::Ok() } else { HttpResponse::Conflict() };
                        response.json(used_body(used))
                    },
                ),
            )
            .route(
                "/bench/limit/reset",
                web::post().to(|state: web::Data<BenchState>| async move {
                    state.reset();
                    HttpResponse::NoContent().finish()
                }),
            )
    })
}

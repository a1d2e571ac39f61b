//! Benchmark-only endpoints for the synchronized-request engine. Not a
//! scenario (no finding is expected): they measure how tightly a burst lands.
//!
//! - `ANY /bench/arrive`: records the arrival time at handler entry.
//! - `POST /bench/arrivals`: returns the recorded times (ns since the lab
//!   started, in arrival order) and clears them.
//! - `POST /bench/limit?window_us=N`: a single-use action with a
//!   check-to-use window of N microseconds, made with a spin-wait (tokio timers
//!   are too coarse for 10 us): 200 when it succeeds, 409 when already used.
//! - `POST /bench/limit/reset`: makes the action usable once again.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{any, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest window the limit endpoint accepts: a spin-wait holds a worker thread.
const MAX_WINDOW: Duration = Duration::from_millis(50);

struct BenchState {
    epoch: Instant,
    arrivals: Mutex<Vec<u64>>,
    used: AtomicU64,
}

/// The bench router.
pub(crate) fn router() -> Router {
    let state =
        Arc::new(BenchState { epoch: Instant::now(), arrivals: Mutex::new(Vec::new()), used: AtomicU64::new(0) });
    Router::new()
        .route("/bench/arrive", any(arrive))
        .route("/bench/arrivals", post(arrivals))
        .route("/bench/limit", post(limit))
        .route("/bench/limit/reset", post(reset))
        .with_state(state)
}

/// The body extractor runs first: the handler is entered once the whole
/// request (its final byte included) has arrived, as with a JSON extractor.
async fn arrive(State(state): State<Arc<BenchState>>, _body: Bytes) -> &'static str {
    let at = state.epoch.elapsed().as_nanos() as u64;
    if let Ok(mut arrivals) = state.arrivals.lock() {
        arrivals.push(at);
    }
    "ok"
}

async fn arrivals(State(state): State<Arc<BenchState>>) -> Json<Value> {
    let taken = state.arrivals.lock().map(|mut a| std::mem::take(&mut *a)).unwrap_or_default();
    Json(json!(taken))
}

#[derive(Deserialize)]
struct Window {
    window_us: Option<u64>,
}

/// Check, wait, then use: the window between them is what a race exploits.
async fn limit(
    State(state): State<Arc<BenchState>>,
    Query(window): Query<Window>,
    _body: Bytes,
) -> (StatusCode, Json<Value>) {
    let window = Duration::from_micros(window.window_us.unwrap_or(1000)).min(MAX_WINDOW);
    if state.used.load(Ordering::SeqCst) >= 1 {
        return (StatusCode::CONFLICT, Json(json!({"error": "already redeemed"})));
    }
    let until = Instant::now() + window;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    state.used.fetch_add(1, Ordering::SeqCst);
    (StatusCode::OK, Json(json!({"redeemed": true})))
}

async fn reset(State(state): State<Arc<BenchState>>) -> StatusCode {
    state.used.store(0, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}

//! The figures as a human table and as JSON.

use crate::run::{Results, Server, SpreadCell};
use mortar_engine::BurstMode;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// The N at which single-packet is compared with the naive baseline.
pub const RATIO_N: usize = 20;

/// Single-packet p50 spread divided by naive p50 spread at `n` on `server`,
/// when both exist (and the naive one is not zero).
pub fn single_packet_to_naive(results: &Results, server: Server, n: usize) -> Option<f64> {
    let p50 = |mode| {
        results.spread.iter().find(|c| c.server == server && c.mode == mode && c.n == n).and_then(SpreadCell::p50_ns)
    };
    let (single, naive) = (p50(BurstMode::SinglePacket)?, p50(BurstMode::Naive)?);
    (naive > 0).then(|| single as f64 / naive as f64)
}

fn us(ns: Option<u64>) -> String {
    ns.map_or_else(|| "-".to_string(), |ns| format!("{:.1}", ns as f64 / 1000.0))
}

/// The human report printed on stdout.
pub fn table(results: &Results) -> String {
    let s = &results.settings;
    let m = &results.machine;
    let mut out = String::new();
    let unknown = || "unknown".to_string();
    let _ = writeln!(out, "command: {}", m.command);
    let _ = writeln!(
        out,
        "machine: {} CPUs, {}, kernel {}",
        m.cpus.map_or_else(unknown, |n| n.to_string()),
        m.cpu_model.clone().unwrap_or_else(unknown),
        m.kernel.clone().unwrap_or_else(unknown)
    );
    let _ = writeln!(
        out,
        "started: unix {}; took {:.0} s; {} bursts per cell; settle {} ms",
        results.started_unix,
        results.elapsed.as_secs_f64(),
        s.bursts,
        s.settle.as_millis()
    );
    let _ = writeln!(
        out,
        "load average: {} at start, {} at end",
        m.loadavg.clone().unwrap_or_else(unknown),
        results.loadavg_end.clone().unwrap_or_else(unknown)
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "Arrival spread (max - min handler entry in one burst), microseconds, nearest-rank");
    let _ = writeln!(
        out,
        "{:<10} {:<14} {:>4} {:>10} {:>10} {:>10} {:>10}",
        "server", "mode", "N", "p50 us", "p95 us", "ok/total", "one-write"
    );
    for c in &results.spread {
        let one_write =
            if c.mode == BurstMode::SinglePacket { format!("{}/{}", c.one_write, c.ok()) } else { "-".to_string() };
        let _ = writeln!(
            out,
            "{:<10} {:<14} {:>4} {:>10} {:>10} {:>10} {:>10}",
            c.server.as_str(),
            c.mode.as_str(),
            c.n,
            us(c.p50_ns()),
            us(c.p95_ns()),
            format!("{}/{}", c.ok(), c.total),
            one_write
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Win rate: bursts of N = {} with more than one 200 from a limit-1 action", s.win_n);
    let _ = writeln!(
        out,
        "{:<10} {:<9} {:<14} {:>10} {:>12} {:>8} {:>8}",
        "server", "window", "mode", "window us", "wins/total", "percent", "failed"
    );
    for c in &results.win {
        let failed: usize = c.failures.values().sum();
        let _ = writeln!(
            out,
            "{:<10} {:<9} {:<14} {:>10} {:>12} {:>7.0}% {:>8}",
            c.server.as_str(),
            c.kind.as_str(),
            c.mode.as_str(),
            c.window_us,
            format!("{}/{}", c.wins, c.total),
            c.percent(),
            failed
        );
    }
    let _ = writeln!(out);
    for server in Server::ALL {
        let name = server.as_str();
        match single_packet_to_naive(results, server, RATIO_N) {
            Some(ratio) => {
                let _ = writeln!(
                    out,
                    "{name}: single-packet p50 / naive p50 at N = {RATIO_N}: {ratio:.3} (naive is {:.1}x wider)",
                    1.0 / ratio
                );
            }
            None => {
                let _ = writeln!(out, "{name}: single-packet p50 / naive p50 at N = {RATIO_N}: not available");
            }
        }
    }
    out
}

/// Every figure as JSON (spreads in ns and us; the raw per-burst spreads too).
pub fn to_json(results: &Results) -> Value {
    let s = &results.settings;
    let spread: Vec<Value> = results
        .spread
        .iter()
        .map(|c| {
            json!({
                "server": c.server.as_str(),
                "mode": c.mode.as_str(),
                "n": c.n,
                "bursts_total": c.total,
                "bursts_ok": c.ok(),
                "p50_ns": c.p50_ns(),
                "p95_ns": c.p95_ns(),
                "p50_us": c.p50_ns().map(|v| v as f64 / 1000.0),
                "p95_us": c.p95_ns().map(|v| v as f64 / 1000.0),
                "one_write_bursts": (c.mode == BurstMode::SinglePacket).then_some(c.one_write),
                "stream_limit": c.stream_limit,
                "max_batches": c.max_batches,
                "failures": c.failures,
                "spreads_ns": c.spreads_ns,
            })
        })
        .collect();
    let win: Vec<Value> = results
        .win
        .iter()
        .map(|c| {
            json!({
                "server": c.server.as_str(),
                "window_kind": c.kind.as_str(),
                "mode": c.mode.as_str(),
                "n": c.n,
                "window_us": c.window_us,
                "bursts_total": c.total,
                "wins": c.wins,
                "win_percent": c.percent(),
                "successes_per_burst": c.successes,
                "failures": c.failures,
            })
        })
        .collect();
    json!({
        "benchmark": "race-bench",
        "machine": results.machine.to_json(),
        "started_unix": results.started_unix,
        "elapsed_s": results.elapsed.as_secs_f64(),
        "loadavg_at_end": results.loadavg_end,
        "settings": {
            "bursts": s.bursts,
            "sizes": s.sizes,
            "settle_ms": s.settle.as_millis() as u64,
            "win_n": s.win_n,
            "windows_us": s.windows_us,
            "quick": s.quick,
            "burst_timeout_s": 30,
        },
        "spread": spread,
        "win_rate": win,
        "single_packet_to_naive_p50_at_n20": Server::ALL
            .iter()
            .map(|&server| (server.as_str(), single_packet_to_naive(results, server, RATIO_N)))
            .collect::<std::collections::BTreeMap<_, _>>(),
    })
}

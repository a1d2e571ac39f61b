//! Generates a 2,000-operation OpenAPI 3.0 spec, loads it and builds a request
//! for every operation; prints wall times and peak RSS (VmHWM).
//!
//! `cargo run --release -p mortar-spec --example load_bench [operations] [--emit FILE]`
//!
//! `--emit FILE` also writes the generated document, so the whole CLI path
//! (`mortar scan --spec FILE --dry-run`) can be measured on the same input.

use mortar_spec::{NoRefSource, RequestOptions, build_request, load_bytes, testgen};
use std::time::Instant;

fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let spec = testgen::generate_openapi30(n);
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--emit") {
        let Some(path) = args.get(at + 1) else {
            eprintln!("--emit needs a file name");
            std::process::exit(2);
        };
        if let Err(e) = std::fs::write(path, &spec) {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(2);
        }
    }
    let t0 = Instant::now();
    let api = match load_bytes(spec.as_bytes(), "generated.json", &NoRefSource) {
        Ok(api) => api,
        Err(e) => {
            eprintln!("load failed: {e}");
            std::process::exit(1);
        }
    };
    let load = t0.elapsed();
    let t1 = Instant::now();
    let opts = RequestOptions::default();
    let mut bytes = 0usize;
    for op in &api.operations {
        let r = build_request(&api, op, &opts);
        bytes += r.path_and_query.len() + r.body.map_or(0, |b| b.len());
    }
    let synth = t1.elapsed();
    println!(
        "spec {} bytes, {} operations: load {:.1} ms, synthesize {} requests {:.1} ms ({} bytes), total {:.1} ms, peak RSS (VmHWM) {}",
        spec.len(),
        api.operations.len(),
        load.as_secs_f64() * 1e3,
        api.operations.len(),
        synth.as_secs_f64() * 1e3,
        bytes,
        (load + synth).as_secs_f64() * 1e3,
        vm_hwm()
    );
}

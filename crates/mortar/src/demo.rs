//! `mortar lab` and `mortar demo`: the lab as ground truth, and the scanner measured against it.

use crate::cli::{DemoArgs, LabArgs};
use crate::error::exit;
use crate::{Invocation, emit, error_line, parse_scan_args, scan};
use futures::StreamExt;
use mortar_lab::{Expected, Lab, LabOptions, LabTarget};
use mortar_model::{Report, Severity};
use std::io::Write;

/// `mortar lab`: start, print one JSON line per target, serve until killed or `--max-lifetime`.
pub async fn lab_command(args: &LabArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let max_lifetime = match args.max_lifetime.as_deref().map(crate::config::parse_duration).transpose() {
        Ok(d) => d,
        Err(e) => {
            error_line(stderr, &format!("--max-lifetime: {e}"));
            return exit::ERROR;
        }
    };
    let lab = match Lab::start(LabOptions { max_lifetime }).await {
        Ok(lab) => lab,
        Err(e) => {
            error_line(stderr, &crate::error::one_line(&anyhow::Error::new(e).context("cannot start the lab")));
            return exit::ERROR;
        }
    };
    let mut lines = String::new();
    for target in lab.targets() {
        lines.push_str(&target.to_json_line());
        lines.push('\n');
    }
    if emit(stdout, lines.as_bytes()).is_err() {
        lab.shutdown();
        return exit::ERROR;
    }
    // Not a target (nothing to find there), so not on stdout: for `mortar race` and benchmarks.
    let bench = lab.bench();
    let line = format!("mortar lab: benchmark endpoints at {}, {} and {}\n", bench.tls, bench.plain, bench.actix_tls);
    let _ = emit(stderr, line.as_bytes());
    tokio::select! {
        _ = lab.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    lab.shutdown();
    exit::OK
}

/// How one lab target's scan measured up.
#[derive(Debug, Clone)]
pub struct TargetScore {
    /// `scenario/variant`.
    pub name: String,
    /// Expected entries found.
    pub found: usize,
    /// Expected entries.
    pub expected: usize,
    /// Expected entries not found.
    pub missed: Vec<String>,
    /// Findings of low severity or above outside expected and allowed.
    pub unexpected: Vec<String>,
    /// Findings that matched an `allowed` entry, with its reason.
    pub allowed: Vec<String>,
    /// Scan error, if the scan could not run.
    pub error: Option<String>,
}

impl TargetScore {
    /// Whether this target is fully as expected.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.missed.is_empty() && self.unexpected.is_empty()
    }
}

fn expected_matches(expected: &Expected, report: &Report) -> bool {
    match expected {
        Expected::Check(check) => report.findings.iter().any(|f| &f.check == check),
        Expected::At { check, method, path } => report.findings.iter().any(|f| {
            &f.check == check && f.affected.iter().any(|a| a.method.eq_ignore_ascii_case(method) && &a.path == path)
        }),
    }
}

fn expected_label(expected: &Expected) -> String {
    match expected {
        Expected::Check(check) => check.clone(),
        Expected::At { check, method, path } => format!("{check} at {method} {path}"),
    }
}

/// Recall and precision of one report against its lab target's ground truth.
pub fn score_target(target: &LabTarget, report: &Report) -> TargetScore {
    let missed: Vec<String> =
        target.expected.iter().filter(|e| !expected_matches(e, report)).map(expected_label).collect();
    let expected_checks: Vec<&str> = target
        .expected
        .iter()
        .map(|e| match e {
            Expected::Check(c) | Expected::At { check: c, .. } => c.as_str(),
        })
        .collect();
    let mut unexpected = Vec::new();
    let mut allowed = Vec::new();
    for f in report.findings.iter().filter(|f| f.severity >= Severity::Low) {
        if expected_checks.contains(&f.check.as_str()) {
            continue;
        }
        match target.allowed.iter().find(|a| a.check == f.check) {
            Some(a) => allowed.push(format!("{}: {}", f.check, a.reason)),
            None => unexpected.push(format!("{} ({})", f.check, f.severity)),
        }
    }
    TargetScore {
        name: format!("{}/{}", target.scenario, target.variant.as_str()),
        found: target.expected.len() - missed.len(),
        expected: target.expected.len(),
        missed,
        unexpected,
        allowed,
        error: None,
    }
}

/// Scans one lab target with its own `scan_args`, as a user would, except
/// that race plans run 10 rounds: a race is confirmed with a probability per
/// round, and the demo must not miss one by chance on a busy machine (the
/// 3-round figure is the serial race test's and BENCHMARKS.md's).
pub async fn scan_target(target: &LabTarget) -> Result<Report, String> {
    let mut args = vec![target.url.clone()];
    args.extend(target.scan_args.iter().cloned());
    args.extend(["--race-rounds".to_string(), "10".to_string()]);
    let scan_args = parse_scan_args(&args).map_err(|e| e.to_string())?;
    let settings = scan::resolve(&scan_args, &Default::default()).map_err(|e| e.to_string())?;
    mortar_scan::run(&settings.options)
        .await
        .map(|outcome| outcome.report)
        .map_err(|e| crate::error::one_line(&anyhow::Error::new(e)))
}

/// The recall/precision table.
pub fn table(scores: &[TargetScore]) -> String {
    let mut out = String::new();
    let width = scores.iter().map(|s| s.name.len()).max().unwrap_or(6).max(6);
    out.push_str(&format!("{:<width$}  {:>8}  {:>9}  {}\n", "target", "recall", "precision", "result"));
    let (mut found, mut expected, mut clean) = (0, 0, 0);
    for s in scores {
        found += s.found;
        expected += s.expected;
        let recall = if s.expected == 0 { "-".to_string() } else { format!("{}/{}", s.found, s.expected) };
        let precision = if s.unexpected.is_empty() && s.error.is_none() { "ok" } else { "FAIL" };
        if s.unexpected.is_empty() && s.error.is_none() {
            clean += 1;
        }
        let mut result = if s.ok() { "as expected".to_string() } else { String::new() };
        if let Some(e) = &s.error {
            result = format!("scan failed: {e}");
        }
        if !s.missed.is_empty() {
            result.push_str(&format!("missed: {} ", s.missed.join(", ")));
        }
        if !s.unexpected.is_empty() {
            result.push_str(&format!("unexpected: {}", s.unexpected.join(", ")));
        }
        out.push_str(&format!("{:<width$}  {:>8}  {:>9}  {}\n", s.name, recall, precision, result.trim_end()));
        for a in &s.allowed {
            out.push_str(&format!("{:<width$}  allowed {a}\n", ""));
        }
    }
    let recall = if expected == 0 { 100.0 } else { 100.0 * found as f64 / expected as f64 };
    out.push_str(&format!(
        "\nrecall {found}/{expected} ({recall:.0}%), precision: {clean} of {} targets with no unexpected finding\n",
        scores.len()
    ));
    out
}

/// How many lab targets `mortar demo` scans at once.
const DEMO_SCANS_AT_ONCE: usize = 3;

/// `mortar demo`.
pub async fn demo_command(
    args: &DemoArgs,
    invocation: &Invocation,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    let lab = match Lab::start(LabOptions::default()).await {
        Ok(lab) => lab,
        Err(e) => {
            error_line(stderr, &crate::error::one_line(&anyhow::Error::new(e).context("cannot start the lab")));
            return exit::ERROR;
        }
    };
    let color = invocation.stdout_is_terminal && !invocation.env.contains_key("NO_COLOR");
    let mut scores = Vec::new();
    // A scan mostly waits on its targets (timeouts, race rounds, handshakes),
    // so a few run at once; `buffered` keeps the output in the lab's order.
    let mut scans = futures::stream::iter(lab.targets())
        .map(|target| async move { (target, scan_target(target).await) })
        .buffered(DEMO_SCANS_AT_ONCE);
    while let Some((target, scanned)) = scans.next().await {
        let score = match scanned {
            Ok(report) => {
                if !args.table_only {
                    let title = format!("== {} ({}) {}\n", target.scenario, target.variant.as_str(), target.url);
                    let summary = mortar_report::render_summary(&report, &mortar_report::SummaryOptions { color });
                    let _ = emit(stdout, format!("{title}{summary}\n").as_bytes());
                }
                score_target(target, &report)
            }
            Err(e) => TargetScore {
                name: format!("{}/{}", target.scenario, target.variant.as_str()),
                found: 0,
                expected: target.expected.len(),
                missed: target.expected.iter().map(expected_label).collect(),
                unexpected: Vec::new(),
                allowed: Vec::new(),
                error: Some(e),
            },
        };
        scores.push(score);
    }
    drop(scans);
    lab.shutdown();
    let _ = emit(stdout, table(&scores).as_bytes());
    if scores.iter().all(TargetScore::ok) { exit::OK } else { exit::FAILED }
}

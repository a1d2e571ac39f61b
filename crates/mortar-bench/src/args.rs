//! The command line of `race-bench`, parsed by hand (no extra dependency).

use std::path::PathBuf;
use std::time::Duration;

/// Usage text, printed by `--help`.
pub const USAGE: &str = "\
race-bench: measures mortar's synchronized bursts against the in-process lab (127.0.0.1 only),
the same endpoints on axum (hyper) and on actix-web

Usage: race-bench [--bursts N] [--settle-ms MS] [--win-n N] [--json FILE] [--quick]

  --bursts N      bursts per measured cell (default 100; 10 with --quick)
  --settle-ms MS  pause between the partial requests and the release (default 20)
  --win-n N       requests per burst in the win-rate part (default 20)
  --json FILE     also write every figure as JSON to FILE
  --quick         smoke run: 10 bursts, N in 2, 10, 20
  -h, --help      this text";

/// Largest accepted `--bursts`: keeps a typo from running for days.
const MAX_BURSTS: usize = 10_000;
/// Largest accepted `--settle-ms`.
const MAX_SETTLE_MS: u64 = 10_000;
/// Largest accepted `--win-n`: the naive and last-byte modes open one connection per request.
const MAX_WIN_N: usize = 200;

/// Burst sizes of the spread part in a full run.
pub const FULL_SIZES: [usize; 5] = [2, 10, 20, 50, 100];
/// Burst sizes of the spread part with `--quick`.
pub const QUICK_SIZES: [usize; 3] = [2, 10, 20];
/// Check-to-use windows of the win-rate part, in microseconds.
pub const WINDOWS_US: [u64; 3] = [1000, 100, 10];

/// What one run measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Bursts per (mode, N) cell and per (mode, window) cell.
    pub bursts: usize,
    /// Burst sizes of the spread part.
    pub sizes: Vec<usize>,
    /// `BurstOptions::settle`.
    pub settle: Duration,
    /// Requests per burst in the win-rate part.
    pub win_n: usize,
    /// Check-to-use windows of the win-rate part, in microseconds.
    pub windows_us: Vec<u64>,
    /// Where to write the JSON figures, if anywhere.
    pub json: Option<PathBuf>,
    /// Whether `--quick` was given.
    pub quick: bool,
}

/// The outcome of parsing the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the benchmark.
    Run(Settings),
    /// Print [`USAGE`] and stop.
    Help,
}

/// Parses the arguments after the program name. The error is one line, ready
/// to print after `race-bench: `.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut bursts = None;
    let mut settle_ms = 20;
    let mut win_n = 20;
    let mut json = None;
    let mut quick = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{name} needs a value (see --help)"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--quick" if inline.is_none() => quick = true,
            "--bursts" => bursts = Some(number(&value("--bursts")?, "--bursts", 1, MAX_BURSTS as u64)? as usize),
            "--settle-ms" => settle_ms = number(&value("--settle-ms")?, "--settle-ms", 0, MAX_SETTLE_MS)?,
            "--win-n" => win_n = number(&value("--win-n")?, "--win-n", 2, MAX_WIN_N as u64)? as usize,
            "--json" => {
                let path = value("--json")?;
                if path.is_empty() {
                    return Err("--json needs a file name".into());
                }
                json = Some(PathBuf::from(path));
            }
            _ => return Err(format!("unknown argument `{arg}` (see --help)")),
        }
    }
    let sizes = if quick { QUICK_SIZES.to_vec() } else { FULL_SIZES.to_vec() };
    Ok(Command::Run(Settings {
        bursts: bursts.unwrap_or(if quick { 10 } else { 100 }),
        sizes,
        settle: Duration::from_millis(settle_ms),
        win_n,
        windows_us: WINDOWS_US.to_vec(),
        json,
        quick,
    }))
}

/// A decimal integer within `min..=max`.
fn number(text: &str, flag: &str, min: u64, max: u64) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{flag} expects a whole number from {min} to {max}, got `{text}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_are_read_and_bad_ones_refused() {
        let Ok(Command::Run(s)) = parse(&["--quick", "--bursts=3", "--settle-ms", "0", "--json", "out.json"]) else {
            panic!("valid flags refused");
        };
        assert_eq!(
            (s.bursts, s.sizes, s.settle, s.json),
            (3, vec![2, 10, 20], Duration::ZERO, Some("out.json".into()))
        );
        for bad in [&["--bursts", "0"][..], &["--bursts"], &["--win-n", "x"], &["--nope"], &["--quick=1"]] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}

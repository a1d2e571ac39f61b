//! `race-bench`: see the `mortar_bench` library for what it measures.
//!
//! Exit codes: 0 done, 1 the run failed, 2 bad command line.

use mortar_bench::args::{Command, USAGE, parse_args};
use mortar_bench::{machine::Machine, report, run};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let settings = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(settings)) => settings,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("race-bench: {message}");
            return ExitCode::from(2);
        }
    };
    // Created now so a bad path fails before minutes of measuring.
    let mut json_file = match &settings.json {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Some(file),
            Err(e) => {
                eprintln!("race-bench: cannot create {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    // The client runtime only awaits: each burst runs on its own thread and
    // the lab on its own, so one thread here keeps the 2 cores for them.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("race-bench: cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let results = match runtime.block_on(run::run(&settings, Machine::read())) {
        Ok(results) => results,
        Err(message) => {
            eprintln!("race-bench: {message}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", report::table(&results));
    if let (Some(file), Some(path)) = (json_file.as_mut(), &settings.json) {
        let text = serde_json::to_string_pretty(&report::to_json(&results)).unwrap_or_default();
        if let Err(e) = file.write_all(text.as_bytes()).and_then(|()| file.write_all(b"\n")) {
            eprintln!("race-bench: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        run::progress(&format!("figures written to {}", path.display()));
    }
    ExitCode::SUCCESS
}

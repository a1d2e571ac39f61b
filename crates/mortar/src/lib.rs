//! The `mortar` program as a library: [`run`] takes the arguments, environment
//! and output streams, so tests drive the whole program in-process.

pub mod cli;
pub mod config;
#[cfg(feature = "lab")]
pub mod demo;
pub mod diff;
pub mod error;
pub mod identity;
pub mod options;
pub mod race;
pub mod scan;
pub mod tls_audit;

use clap::Parser;
use cli::{Cli, Command};
use error::{UsageError, exit};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;

/// One run of the program.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// Arguments, program name first.
    pub args: Vec<OsString>,
    /// Environment variables (`MORTAR_*`, `NO_COLOR`, and those named by `env:` values).
    pub env: BTreeMap<String, String>,
    /// Whether stdout is a terminal (colours).
    pub stdout_is_terminal: bool,
    /// Whether stderr is a terminal (progress).
    pub stderr_is_terminal: bool,
}

impl Invocation {
    /// An invocation with these arguments (program name added) and an empty environment.
    pub fn args<I, S>(args: I) -> Invocation
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut all = vec![OsString::from("mortar")];
        all.extend(args.into_iter().map(Into::into));
        Invocation { args: all, ..Invocation::default() }
    }
}

/// Writes to an output stream; a closed pipe (`mortar scan ... | head`) is not an error.
pub(crate) fn emit(out: &mut dyn Write, bytes: &[u8]) -> std::io::Result<()> {
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Prints one error line: `mortar: <what>`.
pub(crate) fn error_line(stderr: &mut dyn Write, message: &str) {
    let _ = emit(stderr, format!("mortar: error: {message}\n").as_bytes());
}

/// Runs the program; returns the exit code.
pub async fn run(invocation: Invocation, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let cli = match Cli::try_parse_from(&invocation.args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = emit(stdout, e.render().to_string().as_bytes());
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand { exit::ERROR } else { exit::OK }
                }
                _ => {
                    // clap's message is several lines; the first says what is wrong.
                    let rendered = e.render().to_string();
                    let first = rendered.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
                    error_line(stderr, &format!("{first} (see mortar --help)"));
                    exit::ERROR
                }
            };
        }
    };
    match cli.command {
        Command::Scan(args) => scan_command(&args, &invocation, stdout, stderr).await,
        Command::Checks(args) => {
            let checks: Vec<_> = mortar_checks::CHECKS.iter().map(|c| c.info).collect();
            let text = match args.format.as_str() {
                "json" => mortar_report::render_checks_json(&checks),
                "markdown" => checks_markdown(&checks),
                _ => mortar_report::render_checks_text(&checks),
            };
            match emit(stdout, text.as_bytes()) {
                Ok(()) => exit::OK,
                Err(e) => {
                    error_line(stderr, &format!("cannot write output: {e}"));
                    exit::ERROR
                }
            }
        }
        #[cfg(feature = "lab")]
        Command::Lab(args) => demo::lab_command(&args, stdout, stderr).await,
        #[cfg(feature = "lab")]
        Command::Demo(args) => demo::demo_command(&args, &invocation, stdout, stderr).await,
        #[cfg(not(feature = "lab"))]
        Command::Lab(_) | Command::Demo(_) => {
            error_line(stderr, "this mortar was built without the lab (cargo feature `lab`)");
            exit::ERROR
        }
        Command::Race(args) => race::race_command(&args, &invocation, stdout, stderr).await,
        Command::Diff(args) => diff::diff_command(&args, stdout, stderr),
        Command::Tls(cli::TlsCommand::Audit(args)) => tls_audit::audit_command(&args, stdout, stderr),
        Command::Completions(args) => {
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut <Cli as clap::CommandFactory>::command(), "mortar", &mut out);
            write_or_fail(stdout, stderr, &out)
        }
        Command::Man => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out) {
                Ok(()) => write_or_fail(stdout, stderr, &out),
                Err(e) => {
                    error_line(stderr, &format!("cannot render the man page: {e}"));
                    exit::ERROR
                }
            }
        }
    }
}

async fn scan_command(
    args: &cli::ScanArgs,
    invocation: &Invocation,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    let settings = match scan::resolve(args, &invocation.env) {
        Ok(s) => s,
        Err(e) => {
            error_line(stderr, &e.to_string());
            return exit::ERROR;
        }
    };
    if settings.dry_run {
        return match mortar_scan::plan(&settings.options).await {
            Ok(plan) => {
                let _ = emit(stdout, plan.render().as_bytes());
                exit::OK
            }
            Err(e) => {
                error_line(stderr, &error::one_line(&anyhow::Error::new(e)));
                exit::ERROR
            }
        };
    }
    if invocation.stderr_is_terminal {
        let _ = emit(
            stderr,
            format!("mortar: scanning {} ({} profile)...\n", settings.options.target.url, settings.options.profile)
                .as_bytes(),
        );
    }
    let outcome = match mortar_scan::run(&settings.options).await {
        Ok(done) => done,
        Err(e) => {
            error_line(stderr, &error::one_line(&anyhow::Error::new(e)));
            return exit::ERROR;
        }
    };
    let report = &outcome.report;
    let catalogue: Vec<mortar_model::CheckInfo> = mortar_checks::registry::CHECKS.iter().map(|c| c.info).collect();
    let render = |format, color| {
        let options = mortar_report::RenderOptions {
            color,
            catalogue: &catalogue,
            spec_locations: &outcome.spec_locations,
            fail_on: settings.gates.fail_on.unwrap_or(mortar_model::Severity::High),
        };
        mortar_report::render(report, format, &options)
    };
    for (format, path) in &settings.reports {
        if let Err(e) = std::fs::write(path, render(*format, false)) {
            error_line(stderr, &format!("cannot write report {}: {e}", path.display()));
            return exit::ERROR;
        }
    }
    let color = invocation.stdout_is_terminal && settings.output.is_none() && !invocation.env.contains_key("NO_COLOR");
    let main = render(settings.format, color);
    let written = match &settings.output {
        Some(path) => std::fs::write(path, main).map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => emit(stdout, main.as_bytes()).map_err(|e| format!("cannot write output: {e}")),
    };
    if let Err(e) = written {
        error_line(stderr, &e);
        return exit::ERROR;
    }
    let gates = settings.gates.evaluate(report.gate_score, &report.findings);
    if gates.passed {
        exit::OK
    } else {
        for failure in &gates.failures {
            let _ = emit(stderr, format!("mortar: gate failed: {failure}\n").as_bytes());
        }
        exit::FAILED
    }
}

/// The check catalogue as Markdown (committed as docs/checks.md).
pub fn checks_markdown(checks: &[mortar_model::CheckInfo]) -> String {
    let mut out = String::from(
        "# Check catalogue\n\nGenerated by `mortar checks --format markdown` from the registry \
         (`crates/mortar-checks/src/registry.rs`); do not edit by hand.\n",
    );
    for c in checks {
        out.push_str(&format!(
            "\n## `{}`\n\n{}\n\n| category | default severity | profile | OWASP API | CWE |\n|---|---|---|---|---|\n| {} | {} | {} | {} | {} |\n\n{}\n\n**Fix.** {}\n\n- actix-web: {}\n- axum: {}\n",
            c.id,
            c.title,
            c.category.id(),
            c.severity,
            c.profile,
            c.references.owasp_api.join(", "),
            c.references.cwe.join(", "),
            c.description,
            c.remediation.summary,
            c.remediation.actix_web,
            c.remediation.axum,
        ));
    }
    out
}

/// Parses `scan` arguments the way the command line does (used by the demo).
pub fn parse_scan_args(args: &[String]) -> Result<cli::ScanArgs, UsageError> {
    let mut argv = vec!["mortar".to_string(), "scan".to_string()];
    argv.extend(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(Cli { command: Command::Scan(args), .. }) => Ok(*args),
        Ok(_) => Err(UsageError::new("not a scan command")),
        Err(e) => Err(UsageError::new(e.render().to_string().lines().next().unwrap_or("invalid arguments"))),
    }
}

/// The program's entry point for the binary: real argv, environment and streams.
pub fn main_entry() -> i32 {
    use std::io::IsTerminal;
    let args: Vec<OsString> = std::env::args_os().collect();
    let verbosity = args
        .iter()
        .filter_map(|a| a.to_str())
        .map(|a| match a {
            "--verbose" => 1,
            a if a.starts_with('-') && !a.starts_with("--") && a[1..].chars().all(|c| c == 'v') => a.len() - 1,
            _ => 0,
        })
        .sum::<usize>();
    let level = match verbosity {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .try_init();
    let invocation = Invocation {
        args,
        env: std::env::vars().collect(),
        stdout_is_terminal: std::io::stdout().is_terminal(),
        stderr_is_terminal: std::io::stderr().is_terminal(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mortar: error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    runtime.block_on(run(invocation, &mut stdout, &mut stderr))
}

/// Writes generated output; a closed pipe ends quietly (0), other write errors are exit 2.
fn write_or_fail(stdout: &mut dyn Write, stderr: &mut dyn Write, bytes: &[u8]) -> i32 {
    match emit(stdout, bytes) {
        Ok(()) => exit::OK,
        Err(e) => {
            error_line(stderr, &format!("cannot write output: {e}"));
            exit::ERROR
        }
    }
}

//! The command line (contract: these names are stable).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// mortar: an API security scanner that proves what it finds.
#[derive(Debug, Parser)]
#[command(name = "mortar", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More logs on stderr (-v info, -vv debug). Default: warnings only.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// mortar's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan one API. Exit 0: every gate passed; 1: a gate failed; 2: could not scan.
    Scan(Box<ScanArgs>),
    /// Start the built-in lab, scan every target, print each report and a recall/precision table.
    Demo(DemoArgs),
    /// Start the lab targets on 127.0.0.1, print one JSON line per target, serve until killed.
    Lab(LabArgs),
    /// List every check: id, category, default severity, profile, description.
    Checks(ChecksArgs),
    /// Send one synchronized burst of a request (or a small set) and show what came back.
    /// Exit 0: the burst was sent; 2: it could not be.
    Race(Box<RaceArgs>),
    /// Compare two JSON reports. Exit 0: nothing new; 1: new findings; 2: bad input.
    Diff(DiffArgs),
    /// TLS file tools: `mortar tls audit FILES...`.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell), made from these definitions.
    Completions(CompletionsArgs),
    /// Print the man page (roff), made from the same definitions as --help.
    Man,
}

/// `mortar completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `mortar race`.
#[derive(Debug, Args, Default)]
pub struct RaceArgs {
    /// Target URL (with --request: the scheme, host and port to send to; default: https and the file's Host).
    pub url: Option<String>,
    /// A raw HTTP request file (repeatable: the burst cycles through them).
    #[arg(long, value_name = "FILE")]
    pub request: Vec<PathBuf>,
    /// A curl command line, quoted as one argument (repeatable).
    #[arg(long, value_name = "'curl ...'")]
    pub curl: Vec<String>,
    /// Method for URL.
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,
    /// Body for URL (as curl --data-binary; @FILE reads a file).
    #[arg(short = 'd', long, value_name = "BODY")]
    pub data: Option<String>,
    /// Requests in the burst [default: 20].
    #[arg(short = 'n', long = "count", value_name = "N")]
    pub count: Option<usize>,
    /// auto | single-packet | last-byte | naive [default: auto: single-packet when the server speaks HTTP/2].
    #[arg(long, value_name = "ENGINE")]
    pub engine: Option<String>,
    /// Statuses that count as success: codes or classes, comma-separated [default: 2xx].
    #[arg(long, value_name = "CODES", default_value = "2xx")]
    pub success: String,
    /// The most successes the action should allow; more is reported as exceeded.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Identity with a header: NAME=HEADER:VALUE (the first identity sends the burst).
    #[arg(long, value_name = "NAME=HEADER:VALUE")]
    pub identity: Vec<String>,
    /// Identity with a client certificate: NAME=CERT.pem,KEY.pem.
    #[arg(long, value_name = "NAME=CERT,KEY")]
    pub identity_cert: Vec<String>,
    /// Header for the identity `default`: HEADER:VALUE (@file and env:VAR allowed).
    #[arg(short = 'H', long, value_name = "HEADER:VALUE")]
    pub header: Vec<String>,
    /// Trust this CA (PEM) for the target.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Fail on an untrusted server certificate.
    #[arg(long)]
    pub strict_tls: bool,
    /// Time limit for the burst, e.g. 10s [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Pause between the partial requests and the release, e.g. 100ms [default: 100ms].
    #[arg(long, value_name = "DURATION")]
    pub settle: Option<String>,
    /// `text` or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// `mortar tls ...`.
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Audit a server's own certificate and key files (PEM): key readable by others, key size and
    /// algorithm, expiry within 30 days, chain not verifying against --ca, key not matching the
    /// certificate. Exit 0: clean; 1: findings; 2: unreadable or malformed input.
    Audit(TlsAuditArgs),
}

/// `mortar tls audit`.
#[derive(Debug, Args)]
pub struct TlsAuditArgs {
    /// Certificate and key files (PEM), in any order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Verify the chain against this CA certificate (PEM).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// `text` or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// `mortar diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier JSON report.
    pub old: PathBuf,
    /// The later JSON report.
    pub new: PathBuf,
    /// `text`, `json` or `markdown`.
    #[arg(long, default_value = "text", value_parser = ["text", "json", "markdown"])]
    pub format: String,
}

/// `mortar checks`.
#[derive(Debug, Args)]
pub struct ChecksArgs {
    /// `text` (a table), `json`, or `markdown` (the catalogue in docs/checks.md).
    #[arg(long, default_value = "text", value_parser = ["text", "json", "markdown"])]
    pub format: String,
}

/// `mortar lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// Stop after this long (e.g. `90s`, `10m`); default: until killed.
    #[arg(long, value_name = "DURATION")]
    pub max_lifetime: Option<String>,
}

/// `mortar demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print only the recall/precision table, not each report.
    #[arg(long)]
    pub table_only: bool,
}

/// `mortar scan`: every option of the table ([`crate::options::OPTIONS`]) can
/// also come from mortar.toml or `MORTAR_*`; identities given as flags add to
/// the file's.
#[derive(Debug, Args, Default)]
pub struct ScanArgs {
    /// mortar.toml with any of these options (flags win over the file and MORTAR_* variables).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Identity with a header: NAME=HEADER:VALUE (repeatable). VALUE may be @file or env:VAR.
    #[arg(long, value_name = "NAME=HEADER:VALUE")]
    pub identity: Vec<String>,
    /// Identity with a client certificate: NAME=CERT.pem,KEY.pem (repeatable).
    #[arg(long, value_name = "NAME=CERT,KEY")]
    pub identity_cert: Vec<String>,
    /// Header for the identity `default`: HEADER:VALUE (repeatable; @file and env:VAR allowed).
    #[arg(long, value_name = "HEADER:VALUE")]
    pub header: Vec<String>,
    /// Client certificate (PEM) for the identity `default`.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// Client key (PEM) for the identity `default`.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Print the plan (operations with their exact request lines, identities, checks) and send nothing but
    /// the GET of a description given by URL.
    #[arg(long)]
    pub dry_run: bool,
    /// The options of the table.
    #[command(flatten)]
    pub options: crate::options::OptionFlags,
}

//! Facts about the machine a run happened on, read without extra tools.

use serde_json::{Value, json};

/// What the figures were measured on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// `std::thread::available_parallelism` (what `nproc` shows).
    pub cpus: Option<usize>,
    /// The first "model name" of /proc/cpuinfo.
    pub cpu_model: Option<String>,
    /// /proc/sys/kernel/osrelease.
    pub kernel: Option<String>,
    /// The command line, shell-quoted where needed.
    pub command: String,
    /// /proc/loadavg when the facts were read: other load on the machine skews every figure.
    pub loadavg: Option<String>,
}

impl Machine {
    /// Reads the facts; a fact that cannot be read is `None`, never an error.
    pub fn read() -> Machine {
        let cpus = std::thread::available_parallelism().ok().map(|n| n.get());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|text| {
            text.lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(key, _)| key.trim() == "model name")
                .map(|(_, value)| value.trim().to_string())
        });
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string());
        let command = std::env::args().map(|a| shell_quote(&a)).collect::<Vec<_>>().join(" ");
        Machine { cpus, cpu_model, kernel, command, loadavg: loadavg() }
    }

    /// The facts as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "cpus": self.cpus,
            "cpu_model": self.cpu_model,
            "kernel": self.kernel,
            "command": self.command,
            "loadavg_at_start": self.loadavg,
        })
    }
}

/// The first three fields of /proc/loadavg (1, 5 and 15 minute averages).
pub fn loadavg() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Quotes an argument for a POSIX shell when it holds anything but plain characters.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain { arg.to_string() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

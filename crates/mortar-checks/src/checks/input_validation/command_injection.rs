//! `input-validation.command-injection`: an input that ends up in a shell
//! command line, proven by the shell doing arithmetic the payload only asks for.
//!
//! Each input (path and query parameters, JSON body properties) gets the
//! original value followed by a command separator (`;`, `|`, newline, `$(..)`,
//! backticks, and the same after a closing quote) and `echo mrtr$((A*B))z`.
//! The payload spells the factors, never the product: the product framed by
//! the marker letters in the answer is what a shell's arithmetic expansion
//! writes, and it must follow other factors when sent again. The only command
//! sent is `echo`. Active profile; at most [`MAX_INPUTS`] inputs per scan and
//! [`MAX_REQUESTS_PER_INPUT`] requests per input.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::inject::{MarkerCheck, MarkerForm, run_marker_check};
use mortar_model::{Category, CheckInfo, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "input-validation.command-injection",
        category: Category::InputValidation,
        severity: Severity::Critical,
        profile: Profile::Active,
        title: "OS command injection: an input is run by a shell",
        description: "Appends a command separator (`;`, `|`, newline, `$(..)`, backticks, and the same after a \
            closing quote) and `echo mrtr$((A*B))z` to each path, query and JSON body input of the operations \
            (at most 60 per scan, 10 requests each). Reported when the answer carries the product of A and B \
            framed by the marker, which the payload never spells and the original answer does not carry, and \
            carries the new product when sent again with other factors. The only command sent is `echo`.",
        remediation: Remediation {
            summary: "Never build a shell command line from input: run the program directly with the input as \
                one argument (no shell), validate it against what it must be (a host name, a file name), and \
                prefer a library call to a process.",
            actix_web: "Use `std::process::Command::new(\"program\").arg(&value)` (or `tokio::process::Command`), \
                never `Command::new(\"sh\").arg(\"-c\").arg(format!(..))`; validate the `web::Path`/`web::Query` \
                value with a newtype that refuses anything but the expected characters, answering 400.",
            axum: "Use `tokio::process::Command::new(\"program\").arg(&value)` with no shell in between, never \
                `sh -c` with a formatted string; validate the `Path`/`Query` extractor's value (a newtype with a \
                strict pattern) and refuse the rest with 400.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-78"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Inputs probed per scan.
pub const MAX_INPUTS: usize = 60;
/// Requests per input at most: the original, one per form, one to confirm.
pub const MAX_REQUESTS_PER_INPUT: usize = 10;
/// The separators a POSIX shell honours, each followed by the marker's `echo`.
const FORMS: &[MarkerForm] = &[
    MarkerForm { name: "`;` separator", build: |v, a, b| format!("{v};echo mrtr$(({a}*{b}))z") },
    MarkerForm { name: "pipe", build: |v, a, b| format!("{v}|echo mrtr$(({a}*{b}))z") },
    MarkerForm { name: "newline", build: |v, a, b| format!("{v}\necho mrtr$(({a}*{b}))z") },
    MarkerForm { name: "command substitution", build: |v, a, b| format!("{v}$(echo mrtr$(({a}*{b}))z)") },
    MarkerForm { name: "backticks", build: |v, a, b| format!("{v}`echo mrtr$(({a}*{b}))z`") },
    MarkerForm { name: "closed single quote", build: |v, a, b| format!("{v}';echo mrtr$(({a}*{b}))z;'") },
    MarkerForm { name: "closed double quote", build: |v, a, b| format!("{v}\";echo mrtr$(({a}*{b}))z;\"") },
];

/// The check's probe and words.
static MARKER: MarkerCheck = MarkerCheck {
    check: CHECK.info.id,
    forms: FORMS,
    max_inputs: MAX_INPUTS,
    max_requests: MAX_REQUESTS_PER_INPUT,
    found: "run by a shell",
    evaluated_as: "run by a shell",
    writer: "the shell's arithmetic",
    impact: "Anyone who can call the operation runs commands on the server as its process.",
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    run_marker_check(&ctx, &reporter, &MARKER).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::inject::marker;

    #[test]
    fn no_form_spells_its_product_and_each_only_echoes() {
        for form in FORMS {
            let value = (form.build)("db.internal", 4127, 7);
            assert!(value.starts_with("db.internal"), "{}", form.name);
            assert!(!value.contains(&marker(4127 * 7)), "{}: {value}", form.name);
            assert!(value.contains("echo mrtr$((4127*7))z"), "{}: {value}", form.name);
            for word in ["rm ", "curl", "wget", "sleep", ">"] {
                assert!(!value.contains(word), "{}: {value}", form.name);
            }
        }
    }
}

//! `input-validation.path-traversal`: an input that names a file is resolved
//! outside the directory it is meant for, proven by the content of a file
//! every system has.
//!
//! Inputs that name a file (by their name: `file`, `path`, `picture`,
//! `template`, `attachment`...; or by their value: a path or a name with an
//! extension) of safe operations get `../` sequences that climb to the root
//! and then `etc/passwd` (plain, with `....//` for filters that strip `../`
//! once, percent-encoded once more for servers that decode twice, after the
//! original's directory, and absolute), and `..\` sequences to
//! `windows\win.ini`. Reported when the answer carries that file's content
//! (`root:x:0:0:`, or win.ini's sections), the original answer does not, and
//! a control path to a file that does not exist does not either: the
//! differential says the server read the file the payload named. Safe methods
//! only (a traversal in a write would write there). Active profile; at most
//! [`MAX_INPUTS`] inputs per scan and [`MAX_REQUESTS_PER_INPUT`] requests per
//! input.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::inject::{Input, InputProbe, Probed, planned_inputs, probe_each, report_all, with_value};
use crate::probes::spec::defined_at;
use mortar_engine::Exchange;
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "input-validation.path-traversal",
        category: Category::InputValidation,
        severity: Severity::High,
        profile: Profile::Active,
        title: "Path traversal: an input reads files outside the directory it names",
        description: "For inputs that name a file (by name: file, path, picture, image, template, attachment...; \
            or by value: a path or a name with an extension) of safe operations (at most 60 per scan, 10 \
            requests each), sends `../` sequences to `etc/passwd` (plain, `....//`, percent-encoded twice, after \
            the original's directory, absolute) and `..\\` sequences to `windows\\win.ini`. Reported when the \
            answer carries that file's content (`root:x:0:0:` or win.ini's sections) that neither the original \
            answer nor a control path to a missing file carries. Nothing is written.",
        remediation: Remediation {
            summary: "Resolve a file from input only by a name you look up (an id in a table, an allow-list), \
                or refuse any name that is not a single plain file name; then canonicalise the joined path and \
                check it is still inside the directory before opening it.",
            actix_web: "Refuse the name unless `Path::new(&name).components()` are all `Component::Normal` (no \
                `..`, no root, no prefix), then `std::fs::canonicalize(base.join(&name))` and check \
                `starts_with(&base)`; `actix-files` `NamedFile` does not do this for a path you build yourself.",
            axum: "Refuse the name unless `Path::new(&name).components()` are all `Component::Normal`, then \
                canonicalise `base.join(&name)` and check `starts_with(&base)` before `tokio::fs::read`; or serve \
                the directory with `tower_http::services::ServeDir`, which refuses traversal.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-22"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Inputs probed per scan.
pub const MAX_INPUTS: usize = 60;
/// Requests per input at most: the original, the forms, the control.
pub const MAX_REQUESTS_PER_INPUT: usize = 10;
/// Inputs probed at once.
const CONCURRENT_INPUTS: usize = 4;
/// Enough `../` to reach the root from any directory a service runs in.
const CLIMB: usize = 10;

/// Words of an input's name that say it names a file.
const FILE_WORDS: &[&str] = &[
    "file",
    "filename",
    "filepath",
    "path",
    "pic",
    "picture",
    "image",
    "img",
    "photo",
    "avatar",
    "doc",
    "document",
    "attachment",
    "template",
    "page",
    "include",
    "folder",
    "dir",
    "directory",
    "download",
    "resource",
    "asset",
    "icon",
    "logo",
    "media",
    "upload",
    "report",
    "log",
    "view",
    "lang",
    "theme",
];

/// Whether `input` names a file: by a word of its name, or by its value (a
/// path, or a name ending in a short extension).
fn names_a_file(input: &Input) -> bool {
    if input.numeric || input.original.contains("://") || input.original.contains('@') {
        return false;
    }
    let name_says = crate::probes::pages::tokens(&split_camel(&input.name), |c| c.is_ascii_alphanumeric())
        .into_iter()
        .any(|(_, word)| FILE_WORDS.contains(&word));
    let value = &input.original;
    let value_says = value.contains('/')
        || value.contains('\\')
        || value.rsplit_once('.').is_some_and(|(stem, ext)| {
            !stem.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric())
                && !ext.bytes().all(|b| b.is_ascii_digit())
        });
    value_says || name_says
}

/// `pictureId` as `picture id`, lower case.
fn split_camel(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A target file and what proves its content is in an answer.
#[derive(Clone, Copy)]
enum Target {
    /// `/etc/passwd`: the root account's line.
    Passwd,
    /// `C:\windows\win.ini`: its sections.
    WinIni,
}

impl Target {
    fn describe(self) -> &'static str {
        match self {
            Target::Passwd => "/etc/passwd",
            Target::WinIni => "C:\\windows\\win.ini",
        }
    }

    fn is_in(self, exchange: &Exchange) -> bool {
        let body = String::from_utf8_lossy(&exchange.response.body);
        match self {
            // `root:x:0:0:` (shadowed) or `root:*:0:0:` (BSD, macOS): the uid and gid fields.
            Target::Passwd => body.match_indices("root:").any(|(at, _)| {
                let rest = &body[at + 5..];
                rest.split_once(':').is_some_and(|(password, rest)| {
                    password.len() <= 40 && !password.contains('\n') && rest.starts_with("0:0:")
                })
            }),
            Target::WinIni => body.contains("[fonts]") && body.contains("[extensions]"),
        }
    }
}

/// The payloads: (form, value, the file it names).
fn payloads(input: &Input) -> Vec<(&'static str, String, Target)> {
    let up = "../".repeat(CLIMB);
    let mut out = vec![
        ("`../` sequence", format!("{up}etc/passwd"), Target::Passwd),
        (
            "`....//` sequence (a filter that strips `../` once)",
            format!("{}etc/passwd", "....//".repeat(CLIMB)),
            Target::Passwd,
        ),
        ("`../` encoded twice", format!("{}etc%2fpasswd", "..%2f".repeat(CLIMB)), Target::Passwd),
        ("absolute path", "/etc/passwd".to_string(), Target::Passwd),
        ("`..\\` sequence", format!("{}windows\\win.ini", "..\\".repeat(CLIMB)), Target::WinIni),
    ];
    // A server that wants the value to start with its own directory.
    if let Some((dir, _)) = input.original.rsplit_once('/')
        && !dir.is_empty()
        && !dir.contains("..")
    {
        out.insert(1, ("`../` after the original's directory", format!("{dir}/{up}etc/passwd"), Target::Passwd));
    }
    out
}

/// What proves the traversal: the form, the value, and the three answers.
struct Traversed {
    form: &'static str,
    value: String,
    target: Target,
    read: Arc<Exchange>,
    control_value: String,
    control: Arc<Exchange>,
    original: Arc<Exchange>,
}

async fn probe(ctx: &ScanContext, op: &ScanOperation, input: Input) -> Probed<Traversed> {
    let mut probe = InputProbe::new(ctx, CHECK.info.id, op, &input, MAX_REQUESTS_PER_INPUT);
    let traversed = traverse(&mut probe).await;
    Probed::of(&probe, traversed)
}

async fn traverse(probe: &mut InputProbe<'_>) -> Option<Traversed> {
    let original = probe.send(&probe.input.original.clone()).await?;
    for (form, value, target) in payloads(probe.input) {
        if target.is_in(&original) {
            continue;
        }
        let Some(read) = probe.send(&value).await else { continue };
        if !target.is_in(&read) {
            continue;
        }
        // The same climb to a file that does not exist: a server that
        // answers every path with that content is not reading the one named.
        let control_value = value.replace("passwd", "mortar-absent-7f3a").replace("win.ini", "mortar-absent.ini");
        let control = probe.send(&control_value).await?;
        if target.is_in(&control) {
            return None;
        }
        return Some(Traversed { form, value, target, read, control_value, control, original });
    }
    None
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let (planned, skipped) =
        planned_inputs(&ctx, CHECK.info.id, MAX_INPUTS, |op, input| op.is_safe() && names_a_file(input)).await;
    if planned.is_empty() {
        return CheckVerdict::Skipped("no safe operation has an input that names a file".into());
    }
    let probed = probe_each(&ctx, planned, CONCURRENT_INPUTS, probe).await;
    report_all(
        &ctx,
        probed,
        (skipped, MAX_INPUTS),
        ("file input", "read outside their directory"),
        |op, input, found| report(&ctx, &reporter, op, input, found),
    )
}

fn report(ctx: &ScanContext, reporter: &Reporter, op: &ScanOperation, input: &Input, found: Traversed) {
    let place = if op.source.is_some() { format!(" (defined at {})", defined_at(op)) } else { String::new() };
    let file = found.target.describe();
    let description = format!(
        "{} {}{place}: its {} reads files outside the directory it names: set to `{}` ({}), the answer \
         carries the content of {file}, which neither the original value `{}` nor the same climb to a file \
         that does not exist (`{}`) brings. Anyone who can call the operation reads any file the server's \
         process can: configuration, keys, source.",
        op.endpoint.method,
        op.endpoint.path,
        input.describe(),
        found.value,
        found.form,
        input.original,
        found.control_value,
    );
    let evidence = vec![
        ctx.evidence(&found.read, format!("The content of {file}.")),
        ctx.evidence(&found.control, "A file that does not exist, by the same climb: not that content."),
        ctx.evidence(&found.original, "The original value."),
    ];
    let reproduce = ctx.curl(&with_value(ctx, op, input, &found.value));
    let mut observation = Observation::confirmed(op.endpoint.clone(), description, evidence, reproduce);
    observation.component = Some(input.name.clone());
    observation.confidence = Confidence::Confirmed;
    reporter.observe(observation);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, original: &str) -> Input {
        Input::query(name, original)
    }

    #[test]
    fn file_inputs_are_told_by_name_or_value() {
        assert!(names_a_file(&input("picture", "mortar")));
        assert!(names_a_file(&input("templateName", "invoice")));
        assert!(names_a_file(&input("name", "handbook.txt")));
        assert!(names_a_file(&input("q", "reports/2026/q3.csv")));
        assert!(!names_a_file(&input("name", "Ana")), "a plain name");
        assert!(!names_a_file(&input("beer_name", "Lager")), "a name that is not a file's");
        assert!(!names_a_file(&input("version", "1.5")), "a number with a dot");
        assert!(!names_a_file(&input("email", "ana@example.com")));
        assert!(!names_a_file(&input("url", "https://example.com/a.png")), "a URL is the SSRF check's");
        assert!(!names_a_file(&input("sort", "price")));
    }

    #[test]
    fn passwd_and_win_ini_are_recognised_and_an_echo_is_not() {
        let ex = |body: &str| crate::probes::fixture::exchange("http://127.0.0.1/f", 200, &[], body);
        assert!(Target::Passwd.is_in(&ex("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n")));
        assert!(Target::Passwd.is_in(&ex("##\nroot:*:0:0:System Administrator:/var/root:/bin/sh\n")));
        assert!(!Target::Passwd.is_in(&ex(r#"{"error":"no such file: ../../../../etc/passwd"}"#)));
        assert!(!Target::Passwd.is_in(&ex("root:x:1000:1000:not root")));
        assert!(Target::WinIni.is_in(&ex("; for 16-bit app support\r\n[fonts]\r\n[extensions]\r\n")));
        let payloads = payloads(&input("file", "img/logo.png"));
        assert!(payloads.iter().any(|(_, v, _)| v.starts_with("img/../")));
        assert!(payloads.iter().all(|(_, v, t)| !t.is_in(&ex(v))), "no payload carries its proof");
    }
}

//! The command line's contract: exit codes and one-line errors.

use crate::support::{closed_port, mortar};

fn one_line(stderr: &str) {
    assert_eq!(stderr.trim_end().lines().count(), 1, "expected one error line, got:\n{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_url_exits_2_with_one_line() {
    let out = mortar(&["scan", "not-a-url"], &[]).await;
    assert_eq!(out.code, 2);
    one_line(&out.stderr);
    assert!(out.stderr.contains("not-a-url"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_port_exits_2_with_one_line() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let out = mortar(&["scan", &url, "--timeout", "2s"], &[]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    one_line(&out.stderr);
    assert!(out.stderr.contains("no HTTP response"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn threshold_out_of_range_is_a_usage_error() {
    let out = mortar(&["scan", "https://127.0.0.1/", "--threshold", "101"], &[]).await;
    assert_eq!(out.code, 2);
    one_line(&out.stderr);
    assert!(out.stderr.contains("101"), "{}", out.stderr);
    let out = mortar(&["scan", "https://127.0.0.1/"], &[("MORTAR_THRESHOLD", "-1")]).await;
    assert_eq!(out.code, 2);
    one_line(&out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_config_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mortar.toml");
    std::fs::write(&path, "url = \"http://127.0.0.1:1/\"\nrate_limit = 3\n").unwrap();
    let out = mortar(&["scan", "--config", path.to_str().unwrap()], &[]).await;
    assert_eq!(out.code, 2);
    one_line(&out.stderr);
    assert!(out.stderr.contains("rate_limit"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_secret_file_is_a_usage_error() {
    let out = mortar(&["scan", "https://127.0.0.1/", "--identity", "a=Authorization:@/nonexistent/token"], &[]).await;
    assert_eq!(out.code, 2);
    one_line(&out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn checks_lists_every_check_as_text_and_json() {
    let text = mortar(&["checks"], &[]).await;
    assert_eq!(text.code, 0);
    let json = mortar(&["checks", "--format", "json"], &[]).await;
    assert_eq!(json.code, 0);
    let listed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), mortar_checks::CHECKS.len());
    for check in mortar_checks::CHECKS {
        assert!(text.stdout.contains(check.info.id));
        assert!(json.stdout.contains(check.info.id));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_sends_nothing() {
    // A closed port: any request would fail the scan with exit 2.
    let url = format!("http://127.0.0.1:{}/api/", closed_port());
    let out = mortar(&["scan", &url, "--dry-run", "--header", "Authorization: Bearer dry-secret"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("misconfiguration.cors-reflected-origin"));
    assert!(out.stdout.contains("GET /api/"));
    assert!(!out.stdout.contains("dry-secret"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_formats_and_missing_files_are_usage_errors() {
    let out = mortar(&["scan", "https://127.0.0.1/", "--format", "pdf"], &[]).await;
    assert_eq!(out.code, 2);
    one_line(&out.stderr);
    assert!(out.stderr.contains("unknown format `pdf`"), "{}", out.stderr);
    let out = mortar(&["tls", "audit", "server.pem"], &[]).await;
    assert_eq!(out.code, 2);
    one_line(&out.stderr);
    assert!(out.stderr.contains("cannot read server.pem"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_of_unreadable_or_foreign_files_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.json");
    std::fs::write(&foreign, r#"{"hello": "world"}"#).unwrap();
    let out = mortar(&["diff", foreign.to_str().unwrap(), "/nonexistent/report.json"], &[]).await;
    assert_eq!(out.code, 2);
    one_line(&out.stderr);
    let out = mortar(&["diff", foreign.to_str().unwrap(), foreign.to_str().unwrap()], &[]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("not a mortar JSON report"), "{}", out.stderr);
}

/// A closed stdout pipe ends quietly with 0 (real process: SIGPIPE/EPIPE).
#[test]
fn a_closed_stdout_pipe_exits_0() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_mortar"))
        .args(["checks"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
}

/// The committed catalogue is what the registry says (metadata drives the docs).
#[tokio::test(flavor = "multi_thread")]
async fn the_check_catalogue_is_up_to_date() {
    let out = mortar(&["checks", "--format", "markdown"], &[]).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/checks.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == out.stdout,
        "docs/checks.md is stale: run `cargo run -p mortar -- checks --format markdown > docs/checks.md`"
    );
}

/// Completions and the man page come from the same definitions as --help:
/// every subcommand and scan flag is in them.
#[tokio::test(flavor = "multi_thread")]
async fn completions_and_man_page_cover_every_command() {
    let bash = mortar(&["completions", "bash"], &[]).await;
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    let man = mortar(&["man"], &[]).await;
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(man.stdout.starts_with(".ie") || man.stdout.contains(".TH mortar"), "{}", &man.stdout[..200]);
    for word in ["scan", "demo", "lab", "checks", "race", "diff", "tls", "completions"] {
        assert!(bash.stdout.contains(word), "bash completion lacks {word}");
        assert!(man.stdout.contains(word), "man page lacks {word}");
    }
    assert!(bash.stdout.contains("--fail-on") && bash.stdout.contains("--report"));
    let fish = mortar(&["completions", "fish"], &[]).await;
    assert!(fish.code == 0 && fish.stdout.contains("complete -c mortar"), "{}", fish.stdout);
    let bad = mortar(&["completions", "cmd.exe"], &[]).await;
    assert_eq!(bad.code, 2);
    one_line(&bad.stderr);
}

/// Each mistake in a `[[race]]` plan is one usage error naming it, before
/// any request; a CA key that cannot be used is not echoed.
#[tokio::test(flavor = "multi_thread")]
async fn bad_race_plans_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let key = dir.path().join("ca.key");
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n").unwrap();
    let plan = |extra: &str, burst: &str| {
        format!(
            "url = \"https://127.0.0.1:1/\"\nprofile = \"active\"\n\n[[race]]\nname = \"p\"\nburst = {{ request = \
             \"{burst}\" }}\n{extra}"
        )
    };
    let fresh = format!("fresh_client_cert = {{ ca_cert = {:?}, ca_key = {:?} }}\n", not_pem, key);
    let cases = [
        (plan("", "POST"), "expected `METHOD /path`"),
        (plan("setup = [{ request = \"POST /x\", capture = { id = \"id\" } }]\n", "POST /x/{id}"), "JSON pointer"),
        (plan("state = { request = \"GET /x\", value = \"balance\" }\n", "POST /x"), "state: value `balance`"),
        (plan("unique = \"number\"\n", "POST /x"), "unique `number`"),
        (plan("rounds = 0\n", "POST /x"), "rounds must be from 1 to 100"),
        (plan("identity = \"nobody\"\n", "POST /x"), "no identity named `nobody`"),
        (plan(&fresh, "POST /x"), "fresh_client_cert"),
        (
            plan("[identities.alice]\nheaders = { X-Key = \"k\" }\nrole = \"root\"\n", "POST /x"),
            "role `root` is not `admin` or `user`",
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("mortar-{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = mortar(&["scan", "--config", path.to_str().unwrap()], &[]).await;
        assert_eq!(out.code, 2, "{text}\n{}", out.stderr);
        one_line(&out.stderr);
        assert!(out.stderr.contains(expected), "{expected}: {}", out.stderr);
        assert!(!out.stderr.contains("U0VDUkVU"), "{}", out.stderr);
    }
}

//! Scans of targets that misbehave: the scan ends within its deadline, keeps
//! what it found, and says in coverage what was inconclusive and why.

use crate::support::{assert_valid_report, mortar, raw_server};

/// Answers plain GETs (with a version in its Server header) and hangs on any
/// request carrying an Origin header.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_hangs_on_some_requests_keeps_the_other_findings() {
    let server = raw_server(|_, head| {
        if head.to_ascii_lowercase().contains("\r\norigin:") {
            None
        } else {
            Some(b"HTTP/1.1 200 OK\r\nServer: hangd/3.1.4\r\nContent-Length: 2\r\n\r\n{}".to_vec())
        }
    })
    .await;
    let url = format!("http://127.0.0.1:{}/", server.port);
    let started = std::time::Instant::now();
    let out = mortar(&["scan", &url, "--format", "json", "--max-time", "2s", "--timeout", "30s"], &[]).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "the scan overran its deadline");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    let checks: Vec<&str> =
        report["findings"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap()).collect();
    assert_eq!(checks, ["inventory.version-disclosure"]);
    let coverage = report["coverage"]["checks"].as_array().unwrap();
    let cors = coverage.iter().find(|c| c["check"] == "misconfiguration.cors-reflected-origin").unwrap();
    assert_eq!(cors["status"], "inconclusive");
    assert!(cors["reason"].as_str().unwrap().contains("deadline"), "{cors}");
    assert_eq!(report["stats"]["deadline_reached"], true);
}

/// Accepts connections and never answers: exit 2 (no HTTP response) within the deadline.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_never_answers_exits_2_at_the_deadline() {
    let server = raw_server(|_, _| None).await;
    let url = format!("http://127.0.0.1:{}/", server.port);
    let out = mortar(&["scan", &url, "--max-time", "1s"], &[]).await;
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("no HTTP response"), "{}", out.stderr);
}

/// Garbage instead of HTTP: exit 2 with the reason, no panic.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_answers_garbage_exits_2() {
    let server = raw_server(|_, _| Some(b"\x00\x01\x02 this is not http\r\n\r\n".to_vec())).await;
    let url = format!("http://127.0.0.1:{}/", server.port);
    let out = mortar(&["scan", &url], &[]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("malformed response"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn colours_only_on_a_terminal_and_never_with_no_color() {
    let server =
        raw_server(|_, _| Some(b"HTTP/1.1 200 OK\r\nServer: x/1.2\r\nContent-Length: 0\r\n\r\n".to_vec())).await;
    let url = format!("http://127.0.0.1:{}/", server.port);
    let run = |terminal: bool, no_color: bool| {
        let url = url.clone();
        async move {
            let mut invocation = mortar::Invocation::args(["scan", url.as_str()]);
            invocation.stdout_is_terminal = terminal;
            if no_color {
                invocation.env.insert("NO_COLOR".into(), "1".into());
            }
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            mortar::run(invocation, &mut stdout, &mut stderr).await;
            String::from_utf8(stdout).unwrap()
        }
    };
    assert!(run(true, false).await.contains('\x1b'));
    assert!(!run(true, true).await.contains('\x1b'));
    assert!(!run(false, false).await.contains('\x1b'));
}

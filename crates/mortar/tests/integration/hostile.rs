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
    // Two checks: one that only needs the plain GET, one whose requests hang.
    let checks = "inventory.version-disclosure,misconfiguration.cors-reflected-origin";
    let out =
        mortar(&["scan", &url, "--format", "json", "--max-time", "2s", "--timeout", "30s", "--checks", checks], &[])
            .await;
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

/// How a hostile server treats every request but the plain baseline GET of `/`.
#[derive(Clone, Copy, Debug)]
enum Hostility {
    /// One byte per second.
    Trickle,
    /// A chunked body that never ends.
    Endless,
    /// A 100 MB body.
    Huge,
    /// 10 MB of zeros gzipped to a few KB.
    GzipBomb,
    /// Invalid UTF-8 / binary bodies.
    Binary,
    /// A redirect to itself, forever.
    RedirectLoop,
    /// A redirect to a host out of scope.
    RedirectOut,
    /// Half a response head, then a reset.
    ResetMidResponse,
}

/// Serves the baseline GET normally (with a versioned Server header, so one
/// check has something to find) and everything else with `hostility`.
async fn hostile_server(hostility: Hostility) -> u16 {
    use std::io::Write;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let bomb = {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 10 * 1024 * 1024]).unwrap();
        std::sync::Arc::new(enc.finish().unwrap())
    };
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let bomb = bomb.clone();
            tokio::spawn(async move {
                let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
                loop {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
                    let baseline = text.starts_with("get / ") && !text.contains("\r\norigin:");
                    if baseline {
                        let ok = b"HTTP/1.1 200 OK\r\nServer: hostile/6.6.6\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
                        if socket.write_all(ok).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    let result = match hostility {
                        Hostility::Trickle => {
                            let response = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow!";
                            for byte in response {
                                if tokio::time::Instant::now() > deadline || socket.write_all(&[*byte]).await.is_err() {
                                    return;
                                }
                                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                            }
                            Ok(())
                        }
                        Hostility::Endless => {
                            if socket.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await.is_err() {
                                return;
                            }
                            let chunk = format!("{:x}\r\n{}\r\n", 8192, "e".repeat(8192));
                            while tokio::time::Instant::now() < deadline {
                                if socket.write_all(chunk.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            return;
                        }
                        Hostility::Huge => {
                            let size = 100 * 1024 * 1024;
                            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n");
                            if socket.write_all(head.as_bytes()).await.is_err() {
                                return;
                            }
                            let block = vec![b'h'; 64 * 1024];
                            for _ in 0..(size / block.len()) {
                                if socket.write_all(&block).await.is_err() {
                                    return;
                                }
                            }
                            Ok(())
                        }
                        Hostility::GzipBomb => {
                            let head = format!(
                                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                                bomb.len()
                            );
                            match socket.write_all(head.as_bytes()).await {
                                Ok(()) => socket.write_all(&bomb).await,
                                Err(e) => Err(e),
                            }
                        }
                        Hostility::Binary => {
                            let body: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
                            let head = format!("HTTP/1.1 500 Oops\r\nContent-Length: {}\r\n\r\n", body.len());
                            match socket.write_all(head.as_bytes()).await {
                                Ok(()) => socket.write_all(&body).await,
                                Err(e) => Err(e),
                            }
                        }
                        Hostility::RedirectLoop => {
                            let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                            let response = format!("HTTP/1.1 302 Found\r\nLocation: {path}\r\nContent-Length: 0\r\n\r\n");
                            socket.write_all(response.as_bytes()).await
                        }
                        Hostility::RedirectOut => {
                            socket
                                .write_all(b"HTTP/1.1 302 Found\r\nLocation: http://mortar-out-of-scope.example/\r\nContent-Length: 0\r\n\r\n")
                                .await
                        }
                        Hostility::ResetMidResponse => {
                            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Le").await;
                            // Zero linger: dropping the socket sends a reset, not a clean close.
                            let _ = socket.set_zero_linger();
                            return;
                        }
                    };
                    if result.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Every hostility: the scan ends by its deadline, exits 0 (the baseline answered),
/// keeps the finding it could make, and its report is valid with a reason for
/// anything inconclusive.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_targets_never_stop_the_scan_from_reporting() {
    for hostility in [
        Hostility::Trickle,
        Hostility::Endless,
        Hostility::Huge,
        Hostility::GzipBomb,
        Hostility::Binary,
        Hostility::RedirectLoop,
        Hostility::RedirectOut,
        Hostility::ResetMidResponse,
    ] {
        let port = hostile_server(hostility).await;
        let url = format!("http://127.0.0.1:{port}/");
        let started = std::time::Instant::now();
        let out =
            mortar(&["scan", &url, "--format", "json", "--max-time", "4s", "--timeout", "2s", "--rate", "0"], &[])
                .await;
        assert!(started.elapsed() < std::time::Duration::from_secs(15), "{hostility:?}: the scan overran its deadline");
        assert_eq!(out.code, 0, "{hostility:?}: {}", out.stderr);
        let report = assert_valid_report(&out.stdout);
        let checks: Vec<&str> =
            report["findings"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap()).collect();
        assert!(
            checks.contains(&"inventory.version-disclosure"),
            "{hostility:?}: the baseline finding was lost: {checks:?}"
        );
        for c in report["coverage"]["checks"].as_array().unwrap() {
            if c["status"] != "ran" {
                assert!(c["reason"].as_str().is_some_and(|r| !r.is_empty()), "{hostility:?}: {c}");
            }
        }
        // Bounded reading: a 100 MB body or an endless one is not read past the
        // 1 MiB cap (plus what is in flight): at most 2 MiB per request sent.
        let received = report["stats"]["bytes_received"].as_u64().unwrap();
        let requests = report["stats"]["requests"].as_u64().unwrap();
        assert!(received <= requests * 2 * 1024 * 1024, "{hostility:?}: read {received} bytes in {requests} requests");
    }
}

/// TLS garbage: the server answers the handshake with noise.
#[tokio::test(flavor = "multi_thread")]
async fn a_tls_port_that_speaks_garbage_exits_2_with_the_reason() {
    // Answer at accept: a TLS client sends a ClientHello, never a request head.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(b"\x15\x03\x03\x00\x02\xff\xffthis is not TLS at all").await;
        }
    });
    let url = format!("https://127.0.0.1:{port}/");
    let out = mortar(&["scan", &url, "--timeout", "2s"], &[]).await;
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("TLS"), "{}", out.stderr);
}

/// A server that answers `answers` requests (one per connection) and then
/// closes its port, as a crashed target does; `answers: None` never stops.
async fn dying_server(answers: Option<usize>) -> u16 {
    restarting_server(answers, None).await
}

/// A server that answers `{}` to `answers` requests (forever with `None`),
/// then closes its port; with `back_after` it listens on the same port again
/// that long after, and answers forever (a supervised server restarting).
async fn restarting_server(answers: Option<usize>, back_after: Option<std::time::Duration>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut served = 0;
        let mut listener = listener;
        let mut answers = answers;
        loop {
            if answers.is_some_and(|n| served >= n) {
                let Some(pause) = back_after else { return };
                drop(listener);
                tokio::time::sleep(pause).await;
                listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
                answers = None;
            }
            let Ok((mut socket, _)) = listener.accept().await else { return };
            served += 1;
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}").await;
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_wait_for_a_target_that_restarts_and_nothing_is_lost() {
    let scan = |port: u16| async move {
        let url = format!("http://127.0.0.1:{port}/");
        let out = mortar(&["scan", &url, "--profile", "passive", "--format", "json", "--max-time", "60s"], &[]).await;
        assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
        assert_valid_report(&out.stdout)
    };
    let steady = scan(dying_server(None).await).await;
    let restarted = scan(restarting_server(Some(4), Some(std::time::Duration::from_millis(1500))).await).await;
    let notes: Vec<&str> = restarted["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let note =
        notes.iter().find(|n| n.starts_with("The target stopped accepting connections")).expect("an outage note");
    assert!(note.contains("it answered again after them"), "{note}");
    // Every request refused during the restart was answered once the server was back.
    assert_eq!(
        restarted["stats"]["responses"], steady["stats"]["responses"],
        "{:?} vs {:?}",
        restarted["stats"], steady["stats"]
    );
    assert_eq!(restarted["findings"].as_array().map(Vec::len), steady["findings"].as_array().map(Vec::len));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_dies_mid_scan_is_reported_as_gone() {
    for (answers, gone) in [(Some(4), true), (None, false)] {
        let url = format!("http://127.0.0.1:{}/", dying_server(answers).await);
        let out = mortar(&["scan", &url, "--profile", "passive", "--format", "json", "--max-time", "60s"], &[]).await;
        assert!(out.code == 0 || out.code == 1, "{answers:?}: {}", out.stderr);
        let report = assert_valid_report(&out.stdout);
        let notes: Vec<&str> = report["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        let note = notes.iter().find(|n| n.starts_with("The target stopped accepting connections"));
        assert_eq!(note.is_some(), gone, "{answers:?}: {notes:?}");
        if let Some(note) = note {
            assert!(note.contains("it had not come back when the scan ended"), "{note}");
            assert!(note.contains("cannot connect to 127.0.0.1:"), "{note}");
        }
    }
}

//! TLS posture against `openssl s_server` fixtures made at test time (rustls
//! cannot serve TLS 1.0/1.1 or weak suites): a legacy server that accepts
//! everything down to TLS 1.0, and a modern one (TLS 1.2+, ECDHE AES-GCM only).
//! Skipped, with a printed reason, when the openssl CLI is absent. The lab's
//! tls-early-data scenario covers 0-RTT.

use crate::support::{assert_valid_report, closed_port, mortar, scan_args, target};
use mortar_lab::Lab;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

fn openssl_available() -> bool {
    std::process::Command::new("openssl").arg("version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// Starts `openssl s_server` on a fresh loopback port; killed when dropped.
async fn s_server(dir: &Path, extra: &[&str]) -> (tokio::process::Child, u16) {
    let port = closed_port();
    let mut args = vec![
        "s_server".to_string(),
        "-accept".into(),
        format!("127.0.0.1:{port}"),
        "-cert".into(),
        dir.join("cert.pem").display().to_string(),
        "-key".into(),
        dir.join("key.pem").display().to_string(),
        "-www".into(),
        "-quiet".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = tokio::process::Command::new("openssl")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl s_server starts");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return (child, port);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("openssl s_server did not listen on {port}");
}

fn components(report: &Value, check: &str) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .map(|f| f["component"].as_str().unwrap_or("").to_string())
        .collect();
    out.sort();
    out
}

async fn posture(port: u16, ca: &Path) -> Value {
    let url = format!("https://127.0.0.1:{port}/");
    let ca = ca.display().to_string();
    let args = ["scan", &url, "--ca-cert", &ca, "--checks", "encryption.weak-tls", "--format", "json"];
    let out = mortar(&args, &[]).await;
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    assert_valid_report(&out.stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_versions_and_weak_suites_are_found_on_an_openssl_fixture() {
    if !openssl_available() {
        println!("skipped: the openssl CLI is not installed (needed to serve TLS 1.0/1.1 fixtures)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(dir.path().join("key.pem"))
        .arg("-out")
        .arg(dir.path().join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl req failed");
    let ca = dir.path().join("cert.pem");

    let (_legacy, port) = s_server(dir.path(), &["-min_protocol", "TLSv1", "-cipher", "ALL:@SECLEVEL=0"]).await;
    let report = posture(port, &ca).await;
    let found = components(&report, "encryption.weak-tls");
    for want in ["tls1.0", "tls1.1", "rsa-key-exchange", "cbc"] {
        assert!(found.iter().any(|c| c == want), "{want} missing from {found:?}: {report:#}");
    }
    let coverage = report["coverage"].to_string();
    assert!(coverage.contains("TLS 1.3: TLSv1_3"), "{coverage}");

    let modern = ["-min_protocol", "TLSv1.2", "-cipher", "ECDHE+AESGCM", "-ciphersuites", "TLS_AES_128_GCM_SHA256"];
    let (_modern, port) = s_server(dir.path(), &modern).await;
    let report = posture(port, &ca).await;
    assert!(components(&report, "encryption.weak-tls").is_empty(), "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn early_data_is_found_only_where_the_server_accepts_it() {
    let lab = Lab::start_only(&["tls-early-data"]).await.unwrap();
    for (variant, want) in [("vulnerable", 1), ("fixed", 0)] {
        let t = target(&lab, "tls-early-data", variant);
        let out = mortar(&scan_args(t, &["--format", "json", "--checks", "encryption.early-data"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(components(&report, "encryption.early-data").len(), want, "{variant}: {report:#}");
    }
    lab.shutdown();
}

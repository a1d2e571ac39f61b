//! The synchronized-request engine. These tests run one at a time (a shared
//! lock: bursts compete for the two cores) and assert no timings.

use mortar_engine::{
    BurstMode, BurstOptions, CountingWrapper, Engine, EngineConfig, EngineError, HttpVersion, Origin, Request,
    TlsSettings,
};
use mortar_model::Target;
use std::sync::Arc;
use std::time::Duration;

/// Bursts run one at a time.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn lab_engine(lab: &mortar_lab::Lab, max_requests: Option<u64>) -> Engine {
    let ca = std::fs::read(lab.ca_cert_path()).unwrap();
    let config = EngineConfig {
        scope_hosts: vec!["127.0.0.1".into()],
        tls: TlsSettings { ca_pem: vec![ca], strict: true, only_given_roots: true },
        max_requests,
        ..EngineConfig::default()
    };
    Engine::new(config, &[]).unwrap()
}

fn origin_and_base(url: &str) -> (Origin, String) {
    let target = Target::parse(url).unwrap();
    (Origin::of(&target), target.base_path)
}

fn options(mode: BurstMode, counting: Option<&CountingWrapper>) -> BurstOptions {
    BurstOptions {
        mode,
        settle: Duration::from_millis(5),
        io_wrapper: counting.map(|c| Arc::new(c.clone()) as Arc<dyn mortar_engine::IoWrapper>),
        timeout: Some(Duration::from_secs(20)),
    }
}

/// The acceptance test: 100 trials of N = 20, over TLS (ALPN h2) and h2c to
/// hyper, and over TLS to actix-web; in every one the release is exactly one
/// socket write holding every final frame.
#[tokio::test(flavor = "multi_thread")]
async fn single_packet_release_is_one_socket_write_in_every_trial() {
    let _serial = SERIAL.lock().await;
    let lab = mortar_lab::Lab::start_only(&[]).await.unwrap();
    let engine = lab_engine(&lab, None);
    let bench = lab.bench().clone();
    for base in [bench.tls, bench.plain, bench.actix_tls.clone()] {
        let (origin, path) = origin_and_base(&base);
        for trial in 0..100 {
            let counting = CountingWrapper::default();
            let requests: Vec<Request> = (0..20)
                .map(|i| Request::new("POST", &origin, format!("{path}arrive")).body(format!("n={i}")))
                .collect();
            let report = engine.burst(requests, options(BurstMode::SinglePacket, Some(&counting))).await.unwrap();
            assert_eq!(report.protocol, HttpVersion::Http2);
            assert_eq!(report.release_writes, vec![1], "{base} trial {trial}: release took several writes");
            // hyper announces 200 concurrent streams; actix-web announces no limit at all.
            let announced = if base == bench.actix_tls { None } else { Some(200) };
            assert_eq!(report.stream_limit, announced, "{base}: stream limit");
            // The write the socket saw is the release: 20 DATA frames of 9-byte header + 1 byte at least.
            let release = report.release_bytes[0];
            assert!(release >= 20 * 10, "{base} trial {trial}: release of {release} bytes cannot hold 20 frames");
            assert!(
                counting.counter.sizes().contains(&release),
                "{base} trial {trial}: socket never saw the release of {release} bytes: {:?}",
                counting.counter.sizes()
            );
            let ok = report.responses.iter().filter(|r| r.status == Some(200)).count();
            assert_eq!(
                ok,
                20,
                "{base} trial {trial}: {:?}",
                report.responses.iter().map(|r| &r.error).collect::<Vec<_>>()
            );
        }
    }
    lab.shutdown();
}

/// A server that allows 5 concurrent streams gets batches of at most 5.
#[tokio::test(flavor = "multi_thread")]
async fn bursts_follow_the_servers_stream_limit() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let _serial = SERIAL.lock().await;
    let app = axum::Router::new().route("/r", axum::routing::post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder.http2().max_concurrent_streams(5);
                let _ = builder.serve_connection(TokioIo::new(socket), service).await;
            });
        }
    });
    let engine =
        Engine::new(EngineConfig { scope_hosts: vec!["127.0.0.1".into()], ..EngineConfig::default() }, &[]).unwrap();
    let origin = Origin { https: false, host: "127.0.0.1".into(), port };
    let requests: Vec<Request> = (0..12).map(|_| Request::new("POST", &origin, "/r").body("x")).collect();
    let report = engine.burst(requests, options(BurstMode::SinglePacket, None)).await.unwrap();
    assert_eq!(report.stream_limit, Some(5));
    assert_eq!(report.batches, vec![5, 5, 2]);
    assert_eq!(report.release_writes, vec![1, 1, 1]);
    assert!(report.responses.iter().all(|r| r.status == Some(200)));
}

#[tokio::test(flavor = "multi_thread")]
async fn last_byte_naive_and_auto_get_every_response() {
    let _serial = SERIAL.lock().await;
    let lab = mortar_lab::Lab::start_only(&[]).await.unwrap();
    let engine = lab_engine(&lab, None);
    let (origin, path) = origin_and_base(&lab.bench().tls);
    let make = || (0..10).map(|_| Request::get(&origin, format!("{path}arrive"))).collect::<Vec<_>>();
    for (mode, expect_mode, expect_protocol) in [
        (BurstMode::LastByte, BurstMode::LastByte, HttpVersion::Http11),
        (BurstMode::Naive, BurstMode::Naive, HttpVersion::Http11),
        (BurstMode::Auto, BurstMode::SinglePacket, HttpVersion::Http2),
    ] {
        let report = engine.burst(make(), options(mode, None)).await.unwrap();
        assert_eq!((report.mode, report.protocol), (expect_mode, expect_protocol), "{mode:?}");
        assert_eq!(report.responses.len(), 10);
        assert!(report.responses.iter().all(|r| r.status == Some(200) && r.body == b"ok"), "{mode:?}");
        assert!(report.responses.iter().all(|r| r.body_sha256.len() == 64));
    }
    // Plain HTTP: auto falls back to last-byte (h2c needs prior knowledge the server may lack).
    let (plain, plain_path) = origin_and_base(&lab.bench().plain);
    let requests: Vec<Request> = (0..4).map(|_| Request::get(&plain, format!("{plain_path}arrive"))).collect();
    let report = engine.burst(requests, options(BurstMode::Auto, None)).await.unwrap();
    assert_eq!(report.mode, BurstMode::LastByte);
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_is_refused_whole_when_the_budget_is_short() {
    let _serial = SERIAL.lock().await;
    let lab = mortar_lab::Lab::start_only(&[]).await.unwrap();
    let engine = lab_engine(&lab, Some(5));
    let (origin, path) = origin_and_base(&lab.bench().tls);
    let requests: Vec<Request> = (0..10).map(|_| Request::get(&origin, format!("{path}arrive"))).collect();
    let result = engine.burst(requests, options(BurstMode::SinglePacket, None)).await;
    assert!(matches!(result, Err(EngineError::BudgetExhausted { limit: 5 })));
    assert_eq!(engine.stats().requests, 0);
    let arrivals = engine.send(Request::new("POST", &origin, format!("{path}arrivals"))).await;
    // The budget is still whole for normal requests, and nothing arrived.
    assert_eq!(arrivals.unwrap().response.text(), "[]");
    lab.shutdown();
}

/// `mortar race` on the lab's single-use action (check-to-use window 20 ms):
/// more successes than the limit of 1, shown with the spread.
#[tokio::test(flavor = "multi_thread")]
async fn mortar_race_shows_the_limit_exceeded_on_a_vulnerable_endpoint() {
    let _serial = SERIAL.lock().await;
    let lab = mortar_lab::Lab::start_only(&[]).await.unwrap();
    let engine = lab_engine(&lab, None);
    let (origin, path) = origin_and_base(&lab.bench().tls);
    let ca = lab.ca_cert_path().to_str().unwrap().to_string();
    let url = format!("{}limit?window_us=20000", lab.bench().tls);
    let mut best = 0;
    // A race is probabilistic: up to three bursts, each on a fresh action.
    for _ in 0..3 {
        engine.send(Request::new("POST", &origin, format!("{path}limit/reset"))).await.unwrap();
        let out = crate::support::mortar(
            &["race", &url, "-X", "POST", "-d", "x", "-n", "20", "--limit", "1", "--ca-cert", &ca, "--format", "json"],
            &[],
        )
        .await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let summary: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(summary["engine"], "single-packet");
        assert_eq!(summary["requests"], 20);
        assert!(summary["response_spread_ns"].as_u64().is_some());
        best = best.max(summary["successes"].as_u64().unwrap());
        if best > 1 {
            assert_eq!(summary["limit_exceeded"], true);
            break;
        }
    }
    assert!(best > 1, "no burst got more than one success");
    // The text form names the engine, statuses and spread.
    engine.send(Request::new("POST", &origin, format!("{path}limit/reset"))).await.unwrap();
    let text = crate::support::mortar(&["race", &url, "-X", "POST", "-d", "x", "-n", "5", "--ca-cert", &ca], &[]).await;
    assert_eq!(text.code, 0, "{}", text.stderr);
    for part in ["engine: single-packet over HTTP/2", "statuses:", "successes:", "spread:"] {
        assert!(text.stdout.contains(part), "{part} missing in:\n{}", text.stdout);
    }
    lab.shutdown();
}

/// A raw request file and a curl line as sources; the burst cycles through them.
#[tokio::test(flavor = "multi_thread")]
async fn mortar_race_takes_raw_files_and_curl_lines() {
    let _serial = SERIAL.lock().await;
    let lab = mortar_lab::Lab::start_only(&[]).await.unwrap();
    let ca = lab.ca_cert_path().to_str().unwrap().to_string();
    let target = Target::parse(&lab.bench().tls).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("arrive.http");
    std::fs::write(
        &file,
        format!(
            "POST {}arrive HTTP/1.1\nHost: {}\nContent-Type: text/plain\n\nhello",
            target.base_path,
            target.authority()
        ),
    )
    .unwrap();
    let curl = format!("curl -sS '{}arrive' --data-raw 'n=1'", lab.bench().tls);
    let out = crate::support::mortar(
        &[
            "race",
            &target.url,
            "--request",
            file.to_str().unwrap(),
            "--curl",
            &curl,
            "-n",
            "6",
            "--engine",
            "last-byte",
            "--ca-cert",
            &ca,
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(summary["engine"], "last-byte");
    assert_eq!(summary["statuses"]["200"], 6);
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn mortar_race_exits_2_when_the_burst_cannot_be_sent() {
    let url = format!("https://127.0.0.1:{}/x", crate::support::closed_port());
    let out = crate::support::mortar(&["race", &url, "-n", "3"], &[]).await;
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("could not be sent"), "{}", out.stderr);
    let out = crate::support::mortar(&["race"], &[]).await;
    assert_eq!(out.code, 2);
}

/// Every race scenario: the vulnerable variant confirmed within 3 rounds, the
/// fixed one never reported over 20 rounds, and a standard scan of the
/// vulnerable one sends no burst (nothing but safe methods). The transfer is
/// proven by its balance read back too; the first-request race only shows
/// with a never-seen client certificate per round.
#[tokio::test(flavor = "multi_thread")]
async fn race_scenarios_are_confirmed_when_vulnerable_and_never_when_fixed() {
    use crate::support::{assert_valid_report, finding_checks, mortar, scan_args, target};
    let _serial = SERIAL.lock().await;
    let lab = mortar_lab::Lab::start_only(&[
        "race-coupon",
        "race-coupon-spec",
        "race-first-request",
        "race-orders",
        "race-reserve",
        "race-transfer",
    ])
    .await
    .unwrap();
    let scenarios =
        ["race-coupon", "race-coupon-spec", "race-reserve", "race-orders", "race-transfer", "race-first-request"];
    for scenario in scenarios {
        let vulnerable = target(&lab, scenario, "vulnerable");
        let check = match &vulnerable.expected[..] {
            [mortar_lab::Expected::Check(c)] => c.clone(),
            other => panic!("{scenario}: expected one check, got {other:?}"),
        };
        let reason = |report: &serde_json::Value| -> String {
            report["coverage"]["checks"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["check"] == check.as_str()))
                .and_then(|c| c["reason"].as_str())
                .unwrap_or_default()
                .to_string()
        };
        let out =
            mortar(&scan_args(vulnerable, &["--format", "json", "--checks", &check, "--fail-on", "high"]), &[]).await;
        assert_eq!(out.code, 1, "{scenario}: {}", out.stderr);
        let report = assert_valid_report(&out.stdout);
        assert_eq!(finding_checks(&report), vec![check.clone()], "{scenario}: {}", reason(&report));
        let description = report["findings"][0]["description"].as_str().unwrap_or_default();
        match scenario {
            "race-transfer" => assert!(description.contains("state read back (`/balance`) moved"), "{description}"),
            "race-first-request" => assert!(description.contains("never presented before"), "{description}"),
            _ => {}
        }

        // The fixed variant, 20 rounds.
        let fixed = target(&lab, scenario, "fixed");
        let args = scan_args(fixed, &["--format", "json", "--checks", &check, "--race-rounds", "20"]);
        let out = mortar(&args, &[]).await;
        assert_eq!(out.code, 0, "{scenario}: {}", out.stderr);
        let report = assert_valid_report(&out.stdout);
        assert!(finding_checks(&report).is_empty(), "{scenario}");
        assert!(reason(&report).contains("0 of 20 round(s) won"), "{scenario}: {}", reason(&report));

        // Standard profile: the race checks do not run and only safe methods are sent.
        lab.reset_methods();
        let out = mortar(&scan_args(vulnerable, &["--format", "json", "--profile", "standard"]), &[]).await;
        assert!(out.code == 0 || out.code == 1, "{scenario}: {}", out.stderr);
        let seen = lab.methods_seen();
        assert!(seen.keys().all(|m| matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS")), "{scenario}: {seen:?}");
        assert!(!finding_checks(&assert_valid_report(&out.stdout)).iter().any(|c| c.starts_with("race-condition.")));
    }
    lab.shutdown();
}

//! The engine against small loopback servers built to misbehave.

use crate::support::{ok, raw_server};
use mortar_engine::{Engine, EngineConfig, EngineError, HttpVersion, HttpVersionPref, Origin, ProxyConfig, Request};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn engine(config: EngineConfig) -> Engine {
    let config = EngineConfig { scope_hosts: vec!["127.0.0.1".into()], ..config };
    Engine::new(config, &[]).unwrap()
}

fn origin(port: u16) -> Origin {
    Origin { https: false, host: "127.0.0.1".into(), port }
}

#[tokio::test]
async fn the_request_target_goes_on_the_wire_byte_for_byte() {
    let server = raw_server(|_, _| Some(ok("x"))).await;
    let e = engine(EngineConfig::default());
    let target = "/a/./b/../%2e%2E/%zz?x=1&x=2#frag";
    e.send(Request::get(&origin(server.port), target)).await.unwrap();
    let raw = b"GET /raw//path HTTP/1.1\r\nHost: anything\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n".to_vec();
    let mut request = Request::get(&origin(server.port), "/raw//path");
    request.raw = Some(raw.clone());
    e.send(request).await.unwrap();
    let heads = server.heads.lock().unwrap().clone();
    assert!(heads[0].starts_with(&format!("GET {target} HTTP/1.1\r\n")), "{}", heads[0]);
    assert_eq!(heads[1].as_bytes(), raw.as_slice());
    // Keep-alive: both requests on one connection.
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirects_out_of_scope_are_not_followed() {
    let server = raw_server(move |_, head| {
        if head.starts_with("GET /start") {
            Some(b"HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n".to_vec())
        } else {
            Some(b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere.test/steal\r\nContent-Length: 0\r\n\r\n".to_vec())
        }
    })
    .await;
    let e = engine(EngineConfig::default());
    let mut request = Request::get(&origin(server.port), "/start");
    request.options.follow_redirects = 5;
    let ex = e.send(request).await.unwrap();
    assert_eq!(ex.response.status, 302);
    assert_eq!(ex.response.redirects, vec!["/next".to_string()]);
    assert_eq!(ex.response.blocked_redirect.as_deref(), Some("http://elsewhere.test/steal"));
    let err = e.send(Request::get(&Origin { https: false, host: "elsewhere.test".into(), port: 80 }, "/")).await;
    assert!(matches!(err, Err(EngineError::OutOfScope { .. })));
    assert_eq!(e.stats().out_of_scope, 1);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_retried() {
    let server = raw_server(|n, _| {
        Some(if n == 1 {
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n".to_vec()
        } else {
            ok("fine")
        })
    })
    .await;
    let e = engine(EngineConfig::default());
    let ex = e.send(Request::get(&origin(server.port), "/")).await.unwrap();
    assert_eq!(ex.response.status, 200);
    let stats = e.stats();
    assert_eq!((stats.rate_limited, stats.retries, stats.requests), (1, 1, 2));
}

#[tokio::test]
async fn the_request_budget_is_enforced() {
    let server = raw_server(|_, _| Some(ok("x"))).await;
    let e = engine(EngineConfig { max_requests: Some(2), ..EngineConfig::default() });
    for _ in 0..2 {
        e.send(Request::get(&origin(server.port), "/")).await.unwrap();
    }
    let third = e.send(Request::get(&origin(server.port), "/")).await;
    assert!(matches!(third, Err(EngineError::BudgetExhausted { limit: 2 })));
    assert_eq!(server.heads.lock().unwrap().len(), 2);
    assert_eq!(e.stats().over_budget, 1);
}

#[tokio::test]
async fn a_server_that_never_answers_ends_at_the_deadline() {
    let server = raw_server(|_, _| None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(800);
    let e =
        engine(EngineConfig { deadline: Some(deadline), timeout: Duration::from_secs(30), ..EngineConfig::default() });
    let result = e.send(Request::get(&origin(server.port), "/")).await;
    assert!(matches!(result, Err(EngineError::DeadlineReached)), "{result:?}");
    assert!(e.stats().deadline_reached);
    let after = e.send(Request::get(&origin(server.port), "/")).await;
    assert!(matches!(after, Err(EngineError::DeadlineReached)));
}

#[tokio::test]
async fn huge_bodies_are_cut_at_the_cap() {
    let big = vec![b'z'; 5 * 1024 * 1024];
    let response = [format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", big.len()).into_bytes(), big].concat();
    let server = raw_server(move |_, _| Some(response.clone())).await;
    let e = engine(EngineConfig { max_body: 64 * 1024, ..EngineConfig::default() });
    let ex = e.send(Request::get(&origin(server.port), "/")).await.unwrap();
    assert_eq!(ex.response.body.len(), 64 * 1024);
    assert!(ex.response.body_truncated);
    let evidence = e.evidence(&ex, "big");
    let body = evidence.response.unwrap().body.unwrap();
    assert!(body.truncated && body.content.len() <= 4096);
}

#[tokio::test]
async fn a_plain_http_proxy_gets_absolute_form_requests() {
    let proxy = raw_server(|_, _| Some(ok("via proxy"))).await;
    let e = engine(EngineConfig {
        proxy: Some(ProxyConfig { host: "127.0.0.1".into(), port: proxy.port }),
        ..EngineConfig::default()
    });
    let ex = e.send(Request::get(&origin(9), "/x?y=1")).await.unwrap();
    assert_eq!(ex.response.text(), "via proxy");
    assert!(proxy.heads.lock().unwrap()[0].starts_with("GET http://127.0.0.1:9/x?y=1 HTTP/1.1\r\n"));
}

/// Environment proxies are ignored unless --proxy is given (real process, real environment).
#[tokio::test(flavor = "multi_thread")]
async fn environment_proxies_are_ignored() {
    let trap = raw_server(|_, _| Some(ok("trap"))).await;
    let lab = mortar_lab::Lab::start_only(&["cors-reflection"]).await.unwrap();
    let t = crate::support::target(&lab, "cors-reflection", "fixed");
    let trap_url = format!("http://127.0.0.1:{}", trap.port);
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mortar"));
    command.arg("scan").arg(&t.url).args(&t.scan_args).args(["--format", "json"]);
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        command.env(var, &trap_url);
    }
    let out = command.output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(trap.connections.load(Ordering::SeqCst), 0);
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn alpn_chooses_http2_and_http1_can_be_forced() {
    let lab = mortar_lab::Lab::start_only(&["cors-reflection"]).await.unwrap();
    let t = crate::support::target(&lab, "cors-reflection", "fixed");
    let target = mortar_model::Target::parse(&t.url).unwrap();
    let ca = std::fs::read(lab.ca_cert_path()).unwrap();
    let config = EngineConfig {
        scope_hosts: vec![target.host.clone()],
        tls: mortar_engine::TlsSettings { ca_pem: vec![ca], strict: true, only_given_roots: true },
        ..EngineConfig::default()
    };
    let e = Engine::new(config, &[]).unwrap();
    let o = Origin::of(&target);
    let mut auto = Request::get(&o, target.base_path.clone());
    auto.options.http = HttpVersionPref::Auto;
    let ex = e.send(auto).await.unwrap();
    assert_eq!((ex.response.status, ex.response.version), (200, HttpVersion::Http2));
    let tls = ex.response.tls.unwrap();
    assert_eq!(tls.alpn.as_deref(), Some("h2"));
    assert_eq!(tls.verdict, Some(mortar_engine::CertVerdict::Trusted));
    let ex = e.send(Request::get(&o, target.base_path.clone())).await.unwrap();
    assert_eq!(ex.response.version, HttpVersion::Http11);
    lab.shutdown();
}

/// Without --ca-cert the lab's certificate is untrusted: recorded, not fatal; fatal when strict.
#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_recorded_unless_strict() {
    let lab = mortar_lab::Lab::start_only(&["cors-reflection"]).await.unwrap();
    let t = crate::support::target(&lab, "cors-reflection", "fixed");
    let target = mortar_model::Target::parse(&t.url).unwrap();
    for strict in [false, true] {
        let config = EngineConfig {
            scope_hosts: vec![target.host.clone()],
            tls: mortar_engine::TlsSettings { ca_pem: vec![], strict, only_given_roots: false },
            ..EngineConfig::default()
        };
        let e = Engine::new(config, &[]).unwrap();
        let result = e.send(Request::get(&Origin::of(&target), target.base_path.clone())).await;
        if strict {
            assert!(matches!(result, Err(EngineError::Tls(_))), "{result:?}");
        } else {
            let verdict = result.unwrap().response.tls.unwrap().verdict;
            assert!(matches!(verdict, Some(mortar_engine::CertVerdict::Rejected(_))), "{verdict:?}");
        }
    }
    lab.shutdown();
}

/// HTTP/2 with prior knowledge over plain TCP (h2c), against hyper's server.
#[tokio::test(flavor = "multi_thread")]
async fn h2c_prior_knowledge_speaks_http2() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let app = axum::Router::new().route("/v", axum::routing::get(|| async { "over h2c" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    let e = engine(EngineConfig::default());
    let mut request = Request::get(&origin(port), "/v");
    request.options.http = HttpVersionPref::Http2;
    let ex = e.send(request).await.unwrap();
    assert_eq!((ex.response.status, ex.response.version), (200, HttpVersion::Http2));
    assert_eq!(ex.response.text(), "over h2c");
    assert_eq!(ex.request.version, HttpVersion::Http2);
}

//! The GitHub Action's script (action/mortar_action.py) against a loopback
//! fake of the GitHub API and a lab target: SARIF upload, one pull-request
//! comment updated in place, job summary, outputs, the gate's exit code, a
//! fork pull request with a read-only token, and no secret anywhere; and the
//! release path (asset and checksum from a loopback release server, a
//! tampered asset refused before it runs).

use crate::support::target;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, patch, post};
use axum::{Json, body::Bytes};
use base64::Engine as _;
use mortar_lab::Lab;
use serde_json::{Value, json};
use std::io::Read;
use std::sync::{Arc, Mutex};

/// What the fake API was asked, and the comments it holds.
#[derive(Default)]
struct Fake {
    calls: Vec<(String, String, String)>,
    comments: Vec<(u64, String)>,
}

type Shared = Arc<Mutex<Fake>>;

fn record(fake: &Shared, method: &Method, uri: &Uri, body: &[u8]) {
    let mut fake = fake.lock().unwrap();
    fake.calls.push((method.to_string(), uri.path().to_string(), String::from_utf8_lossy(body).into_owned()));
}

async fn fake_github() -> (String, Shared) {
    let fake: Shared = Arc::default();
    async fn list(State(f): State<Shared>, method: Method, uri: Uri) -> Json<Value> {
        record(&f, &method, &uri, b"");
        let comments = f.lock().unwrap().comments.iter().map(|(id, body)| json!({"id": id, "body": body})).collect();
        Json(Value::Array(comments))
    }
    async fn create(State(f): State<Shared>, method: Method, uri: Uri, body: Bytes) -> (StatusCode, Json<Value>) {
        record(&f, &method, &uri, &body);
        let text = serde_json::from_slice::<Value>(&body).unwrap()["body"].as_str().unwrap().to_string();
        let mut fake = f.lock().unwrap();
        let id = 9000 + fake.comments.len() as u64;
        fake.comments.push((id, text));
        (StatusCode::CREATED, Json(json!({"id": id})))
    }
    async fn update(
        State(f): State<Shared>,
        Path(id): Path<u64>,
        method: Method,
        uri: Uri,
        body: Bytes,
    ) -> (StatusCode, Json<Value>) {
        record(&f, &method, &uri, &body);
        let text = serde_json::from_slice::<Value>(&body).unwrap()["body"].as_str().unwrap().to_string();
        let mut fake = f.lock().unwrap();
        match fake.comments.iter_mut().find(|(i, _)| *i == id) {
            Some(comment) => {
                comment.1 = text;
                (StatusCode::OK, Json(json!({"id": id})))
            }
            None => (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))),
        }
    }
    async fn sarif(State(f): State<Shared>, method: Method, uri: Uri, body: Bytes) -> (StatusCode, Json<Value>) {
        record(&f, &method, &uri, &body);
        (StatusCode::ACCEPTED, Json(json!({"id": "sarif-1"})))
    }
    let app = Router::new()
        .route("/repos/acme/api/issues/{number}/comments", get(list).post(create))
        .route("/repos/acme/api/issues/comments/{id}", patch(update))
        .route("/repos/acme/api/code-scanning/sarifs", post(sarif))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, fake)
}

/// A pull_request event; `head_repo` differs from acme/api for a fork.
fn event(dir: &std::path::Path, name: &str, head_repo: &str) -> String {
    let path = dir.join(name);
    let event = json!({"pull_request": {
        "number": 7,
        "head": {"sha": "0123456789abcdef0123456789abcdef01234567", "repo": {"full_name": head_repo}},
        "base": {"repo": {"full_name": "acme/api"}}
    }});
    std::fs::write(&path, event.to_string()).unwrap();
    path.display().to_string()
}

struct Run {
    code: i32,
    stderr: String,
    summary: String,
    outputs: String,
}

async fn run_action(api: &str, event_path: &str, target: &mortar_lab::LabTarget, identity: &str) -> Run {
    run_action_with(api, event_path, target, identity, None).await
}

/// Where the action gets mortar from when it is not given one: a release
/// server (`GITHUB_SERVER_URL`) and the PATH the script sees.
struct Release {
    server: String,
    path: String,
}

async fn run_action_with(
    api: &str,
    event_path: &str,
    target: &mortar_lab::LabTarget,
    identity: &str,
    release: Option<&Release>,
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs.txt");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../action/mortar_action.py");
    let ca = target.scan_args[1].clone();
    let mut command = tokio::process::Command::new(python3_path());
    command.arg(script).env_clear();
    match release {
        None => command
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MORTAR_BIN", env!("CARGO_BIN_EXE_mortar")),
        Some(r) => {
            command.env("PATH", &r.path).env("GITHUB_SERVER_URL", &r.server).env("MORTAR_RELEASE_REPO", "acme/mortar")
        }
    };
    command
        .env("INPUT_URL", &target.url)
        .env("INPUT_ARGS", format!("--ca-cert {ca}"))
        .env("INPUT_THRESHOLD", "100")
        .env("INPUT_IDENTITIES", format!("alice=Authorization:{identity}"))
        .env("INPUT_TOKEN", "ghs_fake_token_for_the_loopback_api")
        .env("GITHUB_API_URL", api)
        .env("GITHUB_REPOSITORY", "acme/api")
        .env("GITHUB_EVENT_PATH", event_path)
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_REF", "refs/pull/7/merge")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", dir.path());
    let out = command.output().await.unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
    }
}

fn python3_available() -> bool {
    std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The Python interpreter itself (not a launcher shim), so a test can give
/// the script a PATH without python, bash or cargo on it.
fn python3_path() -> std::path::PathBuf {
    let out = std::process::Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output();
    out.ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|p| !p.is_empty())
        .map(Into::into)
        .unwrap_or_else(|| "python3".into())
}

/// A release asset as the release workflow makes it: a tar.gz holding one
/// `mortar` file, and its `<sha256>  <name>` line.
fn release_asset(dir: &std::path::Path, mortar: &std::path::Path) -> (Vec<u8>, String) {
    let archive = dir.join("asset.tar.gz");
    let packed = std::process::Command::new(python3_path())
        .args(["-c", "import sys, tarfile\nwith tarfile.open(sys.argv[1], 'w:gz') as t: t.add(sys.argv[2], 'mortar')"])
        .arg(&archive)
        .arg(mortar)
        .status()
        .unwrap();
    assert!(packed.success());
    let bytes = std::fs::read(&archive).unwrap();
    let digest = std::process::Command::new(python3_path())
        .args(["-c", "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())"])
        .arg(&archive)
        .output()
        .unwrap();
    let sum = String::from_utf8(digest.stdout).unwrap().trim().to_string();
    (bytes, format!("{sum}  mortar-x86_64-unknown-linux-musl.tar.gz\n"))
}

/// Release files by name, and every name asked for.
type Releases = Arc<(Vec<(&'static str, Vec<u8>)>, Mutex<Vec<String>>)>;

/// Serves `files` under `/acme/mortar/releases/latest/download/`, recording each name asked.
async fn fake_releases(files: Vec<(&'static str, Vec<u8>)>) -> (String, Releases) {
    let shared: Releases = Arc::new((files, Mutex::new(Vec::new())));
    async fn asset(State(s): State<Releases>, Path(name): Path<String>) -> (StatusCode, Vec<u8>) {
        s.1.lock().unwrap().push(name.clone());
        match s.0.iter().find(|(n, _)| *n == name) {
            Some((_, bytes)) => (StatusCode::OK, bytes.clone()),
            None => (StatusCode::NOT_FOUND, Vec::new()),
        }
    }
    let app =
        Router::new().route("/acme/mortar/releases/latest/download/{name}", get(asset)).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, shared)
}

/// Without MORTAR_BIN the action fetches the release asset and its checksum
/// from the action's repository (a loopback fake), verifies it and scans
/// with it; a tampered asset is refused before it can run, and with no cargo
/// to build from source the action stops with exit 2.
#[tokio::test(flavor = "multi_thread")]
async fn the_action_runs_a_verified_release_binary_and_refuses_a_tampered_one() {
    if !python3_available() {
        eprintln!("SKIP: python3 is not installed; the action's script cannot run here");
        return;
    }
    let lab = Lab::start_only(&["version-disclosure"]).await.unwrap();
    let t = target(&lab, "version-disclosure", "fixed");
    let token_file = t.scan_args.iter().find_map(|a| a.strip_prefix("alice=Authorization:@")).unwrap();
    let secret = std::fs::read_to_string(token_file).unwrap();
    let (api, _fake) = fake_github().await;
    let dir = tempfile::tempdir().unwrap();
    let event_path = event(dir.path(), "pr.json", "acme/api");
    let no_cargo = dir.path().join("empty-path");
    std::fs::create_dir(&no_cargo).unwrap();
    let asset = "mortar-x86_64-unknown-linux-musl.tar.gz";

    let (good, good_sum) = release_asset(dir.path(), std::path::Path::new(env!("CARGO_BIN_EXE_mortar")));
    let (server, asked) = fake_releases(vec![
        (asset, good.clone()),
        ("mortar-x86_64-unknown-linux-musl.tar.gz.sha256", good_sum.clone().into_bytes()),
    ])
    .await;
    let release = Release { server, path: no_cargo.display().to_string() };
    let run = run_action_with(&api, &event_path, t, &secret, Some(&release)).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("building mortar with cargo"), "{}", run.stderr);
    assert!(run.outputs.contains("grade="), "{}", run.outputs);
    assert_eq!(asked.1.lock().unwrap().clone(), vec![asset.to_string(), format!("{asset}.sha256")]);

    // A tampered asset (a script that would leave a mark) with the genuine checksum.
    let mark = dir.path().join("tampered-binary-ran");
    let evil = dir.path().join("evil");
    std::fs::create_dir(&evil).unwrap();
    let script = evil.join("mortar");
    std::fs::write(&script, format!("#!/bin/sh\ntouch {}\n", mark.display())).unwrap();
    let (tampered, _) = release_asset(&evil, &script);
    let (server, _) = fake_releases(vec![
        (asset, tampered),
        ("mortar-x86_64-unknown-linux-musl.tar.gz.sha256", good_sum.into_bytes()),
    ])
    .await;
    let release = Release { server, path: no_cargo.display().to_string() };
    let run = run_action_with(&api, &event_path, t, &secret, Some(&release)).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("checksum mismatch"), "{}", run.stderr);
    assert!(run.stderr.contains("cannot build mortar with cargo"), "{}", run.stderr);
    assert!(!mark.exists(), "the tampered binary ran");
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_action_uploads_comments_once_and_fails_on_the_gate_without_leaking() {
    if !python3_available() {
        eprintln!("SKIP: python3 is not installed; the action's script cannot run here");
        return;
    }
    let lab = Lab::start_only(&["version-disclosure"]).await.unwrap();
    let t = target(&lab, "version-disclosure", "vulnerable");
    let token_file = t.scan_args.iter().find_map(|a| a.strip_prefix("alice=Authorization:@")).unwrap();
    let secret = std::fs::read_to_string(token_file).unwrap();
    let (api, fake) = fake_github().await;
    let dir = tempfile::tempdir().unwrap();
    let same_repo = event(dir.path(), "pr.json", "acme/api");

    // Same-repository pull request: SARIF uploaded, one comment, gate fails (exit 1).
    let first = run_action(&api, &same_repo, t, &secret).await;
    assert_eq!(first.code, 1, "{}", first.stderr);
    let second = run_action(&api, &same_repo, t, &secret).await;
    assert_eq!(second.code, 1, "{}", second.stderr);
    {
        let fake = fake.lock().unwrap();
        let posts: Vec<_> = fake.calls.iter().filter(|(m, p, _)| m == "POST" && p.ends_with("/comments")).collect();
        let patches: Vec<_> = fake.calls.iter().filter(|(m, _, _)| m == "PATCH").collect();
        assert_eq!((posts.len(), patches.len()), (1, 1), "one comment created, then updated: {:?}", fake.calls);
        assert_eq!(fake.comments.len(), 1);
        assert!(fake.comments[0].1.contains("<!-- mortar-action-report -->"));
        let uploads: Vec<_> = fake.calls.iter().filter(|(_, p, _)| p.ends_with("/code-scanning/sarifs")).collect();
        assert_eq!(uploads.len(), 2);
        let upload: Value = serde_json::from_str(&uploads[0].2).unwrap();
        assert_eq!(upload["commit_sha"], "0123456789abcdef0123456789abcdef01234567");
        assert_eq!(upload["ref"], "refs/pull/7/head");
        let gz = base64::engine::general_purpose::STANDARD.decode(upload["sarif"].as_str().unwrap()).unwrap();
        let mut sarif = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut sarif).unwrap();
        let sarif: Value = serde_json::from_str(&sarif).unwrap();
        assert_eq!(sarif["version"], "2.1.0");
        assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
        for (_, _, body) in &fake.calls {
            assert!(!body.contains(secret.trim()), "the identity's secret reached the GitHub API");
        }
    }
    assert!(first.outputs.contains("grade=") && first.outputs.contains("score="), "{}", first.outputs);
    assert!(first.outputs.lines().any(|l| l.starts_with("low-count=") || l.starts_with("medium-count=")));
    assert!(!first.summary.is_empty());
    for text in [&first.summary, &first.outputs, &first.stderr] {
        assert!(!text.contains(secret.trim()), "the identity's secret was printed");
    }

    // Fork pull request: read-only token, nothing written to the API, the gate still decides.
    let calls_before = fake.lock().unwrap().calls.len();
    let fork = event(dir.path(), "fork.json", "mallory/api");
    let forked = run_action(&api, &fork, t, &secret).await;
    assert_eq!(forked.code, 1, "{}", forked.stderr);
    assert!(forked.stderr.contains("fork pull request"), "{}", forked.stderr);
    assert_eq!(fake.lock().unwrap().calls.len(), calls_before, "a fork run called the API");
    assert!(!forked.summary.is_empty());

    // The fixed variant passes the same gate (exit 0).
    let fixed = target(&lab, "version-disclosure", "fixed");
    let fixed_token = fixed.scan_args.iter().find_map(|a| a.strip_prefix("alice=Authorization:@")).unwrap();
    let fixed_secret = std::fs::read_to_string(fixed_token).unwrap();
    let passed = run_action(&api, &same_repo, fixed, &fixed_secret).await;
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    lab.shutdown();
}

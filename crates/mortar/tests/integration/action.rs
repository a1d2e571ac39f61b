//! The GitHub Action's script (action/mortar_action.py) against a loopback
//! fake of the GitHub API and a lab target: SARIF upload, one pull-request
//! comment updated in place, job summary, outputs, the gate's exit code, a
//! fork pull request with a read-only token, and no secret anywhere.

use crate::support::target;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, patch, post};
use axum::{Json, body::Bytes};
use base64::Engine as _;
use mortar_lab::{Lab, LabOptions};
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
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs.txt");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../action/mortar_action.py");
    let ca = target.scan_args[1].clone();
    let mut command = tokio::process::Command::new("python3");
    command
        .arg(script)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MORTAR_BIN", env!("CARGO_BIN_EXE_mortar"))
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

#[tokio::test(flavor = "multi_thread")]
async fn the_action_uploads_comments_once_and_fails_on_the_gate_without_leaking() {
    if !python3_available() {
        eprintln!("SKIP: python3 is not installed; the action's script cannot run here");
        return;
    }
    let lab = Lab::start(LabOptions::default()).await.unwrap();
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

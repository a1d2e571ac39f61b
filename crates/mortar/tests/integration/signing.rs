//! Signed scans: the secret stays out of every output, and the fixed
//! verifier's window is measured. (Each signing scenario firing exactly its
//! check, with the secret and from a captured sample, is covered by
//! `lab_scans`' exact-expectation test over every lab target.)

use crate::support::{assert_valid_report, mortar, scan_args, target};
use base64::Engine as _;
use mortar_lab::Lab;

/// The secret file a lab target's config points at.
fn signing_secret(t: &mortar_lab::LabTarget) -> Vec<u8> {
    let config = t.scan_args.iter().skip_while(|a| *a != "--config").nth(1).expect("a --config argument");
    let text = std::fs::read_to_string(config).unwrap();
    let line = text.lines().find(|l| l.starts_with("secret = \"@")).expect("a secret line");
    let path = line.trim_start_matches("secret = \"@").trim_end_matches('"');
    std::fs::read(path).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_output_format_of_a_signed_scan_holds_the_secret_in_any_encoding() {
    let lab = Lab::start_only(&["signing-body-only"]).await.unwrap();
    // A vulnerable target, so findings with evidence and reproduce commands exist.
    let t = target(&lab, "signing-body-only", "vulnerable");
    let secret = signing_secret(t);
    assert!(secret.len() >= 32);
    let dir = tempfile::tempdir().unwrap();
    let formats = ["json", "sarif", "junit", "markdown", "html", "summary"];
    let files: Vec<(String, std::path::PathBuf)> = formats
        .iter()
        .map(|f| {
            (format!("{f}={}", dir.path().join(format!("out.{f}")).display()), dir.path().join(format!("out.{f}")))
        })
        .collect();
    let mut extra = vec!["-vv", "--format", "json"];
    for (arg, _) in &files {
        extra.extend(["--report", arg.as_str()]);
    }
    let out = mortar(&scan_args(t, &extra), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    assert!(
        report["findings"].as_array().is_some_and(|f| !f.is_empty()),
        "the scan must have findings for the test to mean anything"
    );
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let forms = [
        String::from_utf8_lossy(&secret).into_owned(),
        hex.clone(),
        hex.to_ascii_uppercase(),
        base64::engine::general_purpose::STANDARD.encode(&secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&secret),
    ];
    let mut outputs = vec![("stdout".to_string(), out.stdout.clone()), ("stderr".to_string(), out.stderr.clone())];
    for (arg, path) in &files {
        outputs.push((arg.clone(), std::fs::read_to_string(path).unwrap()));
    }
    for (what, text) in &outputs {
        assert!(what == "stderr" || !text.is_empty(), "{what} is empty");
        for form in &forms {
            assert!(!text.contains(form.as_str()), "{what} holds the signing secret (a {}-byte form)", form.len());
        }
    }
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fixed_verifiers_window_is_measured_at_300_seconds() {
    let lab = Lab::start_only(&["signing-any-timestamp"]).await.unwrap();
    let t = target(&lab, "signing-any-timestamp", "fixed");
    let out = mortar(&scan_args(t, &["--format", "json", "--checks", "request-signing.stale-timestamp"]), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    let reason = report["coverage"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "request-signing.stale-timestamp")
        .and_then(|c| c["reason"].as_str())
        .unwrap()
        .to_string();
    let measured: i64 = reason
        .split("measured tolerance window for old timestamps: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no measured window in `{reason}`"));
    assert!((measured - 300).abs() <= 2, "measured {measured} s");
    assert!(report["findings"].as_array().unwrap().is_empty());
    lab.shutdown();
}

/// A captured request's own credentials are secrets given to mortar: masked
/// in evidence even though they travel in the sample, not in an identity.
#[tokio::test(flavor = "multi_thread")]
async fn a_signed_samples_credentials_never_reach_the_report() {
    let lab = Lab::start_only(&["signing-replay-sample"]).await.unwrap();
    let t = target(&lab, "signing-replay-sample", "vulnerable");
    let at = t.scan_args.iter().position(|a| a == "--signed-sample").unwrap() + 1;
    let sample = std::fs::read_to_string(&t.scan_args[at]).unwrap();
    let token = "tok-7c1e0b9a44d2f8e6-captured";
    let with_token = sample.replacen("\r\n", &format!("\r\nAuthorization: Bearer {token}\r\n"), 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.http");
    std::fs::write(&path, with_token).unwrap();
    let mut args: Vec<&str> = vec!["scan", t.url.as_str()];
    let path_arg = path.to_str().unwrap().to_string();
    for (i, a) in t.scan_args.iter().enumerate() {
        args.push(if i == at { path_arg.as_str() } else { a.as_str() });
    }
    args.extend(["--format", "json"]);
    let out = mortar(&args, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    assert!(
        report["findings"].as_array().is_some_and(|f| f.iter().any(|f| f["check"] == "request-signing.replay")),
        "the replay (whose evidence is the captured request) must be found"
    );
    assert!(out.stdout.contains("Authorization"), "the header is in the evidence, masked");
    assert!(!out.stdout.contains(token), "the sample's token reached the report");
    lab.shutdown();
}

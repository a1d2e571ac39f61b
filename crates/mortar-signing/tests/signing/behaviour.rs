//! Behaviour: tampering, windows, replay, config, secrets, hostile input.

use std::sync::Arc;

use mortar_signing::{
    AwsSigV4, CustomScheme, MemoryNonceStore, Rfc9421, Scheme, SecretEncoding, SecretRef, Signer, SigningConfig,
    SigningError, SigningSecret, VerifyError,
};

use crate::support::{Req, signer, verifier};

const NOW: i64 = 1_700_000_000;

fn schemes() -> Vec<(&'static str, Scheme, &'static [u8])> {
    vec![
        ("github", Scheme::Custom(CustomScheme::github()), b"k"),
        ("stripe", Scheme::Custom(CustomScheme::stripe()), b"k"),
        ("slack", Scheme::Custom(CustomScheme::slack()), b"k"),
        ("standard-webhooks", Scheme::Custom(CustomScheme::standard_webhooks()), b"whsec_c2VjcmV0LWtleS1ieXRlcw=="),
        (
            "custom",
            Scheme::Custom(config(
                r#"
                secret = "env:X"
                algorithm = "sha512"
                template = "{method}\n{path}\n{query}\n{header:x-tenant}\n{body_sha256_hex}\n{timestamp}\n{nonce}"
                signature_header = "X-Signature"
                signature_format = "t={timestamp},n={nonce},v1={sig}"
                timestamp_format = "rfc3339"
                encoding = "base64url"
                "#,
            )),
            b"k",
        ),
        (
            "aws",
            Scheme::AwsSigV4(AwsSigV4 {
                access_key_id: "AKID".into(),
                region: "eu-west-1".into(),
                service: "execute-api".into(),
                session_token: None,
                content_sha256_header: false,
            }),
            b"k",
        ),
        (
            "rfc9421",
            Scheme::Rfc9421(Rfc9421 {
                label: "sig1".into(),
                key_id: Some("kid".into()),
                components: ["@method", "@authority", "@path", "@query", "x-tenant", "content-digest"]
                    .map(String::from)
                    .to_vec(),
                include_alg: true,
                include_nonce: true,
                expires_in_secs: Some(60),
                secret_encoding: SecretEncoding::Raw,
            }),
            b"k",
        ),
    ]
}

fn config(toml_text: &str) -> CustomScheme {
    let cfg: SigningConfig = toml::from_str(toml_text).unwrap();
    match cfg.scheme(&mut |_| unreachable!()).unwrap() {
        Scheme::Custom(c) => c,
        other => panic!("not custom: {other:?}"),
    }
}

fn base_request() -> Req {
    let mut r = Req::new(
        "POST",
        "/v1/orders?id=7&x=1",
        &[("Host", "api.example.com"), ("X-Tenant", "acme"), ("Content-Type", "application/json")],
        br#"{"qty":1}"#,
    );
    r.scheme = "https".into();
    r
}

/// Which one-component changes each scheme must notice. GitHub, Stripe,
/// Slack and Standard Webhooks sign only the body (and time/id): a changed
/// method or path is *expected* to pass, which is what a probe reports.
#[test]
fn every_signed_component_is_bound() {
    type Change = (&'static str, fn(&mut Req));
    let changes: [Change; 5] = [
        ("method", |r| r.method = "PUT".into()),
        ("path", |r| r.target = "/v1/orderz?id=7&x=1".into()),
        ("query", |r| r.target = "/v1/orders?id=8&x=1".into()),
        ("header", |r| r.headers[1].1 = "evil".into()),
        ("body", |r| r.body[2] ^= 1),
    ];
    for (name, scheme, key) in schemes() {
        let req = base_request();
        let sig = signer(scheme.clone(), key, NOW, "nonce-1").sign(&req.view()).unwrap();
        let signed = req.signed(&sig);
        let v = verifier(scheme.clone(), key, NOW);
        v.verify(&signed.view()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (what, change) in changes {
            let mut tampered = signed.clone();
            change(&mut tampered);
            let result = v.verify(&tampered.view());
            let body_only = matches!(name, "github" | "stripe" | "slack" | "standard-webhooks");
            if body_only && what != "body" {
                assert!(result.is_ok(), "{name}/{what}: unsigned part changed, still valid");
            } else {
                assert!(
                    matches!(result, Err(VerifyError::Mismatch | VerifyError::DigestMismatch)),
                    "{name}/{what}: {result:?}"
                );
            }
        }
        // Wrong key.
        let other = verifier(scheme.clone(), b"whsec_b3RoZXIta2V5LWJ5dGVz", NOW);
        assert!(other.verify(&signed.view()).is_err(), "{name}: other key");
        // Stripped signature headers.
        let mut stripped = signed.clone();
        for (n, _) in &sig.0 {
            stripped.headers.retain(|(h, _)| !h.eq_ignore_ascii_case(n));
        }
        assert!(v.verify(&stripped.view()).is_err(), "{name}: stripped");
    }
}

#[test]
fn timestamps_outside_the_window_are_stale() {
    for (name, scheme, key) in schemes() {
        if name == "github" {
            continue; // GitHub signs no timestamp.
        }
        let req = base_request();
        let sig = signer(scheme.clone(), key, NOW, "n").sign(&req.view()).unwrap();
        let signed = req.signed(&sig);
        let within = if name == "rfc9421" { 59 } else { 299 }; // rfc9421 also expires after 60 s
        verifier(scheme.clone(), key, NOW + within).verify(&signed.view()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let late = verifier(scheme.clone(), key, NOW + 400).with_tolerance_secs(300).verify(&signed.view());
        assert!(matches!(late, Err(VerifyError::Stale { .. } | VerifyError::Expired)), "{name}: {late:?}");
        let early = verifier(scheme, key, NOW - 400).verify(&signed.view());
        assert!(matches!(early, Err(VerifyError::Stale { .. })), "{name}: {early:?}");
    }
}

#[test]
fn replays_are_refused_by_the_nonce_store() {
    for (name, scheme, key) in schemes() {
        let req = base_request();
        let sig = signer(scheme.clone(), key, NOW, "n-42").sign(&req.view()).unwrap();
        let signed = req.signed(&sig);
        let v = verifier(scheme, key, NOW).with_nonce_store(Arc::new(MemoryNonceStore::default()));
        v.verify(&signed.view()).unwrap();
        assert_eq!(v.verify(&signed.view()), Err(VerifyError::Replayed), "{name}");
    }
}

#[test]
fn stripe_accepts_any_v1_during_a_key_roll() {
    let scheme = Scheme::Custom(CustomScheme::stripe());
    let req = base_request();
    let sig = signer(scheme.clone(), b"k", NOW, "").sign(&req.view()).unwrap();
    let value = sig.get("Stripe-Signature").unwrap();
    let (t, v1) = value.split_once(',').unwrap();
    let mut rolled = req.clone();
    rolled.headers.push(("Stripe-Signature".into(), format!("{t},v1={},{v1},v0=abc", "0".repeat(64))));
    verifier(scheme, b"k", NOW).verify(&rolled.view()).unwrap();
}

#[test]
fn signatures_replace_existing_headers() {
    let scheme = Scheme::Custom(CustomScheme::github());
    let mut req = base_request();
    req.headers.push(("x-hub-signature-256".into(), "sha256=stale".into()));
    let sig = signer(scheme, b"k", NOW, "").sign(&req.view()).unwrap();
    let signed = req.signed(&sig);
    assert_eq!(signed.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("x-hub-signature-256")).count(), 1);
}

#[test]
fn rfc9421_adds_content_digest_and_checks_it() {
    let (_, scheme, key) = schemes().pop().unwrap();
    let req = base_request();
    let sig = signer(scheme.clone(), key, NOW, "n").sign(&req.view()).unwrap();
    assert!(sig.get("Content-Digest").unwrap().starts_with("sha-256=:"));
    let si = sig.get("Signature-Input").unwrap();
    assert!(
        si.contains(";created=1700000000;keyid=\"kid\";alg=\"hmac-sha256\";expires=1700000060;nonce=\"n\""),
        "{si}"
    );
    // Expired signature.
    let late = verifier(scheme, key, NOW + 61).verify(&req.signed(&sig).view());
    assert_eq!(late, Err(VerifyError::Expired));
}

#[test]
fn config_presets_and_validation() {
    let ok = |text: &str| -> Scheme {
        let cfg: SigningConfig = toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        cfg.scheme(&mut |r| Ok(SigningSecret::new(r.describe()))).unwrap_or_else(|e| panic!("{text}: {e}"))
    };
    let err = |text: &str| -> String {
        match toml::from_str::<SigningConfig>(text) {
            Err(e) => e.to_string(),
            Ok(cfg) => cfg.scheme(&mut |r| Ok(SigningSecret::new(r.describe()))).unwrap_err().to_string(),
        }
    };
    assert_eq!(ok("secret = \"env:K\"\npreset = \"github\""), Scheme::Custom(CustomScheme::github()));
    assert_eq!(
        ok("secret = \"@/k\"\npreset = \"standard-webhooks\""),
        Scheme::Custom(CustomScheme::standard_webhooks())
    );
    let Scheme::AwsSigV4(a) =
        ok("secret = \"env:K\"\npreset = \"aws-sigv4\"\naccess_key_id = \"AK\"\nregion = \"r\"\nservice = \"s3\"")
    else {
        panic!()
    };
    assert!(a.content_sha256_header);
    let Scheme::Rfc9421(r) = ok("secret = \"env:K\"\npreset = \"rfc9421\"\nkey_id = \"k\"") else { panic!() };
    assert_eq!(r.components, ["@method", "@authority", "@path", "@query", "content-digest"]);
    let Scheme::Custom(c) = ok("secret = \"env:K\"\npreset = \"github\"\nsignature_header = \"X-Hub-Signature\"")
    else {
        panic!()
    };
    assert_eq!(c.signature_header, "X-Hub-Signature");

    // The README's custom example, every key.
    let readme = include_str!("../../README.md");
    let start = readme.find("[identities.legacy.signing]").unwrap();
    let table = &readme[start..][..readme[start..].find("```").unwrap()];
    let table = table.split_once('\n').unwrap().1;
    let Scheme::Custom(c) = ok(table) else { panic!() };
    assert_eq!((c.timestamp_header.as_deref(), c.nonce_header.as_deref()), (Some("X-Timestamp"), Some("X-Nonce")));

    assert!(err("secret = \"env:K\"\npreset = \"github\"\nbogus = 1").contains("unknown field"));
    assert!(err("secret = \"env:K\"\npreset = \"nope\"").contains("unknown variant"));
    assert!(err("secret = \"env:K\"\npreset = \"aws-sigv4\"\nregion = \"r\"").contains("service"));
    assert!(err("secret = \"env:K\"\npreset = \"aws-sigv4\"\ntemplate = \"{body}\"").contains("template"));
    assert!(err("secret = \"env:K\"\npreset = \"github\"\nregion = \"r\"").contains("region"));
    assert!(err("secret = \"env:K\"\ntemplate = \"{body}\"").contains("signature_header"));
    assert!(
        err("secret = \"env:K\"\ntemplate = \"{bogus}\"\nsignature_header = \"X\"").contains("unknown placeholder")
    );
    assert!(
        err("secret = \"env:K\"\ntemplate = \"{timestamp}.{body}\"\nsignature_header = \"X\"").contains("timestamp")
    );
    assert!(err("secret = \"env:K\"\npreset = \"rfc9421\"\ncomponents = [\"@query-param\"]").contains("not supported"));
    assert!(
        err("secret = \"env:K\"\nalgorithm = \"md5\"\ntemplate = \"{body}\"\nsignature_header = \"X\"").contains("md5")
    );
}

#[test]
fn secrets_never_show() {
    let literal = "sk_live_do_not_print_me";
    let cfg = toml::from_str::<SigningConfig>(&format!("secret = \"{literal}\"\npreset = \"github\"")).unwrap();
    assert!(!format!("{cfg:?}").contains("do_not_print"));
    let e = cfg.scheme(&mut |_| unreachable!()).unwrap_err();
    assert!(!e.to_string().contains("do_not_print"), "{e}");
    assert!(Signer::from_config(&cfg).is_err());
    assert!(e.to_string().contains("env:NAME"), "{e}");
    let secret = SigningSecret::new(literal);
    assert_eq!(format!("{secret:?} {secret}"), "*** ***");
    let s = Signer::new(Scheme::Custom(CustomScheme::github()), &secret).unwrap();
    assert!(!format!("{s:?}").contains("do_not_print"));
    // A whsec secret that is not base64: the message does not quote it.
    let bad = Signer::new(Scheme::Custom(CustomScheme::standard_webhooks()), &SigningSecret::new("whsec_!!nope!!"));
    assert!(matches!(&bad, Err(SigningError::MalformedSecret(m)) if !m.contains("nope")), "{bad:?}");
    // Unset variables and missing files name the source only.
    let e = SecretRef::parse("env:MORTAR_SIGNING_SURELY_UNSET").unwrap().resolve().unwrap_err();
    assert_eq!(e.to_string(), "signing secret from env:MORTAR_SIGNING_SURELY_UNSET: variable is not set");
    let dir = std::env::temp_dir().join(format!("mortar-signing-{}", std::process::id()));
    std::fs::write(&dir, b"file-secret\n").unwrap();
    let read = SecretRef::parse(&format!("@{}", dir.display())).unwrap().resolve().unwrap();
    assert_eq!(read.expose(), b"file-secret");
    std::fs::remove_file(&dir).unwrap();
}

#[test]
fn missing_signed_header_is_a_typed_error() {
    let scheme =
        Scheme::Custom(config("secret = \"env:X\"\ntemplate = \"{header:x-date}\"\nsignature_header = \"X-Sig\""));
    let req = Req::new("GET", "/", &[], b"");
    assert_eq!(signer(scheme, b"k", NOW, "").sign(&req.view()), Err(SigningError::MissingHeader("x-date".into())));
}

/// Hostile and malformed inputs produce errors, never panics.
#[test]
fn hostile_inputs_do_not_panic() {
    let nasty = [
        "",
        " ",
        ",",
        "=",
        "t=,v1=",
        "v1,",
        "sha256=zz",
        "(",
        "sig1=(",
        "sig1=(\"@method\";x)",
        "sig1=:::",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=, Signature=",
        "sig1=(\"@method\");created=99999999999999999999",
        "é\u{0}\u{7f}",
        "sig1=(\"@query-param\")",
        "t=1,v1=00,t=2",
        "v1,==== v1,@@",
        "sig1=(\"a\" \"b\");created=-5",
    ];
    let headers = [
        "X-Hub-Signature-256",
        "Stripe-Signature",
        "X-Slack-Signature",
        "X-Slack-Request-Timestamp",
        "webhook-signature",
        "webhook-timestamp",
        "webhook-id",
        "X-Signature",
        "Authorization",
        "X-Amz-Date",
        "Signature-Input",
        "Signature",
        "Content-Digest",
        "Host",
    ];
    let targets = ["", "?", "??", "/%", "/%zz/..//../", "/\u{1234}?a=%&=b&&"];
    for (name, scheme, key) in schemes() {
        let v = verifier(scheme.clone(), key, NOW);
        for value in nasty {
            for target in targets {
                let mut req = Req::new("", target, &[], b"");
                for h in headers {
                    req.headers.push((h.into(), value.into()));
                }
                let _ = v.verify(&req.view());
                let _ = signer(scheme.clone(), key, NOW, value).sign(&req.view());
                let _ = name;
            }
        }
    }
}

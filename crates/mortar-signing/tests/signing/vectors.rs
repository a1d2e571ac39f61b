//! Published vectors, reproduced exactly.

use mortar_signing::{AwsSigV4, CustomScheme, Rfc9421, Scheme, SecretEncoding};

use crate::support::{Req, signer, verifier};

/// GitHub's documented example ("Validating webhook deliveries").
#[test]
fn github_documented_example() {
    let s = signer(Scheme::Custom(CustomScheme::github()), b"It's a Secret to Everybody", 0, "");
    let req = Req::new("POST", "/hook", &[("Host", "example.com")], b"Hello, World!");
    let sig = s.sign(&req.view()).unwrap();
    assert_eq!(
        sig.get("X-Hub-Signature-256"),
        Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
    );
    let v = verifier(Scheme::Custom(CustomScheme::github()), b"It's a Secret to Everybody", 0);
    v.verify(&req.signed(&sig).view()).unwrap();
}

const AWS_SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AWS_TIME: i64 = 1_440_938_160; // 20150830T123600Z

fn aws(service: &str) -> Scheme {
    Scheme::AwsSigV4(AwsSigV4 {
        access_key_id: "AKIDEXAMPLE".into(),
        region: "us-east-1".into(),
        service: service.into(),
        session_token: None,
        content_sha256_header: false,
    })
}

/// Cases of the AWS SigV4 test suite (aws-sig-v4-test-suite, 2015-08-30)
/// whose published Authorization values are hard-coded here. The wider
/// suite runs differentially against botocore (differential.rs).
#[test]
fn aws_sigv4_published_test_suite() {
    let cases = [
        ("get-vanilla", "GET", "/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("post-vanilla", "POST", "/", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        (
            "get-vanilla-query-order-key-case",
            "GET",
            "/?Param2=value2&Param1=value1",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
    ];
    for (name, method, target, signature) in cases {
        let req = Req::new(method, target, &[("Host", "example.amazonaws.com")], b"");
        let sig = signer(aws("service"), AWS_SECRET, AWS_TIME, "").sign(&req.view()).unwrap();
        assert_eq!(sig.get("X-Amz-Date"), Some("20150830T123600Z"), "{name}");
        assert_eq!(
            sig.get("Authorization").unwrap(),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature={signature}"
            ),
            "{name}"
        );
        verifier(aws("service"), AWS_SECRET, AWS_TIME).verify(&req.signed(&sig).view()).unwrap();
    }
}

const RFC9421_KEY: &[u8] = b"uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";

fn rfc9421_b25() -> Scheme {
    Scheme::Rfc9421(Rfc9421 {
        label: "sig-b25".into(),
        key_id: Some("test-shared-secret".into()),
        components: vec!["date".into(), "@authority".into(), "content-type".into()],
        include_alg: false,
        include_nonce: false,
        expires_in_secs: None,
        secret_encoding: SecretEncoding::Base64,
    })
}

/// The RFC 9421 test request (appendix B.2).
fn rfc9421_request() -> Req {
    Req::new(
        "POST",
        "/foo?param=Value&Pet=dog",
        &[
            ("Host", "example.com"),
            ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("Content-Type", "application/json"),
            (
                "Content-Digest",
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            ),
            ("Content-Length", "18"),
        ],
        br#"{"hello": "world"}"#,
    )
}

/// RFC 9421 appendix B.2.5: signing a request using hmac-sha256.
#[test]
fn rfc9421_b_2_5_hmac_sha256() {
    let req = rfc9421_request();
    let sig = signer(rfc9421_b25(), RFC9421_KEY, 1_618_884_473, "").sign(&req.view()).unwrap();
    assert_eq!(
        sig.get("Signature-Input"),
        Some(r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#)
    );
    assert_eq!(sig.get("Signature"), Some("sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:"));

    // The published headers verify, and the covered Content-Digest (sha-512) is checked too.
    let mut published = req.clone();
    published.headers.push((
        "Signature-Input".into(),
        r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#.into(),
    ));
    published.headers.push(("Signature".into(), "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:".into()));
    verifier(rfc9421_b25(), RFC9421_KEY, 1_618_884_473).verify(&published.view()).unwrap();
}

/// Standard Webhooks' published test vector (the specification's and the
/// reference libraries' tests).
#[test]
fn standard_webhooks_published_vector() {
    let scheme = Scheme::Custom(CustomScheme::standard_webhooks());
    let secret = b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let req = Req::new("POST", "/webhook", &[("Content-Type", "application/json")], br#"{"test": 2432232314}"#);
    let sig = signer(scheme.clone(), secret, 1_614_265_330, "msg_p5jXN8AQM9LWM0D4loKWxJek").sign(&req.view()).unwrap();
    assert_eq!(sig.get("webhook-id"), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
    assert_eq!(sig.get("webhook-timestamp"), Some("1614265330"));
    assert_eq!(sig.get("webhook-signature"), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    verifier(scheme, secret, 1_614_265_330).verify(&req.signed(&sig).view()).unwrap();
}

//! Helpers shared by the tests.

use std::sync::Arc;

use mortar_signing::{
    FixedClock, FixedNonce, Header, RequestView, Scheme, SignatureHeaders, Signer, SigningSecret, Verifier,
};

/// An owned request for tests.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub scheme: String,
    pub authority: Option<String>,
    pub target: String,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Req {
        Req {
            method: method.into(),
            scheme: "https".into(),
            authority: None,
            target: target.into(),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.to_vec(),
        }
    }

    pub fn view(&self) -> RequestView<'_> {
        RequestView {
            method: &self.method,
            scheme: &self.scheme,
            authority: self.authority.as_deref(),
            target: &self.target,
            headers: &self.headers,
            body: &self.body,
        }
    }

    /// This request with the signature headers applied.
    pub fn signed(&self, sig: &SignatureHeaders) -> Req {
        let mut out = self.clone();
        sig.apply_to(&mut out.headers);
        out
    }
}

pub fn signer(scheme: Scheme, secret: &[u8], secs: i64, nonce: &str) -> Signer {
    Signer::new(scheme, &SigningSecret::new(secret))
        .expect("signer")
        .with_clock(Arc::new(FixedClock::from_secs(secs)))
        .with_nonce_source(Arc::new(FixedNonce(nonce.into())))
}

pub fn verifier(scheme: Scheme, secret: &[u8], secs: i64) -> Verifier {
    Verifier::new(scheme, &SigningSecret::new(secret))
        .expect("verifier")
        .with_clock(Arc::new(FixedClock::from_secs(secs)))
}

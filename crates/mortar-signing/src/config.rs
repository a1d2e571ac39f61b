//! The `[identities.NAME.signing]` table of mortar.toml.

use serde::Deserialize;

use crate::aws::AwsSigV4;
use crate::custom::{CustomScheme, SecretEncoding, SignatureFormat, Template, TimestampFormat};
use crate::error::SigningError;
use crate::rfc9421::Rfc9421;
use crate::secret::{SecretRef, SigningSecret};
use crate::util::{Algorithm, Encoding};

/// A named scheme whose layout is fixed by its publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// AWS Signature Version 4.
    AwsSigv4,
    /// Stripe webhooks (`Stripe-Signature: t=..,v1=..`).
    Stripe,
    /// GitHub webhooks (`X-Hub-Signature-256`).
    Github,
    /// Slack request signing (`v0`).
    Slack,
    /// Standard Webhooks (`webhook-signature: v1,..`).
    StandardWebhooks,
    /// RFC 9421 HTTP Message Signatures, `hmac-sha256`.
    Rfc9421,
}

/// How an identity signs its requests.
///
/// Either a `preset` (its fields may be overridden by the custom fields for
/// the four template presets) or a custom scheme (`template` and
/// `signature_header` required). Example:
///
/// ```toml
/// [identities.partner.signing]
/// secret = "env:PARTNER_HMAC_KEY"
/// algorithm = "sha256"
/// template = "{method}\n{path}\n{query}\n{header:x-date}\n{body_sha256_hex}\n{timestamp}\n{nonce}"
/// signature_header = "X-Signature"
/// signature_format = "t={timestamp},v1={sig}"
/// timestamp_format = "unix"
/// nonce_header = "X-Nonce"
/// encoding = "base64"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// Where the key is: `env:NAME` or `@PATH` (literal keys are refused).
    /// Absent when only the scheme is known (probing from a captured
    /// request, without the key).
    pub secret: Option<SecretRef>,
    /// A published scheme.
    pub preset: Option<Preset>,
    /// Hash under HMAC (custom schemes).
    pub algorithm: Option<Algorithm>,
    /// String-to-sign template (see [`Template`]).
    pub template: Option<String>,
    /// Header that carries the signature.
    pub signature_header: Option<String>,
    /// Layout of the signature header value; default `{sig}`.
    pub signature_format: Option<String>,
    /// Signature text encoding; default hex.
    pub encoding: Option<Encoding>,
    /// Header that carries the timestamp.
    pub timestamp_header: Option<String>,
    /// Timestamp format; default Unix seconds.
    pub timestamp_format: Option<TimestampFormat>,
    /// Header that carries the nonce.
    pub nonce_header: Option<String>,
    /// How the secret text becomes key bytes; default raw.
    pub secret_encoding: Option<SecretEncoding>,
    /// AWS: access key id.
    pub access_key_id: Option<String>,
    /// AWS: region.
    pub region: Option<String>,
    /// AWS: service.
    pub service: Option<String>,
    /// AWS: session token source (`env:`/`@`).
    pub session_token: Option<SecretRef>,
    /// AWS: send `X-Amz-Content-SHA256` (default: only for `s3`).
    pub content_sha256_header: Option<bool>,
    /// RFC 9421: signature label; default `sig1`.
    pub label: Option<String>,
    /// RFC 9421: `keyid` parameter.
    pub key_id: Option<String>,
    /// RFC 9421: covered components; default
    /// `["@method", "@authority", "@path", "@query", "content-digest"]`.
    pub components: Option<Vec<String>>,
    /// RFC 9421: add `alg="hmac-sha256"`; default false.
    pub include_alg: Option<bool>,
    /// RFC 9421: add a `nonce` parameter; default true.
    pub include_nonce: Option<bool>,
    /// RFC 9421: add `expires` this many seconds after `created`.
    pub expires_in_secs: Option<u64>,
    /// Verifier: accepted clock skew in seconds; default 300.
    pub tolerance_secs: Option<u64>,
}

/// A validated scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// Template scheme (also GitHub, Stripe, Slack, Standard Webhooks).
    Custom(CustomScheme),
    /// AWS SigV4.
    AwsSigV4(AwsSigV4),
    /// RFC 9421 with hmac-sha256.
    Rfc9421(Rfc9421),
}

impl Scheme {
    /// Whether signatures carry a timestamp a verifier can hold to a window.
    pub fn uses_timestamp(&self) -> bool {
        match self {
            Scheme::Custom(c) => c.uses_timestamp(),
            Scheme::AwsSigV4(_) | Scheme::Rfc9421(_) => true,
        }
    }

    /// Whether signatures carry a nonce a verifier can remember.
    pub fn uses_nonce(&self) -> bool {
        match self {
            Scheme::Custom(c) => c.uses_nonce(),
            Scheme::AwsSigV4(_) => false,
            Scheme::Rfc9421(r) => r.include_nonce,
        }
    }

    /// The request headers the signature covers (lower-case), besides the
    /// ones the scheme itself writes.
    pub fn signed_request_headers(&self) -> Vec<String> {
        match self {
            Scheme::Custom(c) => c.template.signed_headers(),
            Scheme::AwsSigV4(_) => Vec::new(),
            Scheme::Rfc9421(r) => r
                .components
                .iter()
                .filter(|c| !c.starts_with('@') && c.as_str() != "content-digest")
                .map(|c| c.split(';').next().unwrap_or(c).trim_matches('"').to_string())
                .collect(),
        }
    }

    /// The headers that carry the signature (and its parameters): what a
    /// probe strips, empties or truncates.
    pub fn signature_headers(&self) -> Vec<String> {
        match self {
            Scheme::Custom(c) => vec![c.signature_header.clone()],
            Scheme::AwsSigV4(_) => vec!["Authorization".into()],
            Scheme::Rfc9421(_) => vec!["Signature".into(), "Signature-Input".into()],
        }
    }

    /// How the secret text becomes key bytes for this scheme.
    pub fn secret_encoding(&self) -> SecretEncoding {
        match self {
            Scheme::Custom(c) => c.secret_encoding,
            Scheme::AwsSigV4(_) => SecretEncoding::Raw,
            Scheme::Rfc9421(r) => r.secret_encoding,
        }
    }
}

/// Default verifier window (Stripe, Slack and AWS all use five minutes).
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

impl SigningConfig {
    /// The secret reference, or an error saying it is needed.
    pub fn secret_ref(&self) -> Result<&SecretRef, SigningError> {
        self.secret.as_ref().ok_or_else(|| SigningError::Config("`secret` is needed to sign".into()))
    }

    /// The verifier window.
    pub fn tolerance_secs(&self) -> u64 {
        self.tolerance_secs.unwrap_or(DEFAULT_TOLERANCE_SECS)
    }

    fn custom_fields_set(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        let mut note = |name, present: bool| {
            if present {
                set.push(name)
            }
        };
        note("algorithm", self.algorithm.is_some());
        note("template", self.template.is_some());
        note("signature_header", self.signature_header.is_some());
        note("signature_format", self.signature_format.is_some());
        note("encoding", self.encoding.is_some());
        note("timestamp_header", self.timestamp_header.is_some());
        note("timestamp_format", self.timestamp_format.is_some());
        note("nonce_header", self.nonce_header.is_some());
        set
    }

    fn aws_fields_set(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        for (name, present) in [
            ("access_key_id", self.access_key_id.is_some()),
            ("region", self.region.is_some()),
            ("service", self.service.is_some()),
            ("session_token", self.session_token.is_some()),
            ("content_sha256_header", self.content_sha256_header.is_some()),
        ] {
            if present {
                set.push(name);
            }
        }
        set
    }

    fn rfc9421_fields_set(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        for (name, present) in [
            ("label", self.label.is_some()),
            ("key_id", self.key_id.is_some()),
            ("components", self.components.is_some()),
            ("include_alg", self.include_alg.is_some()),
            ("include_nonce", self.include_nonce.is_some()),
            ("expires_in_secs", self.expires_in_secs.is_some()),
        ] {
            if present {
                set.push(name);
            }
        }
        set
    }

    /// Validates the table into a [`Scheme`]. `resolve` reads secret
    /// references (only the AWS session token is read here); pass
    /// [`SecretRef::resolve`] for the environment and files.
    pub fn scheme(
        &self,
        resolve: &mut dyn FnMut(&SecretRef) -> Result<SigningSecret, SigningError>,
    ) -> Result<Scheme, SigningError> {
        let refuse = |fields: Vec<&'static str>, what: &str| -> Result<(), SigningError> {
            if fields.is_empty() {
                Ok(())
            } else {
                Err(SigningError::Config(format!("{} do(es) not apply to {what}", fields.join(", "))))
            }
        };
        if let Some(secret) = &self.secret {
            secret.check()?;
        }
        if let Some(token) = &self.session_token {
            token.check()?;
        }
        match self.preset {
            Some(Preset::AwsSigv4) => {
                refuse(self.custom_fields_set(), "preset aws-sigv4")?;
                refuse(self.rfc9421_fields_set(), "preset aws-sigv4")?;
                if self.secret_encoding.is_some() {
                    refuse(vec!["secret_encoding"], "preset aws-sigv4")?;
                }
                let need = |v: &Option<String>, name: &str| {
                    v.clone()
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| SigningError::Config(format!("preset aws-sigv4 needs `{name}`")))
                };
                let service = need(&self.service, "service")?;
                let session_token = match &self.session_token {
                    Some(r) => Some(resolve(r)?),
                    None => None,
                };
                Ok(Scheme::AwsSigV4(AwsSigV4 {
                    access_key_id: need(&self.access_key_id, "access_key_id")?,
                    region: need(&self.region, "region")?,
                    content_sha256_header: self.content_sha256_header.unwrap_or(service == "s3"),
                    service,
                    session_token,
                }))
            }
            Some(Preset::Rfc9421) => {
                refuse(self.custom_fields_set(), "preset rfc9421")?;
                refuse(self.aws_fields_set(), "preset rfc9421")?;
                let components = self.components.clone().unwrap_or_else(|| {
                    ["@method", "@authority", "@path", "@query", "content-digest"].map(String::from).to_vec()
                });
                let r = Rfc9421 {
                    label: self.label.clone().unwrap_or_else(|| "sig1".into()),
                    key_id: self.key_id.clone(),
                    components: components.iter().map(|c| c.to_ascii_lowercase()).collect(),
                    include_alg: self.include_alg.unwrap_or(false),
                    include_nonce: self.include_nonce.unwrap_or(true),
                    expires_in_secs: self.expires_in_secs,
                    secret_encoding: self.secret_encoding.unwrap_or_default(),
                };
                r.validate()?;
                Ok(Scheme::Rfc9421(r))
            }
            preset => {
                refuse(self.aws_fields_set(), "a template scheme")?;
                refuse(self.rfc9421_fields_set(), "a template scheme")?;
                let base = match preset {
                    Some(Preset::Github) => Some(CustomScheme::github()),
                    Some(Preset::Stripe) => Some(CustomScheme::stripe()),
                    Some(Preset::Slack) => Some(CustomScheme::slack()),
                    Some(Preset::StandardWebhooks) => Some(CustomScheme::standard_webhooks()),
                    _ => None,
                };
                let scheme = match base {
                    Some(mut s) => {
                        if let Some(t) = &self.template {
                            s.template = Template::parse(t)?;
                        }
                        if let Some(h) = &self.signature_header {
                            s.signature_header = h.clone();
                        }
                        if let Some(f) = &self.signature_format {
                            s.signature_format = SignatureFormat::parse(f)?;
                        }
                        s.algorithm = self.algorithm.unwrap_or(s.algorithm);
                        s.encoding = self.encoding.unwrap_or(s.encoding);
                        s.timestamp_format = self.timestamp_format.unwrap_or(s.timestamp_format);
                        s.secret_encoding = self.secret_encoding.unwrap_or(s.secret_encoding);
                        if self.timestamp_header.is_some() {
                            s.timestamp_header = self.timestamp_header.clone();
                        }
                        if self.nonce_header.is_some() {
                            s.nonce_header = self.nonce_header.clone();
                        }
                        s
                    }
                    None => {
                        let template = self.template.as_deref().ok_or_else(|| {
                            SigningError::Config("set `preset`, or `template` and `signature_header`".into())
                        })?;
                        let header = self
                            .signature_header
                            .clone()
                            .ok_or_else(|| SigningError::Config("a custom scheme needs `signature_header`".into()))?;
                        CustomScheme {
                            algorithm: self.algorithm.unwrap_or_default(),
                            template: Template::parse(template)?,
                            signature_header: header,
                            signature_format: SignatureFormat::parse(
                                self.signature_format.as_deref().unwrap_or("{sig}"),
                            )?,
                            encoding: self.encoding.unwrap_or_default(),
                            timestamp_format: self.timestamp_format.unwrap_or_default(),
                            timestamp_header: self.timestamp_header.clone(),
                            nonce_header: self.nonce_header.clone(),
                            secret_encoding: self.secret_encoding.unwrap_or_default(),
                        }
                    }
                };
                scheme.validate()?;
                Ok(Scheme::Custom(scheme))
            }
        }
    }
}

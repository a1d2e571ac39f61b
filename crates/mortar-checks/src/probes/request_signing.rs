//! The request-signing probe session: how an API verifies HMAC request
//! signatures, probed black-box from one signing identity (mortar signs, so
//! it can make fresh signatures) or from one captured signed request
//! (`--signed-sample`, no secret: only probes that need no new signature,
//! plus guessed keys when the scheme is described).
//!
//! One probe session serves the six `request-signing.*` checks, because a
//! captured request can be spent once on a server with a nonce store: the
//! session orders its probes so that those which cannot consume a nonce on a
//! sound verifier go first. Every verdict rests on a control: the same operation answered a
//! validly signed request 2xx and refused the request without its signature.
//! Nothing is claimed about timing leaks: they are not measurable from here.

use crate::check::CheckVerdict;
use crate::context::{Reporter, ScanContext, ScanOperation, SignedSample};
use crate::probes::jwt::WEAK_SECRETS;
use mortar_engine::{EngineError, Exchange, HttpVersion, Request};
use mortar_model::{Endpoint, Evidence, Identity, Observation, Profile, Severity};
use mortar_signing::{Algorithm, FixedClock, FixedNonce, Scheme, SignatureFormat, Signer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const BYPASS: &str = "request-signing.signature-bypass";
const COMPONENT: &str = "request-signing.unsigned-component";
const REPLAYED: &str = "request-signing.replay";
const STALE: &str = "request-signing.stale-timestamp";
const DOWNGRADE: &str = "request-signing.algorithm-downgrade";
const WEAK: &str = "request-signing.weak-secret";
/// Every check of the session, for the verdicts.
const IDS: [&str; 6] = [BYPASS, COMPONENT, REPLAYED, STALE, DOWNGRADE, WEAK];

/// Operations probed for a guarded one: verification is usually one middleware.
const MAX_OPS: usize = 4;
/// Default secrets tried (the empty key first).
const MAX_WEAK_KEYS: usize = 16;
/// The age and lead of the timestamps the stale probe signs.
const STALE_SECS: i64 = 3600;
/// A window wider than this is reported.
const MAX_WINDOW_SECS: i64 = 900;
/// Pause before the delayed replay.
const REPLAY_DELAY: Duration = Duration::from_secs(2);

/// What the shared session found, per check.
#[derive(Debug)]
pub(crate) struct Outcome {
    observations: BTreeMap<&'static str, Vec<Observation>>,
    verdicts: BTreeMap<&'static str, CheckVerdict>,
    default_verdict: CheckVerdict,
}

/// Check `id`'s part of the session (run once per scan, by whichever of the
/// six checks asks first): its observations, reported, and its verdict.
pub(crate) async fn judge(ctx: Arc<ScanContext>, reporter: Reporter, id: &'static str) -> CheckVerdict {
    let outcome = ctx.shared(|| Session::run(&ctx)).await;
    for observation in outcome.observations.get(id).into_iter().flatten() {
        reporter.observe(observation.clone());
    }
    outcome.verdicts.get(id).cloned().unwrap_or_else(|| outcome.default_verdict.clone())
}

fn accepted(ex: &Exchange) -> bool {
    (200..300).contains(&ex.response.status)
}

fn refused(ex: &Exchange) -> bool {
    matches!(ex.response.status, 400 | 401 | 403)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// The byte range of the signature text inside a header value: the longest
/// run of base64/hex characters (`sha256=<hex>`, `t=..,v1=<hex>`,
/// `sig1=:<b64>:`, SigV4's `Signature=<hex>`).
fn signature_span(value: &str) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut start = None;
    for (i, c) in value.char_indices().chain(std::iter::once((value.len(), ','))) {
        let part = c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '_' | '-');
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if best.is_none_or(|(bs, be)| i - s > be - bs) {
                    best = Some((s, i));
                }
                start = None;
            }
            _ => {}
        }
    }
    best.filter(|(s, e)| e - s >= 16)
}

/// The ways a signature is mangled by the bypass probe.
fn mangled(value: &str) -> Vec<(&'static str, String)> {
    let Some((s, e)) = signature_span(value) else { return Vec::new() };
    let sig = &value[s..e];
    let garbage: String = sig.chars().map(|c| if c == '0' { '1' } else { '0' }).collect();
    vec![
        ("an empty signature", format!("{}{}", &value[..s], &value[e..])),
        (
            "the signature truncated to half its length",
            format!("{}{}{}", &value[..s], &sig[..sig.len() / 2], &value[e..]),
        ),
        ("a garbage signature of the right length", format!("{}{garbage}{}", &value[..s], &value[e..])),
    ]
}

/// Query parameters of a target, in order.
fn query_pairs(target: &str) -> (String, Vec<String>) {
    match target.split_once('?') {
        Some((path, query)) => {
            (path.to_string(), query.split('&').filter(|p| !p.is_empty()).map(String::from).collect())
        }
        None => (target.to_string(), Vec::new()),
    }
}

fn with_query(path: &str, pairs: &[String]) -> String {
    if pairs.is_empty() { path.to_string() } else { format!("{path}?{}", pairs.join("&")) }
}

/// One component changed, the signature kept: (what changed, the request).
/// `signed_headers` are the request headers the scheme says it signs.
fn tamperings(request: &Request, writes: bool, signed_headers: &[String]) -> Vec<(&'static str, Request)> {
    let mut out = Vec::new();
    if let Some((name, value)) =
        request.headers.iter().find(|(n, _)| signed_headers.iter().any(|s| s.eq_ignore_ascii_case(n))).cloned()
    {
        let mut r = request.clone();
        let mut changed = value;
        changed.extend_from_slice(b"-mortar");
        r.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        r.headers.push((name, changed));
        out.push(("a signed header's value", r));
    }
    let (path, pairs) = query_pairs(&request.target);
    let mut added = pairs.clone();
    added.push("mortar_probe=1".into());
    let mut r = request.clone();
    r.target = with_query(&path, &added);
    out.push(("a query parameter added", r));
    if let Some(first) = pairs.first() {
        let mut dup = pairs.clone();
        dup.push(first.clone());
        let mut r = request.clone();
        r.target = with_query(&path, &dup);
        out.push(("a query parameter duplicated", r));
    }
    if pairs.len() >= 2 && pairs[0] != pairs[1] {
        let mut swapped = pairs.clone();
        swapped.swap(0, 1);
        let mut r = request.clone();
        r.target = with_query(&path, &swapped);
        out.push(("the query parameters reordered", r));
    }
    if request.method == "GET" {
        let mut r = request.clone();
        r.method = "HEAD".into();
        out.push(("the method (GET sent as HEAD)", r));
    }
    if writes && !request.body.is_empty() {
        if let Some(i) = request.body.iter().rposition(|b| b.is_ascii_alphanumeric()) {
            let mut r = request.clone();
            r.body[i] = match r.body[i] {
                b'0' => b'1',
                b'1'..=b'9' => b'0',
                b'a' => b'b',
                _ => b'a',
            };
            out.push(("one body byte", r));
        }
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&request.body)
            && let Ok(pretty) = serde_json::to_vec_pretty(&json)
            && pretty != request.body
        {
            let mut r = request.clone();
            r.body = pretty;
            out.push(("the JSON body re-encoded (same meaning, other bytes)", r));
        }
    }
    out
}

/// Where the captured sample's timestamp is, and its format.
fn sample_timestamp_ms(scheme: Option<&Scheme>, headers: &[(String, Vec<u8>)]) -> Option<i64> {
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).trim().to_string())
    };
    if let Some(Scheme::Custom(c)) = scheme
        && let Some(h) = &c.timestamp_header
    {
        return value(h).and_then(|t| c.timestamp_format.parse(&t));
    }
    // No scheme: a header named like a timestamp holding Unix seconds or milliseconds.
    let text = headers
        .iter()
        .find(|(n, _)| n.to_ascii_lowercase().contains("timestamp"))
        .map(|(_, v)| String::from_utf8_lossy(v).trim().to_string())?;
    let n: i64 = text.parse().ok()?;
    match text.len() {
        10 => Some(n * 1000),
        13 => Some(n),
        _ => None,
    }
}

fn describe_age(secs: i64) -> String {
    match secs.abs() {
        s if s >= 2 * 86400 => format!("{} days", s / 86400),
        s if s >= 2 * 3600 => format!("{} hours", s / 3600),
        s if s >= 120 => format!("{} minutes", s / 60),
        s => format!("{s} s"),
    }
}

/// The probing state.
struct Session<'a> {
    ctx: &'a ScanContext,
    /// The identity that signs (or describes the scheme).
    identity: Option<Arc<Identity>>,
    scheme: Option<Scheme>,
    signer: Option<Signer>,
    writes: bool,
    out: Outcome,
}

/// A request as it goes on the wire (signature included), sent without re-signing.
fn frozen(mut request: Request, headers: Vec<(String, Vec<u8>)>) -> Request {
    request.headers = headers;
    request.options.unsigned = true;
    request
}

impl<'a> Session<'a> {
    async fn run(ctx: &'a Arc<ScanContext>) -> Outcome {
        let identity = ctx.identities.iter().find(|i| i.signing.is_some()).cloned();
        let signing = identity.as_ref().and_then(|i| i.signing.clone());
        let mut session = Session {
            ctx,
            scheme: signing.as_ref().map(|s| s.scheme.clone()),
            signer: signing.as_ref().and_then(|s| s.signer.clone()),
            identity,
            writes: ctx.settings.profile == Profile::Active,
            out: Outcome {
                observations: BTreeMap::new(),
                verdicts: BTreeMap::new(),
                default_verdict: CheckVerdict::Skipped(
                    "no identity with [identities.NAME.signing] and no --signed-sample".into(),
                ),
            },
        };
        match (&session.signer, ctx.settings.signed_sample.clone()) {
            (Some(_), _) => session.with_secret().await,
            (None, Some(sample)) => session.with_sample(&sample).await,
            (None, None) => {}
        }
        session.out
    }

    fn verdict(&mut self, id: &'static str, verdict: CheckVerdict) {
        self.out.verdicts.insert(id, verdict);
    }

    fn all(&mut self, verdict: CheckVerdict) {
        for id in IDS {
            self.out.verdicts.entry(id).or_insert_with(|| verdict.clone());
        }
    }

    fn observe(&mut self, id: &'static str, observation: Observation) {
        self.out.observations.entry(id).or_default().push(observation);
    }

    fn evidence(&self, ex: &Exchange, note: impl Into<String>) -> Evidence {
        self.ctx.evidence(ex, note)
    }

    /// A curl line without the identity's own headers (curl adds them as
    /// placeholders) and masked once more.
    fn reproduce(&self, request: &Request) -> String {
        let mut shown = request.clone();
        if let Some(identity) = &self.identity {
            shown.headers.retain(|(n, _)| {
                !identity.headers.iter().any(|h| h.name.eq_ignore_ascii_case(n))
                    && !identity.login.as_ref().is_some_and(|l| l.apply_header.eq_ignore_ascii_case(n))
            });
        }
        let line = self.ctx.curl(&shown);
        String::from_utf8_lossy(&self.ctx.engine.redactor().redact_bytes(line.as_bytes())).into_owned()
    }

    async fn send(&self, id: &'static str, endpoint: &Endpoint, request: Request) -> Result<Exchange, EngineError> {
        self.ctx.send(id, Some(endpoint), request).await
    }

    /// The wire headers of `request` signed by `signer` (the identity's,
    /// one with another clock or nonce, or one with a guessed key).
    fn sign_with(&self, signer: &Signer, request: &Request) -> Result<Request, String> {
        let mut unsigned = request.clone();
        unsigned.options.unsigned = true;
        let headers = self
            .ctx
            .engine
            .wire_headers_signed_by(&unsigned, HttpVersion::Http11, signer, "the probe's signer")
            .map_err(|e| e.chain())?;
        Ok(frozen(unsigned, headers))
    }

    fn signature_headers(&self, headers: &[(String, Vec<u8>)]) -> Vec<String> {
        match &self.scheme {
            Some(scheme) => scheme.signature_headers(),
            None => headers
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| n.to_ascii_lowercase().contains("signature"))
                .collect(),
        }
    }

    /// The first operation that answers a signed request 2xx and refuses it
    /// unsigned: the control every verdict rests on.
    async fn guarded(&self, candidates: Vec<(Endpoint, Request)>) -> Result<(Endpoint, Request, Exchange), String> {
        let id = BYPASS;
        let mut seen = Vec::new();
        for (endpoint, signed) in candidates.into_iter().take(MAX_OPS) {
            let names = self.signature_headers(&signed.headers);
            if names.is_empty() {
                seen.push(format!("{} {}: no signature header found", endpoint.method, endpoint.path));
                continue;
            }
            let mut bare = signed.clone();
            bare.headers.retain(|(n, _)| !names.iter().any(|s| s.eq_ignore_ascii_case(n)));
            let unsigned = match self.send(id, &endpoint, bare).await {
                Ok(ex) => ex,
                Err(e) => {
                    seen.push(format!("{} {}: {}", endpoint.method, endpoint.path, e.chain()));
                    continue;
                }
            };
            if !refused(&unsigned) {
                seen.push(format!(
                    "{} {} answered HTTP {} without a signature",
                    endpoint.method, endpoint.path, unsigned.response.status
                ));
                continue;
            }
            return Ok((endpoint, signed, unsigned));
        }
        Err(if seen.is_empty() { "no operation to probe".into() } else { seen.join("; ") })
    }

    fn candidate_ops(&self) -> Vec<&'a ScanOperation> {
        self.ctx.operations.iter().filter(|op| op.is_safe() || self.writes).collect()
    }

    async fn with_secret(&mut self) {
        let Some(signer) = self.signer.clone() else { return };
        let identity = self.identity.clone();
        let mut candidates = Vec::new();
        for op in self.candidate_ops() {
            let request = self.ctx.request(&op.endpoint.method, &op.endpoint).identity(identity.clone());
            match self.sign_with(&signer, &request) {
                Ok(signed) => candidates.push((op.endpoint.clone(), signed)),
                Err(e) => return self.all(CheckVerdict::Inconclusive(format!("cannot sign: {e}"))),
            }
        }
        // Which operations answer a valid signature: the first that does and
        // refuses the unsigned request is the one probed.
        let mut valid = Vec::new();
        for (endpoint, signed) in candidates {
            match self.send(BYPASS, &endpoint, signed.clone()).await {
                Ok(ex) if accepted(&ex) => valid.push((endpoint, signed)),
                _ => {}
            }
            if valid.len() >= MAX_OPS {
                break;
            }
        }
        if valid.is_empty() {
            return self.all(CheckVerdict::Inconclusive(
                "no operation answered a request signed with the identity's key 2xx: check the scheme in \
                 mortar.toml"
                    .into(),
            ));
        }
        let others: Vec<(Endpoint, Request)> = valid.iter().skip(1).cloned().collect();
        let (endpoint, _, control) = match self.guarded(valid).await {
            Ok(g) => g,
            Err(why) => {
                return self.all(CheckVerdict::Inconclusive(format!(
                    "no operation both accepted a signed request and refused it unsigned ({why})"
                )));
            }
        };
        let base = self.ctx.request(&endpoint.method, &endpoint).identity(identity.clone());
        let fresh = |s: &Session<'_>| s.sign_with(&signer, &base);
        let control_ev = self.evidence(&control, "control: the same request without its signature, refused");

        // Bypass: mangled signatures, each on a freshly signed request.
        let mut tried = 0;
        for name in self.signature_headers(&base_headers(self, &signer, &base)) {
            for variant in 0..3 {
                let Ok(mut probe) = fresh(self) else { continue };
                let own =
                    probe.header_value(&name).map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default();
                let Some((what, value)) = mangled(&own).into_iter().nth(variant) else { continue };
                set_header(&mut probe, &name, value);
                tried += 1;
                if let Ok(ex) = self.send(BYPASS, &endpoint, probe.clone()).await
                    && accepted(&ex)
                {
                    let obs = bypass_observation(self, &endpoint, what, &name, &ex, &control, &probe, &control_ev);
                    self.observe(BYPASS, obs);
                }
            }
        }
        // Two signature headers, the valid one first and then last. Reported in
        // coverage only: a sound verifier may take either one (refusing both
        // orders is the strict answer), and which one the application then
        // trusts cannot be seen from outside.
        let mut duplicates = Vec::new();
        if let Some(name) = self.signature_headers(&base_headers(self, &signer, &base)).into_iter().next() {
            for valid_first in [true, false] {
                let Ok(mut probe) = fresh(self) else { continue };
                let Some(valid) = probe.header_value(&name).map(<[u8]>::to_vec) else { continue };
                let Some((_, garbage)) = mangled(&String::from_utf8_lossy(&valid)).into_iter().nth(2) else {
                    continue;
                };
                probe.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                let pair = [valid, garbage.into_bytes()];
                let order = if valid_first { [0, 1] } else { [1, 0] };
                for i in order {
                    probe.headers.push((name.clone(), pair[i].clone()));
                }
                if let Ok(ex) = self.send(BYPASS, &endpoint, probe).await {
                    let place = if valid_first { "first" } else { "last" };
                    duplicates.push(format!("HTTP {} with the valid one {place}", ex.response.status));
                }
            }
        }
        self.verdict(
            BYPASS,
            CheckVerdict::Ran(format!(
                "{tried} mangled signature(s) sent to {} {}; two signature headers: {}",
                endpoint.method,
                endpoint.path,
                if duplicates.is_empty() { "not sent".to_string() } else { duplicates.join(", ") }
            )),
        );

        // Components: sign, change one thing, keep the signature.
        let signed_headers = signer.scheme().signed_request_headers();
        let mut changed = Vec::new();
        if let Ok(template) = fresh(self) {
            for (what, _) in tamperings(&template, self.writes, &signed_headers) {
                let Ok(signed) = fresh(self) else { continue };
                let Some((_, probe)) =
                    tamperings(&signed, self.writes, &signed_headers).into_iter().find(|(w, _)| *w == what)
                else {
                    continue;
                };
                changed.push(what);
                if let Ok(ex) = self.send(COMPONENT, &endpoint, probe.clone()).await
                    && accepted(&ex)
                {
                    self.observe(COMPONENT, component_observation(self, &endpoint, what, &ex, &probe, &control_ev));
                }
            }
        }
        // The path: a request signed for this operation sent to another
        // that also answers signed requests.
        if let Some((other, other_request)) =
            others.iter().find(|(e, r)| e.path != endpoint.path && r.method == base.method)
            && let Ok(mut probe) = fresh(self)
        {
            probe.target = other_request.target.clone();
            changed.push("the path (sent to another operation)");
            if let Ok(ex) = self.send(COMPONENT, other, probe.clone()).await
                && accepted(&ex)
            {
                let what = "the path (sent to another operation)";
                self.observe(COMPONENT, component_observation(self, other, what, &ex, &probe, &control_ev));
            }
        }
        self.verdict(
            COMPONENT,
            CheckVerdict::Ran(format!("changed one at a time, signature kept: {}", changed.join("; "))),
        );

        // Replay: the same bytes twice, then a fresh signature reusing a nonce.
        if let Ok(signed) = fresh(self) {
            self.replay(&endpoint, &signed, &control_ev, true).await;
        }
        let scheme = signer.scheme().clone();
        if scheme.uses_nonce() {
            let nonce = format!("mortar-{}", now_ms());
            let reused = signer.clone().with_nonce_source(Arc::new(FixedNonce(nonce)));
            let first = self.sign_with(&reused, &base);
            let later = reused.clone().with_clock(Arc::new(FixedClock(now_ms() + 1000)));
            let second = self.sign_with(&later, &base);
            if let (Ok(first), Ok(second)) = (first, second)
                && let Ok(a) = self.send(REPLAYED, &endpoint, first).await
                && accepted(&a)
                && let Ok(b) = self.send(REPLAYED, &endpoint, second.clone()).await
                && accepted(&b)
            {
                let obs = Observation {
                    component: Some("nonce reused".into()),
                    ..Observation::confirmed(
                        endpoint.clone(),
                        format!(
                            "Two requests signed with the same nonce (and different timestamps) were both answered \
                             HTTP {} by {} {}: the server does not remember nonces.",
                            b.response.status, endpoint.method, endpoint.path
                        ),
                        vec![self.evidence(&a, "first use of the nonce"), self.evidence(&b, "second use: accepted")],
                        self.reproduce(&second),
                    )
                };
                self.observe(REPLAYED, obs);
            }
        }

        // Freshness: an hour old, an hour ahead, then the window measured.
        if scheme.uses_timestamp() {
            self.stale_with_secret(&signer, &base, &endpoint, &control_ev).await;
        } else {
            self.verdict(STALE, CheckVerdict::Skipped("the scheme signs no timestamp".into()));
        }

        // Downgrade: HMAC-SHA-1 under a `sha1` label, when the label names the algorithm.
        self.downgrade(&signer, &base, &endpoint, &control_ev).await;

        // Guessed keys.
        self.weak_keys(&scheme, &base, &endpoint, &control_ev).await;
    }

    async fn replay(&mut self, endpoint: &Endpoint, signed: &Request, control_ev: &Evidence, delayed: bool) {
        let id = REPLAYED;
        let first = match self.send(id, endpoint, signed.clone()).await {
            Ok(ex) if accepted(&ex) => ex,
            Ok(ex) => {
                return self.verdict(
                    id,
                    CheckVerdict::Inconclusive(format!(
                        "the signed request was refused on first use (HTTP {}): expired, or already used",
                        ex.response.status
                    )),
                );
            }
            Err(e) => return self.verdict(id, CheckVerdict::Inconclusive(e.chain())),
        };
        let mut second = self.send(id, endpoint, signed.clone()).await;
        let mut when = "at once";
        if delayed && second.as_ref().is_ok_and(|ex| !accepted(ex)) {
            tokio::time::sleep(REPLAY_DELAY).await;
            second = self.send(id, endpoint, signed.clone()).await;
            when = "2 s later";
        }
        match second {
            Ok(ex) if accepted(&ex) => {
                let obs = Observation {
                    component: Some("request replayed".into()),
                    severity: (!signed.method.eq_ignore_ascii_case("GET")
                        && !signed.method.eq_ignore_ascii_case("HEAD"))
                    .then_some(Severity::High),
                    ..Observation::confirmed(
                        endpoint.clone(),
                        format!(
                            "The same signed request, byte for byte, was answered HTTP {} and again HTTP {} {when} by \
                             {} {}: a captured request can be replayed.",
                            first.response.status, ex.response.status, endpoint.method, endpoint.path
                        ),
                        vec![
                            self.evidence(&first, "first use"),
                            self.evidence(&ex, format!("the same bytes {when}: accepted")),
                            control_ev.clone(),
                        ],
                        self.reproduce(signed),
                    )
                };
                self.observe(id, obs);
                self.verdict(id, CheckVerdict::Ran(format!("replayed {when}: accepted")));
            }
            Ok(ex) => self.verdict(
                id,
                CheckVerdict::Ran(format!("replayed at once and 2 s later: refused (HTTP {})", ex.response.status)),
            ),
            Err(e) => self.verdict(id, CheckVerdict::Inconclusive(e.chain())),
        }
    }

    async fn stale_with_secret(&mut self, signer: &Signer, base: &Request, endpoint: &Endpoint, control_ev: &Evidence) {
        let id = STALE;
        let mut notes = Vec::new();
        for (offset, direction) in [(-STALE_SECS, "old"), (STALE_SECS, "ahead")] {
            let Some((ok, ex, probe)) = self.at_offset(signer, base, endpoint, offset).await else { continue };
            if !ok {
                notes.push(format!("a timestamp an hour {direction}: refused"));
                continue;
            }
            // How far does it go? Try a day and a year.
            let mut widest = offset;
            let mut widest_ex = ex;
            let mut widest_probe = probe;
            for further in [86_400, 365 * 86_400] {
                let o = offset.signum() * further;
                match self.at_offset(signer, base, endpoint, o).await {
                    Some((true, ex, probe)) => {
                        widest = o;
                        widest_ex = ex;
                        widest_probe = probe;
                    }
                    _ => break,
                }
            }
            notes.push(format!("a timestamp {} {direction}: accepted", describe_age(widest)));
            let obs = Observation {
                component: Some(format!("timestamp {direction}")),
                ..Observation::confirmed(
                    endpoint.clone(),
                    format!(
                        "A request signed with a timestamp {} {direction} (fresh nonce) was answered HTTP {} by {} {}: \
                         the server does not hold signatures to a time window.",
                        describe_age(widest),
                        widest_ex.response.status,
                        endpoint.method,
                        endpoint.path
                    ),
                    vec![
                        self.evidence(&widest_ex, format!("timestamp {} {direction}: accepted", describe_age(widest))),
                        control_ev.clone(),
                    ],
                    self.reproduce(&widest_probe),
                )
            };
            self.observe(id, obs);
        }
        // Bisection of the past window when an hour old was refused.
        if notes.first().is_some_and(|n| n.ends_with("refused")) {
            let (mut lo, mut hi) = (0i64, STALE_SECS);
            let mut steps = 0;
            while hi - lo > 1 && steps < 14 {
                steps += 1;
                let mid = (lo + hi) / 2;
                match self.at_offset(signer, base, endpoint, -mid).await {
                    Some((true, _, _)) => lo = mid,
                    Some((false, _, _)) => hi = mid,
                    None => break,
                }
            }
            notes.push(format!("measured tolerance window for old timestamps: {lo} s"));
            if lo > MAX_WINDOW_SECS {
                let obs = Observation {
                    component: Some("timestamp old".into()),
                    severity: Some(Severity::Low),
                    ..Observation::confirmed(
                        endpoint.clone(),
                        format!(
                            "Old timestamps are accepted for {lo} s (measured by bisection), wider than {MAX_WINDOW_SECS} s."
                        ),
                        vec![control_ev.clone()],
                        self.reproduce(base),
                    )
                };
                self.observe(id, obs);
            }
        }
        self.verdict(id, CheckVerdict::Ran(notes.join("; ")));
    }

    /// Sends `base` signed with the clock moved by `offset_secs`: (accepted, answer, request).
    async fn at_offset(
        &self,
        signer: &Signer,
        base: &Request,
        endpoint: &Endpoint,
        offset_secs: i64,
    ) -> Option<(bool, Exchange, Request)> {
        let moved = signer.clone().with_clock(Arc::new(FixedClock(now_ms() + offset_secs * 1000)));
        let probe = self.sign_with(&moved, base).ok()?;
        let ex = self.send(STALE, endpoint, probe.clone()).await.ok()?;
        Some((accepted(&ex), ex, probe))
    }

    async fn downgrade(&mut self, signer: &Signer, base: &Request, endpoint: &Endpoint, control_ev: &Evidence) {
        let id = DOWNGRADE;
        let Scheme::Custom(custom) = signer.scheme() else {
            return self.verdict(id, CheckVerdict::Skipped("the scheme fixes its algorithm (SigV4, RFC 9421)".into()));
        };
        let format = custom.signature_format.as_str();
        let label = ["sha256", "sha384", "sha512"].into_iter().find(|l| format.to_ascii_lowercase().contains(l));
        let (Some(label), Some(secret)) =
            (label, self.identity.as_ref().and_then(|i| i.signing.as_ref()).and_then(|s| s.secret.clone()))
        else {
            return self.verdict(id, CheckVerdict::Skipped("the signature does not name its algorithm".into()));
        };
        let lowered = format.to_ascii_lowercase();
        let start = lowered.find(label).unwrap_or(0);
        let weak_format = format!("{}sha1{}", &format[..start], &format[start + label.len()..]);
        let Ok(weak_format) = SignatureFormat::parse(&weak_format) else {
            return self.verdict(id, CheckVerdict::Skipped("the signature format cannot be relabelled".into()));
        };
        let mut weak = custom.clone();
        weak.algorithm = Algorithm::Sha1;
        weak.signature_format = weak_format;
        let Ok(key) = custom.secret_encoding.decode(secret.expose()) else {
            return self.verdict(id, CheckVerdict::Skipped("the secret cannot be decoded".into()));
        };
        let weak_signer = Signer::with_guessed_key(Scheme::Custom(weak), &key);
        let Ok(probe) = self.sign_with(&weak_signer, base) else {
            return self.verdict(id, CheckVerdict::Inconclusive("cannot sign with HMAC-SHA-1".into()));
        };
        match self.send(id, endpoint, probe.clone()).await {
            Ok(ex) if accepted(&ex) => {
                let obs = Observation {
                    component: Some("sha1".into()),
                    ..Observation::confirmed(
                        endpoint.clone(),
                        format!(
                            "A request signed with HMAC-SHA-1 and labelled `sha1` instead of `{label}` was answered HTTP {} \
                             by {} {}: the client picks the algorithm.",
                            ex.response.status, endpoint.method, endpoint.path
                        ),
                        vec![self.evidence(&ex, "HMAC-SHA-1 signature: accepted"), control_ev.clone()],
                        self.reproduce(&probe),
                    )
                };
                self.observe(id, obs);
                self.verdict(
                    id,
                    CheckVerdict::Ran(format!("`{label}` relabelled `sha1` with an HMAC-SHA-1: accepted")),
                );
            }
            Ok(ex) => self.verdict(
                id,
                CheckVerdict::Ran(format!(
                    "`{label}` relabelled `sha1` with an HMAC-SHA-1: refused (HTTP {})",
                    ex.response.status
                )),
            ),
            Err(e) => self.verdict(id, CheckVerdict::Inconclusive(e.chain())),
        }
    }

    async fn weak_keys(&mut self, scheme: &Scheme, base: &Request, endpoint: &Endpoint, control_ev: &Evidence) {
        let id = WEAK;
        let mut tried = 0;
        for key in WEAK_SECRETS.iter().take(MAX_WEAK_KEYS) {
            let signer = Signer::with_guessed_key(scheme.clone(), key.as_bytes());
            let Ok(probe) = self.sign_with(&signer, base) else { continue };
            tried += 1;
            if let Ok(ex) = self.send(id, endpoint, probe.clone()).await
                && accepted(&ex)
            {
                let which =
                    if key.is_empty() { "the empty key".to_string() } else { format!("the default key `{key}`") };
                let obs = Observation {
                    component: None,
                    ..Observation::confirmed(
                        endpoint.clone(),
                        format!(
                            "A request signed with {which} was answered HTTP {} by {} {}: anyone can sign requests.",
                            ex.response.status, endpoint.method, endpoint.path
                        ),
                        vec![self.evidence(&ex, format!("signed with {which}: accepted")), control_ev.clone()],
                        self.reproduce(&probe),
                    )
                };
                self.observe(id, obs);
                return self.verdict(id, CheckVerdict::Ran(format!("{which} accepted ({tried} key(s) tried)")));
            }
        }
        self.verdict(id, CheckVerdict::Ran(format!("{tried} empty or default key(s) tried: refused")));
    }

    /// Probes from a captured request: nothing needs the secret.
    async fn with_sample(&mut self, sample: &SignedSample) {
        let (path, _) = query_pairs(&sample.target);
        let endpoint = Endpoint::new(&sample.method, path);
        let mut captured = Request::new(sample.method.clone(), &self.ctx.origin, sample.target.clone());
        captured.headers = sample.headers.clone();
        captured.body = sample.body.clone();
        captured.options.unsigned = true;
        if !(captured.method == "GET" || captured.method == "HEAD" || self.writes) {
            return self.all(CheckVerdict::Skipped(format!(
                "the captured request is a {}: replaying or tampering with it is for the active profile",
                captured.method
            )));
        }
        let names = self.signature_headers(&captured.headers);
        let (endpoint, captured, control) = match self.guarded(vec![(endpoint, captured)]).await {
            Ok(g) => g,
            Err(why) => return self.all(CheckVerdict::Inconclusive(format!("the captured request: {why}"))),
        };
        let control_ev = self.evidence(&control, "control: the captured request without its signature, refused");
        // First what cannot spend a nonce on a sound verifier: wrong signatures, changed components.
        let mut tried = 0;
        for name in &names {
            let Some(value) = captured.header_value(name).map(|v| String::from_utf8_lossy(v).into_owned()) else {
                continue;
            };
            for (what, mangled_value) in mangled(&value) {
                let mut probe = captured.clone();
                set_header(&mut probe, name, mangled_value);
                tried += 1;
                if let Ok(ex) = self.send(BYPASS, &endpoint, probe.clone()).await
                    && accepted(&ex)
                {
                    let obs = bypass_observation(self, &endpoint, what, name, &ex, &control, &probe, &control_ev);
                    self.observe(BYPASS, obs);
                }
            }
        }
        self.verdict(BYPASS, CheckVerdict::Ran(format!("{tried} mangled signature(s) sent (captured request)")));
        let signed_headers = self.scheme.as_ref().map(Scheme::signed_request_headers).unwrap_or_default();
        let mut changed = Vec::new();
        for (what, probe) in tamperings(&captured, self.writes, &signed_headers) {
            changed.push(what);
            if let Ok(ex) = self.send(COMPONENT, &endpoint, probe.clone()).await
                && accepted(&ex)
            {
                self.observe(COMPONENT, component_observation(self, &endpoint, what, &ex, &probe, &control_ev));
            }
        }
        self.verdict(
            COMPONENT,
            CheckVerdict::Ran(format!("captured request, one change at a time: {}", changed.join("; "))),
        );
        // Then the capture itself: how old it is, and whether it works twice.
        let signed_at = sample_timestamp_ms(self.scheme.as_ref(), &captured.headers);
        self.replay(&endpoint, &captured, &control_ev, false).await;
        let first_use_accepted = self.out.verdicts.get(REPLAYED).is_some_and(|v| matches!(v, CheckVerdict::Ran(_)));
        match signed_at {
            Some(ms) if first_use_accepted => {
                let age = (now_ms() - ms) / 1000;
                if age.abs() > STALE_SECS {
                    let direction = if age > 0 { "old" } else { "ahead" };
                    let obs = Observation {
                        component: Some(format!("timestamp {direction}")),
                        ..Observation::confirmed(
                            endpoint.clone(),
                            format!(
                                "The captured request, signed {} {direction}, was accepted by {} {}: the server does not \
                                 hold signatures to a time window.",
                                describe_age(age),
                                endpoint.method,
                                endpoint.path
                            ),
                            vec![control_ev.clone()],
                            self.reproduce(&captured),
                        )
                    };
                    self.observe(STALE, obs);
                }
                self.verdict(
                    STALE,
                    CheckVerdict::Ran(format!("the captured request is {} old and was accepted", describe_age(age))),
                );
            }
            Some(_) => self.verdict(STALE, CheckVerdict::Inconclusive("the captured request was not accepted".into())),
            None => self.verdict(STALE, CheckVerdict::Skipped("no timestamp found in the captured request".into())),
        }
        self.verdict(DOWNGRADE, CheckVerdict::Skipped("a downgrade needs a new signature (give the secret)".into()));
        // Guessed keys need the scheme; the captured request gives everything else.
        match self.scheme.clone() {
            Some(scheme) => {
                let mut base = captured.clone();
                base.options.unsigned = false;
                let strip: Vec<String> = names.iter().cloned().chain(freshness_headers(&scheme)).collect();
                base.headers.retain(|(n, _)| !strip.iter().any(|s| s.eq_ignore_ascii_case(n)));
                self.weak_keys(&scheme, &base, &endpoint, &control_ev).await;
            }
            None => self.verdict(
                WEAK,
                CheckVerdict::Skipped(
                    "guessing keys needs the scheme: describe it in [identities.NAME.signing]".into(),
                ),
            ),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn bypass_observation(
    session: &Session<'_>,
    endpoint: &Endpoint,
    what: &'static str,
    header: &str,
    ex: &Exchange,
    control: &Exchange,
    probe: &Request,
    control_ev: &Evidence,
) -> Observation {
    Observation {
        component: Some(what.to_string()),
        ..Observation::confirmed(
            endpoint.clone(),
            format!(
                "{} {} answered HTTP {} to a request carrying {what} in `{header}`, and refused the same request \
                 without a signature (HTTP {}): the verifier does not compare the whole signature.",
                endpoint.method, endpoint.path, ex.response.status, control.response.status
            ),
            vec![session.evidence(ex, format!("{what}: accepted")), control_ev.clone()],
            session.reproduce(probe),
        )
    }
}

/// The headers a scheme's signer writes besides the signature.
fn freshness_headers(scheme: &Scheme) -> Vec<String> {
    match scheme {
        Scheme::Custom(c) => c.timestamp_header.iter().chain(c.nonce_header.iter()).cloned().collect(),
        Scheme::AwsSigV4(_) => vec!["X-Amz-Date".into(), "X-Amz-Content-Sha256".into(), "X-Amz-Security-Token".into()],
        Scheme::Rfc9421(_) => vec!["Content-Digest".into()],
    }
}

/// The headers of one freshly signed request (for the names of the signature headers).
fn base_headers(session: &Session<'_>, signer: &Signer, base: &Request) -> Vec<(String, Vec<u8>)> {
    session.sign_with(signer, base).map(|r| r.headers).unwrap_or_default()
}

fn set_header(request: &mut Request, name: &str, value: String) {
    request.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    request.headers.push((name.to_string(), value.into_bytes()));
}

fn component_observation(
    session: &Session<'_>,
    endpoint: &Endpoint,
    what: &'static str,
    ex: &Exchange,
    probe: &Request,
    control_ev: &Evidence,
) -> Observation {
    Observation {
        component: Some(what.to_string()),
        ..Observation::confirmed(
            endpoint.clone(),
            format!(
                "With {what} and the original signature kept, {} {} answered HTTP {}: that component is not \
                 covered by the signature, so a captured request can be altered.",
                endpoint.method, endpoint.path, ex.response.status
            ),
            vec![session.evidence(ex, format!("{what}, signature unchanged: accepted")), control_ev.clone()],
            session.reproduce(probe),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_span_is_the_long_token() {
        let hex = "a".repeat(64);
        let v = format!("sha256={hex}");
        assert_eq!(signature_span(&v), Some((7, 71)));
        let v = format!("t=1700000000,v1={hex}");
        assert_eq!(&v[signature_span(&v).unwrap().0..signature_span(&v).unwrap().1], hex);
        assert_eq!(signature_span("short=abc"), None);
        let m = mangled(&format!("sha256={hex}"));
        assert_eq!(m[0].1, "sha256=");
        assert_eq!(m[1].1.len(), 7 + 32);
        assert_eq!(m[2].1, format!("sha256={}", "0".repeat(64)));
    }

    #[test]
    fn tamperings_change_one_thing_each() {
        let origin = mortar_engine::Origin { https: true, host: "127.0.0.1".into(), port: 1 };
        let r = Request::get(&origin, "/a?x=1&y=2");
        let all = tamperings(&r, false, &[]);
        let targets: Vec<(&str, &str, &str)> =
            all.iter().map(|(w, r)| (*w, r.method.as_str(), r.target.as_str())).collect();
        assert_eq!(
            targets,
            vec![
                ("a query parameter added", "GET", "/a?x=1&y=2&mortar_probe=1"),
                ("a query parameter duplicated", "GET", "/a?x=1&y=2&x=1"),
                ("the query parameters reordered", "GET", "/a?y=2&x=1"),
                ("the method (GET sent as HEAD)", "HEAD", "/a?x=1&y=2"),
            ]
        );
        let mut post = Request::new("POST", &origin, "/a").body(br#"{"n":12}"#.to_vec());
        post.method = "POST".into();
        assert!(tamperings(&post, false, &[]).iter().all(|(w, _)| !w.contains("body")));
        let bodies: Vec<Vec<u8>> =
            tamperings(&post, true, &[]).into_iter().filter(|(w, _)| w.contains("body")).map(|(_, r)| r.body).collect();
        assert_eq!(bodies, vec![br#"{"n":10}"#.to_vec(), b"{\n  \"n\": 12\n}".to_vec()]);
    }

    #[test]
    fn sample_timestamps_are_read_in_seconds_or_milliseconds() {
        let h = |v: &str| vec![("X-Timestamp".to_string(), v.as_bytes().to_vec())];
        assert_eq!(sample_timestamp_ms(None, &h("1700000000")), Some(1_700_000_000_000));
        assert_eq!(sample_timestamp_ms(None, &h("1700000000123")), Some(1_700_000_000_123));
        assert_eq!(sample_timestamp_ms(None, &h("soon")), None);
    }
}

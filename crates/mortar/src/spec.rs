//! The API description of a scan: from `--spec` (a file, or a URL fetched once
//! from its own host, which is not scanned) or discovered at the target.

use crate::error::UsageError;
use mortar_checks::ScanOperation;
use mortar_engine::{Engine, EngineConfig, Origin, Request, TlsSettings};
use mortar_model::{SkippedOperation, Target};
use mortar_spec::{Api, NoRefSource, RequestOptions};

/// Paths where APIs commonly publish their description, tried under the base
/// path first, then at the root.
pub const DISCOVERY_PATHS: &[&str] =
    &["openapi.json", "swagger.json", "openapi.yaml", "v3/api-docs", "swagger/v1/swagger.json", "api-docs"];

/// The tag discovery requests carry.
pub const DISCOVERY_TAG: &str = "spec-discovery";

/// Whether `--spec` names a URL rather than a file.
pub fn is_url(spec: &str) -> bool {
    spec.starts_with("http://") || spec.starts_with("https://")
}

/// Loads a description file.
pub fn load_file(path: &str) -> Result<Api, UsageError> {
    mortar_spec::load_file(path).map_err(|e| UsageError::new(format!("--spec: {e}")))
}

/// Fetches a description once from its own host (which is not scanned).
pub async fn fetch(url: &str, tls: &TlsSettings, timeout: std::time::Duration) -> Result<Api, UsageError> {
    let target = Target::parse(url).map_err(|e| UsageError::new(format!("--spec: {e}")))?;
    let config = EngineConfig {
        scope_hosts: vec![target.host.clone()],
        tls: tls.clone(),
        timeout,
        max_requests: Some(1),
        ..EngineConfig::default()
    };
    let engine = Engine::new(config, &[]).map_err(|e| UsageError::new(format!("--spec: {}", e.chain())))?;
    let path_and_query = url[url.find("://").map(|i| i + 3).unwrap_or(0)..]
        .find('/')
        .map(|i| url[url.find("://").map(|j| j + 3).unwrap_or(0) + i..].to_string())
        .unwrap_or_else(|| "/".into());
    let exchange = engine
        .send(Request::get(&Origin::of(&target), path_and_query))
        .await
        .map_err(|e| UsageError::new(format!("--spec: cannot fetch {url}: {}", e.chain())))?;
    if exchange.response.status != 200 {
        return Err(UsageError::new(format!("--spec: {url} answered HTTP {}", exchange.response.status)));
    }
    mortar_spec::load_bytes(&exchange.response.body, url, &NoRefSource)
        .map_err(|e| UsageError::new(format!("--spec: {e}")))
}

/// Longest a discovery request may take: discovery must not eat the scan's deadline.
const DISCOVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Looks for a published description at the target. The candidates are asked
/// at once, each with a short timeout, so a slow target costs one timeout, not
/// one per candidate; the first candidate (in order) that loads wins.
pub async fn discover(engine: &Engine, target: &Target) -> Option<(String, Api)> {
    let origin = Origin::of(target);
    let mut candidates: Vec<String> = DISCOVERY_PATHS.iter().map(|p| target.join(p)).collect();
    if target.base_path != "/" {
        candidates.extend(DISCOVERY_PATHS.iter().map(|p| format!("/{p}")));
    }
    let timeout = engine.config().timeout.min(DISCOVERY_TIMEOUT);
    let fetches = candidates.iter().map(|path| {
        let mut request = Request::get(&origin, path.clone()).tag(DISCOVERY_TAG);
        request.options.timeout = Some(timeout);
        engine.send(request)
    });
    let answers = futures::future::join_all(fetches).await;
    for (path, answer) in candidates.iter().zip(answers) {
        let Ok(exchange) = answer else { continue };
        if exchange.response.status != 200 {
            continue;
        }
        let url = origin.url(path);
        if let Ok(api) = mortar_spec::load_bytes(&exchange.response.body, &url, &NoRefSource) {
            return Some((url, api));
        }
    }
    None
}

/// The scan's operations from a description: every documented operation with
/// a concrete, deterministic request (fixed seed) under the effective base path.
pub fn operations(api: &Api, target: &Target) -> Vec<ScanOperation> {
    let options = RequestOptions { base_path: Some(target.base_path.clone()), ..RequestOptions::default() };
    api.operations
        .iter()
        .map(|op| {
            let request = mortar_spec::build_request(api, op, &options);
            let mut headers: Vec<(String, Vec<u8>)> =
                request.headers.iter().map(|(n, v)| (n.clone(), v.clone().into_bytes())).collect();
            if let (Some(ct), Some(_)) = (&request.content_type, &request.body)
                && !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("Content-Type".into(), ct.clone().into_bytes()));
            }
            ScanOperation {
                endpoint: op.endpoint(&target.base_path),
                target: request.path_and_query.clone(),
                headers,
                body: request.body.clone(),
                deprecated: op.deprecated,
                // Some requirement that is not empty: credentials are needed.
                secured: !op.security.is_empty() && op.security.iter().all(|req| !req.is_empty()),
                source: Some((op.location.file.clone(), op.location.line, op.location.pointer.clone())),
            }
        })
        .collect()
}

/// The description's skipped operations, for coverage.
pub fn skipped(api: &Api) -> Vec<SkippedOperation> {
    api.skipped
        .iter()
        .map(|p| SkippedOperation {
            file: p.file.clone(),
            pointer: p.pointer.clone(),
            line: p.line,
            reason: p.reason.clone(),
        })
        .collect()
}

//! `path-traversal` (axum, active profile): a document attachments API under
//! `/docs/v1` whose `GET /attachments?name=` answers a file of the
//! attachments directory (which the scenario writes into the lab directory)
//! as text. The vulnerable variant opens `dir.join(name)` as it comes, so
//! `../` sequences (or an absolute path) read the machine's own files:
//! `/etc/passwd` is really read. So that the lab gives no one more than they
//! have, a file outside the directory is served only when every local
//! account could read it anyway (world-readable, in world-searchable
//! directories); the rest answer as missing. The fixed variant refuses, with
//! 400, a name whose path components are not all plain names (no `..`, no
//! root), then canonicalises the joined path and refuses it again unless it
//! is still inside the directory (a symbolic link could lead out). In both, a
//! missing file is a 404 that does not echo the OS error, only regular files
//! are read, at most [`MAX_READ`] bytes of them, and `GET /attachments/index`
//! (the control) lists the names.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "path-traversal", start };

/// The attachments, as written into the directory.
const FILES: &[(&str, &str)] = &[
    (
        "handbook.txt",
        "Staff handbook, 2026 edition\n\n1. Opening hours are 08:00 to 18:00, Monday to Friday.\n\
         2. Visitors sign in at the front desk.\n3. The last one out locks the side door.\n",
    ),
    (
        "leave-policy.txt",
        "Leave policy\n\nAnnual leave is 28 days, booked through the team calendar.\n\
         Requests of more than ten days go to the department head.\nUnused days carry over until March.\n",
    ),
];

/// Bytes of a file answered at most.
const MAX_READ: u64 = 64 * 1024;

struct Attachments {
    variant: Variant,
    /// The directory, canonical.
    dir: PathBuf,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let dir = ctx.dir().join(format!("{}-{variant}", SCENARIO.name)).join("attachments");
    std::fs::create_dir_all(&dir).map_err(|source| LabError::WriteFile { path: dir.clone(), source })?;
    for (name, text) in FILES {
        crate::write_file(&dir.join(name), text.as_bytes(), 0o644)?;
    }
    let dir = std::fs::canonicalize(&dir).map_err(|source| LabError::WriteFile { path: dir.clone(), source })?;
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Document attachments", "version": "1.2.0"},
        "servers": [{"url": "/docs/v1"}],
        "paths": {
            "/attachments": {"get": {"operationId": "getAttachment",
                "parameters": [{"name": "name", "in": "query", "required": true, "schema": {"type": "string"}, "example": "handbook.txt"}],
                "responses": {"200": {"description": "the attachment", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "400": {"description": "not an attachment name"}, "404": {"description": "no such attachment"}}}},
            "/attachments/index": {"get": {"operationId": "listAttachments",
                "responses": {"200": {"description": "the attachments' names"}}}}
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let router = Router::new()
        .route("/docs/v1/attachments", get(attachment))
        .route("/docs/v1/attachments/index", get(index))
        .with_state(Arc::new(Attachments { variant, dir }));
    let addr = ctx.serve_axum(router)?;
    let mut args = ctx.ca_args();
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let expected =
        super::vulnerable_expects_at(variant, "input-validation.path-traversal", "GET", "/docs/v1/attachments");
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

async fn index() -> Json<serde_json::Value> {
    Json(json!({"attachments": FILES.iter().map(|(name, _)| *name).collect::<Vec<_>>()}))
}

#[derive(Deserialize)]
struct NameQuery {
    name: String,
}

fn missing() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "no such attachment"}))).into_response()
}

fn refused() -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": "name must be the name of a file in the attachments"})))
        .into_response()
}

/// Whether a name is made of plain path components only (no `..`, `.`, root or prefix).
fn plain_components(name: &str) -> bool {
    !name.is_empty() && Path::new(name).components().all(|c| matches!(c, Component::Normal(_)))
}

/// Whether every local account could read `path` without the lab: a
/// world-readable file in world-searchable directories.
fn readable_by_everyone(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode()).unwrap_or(0);
        mode(path) & 0o004 != 0 && path.ancestors().skip(1).all(|dir| mode(dir) & 0o001 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

async fn attachment(
    State(attachments): State<Arc<Attachments>>,
    query: Result<Query<NameQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(NameQuery { name })) = query else { return refused() };
    let joined = match attachments.variant {
        // The flaw: the name is joined as it comes, `..` and absolute paths included.
        Variant::Vulnerable => attachments.dir.join(&name),
        Variant::Fixed => {
            if !plain_components(&name) {
                return refused();
            }
            attachments.dir.join(&name)
        }
    };
    let Ok(real) = tokio::fs::canonicalize(&joined).await else { return missing() };
    if !real.starts_with(&attachments.dir) {
        match attachments.variant {
            // Outside the directory: the flaw, bounded to what anyone here may read.
            Variant::Vulnerable if readable_by_everyone(&real) => {}
            Variant::Vulnerable => return missing(),
            // The second guard of the remedy: a link inside that leads out.
            Variant::Fixed => return refused(),
        }
    }
    match read_regular_file(&real).await {
        Some(bytes) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], String::from_utf8_lossy(&bytes).into_owned())
                .into_response()
        }
        None => missing(),
    }
}

/// The first [`MAX_READ`] bytes of a regular file (not a directory, a device or a pipe).
async fn read_regular_file(path: &Path) -> Option<Vec<u8>> {
    let file = tokio::fs::File::open(path).await.ok()?;
    if !file.metadata().await.ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_READ).read_to_end(&mut bytes).await.ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_pass() {
        for good in ["handbook.txt", "policies/leave.txt", "..txt", "a..b"] {
            assert!(plain_components(good), "{good}");
        }
        for bad in ["", "../handbook.txt", "/etc/passwd", "./handbook.txt", "a/../../b", "policies/.."] {
            assert!(!plain_components(bad), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_not_everyones() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let file = dir.path().join("f");
        crate::write_file(&file, b"x", 0o644).expect("written");
        assert!(readable_by_everyone(Path::new("/etc/passwd")) || !Path::new("/etc/passwd").exists());
        // A world-readable file in a directory that is the owner's only.
        assert!(!readable_by_everyone(&file));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(!readable_by_everyone(&file), "a file that is the owner's only");
    }
}

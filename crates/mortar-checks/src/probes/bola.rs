//! What the two `bola.*` checks share: the fix, one for reads and writes.

use mortar_model::Remediation;

/// Authorize every object access against the caller.
pub(crate) const REMEDIATION: Remediation = Remediation {
    summary: "Authorize every object access against the caller: look the object up by its id and its \
        owner (or check the owner right after loading it) and answer 404 for another's object, as for a \
        missing one. Random ids are not access control.",
    actix_web: "In the handler, take the caller from the authenticated extractor and query \
        `SELECT ... FROM invoices WHERE id = $1 AND owner_id = $2` with `sqlx`; return \
        `HttpResponse::NotFound()` when no row comes back.",
    axum: "Take the caller from the auth extractor (e.g. `Extension<User>`), fetch with \
        `WHERE id = $1 AND owner_id = $2`, and map `None` to `StatusCode::NOT_FOUND`; put the owner in the \
        repository method's signature so no handler can forget it.",
};

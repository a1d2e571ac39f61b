//! `race-condition.limit-overrun`: one limited action raced against itself,
//! one synchronized burst against a sequential control (`probes::race`).

use crate::check::Check;
use crate::probes::race::run;
use mortar_model::{Category, CheckInfo, Profile, References, Remediation, Severity};

/// One action raced against itself.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "race-condition.limit-overrun",
        category: Category::RaceCondition,
        severity: Severity::High,
        profile: Profile::Active,
        title: "Limit overrun by concurrent requests (race condition)",
        description: "For each race plan in mortar.toml, makes a fresh resource through the API and sends the \
            limited action `--race-burst` times one after another (the control), then makes another and sends \
            the same requests as one synchronized burst (HTTP/2 single-packet where the server offers h2; \
            HTTP/1.1 last-byte in every second round, since a server that runs one connection's streams one \
            after another is raced better across connections). More \
            successes in the burst than in the control and than the plan's limit, a state read back (the \
            plan's `state`) that moved further than under the control, or two successes carrying one value \
            that must be unique (the plan's `unique`) prove that the check and the use are not atomic. A plan \
            may issue a never-seen client certificate per fresh resource, for state set up lazily on an \
            identity's first request. Several rounds; the finding gives the win rate and every burst is listed in \
            coverage. Active profile only: it changes state.",
        remediation: Remediation {
            summary: "Make the check part of the write: one conditional UPDATE (`... WHERE uses_left > 0`, \
                succeed only when a row changed) or a row lock (`SELECT ... FOR UPDATE`) inside one transaction \
                that also records the use. An in-process mutex held across an await is not a fix: it serialises \
                one process and nothing else.",
            actix_web: "In the handler, `let mut tx = pool.begin().await?;` then `sqlx::query(\"UPDATE coupons SET \
                uses_left = uses_left - 1 WHERE id = $1 AND uses_left > 0\")`, return `HttpResponse::Conflict()` \
                when `rows_affected() == 0`, insert the redemption with `&mut *tx`, and `tx.commit().await?`.",
            axum: "In the handler, `let mut tx = state.pool.begin().await?;` then a conditional `UPDATE ... WHERE \
                uses_left > 0` with `rows_affected()` checked (answer `StatusCode::CONFLICT` on 0), the redemption \
                inserted in the same transaction, then `tx.commit().await?`.",
        },
        references: References { owasp_api: &["API6:2023", "API4:2023"], cwe: &["CWE-362", "CWE-367"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter, CHECK.info.id)),
};

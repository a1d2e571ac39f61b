//! `race-condition.toctou`: two operations that check the same state raced
//! against each other, a burst against a sequential control (`probes::race`).

use crate::check::Check;
use crate::probes::race::run;
use mortar_model::{Category, CheckInfo, Profile, References, Remediation, Severity};

/// Two operations that check the same state, raced against each other.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "race-condition.toctou",
        category: Category::RaceCondition,
        severity: Severity::High,
        profile: Profile::Active,
        title: "Check-then-act race between operations (TOCTOU)",
        description: "For each race plan whose burst lists several requests (cancel and ship of one order, \
            refund and cancel, transfers from one balance), sends them one after another on a fresh resource \
            (the control), then together as one synchronized burst on another (rounds alternate single-packet \
            and last-byte, as for limit overruns). Confirmed when the control lets \
            only one operation through and the burst gets more successes than the control and the plan's limit \
            (both operations, or one several times: each checked a state another was about to change), when a \
            state read back moved further than under the control, or when two successes carry a value that \
            must be unique. Active profile only.",
        remediation: Remediation {
            summary: "Put the state condition in the write and make the operations exclusive: `UPDATE orders SET \
                status = 'cancelled' WHERE id = $1 AND status = 'pending'` (and the same for shipping), succeeding \
                only when a row changed, or lock the row (`SELECT ... FOR UPDATE`) in one transaction with the \
                change. Re-checking in application code, or an in-process mutex, is not a fix.",
            actix_web: "In each handler, one `sqlx::query(\"UPDATE orders SET status = 'shipped' WHERE id = $1 AND \
                status = 'pending'\")` in the transaction that does the work; answer `HttpResponse::Conflict()` \
                when `rows_affected() == 0`.",
            axum: "In each handler, a conditional `UPDATE ... WHERE status = 'pending'` inside `pool.begin()`, \
                answering `StatusCode::CONFLICT` when `rows_affected() == 0`.",
        },
        references: References { owasp_api: &["API6:2023"], cwe: &["CWE-367", "CWE-362"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter, CHECK.info.id)),
};

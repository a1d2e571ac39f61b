//! `authentication.weak-password-policy`: a sign-up that accepts the most
//! common password there is (OWASP API2:2023). Credential stuffing and
//! guessing start with it.
//!
//! Proven end to end with accounts of the scan's own
//! ([`crate::probes::account`]): a control account with a strong password
//! shows that sign-up and sign-in work and that a wrong password is refused;
//! a second account is then created with `123456` and signed in with it.
//! Reported when that sign-in is accepted like the control's. Active
//! profile (it creates two accounts); five requests.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::account::{Account, accepted, made_up_password, send_filled, sign_ins, sign_up_or_skip};
use crate::probes::spec::{defined_at, described, no_description};
use mortar_model::{Category, CheckInfo, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "authentication.weak-password-policy",
        category: Category::Authentication,
        severity: Severity::Medium,
        profile: Profile::Active,
        title: "Sign-up accepts the most common password",
        description: "Creates a control account through the sign-up operation with a strong made-up password, \
            signs it in (accepted) and signs it in with a wrong password (refused), then creates a second \
            account with the password `123456` and signs it in. Reported when the weak account signs in like \
            the control: the API lets users pick the first password every guessing list tries. Five \
            requests; the sign-in must take a JSON body.",
        remediation: Remediation {
            summary: "Refuse passwords shorter than 8 characters and those on a list of common or breached \
                passwords at sign-up and at password change (NIST SP 800-63B 5.1.1.2), with a message that \
                says why.",
            actix_web: "In the sign-up handler, score the password with the `zxcvbn` crate (refuse a score below 3) \
                or check its length and a bundled common-password list, and answer \
                `HttpResponse::UnprocessableEntity()` before creating the account.",
            axum: "Validate the sign-up payload before creating the account (e.g. `zxcvbn::zxcvbn(&password, \
                &[&email])` with a minimum score, or a length check plus a common-password list) and return \
                `StatusCode::UNPROCESSABLE_ENTITY` with the reason.",
        },
        references: References { owasp_api: &["API2:2023"], cwe: &["CWE-521"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// The password every guessing list starts with.
const WEAK_PASSWORD: &str = "123456";

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !described(&ctx) {
        return no_description();
    }
    let id = CHECK.info.id;
    let register = match sign_up_or_skip(&ctx) {
        Ok(op) => op,
        Err(verdict) => return verdict,
    };
    let Some(sign_in) = sign_ins(&ctx).into_iter().next() else {
        return CheckVerdict::Skipped("no sign-in operation with a JSON body to confirm a new account".into());
    };
    let strong = made_up_password();
    let control = Account::new();
    let send = async |op, account: &Account, password: &str| send_filled(&ctx, id, op, account, password).await;
    let inconclusive = |e: mortar_engine::EngineError| CheckVerdict::Inconclusive(e.chain());
    let (_, created) = match send(register, &control, &strong).await {
        Ok(sent) => sent,
        Err(e) => return inconclusive(e),
    };
    if !accepted(&created) {
        return CheckVerdict::Ran(format!("the sign-up refused a control account (HTTP {})", created.response.status));
    }
    let (_, control_in) = match send(sign_in, &control, &strong).await {
        Ok(sent) => sent,
        Err(e) => return inconclusive(e),
    };
    let (_, wrong_in) = match send(sign_in, &control, "Wr0ng-Passw0rd!").await {
        Ok(sent) => sent,
        Err(e) => return inconclusive(e),
    };
    if !accepted(&control_in) || accepted(&wrong_in) {
        return CheckVerdict::Ran(format!(
            "a control account did not sign in as expected through {} {} (right password: HTTP {}, wrong: HTTP {}); \
             the policy was not judged",
            sign_in.endpoint.method, sign_in.endpoint.path, control_in.response.status, wrong_in.response.status
        ));
    }
    let weak = Account::new();
    let (weak_request, weak_created) = match send(register, &weak, WEAK_PASSWORD).await {
        Ok(sent) => sent,
        Err(e) => return inconclusive(e),
    };
    if !accepted(&weak_created) {
        return CheckVerdict::Ran(format!(
            "the sign-up refused the password `{WEAK_PASSWORD}` (HTTP {}) and accepted a strong one",
            weak_created.response.status
        ));
    }
    let (_, weak_in) = match send(sign_in, &weak, WEAK_PASSWORD).await {
        Ok(sent) => sent,
        Err(e) => return inconclusive(e),
    };
    if !accepted(&weak_in) || weak_in.response.status != control_in.response.status {
        return CheckVerdict::Ran(format!(
            "an account created with `{WEAK_PASSWORD}` did not sign in (HTTP {})",
            weak_in.response.status
        ));
    }
    reporter.observe(Observation::confirmed(
        register.endpoint.clone(),
        format!(
            "{} {} (defined at {}) created an account with the password `{WEAK_PASSWORD}`, and {} {} signed it in \
             (HTTP {}), as it signs in an account with a strong password while refusing a wrong one (HTTP {}). \
             Nothing stops users from choosing the first password every guessing list tries.",
            register.endpoint.method,
            register.endpoint.path,
            defined_at(register),
            sign_in.endpoint.method,
            sign_in.endpoint.path,
            weak_in.response.status,
            wrong_in.response.status
        ),
        vec![
            ctx.evidence(&weak_created, format!("An account is created with `{WEAK_PASSWORD}`.")),
            ctx.evidence(&weak_in, format!("It signs in with `{WEAK_PASSWORD}`.")),
            ctx.evidence(&wrong_in, "Control: a wrong password is refused."),
        ],
        ctx.curl(&weak_request),
    ));
    CheckVerdict::Ran(format!(
        "two accounts created through {} {} and signed in through {} {}; `{WEAK_PASSWORD}` accepted",
        register.endpoint.method, register.endpoint.path, sign_in.endpoint.method, sign_in.endpoint.path
    ))
}

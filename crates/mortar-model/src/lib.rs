//! mortar's domain model.
//!
//! Everything the scanner talks about, with no I/O: what is scanned ([`target`]),
//! who scans it ([`identity`]), what the checks are ([`check`]), what they find
//! ([`finding`]), what they could not test ([`coverage`]), how it is scored
//! ([`score`]), how CI gates on it ([`gate`]), and the JSON report that carries it
//! all ([`report`], schema version 1).

pub mod category;
pub mod check;
pub mod coverage;
pub mod finding;
pub mod gate;
pub mod identity;
pub mod report;
pub mod score;
pub mod severity;
pub mod target;

pub use category::Category;
pub use check::{CheckInfo, Framework, Profile, References, Remediation};
pub use coverage::{CheckCoverage, CheckStatus, Coverage, IdentityCoverage, SkippedOperation};
pub use finding::{
    Affected, Body, BodyEncoding, Endpoint, Evidence, EvidenceRequest, EvidenceResponse, Finding, FindingStatus,
    Observation, aggregate, finding_id, sort_findings,
};
pub use gate::{GateOutcome, Gates};
pub use identity::{
    ClientCertificate, Identity, IdentityHeader, LoginRecipe, RecipeRequest, Role, Secret, Session, SigningIdentity,
    TokenSource,
};
pub use report::{CategoryScore, Compliance, ComplianceGroup, OWASP_API_TOP_10, Report, Stats, TargetInfo, Tool};
pub use score::{Grade, ScoreCard, score};
pub use severity::{Confidence, Severity};
pub use target::Target;

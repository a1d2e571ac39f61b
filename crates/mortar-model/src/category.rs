//! The report's categories (contract: fixed ids).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A category of findings; every check belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Authentication weaknesses (tokens, JWTs, bypasses).
    Authentication,
    /// Broken object level authorization.
    Bola,
    /// Broken function level authorization.
    Bfla,
    /// Broken object property level authorization.
    PropertyAuthorization,
    /// CORS, methods, debug endpoints, headers.
    Misconfiguration,
    /// Input validation.
    InputValidation,
    /// Missing or weak rate limits.
    RateLimiting,
    /// Secrets, PII and internals in responses.
    DataExposure,
    /// Transport encryption.
    Encryption,
    /// Server-side request forgery.
    Ssrf,
    /// API inventory: versions, documents, undocumented surface.
    Inventory,
    /// Unsafe consumption of third-party APIs.
    UnsafeConsumption,
    /// LLM endpoints.
    Llm,
    /// Race conditions and TOCTOU.
    RaceCondition,
    /// Mutual TLS.
    Mtls,
    /// Request signatures (HMAC).
    RequestSigning,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 16] = [
        Category::Authentication,
        Category::Bola,
        Category::Bfla,
        Category::PropertyAuthorization,
        Category::Misconfiguration,
        Category::InputValidation,
        Category::RateLimiting,
        Category::DataExposure,
        Category::Encryption,
        Category::Ssrf,
        Category::Inventory,
        Category::UnsafeConsumption,
        Category::Llm,
        Category::RaceCondition,
        Category::Mtls,
        Category::RequestSigning,
    ];

    /// The stable id used in check ids and reports.
    pub fn id(self) -> &'static str {
        match self {
            Category::Authentication => "authentication",
            Category::Bola => "bola",
            Category::Bfla => "bfla",
            Category::PropertyAuthorization => "property-authorization",
            Category::Misconfiguration => "misconfiguration",
            Category::InputValidation => "input-validation",
            Category::RateLimiting => "rate-limiting",
            Category::DataExposure => "data-exposure",
            Category::Encryption => "encryption",
            Category::Ssrf => "ssrf",
            Category::Inventory => "inventory",
            Category::UnsafeConsumption => "unsafe-consumption",
            Category::Llm => "llm",
            Category::RaceCondition => "race-condition",
            Category::Mtls => "mtls",
            Category::RequestSigning => "request-signing",
        }
    }

    /// A human name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Category::Authentication => "Authentication",
            Category::Bola => "Object-level authorization (BOLA)",
            Category::Bfla => "Function-level authorization (BFLA)",
            Category::PropertyAuthorization => "Property-level authorization",
            Category::Misconfiguration => "Security misconfiguration",
            Category::InputValidation => "Input validation",
            Category::RateLimiting => "Rate limiting",
            Category::DataExposure => "Data exposure",
            Category::Encryption => "Encryption in transit",
            Category::Ssrf => "Server-side request forgery",
            Category::Inventory => "Inventory",
            Category::UnsafeConsumption => "Unsafe consumption of APIs",
            Category::Llm => "LLM endpoints",
            Category::RaceCondition => "Race conditions",
            Category::Mtls => "Mutual TLS",
            Category::RequestSigning => "Request signing",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A category id that the contract does not define.
#[derive(Debug, thiserror::Error)]
#[error("unknown category `{0}`")]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL.into_iter().find(|c| c.id() == s).ok_or_else(|| UnknownCategory(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_match_serde() {
        for c in Category::ALL {
            assert_eq!(c.id().parse::<Category>().unwrap(), c);
            assert_eq!(serde_json::to_value(c).unwrap(), c.id());
        }
    }
}

//! The one list of checks.

use crate::check::Check;
use crate::checks;

/// Every check, in catalogue order. Adding a check is one line here.
pub static CHECKS: &[&Check] = &[
    &checks::misconfiguration::cors_reflected_origin::CHECK,
    &checks::inventory::version_disclosure::CHECK,
    &checks::authentication::security_not_enforced::CHECK,
    &checks::authentication::forged_token_accepted::CHECK,
    &checks::authentication::user_enumeration::CHECK,
    &checks::authentication::weak_password_policy::CHECK,
    &checks::bola::cross_identity_read::CHECK,
    &checks::bola::cross_identity_write::CHECK,
    &checks::bfla::privileged_operation::CHECK,
    &checks::ssrf::canary_fetch::CHECK,
    &checks::input_validation::sql_injection::CHECK,
    &checks::input_validation::command_injection::CHECK,
    &checks::input_validation::template_injection::CHECK,
    &checks::input_validation::nosql_injection::CHECK,
    &checks::input_validation::path_traversal::CHECK,
    &checks::input_validation::open_redirect::CHECK,
    &checks::unsafe_consumption::redirect_followed::CHECK,
    &checks::rate_limiting::sensitive_operation_unlimited::CHECK,
    &checks::rate_limiting::unbounded_response::CHECK,
    &checks::llm::prompt_injection::CHECK,
    &checks::llm::system_prompt_leak::CHECK,
    &checks::property_authorization::excessive_exposure::CHECK,
    &checks::property_authorization::mass_assignment::CHECK,
    &checks::inventory::deprecated_operation_live::CHECK,
    &checks::inventory::documented_operation_missing::CHECK,
    &checks::inventory::undocumented_endpoints::CHECK,
    &checks::inventory::unversioned_api::CHECK,
    &checks::misconfiguration::cors_origin_bypass::CHECK,
    &checks::misconfiguration::dangerous_methods::CHECK,
    &checks::misconfiguration::debug_endpoints::CHECK,
    &checks::misconfiguration::security_headers::CHECK,
    &checks::encryption::hsts::CHECK,
    &checks::encryption::cookie_flags::CHECK,
    &checks::encryption::plaintext_http::CHECK,
    &checks::encryption::certificate::CHECK,
    &checks::inventory::framework_fingerprint::CHECK,
    &checks::inventory::spec_exposed::CHECK,
    &checks::data_exposure::stack_trace::CHECK,
    &checks::data_exposure::secrets_in_response::CHECK,
    &checks::data_exposure::password_in_response::CHECK,
    &checks::data_exposure::pii::CHECK,
    &checks::authentication::jwt_weaknesses::CHECK,
    &checks::mtls::optional_client_auth::CHECK,
    &checks::mtls::forged_client_cert::CHECK,
    &checks::mtls::revoked_cert_accepted::CHECK,
    &checks::mtls::proxy_header_trust::CHECK,
    &checks::mtls::cert_identity_not_enforced::CHECK,
    &checks::encryption::weak_tls::CHECK,
    &checks::encryption::early_data::CHECK,
    &checks::request_signing::signature_bypass::CHECK,
    &checks::request_signing::unsigned_component::CHECK,
    &checks::request_signing::replay::CHECK,
    &checks::request_signing::stale_timestamp::CHECK,
    &checks::request_signing::algorithm_downgrade::CHECK,
    &checks::request_signing::weak_secret::CHECK,
    &checks::race_condition::limit_overrun::CHECK,
    &checks::race_condition::toctou::CHECK,
];

/// Looks a check up by id.
pub fn find(id: &str) -> Option<&'static Check> {
    CHECKS.iter().copied().find(|c| c.info.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::path::{Path, PathBuf};

    /// `src/` of this crate.
    fn src() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    /// Every `.rs` file below `dir`, sorted.
    fn rust_files(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(rust_files(&path));
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
        out.sort();
        out
    }

    /// Where a check must live: `checks/<category>/<slug>.rs` (`-` as `_`), as a module path and a file.
    fn home(id: &str) -> (String, PathBuf) {
        let (category, slug) = id.split_once('.').expect("id is <category>.<slug>");
        let (dir, file) = (category.replace('-', "_"), slug.replace('-', "_"));
        (format!("mortar_checks::checks::{dir}::{file}"), src().join("checks").join(dir).join(format!("{file}.rs")))
    }

    /// What a file under `src/checks/` must not do: import anything of the crate
    /// but `check`, `context` and `probes` (so never another check, by
    /// `crate::checks::` or `super::`; a `use super::*;` in a file's `mod tests`
    /// reaches only that file), or send past the context (`engine.send`,
    /// `engine.burst`: the profile rule is in `ScanContext::send`/`burst`).
    fn layout_violations(file: &str, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut in_tests = false;
        let mut code = String::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split("//").next().unwrap_or_default();
            code.push_str(line);
            let trimmed = line.trim();
            if trimmed.starts_with("mod tests") || trimmed.starts_with("pub(crate) mod tests") {
                in_tests = true;
            }
            for (at, _) in line.match_indices("crate::") {
                let word = &line[at + "crate::".len()..];
                let allowed = ["check::", "check::{", "context::", "context::{", "probes::"];
                if !allowed.iter().any(|a| word.starts_with(a)) {
                    out.push(format!("{file}:{}: imports `{}`", n + 1, trimmed));
                }
            }
            if line.contains("super::") && !(in_tests && trimmed == "use super::*;") {
                out.push(format!("{file}:{}: reaches another module with `super::`: `{trimmed}`", n + 1));
            }
        }
        let flat: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        for call in ["engine.send(", "engine.burst(", "engine.send_once("] {
            if flat.contains(call) {
                out.push(format!("{file}: calls `{call}..)` directly: send through ctx.send / ctx.burst"));
            }
        }
        out
    }

    #[test]
    fn every_check_lives_in_the_file_its_id_names() {
        let mut homes = HashSet::new();
        for check in CHECKS {
            let id = check.info.id;
            let (module, file) = home(id);
            assert_eq!(check.module, module, "{id} is defined in {}, not in its own file", check.module);
            assert!(file.is_file(), "{id}: {} does not exist", file.display());
            let text = std::fs::read_to_string(&file).unwrap();
            assert_eq!(text.matches(": Check = Check {").count(), 1, "{}: exactly one check per file", file.display());
            assert!(
                text.contains("pub static CHECK: Check = Check {"),
                "{}: exports `pub static CHECK`",
                file.display()
            );
            homes.insert(file);
        }
        // And no check file outside the registry.
        for file in rust_files(&src().join("checks")) {
            let parent = file.parent().unwrap();
            if file.file_name().is_some_and(|n| n == "mod.rs") {
                continue;
            }
            assert!(parent != src().join("checks"), "{}: checks live in a category directory", file.display());
            assert!(homes.contains(&file), "{} is not a registered check's file", file.display());
        }
    }

    #[test]
    fn checks_import_only_the_contract_the_context_and_probes() {
        let mut found = Vec::new();
        for file in rust_files(&src().join("checks")) {
            let name = file.strip_prefix(src()).unwrap().display().to_string();
            found.extend(layout_violations(&name, &std::fs::read_to_string(&file).unwrap()));
        }
        // Probes send through the context too.
        for file in rust_files(&src().join("probes")) {
            let name = file.strip_prefix(src()).unwrap().display().to_string();
            let text = std::fs::read_to_string(&file).unwrap();
            found.extend(layout_violations(&name, &text).into_iter().filter(|v| v.contains("directly")));
        }
        assert!(found.is_empty(), "layout rules broken:\n{}", found.join("\n"));
    }

    #[test]
    fn the_layout_rules_catch_what_they_forbid() {
        let bad = "use super::bola::leaves;\nuse crate::checks::hsts::hsts_issue;\nuse crate::registry::CHECKS;\n\
                   fn f(ctx: &ScanContext) { ctx\n    .engine\n    .send(r); ctx.engine.burst(v, o); }\n";
        let found = layout_violations("x.rs", bad);
        assert_eq!(found.len(), 5, "{found:#?}");
        // A test module may glob its own file; nothing else may use `super::`.
        let ok = "use crate::check::{Check, CheckVerdict};\nuse crate::probes::json::leaves;\n\
                  #[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
        assert!(layout_violations("x.rs", ok).is_empty());
        assert_eq!(layout_violations("x.rs", "use super::*;\n").len(), 1, "outside mod tests it reaches the category");
        // Comments do not count.
        assert!(layout_violations("x.rs", "//! see `crate::checks::hsts` and engine.send(\n").is_empty());
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for check in CHECKS {
            let id = check.info.id;
            assert!(seen.insert(id), "duplicate check id {id}");
            let (category, slug) = id.split_once('.').expect("id is <category>.<slug>");
            assert_eq!(category, check.info.category.id(), "{id}: prefix must be its category");
            assert!(
                !slug.is_empty() && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{id}"
            );
        }
    }

    #[test]
    fn every_check_is_documented() {
        for check in CHECKS {
            let i = &check.info;
            assert!(i.title.len() > 10 && !i.title.ends_with('.'), "{}: title", i.id);
            assert!(i.description.len() > 40, "{}: description", i.id);
            assert!(!i.remediation.summary.is_empty(), "{}: remediation summary", i.id);
            assert!(
                i.remediation.actix_web.len() > 20 && i.remediation.axum.len() > 20,
                "{}: framework remediation",
                i.id
            );
            assert!(!i.references.owasp_api.is_empty() && !i.references.cwe.is_empty(), "{}: references", i.id);
            for r in i.references.owasp_api {
                assert!(r.starts_with("API") && r.ends_with(":2023"), "{}: {r}", i.id);
            }
            for r in i.references.cwe {
                assert!(r.starts_with("CWE-"), "{}: {r}", i.id);
            }
        }
    }
}

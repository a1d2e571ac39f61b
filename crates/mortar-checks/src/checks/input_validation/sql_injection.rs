//! `input-validation.sql-injection`: an input that ends up inside a SQL
//! statement as text, proven by what the statement does, never by a status
//! code alone.
//!
//! Each input (path and query parameters, JSON body properties) of the
//! operations gets, in turn:
//! - **error-based**: the value with a quote appended. A database error
//!   message (per engine: SQLite, PostgreSQL, MySQL/MariaDB, SQL Server,
//!   Oracle, and the drivers and ORMs that wrap them) that the original
//!   answer does not carry, and that goes away when the quote is doubled
//!   (`''`, the escaped form), is the proof.
//! - **boolean**: pairs of values that a SQL parser reads as a true and a
//!   false condition (`v' AND 'm'='m` / `v' AND 'm'='n`, `v' OR ...`, the
//!   same closed by a comment, and numeric forms for numeric values). A
//!   server that treats them as text answers both alike; one that runs them
//!   answers one like the original and the other unlike it. The echo of the
//!   payloads is removed before answers are compared, the original is asked
//!   twice to know how much it varies by itself, and a pair that differs is
//!   sent again and must differ the same way.
//!
//! No payload modifies data: OR forms go to safe methods only, and no
//! stacked statement, `UNION`, `DROP` or sleep is ever sent. Active profile;
//! at most [`MAX_INPUTS`] inputs per scan and [`MAX_REQUESTS_PER_INPUT`]
//! requests per input.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::inject::{Input, body_similarity, inputs, planned_inputs, probe_each, with_value};
use crate::probes::spec::defined_at;
use mortar_engine::Exchange;
use mortar_model::{
    Category, CheckInfo, Confidence, Evidence, Observation, Profile, References, Remediation, Severity,
};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "input-validation.sql-injection",
        category: Category::InputValidation,
        severity: Severity::Critical,
        profile: Profile::Active,
        title: "SQL injection: an input is executed as part of a SQL statement",
        description: "Rewrites each path, query and JSON body input of the operations (at most 40 per scan, 24 \
            requests each). Error-based: a quote appended makes the answer carry a database error message \
            (SQLite, PostgreSQL, MySQL/MariaDB, SQL Server, Oracle, their drivers and ORMs) that the original \
            does not, and a doubled quote makes it go away. Boolean: a true and a false SQL condition appended \
            to the value (quoted, comment-closed and numeric forms) are answered differently, one of them like \
            the original, twice in a row, with the payloads' echo removed and the original's own variation \
            measured. No payload writes, stacks statements or sleeps; OR forms go to safe methods only.",
        remediation: Remediation {
            summary: "Never build SQL by concatenating or formatting input: pass every value as a bound \
                parameter of a prepared statement, and map identifiers (sort columns) through an allow-list.",
            actix_web: "With sqlx, write `sqlx::query(\"SELECT .. WHERE sku = $1\").bind(&sku)` (or the checked \
                `sqlx::query!` macro) instead of `format!`; with diesel, use its query builder \
                (`.filter(sku.eq(&input))`); validate the `web::Path`/`web::Query` type (e.g. a newtype with a \
                pattern) so malformed input is refused with 400 before it reaches the database.",
            axum: "With sqlx, write `sqlx::query(\"SELECT .. WHERE sku = $1\").bind(&sku)` (or `sqlx::query_as!`) \
                instead of `format!`; take typed `Path`/`Query` extractors that reject malformed values, and map \
                sort or column names through a `match` allow-list, never into the SQL text.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-89"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Inputs probed per scan.
pub const MAX_INPUTS: usize = 40;
/// Requests per input at most (the original twice, a quote and its doubled
/// form, four condition pairs sent twice, and a repair of another input).
pub const MAX_REQUESTS_PER_INPUT: usize = 24;
/// Inputs probed at once.
const CONCURRENT_INPUTS: usize = 4;

/// Database error messages by engine: distinctive texts drivers and engines
/// put in errors about a malformed statement.
const ERROR_SIGNATURES: &[(&str, &str)] = &[
    ("SQLite", "unrecognized token:"),
    ("SQLite", "sqlite3.OperationalError"),
    ("SQLite", "SQLITE_ERROR"),
    ("SQLite", "SQLite3::SQLException"),
    ("SQLite", "SQLiteException"),
    ("SQLite", "\": syntax error"),
    ("PostgreSQL", "unterminated quoted string at or near"),
    ("PostgreSQL", "syntax error at or near"),
    ("PostgreSQL", "PG::SyntaxError"),
    ("PostgreSQL", "psycopg2.errors"),
    ("PostgreSQL", "org.postgresql.util.PSQLException"),
    ("MySQL", "You have an error in your SQL syntax"),
    ("MySQL", "check the manual that corresponds to your MySQL"),
    ("MySQL", "check the manual that corresponds to your MariaDB"),
    ("MySQL", "com.mysql.jdbc"),
    ("MySQL", "MySqlException"),
    ("MySQL", "ER_PARSE_ERROR"),
    ("SQL Server", "Unclosed quotation mark after the character string"),
    ("SQL Server", "Incorrect syntax near"),
    ("SQL Server", "Microsoft OLE DB Provider for SQL Server"),
    ("Oracle", "ORA-01756"),
    ("Oracle", "ORA-00933"),
    ("Oracle", "quoted string not properly terminated"),
    ("SQL (ORM)", "sqlalchemy.exc."),
    ("SQL (ORM)", "SequelizeDatabaseError"),
    ("SQL (ORM)", "PDOException"),
    ("SQL (ORM)", "SQLSTATE["),
    ("SQL (ORM)", "org.hibernate.exception"),
];

/// The first database error message in an answer: (engine, text seen).
fn sql_error(exchange: &Exchange) -> Option<(&'static str, &'static str)> {
    let body = String::from_utf8_lossy(&exchange.response.body);
    ERROR_SIGNATURES.iter().copied().find(|(_, needle)| body.contains(needle))
}

/// A true and a false condition around a value, and which of the two the
/// original should answer like.
struct Pair {
    truthy: String,
    falsy: String,
    /// `AND` forms keep the original's rows when true; `OR` forms when false.
    original_like_true: bool,
    form: &'static str,
}

fn pairs(input: &Input, safe_method: bool) -> Vec<Pair> {
    let v = &input.original;
    let mut out = Vec::new();
    if input.numeric {
        out.push(Pair {
            truthy: format!("{v} AND 7=7"),
            falsy: format!("{v} AND 7=8"),
            original_like_true: true,
            form: "numeric AND",
        });
    }
    out.push(Pair {
        truthy: format!("{v}' AND 'm'='m"),
        falsy: format!("{v}' AND 'm'='n"),
        original_like_true: true,
        form: "quoted AND",
    });
    if safe_method {
        out.push(Pair {
            truthy: format!("{v}' OR 'm'='m"),
            falsy: format!("{v}' OR 'm'='n"),
            original_like_true: false,
            form: "quoted OR",
        });
    }
    out.push(Pair {
        truthy: format!("{v}' AND 7=7-- -"),
        falsy: format!("{v}' AND 7=8-- -"),
        original_like_true: true,
        form: "comment-closed AND",
    });
    out
}

/// The body without any echo of `value` (raw, JSON-escaped, percent- and
/// HTML-encoded), so that answers that repeat the input compare by what else they say.
fn without_echo(body: &[u8], value: &str) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(body).into_owned();
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let html = value.replace('&', "&amp;").replace('\'', "&#39;").replace('"', "&quot;");
    let html_hex = value.replace('\'', "&#x27;");
    for form in [value.to_string(), json, crate::probes::percent_encode(value), html, html_hex] {
        if !form.is_empty() {
            text = text.replace(&form, "");
        }
    }
    text.into_bytes()
}

/// How alike two answers are with each one's payload echo removed (0 when the status differs).
fn alike(a: &Exchange, a_value: &str, b: &Exchange, b_value: &str) -> f64 {
    if a.response.status != b.response.status {
        return 0.0;
    }
    body_similarity(&without_echo(&a.response.body, a_value), &without_echo(&b.response.body, b_value))
}

/// What one input's probes proved.
enum Verdict {
    /// The value is named as an unknown column or table, and so is another value.
    Identifier {
        engine: &'static str,
        first: Arc<Exchange>,
        alt: Arc<Exchange>,
        other: String,
    },
    Error {
        engine: &'static str,
        needle: &'static str,
        quoted: Arc<Exchange>,
        doubled: Arc<Exchange>,
    },
    Boolean {
        form: &'static str,
        values: (String, String),
        truthy: Arc<Exchange>,
        falsy: Arc<Exchange>,
        original: Arc<Exchange>,
    },
}

struct Probed {
    input: Input,
    requests: usize,
    verdict: Option<Verdict>,
    /// The operation with other inputs repaired, when the probes needed that.
    base: Option<ScanOperation>,
}

/// Phrases with which engines name an unknown identifier (a column, a
/// table) in their errors: the value after one of them was read as SQL.
const IDENTIFIER_PHRASES: &[&str] =
    &["no such column: ", "no such table: ", "Unknown column '", "Invalid column name '", "column \"", "ORA-00904: \""];

/// Whether the answer is a database error that names `value` as an identifier.
fn names_as_identifier(exchange: &Exchange, value: &str) -> bool {
    if value.is_empty() || sql_error(exchange).is_none() {
        return false;
    }
    let body = String::from_utf8_lossy(&exchange.response.body);
    IDENTIFIER_PHRASES.iter().any(|phrase| {
        let named = format!("{phrase}{value}");
        // The whole value: what follows it cannot continue an identifier.
        body.match_indices(&named)
            .any(|(at, _)| body[at + named.len()..].chars().next().is_none_or(|c| !(c.is_alphanumeric() || c == '_')))
    })
}

/// Property names of the operation's documented answer (its items' for a
/// list): the identifiers an input that names a column may take.
fn column_names(op: &ScanOperation) -> Vec<String> {
    let Some(schema) = &op.described.response_schema else { return Vec::new() };
    let object = schema.get("items").unwrap_or(schema);
    let mut names: Vec<String> = object
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    // `id` first: the column every table has.
    names.sort_by_key(|n| (n != "id", n.clone()));
    names.truncate(5);
    names
}

async fn probe(ctx: &ScanContext, op: &ScanOperation, input: Input) -> Probed {
    let mut requests = 0usize;
    let v = input.original.clone();
    let mut base = op.clone();
    let mut repaired = false;
    let Some(mut first) = send_as(ctx, &base, &input, &v, &mut requests).await else {
        return Probed { input, requests, verdict: None, base: None };
    };
    if sql_error(&first).is_some() {
        // The value itself is read as an identifier: proven when another value is too.
        let other = format!("{v}q7");
        if names_as_identifier(&first, &v)
            && let Some(alt) = send_as(ctx, &base, &input, &other, &mut requests).await
            && names_as_identifier(&alt, &other)
        {
            let verdict = Verdict::Identifier { engine: sql_error(&first).map_or("SQL", |e| e.0), first, alt, other };
            return Probed { input, requests, verdict: Some(verdict), base: None };
        }
        // Another input names a column that does not exist: give it one the
        // API's own answers have, so that this input is probed on a statement that runs.
        'repair: for other in
            inputs(op).into_iter().filter(|o| !o.is_at(&input) && names_as_identifier(&first, &o.original))
        {
            for column in column_names(op) {
                let mut candidate = op.clone();
                let rebuilt = with_value(ctx, op, &other, &column);
                candidate.target = rebuilt.target;
                if candidate.body.is_some() {
                    candidate.body = Some(rebuilt.body);
                }
                if let Some(answer) = send_as(ctx, &candidate, &input, &v, &mut requests).await
                    && sql_error(&answer).is_none()
                {
                    base = candidate;
                    first = answer;
                    repaired = true;
                    break 'repair;
                }
            }
        }
        if !repaired {
            return Probed { input, requests, verdict: None, base: None };
        }
    }
    let op = &base;
    let mut send = async |value: &str| send_as(ctx, op, &input, value, &mut requests).await;
    let original = first;
    let Some(again) = send(&v).await else {
        return Probed { input, requests, verdict: None, base: None };
    };
    // How much the original answer varies by itself.
    let stable = alike(&original, &v, &again, &v);
    let verdict = 'verdict: {
        let quoted_value = format!("{v}'");
        if sql_error(&original).is_none()
            && let Some(quoted) = send(&quoted_value).await
            && let Some((engine, needle)) = sql_error(&quoted)
            && let Some(doubled) = send(&format!("{v}''")).await
            && sql_error(&doubled).is_none()
        {
            break 'verdict Some(Verdict::Error { engine, needle, quoted, doubled });
        }
        if stable < 0.9 {
            break 'verdict None;
        }
        for pair in pairs(&input, op.is_safe()) {
            let (Some(t), Some(f)) = (send(&pair.truthy).await, send(&pair.falsy).await) else { continue };
            let differ = |t: &Exchange, f: &Exchange| alike(t, &pair.truthy, f, &pair.falsy) < stable - 0.1;
            let (like, like_value) = if pair.original_like_true { (&t, &pair.truthy) } else { (&f, &pair.falsy) };
            if !differ(&t, &f) || alike(like, like_value, &original, &v) < stable - 0.1 {
                continue;
            }
            // Once more: a fluke does not repeat, a condition does.
            let (Some(t2), Some(f2)) = (send(&pair.truthy).await, send(&pair.falsy).await) else { continue };
            let same = |a: &Exchange, b: &Exchange, value: &str| alike(a, value, b, value) >= stable - 0.1;
            if differ(&t2, &f2) && same(&t, &t2, &pair.truthy) && same(&f, &f2, &pair.falsy) {
                let values = (pair.truthy.clone(), pair.falsy.clone());
                break 'verdict Some(Verdict::Boolean { form: pair.form, values, truthy: t, falsy: f, original });
            }
        }
        None
    };
    let base = repaired.then_some(base);
    Probed { input, requests, verdict, base }
}

/// `op`'s request with `input` set to `value`, sent and counted.
async fn send_as(
    ctx: &ScanContext,
    op: &ScanOperation,
    input: &Input,
    value: &str,
    requests: &mut usize,
) -> Option<Arc<Exchange>> {
    if *requests >= MAX_REQUESTS_PER_INPUT {
        return None;
    }
    *requests += 1;
    let mut request = with_value(ctx, op, input, value);
    // A 429 ends the probe of this input (as in the other injection checks): waiting out a
    // Retry-After per payload would stall the scan, and a limited answer proves nothing.
    request.options.no_retry = true;
    let exchange = ctx.send(CHECK.info.id, Some(&op.endpoint), request).await.ok()?;
    if exchange.response.status == 429 {
        *requests = MAX_REQUESTS_PER_INPUT;
        return None;
    }
    Some(Arc::new(exchange))
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let (planned, skipped) = planned_inputs(&ctx, CHECK.info.id, MAX_INPUTS, |_, _| true).await;
    if planned.is_empty() {
        return CheckVerdict::Skipped("no operation has a path, query or JSON body input to probe".into());
    }
    let probed = probe_each(&ctx, planned, CONCURRENT_INPUTS, probe).await;
    let inputs_probed = probed.len();
    let requests: usize = probed.iter().map(|(_, p)| p.requests).sum();
    let mut found = 0usize;
    for (i, p) in probed {
        let Some(verdict) = p.verdict else { continue };
        found += 1;
        let op = p.base.as_ref().unwrap_or(&ctx.operations[i]);
        report(&ctx, &reporter, op, &p.input, verdict);
    }
    CheckVerdict::Ran(format!(
        "{inputs_probed} input(s) probed with {requests} request(s), {found} executed as SQL{}",
        if skipped > 0 {
            format!("; {skipped} input(s) beyond the budget of {MAX_INPUTS} not probed")
        } else {
            String::new()
        }
    ))
}

fn report(ctx: &ScanContext, reporter: &Reporter, op: &ScanOperation, input: &Input, verdict: Verdict) {
    let place = if op.source.is_some() { format!(" (defined at {})", defined_at(op)) } else { String::new() };
    let (description, evidence, reproduce): (String, Vec<Evidence>, String) = match verdict {
        Verdict::Identifier { engine, first, alt, other } => (
            format!(
                "{} {}{place}: its {} is read as a SQL identifier: the {engine} error names the value `{}` as \
                 an unknown column or table, and names `{other}` when given that instead. The input is spliced \
                 into the statement's text, where any SQL can follow.",
                op.endpoint.method,
                op.endpoint.path,
                input.describe(),
                input.original
            ),
            vec![
                ctx.evidence(&first, format!("The value `{}` named in a database error.", input.original)),
                ctx.evidence(&alt, format!("The value `{other}` named in the same error.")),
            ],
            ctx.curl(&with_value(ctx, op, input, &other)),
        ),
        Verdict::Error { engine, needle, quoted, doubled } => (
            format!(
                "{} {}{place}: a quote appended to its {} (`{}'`) made the answer carry a {engine} error \
                 message (`{needle}`), which the original answer does not carry and which a doubled quote \
                 (`{}''`) makes go away: the value is spliced into a SQL statement as text.",
                op.endpoint.method,
                op.endpoint.path,
                input.describe(),
                input.original,
                input.original
            ),
            vec![
                ctx.evidence(&quoted, format!("With a quote appended: a {engine} error.")),
                ctx.evidence(&doubled, "With the quote doubled (escaped): no error."),
            ],
            ctx.curl(&with_value(ctx, op, input, &format!("{}'", input.original))),
        ),
        Verdict::Boolean { form, values, truthy, falsy, original } => (
            format!(
                "{} {}{place}: its {} answers a true and a false SQL condition ({form}) differently, twice in a \
                 row, and one of them like the original value `{}` (HTTP {} and {}, the original {}): the \
                 database evaluates the input as SQL. Anyone who can call the operation can read or change what \
                 the statement reaches.",
                op.endpoint.method,
                op.endpoint.path,
                input.describe(),
                input.original,
                truthy.response.status,
                falsy.response.status,
                original.response.status
            ),
            vec![
                ctx.evidence(&truthy, "The true condition."),
                ctx.evidence(&falsy, "The false condition."),
                ctx.evidence(&original, "The original value."),
            ],
            format!(
                "{}\n{}",
                ctx.curl(&with_value(ctx, op, input, &values.0)),
                ctx.curl(&with_value(ctx, op, input, &values.1))
            ),
        ),
    };
    let mut observation = Observation::confirmed(op.endpoint.clone(), description, evidence, reproduce);
    observation.component = Some(input.name.clone());
    observation.confidence = Confidence::Confirmed;
    reporter.observe(observation);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(original: &str, numeric: bool) -> Input {
        let input = Input::query("q", original);
        assert_eq!(input.numeric, numeric);
        input
    }

    #[test]
    fn database_errors_are_recognised_by_engine_and_ordinary_errors_are_not() {
        let exchange = |body: &str| crate::probes::fixture::exchange("http://127.0.0.1/q", 500, &[], body);
        assert_eq!(
            sql_error(&exchange(r#"{"detail":"(sqlite3.OperationalError) unrecognized token: \"'\""}"#)).map(|e| e.0),
            Some("SQLite")
        );
        assert_eq!(
            sql_error(&exchange("ERROR: unterminated quoted string at or near \"'x\"")).map(|e| e.0),
            Some("PostgreSQL")
        );
        assert_eq!(
            sql_error(&exchange("You have an error in your SQL syntax; check the manual")).map(|e| e.0),
            Some("MySQL")
        );
        assert_eq!(sql_error(&exchange(r#"{"error":"internal error","hint":"syntax of the filter is wrong"}"#)), None);
    }

    #[test]
    fn echoed_payloads_do_not_make_two_answers_differ() {
        let (t, f) = ("HX' AND 'm'='m", "HX' AND 'm'='n");
        // Raw, JSON-escaped and HTML-escaped echoes are all removed.
        for (a, b) in [
            (format!("no part with sku {t}"), format!("no part with sku {f}")),
            (
                serde_json::json!({"error": format!("no {t}")}).to_string(),
                serde_json::json!({"error": format!("no {f}")}).to_string(),
            ),
            (format!("<p>no {}</p>", t.replace('\'', "&#39;")), format!("<p>no {}</p>", f.replace('\'', "&#39;"))),
        ] {
            let sim = body_similarity(&without_echo(a.as_bytes(), t), &without_echo(b.as_bytes(), f));
            assert_eq!(sim, 1.0, "{a} vs {b}");
        }
        // Without the removal the two would differ.
        assert!(body_similarity(format!("no {t}").as_bytes(), format!("no {f}").as_bytes()) < 1.0);
    }

    #[test]
    fn a_value_named_as_an_unknown_column_is_an_identifier_and_an_echo_is_not() {
        let ex = |body: &str| crate::probes::fixture::exchange("http://127.0.0.1/s", 501, &[], body);
        let error = ex("error, query failed: SequelizeDatabaseError: SQLITE_ERROR: no such column: mortar");
        assert!(names_as_identifier(&error, "mortar"));
        assert!(!names_as_identifier(&error, "mort"), "a prefix of the value is not the value");
        // The value echoed beside an unrelated database error is not read as SQL.
        let echo = ex("GET /s/mortar failed: SQLITE_ERROR: no such column: total");
        assert!(!names_as_identifier(&echo, "mortar"));
        assert!(!names_as_identifier(&ex("no such column: mortar"), "mortar"), "no database error signature");
        let mut op = ScanOperation::bare("GET", "/search/{filter}/{query}");
        op.described.response_schema =
            Some(serde_json::json!({"type": "array", "items": {"properties": {"name": {}, "id": {}, "price": {}}}}));
        assert_eq!(column_names(&op), vec!["id", "name", "price"]);
    }

    #[test]
    fn or_forms_go_to_safe_methods_only_and_numbers_get_numeric_forms() {
        let forms = |i: &Input, safe: bool| pairs(i, safe).into_iter().map(|p| p.form).collect::<Vec<_>>();
        assert_eq!(forms(&input("abc", false), false), vec!["quoted AND", "comment-closed AND"]);
        assert_eq!(forms(&input("abc", false), true), vec!["quoted AND", "quoted OR", "comment-closed AND"]);
        assert_eq!(forms(&input("42", true), false)[0], "numeric AND");
        assert!(pairs(&input("42", true), true).iter().all(|p| !p.truthy.contains(';') && !p.truthy.contains("UNION")));
    }
}

//! Offline search for the HMAC key of an HS256/384/512 token: the common
//! weak secrets, words of the API in front of us, a dictionary generated from
//! a base word list (`data/secret-words.txt`) by the rules below, and every
//! decimal number of one to six digits. The search runs on every core, stops
//! at the first key whose signature matches, and is bounded in time.
//!
//! A match is proof, not a guess: the token's own signature verifies with the
//! key, so anyone can sign tokens with any claims.

use super::jwt::{Jwt, WEAK_SECRETS};
use crate::context::ScanContext;
use hmac::{Hmac, Mac};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The base word list, one word per line (`#` starts a comment line).
const BASE_WORDS: &str = include_str!("../../data/secret-words.txt");

/// Endings people add to a word to make a "key" of it.
const SUFFIXES: &[&str] = &[
    "", "1", "12", "123", "1234", "12345", "123456", "!", "!!", "?", "@", "#", "$", "*", "1!", "123!", "01", "007",
    "69", "99", "2019", "2020", "2021", "2022", "2023", "2024", "2025", "2026", "_secret", "-secret", "secret",
    "Secret", "_key", "-key", "key", "Key", "_jwt", "-jwt", "jwt", "_token", "token", "_api", "api", "_dev", "_prod",
    "_test",
];

/// Beginnings joined to the lower-case word, each with [`PREFIXED_ENDINGS`].
const PREFIXES: &[&str] = &["my", "my_", "my-", "the", "super", "jwt_", "jwt-", "app_", "api_", "secret_"];
const PREFIXED_ENDINGS: &[&str] = &["", "key", "secret", "_key", "_secret", "123"];

/// Beginnings joined to the capitalised word (`MySecret`, `SuperSecretKey`).
const CAMEL_PREFIXES: &[&str] = &["My", "Super", "The", "Top"];
const CAMEL_ENDINGS: &[&str] = &["", "Key", "Secret", "123", "!"];

/// The leet spelling gets only the commonest endings.
const LEET_SUFFIXES: &[&str] = &["", "1", "123", "!", "_key", "_secret"];

/// Numbers of one to six digits, leading zeros included: 1,111,110 keys.
const MAX_DIGITS: u32 = 6;

/// Target-derived words kept at most (path segments, claim values, host labels).
pub const MAX_TARGET_WORDS: usize = 200;

/// Wall-time bound of one search; what is left untried is said in the outcome.
pub const SEARCH_BUDGET: Duration = Duration::from_secs(30);

/// What a search tried and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySearch {
    /// The key the signature verifies with, if one was found.
    pub key: Option<String>,
    /// Candidates tried.
    pub tried: usize,
    /// True when the time budget ended the search before every candidate was tried.
    pub cut_short: bool,
}

/// The words of the base list, deduplicated, in file order.
pub fn base_words() -> Vec<&'static str> {
    let mut seen = std::collections::HashSet::new();
    BASE_WORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|w| seen.insert(*w))
        .collect()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The word in leet spelling: vowels only (`p4ssw0rd`), or with `s` and `t` too (`p455w0rd`).
fn leet(word: &str, consonants: bool) -> String {
    word.chars()
        .map(|c| match c {
            'a' => '4',
            'e' => '3',
            'i' => '1',
            'o' => '0',
            's' if consonants => '5',
            't' if consonants => '7',
            other => other,
        })
        .collect()
}

/// Every candidate the rules make of one word, passed to `try_key` until it
/// returns true (found). Returns whether it did, and counts into `tried`.
fn expand(word: &str, buf: &mut String, tried: &mut usize, try_key: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    let lower = word.to_lowercase();
    let cap = capitalised(&lower);
    let upper = word.to_uppercase();
    let mut forms: Vec<&str> = vec![word];
    for f in [lower.as_str(), cap.as_str(), upper.as_str()] {
        if !forms.contains(&f) {
            forms.push(f);
        }
    }
    let mut attempt = |parts: &[&str]| {
        buf.clear();
        parts.iter().for_each(|p| buf.push_str(p));
        *tried += 1;
        try_key(buf.as_bytes())
    };
    for form in &forms {
        for suffix in SUFFIXES {
            if attempt(&[form, suffix]) {
                return true;
            }
        }
    }
    for prefix in PREFIXES {
        for ending in PREFIXED_ENDINGS {
            if attempt(&[prefix, &lower, ending]) {
                return true;
            }
        }
    }
    for prefix in CAMEL_PREFIXES {
        for ending in CAMEL_ENDINGS {
            if attempt(&[prefix, &cap, ending]) {
                return true;
            }
        }
    }
    let vowels = leet(&lower, false);
    let full = leet(&lower, true);
    for spelling in [&vowels, &full] {
        if *spelling == lower || (spelling == &full && full == vowels) {
            continue;
        }
        for suffix in LEET_SUFFIXES {
            if attempt(&[spelling, suffix]) {
                return true;
            }
        }
    }
    false
}

/// Every decimal number of `digits` digits in `[start, end)`, zero-padded.
fn numbers(digits: u32, start: u32, end: u32, tried: &mut usize, try_key: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    let mut buf = [b'0'; MAX_DIGITS as usize];
    let width = digits as usize;
    for n in start..end {
        let mut v = n;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        *tried += 1;
        if try_key(&buf[..width]) {
            return true;
        }
    }
    false
}

/// A unit of work for one thread.
enum Job<'a> {
    Exact(&'a [&'a str]),
    Word(&'a str),
    Numbers { digits: u32, start: u32, end: u32 },
}

/// Whether an HMAC over the input (second) with the key (first) is the signature (third).
type Verify = fn(&[u8], &[u8], &[u8]) -> bool;

fn verifier(jwt: &Jwt) -> Option<Verify> {
    fn verifies<M: Mac + hmac::digest::KeyInit>(key: &[u8], input: &[u8], signature: &[u8]) -> bool {
        let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else { return false };
        mac.update(input);
        mac.verify_slice(signature).is_ok()
    }
    Some(match jwt.alg() {
        "HS256" => verifies::<Hmac<sha2::Sha256>>,
        "HS384" => verifies::<Hmac<sha2::Sha384>>,
        "HS512" => verifies::<Hmac<sha2::Sha512>>,
        _ => return None,
    })
}

/// Searches the HMAC key of `jwt` among the common secrets, `target_words`
/// (expanded like the base words, tried first), the generated dictionary and
/// the numbers, on every core, within [`SEARCH_BUDGET`]. `None` for a token
/// that is not HMAC-signed.
pub fn search_key(jwt: &Jwt, target_words: &[String]) -> Option<KeySearch> {
    search_key_within(jwt, target_words, SEARCH_BUDGET)
}

/// [`search_key`] with its own time bound (benchmarks and tests).
pub fn search_key_within(jwt: &Jwt, target_words: &[String], budget: Duration) -> Option<KeySearch> {
    let verify = verifier(jwt)?;
    let input = jwt.signing_input.as_bytes();
    let signature = jwt.signature.as_slice();
    let base = base_words();
    let mut jobs: Vec<Job> = vec![Job::Exact(WEAK_SECRETS)];
    jobs.extend(target_words.iter().take(MAX_TARGET_WORDS).map(|w| Job::Word(w.as_str())));
    jobs.extend(base.iter().map(|w| Job::Word(w)));
    for digits in 1..=MAX_DIGITS {
        let count = 10u32.pow(digits);
        let chunk = 50_000.min(count);
        jobs.extend((0..count).step_by(chunk as usize).map(|start| Job::Numbers {
            digits,
            start,
            end: (start + chunk).min(count),
        }));
    }
    let next = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let tried_total = AtomicUsize::new(0);
    let found: Mutex<Option<String>> = Mutex::new(None);
    let deadline = Instant::now() + budget;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut tried = 0usize;
                let mut buf = String::new();
                let mut try_key = |key: &[u8]| {
                    if verify(key, input, signature) {
                        *found.lock().unwrap_or_else(|p| p.into_inner()) = Some(String::from_utf8_lossy(key).into());
                        return true;
                    }
                    false
                };
                loop {
                    if done.load(Ordering::Relaxed) || Instant::now() >= deadline {
                        break;
                    }
                    let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                    let hit = match job {
                        Job::Exact(keys) => keys.iter().any(|k| {
                            tried += 1;
                            try_key(k.as_bytes())
                        }),
                        Job::Word(word) => expand(word, &mut buf, &mut tried, &mut try_key),
                        Job::Numbers { digits, start, end } => numbers(*digits, *start, *end, &mut tried, &mut try_key),
                    };
                    if hit {
                        done.store(true, Ordering::Relaxed);
                    }
                }
                tried_total.fetch_add(tried, Ordering::Relaxed);
            });
        }
    });
    let key = found.into_inner().unwrap_or_else(|p| p.into_inner());
    let cut_short = key.is_none() && next.load(Ordering::Relaxed) < jobs.len();
    Some(KeySearch { key, tried: tried_total.into_inner(), cut_short })
}

/// How many candidates a full search tries besides the target's words (the
/// common secrets, the generated dictionary and the numbers).
pub fn dictionary_size() -> (usize, usize) {
    let mut words = 0usize;
    let mut buf = String::new();
    for w in base_words() {
        expand(w, &mut buf, &mut words, &mut |_| false);
    }
    let numbers: usize = (1..=MAX_DIGITS).map(|d| 10usize.pow(d)).sum();
    (WEAK_SECRETS.len() + words, numbers)
}

/// Key searches of one scan, by token header: tokens of one issuer share a
/// key, so a second token is first tried with the key found for the first,
/// and a header whose search failed is not searched again.
#[derive(Default)]
struct KeySearches(tokio::sync::Mutex<HashMap<String, KeySearch>>);

/// The HMAC key search for a token the scan saw, shared by every check that
/// asks (each header's dictionary is searched once per scan, off the async
/// threads). `None` for a token that is not HMAC-signed.
pub async fn hmac_key(ctx: &ScanContext, jwt: &Jwt) -> Option<KeySearch> {
    let verify = verifier(jwt)?;
    let searches = ctx.shared(|| async { KeySearches::default() }).await;
    let header = jwt.signing_input.split('.').next().unwrap_or_default().to_string();
    // Held across the search so that two checks asking for one token wait for one search.
    let mut known = searches.0.lock().await;
    if let Some(earlier) = known.get(&header) {
        match &earlier.key {
            Some(key) if verify(key.as_bytes(), jwt.signing_input.as_bytes(), &jwt.signature) => {
                return Some(KeySearch { key: Some(key.clone()), tried: 1, cut_short: false });
            }
            Some(_) => {}
            None => return Some(earlier.clone()),
        }
    }
    let words = target_words(ctx.endpoints.iter().map(|e| e.path.as_str()), &ctx.target.host, jwt);
    let token = jwt.clone();
    let outcome = tokio::task::spawn_blocking(move || search_key(&token, &words)).await.ok().flatten()?;
    known.insert(header, outcome.clone());
    Some(outcome)
}

/// Words of the API in front of us that people put into keys: the static
/// segments of its paths, its host's labels and the short string claims of
/// its tokens (an issuer is often the application's name).
pub fn target_words<'a>(paths: impl Iterator<Item = &'a str>, host: &str, jwt: &Jwt) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |w: &str| {
        let w = w.trim();
        if (3..=32).contains(&w.len()) && !w.bytes().all(|b| b.is_ascii_digit()) && !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    };
    for path in paths {
        for seg in path.split('/').filter(|s| !s.starts_with('{')) {
            add(seg);
            seg.split(['-', '_', '.']).for_each(&mut add);
        }
    }
    host.split('.').for_each(&mut add);
    for claim in ["iss", "aud", "sub"] {
        if let Some(v) = jwt.claims.get(claim).and_then(|v| v.as_str()) {
            add(v);
            v.split(['-', '_', '.', ':', '/', ' ']).for_each(&mut add);
        }
    }
    out.truncate(MAX_TARGET_WORDS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::jwt::parse;
    use crate::probes::jwt::tests::mint;
    use std::collections::HashSet;

    fn search(secret: &str, words: &[String]) -> KeySearch {
        let token = mint(r#"{"alg":"HS256"}"#, r#"{"sub":"alice"}"#, secret.as_bytes());
        search_key(&parse(&token).expect("parses"), words).expect("an HMAC token")
    }

    #[test]
    fn the_generated_dictionary_has_over_100k_distinct_keys() {
        let mut distinct = HashSet::new();
        let mut buf = String::new();
        let mut n = 0;
        for w in base_words() {
            expand(w, &mut buf, &mut n, &mut |k| {
                distinct.insert(k.to_vec());
                false
            });
        }
        assert!(distinct.len() >= 100_000, "{} distinct", distinct.len());
        assert_eq!(dictionary_size().1, 1_111_110);
    }

    #[test]
    fn keys_made_by_the_rules_are_found() {
        for key in ["SuperSecret", "random", "MySecretKey", "flask_secret", "p4ssw0rd", "Dragon2024"] {
            let found = search(key, &[]);
            assert_eq!(found.key.as_deref(), Some(key), "{found:?}");
        }
    }

    #[test]
    fn the_common_secrets_and_the_empty_key_are_found() {
        let jwt_io = parse(crate::probes::jwt::tests::JWT_IO_EXAMPLE).expect("parses");
        assert_eq!(search_key(&jwt_io, &[]).and_then(|s| s.key).as_deref(), Some("your-256-bit-secret"));
        assert_eq!(search("", &[]).key.as_deref(), Some(""));
    }

    #[test]
    fn six_digit_numbers_and_target_words_are_found() {
        assert_eq!(search("042917", &[]).key.as_deref(), Some("042917"));
        let words = vec!["bookstore".to_string()];
        assert_eq!(search("bookstore_secret", &words).key.as_deref(), Some("bookstore_secret"));
    }

    #[test]
    fn a_random_key_is_not_found_and_the_whole_dictionary_is_tried() {
        let found = search("q8Zr-2vLx_Tn0pW4yK7e", &[]);
        assert_eq!(found.key, None);
        if !found.cut_short {
            let (words, numbers) = dictionary_size();
            assert_eq!(found.tried, words + numbers);
        }
    }

    #[test]
    fn target_words_come_from_paths_host_and_claims() {
        let token = mint(r#"{"alg":"HS256"}"#, r#"{"iss":"acme-bookshop","sub":"42"}"#, b"x");
        let words = target_words(["/api/v1/book-orders/{id}"].into_iter(), "shop.example.com", &parse(&token).unwrap());
        for w in ["api", "book-orders", "book", "orders", "shop", "example", "acme-bookshop", "bookshop"] {
            assert!(words.iter().any(|x| x == w), "{w} in {words:?}");
        }
        assert!(!words.iter().any(|x| x == "42" || x == "v1" || x.starts_with('{')), "{words:?}");
    }
}

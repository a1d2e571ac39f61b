//! `jwt-key-search`: how fast mortar searches the HMAC key of an HS256 token
//! (`authentication.jwt-weaknesses`): the whole dictionary against a token
//! whose key is random, so no candidate matches and every one is tried.
//! bench/jwt-bench.sh compares it with Python's `hmac` on the same machine.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use mortar_checks::probes::jwt::parse;
use mortar_checks::probes::jwt_dictionary::{dictionary_size, search_key_within};
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let mut repeat = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next().map(|v| v.parse::<usize>())) {
            ("--repeat", Some(Ok(n))) if n > 0 => repeat = n,
            _ => {
                eprintln!("jwt-key-search: usage: jwt-key-search [--repeat N]");
                return ExitCode::from(2);
            }
        }
    }
    // A key no dictionary holds: the time of a search that tries everything.
    let key: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(151).wrapping_add(17)).collect();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(br#"{"sub":"bench-user","role":"member","iat":1700000000,"exp":1700003600}"#)
    );
    let Ok(mut mac) = <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(&key) else {
        return ExitCode::FAILURE;
    };
    mac.update(input.as_bytes());
    let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
    let Some(jwt) = parse(&token) else { return ExitCode::FAILURE };
    let (words, numbers) = dictionary_size();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("dictionary: {words} word candidates + {numbers} numbers; {threads} thread(s)");
    let mut rates = Vec::new();
    for run in 1..=repeat {
        let start = Instant::now();
        let Some(search) = search_key_within(&jwt, &[], Duration::from_secs(600)) else { return ExitCode::FAILURE };
        let secs = start.elapsed().as_secs_f64();
        if search.key.is_some() || search.cut_short {
            eprintln!("jwt-key-search: the search did not try every candidate: {search:?}");
            return ExitCode::FAILURE;
        }
        let rate = search.tried as f64 / secs;
        println!("run {run}: {} candidates in {secs:.3} s = {:.0} candidates/s", search.tried, rate);
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!("median: {median:.0} candidates/s; 10^6 candidates in {:.3} s", 1e6 / median);
    ExitCode::SUCCESS
}

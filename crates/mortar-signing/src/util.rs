//! Small shared pieces: HMAC over a chosen hash, encodings, digests, dates.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The hash under HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// HMAC-SHA-256.
    #[default]
    Sha256,
    /// HMAC-SHA-384.
    Sha384,
    /// HMAC-SHA-512.
    Sha512,
    /// HMAC-SHA-1: legacy schemes only (GitHub's `X-Hub-Signature`), and
    /// what a downgrade probe offers.
    Sha1,
}

macro_rules! with_mac {
    ($alg:expr, $key:expr, |$mac:ident| $body:expr) => {
        match $alg {
            Algorithm::Sha256 => {
                // HMAC accepts keys of any length, so this never fails; the
                // Option keeps the no-panic promise without an unwrap.
                Hmac::<Sha256>::new_from_slice($key).ok().map(|mut $mac| $body)
            }
            Algorithm::Sha384 => Hmac::<Sha384>::new_from_slice($key).ok().map(|mut $mac| $body),
            Algorithm::Sha512 => Hmac::<Sha512>::new_from_slice($key).ok().map(|mut $mac| $body),
            Algorithm::Sha1 => Hmac::<sha1::Sha1>::new_from_slice($key).ok().map(|mut $mac| $body),
        }
    };
}

/// HMAC of the concatenation of `parts`.
pub(crate) fn mac(alg: Algorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    with_mac!(alg, key, |m| {
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().to_vec()
    })
    .unwrap_or_default()
}

/// Constant-time check of `expected` against the HMAC of `parts`
/// (`verify_slice` compares without early exit).
pub(crate) fn mac_verify(alg: Algorithm, key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    with_mac!(alg, key, |m| {
        for p in parts {
            m.update(p);
        }
        m.verify_slice(expected).is_ok()
    })
    .unwrap_or(false)
}

/// Digest of `data`.
pub(crate) fn digest(alg: Algorithm, data: &[u8]) -> Vec<u8> {
    match alg {
        Algorithm::Sha256 => Sha256::digest(data).to_vec(),
        Algorithm::Sha384 => Sha384::digest(data).to_vec(),
        Algorithm::Sha512 => Sha512::digest(data).to_vec(),
        Algorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
    }
}

/// How signature bytes are written as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Lower-case hex.
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
    /// URL-safe base64 without padding.
    Base64url,
}

impl Encoding {
    /// Encodes bytes.
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Hex => hex(bytes),
            Encoding::Base64 => STANDARD.encode(bytes),
            Encoding::Base64url => URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    /// Decodes text; `None` if it is not valid in this encoding. Hex accepts
    /// either case; base64url accepts padding or none.
    pub fn decode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Encoding::Hex => unhex(text),
            Encoding::Base64 => STANDARD.decode(text).ok(),
            Encoding::Base64url => URL_SAFE_NO_PAD.decode(text).or_else(|_| URL_SAFE.decode(text)).ok(),
        }
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes.chunks(2).map(|pair| Some(hex_val(pair[0])? << 4 | hex_val(pair[1])?)).collect()
}

/// Standard base64 (used by several schemes for keys and digests).
pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Standard base64 decode.
pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// Percent-decodes; a `%` not followed by two hex digits stays literal
/// (lenient, because probes send odd targets on purpose).
pub(crate) fn percent_decode(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// RFC 3986 percent-encoding of everything but unreserved characters (and
/// `/` when `keep_slash`), upper-case hex, as SigV4 wants.
pub(crate) fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &c in bytes {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') || (keep_slash && c == b'/') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Broken-down UTC time of a Unix-seconds instant.
pub(crate) struct Utc {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

pub(crate) fn utc(secs: i64) -> Utc {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400) as u32;
    Utc { year, month, day, hour: rem / 3600, minute: rem / 60 % 60, second: rem % 60 }
}

/// `2015-08-30T12:36:00Z`.
pub(crate) fn rfc3339(secs: i64) -> String {
    let t = utc(secs);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

/// `20150830T123600Z` (SigV4's basic ISO 8601).
pub(crate) fn amz_date(secs: i64) -> String {
    let t = utc(secs);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn secs_of(y: u32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(i64::from(y), mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s))
}

/// Parses `20150830T123600Z` to Unix seconds.
pub(crate) fn parse_amz_date(text: &str) -> Option<i64> {
    if text.len() != 16 || !text.is_ascii() || &text[8..9] != "T" || &text[15..] != "Z" {
        return None;
    }
    secs_of(
        num(&text[0..4])?,
        num(&text[4..6])?,
        num(&text[6..8])?,
        num(&text[9..11])?,
        num(&text[11..13])?,
        num(&text[13..15])?,
    )
}

/// Parses RFC 3339 (`Z` or `±HH:MM`, optional fraction) to Unix milliseconds.
pub(crate) fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    if !text.is_ascii() || text.len() < 20 {
        return None;
    }
    let (date, rest) = text.split_at(10);
    let d: Vec<&str> = date.split('-').collect();
    if d.len() != 3 || !matches!(&rest[..1], "T" | "t" | " ") {
        return None;
    }
    let rest = &rest[1..];
    let (h, mi, s) = (num(rest.get(0..2)?)?, num(rest.get(3..5)?)?, num(rest.get(6..8)?)?);
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" {
        return None;
    }
    let mut tail = &rest[8..];
    let mut ms: i64 = 0;
    if let Some(frac) = tail.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first3: String = frac[..digits].chars().chain("000".chars()).take(3).collect();
        ms = i64::from(num(&first3)?);
        tail = &frac[digits..];
    }
    let offset_secs: i64 = match tail {
        "Z" | "z" => 0,
        _ if tail.len() == 6 && tail.as_bytes()[3] == b':' => {
            let sign = match &tail[..1] {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            sign * i64::from(num(&tail[1..3])? * 3600 + num(&tail[4..6])? * 60)
        }
        _ => return None,
    };
    let secs = secs_of(num(d[0])?, num(d[1])?, num(d[2])?, h, mi, s)? - offset_secs;
    secs.checked_mul(1000)?.checked_add(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339_ms("2015-08-30T12:36:00Z"), Some(1_440_938_160_000));
        assert_eq!(parse_rfc3339_ms("2015-08-30T14:36:00.5+02:00"), Some(1_440_938_160_500));
        assert_eq!(parse_rfc3339_ms("2015-13-30T14:36:00Z"), None);
        assert_eq!(parse_rfc3339_ms("é"), None);
        for secs in [-86_401, 0, 951_782_400, 4_102_444_800] {
            assert_eq!(parse_rfc3339_ms(&rfc3339(secs)), Some(secs * 1000));
        }
    }

    #[test]
    fn encodings_round_trip() {
        for enc in [Encoding::Hex, Encoding::Base64, Encoding::Base64url] {
            assert_eq!(enc.decode(&enc.encode(&[0, 250, 7])), Some(vec![0, 250, 7]));
        }
        assert_eq!(Encoding::Hex.decode("0G"), None);
        assert_eq!(percent_decode("a%2Fb%zz%4"), b"a/b%zz%4");
        assert_eq!(uri_encode("a b/ሴ~".as_bytes(), true), "a%20b/%E1%88%B4~");
    }
}

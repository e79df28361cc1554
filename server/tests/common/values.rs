//! Plain values the tests need, with no server: the clock, random strings, and the form and
//! Basic encodings of RFC 6749.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Now, in Unix seconds.
pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A fresh random string (base64url of 24 random bytes), for admin keys and names.
pub fn random_string() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A form body from pairs.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect::<Vec<_>>().join("&")
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 2.3.1).
pub fn basic_auth(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{}:{}", form_encode(id), form_encode(secret))))
}

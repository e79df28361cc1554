//! Malformed input never panics the protocol core: random and mutated bytes go through every
//! parser a client can reach (form bodies, Basic credentials, token requests, JWS, scopes), and
//! well-formed forms survive the parser unchanged. A seeded generator keeps runs repeatable.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tessera_core::client_auth;
use tessera_core::form::Form;
use tessera_core::{introspection, jwt, revocation, scope, token};

/// xorshift64*: enough randomness for input generation, and repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Bytes biased towards the characters parsers care about.
    fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        const INTERESTING: &[u8] = b"=&%+.:_- aZ09\x00\xff\xc3\xa9\"\\{}[]";
        let len = self.below(max_len + 1);
        (0..len)
            .map(|_| match self.below(3) {
                0 => INTERESTING[self.below(INTERESTING.len())],
                1 => b"0123456789abcdefABCDEF"[self.below(22)],
                _ => (self.next() & 0xff) as u8,
            })
            .collect()
    }
}

/// Feeds one body through everything that reads a form.
fn exercise(body: &[u8], authorization: Option<&[u8]>) {
    let Ok(form) = Form::parse(body) else { return };
    let _ = client_auth::extract(authorization, &form);
    let _ = token::parse(&form);
    let _ = introspection::parse(&form);
    let _ = revocation::parse(&form);
    if let Some(s) = form.get("scope") {
        let _ = scope::parse(s);
        let _ = scope::grant(Some(s), &["read".to_owned(), "write".to_owned()]);
    }
    if let Some(t) = form.get("token") {
        let _ = jwt::parse(t);
    }
}

#[test]
fn random_bodies_and_headers_never_panic() {
    let mut rng = Rng(0x7E55_E4A0_0000_0001);
    for _ in 0..20_000 {
        let body = rng.bytes(300);
        let header = rng.bytes(80);
        exercise(&body, None);
        exercise(&body, Some(&header));
        let basic = format!("Basic {}", STANDARD.encode(rng.bytes(60)));
        exercise(&body, Some(basic.as_bytes()));
    }
}

#[test]
fn mutated_valid_requests_never_panic() {
    let seeds: [&[u8]; 4] = [
        b"grant_type=client_credentials&scope=read%20write&client_id=c&client_secret=s",
        b"token=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln&token_type_hint=access_token",
        b"grant_type=client_credentials&scope=a+b+c",
        b"token=abc&token_type_hint=refresh_token&client_id=x",
    ];
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let mut body = seeds[rng.below(seeds.len())].to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(body.len() + 1);
            match rng.below(3) {
                0 if at < body.len() => {
                    body.remove(at);
                }
                1 if at < body.len() => body[at] = (rng.next() & 0xff) as u8,
                _ => body.insert(at, b"=&%+\xff"[rng.below(5)]),
            }
        }
        exercise(&body, None);
    }
}

#[test]
fn random_strings_as_tokens_never_panic() {
    let mut rng = Rng(7);
    for _ in 0..20_000 {
        let raw = rng.bytes(200);
        let s = String::from_utf8_lossy(&raw);
        let _ = jwt::looks_like_jws(&s);
        let _ = jwt::parse(&s);
        // Three base64url-looking parts, the shape that reaches the JSON decoders.
        let parts: Vec<String> =
            (0..3).map(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rng.bytes(40))).collect();
        let _ = jwt::parse(&parts.join("."));
    }
}

#[test]
fn well_formed_forms_round_trip() {
    let mut rng = Rng(99);
    for _ in 0..5_000 {
        let n = 1 + rng.below(6);
        let pairs: Vec<(String, String)> = (0..n)
            .map(|i| {
                let value: String = String::from_utf8_lossy(&rng.bytes(20)).into_owned();
                (format!("p{i}"), value)
            })
            .collect();
        let mut ser = form_urlencoded_like(&pairs);
        if rng.below(2) == 0 {
            ser.push('&'); // a trailing separator is allowed
        }
        let form = Form::parse(ser.as_bytes()).expect("a well-formed form parses");
        for (name, value) in &pairs {
            let expected = Some(value.as_str()).filter(|v| !v.is_empty());
            assert_eq!(form.get(name), expected, "{ser}");
        }
    }
}

/// Percent-encodes every byte outside the unreserved set, spaces as `+`.
fn form_urlencoded_like(pairs: &[(String, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs.iter().map(|(n, v)| format!("{}={}", enc(n), enc(v))).collect::<Vec<_>>().join("&")
}

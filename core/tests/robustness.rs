//! Malformed input never panics the protocol core, and no parser accepts what it must refuse.
//!
//! Random bytes mostly stop at the first parser (the form decoder), so the later ones (grant
//! parsing, client authentication, scopes, PKCE, JWS headers, authorization requests) would
//! almost never see them. Most tests here therefore start from a valid request of each kind,
//! change one field in one way (drop, empty, repeat, lengthen, replace a character, swap in
//! another field's value, random text), encode the result properly so it passes the form
//! decoder, and follow it through every stage. Each stage's verdict is checked against what
//! the mutation must cause, and each test counts how far its inputs got and fails if the last
//! stage was rarely reached. A seeded generator keeps runs repeatable; the coverage-guided fuzz
//! targets in `fuzz/` cover the same parsers without a fixed budget.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tessera_core::authorize::{self, AuthorizeError};
use tessera_core::client_auth::{self, Presented};
use tessera_core::error::Reason;
use tessera_core::form::Form;
use tessera_core::grants::authorization_code;
use tessera_core::jwt::{self, ACCESS_TOKEN_TYP, HeaderRefusal};
use tessera_core::model::{AccessTokenFormat, Client, GrantType, SigningAlg, TokenEndpointAuthMethod};
use tessera_core::pkce::CodeChallengeMethod;
use tessera_core::token::TokenRequest;
use tessera_core::{introspection, revocation, scope, token};

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

    /// Text a client could send: random bytes made UTF-8.
    fn text(&mut self, max_len: usize) -> String {
        String::from_utf8_lossy(&self.bytes(max_len)).into_owned()
    }
}

/// Percent-encodes every byte outside the unreserved set, spaces as `+`.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form_body(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(n, v)| format!("{}={}", enc(n), enc(v))).collect::<Vec<_>>().join("&")
}

/// How one field of a valid request is changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mutation {
    /// The field is left out.
    Drop,
    /// The field is sent empty (the same as absent, RFC 6749 3.1).
    Empty,
    /// The field is sent twice.
    Repeat,
    /// One character replaced by an interesting one.
    Replace,
    /// The value repeated until it is long.
    Lengthen,
    /// Another field's value.
    Swap,
    /// Random text.
    Random,
}

const MUTATIONS: [Mutation; 7] = [
    Mutation::Drop,
    Mutation::Empty,
    Mutation::Repeat,
    Mutation::Replace,
    Mutation::Lengthen,
    Mutation::Swap,
    Mutation::Random,
];

/// `valid` with field `at` changed by `mutation`.
fn mutate(rng: &mut Rng, valid: &[(&str, String)], at: usize, mutation: Mutation) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = valid.iter().map(|(n, v)| ((*n).to_owned(), v.clone())).collect();
    let value = &mut pairs[at].1;
    match mutation {
        Mutation::Drop => {
            pairs.remove(at);
        }
        Mutation::Empty => value.clear(),
        Mutation::Repeat => pairs.push(pairs[at].clone()),
        Mutation::Replace => {
            const CHARS: [char; 12] =
                [' ', '\0', '"', '%', '+', '.', '=', '&', '\u{e9}', '\u{fffd}', 'A', '~'];
            let chars: Vec<char> = value.chars().collect();
            let i = rng.below(chars.len() + 1);
            let c = CHARS[rng.below(CHARS.len())];
            *value = chars[..i.min(chars.len())]
                .iter()
                .chain(std::iter::once(&c))
                .chain(chars.get(i + 1..).unwrap_or_default())
                .collect();
        }
        Mutation::Lengthen => *value = value.repeat(1 + 600 / value.len().max(1)),
        Mutation::Swap => *value = valid[rng.below(valid.len())].1.clone(),
        Mutation::Random => *value = rng.text(40),
    }
    pairs
}

/// Decodes a mutated body: it must parse, except that a repeat must be refused as one.
fn decode<'a>(body: &'a str, mutation: Mutation) -> Option<Form<'a>> {
    match Form::parse(body.as_bytes()) {
        Ok(form) => {
            assert_ne!(mutation, Mutation::Repeat, "a repeated parameter was accepted: {body}");
            Some(form)
        }
        Err(e) => {
            assert_eq!(mutation, Mutation::Repeat, "a properly encoded body was refused: {body}: {e:?}");
            assert_eq!(e.reason, Reason::RepeatedParameter, "{body}");
            None
        }
    }
}

/// How many inputs reached each stage of a pipeline; `check` fails when the last stage was
/// reached by fewer than `min_percent` of them, so the test cannot quietly stop testing it.
struct Reach {
    name: &'static str,
    stages: Vec<usize>,
    total: usize,
}

impl Reach {
    fn new(name: &'static str, stages: usize) -> Self {
        Self { name, stages: vec![0; stages], total: 0 }
    }

    fn reached(&mut self, depth: usize) {
        self.total += 1;
        for s in &mut self.stages[..depth] {
            *s += 1;
        }
    }

    fn check(&self, min_percent: usize) {
        eprintln!("{}: {} inputs, reached per stage {:?}", self.name, self.total, self.stages);
        let last = *self.stages.last().unwrap_or(&0);
        assert!(
            last * 100 >= self.total * min_percent,
            "{}: only {last} of {} inputs reached the last stage ({:?})",
            self.name,
            self.total,
            self.stages
        );
    }
}

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn token_requests() -> Vec<Vec<(&'static str, String)>> {
    let p = |pairs: &[(&'static str, &str)]| pairs.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
    vec![
        p(&[
            ("grant_type", "client_credentials"),
            ("scope", "read write"),
            ("client_id", "svc"),
            ("client_secret", "s3cret"),
        ]),
        p(&[
            ("grant_type", "authorization_code"),
            ("code", "Zm9vYmFyYmF6cXV4"),
            ("redirect_uri", "https://app.example/cb"),
            ("code_verifier", VERIFIER),
            ("client_id", "app"),
        ]),
        p(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "cmVmcmVzaA"),
            ("scope", "read"),
            ("client_id", "svc"),
        ]),
        p(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL3AifQ.c2ln"),
            ("scope", "read"),
            ("client_id", "svc"),
        ]),
    ]
}

/// Follows a token request through every stage and checks each verdict; returns how far it got.
fn token_stages(pairs: &[(String, String)], mutation: Mutation, at: &str) -> usize {
    let body = form_body(pairs);
    let Some(form) = decode(&body, mutation) else { return 0 };
    let sent =
        |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());

    // Client authentication: the body's credentials, or Basic with the body's id.
    match client_auth::extract(None, &form) {
        Ok(p) => assert_eq!(Some(p.client_id()), sent("client_id"), "{body}"),
        Err(e) => assert!(sent("client_id").is_none(), "{body}: {e:?}"),
    }
    let basic = format!("Basic {}", STANDARD.encode(format!("{}:{}", enc("svc"), enc("s3cret"))));
    if let Ok(Presented::Basic { client_id, secret }) = client_auth::extract(Some(basic.as_bytes()), &form) {
        assert_eq!((client_id.as_str(), secret.as_str()), ("svc", "s3cret"));
        assert!(sent("client_secret").is_none() && sent("client_id").is_none_or(|id| id == "svc"), "{body}");
    }

    let req = match token::parse(&form) {
        Ok(req) => req,
        Err(e) => {
            // Only a missing required field, or a grant type changed, may stop a request here.
            let required_gone =
                matches!(at, "code" | "refresh_token" | "username" | "password" | "assertion")
                    && sent(at).is_none();
            assert!(required_gone || at == "grant_type", "{body}: refused {e:?}");
            return 1;
        }
    };
    assert_eq!(Some(req.grant_type().as_str()), sent("grant_type"), "{body}");
    let scope_sent = match &req {
        TokenRequest::ClientCredentials(r) => r.scope,
        TokenRequest::Password(r) => {
            assert_eq!((Some(r.username), Some(r.password)), (sent("username"), sent("password")));
            r.scope
        }
        TokenRequest::RefreshToken(r) => {
            assert_eq!(Some(r.refresh_token), sent("refresh_token"));
            r.scope
        }
        TokenRequest::JwtBearer(r) => {
            assert_eq!(Some(r.assertion), sent("assertion"));
            r.scope
        }
        TokenRequest::AuthorizationCode(r) => {
            assert_eq!(Some(r.code), sent("code"));
            match authorization_code::check_before_take(r) {
                Ok(()) => assert!(r.code_verifier.is_none_or(well_formed_verifier), "{body}"),
                Err(_) => assert!(r.code_verifier.is_some_and(|v| !well_formed_verifier(v)), "{body}"),
            }
            None
        }
    };
    if let Some(s) = scope_sent {
        match scope::grant(Some(s), &["read".to_owned(), "write".to_owned()]) {
            Ok(granted) => {
                assert!(
                    granted.split(' ').all(|v| v == "read" || v == "write"),
                    "{body}: granted {granted:?}"
                )
            }
            Err(e) => {
                assert!(s.split(' ').any(|v| !v.is_empty() && v != "read" && v != "write"), "{body}: {e:?}")
            }
        }
    }
    2
}

/// RFC 7636 4.1: 43 to 128 unreserved characters.
fn well_formed_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
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

/// Mutated JWT bearer assertions: whatever `peek` lets through has an allowed `alg` and an
/// `iss`, and `check_claims` judges any claims object without panicking.
#[test]
fn mutated_assertions_never_panic_and_peek_only_passes_allowed_algorithms() {
    use tessera_core::grants::jwt_bearer::{self, ALLOWED_ALGS};
    let issuer = tessera_core::model::TrustedIssuer {
        id: "p".into(),
        name: "p".into(),
        issuer: "https://p".into(),
        jwks_uri: None,
        jwks: Some(r#"{"keys":[]}"#.into()),
        allowed_subjects: Some("*@p".into()),
        audience: None,
        subject_prefix: Some("p".into()),
        created_at: 0,
    };
    let claims = r#"{"iss":"https://p","sub":"a@p","aud":"https://i","exp":1060,"iat":1000,"jti":"j"}"#;
    let valid = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"k"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut rng = Rng(0x0A55_E471_0000_0001);
    let (mut peeked, mut accepted) = (0, 0);
    for _ in 0..20_000 {
        let mut bytes = valid.clone().into_bytes();
        for _ in 0..=rng.below(3) {
            let i = rng.below(bytes.len());
            bytes[i] = b"A-_.xyz0{}\"\x00"[rng.below(11)];
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let Ok(seen) = jwt_bearer::peek(&text) else { continue };
        peeked += 1;
        assert!(ALLOWED_ALGS.contains(&seen.alg.as_str()), "{text}");
        let Some(part) = text.split('.').nth(1) else { continue };
        let Ok(decoded) = URL_SAFE_NO_PAD.decode(part) else { continue };
        if let Ok(serde_json::Value::Object(c)) = serde_json::from_slice(&decoded)
            && jwt_bearer::check_claims(&c, &issuer, &["https://i"], 1_000).is_ok()
        {
            accepted += 1;
        }
    }
    assert!(peeked > 1_000 && accepted > 100, "too few reached the later stages: {peeked} {accepted}");
}

#[test]
fn random_strings_as_tokens_never_panic() {
    let mut rng = Rng(7);
    for _ in 0..20_000 {
        let raw = rng.bytes(200);
        let s = String::from_utf8_lossy(&raw);
        let _ = jwt::looks_like_jws(&s);
        let _ = jwt::parse(&s);
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
        let mut ser =
            pairs.iter().map(|(n, v)| format!("{}={}", enc(n), enc(v))).collect::<Vec<_>>().join("&");
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

#[test]
fn mutated_token_requests_reach_every_stage_and_are_judged_right() {
    let mut rng = Rng(42);
    let mut reach = Reach::new("token requests", 2);
    for valid in token_requests() {
        let unchanged: Vec<(String, String)> =
            valid.iter().map(|(n, v)| ((*n).to_owned(), v.clone())).collect();
        assert_eq!(token_stages(&unchanged, Mutation::Random, ""), 2, "a valid request was refused");
        for _ in 0..2_000 {
            let at = rng.below(valid.len());
            let mutation = MUTATIONS[rng.below(MUTATIONS.len())];
            let pairs = mutate(&mut rng, &valid, at, mutation);
            reach.reached(token_stages(&pairs, mutation, valid[at].0));
        }
    }
    reach.check(50);
}

fn introspection_and_revocation_stages(pairs: &[(String, String)], mutation: Mutation, at: &str) -> usize {
    let body = form_body(pairs);
    let Some(form) = decode(&body, mutation) else { return 0 };
    let token_sent =
        pairs.iter().find(|(n, _)| n == "token").map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    match introspection::parse(&form) {
        Ok(r) => assert_eq!(Some(r.token), token_sent),
        Err(_) => assert!(token_sent.is_none(), "{body}"),
    }
    match revocation::parse(&form) {
        Ok(r) => {
            assert_eq!(Some(r.token), token_sent);
            assert!(form.get("token_type_hint").is_none_or(|h| h == "access_token" || h == "refresh_token"));
        }
        Err(e) => assert!(token_sent.is_none() || at == "token_type_hint", "{body}: {e:?}"),
    }
    let Some(token) = token_sent else { return 1 };
    // The token itself, as introspection reads it: well formed or not a JWS at all.
    match jwt::parse(token) {
        Some(parsed) => {
            assert!(token.starts_with(parsed.signing_input));
            // The token was left alone: it must still pass the header check.
            if at != "token" {
                assert_eq!(parsed.header.check(ACCESS_TOKEN_TYP, SigningAlg::ES384), Ok(()), "{token}");
            }
            3
        }
        None => 2,
    }
}

#[test]
fn mutated_introspection_and_revocation_requests_reach_the_jws_parser() {
    let input =
        jwt::signing_input(SigningAlg::ES384, ACCESS_TOKEN_TYP, "k1", &serde_json::json!({"sub": "x"}))
            .expect("signing input");
    let token = jwt::assemble(input, &[7; 96]);
    let valid: Vec<(&str, String)> =
        vec![("token", token), ("token_type_hint", "access_token".into()), ("client_id", "svc".into())];
    let mut rng = Rng(3);
    let mut reach = Reach::new("introspection", 3);
    for _ in 0..5_000 {
        let at = rng.below(valid.len());
        let mutation = MUTATIONS[rng.below(MUTATIONS.len())];
        let pairs = mutate(&mut rng, &valid, at, mutation);
        reach.reached(introspection_and_revocation_stages(&pairs, mutation, valid[at].0));
    }
    reach.check(50);
}

/// A JWS header built from valid members with one of them changed; the check must pass only a
/// header whose `typ` and `alg` are the expected ones and that carries no `crit`.
#[test]
fn mutated_jws_headers_are_judged_by_every_member() {
    let mut rng = Rng(7);
    let mut reach = Reach::new("JWS headers", 2);
    let values = [
        serde_json::json!("ES384"),
        serde_json::json!("at+jwt"),
        serde_json::json!("k1"),
        serde_json::json!(null),
        serde_json::json!(["exp"]),
        serde_json::json!([]),
        serde_json::json!(""),
        serde_json::json!("none"),
        serde_json::json!(7),
        serde_json::json!("AT+JWT"),
    ];
    for _ in 0..10_000 {
        let mut header = serde_json::json!({"alg": "ES384", "typ": "at+jwt", "kid": "k1"});
        let member = ["alg", "typ", "kid", "crit", "x5u"][rng.below(5)];
        let object = header.as_object_mut().expect("an object");
        match rng.below(3) {
            0 => {
                object.remove(member);
            }
            1 => {
                object.insert(member.to_owned(), values[rng.below(values.len())].clone());
            }
            _ => {
                object.insert(member.to_owned(), serde_json::Value::String(rng.text(12)));
            }
        }
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
        let token = format!("{}.{payload}.c2ln", URL_SAFE_NO_PAD.encode(header.to_string()));
        let Some(parsed) = jwt::parse(&token) else {
            // Only a header without a string `alg`, or with a `typ`/`kid` that is not a string
            // or null, may be refused before the check.
            let alg_ok = header.get("alg").is_some_and(|a| a.is_string());
            let other_ok =
                ["typ", "kid"].iter().all(|m| header.get(*m).is_none_or(|v| v.is_string() || v.is_null()));
            assert!(!(alg_ok && other_ok), "refused {header}");
            reach.reached(0);
            continue;
        };
        reach.reached(2);
        let expected = if header.get("crit").is_some() {
            Err(HeaderRefusal::Critical)
        } else if header.get("typ") != Some(&serde_json::json!("at+jwt")) {
            Err(HeaderRefusal::Type)
        } else if header.get("alg") != Some(&serde_json::json!("ES384")) {
            Err(HeaderRefusal::Algorithm)
        } else {
            Ok(())
        };
        assert_eq!(parsed.header.check(ACCESS_TOKEN_TYP, SigningAlg::ES384), expected, "{header}");
    }
    reach.check(60);
}

fn authorize_client() -> Client {
    Client {
        tenant: "t".into(),
        client_id: "app".into(),
        client_name: "app".into(),
        secret_digest: None,
        grant_types: vec![GrantType::AuthorizationCode],
        redirect_uris: vec!["https://app.example/cb".into(), "https://app.example/cb2?x=1".into()],
        response_types: vec!["code".into(), "code id_token".into()],
        scope: vec!["openid".into(), "profile".into(), "read".into()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        access_token_format: AccessTokenFormat::Jwt,
        id_token_signed_response_alg: SigningAlg::RS256,
        post_logout_redirect_uris: vec![],
        first_party: false,
        created_at: 0,
        pkce_plain_allowed: false,
        grants_valid_from: 0,
        apis: None,
        token_rate_limit: None,
    }
}

#[test]
fn mutated_authorization_requests_reach_validation_and_never_redirect_elsewhere() {
    let client = authorize_client();
    let valid: Vec<(&str, String)> = [
        ("client_id", "app"),
        ("response_type", "code id_token"),
        ("redirect_uri", "https://app.example/cb2?x=1"),
        ("scope", "openid read"),
        ("state", "st"),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("prompt", "login consent"),
        ("max_age", "300"),
        ("response_mode", "fragment"),
    ]
    .iter()
    .map(|(n, v)| (*n, (*v).to_owned()))
    .collect();
    let mut rng = Rng(11);
    let mut reach = Reach::new("authorization requests", 3);
    let unchanged: Vec<(String, String)> = valid.iter().map(|(n, v)| ((*n).to_owned(), v.clone())).collect();
    let body = form_body(&unchanged);
    let form = Form::parse(body.as_bytes()).expect("form");
    assert!(authorize::validate(&form, Some(&client)).is_ok(), "the valid request was refused");
    for _ in 0..10_000 {
        let at = rng.below(valid.len());
        let mutation = MUTATIONS[rng.below(MUTATIONS.len())];
        let pairs = mutate(&mut rng, &valid, at, mutation);
        let body = form_body(&pairs);
        let (form, repeated) = Form::parse_first(body.as_bytes()).expect("a properly encoded query decodes");
        let state_sent = form.get("state").filter(|_| !repeated.iter().any(|r| r == "state"));
        let verdict = if repeated.is_empty() {
            authorize::validate(&form, Some(&client))
        } else {
            Err(authorize::repeated_parameter(&form, Some(&client), &repeated))
        };
        match verdict {
            Ok(req) => {
                reach.reached(3);
                assert!(client.redirect_uris.contains(&req.redirect_uri), "{body}");
                assert!(req.nonce.is_some() && req.openid, "{body}");
                assert!(
                    scope::parse(&req.scope)
                        .expect("scope")
                        .iter()
                        .all(|s| client.scope.iter().any(|c| c == s))
                );
                let challenge = req.code_challenge.as_ref().expect("a public client's code request has PKCE");
                assert_eq!(challenge.method, CodeChallengeMethod::S256, "{body}");
                assert!(!req.prompt.none || !(req.prompt.login || req.prompt.consent), "{body}");
                assert_eq!(req.state.as_deref(), state_sent, "{body}");
            }
            Err(AuthorizeError::Redirect { redirect_uri, state, .. }) => {
                reach.reached(2);
                assert!(client.redirect_uris.contains(&redirect_uri), "open redirect: {body}");
                assert_eq!(state.as_deref(), state_sent, "{body}");
                assert!(
                    !matches!(valid[at].0, "client_id")
                        || mutation == Mutation::Repeat
                        || mutation == Mutation::Swap
                );
            }
            Err(AuthorizeError::Fatal(_)) => {
                reach.reached(1);
                assert!(
                    matches!(valid[at].0, "client_id" | "redirect_uri"),
                    "fatal for {}: {body}",
                    valid[at].0
                );
            }
        }
    }
    reach.check(10);
}

//! The JWT bearer grant (RFC 7523 2.1): a partner's signed JWT (`assertion`) exchanged for the
//! tenant's tokens. Everything here is the protocol's part: reading the request, the
//! algorithm policy ([`ALLOWED_ALGS`], [`key_fits`]), what the unverified assertion names
//! ([`peek`], to find its issuer and key), the claims of a verified one ([`check_claims`]) and
//! the plan. Verifying the signature (with the JOSE library), fetching the issuer's keys and
//! recording the `jti` are the server's.
//!
//! The policy is strict and fixed rather than per issuer: asymmetric algorithms only (a
//! shared secret would let the tenant forge its partners' assertions), `iss`, `sub`, `aud`,
//! `exp`, `iat` and `jti` all required, a minute of clock skew, an `iat` at most five minutes
//! old and an `exp` at most an hour ahead, so a `jti` is remembered for at most an hour.

use serde_json::Value;

use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::grants::plan::{IssuePlan, RefreshPlan};
use crate::model::{Client, TrustedIssuer, UnixSecs};
use crate::scope;

/// Largest assertion read, in bytes (the whole form is at most 16 KiB).
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// How far clocks may disagree: `exp`, `nbf` and `iat` are read with this much leeway.
pub const CLOCK_SKEW_SECS: i64 = 60;
/// Oldest `iat` accepted: an assertion is for exchanging now, not for keeping.
pub const MAX_ASSERTION_AGE_SECS: i64 = 300;
/// Furthest `exp` accepted, from now: bounds how long a `jti` must be remembered.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;
/// Longest `sub` and `jti`, in bytes.
pub const MAX_CLAIM_BYTES: usize = 255;

/// The JWS algorithms an assertion may be signed with: the asymmetric ones. `none` and the
/// HMAC family are refused: a key the tenant shares could sign for the partner.
pub const ALLOWED_ALGS: [&str; 9] =
    ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

/// The grant-specific fields of a JWT bearer token request (RFC 7523 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The assertion: a compact JWS.
    pub assertion: &'a str,
    /// The requested scope, if any.
    pub scope: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// Reads the fields from a token request whose `grant_type` is the JWT bearer's. A
    /// missing `assertion` is `invalid_request` (RFC 6749 5.2); one that cannot be an
    /// assertion is `invalid_grant` (RFC 7523 3.1).
    pub fn parse(form: &'a Form<'_>) -> Result<Self, OAuthError> {
        let assertion = form.require("assertion")?;
        if assertion.len() > MAX_ASSERTION_BYTES {
            return Err(malformed("the assertion is too large"));
        }
        Ok(Self { assertion, scope: form.get("scope") })
    }
}

/// What an assertion says about itself before its signature is checked: only enough to find
/// its issuer and the key to check it with. Nothing else of it is believed until then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unverified {
    /// The header's `alg`, one of [`ALLOWED_ALGS`].
    pub alg: String,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// The claims' `iss`.
    pub iss: String,
}

fn malformed(why: &str) -> OAuthError {
    OAuthError::new(Reason::AssertionMalformed, format!("the assertion is malformed: {why}"))
}

fn claims_invalid(why: impl Into<String>) -> OAuthError {
    OAuthError::new(Reason::AssertionClaimsInvalid, why)
}

fn json_part(part: &str) -> Result<serde_json::Map<String, Value>, OAuthError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| malformed("a part is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(malformed("a part is not a JSON object")),
    }
}

/// Reads the header and `iss` of `assertion` without verifying it: a compact JWS of three
/// base64url parts, its header naming an allowed `alg` and no `crit` extension (none is
/// understood here, RFC 7515 4.1.11), its claims an object with a string `iss`.
pub fn peek(assertion: &str) -> Result<Unverified, OAuthError> {
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not a compact JWS"));
    };
    let header = json_part(header)?;
    let alg = header.get("alg").and_then(Value::as_str).ok_or_else(|| malformed("no alg"))?;
    if !ALLOWED_ALGS.contains(&alg) {
        return Err(OAuthError::new(
            Reason::AssertionAlgorithmNotAllowed,
            format!("assertions signed with {alg} are not accepted"),
        ));
    }
    if header.contains_key("crit") {
        return Err(malformed("crit names extensions not understood here"));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(malformed("kid is not a string")),
    };
    let iss = json_part(claims)?
        .get("iss")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| claims_invalid("the assertion has no iss"))?;
    Ok(Unverified { alg: alg.to_owned(), kid, iss })
}

/// Whether the JWK `jwk` (a JSON object) may verify a signature made with `alg`: its `kty`
/// (and curve) fit the algorithm, its `alg`, when it names one, is `alg`, and its `use`,
/// when set, is `sig`. The key and the header must agree, so a key published for one
/// algorithm never verifies under another.
pub fn key_fits(jwk: &serde_json::Map<String, Value>, alg: &str) -> bool {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    let family_fits = match (field("kty"), alg) {
        (Some("RSA"), a) => a.starts_with("RS") || a.starts_with("PS"),
        (Some("EC"), "ES256") => field("crv") == Some("P-256"),
        (Some("EC"), "ES384") => field("crv") == Some("P-384"),
        (Some("OKP"), "EdDSA") => field("crv") == Some("Ed25519"),
        _ => false,
    };
    family_fits
        && ALLOWED_ALGS.contains(&alg)
        && field("alg").is_none_or(|a| a == alg)
        && field("use").is_none_or(|u| u == "sig")
}

/// A verified assertion the grant accepts: the tenant's subject for it, and its `jti` with
/// how long it must be remembered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The subject, mapped ([`TrustedIssuer::map_subject`]).
    pub sub: String,
    /// The assertion's `jti`.
    pub jti: String,
    /// Until when a second use of the `jti` must be refused: the last moment the assertion
    /// itself could be accepted (`exp` plus the skew).
    pub remember_until: UnixSecs,
}

fn number(claims: &serde_json::Map<String, Value>, name: &str) -> Result<Option<i64>, OAuthError> {
    match claims.get(name) {
        None => Ok(None),
        // NumericDate may carry a fraction (RFC 7519 2); whole seconds are enough here.
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15).map(|f| f.floor() as i64))
            .map(Some)
            .ok_or_else(|| claims_invalid(format!("{name} is not a NumericDate"))),
        Some(_) => Err(claims_invalid(format!("{name} is not a NumericDate"))),
    }
}

fn short_string<'c>(claims: &'c serde_json::Map<String, Value>, name: &str) -> Result<&'c str, OAuthError> {
    match claims.get(name).and_then(Value::as_str) {
        Some(s) if !s.is_empty() && s.len() <= MAX_CLAIM_BYTES && !s.chars().any(char::is_control) => Ok(s),
        _ => Err(claims_invalid(format!(
            "the assertion needs {name}: a string of 1 to {MAX_CLAIM_BYTES} bytes"
        ))),
    }
}

/// Checks the claims of an assertion whose signature `issuer`'s key verified, at `now`
/// (RFC 7523 3): `iss` is the issuer's, `aud` names one of `audiences` (the tenant's issuer
/// and token endpoint URL, and the issuer's own `audience`), `exp` has not passed and is at
/// most [`MAX_ASSERTION_LIFETIME_SECS`] ahead, `nbf` (if any) has come, `iat` is neither in
/// the future nor older than [`MAX_ASSERTION_AGE_SECS`], `sub` is one the issuer may assert,
/// and `jti` is there, to be recorded as used.
pub fn check_claims(
    claims: &serde_json::Map<String, Value>,
    issuer: &TrustedIssuer,
    audiences: &[&str],
    now: UnixSecs,
) -> Result<Accepted, OAuthError> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.issuer.as_str()) {
        return Err(OAuthError::new(Reason::AssertionIssuerUnknown, "the assertion's iss is not trusted"));
    }
    let aud_fits = |a: &Value| a.as_str().is_some_and(|a| audiences.contains(&a));
    let aud_ok = match claims.get("aud") {
        Some(Value::Array(values)) => values.iter().any(aud_fits),
        Some(value) => aud_fits(value),
        None => false,
    };
    if !aud_ok {
        return Err(claims_invalid("the assertion's aud does not name this authorization server"));
    }
    let exp = number(claims, "exp")?.ok_or_else(|| claims_invalid("the assertion has no exp"))?;
    if now > exp.saturating_add(CLOCK_SKEW_SECS) {
        return Err(claims_invalid("the assertion has expired"));
    }
    if exp > now.saturating_add(MAX_ASSERTION_LIFETIME_SECS) {
        return Err(claims_invalid(format!(
            "the assertion's exp is more than {MAX_ASSERTION_LIFETIME_SECS} seconds ahead"
        )));
    }
    if number(claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(CLOCK_SKEW_SECS)) {
        return Err(claims_invalid("the assertion is not valid yet (nbf)"));
    }
    let iat = number(claims, "iat")?.ok_or_else(|| claims_invalid("the assertion has no iat"))?;
    if iat > now.saturating_add(CLOCK_SKEW_SECS) {
        return Err(claims_invalid("the assertion was issued in the future (iat)"));
    }
    if iat < now.saturating_sub(MAX_ASSERTION_AGE_SECS) {
        return Err(claims_invalid(format!(
            "the assertion was issued more than {MAX_ASSERTION_AGE_SECS} seconds ago (iat)"
        )));
    }
    let sub = short_string(claims, "sub")?;
    if !issuer.allows_subject(sub) {
        return Err(claims_invalid("the issuer may not assert this subject"));
    }
    let jti = short_string(claims, "jti")?;
    Ok(Accepted {
        sub: issuer.map_subject(sub),
        jti: jti.to_owned(),
        remember_until: exp.saturating_add(CLOCK_SKEW_SECS),
    })
}

/// The key under which the store remembers the assertion `jti` of `iss`: SHA-256 of the two,
/// apart, so a key is bounded whatever the claims and one issuer's `jti` is never another's.
pub fn assertion_digest(iss: &str, jti: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update((iss.len() as u64).to_be_bytes());
    hash.update(iss.as_bytes());
    hash.update(jti.as_bytes());
    hash.finalize().into()
}

/// The refusal of an assertion whose `jti` was already exchanged.
pub fn replayed() -> OAuthError {
    OAuthError::new(Reason::AssertionReplayed, "the assertion was already used")
}

/// Plans the tokens for an accepted assertion of `issuer`: an access token for the mapped
/// subject within the scope the client registered (requested or, when none was, all of
/// it). No ID token (no one signed in here) and no refresh token: the partner vouches for
/// the subject per assertion, and a new assertion is cheap for it to make (RFC 7523 does
/// not ask for one). The token names the issuer as what vouched for the subject (the
/// `validator` marker identity validators set): the subject need not be a local user.
pub fn plan(
    req: &Request<'_>,
    client: &Client,
    issuer: &TrustedIssuer,
    accepted: Accepted,
    jti: String,
) -> Result<IssuePlan, OAuthError> {
    Ok(IssuePlan {
        sub: accepted.sub,
        scope: scope::grant(req.scope, &client.scope)?,
        target: None,
        jti,
        refresh: RefreshPlan::None,
        id_token: None,
        entitlements: crate::rbac::none(),
        extra_info: None,
        validator: Some(issuer.id.clone()),
        direct: None,
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use serde_json::json;

    use super::*;
    use crate::error::ErrorCode;
    use crate::model::{sample_client, sample_trusted_issuer};

    const NOW: i64 = 1_700_000_000;
    const AUD: [&str; 2] = ["https://id.example/t/a", "https://id.example/t/a/token"];

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn claims() -> serde_json::Map<String, Value> {
        let v = json!({"iss": "https://partner.example", "sub": "u1", "aud": AUD[0],
            "exp": NOW + 60, "iat": NOW, "jti": "j1"});
        match v {
            Value::Object(o) => o,
            _ => unreachable!(),
        }
    }

    fn check(c: &serde_json::Map<String, Value>) -> Result<Accepted, Reason> {
        check_claims(c, &sample_trusted_issuer(), &AUD, NOW).map_err(|e| e.reason)
    }

    fn with(name: &str, value: Value) -> serde_json::Map<String, Value> {
        let mut c = claims();
        c.insert(name.into(), value);
        c
    }

    fn without(name: &str) -> serde_json::Map<String, Value> {
        let mut c = claims();
        c.remove(name);
        c
    }

    #[test]
    fn a_good_assertion_is_accepted_and_remembered_until_it_could_no_longer_be() {
        let ok = check(&claims()).expect("accepted");
        assert_eq!(ok, Accepted { sub: "u1".into(), jti: "j1".into(), remember_until: NOW + 120 });
        assert!(check(&with("aud", json!(["x", AUD[1]]))).is_ok(), "the token endpoint, in a list");
        assert!(check(&with("nbf", json!(NOW))).is_ok());
        assert!(check(&with("exp", json!(NOW - 30))).is_ok(), "within the skew");
        assert!(check(&with("iat", json!((NOW as f64) + 0.5))).is_ok(), "a fractional NumericDate");
    }

    #[test]
    fn every_required_claim_is_required() {
        for name in ["aud", "exp", "iat", "sub", "jti"] {
            assert_eq!(check(&without(name)), Err(Reason::AssertionClaimsInvalid), "{name}");
        }
        assert_eq!(check(&without("iss")), Err(Reason::AssertionIssuerUnknown));
        assert_eq!(check(&with("iss", json!("https://other.example"))), Err(Reason::AssertionIssuerUnknown));
    }

    #[test]
    fn time_claims_are_held_to_their_windows() {
        let refused = |name: &str, value: i64| check(&with(name, json!(value))).is_err();
        assert!(refused("exp", NOW - CLOCK_SKEW_SECS - 1), "expired");
        assert!(refused("exp", NOW + MAX_ASSERTION_LIFETIME_SECS + 1), "too long-lived");
        assert!(refused("nbf", NOW + CLOCK_SKEW_SECS + 1), "not yet");
        assert!(refused("iat", NOW + CLOCK_SKEW_SECS + 1), "issued in the future");
        assert!(refused("iat", NOW - MAX_ASSERTION_AGE_SECS - 1), "too old");
        assert!(check(&with("exp", json!("soon"))).is_err(), "not a number");
    }

    #[test]
    fn audiences_and_subjects_are_held_to_the_issuer() {
        assert_eq!(check(&with("aud", json!("https://elsewhere"))), Err(Reason::AssertionClaimsInvalid));
        assert_eq!(check(&with("aud", json!(["https://elsewhere"]))), Err(Reason::AssertionClaimsInvalid));
        let mut issuer = sample_trusted_issuer();
        issuer.allowed_subjects = Some("svc-*".into());
        issuer.subject_prefix = Some("acme".into());
        issuer.audience = Some("partner-aud".into());
        let c = with("sub", json!("svc-7"));
        let ok = check_claims(&c, &issuer, &AUD, NOW).expect("allowed");
        assert_eq!(ok.sub, "acme:svc-7");
        assert!(check_claims(&claims(), &issuer, &AUD, NOW).is_err(), "u1 is not svc-*");
        assert!(check(&with("sub", json!(""))).is_err());
        assert!(check(&with("jti", json!("x".repeat(MAX_CLAIM_BYTES + 1)))).is_err());
    }

    #[test]
    fn peek_finds_the_issuer_and_refuses_none_and_hmac() {
        let token = |header: Value| format!("{}.{}.sig", b64(&header), b64(&Value::Object(claims())));
        let seen = peek(&token(json!({"alg": "ES256", "kid": "k1"}))).expect("peek");
        assert_eq!(
            seen,
            Unverified { alg: "ES256".into(), kid: Some("k1".into()), iss: "https://partner.example".into() }
        );
        for alg in ["none", "HS256", "HS512", "RSA1_5", "ES512"] {
            let err = peek(&token(json!({ "alg": alg }))).expect_err(alg);
            assert_eq!(err.reason, Reason::AssertionAlgorithmNotAllowed, "{alg}");
            assert_eq!(err.code(), ErrorCode::InvalidGrant);
        }
        assert_eq!(
            peek(&token(json!({"alg": "ES256", "crit": ["x"]}))).map_err(|e| e.reason),
            Err(Reason::AssertionMalformed)
        );
        for bad in ["", "a.b", "a.b.c.d", "!!.!!.x", &format!("{}.e30.x", b64(&json!([1])))] {
            assert_eq!(peek(bad).map_err(|e| e.code()), Err(ErrorCode::InvalidGrant), "{bad:?}");
        }
    }

    #[test]
    fn keys_must_fit_the_algorithm() {
        let key = |v: Value| match v {
            Value::Object(o) => o,
            _ => unreachable!(),
        };
        assert!(key_fits(&key(json!({"kty": "EC", "crv": "P-256"})), "ES256"));
        assert!(!key_fits(&key(json!({"kty": "EC", "crv": "P-256"})), "ES384"));
        assert!(!key_fits(&key(json!({"kty": "EC", "crv": "P-256", "alg": "ES384"})), "ES256"));
        assert!(key_fits(&key(json!({"kty": "RSA", "alg": "PS256"})), "PS256"));
        assert!(!key_fits(&key(json!({"kty": "RSA", "alg": "RS256"})), "PS256"));
        assert!(!key_fits(&key(json!({"kty": "RSA", "use": "enc"})), "RS256"));
        assert!(!key_fits(&key(json!({"kty": "oct"})), "HS256"));
        assert!(key_fits(&key(json!({"kty": "OKP", "crv": "Ed25519"})), "EdDSA"));
    }

    #[test]
    fn requests_need_an_assertion_and_plans_name_the_issuer() {
        let parse = |b: &str| {
            let b = b.to_owned();
            Form::parse(b.as_bytes()).and_then(|f| Request::parse(&f).map(|_| ())).map_err(|e| e.code())
        };
        assert_eq!(parse("grant_type=x"), Err(ErrorCode::InvalidRequest));
        assert!(parse("grant_type=x&assertion=a.b.c").is_ok());
        let big = format!("grant_type=x&assertion={}", "a".repeat(MAX_ASSERTION_BYTES + 1));
        assert_eq!(parse(&big), Err(ErrorCode::InvalidGrant));
        let req = Request { assertion: "a", scope: Some("read") };
        let accepted = Accepted { sub: "acme:u1".into(), jti: "j1".into(), remember_until: 0 };
        let issuer = sample_trusted_issuer();
        let p = plan(&req, &sample_client(), &issuer, accepted.clone(), "t".into()).expect("plan");
        assert_eq!(
            (p.sub.as_str(), p.scope.as_str(), p.validator.as_deref()),
            ("acme:u1", "read", Some("partner1"))
        );
        assert_eq!((p.refresh, p.id_token), (RefreshPlan::None, None));
        let wider = Request { scope: Some("admin"), ..req };
        assert!(plan(&wider, &sample_client(), &issuer, accepted, "t".into()).is_err());
    }
}

//! The JWT bearer grant (RFC 7523 2.1): finds the assertion's trusted issuer by its `iss`,
//! verifies its signature with the issuer's keys (`crate::identity::jwks`, fetched again when
//! the `kid` is unknown) through the JOSE library, checks its claims
//! (`tessera_core::grants::jwt_bearer::check_claims`), and records its `jti` as used in the
//! store before any token is planned: of two uses of one assertion, on any node, one wins.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind, jwk::Jwk};
use serde_json::{Map, Value};
use tessera_core::error::{OAuthError, Reason};
use tessera_core::grants::jwt_bearer::{self, Request, Unverified};
use tessera_core::grants::plan::IssuePlan;
use tessera_core::model::{Client, TrustedIssuer, UnixSecs};

use crate::app::{App, TenantCx};
use crate::http::respond::store_error;
use crate::identity::jwks::{self, KeysError};

/// The plan for a JWT bearer request whose assertion verifies and was not used before.
pub async fn plan(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    req: Request<'_>,
    now: UnixSecs,
) -> Result<IssuePlan, OAuthError> {
    let seen = jwt_bearer::peek(req.assertion)?;
    let issuer = cx.tenant.trusted_issuer(&seen.iss).ok_or_else(|| {
        OAuthError::new(Reason::AssertionIssuerUnknown, "the assertion's issuer is not trusted")
    })?;
    let claims = verified_claims(app, issuer, &seen, req.assertion).await?;
    let token_endpoint = format!("{}/token", cx.issuer);
    let mut audiences = vec![cx.issuer.as_str(), token_endpoint.as_str()];
    audiences.extend(issuer.audience.as_deref());
    let accepted = jwt_bearer::check_claims(&claims, issuer, &audiences, now)?;
    let digest = jwt_bearer::assertion_digest(&issuer.issuer, &accepted.jti);
    let until = accepted.remember_until;
    // Planned first, so a request the plan refuses (a scope beyond the client's) does not use
    // the assertion up.
    let plan = jwt_bearer::plan(&req, client, issuer, accepted, super::fresh_jti()?)?;
    let first = app.store.use_assertion(&cx.tenant.id, &digest, until).await;
    if !first.map_err(store_error)? {
        tracing::info!(tenant = %cx.tenant.id, issuer = %issuer.id, "JWT bearer assertion replayed");
        return Err(jwt_bearer::replayed());
    }
    Ok(plan)
}

/// The assertion's claims, once a key of `issuer` verified its signature: the keys with its
/// `kid` (all of them when it names none) that fit its algorithm, tried in turn. A `kid` the
/// cached set lacks fetches the set again (`IssuerKeys::keys`).
async fn verified_claims(
    app: &App,
    issuer: &TrustedIssuer,
    seen: &Unverified,
    assertion: &str,
) -> Result<Map<String, Value>, OAuthError> {
    let keys =
        app.issuer_keys.keys(&app.validators, issuer, seen.kid.as_deref()).await.map_err(|e| match e {
            KeysError::Unreachable(_) => OAuthError::new(
                Reason::IssuerKeysUnavailable,
                "the issuer's keys cannot be fetched now; try again later",
            ),
            KeysError::Malformed => {
                OAuthError::new(Reason::IssuerKeysUnavailable, "the issuer's keys are not usable now")
            }
        })?;
    if !jwks::has_kid(&keys, seen.kid.as_deref()) {
        return Err(OAuthError::new(
            Reason::AssertionSignatureInvalid,
            "no key of the issuer has the assertion's kid",
        ));
    }
    let alg: Algorithm = seen.alg.parse().map_err(|_| {
        OAuthError::new(Reason::AssertionAlgorithmNotAllowed, "the algorithm is not accepted")
    })?;
    let mut validation = Validation::new(alg);
    // Every claim is checked by `check_claims`, with the grant's own windows and messages.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    let candidates = keys.iter().filter(|k| {
        seen.kid.as_deref().is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid))
            && jwt_bearer::key_fits(k, &seen.alg)
    });
    let mut fitted = false;
    for candidate in candidates {
        let Ok(jwk) = serde_json::from_value::<Jwk>(Value::Object(candidate.clone())) else { continue };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else { continue };
        fitted = true;
        match jsonwebtoken::decode::<Map<String, Value>>(assertion, &key, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm) => {}
            Err(e) => {
                return Err(OAuthError::new(
                    Reason::AssertionMalformed,
                    format!("the assertion is malformed: {}", describe(e.kind())),
                ));
            }
        }
    }
    Err(if fitted {
        OAuthError::new(Reason::AssertionSignatureInvalid, "the assertion's signature does not verify")
    } else {
        OAuthError::new(
            Reason::AssertionAlgorithmNotAllowed,
            "no key of the issuer is for the assertion's alg",
        )
    })
}

/// What went wrong, in words that carry nothing of the assertion.
fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidToken => "not a JWT",
        ErrorKind::Base64(_) => "not base64url",
        ErrorKind::Json(_) => "not JSON",
        ErrorKind::Utf8(_) => "not UTF-8",
        _ => "unreadable",
    }
}

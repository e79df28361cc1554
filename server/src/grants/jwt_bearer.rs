//! The JWT bearer grant (RFC 7523 2.1): finds the assertion's trusted issuer by its `iss`,
//! verifies its signature with the issuer's keys (`crate::identity::jwks`, fetched again when
//! the `kid` is unknown) through the JOSE library, checks its claims
//! (`tessera_core::grants::jwt_bearer::check_claims`), and records its `jti` as used in the
//! store before any token is planned: of two uses of one assertion, on any node, one wins.

use serde_json::{Map, Value};
use tessera_core::error::{OAuthError, Reason};
use tessera_core::grants::jwt_bearer::{self, Request, Unverified};
use tessera_core::grants::plan::IssuePlan;
use tessera_core::model::{Client, TrustedIssuer, UnixSecs};

use crate::app::{App, TenantCx};
use crate::http::respond::store_error;
use crate::identity::jwks::KeysError;
use crate::identity::jws::{self, JwsError};

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

/// The assertion's claims, once a key of `issuer` verified its signature
/// (`crate::identity::jws`). A `kid` the cached set lacks fetches the set again
/// (`IssuerKeys::keys`).
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
    jws::verify(&keys, assertion, &seen.alg, seen.kid.as_deref()).map_err(|e| match e {
        JwsError::UnknownKid => {
            OAuthError::new(Reason::AssertionSignatureInvalid, "no key of the issuer has the assertion's kid")
        }
        JwsError::Algorithm => OAuthError::new(
            Reason::AssertionAlgorithmNotAllowed,
            "no key of the issuer is for the assertion's alg",
        ),
        JwsError::Signature => {
            OAuthError::new(Reason::AssertionSignatureInvalid, "the assertion's signature does not verify")
        }
        JwsError::Malformed(why) => {
            OAuthError::new(Reason::AssertionMalformed, format!("the assertion is malformed: {why}"))
        }
    })
}

//! Protocol endpoints under `/t/{tenant}`, one file each, and what they share: client
//! authentication and the verification of the tenant's own JWTs. Store, signer and randomness
//! failures become OAuth errors in `http::respond`, with every other error mapping.

pub mod discovery;
pub mod introspect;
pub mod jwks;
pub mod revoke;
pub mod token;
pub mod userinfo;

use std::borrow::Cow;
use std::sync::Arc;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use tessera_core::error::{OAuthError, Reason};
use tessera_core::form::Form;
use tessera_core::jwt::{self, AccessTokenClaims};
use tessera_core::model::Client;
use tessera_core::{client_auth, secret};

use crate::app::{App, TenantCx, VerifiedJwt};
use crate::http::respond::store_error;

/// Authenticates the client of a token, introspection or revocation request.
pub async fn authenticate_client(
    app: &App,
    cx: &TenantCx,
    headers: &HeaderMap,
    form: &Form<'_>,
) -> Result<Arc<Client>, OAuthError> {
    let presented = client_auth::extract(headers.get(AUTHORIZATION).map(|v| v.as_bytes()), form)?;
    let client = app.store.client(&cx.tenant.id, presented.client_id()).await.map_err(store_error)?;
    client_auth::authenticate(&presented, client.as_deref())?;
    client.ok_or_else(|| OAuthError::new(Reason::UnknownClient, "client authentication failed"))
}

/// The `kid` and claims of a compact JWS with header `typ` whose signature verifies with one of
/// the tenant's published keys; `None` for anything else. Claims other than the signature
/// (issuer, expiry) are the caller's to check.
pub fn verified_jws<C: serde::de::DeserializeOwned>(
    app: &App,
    cx: &TenantCx,
    token: &str,
    typ: &str,
) -> Option<(String, C)> {
    let keys = app.keys.get(&cx.tenant.id)?;
    let parsed = jwt::parse(token)?;
    let kid = parsed.header.kid.as_deref()?;
    parsed.header.check(typ, keys.alg_of(kid)?).ok()?;
    match app.signer.verify(&cx.tenant.id, kid, parsed.signing_input.as_bytes(), &parsed.signature) {
        Ok(true) => {}
        Ok(false) => return None,
        Err(err) => {
            tracing::warn!(%err, "verification failed");
            return None;
        }
    }
    let claims = serde_json::from_slice(&parsed.payload).ok()?;
    Some((kid.to_owned(), claims))
}

/// The signed JWT of a self-contained access token as presented: the token itself when it is a
/// compact JWS, or the JWS inside when it is a JWE the tenant's shared key opens (the direct
/// authorisation API's encrypted tokens, `direct_authz::jwe`); `None` for anything else (an
/// opaque token, a JWE of another key). The JWS still has to verify.
pub fn self_contained<'a>(app: &App, cx: &TenantCx, token: &'a str) -> Option<Cow<'a, str>> {
    if jwt::looks_like_jws(token) {
        return Some(Cow::Borrowed(token));
    }
    let stored = cx.tenant.direct_authz_encryption.as_ref()?;
    if !crate::direct_authz::jwe::looks_like_jwe(token) {
        return None;
    }
    let key = match crate::direct_authz::shared_key::open(&app.shared_keys, &cx.tenant.id, stored) {
        Ok(key) => key,
        Err(err) => {
            tracing::error!(%err, tenant = %cx.tenant.id, "the tenant's shared key does not open");
            return None;
        }
    };
    crate::direct_authz::jwe::decrypt(&key, token).map(Cow::Owned)
}

/// The claims of a JWT access token this tenant signed, if its signature verifies with one of
/// the tenant's published keys; `None` for anything else (another tenant's token, a forgery,
/// an ID token). Verified tokens are remembered, so a token introspected again costs a lookup.
pub fn verified_access_token(app: &App, cx: &TenantCx, token: &str) -> Option<AccessTokenClaims> {
    let keys = app.keys.get(&cx.tenant.id)?;
    let digest = secret::digest(token);
    let hit = app.verified_jwts.get(&digest).filter(|hit| hit.tenant == cx.tenant.id && keys.has(&hit.kid));
    app.metrics.verified_jwts.count(hit.is_some());
    if let Some(hit) = hit {
        return Some(hit.claims.clone());
    }
    let (kid, claims) = verified_jws::<AccessTokenClaims>(app, cx, token, jwt::ACCESS_TOKEN_TYP)?;
    if claims.iss != cx.issuer {
        return None;
    }
    let verified = VerifiedJwt { tenant: cx.tenant.id.clone(), kid, claims: claims.clone() };
    app.verified_jwts.insert(digest, Arc::new(verified));
    Some(claims)
}

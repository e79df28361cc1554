//! `GET|POST /t/{tenant}/userinfo` (OpenID Connect Core 5.3): the end-user's claims for an
//! access token granted `openid`, as the token's scope releases them (Core 5.4). The token
//! comes as a Bearer header, or as the `access_token` field of a form POST (RFC 6750 2.1, 2.2);
//! failures answer with the RFC 6750 3 `WWW-Authenticate` challenge. A direct authorisation's
//! token also releases the claims it names and its preset ones
//! (`tessera_core::direct_authz::userinfo`), and one whose subject the broker vouched for (no
//! local user) answers with those alone.

use std::sync::Arc;

use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};
use tessera_core::direct_authz::{self, BROKER_VALIDATOR, UserinfoRelease};
use tessera_core::error::{ErrorCode, OAuthError, Reason};
use tessera_core::form::Form;
use tessera_core::store::{JwtStatus, Subject};
use tessera_core::{introspection, rbac, scope, secret, userinfo};

use super::{self_contained, verified_access_token};
use crate::app::{App, TenantCx};
use crate::http::respond::{Resp, json_no_store, oauth_error, status_of, store_error};
use crate::tokens;
use crate::util::now;
use crate::{end_users, entitlements};

/// What a bearer token grants, once it checked out.
struct Grant {
    sub: String,
    client_id: String,
    scope: String,
    /// When the access token was issued: a user disabled since then no longer answers to it.
    iat: i64,
    /// Who vouched for a subject that is no local user.
    validator: Option<String>,
    /// What a direct authorisation releases beyond the scope.
    release: UserinfoRelease,
}

/// Handles a userinfo request. `body` is the form body of a POST (empty for GET).
pub async fn handle(app: &App, cx: &TenantCx, headers: &HeaderMap, body: Option<&[u8]>) -> Resp {
    match claims(app, cx, headers, body).await {
        Ok(claims) => json_no_store(StatusCode::OK, &claims),
        Err(Some(err)) => bearer_error(&err),
        // RFC 6750 3.1: a request without any credentials gets the bare challenge.
        Err(None) => {
            let mut resp = json_no_store(StatusCode::UNAUTHORIZED, &serde_json::json!({}));
            resp.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"tessera\""));
            resp
        }
    }
}

async fn claims(
    app: &App,
    cx: &TenantCx,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<serde_json::Map<String, serde_json::Value>, Option<OAuthError>> {
    let token = bearer_token(headers, body)?;
    let invalid =
        || Some(OAuthError::new(Reason::AccessTokenInvalid, "the access token is invalid or expired"));
    let grant = live_grant(app, cx, &token).await.map_err(Some)?.ok_or_else(invalid)?;
    if !scope::contains(&grant.scope, scope::OPENID) {
        return Err(Some(OAuthError::new(
            Reason::OpenidScopeNotGranted,
            "the access token was not granted the openid scope",
        )));
    }
    // A token of the client credentials grant names the client, not a user: it has no claims.
    if !introspection::names_end_user(&grant.sub, &grant.client_id) {
        return Err(invalid());
    }
    // A subject the direct authorisation API's broker vouched for has no local record: its
    // claims are what the broker preset, whatever local user may share its id.
    if grant.validator.as_deref() == Some(BROKER_VALIDATOR) {
        return Ok(direct_authz::userinfo::claims(&grant.sub, None, &grant.scope, &grant.release));
    }
    // A deleted or disabled user's token is refused like an invalid one (as at introspection).
    let user = end_users::holder(app, &cx.tenant.id, &grant.sub, grant.iat).await;
    let user = user.map_err(|e| Some(store_error(e)))?.ok_or_else(invalid)?;
    let mut claims = if grant.release.is_empty() {
        userinfo::claims(&user, &grant.scope)
    } else {
        direct_authz::userinfo::claims(&grant.sub, Some(&user), &grant.scope, &grant.release)
    };
    if scope::contains(&grant.scope, rbac::ROLES_SCOPE) {
        // The user's roles now, like every other claim here.
        let held = entitlements::of(app, &cx.tenant.id, Subject::User(&user.id)).await;
        let held = held.map_err(|e| Some(store_error(e)))?;
        if let Some(roles) = rbac::roles_claim(&grant.scope, &held) {
            claims.insert("roles".into(), roles);
        }
    }
    Ok(claims)
}

/// The bearer token of the request: from `Authorization: Bearer`, or the `access_token` field
/// of a form body, never both (RFC 6750 2). `Err(None)` when the request carries none.
fn bearer_token(headers: &HeaderMap, body: Option<&[u8]>) -> Result<String, Option<OAuthError>> {
    let header = match headers.get(AUTHORIZATION) {
        Some(value) => {
            let value = value.to_str().map_err(|_| malformed("the Authorization header is not ASCII"))?;
            let (scheme, token) =
                value.split_once(' ').ok_or_else(|| malformed("malformed Authorization header"))?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(None);
            }
            let token = token.trim();
            if token.is_empty() {
                return Err(Some(malformed_error("the bearer token is empty")));
            }
            Some(token.to_owned())
        }
        None => None,
    };
    let form = match body.filter(|b| !b.is_empty()) {
        Some(body) => Form::parse(body).map_err(Some)?.get("access_token").map(str::to_owned),
        None => None,
    };
    match (header, form) {
        (Some(_), Some(_)) => Err(Some(malformed_error("send the access token in one place only"))),
        (Some(token), None) | (None, Some(token)) => Ok(token),
        (None, None) => Err(None),
    }
}

fn malformed_error(detail: &str) -> OAuthError {
    OAuthError::new(Reason::MalformedParameter, detail)
}

fn malformed(detail: &str) -> Option<OAuthError> {
    Some(malformed_error(detail))
}

/// The grant behind a live access token of this tenant: a JWT it signed, or an opaque token it
/// stored, neither expired nor revoked, issued to a client that still honours it (registered
/// then and now, not cut off since: `tokens::client_honours`).
async fn live_grant(app: &App, cx: &TenantCx, token: &str) -> Result<Option<Grant>, OAuthError> {
    let now = now();
    let tenant = &cx.tenant.id;
    let (grant, jti, iat) = if let Some(jws) = self_contained(app, cx, token) {
        let Some(claims) = verified_access_token(app, cx, &jws) else {
            return Ok(None);
        };
        if claims.iss != cx.issuer || claims.exp <= now {
            return Ok(None);
        }
        let iat = claims.iat;
        let grant = Grant {
            sub: claims.sub,
            client_id: claims.client_id,
            scope: claims.scope,
            iat,
            validator: claims.validator,
            release: UserinfoRelease { claims: claims.cls, preset: claims.uip },
        };
        (grant, claims.jti, iat)
    } else {
        let Some(stored) =
            app.shards.opaque_token(tenant, &secret::digest(token)).await.map_err(store_error)?
        else {
            return Ok(None);
        };
        if stored.tenant != *tenant || stored.exp <= now {
            return Ok(None);
        }
        let stored = Arc::unwrap_or_clone(stored);
        let iat = stored.iat;
        // The preset claims were written as a JSON object; anything else is no preset.
        let preset = stored.uip.and_then(|text| serde_json::from_str(&text).ok());
        let grant = Grant {
            sub: stored.sub,
            client_id: stored.client_id,
            scope: stored.scope,
            iat,
            validator: stored.validator,
            release: UserinfoRelease { claims: stored.cls, preset },
        };
        (grant, stored.jti, iat)
    };
    if app.store.jwt_status(tenant, &jti).await.map_err(store_error)? == JwtStatus::Revoked {
        return Ok(None);
    }
    let honoured = tokens::client_honours(app, cx, &grant.client_id, iat).await.map_err(store_error)?;
    Ok(honoured.then_some(grant))
}

/// An RFC 6750 3.1 error: the status of its code, and the challenge naming it.
fn bearer_error(err: &OAuthError) -> Resp {
    let code = err.code();
    if !matches!(code, ErrorCode::InvalidToken | ErrorCode::InsufficientScope | ErrorCode::InvalidRequest) {
        return oauth_error(err);
    }
    let mut resp = json_no_store(
        status_of(code),
        &serde_json::json!({
            "error": code.as_str(),
            "error_description": err.description,
        }),
    );
    // Descriptions are fixed ASCII text written above, without quotes or backslashes.
    let mut challenge = format!("Bearer realm=\"tessera\", error=\"{}\"", code.as_str());
    if code == ErrorCode::InsufficientScope {
        challenge.push_str(", scope=\"openid\"");
    }
    challenge.push_str(&format!(", error_description=\"{}\"", err.description.replace(['"', '\\'], "'")));
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    resp
}

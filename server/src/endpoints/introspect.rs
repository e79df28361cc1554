//! `POST /t/{tenant}/introspect` (RFC 7662). Only confidential clients of the tenant may ask;
//! a token is active only if this tenant issued it, it is neither expired nor revoked, and the
//! client and the end-user it was issued for still exist (the end-user neither disabled nor
//! disabled since the token was issued: `end_users::holder`).
//! Opaque tokens are looked up in the tenant shards' memory (`actors`); the rest is read from
//! the caches and the store.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tessera_core::error::{OAuthError, Reason};
use tessera_core::form::Form;
use tessera_core::introspection::{self, IntrospectionResponse};
use tessera_core::model::TokenEndpointAuthMethod;
use tessera_core::store::{FamilyStatus, FoundRefresh, JwtStatus};
use tessera_core::{jwt, secret};

use super::{authenticate_client, verified_access_token};
use crate::app::{App, TenantCx};
use crate::end_users;
use crate::http::respond::{Resp, json_no_store, oauth_error, store_error};
use crate::util::now;

/// Handles an introspection request.
pub async fn handle(app: &App, cx: TenantCx, headers: &HeaderMap, body: Bytes) -> Resp {
    match introspect(app, &cx, headers, &body).await {
        Ok(resp) => json_no_store(StatusCode::OK, &resp),
        Err(err) => oauth_error(&err),
    }
}

async fn introspect(
    app: &App,
    cx: &TenantCx,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<IntrospectionResponse, OAuthError> {
    let form = Form::parse(body)?;
    let client = authenticate_client(app, cx, headers, &form).await?;
    if client.token_endpoint_auth_method == TokenEndpointAuthMethod::None {
        return Err(OAuthError::new(
            Reason::ClientAuthMethodNotAllowed,
            "introspection requires a confidential client",
        ));
    }
    let request = introspection::parse(&form)?;
    let now = now();
    if jwt::looks_like_jws(request.token) {
        let Some(claims) = verified_access_token(app, cx, request.token) else {
            return Ok(IntrospectionResponse::inactive());
        };
        let revoked = app.store.jwt_status(&cx.tenant.id, &claims.jti).await.map_err(store_error)?
            == JwtStatus::Revoked
            || !issued_to_registered_client(app, cx, &claims.client_id, claims.iat).await?
            || !subject_stands(app, cx, &claims.sub, &claims.client_id, claims.iat).await?;
        return Ok(IntrospectionResponse::for_jwt(claims, &cx.issuer, revoked, now));
    }
    let digest = secret::digest(request.token);
    match app.shards.opaque_token(&cx.tenant.id, &digest).await.map_err(store_error)? {
        // An opaque token's `jti` is on the deny list when the code it came from was replayed.
        Some(token)
            if token.tenant == cx.tenant.id
                && app.store.jwt_status(&cx.tenant.id, &token.jti).await.map_err(store_error)?
                    == JwtStatus::NotRevoked
                && issued_to_registered_client(app, cx, &token.client_id, token.iat).await?
                && subject_stands(app, cx, &token.sub, &token.client_id, token.iat).await? =>
        {
            Ok(IntrospectionResponse::for_opaque(Arc::unwrap_or_clone(token), &cx.issuer, now))
        }
        Some(_) => Ok(IntrospectionResponse::inactive()),
        None => introspect_refresh_token(app, cx, &client.client_id, &digest, now).await,
    }
}

/// A refresh token is described only to the client it was issued to: resource servers have no
/// business with refresh tokens, and answering them would tell who holds which grant.
async fn introspect_refresh_token(
    app: &App,
    cx: &TenantCx,
    asking_client: &str,
    digest: &[u8; 32],
    now: i64,
) -> Result<IntrospectionResponse, OAuthError> {
    match app.store.refresh_token(&cx.tenant.id, digest, now).await.map_err(store_error)? {
        Some(FoundRefresh { token, family: FamilyStatus::Live })
            if token.client_id == asking_client
                && token.rotated_at.is_none()
                && issued_to_registered_client(app, cx, &token.client_id, token.issued_at).await?
                && subject_stands(app, cx, &token.auth.sub, &token.client_id, token.auth.auth_time)
                    .await? =>
        {
            Ok(IntrospectionResponse::for_refresh_token(token, &cx.issuer))
        }
        _ => Ok(IntrospectionResponse::inactive()),
    }
}

/// Whether the client a token was issued to is still registered, and was already registered
/// when the token was issued: deleting a client invalidates its tokens (RFC 7592 2.3), and a
/// client registered again under the same id does not inherit them.
async fn issued_to_registered_client(
    app: &App,
    cx: &TenantCx,
    client_id: &str,
    iat: i64,
) -> Result<bool, OAuthError> {
    let client = app.store.client(&cx.tenant.id, client_id).await.map_err(store_error)?;
    Ok(client.is_some_and(|c| c.created_at <= iat))
}

/// Whether the subject of a token still stands: an end-user must exist, not be disabled, and
/// not have been disabled since `began_at` (deleting or disabling a user ends what they
/// granted, as userinfo and the refresh grant also hold); a client credentials token's subject
/// is its client, which [`issued_to_registered_client`] checks.
async fn subject_stands(
    app: &App,
    cx: &TenantCx,
    sub: &str,
    client_id: &str,
    began_at: i64,
) -> Result<bool, OAuthError> {
    if !introspection::names_end_user(sub, client_id) {
        return Ok(true);
    }
    Ok(end_users::holder(app, &cx.tenant.id, sub, began_at).await.map_err(store_error)?.is_some())
}

//! `POST /t/{tenant}/revoke` (RFC 7009). An opaque token is deleted; a JWT goes on the deny
//! list until it expires; a refresh token's family is revoked. Unknown or invalid tokens answer
//! 200 as the RFC says. Each write is durable before the answer; access-token writes go through
//! the tenant shard that owns the token.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tessera_core::error::OAuthError;
use tessera_core::form::Form;
use tessera_core::model::Revocation;
use tessera_core::revocation::{self, not_your_token};
use tessera_core::store::{FamilyStatus, FoundRefresh};
use tessera_core::{jwt, secret};

use super::{authenticate_client, verified_access_token};
use crate::actors::TokenWrite;
use crate::app::{App, TenantCx};
use crate::http::respond::{Resp, empty, oauth_error, store_error};
use crate::util::now;

/// Handles a revocation request.
pub async fn handle(app: &App, cx: TenantCx, headers: &HeaderMap, body: Bytes) -> Resp {
    match revoke(app, &cx, headers, &body).await {
        Ok(()) => empty(StatusCode::OK),
        Err(err) => oauth_error(&err),
    }
}

async fn revoke(app: &App, cx: &TenantCx, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let form = Form::parse(body)?;
    let client = authenticate_client(app, cx, headers, &form).await?;
    let request = revocation::parse(&form)?;
    let tenant = &cx.tenant.id;
    if jwt::looks_like_jws(request.token) {
        let Some(claims) = verified_access_token(app, cx, request.token) else {
            return Ok(());
        };
        if claims.client_id != client.client_id {
            return Err(not_your_token());
        }
        if claims.exp <= now() {
            return Ok(());
        }
        let revocation = Revocation { tenant: tenant.clone(), jti: claims.jti, exp: claims.exp };
        let key = revocation.jti.clone();
        return app
            .shards
            .write(tenant, key.as_bytes(), TokenWrite::RevokeJwt(revocation))
            .await
            .map_err(store_error);
    }
    let digest = secret::digest(request.token);
    match app.shards.opaque_token(tenant, &digest).await.map_err(store_error)? {
        Some(token) if token.client_id != client.client_id => Err(not_your_token()),
        Some(_) => {
            app.shards.write(tenant, &digest, TokenWrite::RevokeOpaque { digest }).await.map_err(store_error)
        }
        None => revoke_refresh_token(app, tenant, &client.client_id, &digest).await,
    }
}

/// Revoking a refresh token revokes its whole family: the grant ends (RFC 7009 2.1). Access
/// tokens already issued from it live out their short lifetime.
async fn revoke_refresh_token(
    app: &App,
    tenant: &str,
    client_id: &str,
    digest: &[u8; 32],
) -> Result<(), OAuthError> {
    match app.store.refresh_token(tenant, digest, now()).await.map_err(store_error)? {
        Some(found) if found.token.client_id != client_id => Err(not_your_token()),
        Some(FoundRefresh { token, family: FamilyStatus::Live }) => app
            .store
            .revoke_refresh_family(tenant, &token.family, token.expires_at)
            .await
            .map_err(store_error),
        Some(FoundRefresh { family: FamilyStatus::Revoked, .. }) | None => Ok(()),
    }
}

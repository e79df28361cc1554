//! `POST /t/{tenant}/revoke` (RFC 7009). A client revokes its own tokens: an opaque token is
//! deleted; a JWT goes on the deny list until it expires; a refresh token's family is revoked
//! (`tokens::revoke`, which the operator's admin tool shares). Unknown or invalid tokens answer
//! 200 as the RFC says. Each write is durable before the answer; access-token writes go through
//! the tenant shard that owns the token.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tessera_core::error::OAuthError;
use tessera_core::form::Form;
use tessera_core::introspection::Asker;
use tessera_core::revocation;

use super::authenticate_client;
use crate::app::{App, TenantCx};
use crate::http::respond::{Resp, empty, oauth_error, store_error};
use crate::tokens::{self, RevokeError};

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
    match tokens::revoke(app, cx, request.token, Asker::Client(&client.client_id)).await {
        Ok(()) => Ok(()),
        Err(RevokeError::NotYours(err)) => Err(err),
        Err(RevokeError::Store(err)) => Err(store_error(err)),
    }
}

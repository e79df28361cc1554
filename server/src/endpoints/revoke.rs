//! `POST /t/{tenant}/revoke` (RFC 7009). A client revokes its own tokens: an opaque token is
//! deleted; a JWT goes on the deny list until it expires; a refresh token's family is revoked
//! (`tokens::revoke`, which the operator's admin tool shares). Unknown or invalid tokens answer
//! 200 as the RFC says. Each write is durable before the answer; access-token writes go through
//! the tenant shard that owns the token. Every request is recorded as a `token.revoked` event
//! (`crate::audit`), refused ones with their error code.

use std::net::IpAddr;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tessera_core::error::OAuthError;
use tessera_core::form::Form;
use tessera_core::introspection::Asker;
use tessera_core::model::{Actor, EventType, Outcome};
use tessera_core::revocation;

use super::authenticate_client;
use crate::app::{App, TenantCx};
use crate::audit::{Bound, Draft};
use crate::http::respond::{Resp, empty, oauth_error, store_error};
use crate::tokens::{self, RevokeError};

/// Handles a revocation request.
pub async fn handle(app: &App, cx: TenantCx, headers: &HeaderMap, body: Bytes, peer: IpAddr) -> Resp {
    let mut client_id = None;
    let result = revoke(app, &cx, headers, &body, &mut client_id).await;
    record(app, &cx, client_id, result.as_ref().err(), peer);
    match result {
        Ok(()) => empty(StatusCode::OK),
        Err(err) => oauth_error(&err),
    }
}

/// Records the request as `token.revoked`: by the client that authenticated (else nobody),
/// never the token, with the OAuth error code when it was refused. A client may call this at
/// will, so its events are bounded per tenant like failures (`crate::audit`).
fn record(app: &App, cx: &TenantCx, client_id: Option<String>, err: Option<&OAuthError>, peer: IpAddr) {
    let draft = Draft {
        tenant: &cx.tenant.id,
        kind: EventType::TokenRevoked,
        actor: client_id.map_or(Actor::Anonymous, |client_id| Actor::Client { client_id }),
        action: "revoke",
        target: "token".to_owned(),
        source: peer,
        outcome: if err.is_some() { Outcome::Failure } else { Outcome::Success },
        reason: err.map(|e| e.code().as_str()),
    };
    app.audit.record(&*app.store, Bound::PerTenant, draft);
}

async fn revoke(
    app: &App,
    cx: &TenantCx,
    headers: &HeaderMap,
    body: &[u8],
    client_id: &mut Option<String>,
) -> Result<(), OAuthError> {
    let form = Form::parse(body)?;
    let client = authenticate_client(app, cx, headers, &form).await?;
    *client_id = Some(client.client_id.clone());
    let request = revocation::parse(&form)?;
    match tokens::revoke(app, cx, request.token, Asker::Client(&client.client_id)).await {
        Ok(()) => Ok(()),
        Err(RevokeError::NotYours(err)) => Err(err),
        Err(RevokeError::Store(err)) => Err(store_error(err)),
    }
}

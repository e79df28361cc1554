//! `POST /t/{tenant}/introspect` (RFC 7662). Only confidential clients of the tenant may ask;
//! what a token is and whether it is active is `tokens::introspect`'s, which the operator's
//! admin tool shares: a token is active only if this tenant issued it, it is neither expired
//! nor revoked, its client still honours it and its end-user still stands. A client hears of
//! refresh tokens only of its own.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tessera_core::error::{OAuthError, Reason};
use tessera_core::form::Form;
use tessera_core::introspection::{self, Asker, IntrospectionResponse};
use tessera_core::model::TokenEndpointAuthMethod;

use super::authenticate_client;
use crate::app::{App, TenantCx};
use crate::http::respond::{Resp, json_no_store, oauth_error, store_error};
use crate::tokens;

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
    tokens::introspect(app, cx, request.token, Asker::Client(&client.client_id)).await.map_err(store_error)
}

//! The token endpoint's grant handlers, one module per grant: each fetches or takes the
//! records its grant needs, asks `core` for a plan, and returns it. Carrying the plan out
//! (signing, storing, the response) is one shared step, [`crate::issue::carry_out`].

mod authorization_code;
mod client_credentials;
mod refresh_token;

use tessera_core::error::OAuthError;
use tessera_core::grants::plan::IssuePlan;
use tessera_core::model::{Client, UnixSecs};
use tessera_core::secret;
use tessera_core::token::TokenRequest;

use crate::app::{App, TenantCx};
use crate::http::respond::random_error;
use crate::util::random;

/// Runs the one handler of `request`'s grant for the authenticated `client` at `now`.
pub async fn plan(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    request: TokenRequest<'_>,
    now: UnixSecs,
) -> Result<IssuePlan, OAuthError> {
    match request {
        TokenRequest::ClientCredentials(req) => client_credentials::plan(client, req),
        TokenRequest::AuthorizationCode(req) => authorization_code::plan(app, cx, client, req, now).await,
        TokenRequest::RefreshToken(req) => refresh_token::plan(app, cx, client, req, now).await,
    }
}

/// A fresh token id (128 random bits).
pub fn fresh_jti() -> Result<String, OAuthError> {
    Ok(secret::encode_id(&random().map_err(random_error)?))
}

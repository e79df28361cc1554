//! The token endpoint's grant handlers, one module per grant: each fetches or takes the
//! records its grant needs, asks `core` for a plan, and returns it. Carrying the plan out
//! (signing, storing, the response) is one shared step, [`crate::issue::carry_out`].

mod authorization_code;
mod client_credentials;
mod refresh_token;

use tessera_core::error::OAuthError;
use tessera_core::grants::plan::{IssuePlan, ScopeSource};
use tessera_core::model::{Client, UnixSecs};
use tessera_core::secret;
use tessera_core::store::Subject;
use tessera_core::token::TokenRequest;

use crate::app::{App, TenantCx};
use crate::entitlements;
use crate::http::respond::{random_error, store_error};
use crate::util::random;

/// Runs the one handler of `request`'s grant for the authenticated `client` at `now`. Every
/// plan leaves with its subject's roles and permissions, its scope held to the tenant's scope
/// rules (the refresh grant reads them itself, before it rotates the token).
pub async fn plan(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    request: TokenRequest<'_>,
    now: UnixSecs,
) -> Result<IssuePlan, OAuthError> {
    match request {
        TokenRequest::ClientCredentials(req) => {
            let source = ScopeSource::of(req.scope);
            let plan = client_credentials::plan(client, req)?;
            let held = entitlements::of(app, &cx.tenant.id, Subject::Client(&client.client_id)).await;
            plan.with_entitlements(held.map_err(store_error)?, entitlements::scope_rules(&cx.tenant), source)
        }
        TokenRequest::AuthorizationCode(req) => {
            let plan = authorization_code::plan(app, cx, client, req, now).await?;
            // The scope was requested at /authorize, and checked there for this user; their
            // roles may have changed since.
            let held = entitlements::of(app, &cx.tenant.id, Subject::User(&plan.sub)).await;
            let rules = entitlements::scope_rules(&cx.tenant);
            plan.with_entitlements(held.map_err(store_error)?, rules, ScopeSource::Requested)
        }
        TokenRequest::RefreshToken(req) => refresh_token::plan(app, cx, client, req, now).await,
    }
}

/// A fresh token id (128 random bits).
pub fn fresh_jti() -> Result<String, OAuthError> {
    Ok(secret::encode_id(&random().map_err(random_error)?))
}

//! The token endpoint's grant handlers, one module per grant: each fetches or takes the
//! records its grant needs, asks `core` for a plan, and returns it. Carrying the plan out
//! (signing, storing, the response) is one shared step, [`crate::issue::carry_out`].

mod authorization_code;
mod client_credentials;
mod password;
mod refresh_token;

use std::net::IpAddr;

use tessera_core::error::OAuthError;
use tessera_core::form::Form;
use tessera_core::grants::plan::{IssuePlan, ScopeSource};
use tessera_core::model::{Api, Client, UnixSecs};
use tessera_core::secret;
use tessera_core::store::Subject;
use tessera_core::token::TokenRequest;

use crate::app::{App, TenantCx};
use crate::entitlements;
use crate::http::respond::{random_error, store_error};
use crate::util::random;

/// A token request as the endpoint read it: its grant, its whole form (the password grant
/// forwards it to identity validators), and the API its `resource` names (RFC 8707).
pub struct Asked<'r, 'f> {
    /// The grant-specific fields.
    pub request: TokenRequest<'r>,
    /// Every parameter.
    pub form: &'r Form<'f>,
    /// The API the token is for, if the request named one.
    pub api: Option<&'r Api>,
    /// The address the request came from (the password grant's limits are per address).
    pub peer: IpAddr,
}

/// Runs the one handler of `asked`'s grant for the authenticated `client` at `now`. Every
/// plan leaves with its subject's roles and permissions, its scope held to the tenant's scope
/// rules (the refresh grant reads them itself, before it rotates the token), and made for the
/// API the request named, its scope held to the API's.
pub async fn plan(
    app: &App,
    cx: &TenantCx,
    client: &Client,
    asked: Asked<'_, '_>,
    now: UnixSecs,
) -> Result<IssuePlan, OAuthError> {
    let rules = entitlements::scope_rules(&cx.tenant);
    let (plan, source) = match asked.request {
        TokenRequest::ClientCredentials(req) => {
            let source = ScopeSource::of(req.scope);
            let plan = client_credentials::plan(client, req)?;
            let held = entitlements::of(app, &cx.tenant.id, Subject::Client(&client.client_id)).await;
            (plan.with_entitlements(held.map_err(store_error)?, rules, source)?, source)
        }
        TokenRequest::AuthorizationCode(req) => {
            let plan = authorization_code::plan(app, cx, client, req, now).await?;
            // The scope was requested at /authorize, and checked there for this user; their
            // roles may have changed since.
            let held = entitlements::of(app, &cx.tenant.id, Subject::User(&plan.sub)).await;
            let plan = plan.with_entitlements(held.map_err(store_error)?, rules, ScopeSource::Requested)?;
            // A resource named only now narrows what /authorize granted (RFC 8707 2.2).
            (plan, ScopeSource::Default)
        }
        TokenRequest::RefreshToken(req) => {
            (refresh_token::plan(app, cx, client, req, now).await?, ScopeSource::Default)
        }
        TokenRequest::Password(req) => {
            let source = ScopeSource::of(req.scope);
            let plan = password::plan(app, cx, client, req, asked.form, asked.api, asked.peer).await?;
            let held = entitlements::of(app, &cx.tenant.id, Subject::User(&plan.sub)).await;
            (plan.with_entitlements(held.map_err(store_error)?, rules, source)?, source)
        }
    };
    plan.for_api(asked.api, source)
}

/// A fresh token id (128 random bits).
pub fn fresh_jti() -> Result<String, OAuthError> {
    Ok(secret::encode_id(&random().map_err(random_error)?))
}

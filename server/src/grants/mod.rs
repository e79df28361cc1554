//! The token endpoint's grant handlers, one module per grant: each fetches or takes the
//! records its grant needs, asks `core` for a plan, and returns it. Carrying the plan out
//! (signing, storing, the response) is one shared step, [`crate::issue::carry_out`].

mod authorization_code;
mod client_credentials;
mod jwt_bearer;
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
    let mut api = asked.api;
    let (plan, source) = match asked.request {
        TokenRequest::ClientCredentials(req) => {
            let source = ScopeSource::of(req.scope);
            let plan = client_credentials::plan(client, req)?;
            let held = entitlements::of(app, &cx.tenant.id, Subject::Client(&client.client_id)).await;
            (plan.with_entitlements(held.map_err(store_error)?, rules, source)?, source)
        }
        TokenRequest::AuthorizationCode(req) => {
            let (plan, resource) = authorization_code::plan(app, cx, client, req, now).await?;
            api = code_api(cx, client, api, resource.as_deref())?;
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
        TokenRequest::JwtBearer(req) => {
            let source = ScopeSource::of(req.scope);
            let plan = jwt_bearer::plan(app, cx, client, req, now).await?;
            // A subject mapped onto a local user's id holds that user's roles, as a password
            // validator's does; a prefixed one holds none.
            let held = entitlements::of(app, &cx.tenant.id, Subject::User(&plan.sub)).await;
            (plan.with_entitlements(held.map_err(store_error)?, rules, source)?, source)
        }
    };
    plan.for_api(api, source)
}

/// The API a code's token is for: the one the code was requested for at `/authorize`, which
/// the token request may name again but not change (RFC 8707 2.2: a resource at the token
/// endpoint must be one the authorization was for), or the one the token request names when
/// the authorization named none. Checked again against the tenant and the client, which may
/// have changed since.
fn code_api<'t>(
    cx: &'t TenantCx,
    client: &Client,
    asked: Option<&'t Api>,
    code_resource: Option<&str>,
) -> Result<Option<&'t Api>, OAuthError> {
    match (asked, code_resource) {
        (Some(api), Some(resource)) if api.identifier != resource => Err(OAuthError::new(
            tessera_core::error::Reason::ResourceNotAllowed,
            "the resource is not the one the authorization was for",
        )),
        (Some(api), _) => Ok(Some(api)),
        (None, resource) => tessera_core::resource::select(&cx.tenant, client, resource),
    }
}

/// A fresh token id (128 random bits).
pub fn fresh_jti() -> Result<String, OAuthError> {
    Ok(secret::encode_id(&random().map_err(random_error)?))
}

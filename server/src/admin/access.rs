//! Authentication and authorization of admin requests: the one place that decides who is
//! calling (an audit `Actor`) and whether they may call this route. The bootstrap admin key may do
//! everything. Besides it, a tenant's own access tokens are accepted on that tenant's routes
//! when their `permissions` allow the route (`core::admin_access`); the token is checked as
//! the tenant's `/introspect` would check it (signature or store, expiry, revocation, its
//! client and end-user still standing), so a revoked or cut-off token stops working here too.
//! API keys are accepted the same way, by the permissions of their roles. Refresh tokens are
//! never bearer credentials.
//!
//! Answers: 401 (with `WWW-Authenticate`) for no credential or one that is not a live token of
//! the route's tenant; 403 for a live token that lacks the permission, for a JWT of another
//! tenant of this server (it is recognised by its issuer and verified with that tenant's keys,
//! so a forged one stays a 401), and for routes only the bootstrap key may use.

use http::header::AUTHORIZATION;
use http::{HeaderMap, Method};
use tessera_core::admin_access::{self, Access, Area, Need};
use tessera_core::introspection::{Asker, IntrospectionResponse};
use tessera_core::model::{Actor, parse_key};
use tessera_core::rbac::Entitlements;
use tessera_core::{jwt, secret};

use crate::app::App;
use crate::http::respond::ApiError;
use crate::router::AdminRoute;
use crate::tokens;

/// The `Authorization: Bearer` credential, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, credential)| credential.trim())
        .filter(|credential| !credential.is_empty())
}

/// The tenant a route belongs to, and what it needs.
pub fn need<'r>(route: &'r AdminRoute, method: &Method) -> (Option<&'r str>, Need) {
    let read_or_write = |area| {
        let access = if matches!(*method, Method::GET | Method::HEAD) { Access::Read } else { Access::Write };
        Need::Permission(area, access)
    };
    match route {
        AdminRoute::Tenants => (None, Need::BootstrapKey),
        AdminRoute::Tenant(t) if *method == Method::DELETE => (Some(t), Need::BootstrapKey),
        // APIs, identity validators and trusted issuers are the tenant's configuration (a validator's headers
        // are credentials of its own).
        AdminRoute::Tenant(t)
        | AdminRoute::Settings(t)
        | AdminRoute::Apis(t)
        | AdminRoute::Api(t, _)
        | AdminRoute::Validators(t)
        | AdminRoute::Validator(t, _)
        | AdminRoute::TrustedIssuers(t)
        | AdminRoute::TrustedIssuer(t, _)
        | AdminRoute::Idps(t)
        | AdminRoute::Idp(t, _) => (Some(t), read_or_write(Area::Settings)),
        AdminRoute::Clients(t) | AdminRoute::Client(t, _) | AdminRoute::ClientSecret(t, _) => {
            (Some(t), read_or_write(Area::Clients))
        }
        AdminRoute::Keys(t)
        | AdminRoute::RotateKeys(t)
        | AdminRoute::ApiKeys(t)
        | AdminRoute::ApiKey(t, _)
        | AdminRoute::ApiKeyRotate(t, _)
        | AdminRoute::DirectAuthzToken(t)
        | AdminRoute::DirectAuthzEncryptionKey(t) => (Some(t), read_or_write(Area::Keys)),
        AdminRoute::Users(t) | AdminRoute::User(t, _) | AdminRoute::UserProfile(t, _) => {
            (Some(t), read_or_write(Area::Users))
        }
        AdminRoute::UserRevokeAll(t, _)
        | AdminRoute::ClientRevokeAll(t, _)
        | AdminRoute::TokensIntrospect(t)
        | AdminRoute::TokensRevoke(t)
        // Listing grants only reads, but like introspection it needs the tools' permission: it
        // hands out the ids that revoke.
        | AdminRoute::TokensGrants(t)
        | AdminRoute::TokensGrant(t, _)
        // A session read by its cookie value: the value is a credential.
        | AdminRoute::TokensSession(t) => (Some(t), Need::Permission(Area::Tokens, Access::Write)),
        // Giving a role is granting its permissions: the roles area's, not the holder's.
        AdminRoute::Roles(t)
        | AdminRoute::Role(t, _)
        | AdminRoute::UserRoles(t, _)
        | AdminRoute::UserRole(t, _, _)
        | AdminRoute::ClientRoles(t, _)
        | AdminRoute::ClientRole(t, _, _) => (Some(t), read_or_write(Area::Roles)),
        AdminRoute::Events(t) => (Some(t), Need::Permission(Area::Events, Access::Read)),
    }
}

/// Authenticates the request and checks that the caller may use `route` with `method`; says
/// who is acting, which every admin change's audit event records.
pub async fn authorize(
    app: &App,
    route: &AdminRoute,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Actor, ApiError> {
    let Some(credential) = bearer(headers) else { return Err(ApiError::Unauthorized) };
    if secret::matches(credential, &app.admin_key_digest) {
        return Ok(Actor::AdminKey);
    }
    let (tenant, need) = need(route, method);
    let Some(tenant) = tenant else { return Err(ApiError::Unauthorized) };
    let Some(answer) = live_access_token(app, tenant, credential).await? else {
        return Err(match other_tenant_of(app, tenant, credential).await? {
            Some(owner) => ApiError::Forbidden(format!("this token administers tenant {owner} only")),
            None => ApiError::Unauthorized,
        });
    };
    let (area, access) = match need {
        Need::BootstrapKey => {
            return Err(ApiError::Forbidden(
                "creating, listing and deleting tenants needs the admin key".into(),
            ));
        }
        Need::Permission(area, access) => (area, access),
    };
    let held = Entitlements { roles: answer.roles, permissions: answer.permissions };
    if !admin_access::permits(&held, area, access) {
        return Err(ApiError::Forbidden(format!(
            "the token lacks the permission {}",
            admin_access::permission(area, access)
        )));
    }
    let sub = answer.sub.unwrap_or_default();
    if parse_key(credential).is_some() {
        return Ok(Actor::ApiKey { id: sub });
    }
    Ok(Actor::Token { sub, client_id: answer.client_id.unwrap_or_default() })
}

/// What introspection at `tenant` says of `credential`, if it is a live access token there
/// (not a refresh token: those have no `token_type`).
async fn live_access_token(
    app: &App,
    tenant: &str,
    credential: &str,
) -> Result<Option<IntrospectionResponse>, ApiError> {
    if credential.len() > jwt::MAX_TOKEN_BYTES {
        return Ok(None);
    }
    let Some(cx) = app.tenant(tenant).await? else { return Ok(None) };
    let answer = tokens::introspect(app, &cx, credential, Asker::Operator).await?;
    Ok((answer.active && answer.token_type.is_some()).then_some(answer))
}

/// The other tenant of this server whose live access token `credential` is, if it is a JWT
/// whose issuer names one: so an operator hears why their token does not work here.
async fn other_tenant_of(app: &App, tenant: &str, credential: &str) -> Result<Option<String>, ApiError> {
    if !jwt::looks_like_jws(credential) {
        return Ok(None);
    }
    let Some(issuer) = jwt::parse(credential)
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p.payload).ok())
        .and_then(|claims| claims.get("iss").and_then(|i| i.as_str()).map(str::to_owned))
    else {
        return Ok(None);
    };
    let Some(owner) = issuer.strip_prefix(&app.issuer("")).filter(|t| *t != tenant) else { return Ok(None) };
    let owner = owner.to_owned();
    Ok(live_access_token(app, &owner, credential).await?.map(|_| owner))
}

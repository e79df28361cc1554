//! The admin API under `/api/v1` (API.md): JSON in and out, and dispatch to one module per
//! resource, once `access` has said who is calling and that they may. Every change is durable
//! before the answer, and every change (any method but GET and HEAD on a tenant's routes) is
//! recorded as an audit event with who made it, from where, and the status it ended with
//! (`crate::audit`).

pub mod access;
pub mod api_keys;
pub mod apis;
pub mod clients;
pub mod direct_authz;
pub mod events;
pub mod grants;
pub mod idps;
pub mod keys;
pub mod openapi;
pub mod refusals;
pub mod revoke_all;
pub mod roles;
pub mod sessions;
pub mod tenants;
pub mod tokens;
pub mod trusted_issuers;
pub mod user_grants;
pub mod users;
pub mod validators;

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use tessera_core::admin_access::Need;
use tessera_core::model::{Actor, EventType, Outcome};
use tessera_core::secret;

use crate::app::App;
use crate::audit::{self, Bound, Caller, Draft};
use crate::http::body::has_media_type;
use crate::http::respond::{ApiError, Resp};
use crate::router::AdminRoute;
use crate::util::random;

/// Largest admin request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A new record id: 22 base64url characters of 16 random bytes (users, clients, roles, API
/// keys).
pub fn new_id() -> Result<String, ApiError> {
    random::<16>().map(|r| secret::encode_id(&r)).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A new 256-bit secret as sent on the wire (client secrets, API keys).
pub fn new_secret() -> Result<String, ApiError> {
    random::<32>().map(|r| secret::encode_secret(&r)).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Reads a body field that may be absent (leave it), `null` (clear it) or a value (set it).
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Decodes a JSON request body.
pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    let value = json_object(headers, body)?;
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// A request body that must be a JSON object, not yet read into its type.
pub fn json_object(headers: &HeaderMap, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    if !has_media_type(headers, "application/json") {
        return Err(ApiError::UnsupportedMediaType);
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    // serde reads a struct from a JSON array too (positionally); the API takes objects only.
    if !value.is_object() {
        return Err(ApiError::BadRequest("the body must be a JSON object".into()));
    }
    Ok(value)
}

/// Runs an admin request that `authorize` let through for `caller`, and records the change it
/// made, if any.
pub async fn dispatch(
    app: &App,
    caller: &Caller,
    route: AdminRoute,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
) -> Resp {
    let created = matches!(route, AdminRoute::Tenants).then(|| created_tenant(&body)).flatten();
    let change = audit::admin_change(&route, method, created.as_deref());
    if let (Actor::ApiKey { .. }, (Some(tenant), Need::Permission(area, access))) =
        (&caller.actor, access::need(&route, method))
    {
        // An API key is a long-lived credential: each admin use of one is on the record.
        let permission = tessera_core::admin_access::permission(area, access);
        let draft = Draft {
            tenant,
            kind: EventType::ApiKeyAdminUse,
            actor: caller.actor.clone(),
            action: method.as_str(),
            target: format!("{route:?}"),
            source: caller.source,
            outcome: Outcome::Success,
            reason: Some(&permission),
        };
        app.audit.record(&*app.store, Bound::Never, draft);
    }
    let resp = run(app, route, method, query, headers, body).await.unwrap_or_else(ApiError::into_response);
    if let Some(change) = change {
        record_change(app, caller, method, change, resp.status()).await;
    }
    resp
}

/// The id a tenant creation's body names, if it names one.
fn created_tenant(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("id")?.as_str().map(str::to_owned)
}

/// Records an admin change, or logs it when its event would go with its tenant.
async fn record_change(
    app: &App,
    caller: &Caller,
    method: &Method,
    change: audit::AdminChange,
    status: http::StatusCode,
) {
    let outcome = audit::outcome_of(status);
    if change.log_only_on_success && status.is_success() {
        tracing::info!(
            target: "tessera::audit",
            tenant = %change.tenant,
            actor = caller.actor.kind_name(),
            actor_id = caller.actor.principal().unwrap_or_default(),
            source = %caller.source,
            "tenant deleted"
        );
        return;
    }
    // A request for a tenant that does not exist has nobody to tell.
    if status == http::StatusCode::NOT_FOUND && !matches!(app.store.tenant(&change.tenant).await, Ok(Some(_)))
    {
        return;
    }
    let draft = Draft {
        tenant: &change.tenant,
        kind: change.kind,
        actor: caller.actor.clone(),
        action: method.as_str(),
        target: change.target,
        source: caller.source,
        outcome,
        reason: Some(status.as_str()),
    };
    app.audit.record(&*app.store, Bound::Never, draft);
}

/// Runs an authorized admin request.
async fn run(
    app: &App,
    route: AdminRoute,
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Resp, ApiError> {
    // Changes are read-modify-write sequences (what is the current record?); one at a time in
    // this process, then in the store's exclusive section across every node sharing it, so a
    // PATCH cannot write back a secret digest that a rotation replaced, here or elsewhere.
    // Admin writes are rare; reads do not wait. Creates need no lock: the store refuses a
    // taken id atomically, across nodes too.
    let creates = matches!(route, AdminRoute::Tenants | AdminRoute::Clients(_) | AdminRoute::Roles(_))
        && *method == Method::POST;
    // The token tools change no admin record: introspection reads, and a revocation (of a
    // token or a grant) is a single write the shards and the store order.
    let token_tool = matches!(
        route,
        AdminRoute::TokensIntrospect(_)
            | AdminRoute::TokensRevoke(_)
            | AdminRoute::TokensGrant(..)
            | AdminRoute::TokensSession(_)
    );
    let _serialized = match *method {
        Method::GET | Method::HEAD => None,
        _ if creates || token_tool => None,
        _ => {
            let local = app.admin_writes.lock().await;
            Some((local, app.store.exclusive().await?))
        }
    };
    match (route, method.clone()) {
        (AdminRoute::Tenants, Method::GET) => tenants::list(app).await,
        (AdminRoute::Tenants, Method::POST) => tenants::create(app, json_body(headers, &body)?).await,
        (AdminRoute::Tenant(t), Method::GET) => tenants::get(app, &t).await,
        (AdminRoute::Tenant(t), Method::PATCH) => tenants::patch(app, &t, json_body(headers, &body)?).await,
        (AdminRoute::Tenant(t), Method::DELETE) => tenants::delete(app, &t).await,
        (AdminRoute::Settings(t), Method::GET) => tenants::get_settings(app, &t).await,
        (AdminRoute::Settings(t), Method::PUT) => {
            tenants::put_settings(app, &t, json_body(headers, &body)?).await
        }
        (AdminRoute::Clients(t), Method::GET) => clients::list(app, &t).await,
        (AdminRoute::Clients(t), Method::POST) => {
            clients::create(app, &t, clients::metadata_body(headers, &body)?).await
        }
        (AdminRoute::Client(t, c), Method::GET) => clients::get(app, &t, &c).await,
        (AdminRoute::Client(t, c), Method::PATCH) => {
            clients::patch(app, &t, &c, clients::metadata_body(headers, &body)?).await
        }
        (AdminRoute::Client(t, c), Method::DELETE) => clients::delete(app, &t, &c).await,
        (AdminRoute::ClientSecret(t, c), Method::POST) => clients::rotate_secret(app, &t, &c).await,
        (AdminRoute::Keys(t), Method::GET) => keys::list(app, &t).await,
        (AdminRoute::RotateKeys(t), Method::POST) => keys::rotate(app, &t).await,
        (AdminRoute::Users(t), Method::GET) => users::list(app, &t, query).await,
        (AdminRoute::Users(t), Method::POST) => users::create(app, &t, json_body(headers, &body)?).await,
        (AdminRoute::User(t, u), Method::GET) => users::get(app, &t, &u).await,
        (AdminRoute::User(t, u), Method::PATCH) => {
            users::patch(app, &t, &u, json_body(headers, &body)?).await
        }
        (AdminRoute::User(t, u), Method::DELETE) => users::delete(app, &t, &u).await,
        (AdminRoute::UserProfile(t, u), Method::PUT) => {
            users::put_profile(app, &t, &u, json_body(headers, &body)?).await
        }
        (AdminRoute::UserRevokeAll(t, u), Method::POST) => revoke_all::user(app, &t, &u).await,
        (AdminRoute::ClientRevokeAll(t, c), Method::POST) => revoke_all::client(app, &t, &c).await,
        (AdminRoute::TokensIntrospect(t), Method::POST) => {
            tokens::introspect(app, &t, &tokens::token_body(headers, &body)?).await
        }
        (AdminRoute::TokensRevoke(t), Method::POST) => {
            tokens::revoke(app, &t, &tokens::token_body(headers, &body)?).await
        }
        (AdminRoute::TokensGrants(t), Method::GET) => grants::list(app, &t, query).await,
        (AdminRoute::TokensGrant(t, g), Method::DELETE) => grants::revoke(app, &t, &g).await,
        (AdminRoute::TokensSession(t), Method::POST) => {
            sessions::read(app, &t, &sessions::session_body(headers, &body)?).await
        }
        (AdminRoute::Roles(t), Method::GET) => roles::list(app, &t).await,
        (AdminRoute::Roles(t), Method::POST) => roles::create(app, &t, json_body(headers, &body)?).await,
        (AdminRoute::Role(t, r), Method::GET) => roles::get(app, &t, &r).await,
        (AdminRoute::Role(t, r), Method::PATCH) => {
            roles::patch(app, &t, &r, json_body(headers, &body)?).await
        }
        (AdminRoute::Role(t, r), Method::DELETE) => roles::delete(app, &t, &r).await,
        (AdminRoute::UserRoles(t, u), Method::GET) => roles::user_roles(app, &t, &u).await,
        (AdminRoute::UserRoles(t, u), Method::POST) => {
            roles::assign_to_user(app, &t, &u, json_body(headers, &body)?).await
        }
        (AdminRoute::UserRole(t, u, r), Method::DELETE) => roles::unassign_from_user(app, &t, &u, &r).await,
        (AdminRoute::ClientRoles(t, c), Method::GET) => roles::client_roles(app, &t, &c).await,
        (AdminRoute::ClientRoles(t, c), Method::POST) => {
            roles::assign_to_client(app, &t, &c, json_body(headers, &body)?).await
        }
        (AdminRoute::ClientRole(t, c, r), Method::DELETE) => {
            roles::unassign_from_client(app, &t, &c, &r).await
        }
        (AdminRoute::ApiKeys(t), Method::GET) => api_keys::list(app, &t).await,
        (AdminRoute::ApiKeys(t), Method::POST) => api_keys::create(app, &t, json_body(headers, &body)?).await,
        (AdminRoute::ApiKey(t, k), Method::GET) => api_keys::get(app, &t, &k).await,
        (AdminRoute::ApiKey(t, k), Method::DELETE) => api_keys::delete(app, &t, &k).await,
        (AdminRoute::ApiKeyRotate(t, k), Method::POST) => {
            // The grace is optional, and so is a body that would only say 0.
            let rotate = if body.is_empty() { Default::default() } else { json_body(headers, &body)? };
            api_keys::rotate(app, &t, &k, rotate).await
        }
        (AdminRoute::Events(t), Method::GET) => events::list(app, &t, query).await,
        (AdminRoute::Apis(t), Method::GET) => apis::list(app, &t).await,
        (AdminRoute::Apis(t), Method::POST) => apis::create(app, &t, json_body(headers, &body)?).await,
        (AdminRoute::Api(t, a), Method::GET) => apis::get(app, &t, &a).await,
        (AdminRoute::Api(t, a), Method::PATCH) => apis::patch(app, &t, &a, json_body(headers, &body)?).await,
        (AdminRoute::Api(t, a), Method::DELETE) => apis::delete(app, &t, &a).await,
        (AdminRoute::Validators(t), Method::GET) => validators::list(app, &t).await,
        (AdminRoute::Validators(t), Method::POST) => {
            validators::create(app, &t, json_body(headers, &body)?).await
        }
        (AdminRoute::Validator(t, v), Method::GET) => validators::get(app, &t, &v).await,
        (AdminRoute::Validator(t, v), Method::PATCH) => {
            validators::patch(app, &t, &v, json_body(headers, &body)?).await
        }
        (AdminRoute::Validator(t, v), Method::DELETE) => validators::delete(app, &t, &v).await,
        (AdminRoute::TrustedIssuers(t), Method::GET) => trusted_issuers::list(app, &t).await,
        (AdminRoute::TrustedIssuers(t), Method::POST) => {
            trusted_issuers::create(app, &t, json_body(headers, &body)?).await
        }
        (AdminRoute::TrustedIssuer(t, i), Method::GET) => trusted_issuers::get(app, &t, &i).await,
        (AdminRoute::TrustedIssuer(t, i), Method::PATCH) => {
            trusted_issuers::patch(app, &t, &i, json_body(headers, &body)?).await
        }
        (AdminRoute::TrustedIssuer(t, i), Method::DELETE) => trusted_issuers::delete(app, &t, &i).await,
        (AdminRoute::Idps(t), Method::GET) => idps::list(app, &t).await,
        (AdminRoute::Idps(t), Method::POST) => idps::create(app, &t, json_body(headers, &body)?).await,
        (AdminRoute::Idp(t, i), Method::GET) => idps::get(app, &t, &i).await,
        (AdminRoute::Idp(t, i), Method::PATCH) => idps::patch(app, &t, &i, json_body(headers, &body)?).await,
        (AdminRoute::Idp(t, i), Method::DELETE) => idps::delete(app, &t, &i).await,
        (AdminRoute::DirectAuthzToken(t), Method::POST) => direct_authz::issue_token(app, &t).await,
        (AdminRoute::DirectAuthzEncryptionKey(t), Method::PUT) => {
            direct_authz::put_encryption_key(app, &t, json_body(headers, &body)?).await
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// The tenant, or 404.
pub async fn tenant_or_404(
    app: &App,
    id: &str,
) -> Result<std::sync::Arc<tessera_core::model::Tenant>, ApiError> {
    app.store.tenant(id).await?.ok_or(ApiError::NotFound("tenant"))
}

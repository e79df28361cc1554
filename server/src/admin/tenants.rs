//! Tenants and their settings: create (with a first signing key), list, read, change, delete.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::model::{NEW_ID_RULE, Tenant, TenantSettings, is_valid_new_id};
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, Invalid, NotFound};
use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, json_no_store};
use crate::util::now;

/// `POST /api/v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// The tenant id, the path segment of its issuer (`/t/{id}`).
    id: String,
    /// A human-readable name, at most 200 printable characters; the id when absent.
    #[serde(default)]
    display_name: Option<String>,
    /// The settings; absent ones take their defaults.
    #[serde(default)]
    settings: Option<TenantSettings>,
}

/// `PATCH /api/v1/tenants/{t}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTenant {
    /// A new display name.
    #[serde(default)]
    display_name: Option<String>,
    /// The settings to change, any of `TenantSettings`' members; the others keep their value.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    settings: Option<serde_json::Value>,
}

/// A tenant as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct TenantView<'a> {
    /// The tenant id.
    id: &'a str,
    /// Its display name.
    display_name: &'a str,
    /// Its issuer: `{public_url}/t/{id}`.
    issuer: String,
    /// Its settings.
    settings: &'a TenantSettings,
    /// When it was created, in seconds since the epoch.
    created_at: i64,
}

/// `GET /api/v1/tenants`.
#[derive(Serialize, ToSchema)]
pub struct TenantList<'a> {
    /// Every tenant.
    tenants: Vec<TenantView<'a>>,
}

fn view<'a>(app: &App, t: &'a Tenant) -> TenantView<'a> {
    TenantView {
        id: &t.id,
        display_name: &t.display_name,
        issuer: app.issuer(&t.id),
        settings: &t.settings,
        created_at: t.created_at,
    }
}

const MAX_DISPLAY_NAME: usize = 200;

fn check_display_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > MAX_DISPLAY_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "display_name must be at most {MAX_DISPLAY_NAME} printable characters"
        )));
    }
    Ok(())
}

fn check_settings(s: &TenantSettings) -> Result<(), ApiError> {
    s.validate().map_err(ApiError::BadRequest)
}

/// Creates a tenant and its first signing key; the tenant is usable when this returns.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", operation_id = "create_tenant",
    request_body = CreateTenant,
    responses((status = 201, description = "The tenant", body = TenantView), Invalid, Conflict, Denied))]
pub async fn create(app: &App, body: CreateTenant) -> Result<Resp, ApiError> {
    if !is_valid_new_id(&body.id) {
        return Err(ApiError::BadRequest(format!("id must be {NEW_ID_RULE}")));
    }
    let display_name = body.display_name.unwrap_or_else(|| body.id.clone());
    check_display_name(&display_name)?;
    let settings = body.settings.unwrap_or_default();
    check_settings(&settings)?;
    let tenant = Tenant::new(body.id, display_name, settings, now());
    // The store refuses an id that is taken (a `Conflict`, answered 409), atomically: of
    // concurrent creates, on any number of nodes, one wins.
    app.store.create_tenant(&tenant).await?;
    app.keys.current_or_create(&tenant.id, tenant.settings.access_token_alg, tenant.created_at).await?;
    Ok(json_no_store(StatusCode::CREATED, &view(app, &tenant)))
}

/// Lists tenants.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", operation_id = "list_tenants",
    responses((status = 200, description = "Every tenant", body = TenantList), Denied))]
pub async fn list(app: &App) -> Result<Resp, ApiError> {
    let tenants = app.store.tenants().await?;
    let tenants = TenantList { tenants: tenants.iter().map(|t| view(app, t)).collect() };
    Ok(json_no_store(StatusCode::OK, &tenants))
}

/// Reads a tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}", tag = "tenants", operation_id = "get_tenant",
    responses((status = 200, description = "The tenant", body = TenantView), NotFound, Denied))]
pub async fn get(app: &App, id: &str) -> Result<Resp, ApiError> {
    let tenant = tenant_or_404(app, id).await?;
    Ok(json_no_store(StatusCode::OK, &view(app, &tenant)))
}

/// Changes a tenant's display name and, field by field, its settings.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}", tag = "tenants", operation_id = "patch_tenant",
    request_body = PatchTenant,
    responses((status = 200, description = "The changed tenant", body = TenantView),
        Invalid, NotFound, Conflict, Denied))]
pub async fn patch(app: &App, id: &str, body: PatchTenant) -> Result<Resp, ApiError> {
    let mut tenant = (*tenant_or_404(app, id).await?).clone();
    if let Some(name) = body.display_name {
        check_display_name(&name)?;
        tenant.display_name = name;
    }
    if let Some(changes) = body.settings {
        tenant.settings = merge_settings(&tenant.settings, changes)?;
    }
    save(app, &tenant).await?;
    Ok(json_no_store(StatusCode::OK, &view(app, &tenant)))
}

/// Deletes a tenant with its clients, keys and tokens.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}", tag = "tenants", operation_id = "delete_tenant",
    responses((status = 204, description = "Deleted"), NotFound, Conflict, Denied))]
pub async fn delete(app: &App, id: &str) -> Result<Resp, ApiError> {
    tenant_or_404(app, id).await?;
    let keys = app.store.keys(id).await?;
    app.store.delete_tenant(id).await?;
    app.forget_tenant(id);
    // After the records are gone: a crash in between leaves orphaned HSM objects, never a
    // stored key whose HSM object is missing.
    app.keys.destroy_tenant(id, &keys).await?;
    Ok(crate::http::respond::empty(StatusCode::NO_CONTENT))
}

/// Reads a tenant's settings.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/settings", tag = "tenants", operation_id = "get_settings",
    responses((status = 200, description = "The settings", body = TenantSettings), NotFound, Denied))]
pub async fn get_settings(app: &App, id: &str) -> Result<Resp, ApiError> {
    Ok(json_no_store(StatusCode::OK, &tenant_or_404(app, id).await?.settings))
}

/// Replaces a tenant's settings; absent fields take their defaults, unknown fields are refused.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/settings", tag = "tenants", operation_id = "put_settings",
    request_body = TenantSettings,
    responses((status = 200, description = "The stored settings", body = TenantSettings),
        Invalid, NotFound, Conflict, Denied))]
pub async fn put_settings(app: &App, id: &str, settings: TenantSettings) -> Result<Resp, ApiError> {
    let mut tenant = (*tenant_or_404(app, id).await?).clone();
    tenant.settings = settings;
    save(app, &tenant).await?;
    Ok(json_no_store(StatusCode::OK, &tenant.settings))
}

fn merge_settings(current: &TenantSettings, changes: serde_json::Value) -> Result<TenantSettings, ApiError> {
    let mut merged = serde_json::to_value(current).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (Some(target), serde_json::Value::Object(changes)) = (merged.as_object_mut(), changes) else {
        return Err(ApiError::BadRequest("settings must be an object".into()));
    };
    target.extend(changes);
    serde_json::from_value(merged).map_err(|e| ApiError::BadRequest(format!("invalid settings: {e}")))
}

/// Stores a changed tenant, making sure a key exists for its access token algorithm first so
/// the next token request does not pay for key generation.
async fn save(app: &App, tenant: &Tenant) -> Result<(), ApiError> {
    check_settings(&tenant.settings)?;
    app.keys.current_or_create(&tenant.id, tenant.settings.access_token_alg, now()).await?;
    app.store.put_tenant(tenant).await?;
    Ok(())
}

//! Tenants and their settings: create (with a first signing key), list, read, change, delete.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::model::{NEW_ID_RULE, Tenant, TenantSettings, is_valid_new_id};

use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, json_no_store};
use crate::util::now;

/// `POST /api/v1/tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    settings: Option<TenantSettings>,
}

/// `PATCH /api/v1/tenants/{t}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchTenant {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    settings: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct TenantView<'a> {
    id: &'a str,
    display_name: &'a str,
    issuer: String,
    settings: &'a TenantSettings,
    created_at: i64,
}

fn view(app: &App, t: &Tenant) -> serde_json::Value {
    serde_json::to_value(TenantView {
        id: &t.id,
        display_name: &t.display_name,
        issuer: app.issuer(&t.id),
        settings: &t.settings,
        created_at: t.created_at,
    })
    .unwrap_or_default()
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
pub async fn create(app: &App, body: CreateTenant) -> Result<Resp, ApiError> {
    if !is_valid_new_id(&body.id) {
        return Err(ApiError::BadRequest(format!("id must be {NEW_ID_RULE}")));
    }
    let display_name = body.display_name.unwrap_or_else(|| body.id.clone());
    check_display_name(&display_name)?;
    let settings = body.settings.unwrap_or_default();
    check_settings(&settings)?;
    let tenant = Tenant { id: body.id, display_name, settings, created_at: now() };
    // The store refuses an id that is taken (a `Conflict`, answered 409), atomically: of
    // concurrent creates, on any number of nodes, one wins.
    app.store.create_tenant(&tenant).await?;
    app.keys.current_or_create(&tenant.id, tenant.settings.access_token_alg, tenant.created_at).await?;
    Ok(json_no_store(StatusCode::CREATED, &view(app, &tenant)))
}

/// Lists tenants.
pub async fn list(app: &App) -> Result<Resp, ApiError> {
    let tenants: Vec<serde_json::Value> = app.store.tenants().await?.iter().map(|t| view(app, t)).collect();
    Ok(json_no_store(StatusCode::OK, &serde_json::json!({ "tenants": tenants })))
}

/// Reads a tenant.
pub async fn get(app: &App, id: &str) -> Result<Resp, ApiError> {
    let tenant = tenant_or_404(app, id).await?;
    Ok(json_no_store(StatusCode::OK, &view(app, &tenant)))
}

/// Changes a tenant's display name and, field by field, its settings.
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
pub async fn get_settings(app: &App, id: &str) -> Result<Resp, ApiError> {
    Ok(json_no_store(StatusCode::OK, &tenant_or_404(app, id).await?.settings))
}

/// Replaces a tenant's settings; absent fields take their defaults, unknown fields are refused.
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

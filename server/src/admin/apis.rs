//! APIs (resource servers) of a tenant (API.md): create, list, read, change, delete. An API is
//! named by its id or its identifier (the audience URI clients pass as RFC 8707 `resource`).
//! APIs are kept in the tenant record (`tessera_core::model::api`), so every change here is a
//! read-modify-write of the tenant, serialized by the admin write lock.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::model::{AccessTokenFormat, Api, MAX_APIS_PER_TENANT, Tenant, validate_api};
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, Invalid, NotFound};
use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, empty, json_no_store};
use crate::util::now;

/// `POST .../apis`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiCreateBody {
    /// The audience URI: an absolute URI without a fragment, unique in the tenant. Fixed once
    /// created.
    identifier: String,
    /// A name for the operator, 1 to 200 bytes; the identifier when absent.
    #[serde(default)]
    name: Option<String>,
    /// The scope values the API defines, each once.
    #[serde(default)]
    scopes: Vec<String>,
    /// `jwt` or `opaque`: the format of its access tokens, whatever the client's; absent for
    /// the client's.
    #[serde(default)]
    access_token_format: Option<AccessTokenFormat>,
    /// The lifetime of its access tokens, 1 to 31536000; absent for the tenant's.
    #[serde(default)]
    access_token_ttl_secs: Option<u32>,
}

/// `PATCH .../apis/{api}`: any of the fields; `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiPatchBody {
    /// A new name.
    #[serde(default)]
    name: Option<String>,
    /// The new scope values.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// `jwt`, `opaque`, or `null` for the client's.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<AccessTokenFormat>)]
    access_token_format: Option<Option<AccessTokenFormat>>,
    /// A lifetime, or `null` for the tenant's.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<u32>)]
    access_token_ttl_secs: Option<Option<u32>>,
    /// Must be the current identifier if given: it cannot change.
    #[serde(default)]
    identifier: Option<String>,
}

/// An API as the admin API shows it.
#[derive(Serialize, ToSchema)]
pub struct ApiView<'a> {
    /// Its id.
    id: &'a str,
    /// Its identifier: the `aud` of its tokens and the `resource` clients name.
    identifier: &'a str,
    /// Its name.
    name: &'a str,
    /// The scope values it defines.
    scopes: &'a [String],
    /// Its access-token format; `null`: the client's.
    access_token_format: Option<AccessTokenFormat>,
    /// Its access-token lifetime; `null`: the tenant's.
    access_token_ttl_secs: Option<u32>,
    /// When it was created, in seconds since the epoch.
    created_at: i64,
}

/// `GET .../apis`.
#[derive(Serialize, ToSchema)]
pub struct ApiList<'a> {
    /// The tenant's APIs, oldest first.
    apis: Vec<ApiView<'a>>,
}

fn view(a: &Api) -> ApiView<'_> {
    ApiView {
        id: &a.id,
        identifier: &a.identifier,
        name: &a.name,
        scopes: &a.scopes,
        access_token_format: a.access_token_format,
        access_token_ttl_secs: a.access_token_ttl_secs,
        created_at: a.created_at,
    }
}

/// The scope values given, each once (each is checked to be one scope value by `validate_api`).
fn scopes_of(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The index of the API named `name` (id or identifier) in `tenant`, or 404.
fn index_of(tenant: &Tenant, name: &str) -> Result<usize, ApiError> {
    tenant.apis.iter().position(|a| a.id == name || a.identifier == name).ok_or(ApiError::NotFound("API"))
}

/// Creates an API.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/apis", tag = "apis", operation_id = "create_api",
    request_body = ApiCreateBody,
    responses((status = 201, description = "The API", body = ApiView), Invalid, NotFound, Conflict, Denied))]
pub async fn create(app: &App, tenant: &str, body: ApiCreateBody) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    if t.apis.iter().any(|a| a.identifier == body.identifier) {
        return Err(ApiError::Conflict(format!("an API with identifier {} exists", body.identifier)));
    }
    if t.apis.len() >= MAX_APIS_PER_TENANT {
        return Err(ApiError::Conflict(format!("a tenant has at most {MAX_APIS_PER_TENANT} APIs")));
    }
    let api = Api {
        id: super::new_id()?,
        name: body.name.unwrap_or_else(|| body.identifier.clone()),
        identifier: body.identifier,
        scopes: scopes_of(body.scopes),
        access_token_format: body.access_token_format,
        access_token_ttl_secs: body.access_token_ttl_secs,
        created_at: now(),
    };
    validate_api(&api).map_err(ApiError::BadRequest)?;
    t.apis.push(api);
    app.store.put_tenant(&t).await?;
    let created = t.apis.last().ok_or_else(|| ApiError::Internal("the API just added is gone".into()))?;
    Ok(json_no_store(StatusCode::CREATED, &view(created)))
}

/// Lists a tenant's APIs.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/apis", tag = "apis", operation_id = "list_apis",
    responses((status = 200, description = "The APIs", body = ApiList), NotFound, Denied))]
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    let t = tenant_or_404(app, tenant).await?;
    Ok(json_no_store(StatusCode::OK, &ApiList { apis: t.apis.iter().map(view).collect() }))
}

/// Reads an API, by id or identifier.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/apis/{api}", tag = "apis", operation_id = "get_api",
    responses((status = 200, description = "The API", body = ApiView), NotFound, Denied))]
pub async fn get(app: &App, tenant: &str, name: &str) -> Result<Resp, ApiError> {
    let t = tenant_or_404(app, tenant).await?;
    let i = index_of(&t, name)?;
    Ok(json_no_store(StatusCode::OK, &view(&t.apis[i])))
}

/// Changes an API's name, scopes, token format or lifetime.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/apis/{api}", tag = "apis", operation_id = "patch_api",
    request_body = ApiPatchBody,
    responses((status = 200, description = "The changed API", body = ApiView), Invalid, NotFound, Denied))]
pub async fn patch(app: &App, tenant: &str, name: &str, body: ApiPatchBody) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    let i = index_of(&t, name)?;
    let api = &mut t.apis[i];
    if body.identifier.as_deref().is_some_and(|id| id != api.identifier) {
        return Err(ApiError::BadRequest("identifier cannot change: tokens already carry it".into()));
    }
    if let Some(n) = body.name {
        api.name = n;
    }
    if let Some(s) = body.scopes {
        api.scopes = scopes_of(s);
    }
    if let Some(f) = body.access_token_format {
        api.access_token_format = f;
    }
    if let Some(ttl) = body.access_token_ttl_secs {
        api.access_token_ttl_secs = ttl;
    }
    validate_api(api).map_err(ApiError::BadRequest)?;
    app.store.put_tenant(&t).await?;
    Ok(json_no_store(StatusCode::OK, &view(&t.apis[i])))
}

/// Deletes an API. Refused (409) while an identity validator is linked to it: unlinking it
/// silently would leave that validator serving every API. Clients that listed it simply can
/// no longer name it.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/apis/{api}", tag = "apis", operation_id = "delete_api",
    responses((status = 204, description = "Deleted"), NotFound, Conflict, Denied))]
pub async fn delete(app: &App, tenant: &str, name: &str) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    let i = index_of(&t, name)?;
    let id = t.apis[i].id.clone();
    let linked: Vec<&str> =
        t.identity_validators.iter().filter(|v| v.apis.contains(&id)).map(|v| v.id.as_str()).collect();
    if !linked.is_empty() {
        return Err(ApiError::Conflict(format!(
            "identity validators {} are linked to this API; unlink them first",
            linked.join(", ")
        )));
    }
    t.apis.remove(i);
    app.store.put_tenant(&t).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

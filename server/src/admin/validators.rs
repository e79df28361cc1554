//! Identity validators of a tenant (API.md): create, list, read, change, delete. A validator
//! is an HTTP endpoint the password grant asks about a username and password
//! (`crate::grants::password`). Its headers often hold a credential of its own, so their
//! values are never shown back, only their names. Validators are kept in the tenant record,
//! like APIs; every change is a read-modify-write of the tenant under the admin write lock.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::model::{
    DEFAULT_VALIDATOR_TIMEOUT_MS, IdentityValidator, MAX_VALIDATORS_PER_TENANT, Tenant, ValidatorHeader,
    validate_validator,
};
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, Invalid, NotFound};
use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, empty, json_no_store};
use crate::util::now;

/// `POST .../identity-validators`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatorCreateBody {
    /// A name for the operator and the logs, 1 to 200 bytes.
    name: String,
    /// Where to POST: an absolute `http` or `https` URL. Redirects are never followed.
    url: String,
    /// How long to wait for its answer, 100 to 30000 ms (default 3000).
    #[serde(default)]
    timeout_ms: Option<u32>,
    /// Headers sent with every call (name to value), at most 16; never shown back.
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    /// The APIs (ids or identifiers) it serves; none: every API, and requests naming none.
    #[serde(default)]
    apis: Vec<String>,
}

/// `PATCH .../identity-validators/{id}`: any of the fields; `headers` replaces them all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidatorPatchBody {
    /// A new name.
    #[serde(default)]
    name: Option<String>,
    /// A new URL.
    #[serde(default)]
    url: Option<String>,
    /// A new timeout.
    #[serde(default)]
    timeout_ms: Option<u32>,
    /// The new headers, replacing every one.
    #[serde(default)]
    headers: Option<std::collections::BTreeMap<String, String>>,
    /// The new list of APIs; empty: every API.
    #[serde(default)]
    apis: Option<Vec<String>>,
}

/// An identity validator as the admin API shows it.
#[derive(Serialize, ToSchema)]
pub struct ValidatorView<'a> {
    /// Its id.
    id: &'a str,
    /// Its name.
    name: &'a str,
    /// Where it is called.
    url: &'a str,
    /// How long its answer is waited for, in milliseconds.
    timeout_ms: u32,
    /// The names of the headers it is sent (their values are never shown).
    headers: Vec<&'a str>,
    /// The ids of the APIs it serves; empty: every API.
    apis: &'a [String],
    /// When it was created: validators are asked newest first.
    created_at: i64,
    /// Whether this node skips it now because it kept failing (its circuit is open).
    circuit_open: bool,
}

/// `GET .../identity-validators`.
#[derive(Serialize, ToSchema)]
pub struct ValidatorList<'a> {
    /// The tenant's validators, oldest first.
    identity_validators: Vec<ValidatorView<'a>>,
}

fn view<'a>(app: &App, v: &'a IdentityValidator) -> ValidatorView<'a> {
    ValidatorView {
        id: &v.id,
        name: &v.name,
        url: &v.url,
        timeout_ms: v.timeout_ms,
        headers: v.headers.iter().map(|h| h.name.as_str()).collect(),
        apis: &v.apis,
        created_at: v.created_at,
        circuit_open: app.validators.is_open(&v.id),
    }
}

fn headers_of(map: std::collections::BTreeMap<String, String>) -> Vec<ValidatorHeader> {
    map.into_iter().map(|(name, value)| ValidatorHeader { name, value }).collect()
}

fn index_of(tenant: &Tenant, id: &str) -> Result<usize, ApiError> {
    tenant.identity_validators.iter().position(|v| v.id == id).ok_or(ApiError::NotFound("identity validator"))
}

/// Creates an identity validator: the newest, so asked first.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/identity-validators", tag = "identity-validators",
    operation_id = "create_identity_validator", request_body = ValidatorCreateBody,
    responses((status = 201, description = "The validator", body = ValidatorView), Invalid, NotFound, Conflict, Denied))]
pub async fn create(app: &App, tenant: &str, body: ValidatorCreateBody) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    if t.identity_validators.len() >= MAX_VALIDATORS_PER_TENANT {
        return Err(ApiError::Conflict(format!(
            "a tenant has at most {MAX_VALIDATORS_PER_TENANT} identity validators"
        )));
    }
    // Validators are asked newest first, by creation second: one made within the same second
    // as the newest is given the next second, so a script adding several in a row gets the
    // order it added them in.
    let newest = t.identity_validators.iter().map(|v| v.created_at).max();
    let created_at = newest.map_or(now(), |n| now().max(n + 1));
    let v = IdentityValidator {
        id: super::new_id()?,
        name: body.name,
        url: body.url,
        timeout_ms: body.timeout_ms.unwrap_or(DEFAULT_VALIDATOR_TIMEOUT_MS),
        headers: headers_of(body.headers),
        apis: t.api_ids(&body.apis).map_err(|e| ApiError::BadRequest(format!("apis: {e}")))?,
        created_at,
    };
    validate_validator(&v).map_err(ApiError::BadRequest)?;
    t.identity_validators.push(v);
    app.store.put_tenant(&t).await?;
    let created = t
        .identity_validators
        .last()
        .ok_or_else(|| ApiError::Internal("the validator just added is gone".into()))?;
    Ok(json_no_store(StatusCode::CREATED, &view(app, created)))
}

/// Lists a tenant's identity validators.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/identity-validators", tag = "identity-validators",
    operation_id = "list_identity_validators",
    responses((status = 200, description = "The validators", body = ValidatorList), NotFound, Denied))]
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    let t = tenant_or_404(app, tenant).await?;
    let list =
        ValidatorList { identity_validators: t.identity_validators.iter().map(|v| view(app, v)).collect() };
    Ok(json_no_store(StatusCode::OK, &list))
}

/// Reads an identity validator.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/identity-validators/{validator}", tag = "identity-validators",
    operation_id = "get_identity_validator",
    responses((status = 200, description = "The validator", body = ValidatorView), NotFound, Denied))]
pub async fn get(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let t = tenant_or_404(app, tenant).await?;
    let i = index_of(&t, id)?;
    Ok(json_no_store(StatusCode::OK, &view(app, &t.identity_validators[i])))
}

/// Changes an identity validator. Its place in the order (its creation time) stays.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/identity-validators/{validator}", tag = "identity-validators",
    operation_id = "patch_identity_validator", request_body = ValidatorPatchBody,
    responses((status = 200, description = "The changed validator", body = ValidatorView), Invalid, NotFound, Denied))]
pub async fn patch(app: &App, tenant: &str, id: &str, body: ValidatorPatchBody) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    let i = index_of(&t, id)?;
    let apis = body
        .apis
        .as_deref()
        .map(|names| t.api_ids(names))
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("apis: {e}")))?;
    let v = &mut t.identity_validators[i];
    if let Some(name) = body.name {
        v.name = name;
    }
    if let Some(url) = body.url {
        v.url = url;
    }
    if let Some(timeout) = body.timeout_ms {
        v.timeout_ms = timeout;
    }
    if let Some(headers) = body.headers {
        v.headers = headers_of(headers);
    }
    if let Some(apis) = apis {
        v.apis = apis;
    }
    validate_validator(v).map_err(ApiError::BadRequest)?;
    app.store.put_tenant(&t).await?;
    Ok(json_no_store(StatusCode::OK, &view(app, &t.identity_validators[i])))
}

/// Deletes an identity validator.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/identity-validators/{validator}", tag = "identity-validators",
    operation_id = "delete_identity_validator",
    responses((status = 204, description = "Deleted"), NotFound, Denied))]
pub async fn delete(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    let i = index_of(&t, id)?;
    t.identity_validators.remove(i);
    app.store.put_tenant(&t).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

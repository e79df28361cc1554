//! Trusted issuers of a tenant (API.md): create, list, read, change, delete. A trusted issuer
//! is a partner whose signed assertions the JWT bearer grant exchanges for the tenant's tokens
//! (`crate::grants::jwt_bearer`). Its keys are public (a `jwks_uri` or an inline JWK Set), so
//! they are shown back. Kept in the tenant record, like identity validators; every change is a
//! read-modify-write of the tenant under the admin write lock.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::grants::jwt_bearer::{ALLOWED_ALGS, key_fits};
use tessera_core::model::{
    MAX_NAME_BYTES, MAX_TRUSTED_ISSUERS_PER_TENANT, Tenant, TrustedIssuer, clip, validate_trusted_issuer,
};
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, Invalid, NotFound};
use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, empty, json_no_store};
use crate::util::now;

/// `POST .../trusted-issuers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuerCreateBody {
    /// A name for the operator and the logs, 1 to 200 bytes; absent: the issuer (its first
    /// 200 bytes).
    #[serde(default)]
    name: Option<String>,
    /// The `iss` of its assertions (an absolute URI), unique in the tenant.
    issuer: String,
    /// Where its JWK Set is fetched (`http` or `https`); exactly one of this and `jwks`.
    #[serde(default)]
    jwks_uri: Option<String>,
    /// Its JWK Set inline (public keys: RSA, EC P-256/P-384 or Ed25519); exactly one of
    /// this and `jwks_uri`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// The subjects it may assert: `*` matches any run of characters (`*@partner.example`);
    /// absent: any.
    #[serde(default)]
    allowed_subjects: Option<String>,
    /// An `aud` its assertions may carry besides the tenant's issuer and token endpoint URL.
    #[serde(default)]
    audience: Option<String>,
    /// Its subjects become `{subject_prefix}:{sub}`; absent: `sub` as it is.
    #[serde(default)]
    subject_prefix: Option<String>,
}

/// `PATCH .../trusted-issuers/{id}`: any of the fields; `null` clears an optional one.
/// Setting `jwks_uri` drops an inline `jwks`, and the other way round.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuerPatchBody {
    /// A new name.
    #[serde(default)]
    name: Option<String>,
    /// A new `iss`.
    #[serde(default)]
    issuer: Option<String>,
    /// A new JWK Set URL.
    #[serde(default)]
    jwks_uri: Option<String>,
    /// A new inline JWK Set.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// A new subject pattern, or `null`: any subject.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    allowed_subjects: Option<Option<String>>,
    /// A new extra audience, or `null`: none.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    audience: Option<Option<String>>,
    /// A new subject prefix, or `null`: `sub` as it is.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    subject_prefix: Option<Option<String>>,
}

/// A trusted issuer as the admin API shows it.
#[derive(Serialize, ToSchema)]
pub struct TrustedIssuerView<'a> {
    /// Its id.
    id: &'a str,
    /// Its name.
    name: &'a str,
    /// The `iss` of its assertions.
    issuer: &'a str,
    /// Where its JWK Set is fetched, if there.
    jwks_uri: Option<&'a str>,
    /// Its inline JWK Set, if any.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// The subjects it may assert; `null`: any.
    allowed_subjects: Option<&'a str>,
    /// The extra `aud` its assertions may carry.
    audience: Option<&'a str>,
    /// The prefix of its subjects; `null`: `sub` as it is.
    subject_prefix: Option<&'a str>,
    /// When it was created.
    created_at: i64,
}

/// `GET .../trusted-issuers`.
#[derive(Serialize, ToSchema)]
pub struct TrustedIssuerList<'a> {
    /// The tenant's trusted issuers, oldest first.
    trusted_issuers: Vec<TrustedIssuerView<'a>>,
}

fn view(t: &TrustedIssuer) -> TrustedIssuerView<'_> {
    TrustedIssuerView {
        id: &t.id,
        name: &t.name,
        issuer: &t.issuer,
        jwks_uri: t.jwks_uri.as_deref(),
        jwks: t.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
        allowed_subjects: t.allowed_subjects.as_deref(),
        audience: t.audience.as_deref(),
        subject_prefix: t.subject_prefix.as_deref(),
        created_at: t.created_at,
    }
}

/// An inline JWK Set as stored: its JSON text, once every key in it is a public signing key
/// the grant can use (a private or symmetric key is refused: the tenant must not hold the
/// partner's signing secret).
fn inline_jwks(value: serde_json::Value) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::BadRequest(format!("jwks: {why}"));
    let keys = value.get("keys").and_then(serde_json::Value::as_array).ok_or_else(|| bad("not a JWK Set"))?;
    if keys.is_empty() {
        return Err(bad("no keys"));
    }
    for key in keys {
        let object = key.as_object().ok_or_else(|| bad("a key is not an object"))?;
        if ["d", "p", "q", "k"].iter().any(|private| object.contains_key(*private)) {
            return Err(bad("a key holds private or symmetric material"));
        }
        if !ALLOWED_ALGS.iter().any(|alg| key_fits(object, alg)) {
            return Err(bad("a key is not an RSA, EC P-256/P-384 or Ed25519 signing key"));
        }
        let parsed: Result<jsonwebtoken::jwk::Jwk, _> = serde_json::from_value(key.clone());
        if parsed.is_err() {
            return Err(bad("a key does not parse"));
        }
    }
    Ok(value.to_string())
}

fn index_of(tenant: &Tenant, id: &str) -> Result<usize, ApiError> {
    tenant.trusted_issuers.iter().position(|t| t.id == id).ok_or(ApiError::NotFound("trusted issuer"))
}

fn check(tenant: &Tenant, i: usize) -> Result<(), ApiError> {
    let t = &tenant.trusted_issuers[i];
    validate_trusted_issuer(t).map_err(ApiError::BadRequest)?;
    if tenant.trusted_issuers.iter().enumerate().any(|(j, o)| j != i && o.issuer == t.issuer) {
        return Err(ApiError::Conflict(format!("issuer {} is trusted already", t.issuer)));
    }
    Ok(())
}

/// Creates a trusted issuer.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/trusted-issuers", tag = "trusted-issuers",
    operation_id = "create_trusted_issuer", request_body = TrustedIssuerCreateBody,
    responses((status = 201, description = "The trusted issuer", body = TrustedIssuerView), Invalid, NotFound, Conflict, Denied))]
pub async fn create(app: &App, tenant: &str, body: TrustedIssuerCreateBody) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    if t.trusted_issuers.len() >= MAX_TRUSTED_ISSUERS_PER_TENANT {
        return Err(ApiError::Conflict(format!(
            "a tenant has at most {MAX_TRUSTED_ISSUERS_PER_TENANT} trusted issuers"
        )));
    }
    t.trusted_issuers.push(TrustedIssuer {
        id: super::new_id()?,
        name: body.name.unwrap_or_else(|| clip(&body.issuer, MAX_NAME_BYTES)),
        issuer: body.issuer,
        jwks_uri: body.jwks_uri,
        jwks: body.jwks.map(inline_jwks).transpose()?,
        allowed_subjects: body.allowed_subjects,
        audience: body.audience,
        subject_prefix: body.subject_prefix,
        created_at: now(),
    });
    let i = t.trusted_issuers.len() - 1;
    check(&t, i)?;
    app.store.put_tenant(&t).await?;
    Ok(json_no_store(StatusCode::CREATED, &view(&t.trusted_issuers[i])))
}

/// Lists a tenant's trusted issuers.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/trusted-issuers", tag = "trusted-issuers",
    operation_id = "list_trusted_issuers",
    responses((status = 200, description = "The trusted issuers", body = TrustedIssuerList), NotFound, Denied))]
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    let t = tenant_or_404(app, tenant).await?;
    let list = TrustedIssuerList { trusted_issuers: t.trusted_issuers.iter().map(view).collect() };
    Ok(json_no_store(StatusCode::OK, &list))
}

/// Reads a trusted issuer.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/trusted-issuers/{trusted_issuer}", tag = "trusted-issuers",
    operation_id = "get_trusted_issuer",
    responses((status = 200, description = "The trusted issuer", body = TrustedIssuerView), NotFound, Denied))]
pub async fn get(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let t = tenant_or_404(app, tenant).await?;
    let i = index_of(&t, id)?;
    Ok(json_no_store(StatusCode::OK, &view(&t.trusted_issuers[i])))
}

/// Changes a trusted issuer. Its fetched keys are fetched again at the next assertion.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/trusted-issuers/{trusted_issuer}", tag = "trusted-issuers",
    operation_id = "patch_trusted_issuer", request_body = TrustedIssuerPatchBody,
    responses((status = 200, description = "The changed trusted issuer", body = TrustedIssuerView), Invalid, NotFound, Conflict, Denied))]
pub async fn patch(
    app: &App,
    tenant: &str,
    id: &str,
    body: TrustedIssuerPatchBody,
) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    let i = index_of(&t, id)?;
    let jwks = body.jwks.map(inline_jwks).transpose()?;
    let issuer = &mut t.trusted_issuers[i];
    if let Some(name) = body.name {
        issuer.name = name;
    }
    if let Some(iss) = body.issuer {
        issuer.issuer = iss;
    }
    if let Some(uri) = body.jwks_uri {
        issuer.jwks_uri = Some(uri);
        issuer.jwks = None;
    }
    if let Some(jwks) = jwks {
        issuer.jwks = Some(jwks);
        issuer.jwks_uri = None;
    }
    if let Some(subjects) = body.allowed_subjects {
        issuer.allowed_subjects = subjects;
    }
    if let Some(audience) = body.audience {
        issuer.audience = audience;
    }
    if let Some(prefix) = body.subject_prefix {
        issuer.subject_prefix = prefix;
    }
    check(&t, i)?;
    app.store.put_tenant(&t).await?;
    app.issuer_keys.forget(id);
    Ok(json_no_store(StatusCode::OK, &view(&t.trusted_issuers[i])))
}

/// Deletes a trusted issuer: its assertions are refused from then on.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/trusted-issuers/{trusted_issuer}", tag = "trusted-issuers",
    operation_id = "delete_trusted_issuer",
    responses((status = 204, description = "Deleted"), NotFound, Denied))]
pub async fn delete(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    let i = index_of(&t, id)?;
    t.trusted_issuers.remove(i);
    app.store.put_tenant(&t).await?;
    app.issuer_keys.forget(id);
    Ok(empty(StatusCode::NO_CONTENT))
}

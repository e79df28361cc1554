//! External OpenID providers of a tenant (API.md): create, list, read, change, delete. A
//! provider is named by its issuer; its endpoints come from its discovery document, fetched
//! and checked when it is created, when its issuer changes, and on `refresh: true`
//! (`federation::upstream::discover`). The client secret is sealed before it is stored
//! (`federation::Federation::seal_secret`) and never shown. The answer carries
//! `redirect_uri`, the callback to register at the provider. Kept in the tenant record, like
//! trusted issuers; every change is a read-modify-write of the tenant under the admin write
//! lock.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::model::{
    ClaimMapping, Idp, MAX_IDPS_PER_TENANT, Tenant, is_valid_idp_issuer, validate_idp,
};
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, Invalid, NotFound};
use super::tenant_or_404;
use crate::app::App;
use crate::federation::upstream;
use crate::http::respond::{ApiError, Resp, empty, json_no_store};
use crate::util::now;

/// Scopes asked of a provider when none are given.
const DEFAULT_SCOPES: &str = "openid email profile";

/// One upstream claim copied into one local claim.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimMappingBody {
    /// The claim's name in the provider's ID token.
    upstream: String,
    /// The local claim it fills: a standard claim a local user keeps (`email`, `name`, ...).
    local: String,
}

/// `POST .../idps`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpCreateBody {
    /// Its id, in the callback URL and `idp_hint` (1 to 64 of `A-Z a-z 0-9 . _ -`), unique in
    /// the tenant; absent: a random one.
    #[serde(default)]
    id: Option<String>,
    /// The provider's issuer: its discovery document is read from
    /// `{issuer}/.well-known/openid-configuration` and must name this issuer exactly.
    issuer: String,
    /// The tenant's client id at the provider.
    client_id: String,
    /// The tenant's client secret at the provider; stored sealed, never shown.
    client_secret: String,
    /// The login button's label, 1 to 200 bytes; absent: the issuer's host.
    #[serde(default)]
    label: Option<String>,
    /// Scopes asked of the provider, space-separated, with `openid`; absent:
    /// `openid email profile`.
    #[serde(default)]
    scope: Option<String>,
    /// Upstream claims copied into local ones, besides (or instead of) the defaults: each
    /// standard claim from the upstream claim of the same name.
    #[serde(default)]
    claim_mappings: Vec<ClaimMappingBody>,
    /// Whether a first sign-in links to the local user with the provider's verified e-mail
    /// address (only if the provider is trusted to verify addresses); default false.
    #[serde(default)]
    link_by_email: bool,
    /// Whether a first sign-in without a local user creates one; default true.
    #[serde(default = "yes")]
    jit_provisioning: bool,
    /// E-mail domains whose `login_hint` goes straight to this provider.
    #[serde(default)]
    domains: Vec<String>,
}

fn yes() -> bool {
    true
}

/// `PATCH .../idps/{id}`: any of the fields; `refresh: true` reads the discovery document
/// again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpPatchBody {
    /// A new issuer (its discovery document is read).
    #[serde(default)]
    issuer: Option<String>,
    /// A new client id.
    #[serde(default)]
    client_id: Option<String>,
    /// A new client secret.
    #[serde(default)]
    client_secret: Option<String>,
    /// A new label.
    #[serde(default)]
    label: Option<String>,
    /// New scopes.
    #[serde(default)]
    scope: Option<String>,
    /// New claim mappings (replacing the old ones).
    #[serde(default)]
    claim_mappings: Option<Vec<ClaimMappingBody>>,
    /// Link by verified e-mail, or not.
    #[serde(default)]
    link_by_email: Option<bool>,
    /// Provision just in time, or not.
    #[serde(default)]
    jit_provisioning: Option<bool>,
    /// New `login_hint` domains.
    #[serde(default)]
    domains: Option<Vec<String>>,
    /// Read the discovery document again.
    #[serde(default)]
    refresh: bool,
}

/// An identity provider as the admin API shows it (never its secret).
#[derive(Serialize, ToSchema)]
pub struct IdpView<'a> {
    /// Its id.
    id: &'a str,
    /// The login button's label.
    label: &'a str,
    /// The provider's issuer.
    issuer: &'a str,
    /// The tenant's client id there.
    client_id: &'a str,
    /// The scopes asked, space-separated.
    scope: &'a str,
    /// The operator's claim mappings.
    claim_mappings: Vec<ClaimMappingBody>,
    /// Whether a first sign-in links by verified e-mail.
    link_by_email: bool,
    /// Whether a first sign-in may create a local user.
    jit_provisioning: bool,
    /// The `login_hint` domains.
    domains: &'a [String],
    /// The callback to register at the provider.
    redirect_uri: String,
    /// From its discovery document.
    authorization_endpoint: &'a str,
    /// From its discovery document.
    token_endpoint: &'a str,
    /// From its discovery document.
    jwks_uri: &'a str,
    /// When its discovery document was last read.
    discovered_at: i64,
    /// When it was created.
    created_at: i64,
}

/// `GET .../idps`.
#[derive(Serialize, ToSchema)]
pub struct IdpList<'a> {
    /// The tenant's identity providers, oldest first.
    idps: Vec<IdpView<'a>>,
}

fn view<'a>(app: &App, tenant: &str, idp: &'a Idp) -> IdpView<'a> {
    IdpView {
        id: &idp.id,
        label: &idp.label,
        issuer: &idp.issuer,
        client_id: &idp.client_id,
        scope: &idp.scope,
        claim_mappings: idp
            .claim_mappings
            .iter()
            .map(|m| ClaimMappingBody { upstream: m.upstream.clone(), local: m.local.clone() })
            .collect(),
        link_by_email: idp.link_by_email,
        jit_provisioning: idp.jit_provisioning,
        domains: &idp.domains,
        redirect_uri: crate::web::callback_uri(&format!("{}/t/{tenant}", app.public_url), &idp.id),
        authorization_endpoint: &idp.endpoints.authorization_endpoint,
        token_endpoint: &idp.endpoints.token_endpoint,
        jwks_uri: &idp.endpoints.jwks_uri,
        discovered_at: idp.endpoints.discovered_at,
        created_at: idp.created_at,
    }
}

fn mappings(body: Vec<ClaimMappingBody>) -> Vec<ClaimMapping> {
    body.into_iter().map(|m| ClaimMapping { upstream: m.upstream, local: m.local }).collect()
}

fn index_of(tenant: &Tenant, id: &str) -> Result<usize, ApiError> {
    tenant.idps.iter().position(|i| i.id == id).ok_or(ApiError::NotFound("identity provider"))
}

fn check(tenant: &Tenant, i: usize) -> Result<(), ApiError> {
    let idp = &tenant.idps[i];
    validate_idp(idp).map_err(ApiError::BadRequest)?;
    for (j, other) in tenant.idps.iter().enumerate().filter(|(j, _)| *j != i) {
        if other.issuer == idp.issuer {
            return Err(ApiError::Conflict(format!("the issuer {} is a provider already", idp.issuer)));
        }
        if let Some(d) = idp.domains.iter().find(|d| other.domains.iter().any(|o| o.eq_ignore_ascii_case(d)))
        {
            return Err(ApiError::Conflict(format!(
                "the domain {d} belongs to provider {}",
                tenant.idps[j].id
            )));
        }
    }
    Ok(())
}

/// The secret as stored, refusing an empty or oversized one.
fn seal(app: &App, tenant: &str, id: &str, secret: &str) -> Result<Vec<u8>, ApiError> {
    if secret.is_empty() || secret.len() > 512 {
        return Err(ApiError::BadRequest("client_secret must be 1 to 512 bytes".into()));
    }
    app.federation.seal_secret(tenant, id, secret).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The provider's endpoints, from its discovery document: a provider that cannot be read or
/// does not qualify is refused with why (400), never stored half-known.
async fn discover(app: &App, issuer: &str) -> Result<tessera_core::model::IdpEndpoints, ApiError> {
    if !is_valid_idp_issuer(issuer) {
        return Err(ApiError::BadRequest(
            "issuer must be an http or https URL without a query or fragment".into(),
        ));
    }
    upstream::discover(app, issuer, now()).await.map_err(|e| ApiError::BadRequest(format!("issuer: {e}")))
}

/// The button label when none is given: the issuer's host.
fn default_name(issuer: &str) -> String {
    let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).chars().take(200).collect()
}

/// Creates an identity provider: its discovery document is read first.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/idps", tag = "idps",
    operation_id = "create_idp", request_body = IdpCreateBody,
    responses((status = 201, description = "The identity provider", body = IdpView), Invalid, NotFound, Conflict, Denied))]
pub async fn create(app: &App, tenant: &str, body: IdpCreateBody) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    if t.idps.len() >= MAX_IDPS_PER_TENANT {
        return Err(ApiError::Conflict(format!(
            "a tenant has at most {MAX_IDPS_PER_TENANT} identity providers"
        )));
    }
    if t.idps.iter().any(|i| i.issuer == body.issuer) {
        return Err(ApiError::Conflict(format!("the issuer {} is a provider already", body.issuer)));
    }
    let endpoints = discover(app, &body.issuer).await?;
    let id = match body.id {
        Some(id) if !tessera_core::model::is_valid_new_id(&id) => {
            return Err(ApiError::BadRequest("id must be 1 to 64 of A-Z a-z 0-9 . _ -".into()));
        }
        Some(id) if t.idp(&id).is_some() => {
            return Err(ApiError::Conflict(format!("identity provider {id} exists already")));
        }
        Some(id) => id,
        None => super::new_id()?,
    };
    t.idps.push(Idp {
        sealed_secret: seal(app, tenant, &id, &body.client_secret)?,
        id,
        label: body.label.unwrap_or_else(|| default_name(&body.issuer)),
        issuer: body.issuer,
        client_id: body.client_id,
        scope: body.scope.unwrap_or_else(|| DEFAULT_SCOPES.to_owned()),
        claim_mappings: mappings(body.claim_mappings),
        link_by_email: body.link_by_email,
        jit_provisioning: body.jit_provisioning,
        domains: body.domains,
        endpoints,
        created_at: now(),
    });
    let i = t.idps.len() - 1;
    check(&t, i)?;
    app.store.put_tenant(&t).await?;
    Ok(json_no_store(StatusCode::CREATED, &view(app, tenant, &t.idps[i])))
}

/// Lists a tenant's identity providers.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/idps", tag = "idps", operation_id = "list_idps",
    responses((status = 200, description = "The identity providers", body = IdpList), NotFound, Denied))]
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    let t = tenant_or_404(app, tenant).await?;
    let list = IdpList { idps: t.idps.iter().map(|i| view(app, tenant, i)).collect() };
    Ok(json_no_store(StatusCode::OK, &list))
}

/// Reads an identity provider.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/idps/{idp}", tag = "idps", operation_id = "get_idp",
    responses((status = 200, description = "The identity provider", body = IdpView), NotFound, Denied))]
pub async fn get(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let t = tenant_or_404(app, tenant).await?;
    let i = index_of(&t, id)?;
    Ok(json_no_store(StatusCode::OK, &view(app, tenant, &t.idps[i])))
}

/// Changes an identity provider; a new issuer, or `refresh`, reads its discovery document.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/idps/{idp}", tag = "idps", operation_id = "patch_idp",
    request_body = IdpPatchBody,
    responses((status = 200, description = "The changed identity provider", body = IdpView), Invalid, NotFound, Conflict, Denied))]
pub async fn patch(app: &App, tenant: &str, id: &str, body: IdpPatchBody) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    let i = index_of(&t, id)?;
    let issuer = body.issuer.clone().unwrap_or_else(|| t.idps[i].issuer.clone());
    let endpoints =
        if body.refresh || body.issuer.is_some() { Some(discover(app, &issuer).await?) } else { None };
    let sealed = body.client_secret.as_deref().map(|s| seal(app, tenant, id, s)).transpose()?;
    let idp = &mut t.idps[i];
    idp.issuer = issuer;
    if let Some(endpoints) = endpoints {
        idp.endpoints = endpoints;
    }
    if let Some(sealed) = sealed {
        idp.sealed_secret = sealed;
    }
    if let Some(client_id) = body.client_id {
        idp.client_id = client_id;
    }
    if let Some(label) = body.label {
        idp.label = label;
    }
    if let Some(scope) = body.scope {
        idp.scope = scope;
    }
    if let Some(m) = body.claim_mappings {
        idp.claim_mappings = mappings(m);
    }
    if let Some(link) = body.link_by_email {
        idp.link_by_email = link;
    }
    if let Some(jit) = body.jit_provisioning {
        idp.jit_provisioning = jit;
    }
    if let Some(domains) = body.domains {
        idp.domains = domains;
    }
    check(&t, i)?;
    app.store.put_tenant(&t).await?;
    app.issuer_keys.forget(&upstream::keys_cache_id(tenant, id));
    Ok(json_no_store(StatusCode::OK, &view(app, tenant, &t.idps[i])))
}

/// Deletes an identity provider: its button goes, and sign-ins in progress there fail. The
/// users it provisioned stay, with their links (a provider registered again has a new id).
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/idps/{idp}", tag = "idps", operation_id = "delete_idp",
    responses((status = 204, description = "Deleted"), NotFound, Denied))]
pub async fn delete(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let mut t = (*tenant_or_404(app, tenant).await?).clone();
    let i = index_of(&t, id)?;
    t.idps.remove(i);
    app.store.put_tenant(&t).await?;
    app.issuer_keys.forget(&upstream::keys_cache_id(tenant, id));
    Ok(empty(StatusCode::NO_CONTENT))
}

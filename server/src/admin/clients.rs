//! Clients of a tenant with RFC 7591 metadata: register (the secret is generated, returned
//! once and stored as a digest), list, read, change, delete, and rotate the secret.
//!
//! Besides RFC 7591's fields the metadata carries Tessera extensions: `access_token_format`,
//! `first_party` (skip consent), `allow_plain_pkce` (accept `code_challenge_method=plain`,
//! off by default; RFC 7636 4.2 keeps `plain` for clients that cannot do S256) and
//! `token_rate_limit` (the client's own token-endpoint quota, overriding its tenant's).
//!
//! The CORS origins follow these changes through the store's change feed (`crate::feed`),
//! which has forgotten a tenant's origins by the time a client write here resolves.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::model::{
    AccessTokenFormat, Client, GrantType, NEW_ID_RULE, RateLimitOverride, SigningAlg, Tenant,
    TokenEndpointAuthMethod, is_valid_new_id, is_valid_resource,
};
use tessera_core::{registration, scope, secret};
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, Invalid, NotFound};
use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, ErrorBody, Resp, json_no_store};
use crate::util::now;

/// Most redirect URIs (and post-logout redirect URIs) a client may register.
const MAX_URIS: usize = 32;

/// Client metadata as sent to create or change a client (RFC 7591 2, with Tessera's
/// extensions). Every field is optional in a PATCH; in a POST `grant_types` is required.
/// Values are strings here and checked when applied, so a refused one is answered
/// `invalid_client_metadata` (RFC 7591 3.2.2).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientMetadata {
    /// The client id to register (generated when absent); in a PATCH, only the current one.
    #[serde(default)]
    client_id: Option<String>,
    /// A human-readable name, at most 200 printable characters.
    #[serde(default)]
    client_name: Option<String>,
    /// `authorization_code`, `implicit`, `refresh_token`, `client_credentials`, `password`,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer`.
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    /// Absolute URIs without a fragment, at most 32.
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
    /// Response types, agreeing with the grant types (RFC 7591 2.1).
    #[serde(default)]
    response_types: Option<Vec<String>>,
    /// Space-separated scope values the client may ask for.
    #[serde(default)]
    scope: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post` or `none` (a public client).
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    /// `jwt` (default) or `opaque`.
    #[serde(default)]
    access_token_format: Option<String>,
    /// `ES256`, `ES384`, `RS256` (default) or `EdDSA`.
    #[serde(default)]
    id_token_signed_response_alg: Option<String>,
    /// Where RP-Initiated Logout may return to; absolute URIs, at most 32.
    #[serde(default)]
    post_logout_redirect_uris: Option<Vec<String>>,
    /// Skip the consent page.
    #[serde(default)]
    first_party: Option<bool>,
    /// Accept `code_challenge_method=plain` (RFC 7636 4.2).
    #[serde(default)]
    allow_plain_pkce: Option<bool>,
    /// The APIs (ids or identifiers) the client may ask tokens for with RFC 8707 `resource`;
    /// `null`: every API of the tenant (the default).
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    apis: Option<Option<Vec<String>>>,
    /// The client's own token-endpoint quota: `{"per_second": n, "burst": m}`, or
    /// `"unlimited"`; `null` takes the tenant's `token_rate_limit` again.
    #[serde(default, deserialize_with = "super::nullable")]
    token_rate_limit: Option<Option<RateLimitOverride>>,
}

/// A client as the API shows it (RFC 7591 3.2.1): never the secret's digest, and the secret
/// itself only in the answer that made it.
#[derive(Serialize, ToSchema)]
pub struct ClientView<'a> {
    /// The client id.
    client_id: &'a str,
    /// Its name.
    client_name: &'a str,
    /// The grant types it may use.
    grant_types: Vec<&'static str>,
    /// Its redirect URIs.
    redirect_uris: &'a [String],
    /// Its response types.
    response_types: &'a [String],
    /// Space-separated scope values it may ask for.
    scope: String,
    /// How it authenticates at the token endpoint.
    token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// How its access tokens are issued.
    access_token_format: AccessTokenFormat,
    /// The algorithm of its ID tokens.
    id_token_signed_response_alg: &'static str,
    /// Where RP-Initiated Logout may return to.
    post_logout_redirect_uris: &'a [String],
    /// Whether consent is skipped.
    first_party: bool,
    /// Whether `code_challenge_method=plain` is accepted.
    allow_plain_pkce: bool,
    /// Its own token-endpoint quota (`{"per_second": n, "burst": m}` or `"unlimited"`);
    /// `null`: the tenant's `token_rate_limit`.
    token_rate_limit: Option<RateLimitOverride>,
    /// When it was registered, in seconds since the epoch.
    client_id_issued_at: i64,
    /// The ids of the APIs it may ask tokens for; `null`: every API of the tenant.
    apis: Option<&'a [String]>,
    /// The secret: only in the answer that made it (registration, rotation, a public client
    /// made confidential), shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    /// 0, with a secret: it does not expire (RFC 7591 3.2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<i64>,
}

/// `GET .../clients`.
#[derive(Serialize, ToSchema)]
pub struct ClientList<'a> {
    /// The tenant's clients, without secrets.
    clients: Vec<ClientView<'a>>,
}

fn view<'a>(c: &'a Client, secret: Option<&'a str>) -> ClientView<'a> {
    ClientView {
        client_id: &c.client_id,
        client_name: &c.client_name,
        grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
        redirect_uris: &c.redirect_uris,
        response_types: &c.response_types,
        scope: c.scope.join(" "),
        token_endpoint_auth_method: c.token_endpoint_auth_method,
        access_token_format: c.access_token_format,
        id_token_signed_response_alg: c.id_token_signed_response_alg.as_str(),
        post_logout_redirect_uris: &c.post_logout_redirect_uris,
        first_party: c.first_party,
        allow_plain_pkce: c.pkce_plain_allowed,
        token_rate_limit: c.token_rate_limit,
        client_id_issued_at: c.created_at,
        apis: c.apis.as_deref(),
        client_secret: secret,
        // RFC 7591 3.2.1: 0 means the secret does not expire.
        client_secret_expires_at: secret.map(|_| 0),
    }
}

/// Decodes client metadata from a request body. A body that is not a JSON object is a
/// malformed request, as everywhere in the admin API; an object whose members do not fit (a
/// value of the wrong type, a member Tessera does not know) is invalid metadata, RFC 7591
/// 3.2.2's `invalid_client_metadata`, like a value of the right type that is refused.
pub fn metadata_body(headers: &http::HeaderMap, body: &[u8]) -> Result<ClientMetadata, ApiError> {
    let value = super::json_object(headers, body)?;
    serde_json::from_value(value).map_err(|e| invalid(format!("invalid client metadata: {e}")))
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::InvalidClientMetadata(msg.into())
}

fn enum_value<T: serde::de::DeserializeOwned>(field: &str, value: &str) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|_| invalid(format!("{field} `{value}` is not supported")))
}

fn check_uris(field: &str, uris: &[String]) -> Result<(), ApiError> {
    if uris.len() > MAX_URIS {
        return Err(invalid(format!("at most {MAX_URIS} {field}")));
    }
    for uri in uris {
        if !is_acceptable_redirect_uri(uri) {
            return Err(invalid(format!("{field}: `{uri}` is not an absolute URI without a fragment")));
        }
    }
    Ok(())
}

/// RFC 6749 3.1.2: an absolute URI without a fragment (`is_valid_resource`, the grammar an
/// API identifier keeps too). Schemes that run code in a browser are refused, and
/// `http`/`https` URIs must name a host.
fn is_acceptable_redirect_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else { return false };
    let scheme = scheme.to_ascii_lowercase();
    let needs_host = scheme == "http" || scheme == "https";
    let host_ok = !needs_host
        || rest
            .strip_prefix("//")
            .is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.starts_with('?'));
    is_valid_resource(uri)
        && host_ok
        && !matches!(scheme.as_str(), "javascript" | "data" | "vbscript" | "file")
}

/// Applies metadata to a client (all fields for a new one, the given ones for a change) and
/// checks the result as a whole: a change that leaves the response types and grant types at
/// odds (RFC 7591 2.1) is refused, whichever of the two it touched.
fn apply(client: &mut Client, tenant: &Tenant, m: ClientMetadata) -> Result<(), ApiError> {
    if let Some(name) = m.client_name {
        if name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(invalid("client_name must be at most 200 printable characters"));
        }
        client.client_name = name;
    }
    if let Some(grants) = m.grant_types {
        let mut parsed: Vec<GrantType> = Vec::with_capacity(grants.len());
        for g in &grants {
            let grant =
                GrantType::parse(g).ok_or_else(|| invalid(format!("grant type `{g}` is not supported")))?;
            if !parsed.contains(&grant) {
                parsed.push(grant);
            }
        }
        client.grant_types = parsed;
    }
    if let Some(uris) = m.redirect_uris {
        check_uris("redirect_uris", &uris)?;
        client.redirect_uris = uris;
    }
    if let Some(uris) = m.post_logout_redirect_uris {
        check_uris("post_logout_redirect_uris", &uris)?;
        client.post_logout_redirect_uris = uris;
    }
    if let Some(types) = m.response_types {
        if types.len() > 8 {
            return Err(invalid("too many response_types"));
        }
        client.response_types = types;
    }
    if let Some(s) = m.scope {
        let values = scope::parse(&s).map_err(|e| invalid(e.description))?;
        client.scope = values.into_iter().map(str::to_owned).collect();
    }
    if let Some(method) = m.token_endpoint_auth_method {
        client.token_endpoint_auth_method = enum_value("token_endpoint_auth_method", &method)?;
    }
    if let Some(format) = m.access_token_format {
        client.access_token_format = enum_value("access_token_format", &format)?;
    }
    if let Some(alg) = m.id_token_signed_response_alg {
        client.id_token_signed_response_alg = SigningAlg::parse(&alg)
            .ok_or_else(|| invalid(format!("id_token_signed_response_alg `{alg}` is not supported")))?;
    }
    if let Some(first_party) = m.first_party {
        client.first_party = first_party;
    }
    if let Some(allow) = m.allow_plain_pkce {
        client.pkce_plain_allowed = allow;
    }
    if let Some(apis) = m.apis {
        client.apis = apis
            .map(|names| tenant.api_ids(&names))
            .transpose()
            .map_err(|e| invalid(format!("apis: {e}")))?;
    }
    if let Some(limit) = m.token_rate_limit {
        if let Some(own) = &limit {
            own.validate("token_rate_limit").map_err(invalid)?;
        }
        client.token_rate_limit = limit;
    }
    if client.grant_types.is_empty() {
        return Err(invalid("grant_types must name at least one grant"));
    }
    registration::check_response_types(client).map_err(|e| invalid(e.to_string()))?;
    if client.token_endpoint_auth_method == TokenEndpointAuthMethod::None
        && client.allows_grant(GrantType::ClientCredentials)
    {
        return Err(invalid(
            "a public client (token_endpoint_auth_method none) cannot use client_credentials",
        ));
    }
    // RFC 6749 4.3.2 and RFC 9700 2.4: a password grant without client authentication would
    // let anyone holding the client id test passwords.
    if client.token_endpoint_auth_method == TokenEndpointAuthMethod::None
        && client.allows_grant(GrantType::Password)
    {
        return Err(invalid("a public client (token_endpoint_auth_method none) cannot use password"));
    }
    // RFC 7523 3.1 leaves client authentication to the server: an assertion is a bearer
    // credential, and only an authenticated client may exchange it, so a leaked one is no
    // token to whoever reads it.
    if client.token_endpoint_auth_method == TokenEndpointAuthMethod::None
        && client.allows_grant(GrantType::JwtBearer)
    {
        return Err(invalid(format!(
            "a public client (token_endpoint_auth_method none) cannot use {}",
            GrantType::JwtBearer.as_str()
        )));
    }
    Ok(())
}

/// Registers a client.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/clients", tag = "clients", operation_id = "create_client",
    request_body = ClientMetadata,
    responses((status = 201, description = "The client, with its secret unless it is public", body = ClientView),
        Invalid, NotFound, Conflict, Denied))]
pub async fn create(app: &App, tenant: &str, mut m: ClientMetadata) -> Result<Resp, ApiError> {
    let stored_tenant = tenant_or_404(app, tenant).await?;
    if m.grant_types.is_none() {
        return Err(invalid("grant_types is required"));
    }
    let client_id = match m.client_id.take() {
        Some(id) if is_valid_new_id(&id) => id,
        Some(_) => return Err(invalid(format!("client_id must be {NEW_ID_RULE}"))),
        None => super::new_id()?,
    };
    let mut client = Client {
        tenant: tenant.to_owned(),
        client_id,
        client_name: String::new(),
        secret_digest: None,
        grant_types: Vec::new(),
        redirect_uris: Vec::new(),
        response_types: Vec::new(),
        scope: Vec::new(),
        token_endpoint_auth_method: TokenEndpointAuthMethod::default(),
        access_token_format: AccessTokenFormat::default(),
        id_token_signed_response_alg: SigningAlg::RS256,
        post_logout_redirect_uris: Vec::new(),
        first_party: false,
        created_at: now(),
        pkce_plain_allowed: false,
        grants_valid_from: 0,
        apis: None,
        token_rate_limit: None,
    };
    apply(&mut client, &stored_tenant, m)?;
    if app.store.client(tenant, &client.client_id).await?.is_some() {
        return Err(ApiError::Conflict(format!("client {} exists", client.client_id)));
    }
    let secret = match client.token_endpoint_auth_method {
        TokenEndpointAuthMethod::None => None,
        _ => Some(super::new_secret()?),
    };
    client.secret_digest = secret.as_deref().map(secret::digest);
    ensure_id_token_key(app, &client).await?;
    // The check above only spares a duplicate the key generation; the store decides, refusing
    // a taken id or a tenant deleted meanwhile with a `Conflict` (409), atomically.
    app.store.create_client(&client).await?;
    Ok(json_no_store(StatusCode::CREATED, &view(&client, secret.as_deref())))
}

async fn client_or_404(app: &App, tenant: &str, id: &str) -> Result<Client, ApiError> {
    tenant_or_404(app, tenant).await?;
    app.store.client(tenant, id).await?.map(|c| (*c).clone()).ok_or(ApiError::NotFound("client"))
}

/// Lists a tenant's clients.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/clients", tag = "clients", operation_id = "list_clients",
    responses((status = 200, description = "The clients", body = ClientList), NotFound, Denied))]
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    tenant_or_404(app, tenant).await?;
    let clients = app.store.clients(tenant).await?;
    let list = ClientList { clients: clients.iter().map(|c| view(c, None)).collect() };
    Ok(json_no_store(StatusCode::OK, &list))
}

/// Reads a client.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/clients/{client}", tag = "clients", operation_id = "get_client",
    responses((status = 200, description = "The client", body = ClientView), NotFound, Denied))]
pub async fn get(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let client = client_or_404(app, tenant, id).await?;
    Ok(json_no_store(StatusCode::OK, &view(&client, None)))
}

/// Changes a client's metadata. The id and secret are not changed here, but a public client
/// made confidential gets a secret, shown this once.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/clients/{client}", tag = "clients", operation_id = "patch_client",
    request_body = ClientMetadata,
    responses((status = 200, description = "The changed client", body = ClientView),
        Invalid, NotFound, Conflict, Denied))]
pub async fn patch(app: &App, tenant: &str, id: &str, m: ClientMetadata) -> Result<Resp, ApiError> {
    let stored_tenant = tenant_or_404(app, tenant).await?;
    let mut client = client_or_404(app, tenant, id).await?;
    if m.client_id.as_deref().is_some_and(|new| new != id) {
        return Err(invalid("client_id cannot be changed"));
    }
    let was_public = client.token_endpoint_auth_method == TokenEndpointAuthMethod::None;
    apply(&mut client, &stored_tenant, m)?;
    let is_public = client.token_endpoint_auth_method == TokenEndpointAuthMethod::None;
    let secret = match (was_public, is_public) {
        (true, false) => Some(super::new_secret()?),
        _ => None,
    };
    if is_public {
        client.secret_digest = None;
    } else if let Some(s) = &secret {
        client.secret_digest = Some(secret::digest(s));
    }
    ensure_id_token_key(app, &client).await?;
    app.store.put_client(&client).await?;
    Ok(json_no_store(StatusCode::OK, &view(&client, secret.as_deref())))
}

/// Makes sure the tenant has a current key for the algorithm the client's ID tokens are signed
/// with, before the client exists: a relying party fetches the JWKS when it starts (through
/// discovery), and a key created only when the first ID token is signed would be missing from
/// the set it holds.
async fn ensure_id_token_key(app: &App, client: &Client) -> Result<(), ApiError> {
    let gets_id_tokens = client.allows_grant(GrantType::AuthorizationCode)
        || client.response_types.iter().any(|t| t.split(' ').any(|part| part == "id_token"));
    if gets_id_tokens {
        app.keys.current_or_create(&client.tenant, client.id_token_signed_response_alg, now()).await?;
    }
    Ok(())
}

/// Deletes a client.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/clients/{client}", tag = "clients", operation_id = "delete_client",
    responses((status = 204, description = "Deleted"), NotFound, Conflict, Denied))]
pub async fn delete(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    client_or_404(app, tenant, id).await?;
    app.store.delete_client(tenant, id).await?;
    Ok(crate::http::respond::empty(StatusCode::NO_CONTENT))
}

/// Replaces a confidential client's secret; the new one is returned once.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/clients/{client}/secret", tag = "clients",
    operation_id = "rotate_client_secret",
    responses((status = 200, description = "The client with its new secret", body = ClientView),
        (status = 400, description = "A public client has no secret", body = ErrorBody),
        NotFound, Conflict, Denied))]
pub async fn rotate_secret(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let mut client = client_or_404(app, tenant, id).await?;
    if client.token_endpoint_auth_method == TokenEndpointAuthMethod::None {
        return Err(ApiError::BadRequest("a public client has no secret".into()));
    }
    let secret = super::new_secret()?;
    client.secret_digest = Some(secret::digest(&secret));
    app.store.put_client(&client).await?;
    Ok(json_no_store(StatusCode::OK, &view(&client, Some(&secret))))
}

#[cfg(test)]
mod tests {
    use super::is_acceptable_redirect_uri;

    #[test]
    fn redirect_uris() {
        for ok in ["https://app.example/cb", "http://127.0.0.1:9999/cb", "com.example.app:/oauth2redirect"] {
            assert!(is_acceptable_redirect_uri(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "http:x",
            "https:///path",
            "https://app.example/cb#frag",
            "/relative",
            "no-scheme",
            "https://app.example/a b",
        ] {
            assert!(!is_acceptable_redirect_uri(bad), "{bad}");
        }
    }
}

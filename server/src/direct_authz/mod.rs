//! `POST {public_url}/direct-authz/rest/v2`, the direct authorisation API (Connect2id
//! direct-authz v2; `core::direct_authz` owns the protocol). This module is the transport: it
//! names the tenant from the `Tenant-ID` or `Issuer` header, checks the tenant's bearer token
//! (stored as a digest; a token of one tenant is no token at another, and an unknown tenant is
//! answered like a wrong token so the API tells no tenant ids), reads the JSON body under a
//! limit, runs [`authorise`] and writes the answer or the error with its Connect2id status. A
//! refused call of a known tenant is recorded in its audit trail.

mod authorise;
pub mod jwe;
pub mod shared_key;

use std::net::IpAddr;

use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, Request, StatusCode};
use hyper::body::Incoming;
use tessera_core::direct_authz::{self, DirectAuthzError, MAX_BODY_BYTES};
use tessera_core::model::{Actor, EventType, Outcome};
use tessera_core::secret;

use crate::app::{App, TenantCx};
use crate::audit::{Bound, Draft};
use crate::http::body;
use crate::http::respond::{Resp, json_no_store};

/// Why an access token could not be encrypted with the tenant's shared key.
#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    /// The tenant has no shared key (any more: a refresh after the operator removed it).
    #[error("the tenant has no encryption key for access tokens")]
    NoKey,
    /// The stored key does not open.
    #[error(transparent)]
    Sealed(#[from] crate::sealing::SealError),
    /// The encryption failed.
    #[error(transparent)]
    Jwe(#[from] jwe::JweError),
}

/// `jws` encrypted with the tenant's shared key (`jwe`, `shared_key`), for a direct
/// authorisation's access token and for those its refresh tokens issue later.
pub fn encrypt_for(app: &App, cx: &TenantCx, jws: &str) -> Result<String, EncryptError> {
    let stored = cx.tenant.direct_authz_encryption.as_ref().ok_or(EncryptError::NoKey)?;
    let key = shared_key::open(&app.shared_keys, &cx.tenant.id, stored)?;
    Ok(jwe::encrypt(stored.alg, &key, jws)?)
}

/// Answers a request to the API from `peer`.
pub async fn handle(app: &App, req: Request<Incoming>, peer: IpAddr) -> Resp {
    if req.method() != Method::POST {
        let mut resp = json_no_store(
            StatusCode::METHOD_NOT_ALLOWED,
            &serde_json::json!({ "error": "method_not_allowed" }),
        );
        resp.headers_mut().insert(http::header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    match run(app, req, peer).await {
        Ok(answer) => json_no_store(StatusCode::OK, &answer),
        Err(err) => error_response(&err),
    }
}

async fn run(app: &App, req: Request<Incoming>, peer: IpAddr) -> Result<authorise::Answer, DirectAuthzError> {
    let cx = tenant_of(app, req.headers()).await?;
    let result = serve(app, &cx, req).await;
    if let Err(err) = &result {
        record_failure(app, &cx, err, peer);
    }
    result
}

/// Records a refused call in the tenant's audit trail (`token.failure`, action `direct_authz`,
/// the Connect2id error code as the reason): a wrong bearer token is someone guessing at the
/// tenant's credential. Bounded per tenant, as any failure an outsider can cause.
fn record_failure(app: &App, cx: &TenantCx, err: &DirectAuthzError, peer: IpAddr) {
    let draft = Draft {
        tenant: &cx.tenant.id,
        kind: EventType::TokenFailure,
        actor: Actor::Anonymous,
        action: "direct_authz",
        target: "direct-authz".to_owned(),
        source: peer,
        outcome: Outcome::Failure,
        reason: Some(err.code()),
    };
    app.audit.record(&*app.store, Bound::PerTenant, draft);
}

async fn serve(
    app: &App,
    cx: &TenantCx,
    req: Request<Incoming>,
) -> Result<authorise::Answer, DirectAuthzError> {
    // Who asks is checked before the body is read: a stranger gets nothing to send a body into.
    check_bearer(cx, req.headers())?;
    if !body::has_media_type(req.headers(), "application/json") {
        return Err(DirectAuthzError::invalid("the body must be application/json"));
    }
    let bytes = match body::read(req.into_body(), MAX_BODY_BYTES, app.body_read_timeout).await {
        Ok(bytes) => bytes,
        Err(body::BodyError::TooLarge) => {
            return Err(DirectAuthzError::invalid(format!("the body is over {MAX_BODY_BYTES} bytes")));
        }
        Err(body::BodyError::Io(e)) => return Err(DirectAuthzError::invalid(e)),
    };
    let request = direct_authz::parse(&bytes)?;
    authorise::authorise(app, cx, request).await
}

/// The tenant the request names: `Tenant-ID`, or else `Issuer` (its issuer URL).
async fn tenant_of(app: &App, headers: &HeaderMap) -> Result<TenantCx, DirectAuthzError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let id = match (header("tenant-id"), header("issuer")) {
        (Some(id), _) => id.to_owned(),
        (None, Some(issuer)) => {
            let prefix = format!("{}/t/", app.public_url);
            match issuer.strip_prefix(&prefix) {
                Some(id) if !id.contains('/') => id.to_owned(),
                // Not one of our issuers: no tenant of ours has a token for it.
                _ => return Err(DirectAuthzError::InvalidToken),
            }
        }
        (None, None) => return Err(DirectAuthzError::invalid("a Tenant-ID or Issuer header is required")),
    };
    if !tessera_core::model::is_valid_id(&id) {
        return Err(DirectAuthzError::InvalidToken);
    }
    match app.tenant(&id).await {
        Ok(Some(cx)) => Ok(cx),
        Ok(None) => Err(DirectAuthzError::InvalidToken),
        Err(e) => Err(DirectAuthzError::Server(e.to_string())),
    }
}

/// Checks `Authorization: Bearer <token>` against the tenant's token digest.
fn check_bearer(cx: &TenantCx, headers: &HeaderMap) -> Result<(), DirectAuthzError> {
    let Some(value) = headers.get(AUTHORIZATION) else { return Err(DirectAuthzError::MissingToken) };
    let value = value.to_str().map_err(|_| DirectAuthzError::InvalidToken)?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(DirectAuthzError::InvalidToken),
    };
    match &cx.tenant.direct_authz_token_digest {
        Some(digest) if !token.is_empty() && secret::matches(token, digest) => Ok(()),
        _ => Err(DirectAuthzError::InvalidToken),
    }
}

/// The error's answer: its Connect2id status, `{"error", "error_description"}`, and for a
/// missing or wrong token the RFC 6750 challenge. A server error's detail goes to the log only.
fn error_response(err: &DirectAuthzError) -> Resp {
    if let DirectAuthzError::Server(detail) = err {
        tracing::error!(%detail, "direct authorisation failed");
    }
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json_no_store(
        status,
        &serde_json::json!({ "error": err.code(), "error_description": err.description() }),
    );
    if err.challenges() {
        let challenge = match err {
            DirectAuthzError::InvalidToken => "Bearer error=\"invalid_token\"",
            _ => "Bearer",
        };
        resp.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    resp
}

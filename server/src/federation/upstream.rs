//! The calls to an external identity provider, on the identity validators' HTTP client (no
//! redirects followed, bounded sizes, a timeout for each whole exchange): its discovery
//! document when it is registered ([`discover`]), the code exchanged at its token endpoint
//! ([`exchange`]), and its ID token verified with its JWK Set ([`verify_id_token`], the keys
//! cached and fetched again for an unknown `kid` by `identity::jwks`).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use tessera_core::authorize::percent_encode;
use tessera_core::federation::{self, IdTokenError, Upstream, form_encode};
use tessera_core::grants::jwt_bearer;
use tessera_core::model::{Idp, IdpEndpoints, UnixSecs};

use crate::app::App;
use crate::identity::jws::{self, JwsError};

/// Largest discovery document or token response read.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// How long a call to the provider may take, whole: the browser waits for it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The id under which `identity::jwks` caches the JWK Set of provider `idp` of `tenant`.
pub fn keys_cache_id(tenant: &str, idp: &str) -> String {
    format!("idp:{tenant}:{idp}")
}

/// Why a sign-in at the provider failed after the browser came back.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The provider could not be reached, timed out or answered with a server error.
    #[error("the identity provider could not be reached: {0}")]
    Unreachable(String),
    /// Its answer was refused: a token response without an ID token, or one that does not
    /// verify.
    #[error("the identity provider's answer was refused: {0}")]
    Invalid(String),
}

/// The provider's discovery document, read from `{issuer}/.well-known/openid-configuration`
/// and checked (`tessera_core::federation::read_discovery`).
pub async fn discover(app: &App, issuer: &str, now: UnixSecs) -> Result<IdpEndpoints, String> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let body = app
        .validators
        .get(&url, MAX_DOCUMENT_BYTES, CALL_TIMEOUT)
        .await
        .map_err(|e| format!("the discovery document could not be fetched: {e}"))?;
    federation::read_discovery(&body, issuer, now)
}

/// What the token endpoint answered.
pub struct Tokens {
    /// The ID token.
    pub id_token: String,
    /// The access token, for `at_hash`.
    pub access_token: Option<String>,
}

/// Exchanges `code` at the provider's token endpoint (Core 3.1.3.1), authenticating with
/// `secret` as the provider asks (`client_secret_basic` unless it takes only
/// `client_secret_post`), proving PKCE with `verifier`.
pub async fn exchange(
    app: &App,
    idp: &Idp,
    secret: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Tokens, UpstreamError> {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let basic;
    let authorization = if idp.endpoints.secret_in_body {
        pairs.push(("client_id", idp.client_id.as_str()));
        pairs.push(("client_secret", secret));
        None
    } else {
        // RFC 6749 2.3.1: each part form-encoded before the Basic encoding.
        let credentials = format!("{}:{}", percent_encode(&idp.client_id), percent_encode(secret));
        basic = format!("Basic {}", STANDARD.encode(credentials));
        Some(basic.as_str())
    };
    let (status, body) = app
        .validators
        .post_form(
            &idp.endpoints.token_endpoint,
            form_encode(&pairs),
            authorization,
            MAX_DOCUMENT_BYTES,
            CALL_TIMEOUT,
        )
        .await
        .map_err(UpstreamError::Unreachable)?;
    if status >= 500 {
        return Err(UpstreamError::Unreachable(format!("its token endpoint answered {status}")));
    }
    let answer: Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|_| UpstreamError::Invalid(format!("its token endpoint answered {status} without JSON")))?;
    if status != 200 {
        let error = answer.get("error").and_then(Value::as_str).unwrap_or("no error code");
        return Err(UpstreamError::Invalid(format!("its token endpoint refused the code: {error}")));
    }
    let id_token = answer
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| UpstreamError::Invalid("the token response has no id_token".into()))?;
    let access_token = answer.get("access_token").and_then(Value::as_str).map(str::to_owned);
    Ok(Tokens { id_token: id_token.to_owned(), access_token })
}

/// The upstream account an ID token of `idp` names, once its signature verified with one of
/// the provider's keys (with an algorithm its discovery document offered) and its claims
/// passed `tessera_core::federation::check_id_token` for this sign-in's `nonce`; with the
/// claims of the provider's UserInfo endpoint added when it has one.
pub async fn verify_id_token(
    app: &App,
    tenant: &str,
    idp: &Idp,
    tokens: &Tokens,
    nonce: &str,
    now: UnixSecs,
) -> Result<Upstream, UpstreamError> {
    let invalid = |why: String| UpstreamError::Invalid(why);
    let seen = jwt_bearer::peek(&tokens.id_token)
        .map_err(|e| invalid(format!("the ID token: {}", e.description)))?;
    if !idp.endpoints.id_token_algs.contains(&seen.alg) {
        return Err(invalid(format!(
            "the ID token is signed with {}, which the provider does not offer",
            seen.alg
        )));
    }
    let cache_id = keys_cache_id(tenant, &idp.id);
    let keys = app
        .issuer_keys
        .fetched(&app.validators, &cache_id, &idp.endpoints.jwks_uri, seen.kid.as_deref())
        .await
        .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
    let claims =
        jws::verify(&keys, &tokens.id_token, &seen.alg, seen.kid.as_deref()).map_err(|e| match e {
            JwsError::Signature | JwsError::UnknownKid | JwsError::Algorithm => {
                invalid(format!("the ID token's signature: {e}"))
            }
            JwsError::Malformed(why) => invalid(format!("the ID token is malformed: {why}")),
        })?;
    let mut upstream =
        federation::check_id_token(claims, idp, &seen.alg, nonce, tokens.access_token.as_deref(), now)
            .map_err(|e: IdTokenError| invalid(e.to_string()))?;
    // The claims a code flow's ID token leaves out (e-mail, name, ...) are at UserInfo.
    if let (Some(url), Some(token)) = (&idp.endpoints.userinfo_endpoint, &tokens.access_token) {
        let body = app
            .validators
            .get_with(url, Some(&format!("Bearer {token}")), MAX_DOCUMENT_BYTES, CALL_TIMEOUT)
            .await
            .map_err(|e| UpstreamError::Unreachable(format!("its userinfo endpoint: {e}")))?;
        let userinfo: Map<String, Value> = serde_json::from_slice(&body)
            .map_err(|_| invalid("the userinfo response is not a JSON object".into()))?;
        upstream.merge_userinfo(userinfo).map_err(|e| invalid(e.to_string()))?;
    }
    Ok(upstream)
}

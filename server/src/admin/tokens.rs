//! The operator's token tools (API.md, issue 9 item 5): `POST .../tokens/introspect` and
//! `POST .../tokens/revoke` with `{"token": "..."}`, for any token of the tenant whichever
//! client holds it. They answer through the same code as the tenant's own `/introspect` and
//! `/revoke` (`tokens`), as the operator (`Asker::Operator`): no client authentication, and
//! refresh tokens described whoever holds them.
//!
//! A token of another tenant, an unknown, expired or malformed one, reads as `{"active":false}`
//! and revokes as a no-op, with the same answer as a real token's, so the tools cannot be used
//! to learn whether a token exists elsewhere.

use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use tessera_core::introspection::{Asker, IntrospectionResponse};
use utoipa::ToSchema;

use super::json_body;
use super::refusals::{Conflict, Denied, Invalid, NotFound};
use crate::app::{App, TenantCx};
use crate::http::respond::{ApiError, Resp, empty, json_no_store};
use crate::tokens::{self, RevokeError};

/// Longest token accepted, in bytes: far above any token Tessera issues (a JWT with its
/// claims is well under 2 KiB), so anything longer is refused before it is hashed or parsed.
const MAX_TOKEN_BYTES: usize = tessera_core::jwt::MAX_TOKEN_BYTES;

/// The body of both tools.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// Any token of the tenant: access (JWT or opaque), refresh, or an API key; 1 to 32768
    /// bytes.
    token: String,
    /// RFC 7662 2.1 and RFC 7009 2.1 allow a hint; Tessera tells tokens apart by their shape
    /// and where they are found, so it is accepted and not needed.
    #[serde(default, rename = "token_type_hint")]
    _token_type_hint: Option<String>,
}

/// The token of a tool's body: present, non-empty and bounded, else 400 (415 for a body that
/// is not JSON, as everywhere in the admin API).
pub fn token_body(headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let TokenBody { token, .. } = json_body(headers, body)?;
    if token.is_empty() {
        return Err(ApiError::BadRequest("token must not be empty".into()));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(ApiError::BadRequest(format!("token must be at most {MAX_TOKEN_BYTES} bytes")));
    }
    Ok(token)
}

async fn tenant_cx(app: &App, tenant: &str) -> Result<TenantCx, ApiError> {
    app.tenant(tenant).await?.ok_or(ApiError::NotFound("tenant"))
}

/// What the tenant's `/introspect` would tell a resource server of `token` (RFC 7662 2.2),
/// refresh tokens included whichever client holds them. 200 with the answer.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/tokens/introspect", tag = "tokens",
    operation_id = "introspect_token",
    request_body = TokenBody,
    responses((status = 200, description = "What introspection says (RFC 7662 2.2)", body = IntrospectionResponse),
        Invalid, NotFound, Denied))]
pub async fn introspect(app: &App, tenant: &str, token: &str) -> Result<Resp, ApiError> {
    let cx = tenant_cx(app, tenant).await?;
    let answer = tokens::introspect(app, &cx, token, Asker::Operator).await?;
    Ok(json_no_store(StatusCode::OK, &answer))
}

/// Revokes `token` as its owner could at `/revoke` (RFC 7009), whichever client holds it. 204,
/// whether the token was revoked, was already, is unknown or is another tenant's: RFC 7009 2.2
/// answers all of these alike so the call is no oracle, and 204 rather than its 200 because
/// the admin API answers a change with nothing to show (a DELETE) with 204.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/tokens/revoke", tag = "tokens", operation_id = "revoke_token",
    request_body = TokenBody,
    responses((status = 204, description = "Revoked, or nothing to revoke"), Invalid, NotFound, Conflict, Denied))]
pub async fn revoke(app: &App, tenant: &str, token: &str) -> Result<Resp, ApiError> {
    let cx = tenant_cx(app, tenant).await?;
    match tokens::revoke(app, &cx, token, Asker::Operator).await {
        Ok(()) => Ok(empty(StatusCode::NO_CONTENT)),
        Err(RevokeError::Store(err)) => Err(err.into()),
        // `revocation::may_revoke` lets the operator revoke anything: a bug if it did not.
        Err(RevokeError::NotYours(err)) => Err(ApiError::Internal(format!("operator refused: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use http::header::CONTENT_TYPE;

    use super::*;

    fn check(body: &str) -> Result<String, StatusCode> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        token_body(&headers, body.as_bytes()).map_err(|e| e.into_response().status())
    }

    #[test]
    fn the_body_names_one_non_empty_token() {
        assert_eq!(check(r#"{"token":"abc"}"#), Ok("abc".into()));
        assert_eq!(check(r#"{"token":"abc","token_type_hint":"refresh_token"}"#), Ok("abc".into()));
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        for bad in [
            r#"{}"#.to_owned(),
            r#"{"token":""}"#.to_owned(),
            r#"{"token":7}"#.to_owned(),
            r#"{"token":null}"#.to_owned(),
            r#"["abc"]"#.to_owned(),
            r#"{"token":"abc","extra":1}"#.to_owned(),
            "token=abc".to_owned(),
            format!(r#"{{"token":"{long}"}}"#),
        ] {
            assert_eq!(check(&bad), Err(StatusCode::BAD_REQUEST), "{bad}");
        }
        assert_eq!(
            token_body(&HeaderMap::new(), br#"{"token":"abc"}"#).map_err(|e| e.into_response().status()),
            Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
    }
}

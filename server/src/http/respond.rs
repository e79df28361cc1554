//! Building responses, and the one place where protocol and admin errors become HTTP: status,
//! `WWW-Authenticate`, `Cache-Control: no-store`.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, PRAGMA, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;
use tessera_core::error::{ErrorCode, OAuthError};

/// The response type of every handler.
pub type Resp = Response<Full<Bytes>>;

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// A JSON response from bytes already serialized.
pub fn json_bytes(status: StatusCode, body: Bytes) -> Resp {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, JSON);
    resp
}

/// A JSON response that must not be cached (tokens, introspection, admin answers).
pub fn json_no_store<T: Serialize>(status: StatusCode, value: &T) -> Resp {
    match serde_json::to_vec(value) {
        Ok(body) => no_store(json_bytes(status, body.into())),
        Err(err) => {
            tracing::error!(%err, "response serialization failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// A JSON response that caches may keep for `max_age_secs` (discovery, JWKS).
pub fn json_public(body: Bytes, max_age_secs: u32) -> Resp {
    let mut resp = json_bytes(StatusCode::OK, body);
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age_secs}")) {
        resp.headers_mut().insert(CACHE_CONTROL, v);
    }
    resp
}

/// A plain-text response.
pub fn plain(status: StatusCode, text: &'static str) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

fn no_store(mut resp: Resp) -> Resp {
    resp.headers_mut().insert(CACHE_CONTROL, NO_STORE);
    resp.headers_mut().insert(PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// The HTTP status an OAuth error code is answered with (RFC 6749 5.2, RFC 6750 3.1).
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// An RFC 6749 error response. Failed client authentication answers 401 with a `Basic`
/// challenge whatever method the client tried, so clients learn which scheme to use.
pub fn oauth_error(err: &OAuthError) -> Resp {
    let code = err.code();
    match code {
        ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => {
            tracing::error!(reason = ?err.reason, detail = %err.description, "request failed");
        }
        _ => tracing::debug!(reason = ?err.reason, detail = %err.description, "request refused"),
    }
    let mut resp = no_store(json_bytes(status_of(code), err.to_json().into()));
    if code == ErrorCode::InvalidClient {
        resp.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"tessera\""));
    }
    resp
}

/// An error of the admin API: `{"error": "...", "error_description": "..."}` with its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a field is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// 400 `invalid_client_metadata` (RFC 7591 3.2.2).
    #[error("{0}")]
    InvalidClientMetadata(String),
    /// 401: no or wrong admin key.
    #[error("a valid admin key is required")]
    Unauthorized,
    /// 404: no such resource.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the resource exists already.
    #[error("{0}")]
    Conflict(String),
    /// 415: the body is not JSON.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// 413: the body is over the limit.
    #[error("the body is too large")]
    TooLarge,
    /// 503: the store refuses writes.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// 500: something broke; details are in the log only.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::InvalidClientMetadata(_) => (StatusCode::BAD_REQUEST, "invalid_client_metadata"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }

    /// The JSON error response.
    pub fn into_response(self) -> Resp {
        let (status, code) = self.status_and_code();
        if let Self::Internal(detail) | Self::Unavailable(detail) = &self {
            tracing::error!(%detail, "admin request failed");
        }
        let mut resp = json_no_store(
            status,
            &serde_json::json!({ "error": code, "error_description": self.to_string() }),
        );
        if matches!(self, Self::Unauthorized) {
            resp.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"tessera-admin\""));
        }
        resp
    }
}

impl From<tessera_core::store::StoreError> for ApiError {
    fn from(err: tessera_core::store::StoreError) -> Self {
        use tessera_core::store::StoreError;
        match err {
            StoreError::Poisoned | StoreError::Closed | StoreError::Busy(_) => {
                Self::Unavailable(err.to_string())
            }
            // A uniqueness rule (a username or e-mail address taken): the caller's to fix.
            StoreError::Conflict(detail) => Self::Conflict(detail),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<tessera_core::signer::SignError> for ApiError {
    fn from(err: tessera_core::signer::SignError) -> Self {
        match err {
            tessera_core::signer::SignError::Busy(_) => Self::Unavailable(err.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// A response without a body.
pub fn empty(status: StatusCode) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

//! Building responses, and the one place where errors become HTTP: status, `Allow`,
//! `WWW-Authenticate`, `Cache-Control: no-store`. Three surfaces answer errors, each in its own
//! format: the protocol endpoints (an RFC 6749 [`OAuthError`]), the admin API ([`ApiError`])
//! and the browser pages ([`PageError`]). A store, signer or randomness failure reaches all
//! three; how it is answered is read once, here ([`StoreFailure`]), and each surface's mapping
//! follows from that reading. A limit answers with its own status and `Retry-After`
//! ([`set_retry_after`]).

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;
use tessera_core::error::{ErrorCode, OAuthError, Reason};
use tessera_core::listing::ListingError;
use tessera_core::password_policy::PasswordRejected;
use tessera_core::signer::SignError;
use tessera_core::store::StoreError;

use crate::password::{PasswordError, Refused};

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
    if err.is_rate_limited() {
        // 429 with `Retry-After`, logged at debug only: a flood of refusals must not become a
        // flood of log lines.
        tracing::debug!(reason = ?err.reason, detail = %err.description, "request rate-limited");
        let mut resp = no_store(json_bytes(StatusCode::TOO_MANY_REQUESTS, err.to_json().into()));
        set_retry_after(&mut resp, err.retry_after_secs.unwrap_or(1));
        return resp;
    }
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
    if let Some(secs) = err.retry_after_secs {
        set_retry_after(&mut resp, secs);
    }
    resp
}

/// A password attempt the guard refused (`crate::password::PasswordGuard::check`), as a
/// protocol endpoint answers it: 429 `temporarily_unavailable` with `Retry-After`. Not
/// `invalid_grant`: the password was not checked, and a user must not read a refusal as a
/// wrong password.
impl From<Refused> for OAuthError {
    fn from(refused: Refused) -> Self {
        OAuthError::retry_after(
            Reason::PasswordAttemptsLimited,
            "too many password attempts; retry later",
            retry_after_secs(refused.retry_after),
        )
    }
}

/// The body of every admin API error, as [`ApiError::into_response`] writes it and the OpenAPI
/// document (`admin::openapi`) describes it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// The code: `invalid_request`, `invalid_client_metadata`, `unauthorized`, `forbidden`,
    /// `not_found`, `method_not_allowed`, `conflict`, `temporarily_unavailable` or
    /// `server_error`.
    pub error: &'a str,
    /// What went wrong, for the operator; never a secret.
    pub error_description: String,
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
    /// 403: the credential is valid but may not do this.
    #[error("{0}")]
    Forbidden(String),
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
    /// 503 with `Retry-After`: too much password work at once (`password/gate.rs`).
    #[error("too many password operations at once; retry in {retry_after_secs} s")]
    Busy {
        /// What `Retry-After` says.
        retry_after_secs: u32,
    },
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
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            Self::Unavailable(_) | Self::Busy { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }

    /// The JSON error response.
    pub fn into_response(self) -> Resp {
        let (status, code) = self.status_and_code();
        if let Self::Internal(detail) | Self::Unavailable(detail) = &self {
            tracing::error!(%detail, "admin request failed");
        }
        let mut resp = json_no_store(status, &ErrorBody { error: code, error_description: self.to_string() });
        match self {
            Self::Unauthorized => {
                resp.headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"tessera-admin\""));
            }
            Self::Busy { retry_after_secs } => set_retry_after(&mut resp, retry_after_secs),
            _ => {}
        }
        resp
    }
}

impl From<ListingError> for ApiError {
    /// Every listing refusal is the request's fault: a bad `limit`, `cursor` or filter.
    fn from(err: ListingError) -> Self {
        Self::BadRequest(err.to_string())
    }
}

impl From<PasswordRejected> for ApiError {
    /// A password the tenant's policy refuses is the request's fault; the message names the
    /// rule, never the password.
    fn from(err: PasswordRejected) -> Self {
        Self::BadRequest(err.to_string())
    }
}

impl From<PasswordError> for ApiError {
    fn from(err: PasswordError) -> Self {
        match err {
            PasswordError::Busy { retry_after_secs } => Self::Busy { retry_after_secs },
            PasswordError::Failed(detail) => Self::Internal(detail),
        }
    }
}

/// Whole seconds to say in `Retry-After` for `wait`: rounded up, at least 1, so a client that
/// obeys never comes back too early, and never "now".
pub fn retry_after_secs(wait: std::time::Duration) -> u32 {
    let secs = wait.as_secs().saturating_add(u64::from(wait.subsec_nanos() > 0));
    u32::try_from(secs).unwrap_or(u32::MAX).max(1)
}

/// Sets `Retry-After` (RFC 9110 10.2.3) on a 429 or 503, in seconds.
pub fn set_retry_after(resp: &mut Resp, secs: u32) {
    resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match StoreFailure::of(&err) {
            StoreFailure::Unavailable => Self::Unavailable(err.to_string()),
            // A uniqueness rule (a username or e-mail address taken): the caller's to fix.
            StoreFailure::Conflict => match err {
                StoreError::Conflict(detail) => Self::Conflict(detail),
                other => Self::Conflict(other.to_string()),
            },
            StoreFailure::Internal => Self::Internal(err.to_string()),
        }
    }
}

impl From<SignError> for ApiError {
    fn from(err: SignError) -> Self {
        match err {
            SignError::Busy(_) => Self::Unavailable(err.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// What a store failure means, on every surface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreFailure {
    /// The store refuses work for now (poisoned after a failed fsync, closed, overloaded, its
    /// database unreachable): 503, retry later.
    Unavailable,
    /// A uniqueness rule refused the write: the caller's to fix where the caller chose the
    /// value (the admin API: 409); a bug anywhere else.
    Conflict,
    /// Anything else (corrupt record, I/O): 500, the detail only in the log.
    Internal,
}

impl StoreFailure {
    /// The one reading of a [`StoreError`].
    pub fn of(err: &StoreError) -> Self {
        match err {
            StoreError::Poisoned | StoreError::Closed | StoreError::Busy(_) | StoreError::Unreachable(_) => {
                Self::Unavailable
            }
            StoreError::Conflict(_) => Self::Conflict,
            _ => Self::Internal,
        }
    }
}

/// A store failure as an OAuth client sees it.
pub fn store_error(err: StoreError) -> OAuthError {
    match StoreFailure::of(&err) {
        StoreFailure::Unavailable => {
            tracing::warn!(err = %err, "store refuses writes");
            OAuthError::new(Reason::StoreUnavailable, "the server cannot store state right now; retry later")
        }
        // No protocol endpoint writes a record with a uniqueness rule yet: a conflict here is
        // a bug, kept out of the client's sight like any other internal failure.
        StoreFailure::Conflict => {
            tracing::error!(err = %err, "unexpected store conflict");
            OAuthError::new(Reason::Internal, "internal error")
        }
        StoreFailure::Internal => {
            tracing::error!(err = %err, "store failure");
            OAuthError::new(Reason::Internal, "internal error")
        }
    }
}

/// A signer failure as an OAuth client sees it.
pub fn sign_error(err: SignError) -> OAuthError {
    if let SignError::Busy(_) = err {
        tracing::warn!(%err, "signer at capacity");
        return OAuthError::new(Reason::SignerBusy, "the server is at capacity; retry later");
    }
    tracing::error!(%err, "signing failed");
    OAuthError::new(Reason::SigningFailed, "the token could not be signed")
}

/// A randomness failure as an OAuth client sees it.
pub fn random_error(err: getrandom::Error) -> OAuthError {
    tracing::error!(%err, "no randomness");
    OAuthError::new(Reason::Internal, "internal error")
}

/// Why a page-level request failed: the end-user sees a page, the client nothing.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// 400: the request is wrong and retrying it will not help.
    #[error("{0}")]
    BadRequest(String),
    /// 400: a form's CSRF token does not match its cookie (an old page, or a forged post).
    #[error("The form expired; go back and try again.")]
    FormExpired,
    /// 403: a form of ours posted from another site (`web/origin.rs`); what the request
    /// carried is for the log only.
    #[error("This form was not sent from this service's own page. Go back to the page and try again.")]
    CrossSite,
    /// 404: no such tenant.
    #[error("There is nothing here.")]
    NotFound,
    /// 405: wrong method; the value is the `Allow` header.
    #[error("This page cannot be used that way.")]
    MethodNotAllowed(&'static str),
    /// 413: the request or form is over the size limit.
    #[error("The request is too large.")]
    TooLarge,
    /// 503: the store refuses writes; the detail is logged.
    #[error("The service is temporarily unavailable. Try again in a moment.")]
    Unavailable(String),
    /// 500: a bug or a broken dependency; the detail is logged.
    #[error("Something went wrong on our side. Try again later.")]
    Internal(String),
}

impl PageError {
    /// The status the error page is sent with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::FormExpired => StatusCode::BAD_REQUEST,
            Self::CrossSite => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A protocol error that cannot go to a client: its description is meant for whoever
    /// sent the request, so the page shows it.
    pub fn invalid_request(err: &OAuthError) -> Self {
        Self::BadRequest(format!("This sign-in request is invalid: {}.", err.description))
    }
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        match StoreFailure::of(&err) {
            StoreFailure::Unavailable => Self::Unavailable(err.to_string()),
            // Pages write no record with a uniqueness rule: a conflict is a bug.
            StoreFailure::Conflict | StoreFailure::Internal => Self::Internal(err.to_string()),
        }
    }
}

/// A page-level error as a response: logged, with its status and headers. The HTML page is
/// `render`'s (`web::error_page`), given the status to choose its wording; when it cannot
/// render one (no randomness for the page's CSP nonce) the answer is a plain 500.
pub fn page_error(err: &PageError, render: impl FnOnce(StatusCode) -> Option<Resp>) -> Resp {
    match err {
        PageError::Internal(detail) | PageError::Unavailable(detail) => {
            tracing::error!(%detail, "page request failed");
        }
        other => tracing::debug!(err = %other, "page request refused"),
    }
    let Some(mut resp) = render(err.status()) else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    };
    *resp.status_mut() = err.status();
    if let PageError::MethodNotAllowed(allow) = err {
        resp.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    }
    resp
}

/// A response without a body.
pub fn empty(status: StatusCode) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_store_error() -> Vec<StoreError> {
        vec![
            StoreError::Poisoned,
            StoreError::Busy("queue full".into()),
            StoreError::Closed,
            StoreError::Corrupt { key: "k".into(), detail: "d".into() },
            StoreError::Io("disk".into()),
            StoreError::Unreachable("database".into()),
            StoreError::Conflict("username taken".into()),
        ]
    }

    /// The status each surface answers a store error with: (admin API, protocol, page).
    fn statuses(err: StoreError) -> (StatusCode, StatusCode, StatusCode) {
        let api = ApiError::from(err.clone()).status_and_code().0;
        let protocol = status_of(store_error(err.clone()).code());
        let page = PageError::from(err).status();
        (api, protocol, page)
    }

    #[test]
    fn store_errors_keep_their_statuses_on_every_surface() {
        const UNAVAILABLE: StatusCode = StatusCode::SERVICE_UNAVAILABLE;
        const INTERNAL: StatusCode = StatusCode::INTERNAL_SERVER_ERROR;
        for err in every_store_error() {
            let expected = match err {
                StoreError::Poisoned
                | StoreError::Busy(_)
                | StoreError::Closed
                | StoreError::Unreachable(_) => (UNAVAILABLE, UNAVAILABLE, UNAVAILABLE),
                // Only the admin API writes records with a uniqueness rule: elsewhere a bug.
                StoreError::Conflict(_) => (StatusCode::CONFLICT, INTERNAL, INTERNAL),
                _ => (INTERNAL, INTERNAL, INTERNAL),
            };
            assert_eq!(statuses(err.clone()), expected, "{err:?}");
        }
    }

    #[test]
    fn store_errors_answer_with_their_codes() {
        assert_eq!(store_error(StoreError::Closed).code(), ErrorCode::TemporarilyUnavailable);
        assert_eq!(store_error(StoreError::Io("disk".into())).code(), ErrorCode::ServerError);
        // The conflict's detail reaches the admin, never an OAuth client.
        match ApiError::from(StoreError::Conflict("username taken".into())) {
            ApiError::Conflict(detail) => assert_eq!(detail, "username taken"),
            other => panic!("not a conflict: {other:?}"),
        }
        let oauth = store_error(StoreError::Conflict("username taken".into()));
        assert!(!oauth.description.contains("taken"), "{oauth:?}");
    }

    #[test]
    fn busy_password_work_is_a_503_with_retry_after() {
        let resp = ApiError::from(PasswordError::Busy { retry_after_secs: 1 }).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[RETRY_AFTER], "1");
        let failed = ApiError::from(PasswordError::Failed("panicked".into()));
        assert_eq!(failed.status_and_code(), (StatusCode::INTERNAL_SERVER_ERROR, "server_error"));
        assert!(failed.into_response().headers().get(RETRY_AFTER).is_none());
    }

    #[test]
    fn rate_limited_protocol_errors_are_429_with_retry_after_and_no_store() {
        let refused = Refused {
            by: crate::password::Limited::Address,
            retry_after: std::time::Duration::from_millis(2_500),
        };
        let err = OAuthError::from(refused);
        assert_eq!(err.code(), ErrorCode::TemporarilyUnavailable);
        let resp = oauth_error(&err);
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[RETRY_AFTER], "3", "rounded up");
        assert_eq!(resp.headers()[CACHE_CONTROL], "no-store");
        let busy = OAuthError::retry_after(Reason::SignerBusy, "busy", 0);
        let resp = oauth_error(&busy);
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "not a rate limit: its own status");
        assert_eq!(resp.headers()[RETRY_AFTER], "1", "at least 1");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        use std::time::Duration;
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(6)), 6);
        assert_eq!(retry_after_secs(Duration::from_millis(6_001)), 7);
        assert_eq!(retry_after_secs(Duration::MAX), u32::MAX);
    }

    #[test]
    fn page_errors_get_their_status_and_allow_header_here() {
        let resp = page_error(&PageError::MethodNotAllowed("POST"), |status| Some(empty(status)));
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()[ALLOW], "POST");
        let resp = page_error(&PageError::FormExpired, |_| Some(empty(StatusCode::OK)));
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(resp.headers().get(ALLOW).is_none());
        let resp = page_error(&PageError::NotFound, |_| None);
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR, "no page rendered: a plain 500");
    }
}

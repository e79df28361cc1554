//! The errors of the direct authorisation API and their wire form: Connect2id's status codes
//! (400, 401, 460, 461, 462, 500) and `{"error", "error_description"}`. One enum, one mapping;
//! the server only turns [`DirectAuthzError::status`] into a response.

/// Why a direct authorisation request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectAuthzError {
    /// The request is malformed or asks for something not allowed (400 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(String),
    /// No bearer token was presented (401 `missing_token`).
    #[error("missing bearer token")]
    MissingToken,
    /// The bearer token is not this tenant's (401 `invalid_token`).
    #[error("invalid bearer token")]
    InvalidToken,
    /// The `client_id` names no client of the tenant (460 `invalid_client_id`).
    #[error("invalid client ID")]
    InvalidClientId,
    /// `sub_sid` names no live session of the tenant (461 `invalid_subject_session_id`).
    #[error("invalid or expired subject session ID")]
    InvalidSubjectSessionId,
    /// The client's secret has expired (462 `expired_client_secret`). Tessera's client
    /// secrets do not expire today, so this is never produced; it is mapped for completeness.
    #[error("expired client secret")]
    ExpiredClientSecret,
    /// Anything the caller cannot fix (500 `server_error`); the detail is for the log only.
    #[error("internal server error")]
    Server(String),
}

impl DirectAuthzError {
    /// The HTTP status of the answer.
    pub const fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_) => 400,
            Self::MissingToken | Self::InvalidToken => 401,
            Self::InvalidClientId => 460,
            Self::InvalidSubjectSessionId => 461,
            Self::ExpiredClientSecret => 462,
            Self::Server(_) => 500,
        }
    }

    /// The `error` member.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
            Self::InvalidClientId => "invalid_client_id",
            Self::InvalidSubjectSessionId => "invalid_subject_session_id",
            Self::ExpiredClientSecret => "expired_client_secret",
            Self::Server(_) => "server_error",
        }
    }

    /// The `error_description` member: what the caller may see. A server error's detail is
    /// never in it.
    pub fn description(&self) -> String {
        match self {
            Self::Server(_) => "internal server error".to_owned(),
            other => other.to_string(),
        }
    }

    /// Whether the answer carries `WWW-Authenticate: Bearer` (RFC 6750 3).
    pub const fn challenges(&self) -> bool {
        matches!(self, Self::MissingToken | Self::InvalidToken)
    }

    /// A 400 with `description`.
    pub fn invalid(description: impl Into<String>) -> Self {
        Self::InvalidRequest(description.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_connect2id_status_and_code() {
        let cases = [
            (DirectAuthzError::invalid("x"), 400, "invalid_request"),
            (DirectAuthzError::MissingToken, 401, "missing_token"),
            (DirectAuthzError::InvalidToken, 401, "invalid_token"),
            (DirectAuthzError::InvalidClientId, 460, "invalid_client_id"),
            (DirectAuthzError::InvalidSubjectSessionId, 461, "invalid_subject_session_id"),
            (DirectAuthzError::ExpiredClientSecret, 462, "expired_client_secret"),
            (DirectAuthzError::Server("disk on fire".into()), 500, "server_error"),
        ];
        for (err, status, code) in cases {
            assert_eq!((err.status(), err.code()), (status, code));
            assert_eq!(err.challenges(), status == 401);
        }
        assert!(!DirectAuthzError::Server("disk on fire".into()).description().contains("disk"));
    }
}

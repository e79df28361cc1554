//! The OAuth error model: an RFC 6749 [`ErrorCode`] for the wire, a precise [`Reason`] for
//! logs and metrics, and [`OAuthError`] carrying both plus a description a client may see.
//!
//! Only the server turns an error into a status code and headers; this module decides *which*
//! error a request earned.

use std::fmt;

/// The `error` values of RFC 6749 5.2, 7009 2.2.1 and 6750 3.1 that Tessera answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed (RFC 6749 5.2): answered with 401.
    InvalidClient,
    /// The grant is invalid, expired or revoked.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported by this server.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown or exceeds what the client may ask for.
    InvalidScope,
    /// RFC 7009 2.2.1: the server does not revoke this kind of token.
    UnsupportedTokenType,
    /// RFC 6750 3.1: the bearer token is invalid.
    InvalidToken,
    /// The server met an unexpected condition.
    ServerError,
    /// The server cannot handle the request now (for example its store refuses writes).
    TemporarilyUnavailable,
    /// RFC 6749 4.1.2.1: the server does not support this `response_type`.
    UnsupportedResponseType,
    /// RFC 6749 4.1.2.1: the resource owner or the server denied the request.
    AccessDenied,
    /// OpenID Connect Core 3.1.2.6: `prompt=none` but no end-user session.
    LoginRequired,
    /// OpenID Connect Core 3.1.2.6: `prompt=none` but consent is needed.
    ConsentRequired,
    /// OpenID Connect Core 3.1.2.6: `prompt=none` but some other interaction is needed.
    InteractionRequired,
    /// OpenID Connect Core 3.1.2.6: the `request` parameter is not supported.
    RequestNotSupported,
    /// OpenID Connect Core 3.1.2.6: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// RFC 6750 3.1: the token lacks the scope the resource needs (answered with 403).
    InsufficientScope,
    /// RFC 8707 2: the requested resource is invalid, unknown, malformed or not for this
    /// client.
    InvalidTarget,
}

impl ErrorCode {
    /// The wire value of the `error` field.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidToken => "invalid_token",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidTarget => "invalid_target",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request failed, precisely. Logged and counted; the client sees only the [`ErrorCode`]
/// it maps to and the description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The body is not `application/x-www-form-urlencoded`.
    WrongContentType,
    /// The body exceeds the fixed limit.
    BodyTooLarge,
    /// The body is not valid form encoding (bad percent-escapes or UTF-8).
    MalformedBody,
    /// A required parameter is absent.
    MissingParameter,
    /// A parameter appears more than once (RFC 6749 3.1, 3.2).
    RepeatedParameter,
    /// A parameter has a value outside its grammar.
    MalformedParameter,
    /// Too many parameters in one request.
    TooManyParameters,
    /// The client authenticated with more than one method (RFC 6749 2.3).
    MultipleClientAuthMethods,
    /// No client authentication was presented.
    ClientAuthMissing,
    /// The `Authorization` header is not a well-formed Basic credential.
    MalformedBasicAuth,
    /// The client id is unknown in this tenant.
    UnknownClient,
    /// The client secret does not match.
    WrongClientSecret,
    /// The client used an authentication method it is not registered for.
    ClientAuthMethodNotAllowed,
    /// `grant_type` names a grant this server does not implement.
    UnsupportedGrantType,
    /// The client is not registered for this grant type.
    GrantTypeNotAllowed,
    /// The requested scope is not within the client's registered scope.
    ScopeNotAllowed,
    /// The scope string does not follow RFC 6749 3.3.
    MalformedScope,
    /// RFC 7009: the `token_type_hint` names a type this server does not know.
    UnsupportedTokenTypeHint,
    /// RFC 7009 2.1: the token to revoke was issued to another client.
    TokenOfAnotherClient,
    /// The store refuses writes (for example after a failed fsync).
    StoreUnavailable,
    /// The signer has too many signatures waiting.
    SignerBusy,
    /// The client has used up its token-endpoint quota for now (answered 429 with
    /// `Retry-After`).
    ClientRateLimited,
    /// Too many password attempts for the username from the address, or from the address
    /// (answered 429 with `Retry-After`; the password was not checked).
    PasswordAttemptsLimited,
    /// The signer failed.
    SigningFailed,
    /// An internal invariant failed; the detail is in the log.
    Internal,
    /// `/authorize`: `redirect_uri` is not one the client registered (never redirected to).
    RedirectUriNotRegistered,
    /// `/authorize`: `response_type` is not a value this server knows.
    UnsupportedResponseType,
    /// `/authorize`: the client did not register this `response_type`.
    ResponseTypeNotAllowed,
    /// `/authorize`: `response_mode` is not a value this server knows.
    UnsupportedResponseMode,
    /// `/authorize`: `response_mode=query` for a response type that returns tokens.
    ResponseModeNotAllowed,
    /// `/authorize`: an ID token was asked for without the `openid` scope.
    OpenidScopeMissing,
    /// `/authorize`: `nonce` is required for response types that return an ID token.
    NonceMissing,
    /// `/authorize`: a public client sent no `code_challenge` (PKCE is required for it).
    PkceRequired,
    /// `/authorize`: `code_challenge_method` is unknown, or `plain` from a client that did not
    /// opt in to it.
    PkceMethodNotAllowed,
    /// `/authorize`: `prompt=none` combined with another value.
    PromptNoneCombined,
    /// `/authorize`: the `request` parameter (a request object) is not supported.
    RequestObjectNotSupported,
    /// `/authorize`: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// `/authorize`: the end-user denied the request.
    AccessDeniedByUser,
    /// `/authorize`: `prompt=none` and no session.
    LoginRequired,
    /// `/authorize`: `prompt=none` and consent is missing.
    ConsentRequired,
    /// `/authorize`: `prompt=none` and another interaction is needed.
    InteractionRequired,
    /// Token endpoint: the authorization code has expired.
    AuthorizationCodeExpired,
    /// Token endpoint: the authorization code was issued to another client (or tenant).
    AuthorizationCodeWrongClient,
    /// Token endpoint: `redirect_uri` differs from the one of the authorization request.
    RedirectUriMismatch,
    /// Token endpoint: the code carries a PKCE challenge and no `code_verifier` was sent.
    PkceVerifierMissing,
    /// Token endpoint: the `code_verifier` does not match the stored challenge.
    PkceVerifierMismatch,
    /// Token endpoint: a `code_verifier` was sent for a code issued without a challenge.
    PkceVerifierUnexpected,
    /// Token endpoint: no such authorization code (never issued, expired, or of another
    /// tenant).
    AuthorizationCodeUnknown,
    /// Token endpoint: the authorization code was redeemed before; what it issued is revoked.
    AuthorizationCodeReplayed,
    /// Token endpoint: no such refresh token (never issued, expired, or its family revoked).
    RefreshTokenUnknown,
    /// Token endpoint: a rotated refresh token was presented again; its family is revoked.
    RefreshTokenReused,
    /// Token endpoint: the refresh token was issued to another client.
    RefreshTokenWrongClient,
    /// Token endpoint: the refresh request asks for scope the refresh token does not carry.
    RefreshScopeNotGranted,
    /// Token endpoint: the client is no longer registered for any scope the refresh token
    /// carries, so a refresh without `scope` has nothing left to issue.
    RefreshScopeWithdrawn,
    /// A protected resource (`/userinfo`): the bearer token is missing, unknown, expired or
    /// revoked.
    AccessTokenInvalid,
    /// `/userinfo`: the access token was not granted the `openid` scope.
    OpenidScopeNotGranted,
    /// A code or refresh token whose end-user was deleted or disabled, or whose login predates
    /// the user's last disable (`User::standing_of`).
    EndUserInactive,
    /// A code or refresh token issued to its client before the operator revoked everything of
    /// the client (`Client::standing_of`).
    ClientGrantsCutOff,
    /// A scope that requires a permission the grant's subject (the end-user, or the client
    /// for its own tokens) does not hold (`crate::rbac::check_scope`).
    ScopeNotPermitted,
    /// The subject's roles grant more permissions than a token carries
    /// (`crate::rbac::MAX_PERMISSIONS_PER_TOKEN`): the operator's roles need trimming.
    TooManyPermissions,
    /// RFC 8707: `resource` is not an absolute URI without a fragment, or is repeated.
    MalformedResource,
    /// RFC 8707: `resource` names no API of the tenant.
    UnknownResource,
    /// RFC 8707: `resource` names an API the client may not ask tokens for.
    ResourceNotAllowed,
    /// Password grant: every identity validator that answered rejected the credentials.
    CredentialsRejected,
    /// Password grant: no validator accepted, and one or more could not be asked (timed out,
    /// failed, or its circuit is open): the answer is not known, so nothing is refused.
    ValidatorsUnavailable,
    /// Password grant: the user the local directory found is disabled.
    PasswordUserDisabled,
    /// JWT bearer grant: the assertion is not a compact JWS with a JSON header and claims.
    AssertionMalformed,
    /// JWT bearer grant: the assertion's `iss` is none of the tenant's trusted issuers.
    AssertionIssuerUnknown,
    /// JWT bearer grant: the assertion's `alg` is not an asymmetric one, or not its key's.
    AssertionAlgorithmNotAllowed,
    /// JWT bearer grant: no key of the issuer verifies the assertion's signature.
    AssertionSignatureInvalid,
    /// JWT bearer grant: a claim is missing or refused (`aud`, `exp`, `nbf`, `iat`, `sub`,
    /// `jti`).
    AssertionClaimsInvalid,
    /// JWT bearer grant: an assertion with this issuer and `jti` was already exchanged.
    AssertionReplayed,
    /// JWT bearer grant: the issuer's keys could not be fetched now.
    IssuerKeysUnavailable,
    /// Federation: the external identity provider answered the sign-in with an error (the
    /// end-user refused, or the provider did).
    UpstreamRefused,
    /// Federation: the external identity provider could not be reached, or answered with a
    /// server error, within the time allowed.
    UpstreamUnavailable,
    /// Federation: the provider's answer did not verify (its ID token's signature or claims,
    /// or a malformed token response).
    UpstreamAnswerInvalid,
    /// Federation: the upstream account has no local user, and the provider creates none.
    FederatedAccountMissing,
    /// Federation: the local user of the upstream account is disabled.
    FederatedUserDisabled,
}

impl From<Reason> for ErrorCode {
    fn from(reason: Reason) -> Self {
        // Exhaustive on purpose: a new reason must choose its wire code here.
        match reason {
            Reason::WrongContentType
            | Reason::BodyTooLarge
            | Reason::MalformedBody
            | Reason::MissingParameter
            | Reason::RepeatedParameter
            | Reason::MalformedParameter
            | Reason::TooManyParameters
            | Reason::MultipleClientAuthMethods
            | Reason::TokenOfAnotherClient
            | Reason::RedirectUriNotRegistered
            | Reason::UnsupportedResponseMode
            | Reason::ResponseModeNotAllowed
            | Reason::NonceMissing
            | Reason::PkceRequired
            | Reason::PkceMethodNotAllowed
            | Reason::PromptNoneCombined => ErrorCode::InvalidRequest,
            Reason::ClientAuthMissing
            | Reason::MalformedBasicAuth
            | Reason::UnknownClient
            | Reason::WrongClientSecret
            | Reason::ClientAuthMethodNotAllowed => ErrorCode::InvalidClient,
            Reason::UnsupportedGrantType => ErrorCode::UnsupportedGrantType,
            Reason::GrantTypeNotAllowed | Reason::ResponseTypeNotAllowed => ErrorCode::UnauthorizedClient,
            Reason::ScopeNotAllowed
            | Reason::MalformedScope
            | Reason::OpenidScopeMissing
            | Reason::ScopeNotPermitted => ErrorCode::InvalidScope,
            Reason::UnsupportedResponseType => ErrorCode::UnsupportedResponseType,
            Reason::RequestObjectNotSupported => ErrorCode::RequestNotSupported,
            Reason::RequestUriNotSupported => ErrorCode::RequestUriNotSupported,
            Reason::AccessDeniedByUser => ErrorCode::AccessDenied,
            Reason::LoginRequired => ErrorCode::LoginRequired,
            Reason::ConsentRequired => ErrorCode::ConsentRequired,
            Reason::InteractionRequired => ErrorCode::InteractionRequired,
            // RFC 6749 5.2 and RFC 7636 4.6: a code that does not verify is an invalid grant.
            Reason::AuthorizationCodeExpired
            | Reason::AuthorizationCodeWrongClient
            | Reason::RedirectUriMismatch
            | Reason::PkceVerifierMissing
            | Reason::PkceVerifierMismatch
            | Reason::PkceVerifierUnexpected
            | Reason::AuthorizationCodeUnknown
            | Reason::AuthorizationCodeReplayed
            | Reason::RefreshTokenUnknown
            | Reason::RefreshTokenReused
            | Reason::RefreshTokenWrongClient
            | Reason::EndUserInactive
            | Reason::ClientGrantsCutOff => ErrorCode::InvalidGrant,
            // RFC 6749 6: scope beyond the original grant is an invalid scope; 3.3: so is a
            // grant of which the client may no longer have anything.
            Reason::RefreshScopeNotGranted | Reason::RefreshScopeWithdrawn => ErrorCode::InvalidScope,
            Reason::AccessTokenInvalid => ErrorCode::InvalidToken,
            Reason::OpenidScopeNotGranted => ErrorCode::InsufficientScope,
            Reason::UnsupportedTokenTypeHint => ErrorCode::UnsupportedTokenType,
            // `temporarily_unavailable`, not `slow_down`: that one is RFC 8628's word to a
            // device-flow poller to add five seconds to its interval, which no other client
            // reads. This one is registered, says "retry later, nothing is wrong with the
            // request", and comes with the 429 and its `Retry-After`.
            Reason::StoreUnavailable
            | Reason::SignerBusy
            | Reason::ClientRateLimited
            | Reason::PasswordAttemptsLimited => ErrorCode::TemporarilyUnavailable,
            Reason::SigningFailed | Reason::Internal | Reason::TooManyPermissions => ErrorCode::ServerError,
            Reason::MalformedResource | Reason::UnknownResource | Reason::ResourceNotAllowed => {
                ErrorCode::InvalidTarget
            }
            Reason::CredentialsRejected | Reason::PasswordUserDisabled => ErrorCode::InvalidGrant,
            Reason::ValidatorsUnavailable => ErrorCode::TemporarilyUnavailable,
            // RFC 7523 3.1: an assertion that is not valid, for whatever reason, is an
            // invalid grant.
            Reason::AssertionMalformed
            | Reason::AssertionIssuerUnknown
            | Reason::AssertionAlgorithmNotAllowed
            | Reason::AssertionSignatureInvalid
            | Reason::AssertionClaimsInvalid
            | Reason::AssertionReplayed => ErrorCode::InvalidGrant,
            // The partner's keys being out of reach says nothing about the assertion.
            Reason::IssuerKeysUnavailable => ErrorCode::TemporarilyUnavailable,
            // Federation: the sign-in did not happen, whoever refused it (RFC 6749 4.1.2.1
            // has no finer word for the client); an upstream out of reach is worth retrying.
            Reason::UpstreamRefused
            | Reason::UpstreamAnswerInvalid
            | Reason::FederatedAccountMissing
            | Reason::FederatedUserDisabled => ErrorCode::AccessDenied,
            Reason::UpstreamUnavailable => ErrorCode::TemporarilyUnavailable,
        }
    }
}

/// An error answered to an OAuth client: what went wrong precisely, and what the client sees.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason:?}: {description}")]
pub struct OAuthError {
    /// The precise cause, for logs and metrics.
    pub reason: Reason,
    /// The `error_description` a client may see. Never contains a secret.
    pub description: String,
    /// When the request may be tried again, in whole seconds (`Retry-After`), for a refusal
    /// by a limit or a busy server; `None` otherwise.
    pub retry_after_secs: Option<u32>,
}

impl OAuthError {
    /// An error for `reason` with a client-visible description.
    pub fn new(reason: Reason, description: impl Into<String>) -> Self {
        Self { reason, description: description.into(), retry_after_secs: None }
    }

    /// An error for `reason` that may be retried after `retry_after_secs` (at least 1).
    pub fn retry_after(reason: Reason, description: impl Into<String>, retry_after_secs: u32) -> Self {
        Self { reason, description: description.into(), retry_after_secs: Some(retry_after_secs.max(1)) }
    }

    /// Whether a rate limit refused the request (answered 429 with `Retry-After`).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self.reason, Reason::ClientRateLimited | Reason::PasswordAttemptsLimited)
    }

    /// The RFC 6749 error code this error is answered with.
    pub fn code(&self) -> ErrorCode {
        self.reason.into()
    }

    /// Whether the error is a failed client authentication (401 with `WWW-Authenticate`).
    pub fn is_client_auth_failure(&self) -> bool {
        self.code() == ErrorCode::InvalidClient
    }

    /// The JSON body of RFC 6749 5.2.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "error": self.code().as_str(),
            "error_description": self.description,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_auth_failures_map_to_invalid_client() {
        for r in [Reason::UnknownClient, Reason::WrongClientSecret, Reason::MalformedBasicAuth] {
            assert!(OAuthError::new(r, "x").is_client_auth_failure());
        }
        assert!(!OAuthError::new(Reason::MissingParameter, "x").is_client_auth_failure());
    }

    #[test]
    fn json_body_has_error_and_description() {
        let e = OAuthError::new(Reason::RepeatedParameter, "parameter `scope` is repeated");
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).expect("json");
        assert_eq!(v["error"], "invalid_request");
        assert_eq!(v["error_description"], "parameter `scope` is repeated");
    }
}

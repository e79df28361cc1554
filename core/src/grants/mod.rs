//! Grants, one module per grant type, each in two phases: parse and validate a typed request
//! against the records it needs (fetched or taken by the server), then say what to issue as an
//! [`plan::IssuePlan`]. The server carries out every plan with one shared step.
//!
//! A new grant is a [`GrantType`] variant, its module here, and its async handler in the server
//! (which fetches its records); parsing, discovery and client registration follow
//! [`GrantType::ALL`].

pub mod authorization_code;
pub mod client_credentials;
pub mod jwt_bearer;
pub mod password;
pub mod plan;
pub mod refresh_token;

use crate::error::{OAuthError, Reason};
use crate::model::{Client, GrantType};

/// Whether `client` may use `grant` at the token endpoint: checked once, before any grant's
/// handler runs, so a client that may not redeem codes cannot use one up. The client's current
/// registration decides, not what it was when a code or refresh token was issued: a client
/// whose `refresh_token` grant was withdrawn can no longer refresh (RFC 6749 5.2
/// `unauthorized_client`), which is also why only a registered client earns refresh tokens
/// ([`refresh_token::earns_refresh_token`]).
pub fn check_allowed(client: &Client, grant: GrantType) -> Result<(), OAuthError> {
    if grant.at_token_endpoint() && client.allows_grant(grant) {
        Ok(())
    } else {
        Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
            format!("the client is not registered for {}", grant.as_str()),
        ))
    }
}

/// The answer to a code or refresh token whose end-user is gone or disabled, or whose login
/// predates the user's last disable (`User::standing_of`): the grant is no longer valid
/// (RFC 6749 5.2 `invalid_grant`).
pub fn end_user_inactive() -> OAuthError {
    OAuthError::new(Reason::EndUserInactive, "the grant's end-user is disabled or no longer exists")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::model::sample_client;

    #[test]
    fn only_registered_grants_are_allowed() {
        let mut c = sample_client();
        c.grant_types = vec![GrantType::ClientCredentials];
        assert!(check_allowed(&c, GrantType::ClientCredentials).is_ok());
        let err = check_allowed(&c, GrantType::AuthorizationCode).expect_err("not registered");
        assert_eq!(err.reason, Reason::GrantTypeNotAllowed);
        assert_eq!(err.code(), ErrorCode::UnauthorizedClient);
        c.grant_types = vec![GrantType::AuthorizationCode];
        let err = check_allowed(&c, GrantType::ClientCredentials).expect_err("not registered");
        assert_eq!(err.reason, Reason::GrantTypeNotAllowed);
        assert!(check_allowed(&c, GrantType::AuthorizationCode).is_ok());
    }

    #[test]
    fn refresh_needs_the_registration_whatever_the_token_says() {
        let mut c = sample_client();
        c.grant_types = vec![GrantType::AuthorizationCode];
        let err = check_allowed(&c, GrantType::RefreshToken).expect_err("registration withdrawn");
        assert_eq!(err.reason, Reason::GrantTypeNotAllowed);
        assert_eq!(err.code(), ErrorCode::UnauthorizedClient);
        c.grant_types.push(GrantType::RefreshToken);
        assert!(check_allowed(&c, GrantType::RefreshToken).is_ok());
    }

    #[test]
    fn implicit_is_never_a_token_request() {
        let mut c = sample_client();
        c.grant_types = vec![GrantType::AuthorizationCode, GrantType::Implicit];
        assert_eq!(
            check_allowed(&c, GrantType::Implicit).map_err(|e| e.reason),
            Err(Reason::GrantTypeNotAllowed)
        );
    }
}

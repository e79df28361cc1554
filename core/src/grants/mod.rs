//! Grants, one module per grant type, each in two phases: parse and validate a typed request
//! against the records it needs (fetched or taken by the server), then say what to issue as an
//! [`plan::IssuePlan`]. The server carries out every plan with one shared step.
//!
//! A new grant is a [`GrantType`] variant, its module here, and its async handler in the server
//! (which fetches its records); parsing, discovery and client registration follow
//! [`GrantType::ALL`].

pub mod authorization_code;
pub mod client_credentials;
pub mod plan;
pub mod refresh_token;

use crate::error::{OAuthError, Reason};
use crate::model::{Client, GrantType};

/// Whether `client` may use `grant` at the token endpoint: checked once, before any grant's
/// handler runs, so a client that may not redeem codes cannot use one up.
pub fn check_allowed(client: &Client, grant: GrantType) -> Result<(), OAuthError> {
    let allowed = match grant {
        GrantType::ClientCredentials | GrantType::AuthorizationCode => client.allows_grant(grant),
        // A client earns refresh tokens by registering this grant or, without it, when the
        // end-user grants `offline_access` (OpenID Connect Core 11): either way the token
        // itself is bound to the client, which the grant checks.
        GrantType::RefreshToken => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
            format!("the client is not registered for {}", grant.as_str()),
        ))
    }
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
    fn refresh_is_bound_by_the_token_not_the_registration() {
        let mut c = sample_client();
        c.grant_types = vec![GrantType::AuthorizationCode];
        assert!(check_allowed(&c, GrantType::RefreshToken).is_ok());
    }
}

//! Client registration (RFC 7591): the rules on a client's metadata that are protocol, not
//! plumbing. Today one: its response types and grant types agree (RFC 7591 2.1), so a client
//! never registers a flow whose grant it lacks. The admin API applies it to every registration
//! and every change, to the client as a whole.

use crate::authorize::ResponseType;
use crate::model::{Client, GrantType};

/// Why a client's metadata is refused (`invalid_client_metadata`, RFC 7591 3.2.2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// A response type `/authorize` does not implement (bare `token` among them).
    #[error("response type `{0}` is not supported")]
    UnsupportedResponseType(String),
    /// A response type whose grant the client is not registered for.
    #[error("response type `{response_type}` needs the grant type `{}` (RFC 7591 2.1)", .grant.as_str())]
    GrantTypeMissing {
        /// The response type, as registered.
        response_type: String,
        /// The grant type it needs.
        grant: GrantType,
    },
}

/// Checks that every response type of `client` is one `/authorize` implements and that the
/// client is registered for the grant each needs (RFC 7591 2.1: `code` needs
/// `authorization_code`; `token` and `id_token` need `implicit`). The other direction is not
/// required: no response types registered means `code` alone, which a client without
/// `authorization_code` never uses, and a grant without a response type is unused, not unsafe.
pub fn check_response_types(client: &Client) -> Result<(), MetadataError> {
    for registered in &client.response_types {
        let response_type = ResponseType::parse(registered)
            .ok_or_else(|| MetadataError::UnsupportedResponseType(registered.clone()))?;
        if let Some(grant) = response_type.grants().find(|g| !client.allows_grant(*g)) {
            return Err(MetadataError::GrantTypeMissing { response_type: registered.clone(), grant });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample_client;

    fn check(grants: &[GrantType], response_types: &[&str]) -> Result<(), MetadataError> {
        let client = Client {
            grant_types: grants.to_vec(),
            response_types: response_types.iter().map(|t| (*t).to_owned()).collect(),
            ..sample_client()
        };
        check_response_types(&client)
    }

    #[test]
    fn response_types_need_their_grants() {
        use GrantType::{AuthorizationCode as Code, Implicit, RefreshToken as Refresh};
        assert_eq!(check(&[Code, Refresh], &["code"]), Ok(()));
        assert_eq!(check(&[Implicit], &["id_token", "id_token token"]), Ok(()));
        assert_eq!(check(&[Code, Implicit], &["code id_token", "code token", "code id_token token"]), Ok(()));
        let missing = |response_type: &str, grant| {
            Err(MetadataError::GrantTypeMissing { response_type: response_type.to_owned(), grant })
        };
        assert_eq!(check(&[Code], &["code", "code id_token"]), missing("code id_token", Implicit));
        assert_eq!(check(&[Code], &["id_token"]), missing("id_token", Implicit));
        assert_eq!(check(&[Implicit], &["code id_token"]), missing("code id_token", Code));
        assert_eq!(check(&[GrantType::ClientCredentials], &["code"]), missing("code", Code));
    }

    #[test]
    fn no_response_types_and_unused_grants_are_fine() {
        assert_eq!(check(&[GrantType::ClientCredentials], &[]), Ok(()));
        assert_eq!(check(&[GrantType::AuthorizationCode, GrantType::Implicit], &["code"]), Ok(()));
    }

    #[test]
    fn response_types_authorize_does_not_implement_are_refused() {
        for bad in ["token", "code code", "none", "", "code  id_token_x"] {
            assert_eq!(
                check(&[GrantType::AuthorizationCode, GrantType::Implicit], &[bad]),
                Err(MetadataError::UnsupportedResponseType(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_message_names_the_missing_grant() {
        let err = check(&[GrantType::AuthorizationCode], &["code id_token"]).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "response type `code id_token` needs the grant type `implicit` (RFC 7591 2.1)"
        );
    }
}

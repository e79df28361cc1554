//! The token endpoint's request and response (RFC 6749 4.4.2, 5.1). `grant_type` is parsed
//! once into a closed enum so exactly one grant handler runs.

use serde::Serialize;

use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::model::GrantType;

/// A token request, typed by grant.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenRequest<'a> {
    /// RFC 6749 4.4.2.
    ClientCredentials {
        /// The requested scope, if any.
        scope: Option<&'a str>,
    },
}

impl TokenRequest<'_> {
    /// The grant type of the request.
    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
        }
    }
}

/// Parses the grant-specific part of a token request.
pub fn parse<'a>(form: &'a Form<'_>) -> Result<TokenRequest<'a>, OAuthError> {
    let grant_type = form.require("grant_type")?;
    match GrantType::parse(grant_type) {
        Some(GrantType::ClientCredentials) => {
            Ok(TokenRequest::ClientCredentials { scope: form.get("scope") })
        }
        Some(GrantType::AuthorizationCode | GrantType::RefreshToken) | None => {
            Err(OAuthError::new(Reason::UnsupportedGrantType, "the grant type is not supported"))
        }
    }
}

/// A successful token response (RFC 6749 5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: u32,
    /// The granted scope (RFC 6749 5.1: sent when it differs from the requested one; Tessera
    /// always sends it so clients need not remember what they asked for).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<GrantType, Reason> {
        let form = Form::parse(body.as_bytes()).map_err(|e| e.reason)?;
        parse(&form).map(|r| r.grant_type()).map_err(|e| e.reason)
    }

    #[test]
    fn grant_types() {
        assert_eq!(check("grant_type=client_credentials"), Ok(GrantType::ClientCredentials));
        assert_eq!(check("grant_type=password"), Err(Reason::UnsupportedGrantType));
        assert_eq!(check("grant_type=authorization_code"), Err(Reason::UnsupportedGrantType));
        assert_eq!(check("scope=a"), Err(Reason::MissingParameter));
        assert_eq!(
            check("grant_type=client_credentials&grant_type=client_credentials"),
            Err(Reason::RepeatedParameter)
        );
    }
}

//! The token endpoint's request and response (RFC 6749 4.4.2, 5.1). `grant_type` is parsed
//! once into a closed enum so exactly one grant handler runs.

use serde::Serialize;

use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::grants::{authorization_code, client_credentials, jwt_bearer, password, refresh_token};
use crate::model::GrantType;

/// A token request, typed by grant.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenRequest<'a> {
    /// RFC 6749 4.4.2.
    ClientCredentials(client_credentials::Request<'a>),
    /// RFC 6749 4.1.3, RFC 7636 4.5.
    AuthorizationCode(authorization_code::Request<'a>),
    /// RFC 6749 6.
    RefreshToken(refresh_token::Request<'a>),
    /// RFC 6749 4.3.2.
    Password(password::Request<'a>),
    /// RFC 7523 2.1.
    JwtBearer(jwt_bearer::Request<'a>),
}

impl TokenRequest<'_> {
    /// The grant type of the request.
    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::ClientCredentials(_) => GrantType::ClientCredentials,
            Self::AuthorizationCode(_) => GrantType::AuthorizationCode,
            Self::RefreshToken(_) => GrantType::RefreshToken,
            Self::Password(_) => GrantType::Password,
            Self::JwtBearer(_) => GrantType::JwtBearer,
        }
    }
}

/// Parses the grant-specific part of a token request.
pub fn parse<'a>(form: &'a Form<'_>) -> Result<TokenRequest<'a>, OAuthError> {
    let grant_type = form.require("grant_type")?;
    match GrantType::parse(grant_type) {
        Some(GrantType::ClientCredentials) => {
            Ok(TokenRequest::ClientCredentials(client_credentials::Request::parse(form)))
        }
        Some(GrantType::AuthorizationCode) => {
            Ok(TokenRequest::AuthorizationCode(authorization_code::Request::parse(form)?))
        }
        Some(GrantType::RefreshToken) => Ok(TokenRequest::RefreshToken(refresh_token::Request::parse(form)?)),
        Some(GrantType::Password) => Ok(TokenRequest::Password(password::Request::parse(form)?)),
        Some(GrantType::JwtBearer) => Ok(TokenRequest::JwtBearer(jwt_bearer::Request::parse(form)?)),
        // RFC 6749 4.2: the implicit grant has no token request.
        Some(GrantType::Implicit) | None => {
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
    /// A refresh token (RFC 6749 5.1), when the grant earns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// An ID token (OpenID Connect Core 3.1.3.3), when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
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
        assert_eq!(check("grant_type=password"), Err(Reason::MissingParameter));
        assert_eq!(check("grant_type=password&username=u&password=p"), Ok(GrantType::Password));
        assert_eq!(check("grant_type=implicit"), Err(Reason::UnsupportedGrantType));
        assert_eq!(check("grant_type=authorization_code&code=c"), Ok(GrantType::AuthorizationCode));
        assert_eq!(check("grant_type=authorization_code"), Err(Reason::MissingParameter));
        assert_eq!(check("grant_type=refresh_token&refresh_token=r"), Ok(GrantType::RefreshToken));
        assert_eq!(check("grant_type=refresh_token"), Err(Reason::MissingParameter));
        assert_eq!(check("scope=a"), Err(Reason::MissingParameter));
        assert_eq!(
            check("grant_type=client_credentials&grant_type=client_credentials"),
            Err(Reason::RepeatedParameter)
        );
    }
}

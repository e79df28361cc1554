//! Token revocation (RFC 7009). The request names a token; invalid or unknown tokens are not an
//! error (2.2: the client could not act on one). A token issued to another client is refused.

use crate::error::{OAuthError, Reason};
use crate::form::Form;

/// A revocation request (RFC 7009 2.1).
#[derive(Debug, PartialEq, Eq)]
pub struct RevocationRequest<'a> {
    /// The token to revoke.
    pub token: &'a str,
}

/// Parses a revocation request. `token_type_hint` values other than the two RFC 7009 defines
/// are refused with `unsupported_token_type` (2.2.1); the hint is otherwise only a hint.
pub fn parse<'a>(form: &'a Form<'_>) -> Result<RevocationRequest<'a>, OAuthError> {
    let token = form.require("token")?;
    match form.get("token_type_hint") {
        None | Some("access_token" | "refresh_token") => Ok(RevocationRequest { token }),
        Some(_) => Err(OAuthError::new(
            Reason::UnsupportedTokenTypeHint,
            "token_type_hint must be access_token or refresh_token",
        )),
    }
}

/// The error for a token that exists but was issued to another client.
pub fn not_your_token() -> OAuthError {
    OAuthError::new(Reason::TokenOfAnotherClient, "the token was not issued to this client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints() {
        for (body, ok) in [
            ("token=x", true),
            ("token=x&token_type_hint=access_token", true),
            ("token=x&token_type_hint=refresh_token", true),
            ("token=x&token_type_hint=id_token", false),
            ("token_type_hint=access_token", false),
        ] {
            let form = Form::parse(body.as_bytes()).expect("form");
            assert_eq!(parse(&form).is_ok(), ok, "{body}");
        }
    }
}

//! Token revocation (RFC 7009). The request names a token; invalid or unknown tokens are not an
//! error (2.2: the client could not act on one). A token issued to another client is refused,
//! unless the tenant's operator asks ([`may_revoke`]).

use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::introspection::Asker;

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

/// Whether `asker` may revoke a token issued to `owner`: a client its own tokens (RFC 7009
/// 2.1), the operator any token of the tenant.
pub fn may_revoke(asker: Asker<'_>, owner: &str) -> Result<(), OAuthError> {
    match asker {
        Asker::Client(client_id) if client_id != owner => Err(not_your_token()),
        Asker::Client(_) | Asker::Operator => Ok(()),
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
    fn a_client_revokes_its_own_tokens_the_operator_any() {
        assert_eq!(may_revoke(Asker::Client("web"), "web"), Ok(()));
        let err = may_revoke(Asker::Client("api"), "web").expect_err("another client's");
        assert_eq!(err.reason, Reason::TokenOfAnotherClient);
        assert_eq!(may_revoke(Asker::Operator, "web"), Ok(()));
    }

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

//! The client credentials grant (RFC 6749 4.4): a client gets a token for itself, within the
//! scope it registered. The subject is the client (RFC 9068 2.2).

use crate::error::{OAuthError, Reason};
use crate::jwt::AccessTokenClaims;
use crate::model::{Client, GrantType, UnixSecs};
use crate::scope;

/// What a valid client credentials request earns.
#[derive(Debug, PartialEq, Eq)]
pub struct Validated {
    /// The scope to grant.
    pub scope: String,
}

/// Checks that the authenticated client may use this grant with the requested scope.
pub fn validate(requested_scope: Option<&str>, client: &Client) -> Result<Validated, OAuthError> {
    if !client.allows_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::new(
            Reason::GrantTypeNotAllowed,
            "the client is not registered for client_credentials",
        ));
    }
    Ok(Validated { scope: scope::grant(requested_scope, &client.scope)? })
}

/// The claims of the access token for a validated request.
pub fn claims(
    v: Validated,
    client: &Client,
    issuer: &str,
    jti: String,
    now: UnixSecs,
    ttl_secs: u32,
) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: issuer.to_owned(),
        sub: client.client_id.clone(),
        aud: issuer.to_owned(),
        exp: now + i64::from(ttl_secs),
        iat: now,
        jti,
        client_id: client.client_id.clone(),
        scope: v.scope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample_client;

    #[test]
    fn registered_grant_and_scope_are_required() {
        let c = sample_client();
        assert_eq!(validate(Some("read"), &c).expect("ok").scope, "read");
        assert_eq!(validate(Some("admin"), &c).expect_err("scope").reason, Reason::ScopeNotAllowed);
        let mut other = sample_client();
        other.grant_types = vec![GrantType::AuthorizationCode];
        assert_eq!(validate(None, &other).expect_err("grant").reason, Reason::GrantTypeNotAllowed);
    }

    #[test]
    fn claims_name_the_client_as_subject() {
        let c = sample_client();
        let v = validate(None, &c).expect("ok");
        let claims = claims(v, &c, "https://id.example/t/t", "j".into(), 100, 60);
        assert_eq!(claims.sub, c.client_id);
        assert_eq!(claims.client_id, c.client_id);
        assert_eq!(claims.exp, 160);
        assert_eq!(claims.scope, "read write");
    }
}

//! What a grant earns, as data. Each grant's validation ends in an [`IssuePlan`]; the server
//! carries out every plan with one shared step (sign or store the access token, store or hand
//! back the refresh token, sign the ID token beside it), so a new grant only decides what to
//! issue, never how. This is fosite's two phases: validate, then issue.

use crate::jwt::AccessTokenClaims;
use crate::model::{Authentication, RefreshToken, UnixSecs};
use crate::scope;

/// Everything one token response issues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuePlan {
    /// The access token's subject: an end-user, or the client itself (RFC 9068 2.2).
    pub sub: String,
    /// The access token's scope, space-delimited.
    pub scope: String,
    /// The access token's audience; `None` means the issuer itself (RFC 9068 3: the default
    /// resource when the request named none).
    pub audience: Option<String>,
    /// The access token's `jti`: fresh, or derived from the code it was redeemed for so a
    /// replay of the code can deny it.
    pub jti: String,
    /// The refresh token of the response.
    pub refresh: RefreshPlan,
    /// The ID token beside the access token, when `openid` was granted.
    pub id_token: Option<IdTokenPlan>,
}

/// The refresh token a response carries.
#[derive(Clone, Debug, PartialEq, Eq)]
// Made once per token request and moved, never held in bulk: boxing would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
pub enum RefreshPlan {
    /// None.
    None,
    /// A new family starts: the issuing step stores this first token (the store refuses it
    /// when the family was revoked meanwhile) and returns its value.
    StartFamily(RefreshToken),
    /// The grant already stored the token (a rotation decided atomically by the store): its
    /// value goes back as it is.
    Stored(String),
}

/// The ID token to sign beside the access token (OpenID Connect Core 3.1.3.3, 12.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTokenPlan {
    /// Who authenticated, and how.
    pub auth: Authentication,
    /// The authorization request's `nonce`; never repeated on a refresh (Core 12.2).
    pub nonce: Option<String>,
}

impl IssuePlan {
    /// The RFC 9068 claims of the plan's access token, issued by `issuer` to `client_id` at
    /// `now` for `ttl_secs`.
    pub fn access_token_claims(
        &self,
        issuer: &str,
        client_id: &str,
        now: UnixSecs,
        ttl_secs: u32,
    ) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: issuer.to_owned(),
            sub: self.sub.clone(),
            aud: self.audience.clone().unwrap_or_else(|| issuer.to_owned()),
            exp: now + i64::from(ttl_secs),
            iat: now,
            jti: self.jti.clone(),
            client_id: client_id.to_owned(),
            scope: self.scope.clone(),
        }
    }
}

/// The ID-token plan for a grant of `scope` after the login `auth`: one only when `openid`
/// was granted (OpenID Connect Core 3.1.2.1).
pub fn id_token_for(scope: &str, auth: Authentication, nonce: Option<String>) -> Option<IdTokenPlan> {
    scope::contains(scope, scope::OPENID).then_some(IdTokenPlan { auth, nonce })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(audience: Option<&str>) -> IssuePlan {
        IssuePlan {
            sub: "alice".into(),
            scope: "read".into(),
            audience: audience.map(str::to_owned),
            jti: "j".into(),
            refresh: RefreshPlan::None,
            id_token: None,
        }
    }

    #[test]
    fn claims_default_the_audience_to_the_issuer() {
        let claims = plan(None).access_token_claims("https://id.example/t/a", "svc", 100, 60);
        assert_eq!(claims.aud, "https://id.example/t/a");
        assert_eq!((claims.sub.as_str(), claims.client_id.as_str()), ("alice", "svc"));
        assert_eq!((claims.iat, claims.exp, claims.jti.as_str()), (100, 160, "j"));
        assert_eq!(claims.scope, "read");
        let claims = plan(Some("https://api.example")).access_token_claims("https://i", "svc", 0, 1);
        assert_eq!(claims.aud, "https://api.example");
    }

    #[test]
    fn id_tokens_only_with_openid() {
        let auth = Authentication {
            sub: "u".into(),
            sid: "s".into(),
            auth_time: 1,
            acr: None,
            amr: vec!["pwd".into()],
        };
        assert_eq!(id_token_for("profile email", auth.clone(), None), None);
        assert_eq!(id_token_for("openidx", auth.clone(), None), None);
        let plan = id_token_for("profile openid", auth.clone(), Some("n".into())).expect("openid");
        assert_eq!(plan, IdTokenPlan { auth, nonce: Some("n".into()) });
    }
}

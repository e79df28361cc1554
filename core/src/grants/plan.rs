//! What a grant earns, as data. Each grant's validation ends in an [`IssuePlan`]; the server
//! carries out every plan with one shared step (sign or store the access token, store or hand
//! back the refresh token, sign the ID token beside it), so a new grant only decides what to
//! issue, never how. This is fosite's two phases: validate, then issue.

use std::sync::Arc;

use crate::error::OAuthError;
use crate::jwt::AccessTokenClaims;
use crate::model::{
    AccessTokenFormat, Api, Authentication, DirectGrant, RefreshToken, ScopePermission, UnixSecs,
};
use crate::rbac::{self, Entitlements};
use crate::{resource, scope};

/// Everything one token response issues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuePlan {
    /// The access token's subject: an end-user, or the client itself (RFC 9068 2.2).
    pub sub: String,
    /// The access token's scope, space-delimited.
    pub scope: String,
    /// The API the access token is for (RFC 8707 `resource`); `None` means the issuer itself
    /// (RFC 9068 3: the default resource when the request named none).
    pub target: Option<Target>,
    /// The access token's `jti`: fresh, or derived from the code it was redeemed for so a
    /// replay of the code can deny it.
    pub jti: String,
    /// The refresh token of the response.
    pub refresh: RefreshPlan,
    /// The ID token beside the access token, when `openid` was granted.
    pub id_token: Option<IdTokenPlan>,
    /// The subject's roles and permissions, which the access token carries
    /// ([`IssuePlan::with_entitlements`]).
    pub entitlements: Arc<Entitlements>,
    /// What the identity validator that accepted a password added about the subject: the
    /// access token's `extraInfo` claim.
    pub extra_info: Option<serde_json::Map<String, serde_json::Value>>,
    /// The identity validator or trusted issuer (JWT bearer grant) that vouched for the
    /// subject, when one outside the local directory did: the access token's `validator` claim. Such a subject need not be a
    /// local user, so its tokens are not held to a local user's standing.
    pub validator: Option<String>,
    /// How a long-lived direct authorisation's access tokens are made, when the plan is a
    /// refresh of one: its audience, data, userinfo release, encoding and lifetime.
    pub direct: Option<DirectGrant>,
}

/// The API an access token is for, and what it says about its tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The API's identifier: the token's `aud`.
    pub audience: String,
    /// The API's access-token format, when not the client's.
    pub format: Option<AccessTokenFormat>,
    /// The API's access-token lifetime, when not the tenant's.
    pub ttl_secs: Option<u32>,
}

/// Whether the client named the scope of a grant, or the server chose it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeSource {
    /// The client asked for it (a `scope` parameter): it must be granted whole.
    Requested,
    /// The server chose it (a client's registered scope, a refresh's original grant): RFC 6749
    /// 3.3 lets the server grant less.
    Default,
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

impl ScopeSource {
    /// The source of a grant's scope given its request's `scope` parameter.
    pub fn of(requested: Option<&str>) -> Self {
        if requested.is_some() { Self::Requested } else { Self::Default }
    }
}

impl IssuePlan {
    /// Gives the plan its subject's roles and permissions and holds its scope to the tenant's
    /// scope `rules` ([`rbac::check_scope`]): a requested scope with a value the subject may
    /// not use fails with `invalid_scope`; a default one loses such values. Without an ID
    /// token the roles only travel in the access token.
    pub fn with_entitlements(
        mut self,
        held: Arc<Entitlements>,
        rules: &[ScopePermission],
        source: ScopeSource,
    ) -> Result<Self, OAuthError> {
        if rules.is_empty() {
            // No scope needs a permission: the scope stands as planned.
            rbac::check_size(&held)?;
        } else {
            self.scope = rbac::admit_scope(&self.scope, &held, rules, source == ScopeSource::Requested)?;
        }
        self.entitlements = held;
        Ok(self)
    }

    /// Makes the plan's access token one for `api` (RFC 8707): its audience, its format and
    /// lifetime when it sets them, and the scope held to what it declares
    /// ([`resource::hold_scope`]: a requested value it does not declare is `invalid_scope`
    /// when `source` is [`ScopeSource::Requested`], dropped otherwise).
    pub fn for_api(mut self, api: Option<&Api>, source: ScopeSource) -> Result<Self, OAuthError> {
        if let Some(api) = api {
            self.scope = resource::hold_scope(&self.scope, api, source == ScopeSource::Requested)?;
            self.target = Some(Target {
                audience: api.identifier.clone(),
                format: api.access_token_format,
                ttl_secs: api.access_token_ttl_secs,
            });
        }
        Ok(self)
    }

    /// The access token's format: a direct authorisation's, its API's, or else the client's.
    pub fn access_token_format(&self, client_format: AccessTokenFormat) -> AccessTokenFormat {
        if let Some(direct) = &self.direct {
            return if direct.identifier { AccessTokenFormat::Opaque } else { AccessTokenFormat::Jwt };
        }
        self.target.as_ref().and_then(|t| t.format).unwrap_or(client_format)
    }

    /// The access token's lifetime: a direct authorisation's (within the tenant's
    /// `tenant_ttl_secs`, which may have shrunk since), its API's, or else the tenant's.
    pub fn access_token_ttl(&self, tenant_ttl_secs: u32) -> u32 {
        if let Some(direct) = &self.direct {
            return direct.access_token_ttl_secs.min(tenant_ttl_secs);
        }
        self.target.as_ref().and_then(|t| t.ttl_secs).unwrap_or(tenant_ttl_secs)
    }

    /// The RFC 9068 claims of the plan's access token, issued by `issuer` to `client_id` at
    /// `now` for `ttl_secs`.
    pub fn access_token_claims(
        &self,
        issuer: &str,
        client_id: &str,
        now: UnixSecs,
        ttl_secs: u32,
    ) -> AccessTokenClaims {
        let mut claims = AccessTokenClaims {
            iss: issuer.to_owned(),
            sub: self.sub.clone(),
            aud: self.target.as_ref().map_or_else(|| issuer.to_owned(), |t| t.audience.clone()),
            exp: now + i64::from(ttl_secs),
            iat: now,
            jti: self.jti.clone(),
            client_id: client_id.to_owned(),
            scope: self.scope.clone(),
            roles: self.entitlements.roles.clone(),
            permissions: self.entitlements.permissions.clone(),
            extra_info: self.extra_info.clone(),
            validator: self.validator.clone(),
            act: None,
            dat: None,
            cls: Vec::new(),
            uip: None,
        };
        if let Some(direct) = &self.direct {
            crate::direct_authz::grant::apply(direct, &mut claims);
        }
        claims
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
            target: audience.map(|a| Target { audience: a.to_owned(), format: None, ttl_secs: None }),
            jti: "j".into(),
            refresh: RefreshPlan::None,
            id_token: None,
            entitlements: rbac::none(),
            extra_info: None,
            validator: None,
            direct: None,
        }
    }

    #[test]
    fn an_api_sets_the_audience_format_and_lifetime_and_holds_the_scope() {
        let api = Api {
            id: "a".into(),
            identifier: "https://orders.example".into(),
            name: "orders".into(),
            scopes: vec!["read".into()],
            access_token_format: Some(AccessTokenFormat::Opaque),
            access_token_ttl_secs: Some(60),
            created_at: 0,
        };
        let mut p = plan(None);
        p.scope = "read write".into();
        assert!(p.clone().for_api(Some(&api), ScopeSource::Requested).is_err());
        let held = p.clone().for_api(Some(&api), ScopeSource::Default).expect("held");
        assert_eq!(held.scope, "read");
        assert_eq!(held.access_token_format(AccessTokenFormat::Jwt), AccessTokenFormat::Opaque);
        assert_eq!(held.access_token_ttl(3600), 60);
        assert_eq!(held.access_token_claims("https://i", "c", 0, 60).aud, "https://orders.example");
        let untouched = p.clone().for_api(None, ScopeSource::Requested).expect("no api");
        assert_eq!(untouched, p);
        assert_eq!(untouched.access_token_format(AccessTokenFormat::Jwt), AccessTokenFormat::Jwt);
        assert_eq!(untouched.access_token_ttl(3600), 3600);
    }

    #[test]
    fn entitlements_reach_the_claims_and_hold_the_scope_to_the_rules() {
        let held =
            Arc::new(Entitlements { roles: vec!["editor".into()], permissions: vec!["docs:write".into()] });
        let rules = [ScopePermission { scope: "admin".into(), permission: "admin:all".into() }];
        let mut p = plan(None);
        p.scope = "read admin".into();
        let err =
            p.clone().with_entitlements(held.clone(), &rules, ScopeSource::Requested).expect_err("rule");
        assert_eq!(err.reason, crate::error::Reason::ScopeNotPermitted);
        let narrowed = p.with_entitlements(held.clone(), &rules, ScopeSource::Default).expect("narrowed");
        assert_eq!(narrowed.scope, "read");
        let claims = narrowed.access_token_claims("https://i", "svc", 0, 1);
        assert_eq!((&claims.roles, &claims.permissions), (&held.roles, &held.permissions));
        let bare = plan(None).access_token_claims("https://i", "svc", 0, 1);
        let json = serde_json::to_value(&bare).expect("json");
        assert!(
            json.get("roles").is_none() && json.get("permissions").is_none(),
            "absent when empty: {json}"
        );
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

//! Token introspection (RFC 7662): the request, and the answer for each kind of token. A token
//! is active only if this tenant issued it, it has not expired and it was not revoked; every
//! other case is the same bare `{"active":false}`, so the answer leaks nothing.

use serde::Serialize;

use crate::error::OAuthError;
use crate::form::Form;
use crate::jwt::AccessTokenClaims;
use crate::model::{ApiKey, OpaqueToken, RefreshToken, UnixSecs};
use crate::rbac::Entitlements;

/// Whether an access token's subject is an end-user, who must still exist for the token to be
/// active (deleting a user ends what they granted), rather than the client itself: RFC 9068
/// 2.2 has a client credentials token name its client as `sub`, and no other grant does.
/// Userinfo answers by the same rule.
pub fn names_end_user(sub: &str, client_id: &str) -> bool {
    sub != client_id
}

/// Who asks about a token: a client of the tenant at `/introspect` or `/revoke`, or the
/// tenant's operator through the admin API, who sees and may end every token of the tenant
/// whichever client holds it (support staff looking into a user's problem, or ending a leaked
/// credential).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asker<'a> {
    /// An authenticated client, by its id.
    Client(&'a str),
    /// The tenant's operator (the admin API).
    Operator,
}

impl Asker<'_> {
    /// Whether this asker is told about a refresh token issued to `owner`. A client hears only
    /// of its own: resource servers have no business with refresh tokens, and answering them
    /// would tell who holds which grant. The operator hears of all.
    pub fn sees_refresh_token_of(self, owner: &str) -> bool {
        match self {
            Self::Client(client_id) => client_id == owner,
            Self::Operator => true,
        }
    }

    /// Whether this asker is told an access token bound to the resource servers `audience`
    /// (client ids; a direct authorisation's `audience`) is active: a client only when it is
    /// one of them, any client when the token names none. The operator is told of all.
    pub fn sees_access_token_for(self, audience: &[String]) -> bool {
        match self {
            Self::Client(client_id) => audience.is_empty() || audience.iter().any(|a| a == client_id),
            Self::Operator => true,
        }
    }
}

/// An introspection request (RFC 7662 2.1). `token_type_hint` is only a hint: Tessera tells
/// JWTs from opaque tokens by their shape, so the hint is accepted and not needed.
#[derive(Debug, PartialEq, Eq)]
pub struct IntrospectionRequest<'a> {
    /// The token to introspect.
    pub token: &'a str,
}

/// Parses an introspection request.
pub fn parse<'a>(form: &'a Form<'_>) -> Result<IntrospectionRequest<'a>, OAuthError> {
    Ok(IntrospectionRequest { token: form.require("token")? })
}

/// The introspection response (RFC 7662 2.2).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct IntrospectionResponse {
    /// Whether the token is active.
    pub active: bool,
    /// The granted scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Always `Bearer` for an active token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub exp: Option<UnixSecs>,
    /// Issued at.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub iat: Option<UnixSecs>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The names of the subject's roles when the token was issued (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The subject's permissions when the token was issued (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// What the identity validator that accepted a password grant said about the subject.
    #[serde(rename = "extraInfo", skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub extra_info: Option<serde_json::Map<String, serde_json::Value>>,
    /// The actor of an impersonated subject (RFC 8693 `act`), from the direct authorisation API.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub act: Option<serde_json::Value>,
    /// The data a direct authorisation stored with the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub dat: Option<serde_json::Value>,
}

impl IntrospectionResponse {
    /// `{"active":false}`.
    pub fn inactive() -> Self {
        Self::default()
    }

    /// The answer for a JWT whose signature verified with one of this tenant's keys.
    pub fn for_jwt(claims: AccessTokenClaims, issuer: &str, revoked: bool, now: UnixSecs) -> Self {
        if claims.iss != issuer || claims.exp <= now || revoked {
            return Self::inactive();
        }
        Self {
            active: true,
            scope: Some(claims.scope).filter(|s| !s.is_empty()),
            client_id: Some(claims.client_id),
            token_type: Some("Bearer"),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            iss: Some(claims.iss),
            jti: Some(claims.jti),
            roles: claims.roles,
            permissions: claims.permissions,
            extra_info: claims.extra_info,
            act: claims.act,
            dat: claims.dat,
        }
    }

    /// The answer for a live refresh token of this tenant (the store checked expiry and the
    /// family). `token_type` is left out: RFC 7662 takes its values from RFC 6749 5.1, which
    /// has none for refresh tokens.
    pub fn for_refresh_token(token: RefreshToken, issuer: &str) -> Self {
        Self {
            active: true,
            scope: Some(token.scope).filter(|s| !s.is_empty()),
            client_id: Some(token.client_id),
            token_type: None,
            exp: Some(token.expires_at),
            iat: Some(token.issued_at),
            sub: Some(token.auth.sub),
            aud: None,
            iss: Some(issuer.to_owned()),
            jti: None,
            ..Self::default()
        }
    }

    /// The answer for a live API key of this tenant (the caller checked it with
    /// [`ApiKey::accepts`]), with what its roles grant now. It names no client: an API key
    /// belongs to the tenant; its `sub` is the key's id, `iat` when its secret was made.
    pub fn for_api_key(key: &ApiKey, held: Entitlements, issuer: &str) -> Self {
        Self {
            active: true,
            scope: Some(key.scope.clone()).filter(|s| !s.is_empty()),
            token_type: Some("Bearer"),
            exp: key.expires_at,
            iat: Some(key.rotated_at),
            sub: Some(key.id.clone()),
            iss: Some(issuer.to_owned()),
            roles: held.roles,
            permissions: held.permissions,
            ..Self::default()
        }
    }

    /// The answer for a stored opaque token of this tenant.
    pub fn for_opaque(token: OpaqueToken, issuer: &str, now: UnixSecs) -> Self {
        if token.exp <= now {
            return Self::inactive();
        }
        Self {
            active: true,
            scope: Some(token.scope).filter(|s| !s.is_empty()),
            client_id: Some(token.client_id),
            token_type: Some("Bearer"),
            exp: Some(token.exp),
            iat: Some(token.iat),
            sub: Some(token.sub),
            aud: Some(token.aud.unwrap_or_else(|| issuer.to_owned())),
            iss: Some(issuer.to_owned()),
            jti: Some(token.jti),
            roles: token.roles,
            permissions: token.permissions,
            // Written by the server from a JSON object; text that no longer parses (which
            // only a damaged record could hold) is left out rather than failing the answer.
            extra_info: token.extra_info.and_then(|text| serde_json::from_str(&text).ok()),
            act: token.act.map(|sub| serde_json::json!({ "sub": sub })),
            dat: token.dat.and_then(|text| serde_json::from_str(&text).ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audience_bound_token_is_shown_only_to_its_audience() {
        let audience = vec!["rs-1".to_owned(), "rs-2".to_owned()];
        assert!(Asker::Client("rs-2").sees_access_token_for(&audience));
        assert!(!Asker::Client("rs-3").sees_access_token_for(&audience));
        assert!(Asker::Client("rs-3").sees_access_token_for(&[]));
        assert!(Asker::Operator.sees_access_token_for(&audience));
    }

    fn claims(exp: UnixSecs) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://i/t/a".into(),
            sub: "svc".into(),
            aud: "https://i/t/a".into(),
            exp,
            iat: 0,
            jti: "j".into(),
            client_id: "svc".into(),
            scope: "read".into(),
            roles: vec!["editor".into()],
            permissions: vec!["docs:write".into()],
            extra_info: None,
            validator: None,
            act: None,
            dat: None,
            cls: Vec::new(),
            uip: None,
        }
    }

    #[test]
    fn only_client_credentials_tokens_name_their_client() {
        assert!(!names_end_user("svc", "svc"));
        assert!(names_end_user("AAAAAAAAAAAAAAAAAAAAAA", "svc"));
    }

    #[test]
    fn inactive_is_bare() {
        let json = serde_json::to_string(&IntrospectionResponse::inactive()).expect("json");
        assert_eq!(json, r#"{"active":false}"#);
    }

    #[test]
    fn jwt_activity() {
        let active = IntrospectionResponse::for_jwt(claims(100), "https://i/t/a", false, 50);
        assert!(active.active);
        let json = serde_json::to_value(&active).expect("json");
        assert_eq!((&json["roles"][0], &json["permissions"][0]), (&"editor".into(), &"docs:write".into()));
        assert!(!IntrospectionResponse::for_jwt(claims(100), "https://i/t/a", false, 100).active, "expired");
        assert!(!IntrospectionResponse::for_jwt(claims(100), "https://i/t/a", true, 50).active, "revoked");
        assert!(
            !IntrospectionResponse::for_jwt(claims(100), "https://i/t/b", false, 50).active,
            "other tenant"
        );
    }

    #[test]
    fn refresh_tokens_are_described_to_their_client_and_the_operator() {
        assert!(Asker::Client("web").sees_refresh_token_of("web"));
        assert!(!Asker::Client("api").sees_refresh_token_of("web"));
        assert!(Asker::Operator.sees_refresh_token_of("web"));
    }

    #[test]
    fn token_is_required() {
        let form = Form::parse(b"token_type_hint=access_token").expect("form");
        assert!(parse(&form).is_err());
    }
}

//! How a direct authorisation's access tokens are made ([`DirectGrant`]): decided once from
//! the request and the decision ([`grant_of`]), applied to the authorisation's own access token
//! and kept with its refresh tokens, so every token a refresh issues is made alike ([`apply`]).

use serde_json::{Map, Value};

use super::decide::Decision;
use super::request::{DirectAuthzRequest, Encoding};
use super::userinfo::UserinfoRelease;
use crate::jwt::AccessTokenClaims;
use crate::model::DirectGrant;

/// How the access tokens of the authorisation `req`, decided as `d`, are made.
pub fn grant_of(req: &DirectAuthzRequest, d: &Decision) -> DirectGrant {
    let release = UserinfoRelease::of(req);
    let text = |object: Map<String, Value>| Value::Object(object).to_string();
    DirectGrant {
        audience: req.audience.clone(),
        act: d.act.clone(),
        dat: req.data.clone().map(text),
        cls: release.claims,
        uip: release.preset.map(text),
        identifier: req.access_token.encoding == Encoding::Identifier,
        encrypt: req.access_token.encrypt,
        access_token_ttl_secs: d.access_token_ttl_secs,
    }
}

/// Gives `claims` what `grant` adds to an ordinary access token: its audience (several held
/// space-separated, signed as an array; none keeps the audience `claims` has), its impersonator
/// as `act`, its data as `dat`, its userinfo release as `cls` and `uip`.
pub fn apply(grant: &DirectGrant, claims: &mut AccessTokenClaims) {
    if !grant.audience.is_empty() {
        claims.aud = grant.audience.join(" ");
    }
    // Written as JSON text of an object by `grant_of`; anything else is none.
    let object = |text: &Option<String>| text.as_deref().and_then(|t| serde_json::from_str(t).ok());
    claims.act = grant.act.as_ref().map(|actor| serde_json::json!({ "sub": actor }));
    claims.dat = object(&grant.dat).map(Value::Object);
    claims.cls.clone_from(&grant.cls);
    claims.uip = object(&grant.uip);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::direct_authz::{decide, parse};
    use crate::model::{
        AccessTokenFormat, Client, GrantType, SigningAlg, TenantSettings, TokenEndpointAuthMethod,
    };

    fn client() -> Client {
        Client {
            tenant: "t".into(),
            client_id: "c".into(),
            client_name: "c".into(),
            secret_digest: None,
            grant_types: vec![GrantType::RefreshToken],
            redirect_uris: vec![],
            response_types: vec![],
            scope: vec!["openid".into(), "read".into()],
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            access_token_format: AccessTokenFormat::Jwt,
            id_token_signed_response_alg: SigningAlg::RS256,
            post_logout_redirect_uris: vec![],
            first_party: false,
            created_at: 0,
            pkce_plain_allowed: false,
            grants_valid_from: 0,
            apis: None,
            token_rate_limit: None,
        }
    }

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://i/t/a".into(),
            sub: "bob".into(),
            aud: "https://i/t/a".into(),
            exp: 10,
            iat: 0,
            jti: "j".into(),
            client_id: "c".into(),
            scope: "read".into(),
            roles: vec![],
            permissions: vec![],
            extra_info: None,
            validator: None,
            act: None,
            dat: None,
            cls: Vec::new(),
            uip: None,
        }
    }

    #[test]
    fn what_the_request_asked_is_kept_and_put_in_every_token() {
        let body = br#"{"sub":"alice","client_id":"c","scope":["read"],"impersonated_sub":"bob",
            "audience":["rs-a","rs-b"],"data":{"tier":"gold"},"claims":["email"],
            "preset_claims":{"userinfo":{"group":"staff"}},
            "access_token":{"encoding":"IDENTIFIER","lifetime":600}}"#;
        let req = parse(body).expect("parses");
        let d = decide(&req, &client(), &TenantSettings::default(), "alice", false).expect("decided");
        let grant = grant_of(&req, &d);
        assert!(grant.identifier && !grant.encrypt && grant.access_token_ttl_secs == 600, "{grant:?}");
        let mut c = claims();
        apply(&grant, &mut c);
        assert_eq!(c.aud, "rs-a rs-b");
        assert_eq!(c.act, Some(serde_json::json!({ "sub": "alice" })));
        assert_eq!(c.dat, Some(serde_json::json!({ "tier": "gold" })));
        assert_eq!(
            (c.cls, c.uip),
            (vec!["email".to_owned()], serde_json::json!({ "group": "staff" }).as_object().cloned())
        );
        // Nothing asked, nothing added: the audience stays the token's.
        let plain = parse(br#"{"sub":"alice","client_id":"c"}"#).expect("parses");
        let d = decide(&plain, &client(), &TenantSettings::default(), "alice", false).expect("decided");
        let mut c = claims();
        apply(&grant_of(&plain, &d), &mut c);
        assert_eq!(c, claims());
    }
}

//! What a direct authorisation earns, decided over the records the server fetched: the scope
//! (held to the client's registration), each token's lifetime (positive and within the
//! tenant's configured lifetime, which is its maximum here), whether an ID token and a refresh
//! token are issued, and the subject the tokens name when the authorised subject impersonates
//! another (RFC 8693 4.1: `sub` is the impersonated subject, `act.sub` the impersonator).

use super::error::DirectAuthzError;
use super::request::DirectAuthzRequest;
use crate::model::{Client, GrantType, TenantSettings};
use crate::scope;

/// The decided authorisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The granted scope, space-delimited.
    pub scope: String,
    /// The tokens' subject: the impersonated subject, or else the authorised one.
    pub token_sub: String,
    /// The impersonator (`act.sub`), when there is one.
    pub act: Option<String>,
    /// The access token's lifetime.
    pub access_token_ttl_secs: u32,
    /// The ID token's lifetime, when one is issued.
    pub id_token_ttl_secs: Option<u32>,
    /// The refresh token's lifetime, when one is issued.
    pub refresh_token_ttl_secs: Option<u32>,
}

/// Decides the authorisation `req` asks for `client` of a tenant with `settings`, for the
/// authorised subject `sub`; `with_session` says whether a session backs it (only then is
/// there an ID token, and only with `openid` granted).
pub fn decide(
    req: &DirectAuthzRequest,
    client: &Client,
    settings: &TenantSettings,
    sub: &str,
    with_session: bool,
) -> Result<Decision, DirectAuthzError> {
    let scope = if req.scope.is_empty() {
        String::new()
    } else {
        scope::grant(Some(&req.scope.join(" ")), &client.scope)
            .map_err(|e| DirectAuthzError::invalid(e.description))?
    };
    let access_token_ttl_secs =
        within("access_token.lifetime", req.access_token.lifetime_secs, settings.access_token_ttl_secs)?;
    let id_token_ttl_secs =
        within("id_token.lifetime", req.id_token_lifetime_secs, settings.id_token_ttl_secs)?;
    let refresh_ttl =
        within("refresh_token.lifetime", req.refresh_token_lifetime_secs, settings.refresh_token_ttl_secs)?;
    let id_token = with_session && scope::contains(&scope, scope::OPENID);
    // A client that may not refresh gets no refresh token, as at the token endpoint.
    let refresh = req.long_lived && req.refresh_token && client.allows_grant(GrantType::RefreshToken);
    let (token_sub, act) = match &req.impersonated_sub {
        Some(target) if target == sub => {
            return Err(DirectAuthzError::invalid("impersonated_sub is the authorised subject itself"));
        }
        Some(target) => (target.clone(), Some(sub.to_owned())),
        None => (sub.to_owned(), None),
    };
    // The refresh token is stored under the tokens' subject.
    if refresh {
        super::request::stored_subject("the subject", token_sub.clone())?;
    }
    Ok(Decision {
        scope,
        token_sub,
        act,
        access_token_ttl_secs,
        id_token_ttl_secs: id_token.then_some(id_token_ttl_secs),
        refresh_token_ttl_secs: refresh.then_some(refresh_ttl),
    })
}

/// `asked`, or `max` when nothing was asked; more than `max` is refused.
fn within(what: &str, asked: Option<u32>, max: u32) -> Result<u32, DirectAuthzError> {
    match asked {
        None => Ok(max),
        Some(secs) if secs > max => {
            Err(DirectAuthzError::invalid(format!("{what} exceeds the tenant's maximum of {max} seconds")))
        }
        Some(secs) => Ok(secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::direct_authz::parse;
    use crate::model::{AccessTokenFormat, SigningAlg, TokenEndpointAuthMethod};

    fn client(grants: Vec<GrantType>) -> Client {
        Client {
            tenant: "t".into(),
            client_id: "c".into(),
            client_name: "c".into(),
            secret_digest: None,
            grant_types: grants,
            redirect_uris: vec![],
            response_types: vec![],
            scope: vec!["openid".into(), "email".into(), "read".into()],
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

    fn check(body: &str, with_session: bool) -> Result<Decision, DirectAuthzError> {
        let req = parse(body.as_bytes()).expect("parses");
        decide(
            &req,
            &client(vec![GrantType::RefreshToken]),
            &TenantSettings::default(),
            "alice",
            with_session,
        )
    }

    #[test]
    fn only_a_subject_the_store_can_key_may_be_long_lived() {
        let req = |long_lived: bool| {
            let body = format!(r#"{{"sub":"p7@partner.example","client_id":"c","long_lived":{long_lived}}}"#);
            parse(body.as_bytes()).expect("parses")
        };
        let c = client(vec![GrantType::RefreshToken]);
        let settings = TenantSettings::default();
        let err = decide(&req(true), &c, &settings, "p7@partner.example", false).expect_err("refused");
        assert!(err.description().contains("stored"), "{}", err.description());
        let transient = decide(&req(false), &c, &settings, "p7@partner.example", false).expect("transient");
        assert_eq!(transient.refresh_token_ttl_secs, None);
        // Without a refresh token nothing of it is stored either.
        let body = r#"{"sub":"p7@partner.example","client_id":"c","long_lived":true,"refresh_token":{"issue":false}}"#;
        let no_refresh = parse(body.as_bytes()).expect("parses");
        assert!(decide(&no_refresh, &c, &settings, "p7@partner.example", false).is_ok());
    }

    #[test]
    fn scope_is_held_to_the_registration() {
        let d = check(r#"{"sub":"alice","client_id":"c","scope":["read","email"]}"#, false).expect("ok");
        assert_eq!(d.scope, "read email");
        let err = check(r#"{"sub":"alice","client_id":"c","scope":["admin"]}"#, false).expect_err("admin");
        assert!(matches!(err, DirectAuthzError::InvalidRequest(ref why) if why.contains("admin")), "{err:?}");
    }

    #[test]
    fn id_tokens_need_a_session_and_openid() {
        let body = r#"{"sub":"alice","client_id":"c","scope":["openid"]}"#;
        assert_eq!(check(body, false).expect("ok").id_token_ttl_secs, None);
        assert_eq!(check(body, true).expect("ok").id_token_ttl_secs, Some(3600));
        let body = r#"{"sub":"alice","client_id":"c","scope":["read"]}"#;
        assert_eq!(check(body, true).expect("ok").id_token_ttl_secs, None);
    }

    #[test]
    fn lifetimes_stay_within_the_tenants() {
        let d = check(r#"{"sub":"a","client_id":"c","access_token":{"lifetime":60}}"#, false).expect("ok");
        assert_eq!(d.access_token_ttl_secs, 60);
        let err = check(r#"{"sub":"a","client_id":"c","access_token":{"lifetime":3601}}"#, false);
        assert!(matches!(err, Err(DirectAuthzError::InvalidRequest(ref why)) if why.contains("maximum")));
    }

    #[test]
    fn refresh_tokens_for_long_lived_authorisations_of_clients_that_may_refresh() {
        let body = r#"{"sub":"a","client_id":"c","long_lived":true,"refresh_token":{"lifetime":600}}"#;
        assert_eq!(check(body, false).expect("ok").refresh_token_ttl_secs, Some(600));
        let req = parse(body.as_bytes()).expect("parses");
        let no_refresh = decide(&req, &client(vec![]), &TenantSettings::default(), "a", false).expect("ok");
        assert_eq!(no_refresh.refresh_token_ttl_secs, None);
        let transient = check(r#"{"sub":"a","client_id":"c"}"#, false).expect("ok");
        assert_eq!(transient.refresh_token_ttl_secs, None);
    }

    #[test]
    fn impersonation_names_the_impersonator_as_actor() {
        let d = check(r#"{"sub":"alice","client_id":"c","impersonated_sub":"bob"}"#, false).expect("ok");
        assert_eq!((d.token_sub.as_str(), d.act.as_deref()), ("bob", Some("alice")));
        assert!(check(r#"{"sub":"alice","client_id":"c","impersonated_sub":"alice"}"#, false).is_err());
        let long_lived = r#"{"sub":"alice","client_id":"c","impersonated_sub":"bob","long_lived":true}"#;
        assert!(check(long_lived, false).expect("ok").refresh_token_ttl_secs.is_some(), "refreshable");
        let odd = r#"{"sub":"alice","client_id":"c","impersonated_sub":"b@x.example","long_lived":true}"#;
        assert!(check(odd, false).is_err(), "the impersonated subject is the stored one");
    }
}

/// The claims an ID token carries that its registered ones do not (OpenID Connect Core 2):
/// these names are set by the server and never taken from a request.
const REGISTERED_ID_TOKEN_CLAIMS: [&str; 14] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "azp",
    "at_hash",
    "c_hash",
    "act",
];

/// The extra claims of a direct authorisation's ID token: the request's preset ID-token claims,
/// then the `released` claims of the subject (those named in `claims` when they travel in the
/// ID token), then `act` naming the impersonator. A registered claim name in `preset` or
/// `released` is dropped: the server sets those.
pub fn id_token_extra_claims(
    preset: &serde_json::Map<String, serde_json::Value>,
    released: serde_json::Map<String, serde_json::Value>,
    act: Option<&str>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut out: serde_json::Map<String, serde_json::Value> = preset
        .iter()
        .chain(released.iter())
        .filter(|(name, _)| !REGISTERED_ID_TOKEN_CLAIMS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    if let Some(actor) = act {
        out.insert("act".into(), serde_json::json!({ "sub": actor }));
    }
    out
}

#[cfg(test)]
mod claim_tests {
    use super::*;

    #[test]
    fn preset_claims_never_replace_registered_ones() {
        let preset = serde_json::json!({"sub": "mallory", "group": "staff", "act": "x"});
        let released = serde_json::json!({"email": "a@example.com", "iss": "evil"});
        let out = id_token_extra_claims(
            preset.as_object().expect("object"),
            released.as_object().cloned().expect("object"),
            Some("admin"),
        );
        assert_eq!(
            serde_json::Value::Object(out),
            serde_json::json!({"group": "staff", "email": "a@example.com", "act": {"sub": "admin"}})
        );
    }
}

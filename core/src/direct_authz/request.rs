//! The request of `POST /direct-authz/rest/v2`, read once from its JSON body into typed
//! values. Unknown members, wrong types, a repeated member and every structural rule (exactly
//! one of `sub`, `sub_session`, `sub_sid`; a refresh token only for a long-lived authorisation;
//! positive lifetimes) are refused here, before anything is looked up or stored. A JSON error
//! names where it is (serde_json's line and column).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::DirectAuthzError;
use crate::model::{MAX_TTL_SECS, UnixSecs};

/// Longest subject, client id, scope value, audience value or claim name accepted.
pub const MAX_NAME_BYTES: usize = 255;
/// Most scope values, audience values, claim names or locales in one request.
pub const MAX_VALUES: usize = 64;

/// Who the authorisation is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectSpec {
    /// `sub`: an authorisation for this subject without a session (and without an ID token).
    Sub(String),
    /// `sub_session`: a new SSO session for the subject, then the authorisation.
    NewSession(SubSession),
    /// `sub_sid`: an existing session's id (its cookie value).
    Session(String),
}

/// A session to create (`sub_session`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubSession {
    /// The subject.
    pub sub: String,
    /// When the subject authenticated; now when absent.
    pub auth_time: Option<UnixSecs>,
    /// The authentication context class reached.
    pub acr: Option<String>,
    /// The authentication methods used.
    pub amr: Vec<String>,
    /// Data the broker keeps with the session.
    pub data: Option<Map<String, Value>>,
}

/// Where the claims named in `claims` are released.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClaimsTransport {
    /// At the userinfo endpoint (the default).
    #[default]
    Userinfo,
    /// In the ID token.
    IdToken,
}

/// The access token's encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Encoding {
    /// A signed JWT (the default).
    #[default]
    SelfContained,
    /// An opaque identifier, stored.
    Identifier,
}

/// What the request says of the access token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccessTokenSpec {
    /// Its lifetime; the tenant's when absent.
    pub lifetime_secs: Option<u32>,
    /// Its encoding.
    pub encoding: Encoding,
    /// Whether the signed JWT is encrypted (JWE) with the tenant's shared key.
    pub encrypt: bool,
}

/// A direct authorisation request, parsed and structurally valid.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectAuthzRequest {
    /// Who it is for.
    pub subject: SubjectSpec,
    /// The client the tokens are for.
    pub client_id: String,
    /// The scope values asked for (each once, in order).
    pub scope: Vec<String>,
    /// The resource servers (client ids or API identifiers) the access token is for.
    pub audience: Vec<String>,
    /// The names of the claims to release.
    pub claims: Vec<String>,
    /// The preferred locales of the claims. Accepted; claims are not localised.
    pub claims_locales: Vec<String>,
    /// Where `claims` are released.
    pub claims_transport: ClaimsTransport,
    /// Claims put into the ID token as they are.
    pub preset_id_token_claims: Map<String, Value>,
    /// Claims released as they are at the userinfo endpoint.
    pub preset_userinfo_claims: Map<String, Value>,
    /// Whether the authorisation is long-lived (may have a refresh token).
    pub long_lived: bool,
    /// The subject the authorised subject acts as (impersonation).
    pub impersonated_sub: Option<String>,
    /// The access token.
    pub access_token: AccessTokenSpec,
    /// The ID token's lifetime; the tenant's when absent.
    pub id_token_lifetime_secs: Option<u32>,
    /// Whether a refresh token is issued: by default for a long-lived authorisation.
    pub refresh_token: bool,
    /// The refresh token's lifetime; the tenant's when absent.
    pub refresh_token_lifetime_secs: Option<u32>,
    /// Data stored with the authorisation and put in the access token as `dat`.
    pub data: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    sub: Option<String>,
    sub_session: Option<WireSubSession>,
    sub_sid: Option<String>,
    client_id: String,
    #[serde(default)]
    scope: Vec<String>,
    #[serde(default)]
    audience: Vec<String>,
    #[serde(default)]
    claims: Vec<String>,
    #[serde(default)]
    claims_locales: Vec<String>,
    #[serde(default)]
    claims_transport: ClaimsTransport,
    #[serde(default)]
    preset_claims: WirePresetClaims,
    #[serde(default)]
    long_lived: bool,
    impersonated_sub: Option<String>,
    #[serde(default)]
    access_token: WireAccessToken,
    #[serde(default)]
    id_token: WireIdToken,
    #[serde(default)]
    refresh_token: WireRefreshToken,
    data: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSubSession {
    sub: String,
    auth_time: Option<UnixSecs>,
    acr: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
    data: Option<Map<String, Value>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePresetClaims {
    #[serde(default)]
    id_token: Map<String, Value>,
    #[serde(default)]
    userinfo: Map<String, Value>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireAccessToken {
    lifetime: Option<u64>,
    #[serde(default)]
    encoding: Encoding,
    #[serde(default)]
    encrypt: bool,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIdToken {
    lifetime: Option<u64>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRefreshToken {
    issue: Option<bool>,
    lifetime: Option<u64>,
}

/// Parses a request body.
pub fn parse(body: &[u8]) -> Result<DirectAuthzRequest, DirectAuthzError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| DirectAuthzError::invalid(format!("invalid JSON: {e}")))?;
    // serde would read a struct from an array too (positionally); the API takes an object.
    if !value.is_object() {
        return Err(DirectAuthzError::invalid("the body must be a JSON object"));
    }
    // Read from the text again rather than the value: serde_json's errors then say where.
    let wire: Wire = serde_json::from_slice(body)
        .map_err(|e| DirectAuthzError::invalid(format!("invalid request: {e}")))?;
    wire.into_request()
}

impl Wire {
    fn into_request(self) -> Result<DirectAuthzRequest, DirectAuthzError> {
        let subject = match (self.sub, self.sub_session, self.sub_sid) {
            (Some(sub), None, None) => SubjectSpec::Sub(name("sub", sub)?),
            (None, Some(s), None) => SubjectSpec::NewSession(SubSession {
                sub: stored_subject("sub_session.sub", s.sub)?,
                auth_time: match s.auth_time {
                    Some(t) if t < 0 => {
                        return Err(DirectAuthzError::invalid("sub_session.auth_time is negative"));
                    }
                    t => t,
                },
                acr: s.acr.map(|a| name("sub_session.acr", a)).transpose()?,
                amr: names("sub_session.amr", s.amr)?,
                data: s.data,
            }),
            (None, None, Some(sid)) => SubjectSpec::Session(name("sub_sid", sid)?),
            _ => {
                return Err(DirectAuthzError::invalid(
                    "exactly one of sub, sub_session and sub_sid is required",
                ));
            }
        };
        let long_lived = self.long_lived;
        let refresh_token = match self.refresh_token.issue {
            Some(true) if !long_lived => {
                return Err(DirectAuthzError::invalid(
                    "refresh_token.issue requires a long_lived authorisation",
                ));
            }
            Some(issue) => issue,
            None => long_lived,
        };
        if self.refresh_token.lifetime.is_some() && !long_lived {
            return Err(DirectAuthzError::invalid(
                "refresh_token.lifetime requires a long_lived authorisation",
            ));
        }
        let access_token = AccessTokenSpec {
            lifetime_secs: lifetime("access_token.lifetime", self.access_token.lifetime)?,
            encoding: self.access_token.encoding,
            encrypt: self.access_token.encrypt,
        };
        if access_token.encrypt && access_token.encoding == Encoding::Identifier {
            return Err(DirectAuthzError::invalid(
                "access_token.encrypt applies to SELF_CONTAINED tokens only",
            ));
        }
        let scope = distinct(names("scope", self.scope)?);
        if let Some(bad) = scope.iter().find(|v| !v.bytes().all(is_scope_char)) {
            return Err(DirectAuthzError::invalid(format!("scope value {bad:?} is not a valid scope token")));
        }
        let audience = distinct(names("audience", self.audience)?);
        if audience.iter().any(|a| a.contains(char::is_whitespace)) {
            return Err(DirectAuthzError::invalid("an audience value contains whitespace"));
        }
        Ok(DirectAuthzRequest {
            subject,
            client_id: name("client_id", self.client_id)?,
            scope,
            audience,
            claims: distinct(names("claims", self.claims)?),
            claims_locales: names("claims_locales", self.claims_locales)?,
            claims_transport: self.claims_transport,
            preset_id_token_claims: self.preset_claims.id_token,
            preset_userinfo_claims: self.preset_claims.userinfo,
            long_lived,
            impersonated_sub: self.impersonated_sub.map(|s| name("impersonated_sub", s)).transpose()?,
            access_token,
            id_token_lifetime_secs: lifetime("id_token.lifetime", self.id_token.lifetime)?,
            refresh_token,
            refresh_token_lifetime_secs: lifetime("refresh_token.lifetime", self.refresh_token.lifetime)?,
            data: self.data,
        })
    }
}

/// RFC 6749 3.3's scope-token characters.
fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

fn name(what: &str, value: String) -> Result<String, DirectAuthzError> {
    if value.is_empty() || value.len() > MAX_NAME_BYTES || value.chars().any(char::is_control) {
        return Err(DirectAuthzError::invalid(format!(
            "{what} must be 1 to {MAX_NAME_BYTES} bytes without control characters"
        )));
    }
    Ok(value)
}

/// A subject that is stored (a session's, a long-lived authorisation's): it must be an id as
/// the store keeps them ([`crate::model::is_valid_id`]), which every local user's id is. A
/// transient authorisation's `sub` is only signed or kept in its token, so [`name`] suffices.
pub(super) fn stored_subject(what: &str, value: String) -> Result<String, DirectAuthzError> {
    if !crate::model::is_valid_id(&value) {
        return Err(DirectAuthzError::invalid(format!(
            "{what} must be 1 to 64 characters of A-Z a-z 0-9 . _ - (a session's or a long-lived \
             authorisation's subject is stored)"
        )));
    }
    Ok(value)
}

fn names(what: &str, values: Vec<String>) -> Result<Vec<String>, DirectAuthzError> {
    if values.len() > MAX_VALUES {
        return Err(DirectAuthzError::invalid(format!("{what} has more than {MAX_VALUES} values")));
    }
    values.into_iter().map(|v| name(what, v)).collect()
}

fn distinct(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn lifetime(what: &str, secs: Option<u64>) -> Result<Option<u32>, DirectAuthzError> {
    match secs {
        None => Ok(None),
        Some(s) if s == 0 || s > u64::from(MAX_TTL_SECS) => {
            Err(DirectAuthzError::invalid(format!("{what} must be between 1 and {MAX_TTL_SECS} seconds")))
        }
        // In range of u32: MAX_TTL_SECS is one.
        Some(s) => Ok(u32::try_from(s).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<DirectAuthzRequest, DirectAuthzError> {
        parse(body.as_bytes())
    }

    fn refused(body: &str) -> String {
        match check(body) {
            Err(DirectAuthzError::InvalidRequest(why)) => why,
            other => panic!("{body}: expected invalid_request, got {other:?}"),
        }
    }

    #[test]
    fn the_documented_forms_parse() {
        let r = check(
            r#"{"sub_session":{"sub":"alice"},"client_id":"8cc2043","scope":["openid","email"],
            "claims":["email","email_verified"],"long_lived":true}"#,
        )
        .expect("sub_session");
        assert_eq!(
            r.subject,
            SubjectSpec::NewSession(SubSession {
                sub: "alice".into(),
                auth_time: None,
                acr: None,
                amr: vec![],
                data: None
            })
        );
        assert!(r.refresh_token, "long-lived authorisations get a refresh token by default");
        let r = check(r#"{"sub":"alice","client_id":"c","scope":["read"],
            "access_token":{"lifetime":600,"encoding":"IDENTIFIER"},"audience":["rs-1"],"data":{"tier":"gold"}}"#)
        .expect("sub");
        assert_eq!(
            r.access_token,
            AccessTokenSpec { lifetime_secs: Some(600), encoding: Encoding::Identifier, encrypt: false }
        );
        assert_eq!((r.audience.as_slice(), r.refresh_token), (&["rs-1".to_owned()][..], false));
        let r = check(
            r#"{"sub_sid":"abc","client_id":"c","claims_transport":"ID_TOKEN",
            "preset_claims":{"id_token":{"group":"x"}},"impersonated_sub":"bob","id_token":{"lifetime":60}}"#,
        )
        .expect("sub_sid");
        assert_eq!(r.subject, SubjectSpec::Session("abc".into()));
        assert_eq!(
            (r.claims_transport, r.impersonated_sub.as_deref()),
            (ClaimsTransport::IdToken, Some("bob"))
        );
        assert_eq!(r.id_token_lifetime_secs, Some(60));
    }

    #[test]
    fn exactly_one_subject() {
        assert!(refused(r#"{"client_id":"c"}"#).contains("exactly one"));
        assert!(refused(r#"{"sub":"a","sub_session":{"sub":"a"},"client_id":"c"}"#).contains("exactly one"));
        assert!(refused(r#"{"sub":"a","sub_sid":"s","client_id":"c"}"#).contains("exactly one"));
        // A session's subject is stored, so it must be an id; a transient `sub` need not be.
        assert!(
            refused(r#"{"sub_session":{"sub":"p7@partner.example"},"client_id":"c"}"#).contains("stored")
        );
        assert!(parse(br#"{"sub":"p7@partner.example","client_id":"c"}"#).is_ok());
    }

    #[test]
    fn malformed_bodies_say_what_and_where() {
        assert!(refused(r#"{"sub":"a","client_id":"c","nope":1}"#).contains("unknown field `nope`"));
        assert!(refused(r#"{"sub":"a","client_id":"c","scope":"read"}"#).contains("line 1 column"));
        assert!(refused(r#"{"sub":"a","client_id":7}"#).contains("invalid type"));
        assert!(refused("{\"sub\":\"a\",\n\"client_id\":").contains("line 2"));
        assert!(refused(r#"["a"]"#).contains("JSON object"));
        assert!(refused(r#"{"sub":"a","sub":"b","client_id":"c"}"#).contains("duplicate"));
        assert!(refused(r#"{"sub":"a"}"#).contains("client_id"));
        assert!(
            refused(r#"{"sub":"a","client_id":"c","access_token":{"encoding":"JWT"}}"#)
                .contains("unknown variant")
        );
        assert!(refused(r#"{"sub":"","client_id":"c"}"#).contains("sub"));
        assert!(refused(r#"{"sub":"a","client_id":"c","scope":["a b"]}"#).contains("scope"));
    }

    #[test]
    fn lifetimes_are_positive_and_bounded() {
        assert!(
            refused(r#"{"sub":"a","client_id":"c","access_token":{"lifetime":0}}"#).contains("between 1")
        );
        assert!(refused(r#"{"sub":"a","client_id":"c","access_token":{"lifetime":-5}}"#).contains("invalid"));
        assert!(
            refused(r#"{"sub":"a","client_id":"c","id_token":{"lifetime":99999999999}}"#)
                .contains("between 1")
        );
    }

    #[test]
    fn refresh_tokens_only_for_long_lived_and_encryption_only_for_jwts() {
        assert!(
            refused(r#"{"sub":"a","client_id":"c","refresh_token":{"issue":true}}"#).contains("long_lived")
        );
        assert!(
            refused(r#"{"sub":"a","client_id":"c","refresh_token":{"lifetime":60}}"#).contains("long_lived")
        );
        let r = check(r#"{"sub":"a","client_id":"c","long_lived":true,"refresh_token":{"issue":false}}"#)
            .expect("ok");
        assert!(!r.refresh_token);
        assert!(
            refused(r#"{"sub":"a","client_id":"c","access_token":{"encoding":"IDENTIFIER","encrypt":true}}"#)
                .contains("encrypt")
        );
    }
}

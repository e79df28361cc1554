//! What a direct authorisation releases at the userinfo endpoint (Connect2id's default
//! `claims_transport: USERINFO`): the names of the claims asked for in `claims`, read from the
//! local user when the userinfo endpoint is called (as any claim there is read now), and the
//! `preset_claims.userinfo` the broker supplied, which is all a subject that is no local user
//! has. Both travel with the access token: in a self-contained one as Connect2id's `cls` and
//! `uip` claims, in an identifier one in its stored record.

use serde_json::{Map, Value};

use super::request::{ClaimsTransport, DirectAuthzRequest};
use crate::model::User;
use crate::userinfo;

/// The scope every standard claim is read with before the named ones are picked out.
pub const ALL_CLAIMS_SCOPE: &str = "profile email phone address";

/// The release of one authorisation at the userinfo endpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserinfoRelease {
    /// The names of the subject's claims to release (`cls`), each once.
    pub claims: Vec<String>,
    /// Claims released as they are (`uip`).
    pub preset: Option<Map<String, Value>>,
}

impl UserinfoRelease {
    /// What `req` releases at the userinfo endpoint: its `claims` when they travel there, and its
    /// preset userinfo claims. Empty when it releases nothing there.
    pub fn of(req: &DirectAuthzRequest) -> Self {
        let claims = match req.claims_transport {
            ClaimsTransport::Userinfo => req.claims.clone(),
            ClaimsTransport::IdToken => Vec::new(),
        };
        let preset = (!req.preset_userinfo_claims.is_empty()).then(|| req.preset_userinfo_claims.clone());
        Self { claims, preset }
    }

    /// Whether nothing is released beyond what the scope does.
    pub fn is_empty(&self) -> bool {
        self.claims.is_empty() && self.preset.is_none()
    }
}

/// The claims of `user` named in `names`, as far as it has them: what [`userinfo::claims`]
/// releases for every standard scope, narrowed to the names.
pub fn named_claims(user: &User, names: &[String]) -> Map<String, Value> {
    let mut all = userinfo::claims(user, ALL_CLAIMS_SCOPE);
    all.retain(|name, _| names.iter().any(|n| n == name));
    all
}

/// The userinfo answer of a direct authorisation's access token for subject `sub` granted
/// `scope`: the preset claims, then what the scope releases of the local user `user` (if the
/// subject is one) and the claims `release` names, which win over a preset claim of the same
/// name (the local directory is the source of truth for its users). `sub` is always the
/// token's subject, whatever was preset.
pub fn claims(sub: &str, user: Option<&User>, scope: &str, release: &UserinfoRelease) -> Map<String, Value> {
    let mut out: Map<String, Value> = release.preset.clone().unwrap_or_default();
    if let Some(user) = user {
        out.extend(userinfo::claims(user, scope));
        out.extend(named_claims(user, &release.claims));
    }
    out.insert("sub".into(), Value::String(sub.to_owned()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::direct_authz::parse;

    fn user() -> User {
        let mut u = User::new("t", "u1", "alice", "hash", 10);
        u.email = Some("alice@example.com".into());
        u.email_verified = true;
        u.name = Some("Alice Liddell".into());
        u
    }

    fn release(body: &str) -> UserinfoRelease {
        UserinfoRelease::of(&parse(body.as_bytes()).expect("parses"))
    }

    #[test]
    fn claims_travel_to_userinfo_by_default_and_not_when_in_the_id_token() {
        let r = release(
            r#"{"sub":"u1","client_id":"c","claims":["email"],"preset_claims":{"userinfo":{"group":"staff"}}}"#,
        );
        assert_eq!(r.claims, ["email"]);
        assert_eq!(
            r.preset,
            Some(serde_json::json!({"group": "staff"}).as_object().cloned().expect("object"))
        );
        let r = release(r#"{"sub":"u1","client_id":"c","claims":["email"],"claims_transport":"ID_TOKEN"}"#);
        assert!(r.is_empty(), "{r:?}");
        assert!(release(r#"{"sub":"u1","client_id":"c"}"#).is_empty());
    }

    #[test]
    fn a_local_user_s_named_claims_win_over_presets_and_sub_is_never_preset() {
        let r = UserinfoRelease {
            claims: vec!["email".into(), "name".into()],
            preset: serde_json::json!({"sub": "mallory", "email": "x@evil.example", "group": "staff"})
                .as_object()
                .cloned(),
        };
        let c = claims("u1", Some(&user()), "openid", &r);
        assert_eq!(
            Value::Object(c),
            serde_json::json!({
                "sub": "u1", "email": "alice@example.com", "name": "Alice Liddell", "group": "staff"
            })
        );
    }

    #[test]
    fn a_subject_that_is_no_local_user_gets_its_presets_only() {
        let r = UserinfoRelease {
            claims: vec!["email".into()],
            preset: serde_json::json!({"email": "b@partner.example"}).as_object().cloned(),
        };
        let c = claims("broker-sub", None, "openid email", &r);
        assert_eq!(Value::Object(c), serde_json::json!({"sub": "broker-sub", "email": "b@partner.example"}));
    }

    #[test]
    fn the_scope_still_releases_its_claims() {
        let c = claims("u1", Some(&user()), "openid email", &UserinfoRelease::default());
        assert_eq!(c["email"], "alice@example.com");
        assert!(c.get("name").is_none(), "profile was not granted nor named");
    }
}

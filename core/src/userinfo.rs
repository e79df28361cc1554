//! The end-user claims a client may see (OpenID Connect Core 5.1, 5.4): which claims each
//! standard scope releases, assembled from a user record. `/userinfo` answers with them, and so
//! does an ID token issued without an access token (`response_type=id_token`, Core 5.4).

use serde_json::{Map, Value};

use crate::model::User;
use crate::scope;

/// The claims of `profile` (Core 5.4), in the order [`User::string_claims`] lists them.
const PROFILE: [&str; 13] = [
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
];

/// The scopes that release claims, for discovery's `scopes_supported`.
pub const CLAIM_SCOPES: [&str; 4] = ["profile", "email", "address", "phone"];

/// Every claim Tessera can release, for discovery's `claims_supported`.
pub const CLAIMS_SUPPORTED: [&str; 20] = [
    "sub",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
    "email",
    "email_verified",
    "address",
    "phone_number",
    "phone_number_verified",
];

/// The claims `scope` (space-delimited) releases about `user`: always `sub`, then each
/// granted scope's claims that have a value. Absent claims are omitted, never `null`.
pub fn claims(user: &User, scope: &str) -> Map<String, Value> {
    let granted = |name: &str| scope::contains(scope, name);
    let mut out = Map::new();
    out.insert("sub".into(), Value::String(user.id.clone()));
    if granted("profile") {
        for (name, value) in user.string_claims() {
            if !PROFILE.contains(&name) {
                continue;
            }
            // Users without a chosen short name are known by their username.
            let value = match (name, value) {
                ("preferred_username", None) => Some(user.username.as_str()),
                (_, value) => value,
            };
            if let Some(value) = value {
                out.insert(name.into(), Value::String(value.to_owned()));
            }
        }
        out.insert("updated_at".into(), Value::from(user.updated_at));
    }
    if granted("email")
        && let Some(email) = &user.email
    {
        out.insert("email".into(), Value::String(email.clone()));
        out.insert("email_verified".into(), Value::Bool(user.email_verified));
    }
    if granted("address")
        && let Some(address) = &user.address
        && let Ok(value) = serde_json::to_value(address)
    {
        out.insert("address".into(), value);
    }
    if granted("phone")
        && let Some(phone) = &user.phone_number
    {
        out.insert("phone_number".into(), Value::String(phone.clone()));
        out.insert("phone_number_verified".into(), Value::Bool(user.phone_number_verified));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Address;

    fn user() -> User {
        let mut u = User::new("t", "u1", "alice", "hash", 10);
        u.email = Some("alice@example.com".into());
        u.email_verified = true;
        u.name = Some("Alice Liddell".into());
        u.given_name = Some("Alice".into());
        u.phone_number = Some("+1 555 0100".into());
        u.address = Some(Address { locality: Some("Oxford".into()), ..Address::default() });
        u.updated_at = 20;
        u
    }

    fn keys(m: &Map<String, Value>) -> Vec<&str> {
        m.keys().map(String::as_str).collect()
    }

    #[test]
    fn openid_alone_releases_only_sub() {
        let c = claims(&user(), "openid");
        assert_eq!(keys(&c), ["sub"]);
        assert_eq!(c["sub"], "u1");
    }

    #[test]
    fn each_scope_releases_its_claims() {
        let c = claims(&user(), "openid profile");
        assert_eq!(c["name"], "Alice Liddell");
        assert_eq!(c["given_name"], "Alice");
        assert_eq!(c["preferred_username"], "alice", "falls back to the username");
        assert_eq!(c["updated_at"], 20);
        assert!(c.get("email").is_none() && c.get("family_name").is_none());
        let c = claims(&user(), "openid email");
        assert_eq!(
            (c["email"].as_str(), c["email_verified"].as_bool()),
            (Some("alice@example.com"), Some(true))
        );
        assert!(c.get("name").is_none());
        let c = claims(&user(), "openid address phone");
        assert_eq!(c["address"], serde_json::json!({"locality": "Oxford"}));
        assert_eq!(c["phone_number"], "+1 555 0100");
        assert_eq!(c["phone_number_verified"], false);
        // A scope name inside another is not the scope.
        assert_eq!(keys(&claims(&user(), "openid emails")), ["sub"]);
    }

    #[test]
    fn supported_claims_cover_what_is_released() {
        let c = claims(&user(), "openid profile email address phone");
        for name in c.keys() {
            assert!(CLAIMS_SUPPORTED.contains(&name.as_str()), "{name}");
        }
    }
}

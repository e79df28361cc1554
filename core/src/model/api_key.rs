//! API keys: long-lived service credentials of a tenant, with a name, a scope, an optional
//! expiry and optional roles. The key itself is shown once and stored as a digest; a rotation
//! keeps the previous digest valid for a grace the operator chooses. Owns the [`ApiKey`]
//! record, the key's wire format ([`ApiKey::compose`], [`parse_key`]) and the rule of which
//! presented key is live ([`ApiKey::accepts`]).
//!
//! The wire format is `tsk_` + the key's id (22 base64url characters) + its secret (43): the
//! id lets a presented key be found without an index of digests, the secret is 256 random
//! bits compared as a digest in constant time, and the prefix lets secret scanners spot a
//! leaked key. It has no `.`, so it is never mistaken for a JWS.

use super::{UnixSecs, is_valid_id};
use crate::secret;

rkyv_record! {
    /// An API key of a tenant.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct ApiKey {
        /// The tenant it belongs to.
        pub tenant: String,
        /// Its id: 22 base64url characters, also the first part of the key.
        pub id: String,
        /// What it is for, for operators.
        pub name: String,
        /// The scope it grants, space-delimited.
        pub scope: String,
        /// SHA-256 of the current key.
        pub digest: [u8; 32],
        /// SHA-256 of the key it was rotated from, valid until `previous_valid_until`.
        pub previous_digest: Option<[u8; 32]>,
        /// Until when (exclusive) the previous key is still accepted.
        pub previous_valid_until: UnixSecs,
        /// When it stops working, if ever.
        pub expires_at: Option<UnixSecs>,
        /// The ids of the roles it holds; a role deleted since is skipped.
        pub role_ids: Vec<String>,
        /// When it was created.
        pub created_at: UnixSecs,
        /// When it was last rotated (its current secret made), `created_at` at first.
        pub rotated_at: UnixSecs,
        /// When it was last seen in use, to the precision the server records it with.
        pub last_used_at: Option<UnixSecs>,
    }
}

/// What every key begins with.
pub const KEY_PREFIX: &str = "tsk_";
/// Length of a key's id and secret parts.
const ID_CHARS: usize = 22;
const SECRET_CHARS: usize = 43;
/// Longest API key name, in bytes.
pub const MAX_API_KEY_NAME_BYTES: usize = 128;
/// Most roles one API key holds.
pub const MAX_API_KEY_ROLES: usize = 16;
/// Longest grace a rotation may leave the previous key: a week.
pub const MAX_ROTATION_GRACE_SECS: u32 = 7 * 24 * 3600;

/// Splits a presented key into its id and secret; `None` if it is not shaped like a key.
pub fn parse_key(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    if rest.len() != ID_CHARS + SECRET_CHARS
        || !rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some(rest.split_at(ID_CHARS))
}

impl ApiKey {
    /// The key for id `id` and secret `secret` as it is handed out.
    pub fn compose(id: &str, secret: &str) -> String {
        format!("{KEY_PREFIX}{id}{secret}")
    }

    /// Whether `presented` (a whole key whose id is this key's) is live at `now`: the current
    /// secret, or the previous one within its grace, and not expired.
    pub fn accepts(&self, presented: &str, now: UnixSecs) -> bool {
        if self.expires_at.is_some_and(|exp| exp <= now) {
            return false;
        }
        let current = secret::matches(presented, &self.digest);
        let previous = self.previous_valid_until > now
            && self.previous_digest.is_some_and(|digest| secret::matches(presented, &digest));
        current || previous
    }

    /// Checks the record's invariants.
    pub fn validate(&self) -> Result<(), String> {
        if !is_valid_id(&self.tenant) || !is_valid_id(&self.id) || self.id.len() != ID_CHARS {
            return Err("the tenant or key id is not valid".into());
        }
        if self.name.is_empty()
            || self.name.len() > MAX_API_KEY_NAME_BYTES
            || self.name.chars().any(char::is_control)
        {
            return Err(format!(
                "name must be 1 to {MAX_API_KEY_NAME_BYTES} bytes without control characters"
            ));
        }
        if crate::scope::parse(&self.scope).is_err() {
            return Err("scope is not a valid scope".into());
        }
        if self.role_ids.len() > MAX_API_KEY_ROLES || self.role_ids.iter().any(|r| !is_valid_id(r)) {
            return Err(format!("an API key holds at most {MAX_API_KEY_ROLES} roles, by id"));
        }
        if self.rotated_at < self.created_at {
            return Err("rotated_at is before created_at".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    fn key(secret: &str) -> ApiKey {
        ApiKey {
            tenant: "t".into(),
            id: ID.into(),
            name: "ci".into(),
            scope: "read".into(),
            digest: secret::digest(&ApiKey::compose(ID, secret)),
            previous_digest: None,
            previous_valid_until: 0,
            expires_at: None,
            role_ids: vec![],
            created_at: 10,
            rotated_at: 10,
            last_used_at: None,
        }
    }

    #[test]
    fn keys_compose_and_parse_back() {
        let secret = "B".repeat(43);
        let composed = ApiKey::compose(ID, &secret);
        assert_eq!(parse_key(&composed), Some((ID, secret.as_str())));
        assert!(!composed.contains('.'), "never a JWS");
        for bad in [
            "",
            "tsk_",
            "tsk_short",
            &format!("tsk_{ID}{secret}x"),
            &format!("tsx_{ID}{secret}"),
            &format!("tsk_{ID}{}.", "B".repeat(42)),
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_current_and_a_graced_previous_key_are_accepted_until_expiry() {
        let old = ApiKey::compose(ID, &"O".repeat(43));
        let new = ApiKey::compose(ID, &"N".repeat(43));
        let mut k = key(&"N".repeat(43));
        assert!(k.accepts(&new, 100) && !k.accepts(&old, 100));
        k.previous_digest = Some(secret::digest(&old));
        k.previous_valid_until = 200;
        assert!(k.accepts(&old, 199) && !k.accepts(&old, 200), "the grace ends");
        k.expires_at = Some(150);
        assert!(k.accepts(&new, 149) && !k.accepts(&new, 150) && !k.accepts(&old, 150), "expiry ends both");
    }

    #[test]
    fn invariants() {
        assert_eq!(key("s").validate(), Ok(()));
        let mut k = key("s");
        k.name = String::new();
        assert!(k.validate().is_err());
        let mut k = key("s");
        k.scope = "a\"b".into();
        assert!(k.validate().is_err());
        let mut k = key("s");
        k.role_ids = (0..=MAX_API_KEY_ROLES).map(|i| format!("r{i}")).collect();
        assert!(k.validate().is_err());
        let mut k = key("s");
        k.id = "short".into();
        assert!(k.validate().is_err());
    }
}

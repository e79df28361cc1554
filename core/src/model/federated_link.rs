//! Federated identity links: which local user an account at one of the tenant's external
//! identity providers signs in as (identity brokering, OpenID Connect Core 1.0 section 2: an
//! account is named by the provider's `iss` and its `sub`, which "is never reassigned"). The
//! provider is named here by its id in the tenant, the upstream account by its `sub`, kept
//! exactly as the provider sent it (case and all: `sub` is compared as a string). The login
//! flow decides when to link; this is the record the store keeps (`crate::store::FederationStore`).

use super::{UnixSecs, is_valid_id};

/// Longest upstream `sub` a link holds, in bytes. OpenID Connect Core 1.0 section 2 caps
/// `sub` at 255 ASCII characters; a provider that sends a longer one cannot be linked.
pub const MAX_FEDERATED_SUBJECT_BYTES: usize = 255;

rkyv_record! {
    /// A local user's link to an account at one of the tenant's external identity providers.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct FederatedLink {
        /// The tenant.
        pub tenant: String,
        /// The identity provider's id in the tenant.
        pub idp: String,
        /// The upstream account's `sub`, as the provider sent it.
        pub subject: String,
        /// The local user the upstream account signs in as.
        pub user_id: String,
        /// When the link was made.
        pub created_at: UnixSecs,
    }
}

impl FederatedLink {
    /// Checks the record: valid tenant, identity provider and user ids ([`is_valid_id`]) and a
    /// subject of 1 to [`MAX_FEDERATED_SUBJECT_BYTES`] bytes without control characters
    /// ([`is_valid_federated_subject`]).
    pub fn validate(&self) -> Result<(), String> {
        if !is_valid_id(&self.tenant) {
            return Err(format!("federated link of tenant {:?}: not a valid tenant id", self.tenant));
        }
        if !is_valid_id(&self.idp) {
            return Err(format!("federated link at identity provider {:?}: not a valid id", self.idp));
        }
        if !is_valid_federated_subject(&self.subject) {
            return Err(format!(
                "federated link subject must be 1 to {MAX_FEDERATED_SUBJECT_BYTES} bytes without control characters"
            ));
        }
        if !is_valid_id(&self.user_id) {
            return Err(format!("federated link to user {:?}: not a valid user id", self.user_id));
        }
        Ok(())
    }
}

/// Whether `subject` is an upstream `sub` a link can hold: 1 to
/// [`MAX_FEDERATED_SUBJECT_BYTES`] bytes, no control character (so never a NUL, which no
/// store key or SQL text may hold). Anything else (`/`, `:`, spaces, any script) is kept as
/// sent.
pub fn is_valid_federated_subject(subject: &str) -> bool {
    (1..=MAX_FEDERATED_SUBJECT_BYTES).contains(&subject.len()) && !subject.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> FederatedLink {
        FederatedLink {
            tenant: "acme".into(),
            idp: "IIIIIIIIIIIIIIIIIIIIII".into(),
            subject: "248289761001".into(),
            user_id: "UUUUUUUUUUUUUUUUUUUUUU".into(),
            created_at: 1_700_000_000,
        }
    }

    #[test]
    fn a_link_holds_any_printable_subject() {
        assert!(link().validate().is_ok());
        for subject in
            ["a", "auth0|5f7c8ec7c33c6c004bbafe82", "https://idp.example/u/1:x", "Jürgen Ünïcødé 名前"]
        {
            assert!(FederatedLink { subject: subject.into(), ..link() }.validate().is_ok(), "{subject:?}");
        }
        let longest = "x".repeat(MAX_FEDERATED_SUBJECT_BYTES);
        assert!(FederatedLink { subject: longest, ..link() }.validate().is_ok());
    }

    #[test]
    fn bad_ids_and_subjects_are_refused() {
        assert!(FederatedLink { tenant: "a/b".into(), ..link() }.validate().is_err());
        assert!(FederatedLink { tenant: String::new(), ..link() }.validate().is_err());
        assert!(FederatedLink { idp: "a b".into(), ..link() }.validate().is_err());
        assert!(FederatedLink { idp: String::new(), ..link() }.validate().is_err());
        assert!(FederatedLink { user_id: "u\0".into(), ..link() }.validate().is_err());
        assert!(FederatedLink { user_id: String::new(), ..link() }.validate().is_err());
        let too_long = "x".repeat(MAX_FEDERATED_SUBJECT_BYTES + 1);
        for subject in
            [String::new(), too_long, "a\0b".into(), "a\nb".into(), "a\u{7f}".into(), "a\u{85}".into()]
        {
            assert!(FederatedLink { subject: subject.clone(), ..link() }.validate().is_err(), "{subject:?}");
        }
    }
}

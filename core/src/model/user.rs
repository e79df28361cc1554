//! Local users of a tenant: the OpenID Connect standard claims, the password hash, whether the
//! user is disabled, and the validation every stored user passes. When two names are the same
//! name is `names`; whether a grant of the user still works is [`User::standing_of`], the one
//! rule every place that honours a grant asks.

use serde::{Deserialize, Serialize};

use super::{UnixSecs, cut_off_after, is_valid_id};

rkyv_record! {
    /// A postal address (OpenID Connect Core 5.1.1). Every part is optional.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Address {
        /// The full mailing address, possibly multi-line.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub formatted: Option<String>,
        /// Street, house number, apartment, possibly multi-line.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub street_address: Option<String>,
        /// City or locality.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub locality: Option<String>,
        /// State, province, prefecture or region.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub region: Option<String>,
        /// Zip or postal code.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub postal_code: Option<String>,
        /// Country name.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub country: Option<String>,
    }

    /// A local user of a tenant: login name, password hash and the OpenID Connect standard
    /// claims (Core 5.1) it can release.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct User {
        /// The tenant the user belongs to.
        pub tenant: String,
        /// The user id (the `sub`): 22 base64url characters of 16 random bytes.
        pub id: String,
        /// The login name, unique per tenant regardless of case.
        pub username: String,
        /// The argon2id hash as a PHC string; never leaves the server.
        pub password_hash: String,
        /// E-mail address, unique per tenant regardless of case.
        pub email: Option<String>,
        /// Whether the e-mail address was verified.
        pub email_verified: bool,
        /// Full name.
        pub name: Option<String>,
        /// Given name(s).
        pub given_name: Option<String>,
        /// Surname(s).
        pub family_name: Option<String>,
        /// Middle name(s).
        pub middle_name: Option<String>,
        /// Casual name.
        pub nickname: Option<String>,
        /// The name the user wants to be shown as.
        pub preferred_username: Option<String>,
        /// Profile page URL.
        pub profile: Option<String>,
        /// Profile picture URL.
        pub picture: Option<String>,
        /// Web page or blog URL.
        pub website: Option<String>,
        /// Gender.
        pub gender: Option<String>,
        /// Birthday, `YYYY-MM-DD` or `YYYY`.
        pub birthdate: Option<String>,
        /// Time zone, e.g. `Europe/Paris`.
        pub zoneinfo: Option<String>,
        /// Locale, a BCP 47 tag such as `en-US`.
        pub locale: Option<String>,
        /// Telephone number, E.164 recommended.
        pub phone_number: Option<String>,
        /// Whether the phone number was verified.
        pub phone_number_verified: bool,
        /// Postal address.
        pub address: Option<Address>,
        /// When the user was created.
        pub created_at: UnixSecs,
        /// When the user was last changed.
        pub updated_at: UnixSecs,
        /// Whether the user is disabled: no sign-in, and no grant of theirs works.
        pub disabled: bool,
        /// Grants that began before this second (a login, an access token's `iat`) no longer
        /// work; 0 when none was cut off. Set by [`User::disable`], and kept when the user is
        /// enabled again, so re-enabling brings back nothing the user held before.
        pub grants_valid_from: UnixSecs,
    }
}

/// Whether a grant of a user still works, as [`User::standing_of`] decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// The user is enabled and the grant began after any cut-off.
    Usable,
    /// The user is disabled: nothing of theirs works until they are enabled again.
    Disabled,
    /// The grant began before the user was last disabled: enabling them again does not
    /// bring it back.
    CutOff,
}

/// Enabling a disabled user must wait until this second: [`User::enable`] refused because a
/// grant begun now could not be told apart from one begun before the cut-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the user can be enabled again from {0}")]
pub struct EnableAt(pub UnixSecs);

/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Longest e-mail address, in bytes (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest value of any other user claim, in bytes.
pub const MAX_CLAIM_BYTES: usize = 1024;
/// Longest password hash (a PHC string), in bytes.
pub const MAX_PASSWORD_HASH_BYTES: usize = 512;

/// Checks a username: 1 to [`MAX_USERNAME_CHARS`] printable characters, none of them whitespace
/// (so what a user types at a login form is what is stored, with no invisible difference).
pub fn is_valid_username(username: &str) -> bool {
    let count = username.chars().count();
    (1..=MAX_USERNAME_CHARS).contains(&count)
        && username.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

/// A shape check of an e-mail address, not RFC 5322 parsing: one `@` with a non-empty local
/// part and a dotted domain, no whitespace or control characters, at most [`MAX_EMAIL_BYTES`].
/// Whether the address works is what `email_verified` is for.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= MAX_EMAIL_BYTES
        && !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_claim(field: &str, value: Option<&str>, multiline: bool) -> Result<(), String> {
    let Some(v) = value else { return Ok(()) };
    if v.len() > MAX_CLAIM_BYTES {
        return Err(format!("{field} must be at most {MAX_CLAIM_BYTES} bytes"));
    }
    // Address parts may be multi-line (Core 5.1.1); nothing else may hold control characters.
    if v.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r'))) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(())
}

impl User {
    /// A user with no profile claims yet, created (and last updated) at `now`. The one place
    /// that lists every field, so adding a claim changes one constructor.
    pub fn new(
        tenant: impl Into<String>,
        id: impl Into<String>,
        username: impl Into<String>,
        password_hash: impl Into<String>,
        now: UnixSecs,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            id: id.into(),
            username: username.into(),
            password_hash: password_hash.into(),
            email: None,
            email_verified: false,
            name: None,
            given_name: None,
            family_name: None,
            middle_name: None,
            nickname: None,
            preferred_username: None,
            profile: None,
            picture: None,
            website: None,
            gender: None,
            birthdate: None,
            zoneinfo: None,
            locale: None,
            phone_number: None,
            phone_number_verified: false,
            address: None,
            created_at: now,
            updated_at: now,
            disabled: false,
            grants_valid_from: 0,
        }
    }

    /// Whether a grant of this user that began at `began_at` works now: an access token by its
    /// `iat`, a session, code or refresh token by the login it descends from (`auth_time`).
    /// Checked where the grant is used, not only when the user is disabled, so a grant that
    /// was in flight when the operator acted is refused too.
    pub fn standing_of(&self, began_at: UnixSecs) -> Standing {
        if self.disabled {
            Standing::Disabled
        } else if began_at < self.grants_valid_from {
            Standing::CutOff
        } else {
            Standing::Usable
        }
    }

    /// Disables the user at `now`: every grant that began at or before `now` is cut off for
    /// good. Times are whole seconds (a token's `iat`), so the cut-off is the next second:
    /// a grant begun in this very second may have begun before the disable. Disabling a
    /// disabled user changes nothing (no grant can have begun since).
    pub fn disable(&mut self, now: UnixSecs) {
        if !self.disabled {
            self.disabled = true;
            self.grants_valid_from = cut_off_after(self.grants_valid_from, now);
        }
    }

    /// Cuts off every grant of the user that began up to `now` (the operator's revoke-all),
    /// leaving the user enabled, and returns the new cut-off: the next second, as
    /// [`User::disable`] sets it. A grant begun from that second on works; the caller waits
    /// for it before answering, so a login right after the revoke-all is not cut off with
    /// what came before. The cut-off only moves forward.
    pub fn cut_off_grants(&mut self, now: UnixSecs) -> UnixSecs {
        self.grants_valid_from = cut_off_after(self.grants_valid_from, now);
        self.grants_valid_from
    }

    /// Enables the user at `now`. Refused until the cut-off second has begun: a grant begun in
    /// the second of the disable would otherwise be indistinguishable from one begun after
    /// the enable and come back to life. The wait is at most a second; the caller waits and
    /// asks again.
    pub fn enable(&mut self, now: UnixSecs) -> Result<(), EnableAt> {
        if self.disabled && now < self.grants_valid_from {
            return Err(EnableAt(self.grants_valid_from));
        }
        self.disabled = false;
        Ok(())
    }

    /// The optional string claims with their names, in OpenID Connect order.
    pub fn string_claims(&self) -> [(&'static str, Option<&str>); 14] {
        [
            ("name", self.name.as_deref()),
            ("given_name", self.given_name.as_deref()),
            ("family_name", self.family_name.as_deref()),
            ("middle_name", self.middle_name.as_deref()),
            ("nickname", self.nickname.as_deref()),
            ("preferred_username", self.preferred_username.as_deref()),
            ("profile", self.profile.as_deref()),
            ("picture", self.picture.as_deref()),
            ("website", self.website.as_deref()),
            ("gender", self.gender.as_deref()),
            ("birthdate", self.birthdate.as_deref()),
            ("zoneinfo", self.zoneinfo.as_deref()),
            ("locale", self.locale.as_deref()),
            ("phone_number", self.phone_number.as_deref()),
        ]
    }

    /// Checks every field: ids, username and e-mail shape, bounded lengths, no control
    /// characters, a PHC-shaped password hash, and `updated_at >= created_at`.
    pub fn validate(&self) -> Result<(), String> {
        if !is_valid_id(&self.tenant) {
            return Err("tenant is not a valid id".into());
        }
        if !is_valid_id(&self.id) {
            return Err("id is not a valid id".into());
        }
        if !is_valid_username(&self.username) {
            return Err(format!(
                "username must be 1 to {MAX_USERNAME_CHARS} printable characters without spaces"
            ));
        }
        if let Some(email) = &self.email
            && !is_valid_email(email)
        {
            return Err("email is not an e-mail address".into());
        }
        let hash = &self.password_hash;
        if !hash.starts_with('$')
            || hash.len() > MAX_PASSWORD_HASH_BYTES
            || hash.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err("password_hash is not a PHC string".into());
        }
        for (field, value) in self.string_claims() {
            check_claim(field, value, false)?;
        }
        if let Some(a) = &self.address {
            for (field, value) in [
                ("address.formatted", &a.formatted),
                ("address.street_address", &a.street_address),
                ("address.locality", &a.locality),
                ("address.region", &a.region),
                ("address.postal_code", &a.postal_code),
                ("address.country", &a.country),
            ] {
                check_claim(field, value.as_deref(), true)?;
            }
        }
        if self.updated_at < self.created_at {
            return Err("updated_at is before created_at".into());
        }
        if self.grants_valid_from < 0 {
            return Err("grants_valid_from is negative".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_user() -> User {
        User {
            email: Some("alice@example.com".into()),
            name: Some("Alice".into()),
            address: Some(Address { formatted: Some("1 Main St\nTown".into()), ..Address::default() }),
            ..User::new(
                "t",
                "AAAAAAAAAAAAAAAAAAAAAA",
                "alice",
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                1,
            )
        }
    }

    #[test]
    fn usernames_are_printable_without_spaces() {
        assert!(is_valid_username("alice"));
        assert!(is_valid_username("Zoë.O'Neil+1@x"));
        assert!(is_valid_username(&"ä".repeat(64)));
        assert!(!is_valid_username(""));
        assert!(!is_valid_username("a b"));
        assert!(!is_valid_username("a\u{7}"));
        assert!(!is_valid_username("a\u{a0}b"));
        assert!(!is_valid_username(&"a".repeat(65)));
    }

    #[test]
    fn emails_have_a_plausible_shape() {
        assert!(is_valid_email("a@example.com"));
        assert!(is_valid_email("first.last+tag@sub.example.org"));
        for bad in ["", "a", "@example.com", "a@", "a@b", "a@.com", "a@b.", "a@b..c", "a b@c.d", "a@@b.c"] {
            assert!(!is_valid_email(bad), "{bad}");
        }
        assert!(!is_valid_email(&format!("{}@example.com", "a".repeat(250))));
    }

    #[test]
    fn user_validation() {
        let u = sample_user();
        assert_eq!(u.validate(), Ok(()));
        let mut bad = u.clone();
        bad.name = Some("a\nb".into());
        assert!(bad.validate().is_err(), "newline outside an address");
        let mut bad = u.clone();
        bad.locale = Some("x".repeat(MAX_CLAIM_BYTES + 1));
        assert!(bad.validate().is_err());
        let mut bad = u.clone();
        bad.password_hash = "plaintext".into();
        assert!(bad.validate().is_err());
        let mut bad = u.clone();
        bad.email = Some("nope".into());
        assert!(bad.validate().is_err());
        let mut bad = u.clone();
        bad.updated_at = 0;
        assert!(bad.validate().is_err());
        let mut bad = u;
        bad.grants_valid_from = -1;
        assert!(bad.validate().is_err());
    }

    #[test]
    fn a_new_user_has_every_grant_usable() {
        let u = sample_user();
        assert!(!u.disabled);
        for began_at in [0, 1, i64::MAX] {
            assert_eq!(u.standing_of(began_at), Standing::Usable, "{began_at}");
        }
    }

    #[test]
    fn disabling_refuses_everything_and_cuts_off_what_began_up_to_then() {
        let mut u = sample_user();
        u.disable(100);
        assert!(u.disabled);
        for began_at in [0, 100, 101, 500] {
            assert_eq!(u.standing_of(began_at), Standing::Disabled, "{began_at}");
        }
        // Not yet: a grant of second 100 may have begun before or after.
        assert_eq!(u.enable(100), Err(EnableAt(101)));
        assert!(u.disabled, "a refused enable changes nothing");
        assert_eq!(u.enable(101), Ok(()));
        assert!(!u.disabled);
        // What began up to the disable's second stays cut off; what begins later works.
        assert_eq!(u.standing_of(99), Standing::CutOff);
        assert_eq!(u.standing_of(100), Standing::CutOff);
        assert_eq!(u.standing_of(101), Standing::Usable);
        assert_eq!(u.validate(), Ok(()));
    }

    #[test]
    fn the_cut_off_only_moves_forward() {
        let mut u = sample_user();
        u.disable(100);
        // Disabling again while disabled keeps the first cut-off: nothing began since.
        u.disable(200);
        assert_eq!(u.grants_valid_from, 101);
        assert_eq!(u.enable(300), Ok(()));
        // A later disable moves it on; a clock stepped back never moves it back.
        u.disable(400);
        assert_eq!(u.grants_valid_from, 401);
        assert_eq!(u.enable(401), Ok(()));
        u.disable(50);
        assert_eq!(u.grants_valid_from, 401);
        assert_eq!(u.enable(401), Ok(()));
        assert_eq!(u.standing_of(400), Standing::CutOff);
        // Enabling an enabled user is no change and never refused.
        assert_eq!(u.enable(0), Ok(()));
        u.disable(i64::MAX);
        assert_eq!(u.grants_valid_from, i64::MAX);
    }

    #[test]
    fn cutting_off_grants_keeps_the_user_enabled() {
        let mut u = sample_user();
        assert_eq!(u.cut_off_grants(100), 101);
        assert!(!u.disabled);
        assert_eq!(u.standing_of(100), Standing::CutOff, "begun in the call's own second");
        assert_eq!(u.standing_of(101), Standing::Usable);
        assert_eq!(u.cut_off_grants(50), 101, "never moves back");
        // A disabled user stays disabled, and enabling waits for the later cut-off.
        u.disable(150);
        assert_eq!(u.cut_off_grants(300), 301);
        assert!(u.disabled);
        assert_eq!(u.enable(300), Err(EnableAt(301)));
        assert_eq!(u.validate(), Ok(()));
    }
}

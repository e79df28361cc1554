//! Lockouts: a password-attempt limit that refused, kept until it would let attempts through
//! again, so that a restarted server does not hand an attacker a fresh allowance. The server
//! decides when one starts and how long it lasts; this is the record the store keeps.

use super::{UnixSecs, is_valid_id};

/// Longest address key a lockout holds: an IPv6 /64 written out is far shorter.
pub const MAX_LOCKOUT_ADDRESS_BYTES: usize = 64;
/// Longest case-folded username a lockout holds, in bytes (the limits cut typed names to
/// 256 characters).
pub const MAX_LOCKOUT_USERNAME_BYTES: usize = 1024;

rkyv_record! {
    /// Which limit a lockout is of.
    ///
    /// Stored by position: a new variant goes at the end.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum LockoutLimit {
        /// Password attempts from one address, whatever the usernames (server-wide; stored
        /// under the tenant whose attempt tripped it, and gone with that tenant).
        Address,
        /// Password attempts for one username of a tenant from one address.
        UsernameAtAddress,
    }

    /// A limit that refuses the attempts it names until `until`.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Lockout {
        /// The tenant the refused attempt was made in.
        pub tenant: String,
        /// The limit.
        pub limit: LockoutLimit,
        /// The source address as the limits key it (an IPv4 address, or an IPv6 /64's first
        /// address), written out.
        pub address: String,
        /// The case-folded username for [`LockoutLimit::UsernameAtAddress`]; empty for
        /// [`LockoutLimit::Address`].
        pub username: String,
        /// When attempts are allowed again, in seconds since the epoch.
        pub until: UnixSecs,
    }
}

impl Lockout {
    /// Checks the record's invariants: a valid tenant id, an address of 1 to
    /// [`MAX_LOCKOUT_ADDRESS_BYTES`] printable ASCII bytes, a username (only and always for
    /// [`LockoutLimit::UsernameAtAddress`]) of at most [`MAX_LOCKOUT_USERNAME_BYTES`] without
    /// NUL, and a positive `until`.
    pub fn validate(&self) -> Result<(), String> {
        if !is_valid_id(&self.tenant) {
            return Err("lockout tenant is not a valid id".into());
        }
        let address_ok = (1..=MAX_LOCKOUT_ADDRESS_BYTES).contains(&self.address.len())
            && self.address.bytes().all(|b| b.is_ascii_graphic());
        if !address_ok {
            return Err("lockout address must be 1 to 64 printable ASCII bytes".into());
        }
        let username_ok = match self.limit {
            LockoutLimit::Address => self.username.is_empty(),
            LockoutLimit::UsernameAtAddress => {
                (1..=MAX_LOCKOUT_USERNAME_BYTES).contains(&self.username.len())
                    && !self.username.contains('\0')
            }
        };
        if !username_ok {
            return Err(
                "lockout username must be set (1 to 1024 bytes, no NUL) for a username limit only".into()
            );
        }
        if self.until <= 0 {
            return Err("lockout until must be positive".into());
        }
        Ok(())
    }

    /// Whether the lockout still refuses at `now`.
    pub fn is_live(&self, now: UnixSecs) -> bool {
        self.until > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lockout(limit: LockoutLimit, username: &str) -> Lockout {
        Lockout {
            tenant: "acme".into(),
            limit,
            address: "192.0.2.1".into(),
            username: username.into(),
            until: 100,
        }
    }

    #[test]
    fn a_lockout_names_a_username_only_for_the_username_limit() {
        assert!(lockout(LockoutLimit::Address, "").validate().is_ok());
        assert!(lockout(LockoutLimit::UsernameAtAddress, "alice").validate().is_ok());
        assert!(lockout(LockoutLimit::Address, "alice").validate().is_err());
        assert!(lockout(LockoutLimit::UsernameAtAddress, "").validate().is_err());
        assert!(lockout(LockoutLimit::UsernameAtAddress, "a\0b").validate().is_err());
        let long = "x".repeat(MAX_LOCKOUT_USERNAME_BYTES + 1);
        assert!(lockout(LockoutLimit::UsernameAtAddress, &long).validate().is_err());
    }

    #[test]
    fn bad_tenants_addresses_and_times_are_refused() {
        let ok = lockout(LockoutLimit::Address, "");
        assert!(Lockout { tenant: "a/b".into(), ..ok.clone() }.validate().is_err());
        assert!(Lockout { address: String::new(), ..ok.clone() }.validate().is_err());
        assert!(Lockout { address: "1 2".into(), ..ok.clone() }.validate().is_err());
        assert!(Lockout { address: "a".repeat(65), ..ok.clone() }.validate().is_err());
        assert!(Lockout { until: 0, ..ok.clone() }.validate().is_err());
        assert!(ok.is_live(99));
        assert!(!ok.is_live(100), "ends at until");
    }
}

//! A tenant's password policy: the shortest password it accepts and whether it refuses the
//! common and breached passwords of a list shipped with the binary (NIST SP 800-63B 5.1.1.2:
//! at least 8 characters, and a check "against a list that contains values known to be
//! commonly-used, expected, or compromised"). Checked before a password is hashed, so a refusal
//! costs no argon2 time; pure, so it is unit-tested here without a server.
//!
//! The list is `common_passwords.txt`: the "passwords" frequency list of the `zxcvbn` crate
//! (3.1.1, MIT), copied rather than used through the crate. `zxcvbn::zxcvbn` answers a strength
//! estimate, not membership: it matches every substring, l33t and reversed variants and keyboard
//! patterns, then keeps the cheapest decomposition, so "is this whole password in the list" has
//! to be read back out of its match sequence and depends on its scoring; it also costs
//! milliseconds per call on long inputs and brings regex engines into `core`. A set lookup of
//! the lowercased password is exact, cheap and has no dependency. Only the entries of 8
//! characters or more are kept: shorter ones are refused by the length rule anyway.

use std::collections::HashSet;
use std::sync::LazyLock;

/// The shortest minimum length a tenant may set, and the default: NIST SP 800-63B asks for
/// at least 8 characters for a password chosen by its user.
pub const MIN_PASSWORD_CHARS: u32 = 8;

/// The longest minimum length a tenant may set: beyond it the rule would refuse every
/// password a person can type.
pub const MAX_MIN_PASSWORD_CHARS: u32 = 128;

/// Longest password accepted, in characters, whatever the tenant: long enough for any
/// passphrase, short enough that hashing it costs nothing extra.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The shipped list, one lowercase password a line; lines starting with `#` are comments.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// The list as a set, built on first use (about 11,600 entries, once per process).
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect());

/// Whether `password`, the whole of it and ignoring case, is on the common-password list.
/// Case is ignored because `Password1` is guessed right after `password1`.
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

/// Why a password was refused. The messages never quote the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordRejected {
    /// Shorter than the tenant's minimum.
    #[error("password must be at least {min_chars} characters")]
    TooShort {
        /// The tenant's minimum.
        min_chars: u32,
    },
    /// Longer than [`MAX_PASSWORD_CHARS`].
    #[error("password must be at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    /// On the common-password list.
    #[error("password is too common: it is on a list of common and breached passwords")]
    Common,
}

/// What a tenant asks of a new password (`TenantSettings::password_policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Shortest password accepted, in characters (Unicode scalar values).
    pub min_chars: u32,
    /// Whether passwords on the common-password list are refused.
    pub reject_common: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: MIN_PASSWORD_CHARS, reject_common: true }
    }
}

impl PasswordPolicy {
    /// Checks a new password: its length first (a 1 MB body is refused before it is
    /// lowercased), then the list. Never below [`MIN_PASSWORD_CHARS`], whatever `min_chars`
    /// says.
    pub fn check(&self, password: &str) -> Result<(), PasswordRejected> {
        let min_chars = self.min_chars.max(MIN_PASSWORD_CHARS);
        let mut chars = 0usize;
        for _ in password.chars() {
            chars += 1;
            if chars > MAX_PASSWORD_CHARS {
                return Err(PasswordRejected::TooLong);
            }
        }
        if chars < min_chars as usize {
            return Err(PasswordRejected::TooShort { min_chars });
        }
        if self.reject_common && is_common(password) {
            return Err(PasswordRejected::Common);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: PasswordPolicy = PasswordPolicy { min_chars: 8, reject_common: true };

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        for pw in ["password1", "iloveyou1", "PASSWORD1", "Password1", "pAsSwOrD1", "IloveYou1", "qwertyuiop"]
        {
            assert_eq!(STRICT.check(pw), Err(PasswordRejected::Common), "{pw}");
        }
    }

    #[test]
    fn uncommon_passwords_pass() {
        for pw in
            ["xQ7#vLp2@mZ9!rT4wK8$", "correct horse battery staple", "password1 but longer", "9password"]
        {
            assert_eq!(STRICT.check(pw), Ok(()), "{pw}");
        }
    }

    #[test]
    fn only_the_whole_password_counts() {
        assert!(is_common("password1"));
        assert!(!is_common("xpassword1"));
        assert!(!is_common("password1 "));
        assert!(!is_common(""));
    }

    #[test]
    fn the_list_is_loaded_without_its_comments() {
        assert!(COMMON.len() > 10_000, "{}", COMMON.len());
        assert!(
            COMMON.iter().all(|p| p.chars().count() >= 8 && !p.starts_with('#') && *p == p.to_lowercase())
        );
    }

    #[test]
    fn the_check_can_be_turned_off() {
        let lax = PasswordPolicy { reject_common: false, ..STRICT };
        assert_eq!(lax.check("password1"), Ok(()));
        assert_eq!(lax.check("short"), Err(PasswordRejected::TooShort { min_chars: 8 }));
    }

    #[test]
    fn length_is_counted_in_characters_between_the_bounds() {
        let p = PasswordPolicy { min_chars: 12, reject_common: false };
        assert_eq!(
            p.check("ééééééééééé"),
            Err(PasswordRejected::TooShort { min_chars: 12 }),
            "11 chars, 22 bytes"
        );
        assert_eq!(p.check("éééééééééééé"), Ok(()));
        assert_eq!(p.check(&"a".repeat(MAX_PASSWORD_CHARS)), Ok(()));
        assert_eq!(p.check(&"a".repeat(MAX_PASSWORD_CHARS + 1)), Err(PasswordRejected::TooLong));
        // A minimum below the floor is raised to it.
        let low = PasswordPolicy { min_chars: 4, reject_common: false };
        assert_eq!(low.check("abcdefg"), Err(PasswordRejected::TooShort { min_chars: 8 }));
    }

    #[test]
    fn the_default_is_the_nist_floor_with_the_list() {
        assert_eq!(PasswordPolicy::default(), STRICT);
    }
}

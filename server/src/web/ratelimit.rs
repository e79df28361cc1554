//! Login rate limits: password attempts per (tenant, username) and per client address, checked
//! before any argon2id time is spent. A guessing attack is bounded per account (whatever the
//! number of addresses it comes from) and per address (whatever the number of accounts it
//! tries); both limits come from [`Policy`].

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultKeyedRateLimiter, Quota};
use tessera_core::model::fold_case;

use crate::policy::Policy;
use crate::util::address_key;

/// After this many checks the limiters forget keys whose buckets are full again, so that the
/// memory they hold follows the recent attempts, not every name ever typed.
const CHECKS_BETWEEN_CLEANUPS: u64 = 4096;

/// Longest part of a typed login name used as a key: longer input is no valid username or
/// e-mail address anyway, and must not make the table hold arbitrarily long keys.
const MAX_KEY_CHARS: usize = 256;

/// Which limit an attempt ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    /// Too many attempts from this address.
    Address,
    /// Too many attempts for this username.
    Username,
}

/// The two keyed limiters.
pub struct LoginLimits {
    per_user: DefaultKeyedRateLimiter<(String, String)>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl std::fmt::Debug for LoginLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimits").field("users", &self.per_user.len()).finish_non_exhaustive()
    }
}

fn per_minute(n: u32) -> Quota {
    // The configuration refuses 0; `MIN` (one a minute) is the safe reading of a zero anyway.
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl LoginLimits {
    /// Limiters with the policy's quotas; a quota allows its whole minute's worth at once.
    pub fn new(policy: &Policy) -> Self {
        Self {
            per_user: DefaultKeyedRateLimiter::keyed(per_minute(policy.login_attempts_per_user_per_minute)),
            per_ip: DefaultKeyedRateLimiter::keyed(per_minute(policy.login_attempts_per_ip_per_minute)),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one password attempt for `username` in `tenant` from `ip`, or says which limit
    /// it is over. The address is checked first, so a flood from one address does not use up
    /// the attempts of the accounts it names.
    pub fn check(&self, tenant: &str, username: &str, ip: IpAddr) -> Result<(), Limited> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CHECKS_BETWEEN_CLEANUPS
            == CHECKS_BETWEEN_CLEANUPS - 1
        {
            self.per_user.retain_recent();
            self.per_user.shrink_to_fit();
            self.per_ip.retain_recent();
            self.per_ip.shrink_to_fit();
        }
        self.per_ip.check_key(&address_key(ip)).map_err(|_| Limited::Address)?;
        let name: String = username.chars().take(MAX_KEY_CHARS).collect();
        self.per_user.check_key(&(tenant.to_owned(), fold_case(&name))).map_err(|_| Limited::Username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(user: u32, ip: u32) -> LoginLimits {
        LoginLimits::new(&Policy {
            login_attempts_per_user_per_minute: user,
            login_attempts_per_ip_per_minute: ip,
            ..Policy::default()
        })
    }

    #[test]
    fn per_user_limit_ignores_case_and_is_per_tenant() {
        let l = limits(3, 100);
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        for name in ["alice", "ALICE", "Alice"] {
            assert_eq!(l.check("t", name, ip), Ok(()));
        }
        assert_eq!(l.check("t", "alice", ip), Err(Limited::Username));
        assert_eq!(l.check("u", "alice", ip), Ok(()), "another tenant's alice");
        assert_eq!(l.check("t", "bob", ip), Ok(()));
    }

    #[test]
    fn per_address_limit_covers_an_ipv6_slash_64() {
        let l = limits(100, 2);
        let a: IpAddr = "2001:db8::1".parse().expect("ip");
        let b: IpAddr = "2001:db8::2".parse().expect("ip");
        let other: IpAddr = "2001:db8:0:1::1".parse().expect("ip");
        assert_eq!(l.check("t", "a", a), Ok(()));
        assert_eq!(l.check("t", "b", b), Ok(()));
        assert_eq!(l.check("t", "c", a), Err(Limited::Address));
        assert_eq!(l.check("t", "c", other), Ok(()));
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().expect("ip");
        assert_eq!(address_key(mapped), "192.0.2.9".parse::<IpAddr>().expect("ip"));
    }
}

//! Password-attempt rate limits (the login form's and every other password check's, through
//! [`super::PasswordGuard`]), checked before any argon2id time is spent. Two limits refuse (429, with
//! `Retry-After`): password attempts per (tenant, username, client address), and per client
//! address whatever the usernames. Both are keyed on the address, so whoever reaches them
//! refuses only themself: a guesser cannot lock the real user out from elsewhere. Across
//! addresses an account is only slowed, never refused (`slowdown.rs`), at three times the
//! per-address rate. The quotas come from [`Policy`].

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, NotUntil, Quota};
use tessera_core::model::fold_case;

use super::slowdown::Slowdown;
use crate::policy::Policy;
use crate::util::address_key;

/// After this many checks the limiters forget keys whose buckets are full again, so that the
/// memory they hold follows the recent attempts, not every name ever typed.
const CHECKS_BETWEEN_CLEANUPS: u64 = 4096;

/// Longest part of a typed login name used as a key: longer input is no valid username or
/// e-mail address anyway, and must not make the table hold arbitrarily long keys.
const MAX_KEY_CHARS: usize = 256;

/// How many times the per-(username, address) rate an account may fail at, from all addresses
/// together, before its attempts are slowed: one person on a phone, a laptop and an office
/// network never is, while a guesser spread over many addresses is.
const ACROSS_ADDRESSES_FACTOR: u32 = 3;

/// Which limit an attempt ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    /// Too many attempts from this address.
    Address,
    /// Too many attempts for this username from this address.
    UsernameAtAddress,
}

/// An attempt the limits refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The limit it ran into.
    pub by: Limited,
    /// When the same attempt would be allowed.
    pub retry_after: Duration,
}

/// The limiters.
pub struct LoginLimits {
    /// (tenant, case-folded username, address key).
    per_user: DefaultKeyedRateLimiter<(String, String, IpAddr)>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    across_addresses: Slowdown,
    checks: AtomicU64,
    /// Attempts refused, by the address limit and by the username-at-address limit (metrics).
    refused: [AtomicU64; 2],
}

impl std::fmt::Debug for LoginLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimits")
            .field("users", &self.per_user.len())
            .field("slowed", &self.across_addresses.len())
            .finish_non_exhaustive()
    }
}

fn per_minute(n: u32) -> Quota {
    // The configuration refuses 0; `MIN` (one a minute) is the safe reading of a zero anyway.
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

/// The account a typed login name designates for counting: per tenant, case-folded, cut short.
pub(super) fn account_key(tenant: &str, username: &str) -> (String, String) {
    let name: String = username.chars().take(MAX_KEY_CHARS).collect();
    (tenant.to_owned(), fold_case(&name))
}

impl LoginLimits {
    /// Limiters with the policy's quotas; a quota allows its whole minute's worth at once.
    pub fn new(policy: &Policy) -> Self {
        let per_user = policy.login_attempts_per_user_per_minute;
        Self {
            per_user: DefaultKeyedRateLimiter::keyed(per_minute(per_user)),
            per_ip: DefaultKeyedRateLimiter::keyed(per_minute(policy.login_attempts_per_ip_per_minute)),
            across_addresses: Slowdown::new(per_user.saturating_mul(ACROSS_ADDRESSES_FACTOR)),
            checks: AtomicU64::new(0),
            refused: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }

    /// Counts one password attempt for `username` in `tenant` from `ip`: how long it must wait
    /// before its password is checked (zero, unless the account is being guessed from many
    /// addresses), or which limit refuses it. The address is checked first, so a flood from
    /// one address does not use up the attempts of the accounts it names there. `now` is the
    /// slowdown's clock (the refusing limits keep their own).
    pub fn check(&self, tenant: &str, username: &str, ip: IpAddr, now: Instant) -> Result<Duration, Refused> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CHECKS_BETWEEN_CLEANUPS
            == CHECKS_BETWEEN_CLEANUPS - 1
        {
            self.per_user.retain_recent();
            self.per_user.shrink_to_fit();
            self.per_ip.retain_recent();
            self.per_ip.shrink_to_fit();
            self.across_addresses.forget_settled(now);
        }
        let address = address_key(ip);
        let refused = |by: Limited, clock: &governor::clock::DefaultClock, not_until: NotUntil<_>| Refused {
            by,
            retry_after: not_until.wait_time_from(clock.now()),
        };
        let count = |i: usize| self.refused[i].fetch_add(1, Ordering::Relaxed);
        self.per_ip.check_key(&address).map_err(|n| {
            count(0);
            refused(Limited::Address, self.per_ip.clock(), n)
        })?;
        let (tenant, name) = account_key(tenant, username);
        let key = (tenant, name, address);
        self.per_user.check_key(&key).map_err(|n| {
            count(1);
            refused(Limited::UsernameAtAddress, self.per_user.clock(), n)
        })?;
        let (tenant, name, _) = key;
        Ok(self.across_addresses.delay(&(tenant, name), now))
    }

    /// Counts a refusal by `by` made elsewhere (a restored lockout), for the metrics.
    pub fn count_refusal(&self, by: Limited) {
        let i = match by {
            Limited::Address => 0,
            Limited::UsernameAtAddress => 1,
        };
        self.refused[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Attempts refused so far: `(by the address limit, by the username-at-address limit)`.
    pub fn refusals(&self) -> (u64, u64) {
        (self.refused[0].load(Ordering::Relaxed), self.refused[1].load(Ordering::Relaxed))
    }

    /// Records that the password of an attempt [`check`](Self::check) let through was wrong.
    pub fn failed(&self, tenant: &str, username: &str, now: Instant) {
        self.across_addresses.failed(account_key(tenant, username), now);
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

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    /// The limit that refused, or `None` when the attempt may go ahead.
    fn refused_by(l: &LoginLimits, tenant: &str, name: &str, from: IpAddr) -> Option<Limited> {
        l.check(tenant, name, from, Instant::now()).err().map(|r| r.by)
    }

    #[test]
    fn per_user_limit_is_per_address_ignores_case_and_is_per_tenant() {
        let l = limits(3, 100);
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        for name in ["alice", "ALICE", "Alice"] {
            assert_eq!(refused_by(&l, "t", name, a), None);
        }
        let refused = l.check("t", "alice", a, Instant::now()).expect_err("4th from a");
        assert_eq!(refused.by, Limited::UsernameAtAddress);
        // Three a minute: the next one in about 20 s.
        assert!(
            refused.retry_after > Duration::from_secs(15) && refused.retry_after <= Duration::from_secs(20),
            "{refused:?}"
        );
        assert_eq!(refused_by(&l, "t", "alice", b), None, "alice from another address");
        assert_eq!(refused_by(&l, "u", "alice", a), None, "another tenant's alice");
        assert_eq!(refused_by(&l, "t", "bob", a), None);
    }

    #[test]
    fn per_address_limit_covers_an_ipv6_slash_64() {
        let l = limits(100, 2);
        let other = ip("2001:db8:0:1::1");
        assert_eq!(refused_by(&l, "t", "a", ip("2001:db8::1")), None);
        assert_eq!(refused_by(&l, "t", "b", ip("2001:db8::2")), None);
        assert_eq!(refused_by(&l, "t", "c", ip("2001:db8::1")), Some(Limited::Address));
        assert_eq!(refused_by(&l, "t", "c", other), None);
        assert_eq!(address_key(ip("::ffff:192.0.2.9")), ip("192.0.2.9"));
    }

    #[test]
    fn an_account_guessed_from_many_addresses_is_slowed_never_refused() {
        let l = limits(2, 100);
        let now = Instant::now();
        // Two attempts from each of many addresses, all wrong: 3 x 2 failures go unslowed.
        let mut delays = Vec::new();
        for host in 1..=5u8 {
            let from = IpAddr::from([192, 0, 2, host]);
            for _ in 0..2 {
                delays.push(l.check("t", "Alice", from, now).expect("never refused across addresses"));
                l.failed("t", "ALICE", now);
            }
        }
        let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 0, 0, 0, 0, 0, 0, 250, 500, 1000]);
        // The real user, from an address of their own, waits but is let through.
        let wait = l.check("t", "alice", ip("198.51.100.7"), now).expect("let through");
        assert_eq!(wait, Duration::from_secs(2));
        assert!(wait <= super::super::slowdown::MAX_DELAY);
        // Another account is not slowed.
        assert_eq!(l.check("t", "bob", ip("198.51.100.7"), now), Ok(Duration::ZERO));
    }
}

//! Per-client quotas at the token endpoint (`governor`): which quota a client has is core's
//! rule (`tessera_core::model::effective_token_rate_limit`: its override, else its tenant's
//! default, else none); this keeps the token buckets.
//!
//! One keyed limiter per distinct quota, keyed by (tenant, client id): each client has a
//! bucket of its own, so one client's burst never limits another, in its tenant or any other.
//! A changed quota takes effect at the client's next request without a restart: the client
//! and tenant records come from caches the change feed invalidates, and a client whose quota
//! changed is counted by the limiter of its new quota, from a full bucket. Memory follows the
//! recent requests: every [`CHECKS_BETWEEN_CLEANUPS`] checks, buckets full again are forgotten
//! (as the login limits do), and a quota's limiter with no bucket left goes with them.
//!
//! The check comes after client authentication, so no one can spend another client's quota by
//! naming it, and before any grant runs, so a refused request signs and stores nothing.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use parking_lot::RwLock;
use tessera_core::model::RateLimit;

/// Checks between two cleanups of idle buckets.
const CHECKS_BETWEEN_CLEANUPS: u64 = 4096;

/// (tenant, client id).
type ClientKey = (String, String);

/// A refused token request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited {
    /// When the client's next request would be allowed.
    pub retry_after: Duration,
    /// Whether this is the client's first refusal in a minute: the one that gets an audit
    /// event, so a client hammering its limit records one event a minute, not one a request.
    pub first: bool,
}

/// The token buckets (see the module doc).
pub struct TokenLimits {
    by_quota: RwLock<HashMap<RateLimit, Arc<DefaultKeyedRateLimiter<ClientKey>>>>,
    /// One token a minute per client: whether a refusal starts a new audit event.
    events: DefaultKeyedRateLimiter<ClientKey>,
    checks: AtomicU64,
    refused: AtomicU64,
}

impl Default for TokenLimits {
    fn default() -> Self {
        Self {
            by_quota: RwLock::new(HashMap::new()),
            events: DefaultKeyedRateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
            checks: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }
}

impl std::fmt::Debug for TokenLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenLimits").field("quotas", &self.by_quota.read().len()).finish_non_exhaustive()
    }
}

/// The governor quota of a validated [`RateLimit`] (both values at least 1; a zero read as 1).
fn quota_of(limit: RateLimit) -> Quota {
    let per_second = NonZeroU32::new(limit.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(per_second).allow_burst(burst)
}

impl TokenLimits {
    /// Counts one token request of `client_id` in `tenant` against `quota` (`None`: unlimited,
    /// which costs nothing).
    pub fn check(&self, tenant: &str, client_id: &str, quota: Option<RateLimit>) -> Result<(), Limited> {
        let Some(quota) = quota else { return Ok(()) };
        if self.checks.fetch_add(1, Ordering::Relaxed) % CHECKS_BETWEEN_CLEANUPS
            == CHECKS_BETWEEN_CLEANUPS - 1
        {
            self.cleanup();
        }
        let limiter = self.limiter(quota);
        let key = (tenant.to_owned(), client_id.to_owned());
        match limiter.check_key(&key) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                let retry_after = not_until.wait_time_from(limiter.clock().now());
                Err(Limited { retry_after, first: self.events.check_key(&key).is_ok() })
            }
        }
    }

    /// Token requests refused so far.
    pub fn refusals(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn limiter(&self, quota: RateLimit) -> Arc<DefaultKeyedRateLimiter<ClientKey>> {
        if let Some(limiter) = self.by_quota.read().get(&quota) {
            return Arc::clone(limiter);
        }
        let mut by_quota = self.by_quota.write();
        Arc::clone(
            by_quota
                .entry(quota)
                .or_insert_with(|| Arc::new(DefaultKeyedRateLimiter::keyed(quota_of(quota)))),
        )
    }

    /// Forgets buckets full again, and the limiters of quotas no bucket uses any more.
    fn cleanup(&self) {
        let mut by_quota = self.by_quota.write();
        by_quota.retain(|_, limiter| {
            limiter.retain_recent();
            limiter.shrink_to_fit();
            !limiter.is_empty()
        });
        self.events.retain_recent();
        self.events.shrink_to_fit();
    }

    /// Buckets held, across quotas.
    #[cfg(test)]
    fn buckets(&self) -> usize {
        self.by_quota.read().values().map(|l| l.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: RateLimit = RateLimit { per_second: 1, burst: 2 };

    #[test]
    fn a_client_gets_its_burst_then_is_refused_and_others_are_not() {
        let l = TokenLimits::default();
        assert_eq!(l.check("t", "a", None), Ok(()), "unlimited");
        assert_eq!(l.check("t", "a", Some(Q)), Ok(()));
        assert_eq!(l.check("t", "a", Some(Q)), Ok(()));
        let refused = l.check("t", "a", Some(Q)).expect_err("over the burst");
        assert!(refused.first, "the first refusal is reported");
        assert!(refused.retry_after <= Duration::from_secs(1), "{refused:?}");
        assert!(!l.check("t", "a", Some(Q)).expect_err("still over").first, "once a minute");
        assert_eq!(l.check("t", "b", Some(Q)), Ok(()), "another client of the tenant");
        assert_eq!(l.check("u", "a", Some(Q)), Ok(()), "the same id in another tenant");
        assert_eq!(l.check("t", "a", None), Ok(()), "made unlimited");
        assert_eq!(l.refusals(), 2);
    }

    #[test]
    fn a_new_quota_starts_from_a_full_bucket() {
        let l = TokenLimits::default();
        let one = RateLimit { per_second: 1, burst: 1 };
        assert_eq!(l.check("t", "a", Some(one)), Ok(()));
        assert!(l.check("t", "a", Some(one)).is_err());
        let more = RateLimit { per_second: 1, burst: 5 };
        for i in 0..5 {
            assert_eq!(l.check("t", "a", Some(more)), Ok(()), "request {i} under the new quota");
        }
    }

    #[test]
    fn cleanup_forgets_idle_buckets_and_quotas() {
        let l = TokenLimits::default();
        let fast = RateLimit { per_second: 1_000_000, burst: 1 };
        for i in 0..100 {
            assert_eq!(l.check("t", &format!("c{i}"), Some(fast)), Ok(()));
        }
        assert_eq!(l.buckets(), 100);
        // A microsecond refills these buckets: wait well past it, then clean up.
        std::thread::sleep(Duration::from_millis(20));
        l.cleanup();
        assert_eq!(l.buckets(), 0);
        assert!(l.by_quota.read().is_empty(), "the quota's limiter went with its buckets");
    }
}

//! [`PasswordGuard`]: the one gate in front of every check of an end user's password (the
//! login form, the resource owner password grant). It applies, in order:
//!
//! 1. a lockout read back at start (`lockouts.rs`), so a restart hands no one a fresh allowance;
//! 2. the rate limits per (tenant, username, address) and per address (`limits.rs`), which
//!    refuse, and across addresses a slowdown (`slowdown.rs`), which only delays;
//! 3. the bound on concurrent argon2id work (`gate.rs`), when the caller verifies through its
//!    [`Permit`].
//!
//! When one of the two limits refuses and no lockout of its key is live, a lockout is stored
//! (`LockoutStore`) and one `rate_limited` audit event recorded: a store write and an event
//! per lockout, never per attempt. Refusals are counted per limit for the metrics.
//!
//! ```ignore
//! // In a grant handler, after the client authenticated:
//! let permit = match app.password_guard.check(&tenant.id, username, peer).await {
//!     Ok(permit) => permit,
//!     // 429 with Retry-After: retry_after_secs(refused.retry_after)
//!     Err(refused) => return Err(refused.into()),
//! };
//! let hash = user.map_or_else(|| DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
//! let verified = permit.verify(password.to_owned(), hash).await?; // Busy: 503 + Retry-After
//! if verified { app.password_guard.record_success(&tenant.id, username) }
//! else { app.password_guard.record_failure(&tenant.id, username) }
//! ```

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_core::model::{Actor, EventType, LockoutLimit, Outcome, UnixSecs};
use tessera_core::store::{Store, StoreError};

use super::gate::{PasswordError, PasswordWork};
use super::limits::{Limited, LoginLimits, Refused};
use super::lockouts::{Lockouts, lockout_of};
use crate::audit::{Audit, Bound, Draft};
use crate::policy::Policy;
use crate::util::now;

/// Limits, lockouts and the password-work bound of every password check (see the module doc).
pub struct PasswordGuard {
    limits: LoginLimits,
    lockouts: Lockouts,
    work: Arc<PasswordWork>,
    store: Arc<dyn Store>,
    audit: Arc<Audit>,
    lockout_secs: u32,
}

impl std::fmt::Debug for PasswordGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordGuard").field("limits", &self.limits).finish_non_exhaustive()
    }
}

/// An attempt the guard let through: it may verify one password, after the wait the slowdown
/// asks for.
#[must_use = "a permit is for verifying a password"]
#[derive(Debug)]
pub struct Permit<'g> {
    work: &'g PasswordWork,
    delay: Duration,
}

impl Permit<'_> {
    /// Waits as long as the slowdown asks (zero unless the account is being guessed from many
    /// addresses), then verifies `password` against the PHC string `hash` through
    /// the password gate: [`PasswordError::Busy`] (503 with `Retry-After`) when it is full.
    /// Verify against `DUMMY_HASH` when no user matched, so an unknown name costs the same.
    pub async fn verify(self, password: String, hash: String) -> Result<bool, PasswordError> {
        if !self.delay.is_zero() {
            // Bounded (slowdown::MAX_DELAY), and before the password work: a waiting attempt
            // holds no argon2 memory and no password slot.
            tracing::info!(delay_ms = self.delay.as_millis(), "login attempt slowed");
            tokio::time::sleep(self.delay).await;
        }
        self.work.verify(password, hash).await
    }
}

impl PasswordGuard {
    /// A guard with the policy's limits and lockout length, over the shared password gate,
    /// storing lockouts in `store` and recording their events through `audit`.
    pub fn new(policy: &Policy, work: Arc<PasswordWork>, store: Arc<dyn Store>, audit: Arc<Audit>) -> Self {
        Self {
            limits: LoginLimits::new(policy),
            lockouts: Lockouts::default(),
            work,
            store,
            audit,
            lockout_secs: policy.login_lockout_secs.max(1),
        }
    }

    /// Reads back the lockouts still live, once, when the server starts; returns how many.
    pub async fn restore(&self) -> Result<usize, StoreError> {
        let now = now();
        let live = self.store.live_lockouts(now).await?;
        Ok(self.lockouts.restore(live, now))
    }

    /// Counts one password attempt for `username` in `tenant` from `address`: a [`Permit`] to
    /// verify it, or the limit that refuses it and when to retry (429 with `Retry-After`).
    /// Call it before any password work and before looking the user up, so a refused attempt
    /// costs nothing.
    pub async fn check(&self, tenant: &str, username: &str, address: IpAddr) -> Result<Permit<'_>, Refused> {
        let now_secs = now();
        if self.lockouts.any_restored() {
            for (limit, by) in [
                (LockoutLimit::Address, Limited::Address),
                (LockoutLimit::UsernameAtAddress, Limited::UsernameAtAddress),
            ] {
                let probe = lockout_of(limit, tenant, username, address, now_secs);
                if let Some(until) = self.lockouts.restored_until(&probe, now_secs) {
                    self.limits.count_refusal(by);
                    let secs = u64::try_from(until.saturating_sub(now_secs)).unwrap_or(1);
                    return Err(Refused { by, retry_after: Duration::from_secs(secs) });
                }
            }
        }
        match self.limits.check(tenant, username, address, Instant::now()) {
            Ok(delay) => Ok(Permit { work: &self.work, delay }),
            Err(refused) => {
                self.start_lockout(tenant, username, address, refused.by, now_secs).await;
                Err(refused)
            }
        }
    }

    /// Records that the password of an attempt let through was wrong (or its user disabled):
    /// it adds to the account's slowdown across addresses.
    pub fn record_failure(&self, tenant: &str, username: &str) {
        self.limits.failed(tenant, username, Instant::now());
    }

    /// Records that the password of an attempt let through was right. Nothing is undone: the
    /// limits count attempts, not failures, so a guesser who also knows one password gains
    /// nothing by interleaving it.
    pub fn record_success(&self, _tenant: &str, _username: &str) {}

    /// Attempts refused so far: `(by the address limit, by the username-at-address limit)`,
    /// restored lockouts included.
    pub fn refusals(&self) -> (u64, u64) {
        self.limits.refusals()
    }

    /// Stores a lockout of the limit that refused and records its event, unless one of its key
    /// is live already. A store failure is logged, not answered: the attempt is refused anyway.
    async fn start_lockout(&self, tenant: &str, username: &str, address: IpAddr, by: Limited, now: UnixSecs) {
        let limit = match by {
            Limited::Address => LockoutLimit::Address,
            Limited::UsernameAtAddress => LockoutLimit::UsernameAtAddress,
        };
        let until = now.saturating_add(i64::from(self.lockout_secs));
        let lockout = lockout_of(limit, tenant, username, address, until);
        if !self.lockouts.start(&lockout, now) {
            return;
        }
        let reason = match by {
            Limited::Address => "address",
            Limited::UsernameAtAddress => "username_at_address",
        };
        tracing::info!(%tenant, limit = reason, until, "password attempts locked out");
        // Nothing of the typed name goes into the event: it may be a password typed into the
        // wrong field. The lockout record keeps it only until it ends.
        let draft = Draft {
            tenant,
            kind: EventType::RateLimited,
            actor: Actor::Anonymous,
            action: "login",
            target: String::new(),
            source: address,
            outcome: Outcome::Failure,
            reason: Some(reason),
        };
        self.audit.record(&*self.store, Bound::PerTenant, draft);
        if let Err(err) = self.store.put_lockout(&lockout).await {
            tracing::warn!(%tenant, error = %err, "lockout not stored; it holds until a restart only");
        }
    }
}

//! The looser per-account login limit, across client addresses: growing delays, never a
//! refusal. Wrong passwords for one (tenant, username), from any address, add to that account's
//! debt, which drains at a steady rate. While the debt is within its allowance, attempts at the
//! account go ahead at once. Past the allowance, each attempt waits before its password is
//! checked: a quarter second, doubling with each failure of debt, [`MAX_DELAY`] at most.
//!
//! Why a delay and not a 429: the strict limits (`limits.rs`) are keyed on the address, so
//! whoever trips them only refuses themself. A refusal keyed on the account alone could be
//! tripped by anyone, from anywhere, and would lock the real user out. A delay costs the real
//! user a few seconds at most, and still slows anyone guessing one account one attempt at a
//! time, whatever addresses the attempts come from.
//!
//! Why the wait is bounded and in the server, not a `Retry-After`: a `Retry-After` refuses the
//! attempt, and the attacker could then keep the account's next free moment for itself. The
//! wait happens before the password work starts, so a waiting attempt holds no argon2 memory
//! and no password slot, only its request. How many requests wait is bounded too: each address
//! can start only `--login-attempts-per-ip-per-minute` attempts a minute, each waiting
//! [`MAX_DELAY`] at most, within the connection limits.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The longest an attempt waits.
pub const MAX_DELAY: Duration = Duration::from_secs(4);
/// The wait of the first attempt past the allowance.
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// Debt beyond the allowance that is still remembered, in failures: [`MAX_DELAY`] is reached
/// at 5, so more would not lengthen the wait, only how long the account stays slow after an
/// attack ends.
const MAX_EXCESS: u64 = 8;
/// Debts are counted in millionths of a failure, so draining is exact integer arithmetic.
const UNIT: u64 = 1_000_000;

/// An account's debt: failures (in [`UNIT`]s), less what has drained since `at`.
#[derive(Clone, Copy, Debug)]
struct Debt {
    units: u64,
    at: Instant,
}

/// Per-account debts (see the module doc). Keys are (tenant, case-folded username).
#[derive(Debug)]
pub struct Slowdown {
    /// Failures an account may have in debt before its attempts wait; as many drain a minute.
    per_minute: u64,
    debts: Mutex<HashMap<(String, String), Debt>>,
}

impl Slowdown {
    /// An account may fail `failures_per_minute` times in a row, and keep failing at that rate,
    /// without waiting (at least 1).
    pub fn new(failures_per_minute: u32) -> Self {
        Self { per_minute: u64::from(failures_per_minute.max(1)), debts: Mutex::new(HashMap::new()) }
    }

    /// The debt left of `debt` at `now`, in units.
    fn units_now(&self, debt: Debt, now: Instant) -> u64 {
        // per_minute failures a minute: UNIT * per_minute units per 60e9 ns.
        let nanos = now.saturating_duration_since(debt.at).as_nanos();
        let drained = nanos.saturating_mul(u128::from(self.per_minute)) / 60_000;
        debt.units.saturating_sub(u64::try_from(drained).unwrap_or(u64::MAX))
    }

    /// How long an attempt at `account` waits now before its password is checked.
    pub fn delay(&self, account: &(String, String), now: Instant) -> Duration {
        let units = self.debts.lock().get(account).map_or(0, |d| self.units_now(*d, now));
        // Whole failures over the allowance, a part of one counting as one.
        let excess = units.saturating_sub(self.per_minute * UNIT).div_ceil(UNIT);
        if excess == 0 {
            return Duration::ZERO;
        }
        // One over waits FIRST_DELAY, each further one doubles it.
        let doublings = u32::try_from(excess - 1).unwrap_or(u32::MAX).min(8);
        FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
    }

    /// Records a wrong password for `account`.
    pub fn failed(&self, account: (String, String), now: Instant) {
        let cap = (self.per_minute + MAX_EXCESS) * UNIT;
        let mut debts = self.debts.lock();
        let units = debts.get(&account).map_or(0, |d| self.units_now(*d, now));
        debts.insert(account, Debt { units: (units + UNIT).min(cap), at: now });
    }

    /// Forgets accounts whose debt has drained, so the table holds recent failures only.
    pub fn forget_settled(&self, now: Instant) {
        let mut debts = self.debts.lock();
        debts.retain(|_, d| self.units_now(*d, now) > 0);
        debts.shrink_to_fit();
    }

    /// Accounts in debt.
    pub fn len(&self) -> usize {
        self.debts.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> (String, String) {
        ("t".to_owned(), "alice".to_owned())
    }

    /// The delays of the attempts after each failure, starting with no debt, all at `now`.
    fn delays_after_failures(s: &Slowdown, n: usize, now: Instant) -> Vec<u64> {
        (0..n)
            .map(|_| {
                s.failed(alice(), now);
                u64::try_from(s.delay(&alice(), now).as_millis()).expect("small")
            })
            .collect()
    }

    #[test]
    fn delays_start_past_the_allowance_double_and_stop_growing() {
        let s = Slowdown::new(3);
        let now = Instant::now();
        assert_eq!(s.delay(&alice(), now), Duration::ZERO);
        assert_eq!(
            delays_after_failures(&s, 12, now),
            [0, 0, 0, 250, 500, 1000, 2000, 4000, 4000, 4000, 4000, 4000]
        );
        // Other accounts, and the same name in another tenant, are not slowed.
        assert_eq!(s.delay(&("t".into(), "bob".into()), now), Duration::ZERO);
        assert_eq!(s.delay(&("u".into(), "alice".into()), now), Duration::ZERO);
    }

    #[test]
    fn debt_drains_at_the_allowed_rate() {
        let s = Slowdown::new(6);
        let start = Instant::now();
        delays_after_failures(&s, 8, start);
        assert_eq!(s.delay(&alice(), start), Duration::from_millis(500), "2 over the allowance");
        // 6 a minute drain one every 10 s.
        assert_eq!(s.delay(&alice(), start + Duration::from_secs(10)), Duration::from_millis(250));
        assert_eq!(s.delay(&alice(), start + Duration::from_secs(20)), Duration::ZERO);
        // Failing at the allowed rate never waits.
        let s = Slowdown::new(6);
        for i in 0..30 {
            let at = start + Duration::from_secs(10 * i);
            assert_eq!(s.delay(&alice(), at), Duration::ZERO, "attempt {i}");
            s.failed(alice(), at);
        }
    }

    #[test]
    fn a_long_attack_is_forgotten_in_bounded_time() {
        let s = Slowdown::new(6);
        let start = Instant::now();
        delays_after_failures(&s, 1000, start);
        // Allowance plus MAX_EXCESS, at one a ten seconds: 140 s.
        let later = start + Duration::from_secs(140);
        assert_eq!(s.delay(&alice(), later), Duration::ZERO);
        assert_eq!(s.len(), 1);
        s.forget_settled(later);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn forgetting_keeps_accounts_still_in_debt() {
        let s = Slowdown::new(6);
        let start = Instant::now();
        s.failed(alice(), start);
        s.failed(("t".into(), "bob".into()), start + Duration::from_secs(5));
        s.forget_settled(start + Duration::from_secs(12));
        assert_eq!(s.len(), 1, "alice drained, bob not yet");
    }
}

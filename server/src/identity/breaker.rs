//! A circuit breaker per identity validator, so that a dead validator does not make every
//! password grant wait out its timeout. After `failures` failed calls in a row the circuit
//! opens and the validator is skipped (counted as failed, so the answer is 503, never a
//! wrong-password) for `open_for`; then one call at a time may try it again (half open), and
//! the first success closes the circuit. Kept per node, in memory: each node learns for
//! itself that a validator it cannot reach is down.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Most validators tracked: a tenant has at most 16, and entries of deleted validators are
/// dropped when the table is full.
const MAX_TRACKED: usize = 65_536;

/// What a call may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permit {
    /// Call the validator.
    Call,
    /// Skip it: its circuit is open.
    Skip,
}

#[derive(Clone, Copy, Debug)]
struct State {
    /// Failed calls in a row.
    failures: u32,
    /// While open: when a call may try again.
    open_until: Option<Instant>,
    /// Whether a trial call is out (half open): only one at a time.
    trial_out: bool,
}

/// The breakers of every validator this node calls, by validator id.
#[derive(Debug)]
pub struct Breakers {
    failures: u32,
    open_for: Duration,
    states: Mutex<HashMap<String, State>>,
}

impl Breakers {
    /// Breakers that open after `failures` failures in a row, for `open_for`.
    pub fn new(failures: u32, open_for: Duration) -> Self {
        Self { failures: failures.max(1), open_for, states: Mutex::new(HashMap::new()) }
    }

    /// Whether validator `id` may be called at `now`.
    pub fn permit(&self, id: &str, now: Instant) -> Permit {
        let mut states = self.states.lock();
        let Some(state) = states.get_mut(id) else { return Permit::Call };
        match state.open_until {
            None => Permit::Call,
            Some(until) if now < until => Permit::Skip,
            // Half open: one trial call; the others skip until it reports.
            Some(_) if state.trial_out => Permit::Skip,
            Some(_) => {
                state.trial_out = true;
                Permit::Call
            }
        }
    }

    /// Records the outcome of a call to `id`: a success closes its circuit, a failure counts
    /// and, at the threshold (or in a failed trial), opens it.
    pub fn record(&self, id: &str, ok: bool, now: Instant) {
        let mut states = self.states.lock();
        if ok {
            states.remove(id);
            return;
        }
        if states.len() >= MAX_TRACKED && !states.contains_key(id) {
            states.clear();
        }
        let state =
            states.entry(id.to_owned()).or_insert(State { failures: 0, open_until: None, trial_out: false });
        state.failures = state.failures.saturating_add(1);
        if state.trial_out || state.failures >= self.failures {
            state.open_until = Some(now + self.open_for);
            state.trial_out = false;
        }
    }

    /// Whether `id`'s circuit is open at `now` (for metrics and tests).
    pub fn is_open(&self, id: &str, now: Instant) -> bool {
        self.states.lock().get(id).and_then(|s| s.open_until).is_some_and(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_and_closes_after_a_good_trial() {
        let b = Breakers::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..2 {
            assert_eq!(b.permit("v", t0), Permit::Call);
            b.record("v", false, t0);
        }
        assert!(!b.is_open("v", t0));
        b.record("v", false, t0);
        assert!(b.is_open("v", t0));
        assert_eq!(b.permit("v", t0 + Duration::from_secs(9)), Permit::Skip);
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.permit("v", later), Permit::Call, "one trial");
        assert_eq!(b.permit("v", later), Permit::Skip, "only one at a time");
        b.record("v", true, later);
        assert_eq!(b.permit("v", later), Permit::Call);
        assert!(!b.is_open("v", later));
    }

    #[test]
    fn a_failed_trial_opens_again_and_a_success_resets_the_count() {
        let b = Breakers::new(2, Duration::from_secs(5));
        let t0 = Instant::now();
        b.record("v", false, t0);
        b.record("v", true, t0);
        b.record("v", false, t0);
        assert!(!b.is_open("v", t0), "the success reset the count");
        b.record("v", false, t0);
        assert!(b.is_open("v", t0));
        let later = t0 + Duration::from_secs(5);
        assert_eq!(b.permit("v", later), Permit::Call);
        b.record("v", false, later);
        assert!(b.is_open("v", later), "a failed trial opens it again at once");
        assert_eq!(b.permit("w", later), Permit::Call, "others are unaffected");
    }
}

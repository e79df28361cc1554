//! The lockouts of the password-attempt limits, in memory: those a starting server read back
//! from the store (`restored`), which refuse until they end whatever the fresh limiters say,
//! and those this process stored (`stored`), so that a limit refusing again and again writes
//! one lockout, not one per refused attempt.
//!
//! Why a restored lockout refuses for its whole length while a running server only follows its
//! limiters: the limiters let one attempt through each time a slot frees up, and a restarted
//! server has lost that state. Refusing until the lockout ends, which is when the limiter's
//! allowance would have refilled anyway, never hands out more attempts than a server that had
//! kept running would have, and never refuses for longer than the configured lockout.

use std::collections::HashMap;
use std::net::IpAddr;

use parking_lot::{Mutex, RwLock};
use tessera_core::model::{Lockout, LockoutLimit, UnixSecs};

use super::limits::account_key;
use crate::util::address_key;

/// Most lockouts this process remembers having stored. Past it, expired ones are forgotten;
/// if every one is still live, a new lockout is enforced in memory but not stored (and
/// logged): the store is never written at the rate of an attack spread over many addresses.
pub const MAX_STORED_LOCKOUTS: usize = 65_536;

/// What a lockout locks: the limit, the tenant (empty for the server-wide address limit), the
/// address key written out, the case-folded username (empty for the address limit).
type Key = (LockoutLimit, String, String, String);

/// The key and the record of a lockout of `limit` for `username` of `tenant` from `ip`,
/// ending at `until`.
pub fn lockout_of(limit: LockoutLimit, tenant: &str, username: &str, ip: IpAddr, until: UnixSecs) -> Lockout {
    let address = address_key(ip).to_string();
    let username = match limit {
        LockoutLimit::Address => String::new(),
        LockoutLimit::UsernameAtAddress => account_key(tenant, username).1,
    };
    Lockout { tenant: tenant.to_owned(), limit, address, username, until }
}

fn key_of(l: &Lockout) -> Key {
    let tenant = match l.limit {
        // The address limit counts every tenant's attempts together.
        LockoutLimit::Address => String::new(),
        LockoutLimit::UsernameAtAddress => l.tenant.clone(),
    };
    (l.limit, tenant, l.address.clone(), l.username.clone())
}

/// The two tables (see the module doc).
#[derive(Debug, Default)]
pub struct Lockouts {
    restored: RwLock<HashMap<Key, UnixSecs>>,
    stored: Mutex<HashMap<Key, UnixSecs>>,
}

impl Lockouts {
    /// Takes the lockouts read back from the store (at start, and on a shared store again and
    /// again: the other nodes' lockouts); returns how many are live at `now`. Ended ones leave,
    /// so reading again and again does not grow the tables.
    pub fn restore(&self, lockouts: Vec<Lockout>, now: UnixSecs) -> usize {
        let mut restored = self.restored.write();
        let mut stored = self.stored.lock();
        restored.retain(|_, until| *until > now);
        for l in lockouts.into_iter().filter(|l| l.is_live(now)) {
            let key = key_of(&l);
            let until = restored.get(&key).map_or(l.until, |u| (*u).max(l.until));
            restored.insert(key.clone(), until);
            // Stored already: refusing again while it lasts writes nothing.
            stored.insert(key, until);
        }
        restored.len()
    }

    /// When a restored lockout of `l`'s key ends, if it is live at `now`.
    pub fn restored_until(&self, l: &Lockout, now: UnixSecs) -> Option<UnixSecs> {
        let restored = self.restored.read();
        if restored.is_empty() {
            return None;
        }
        restored.get(&key_of(l)).copied().filter(|until| *until > now)
    }

    /// Whether any restored lockout is held (the cheap test before building keys).
    pub fn any_restored(&self) -> bool {
        !self.restored.read().is_empty()
    }

    /// Notes that `l` starts now: `true` if it is new and should be stored (no lockout of its
    /// key is live at `now`, and the table has room), `false` if one is already stored.
    pub fn start(&self, l: &Lockout, now: UnixSecs) -> bool {
        let mut stored = self.stored.lock();
        let key = key_of(l);
        if stored.get(&key).is_some_and(|until| *until > now) {
            return false;
        }
        if stored.len() >= MAX_STORED_LOCKOUTS {
            stored.retain(|_, until| *until > now);
            if stored.len() >= MAX_STORED_LOCKOUTS {
                tracing::warn!("too many live lockouts to store another; enforced in memory only");
                return false;
            }
        }
        stored.insert(key, l.until);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn a_lockout_is_stored_once_while_it_lasts() {
        let l = Lockouts::default();
        let alice = lockout_of(LockoutLimit::UsernameAtAddress, "t", "Alice", ip("192.0.2.1"), 160);
        assert_eq!(alice.username, "alice", "case-folded");
        assert!(l.start(&alice, 100));
        assert!(!l.start(&alice, 150), "still live");
        assert!(l.start(&alice, 160), "ended: a new one");
        let from = lockout_of(LockoutLimit::Address, "t", "Alice", ip("2001:db8::1"), 160);
        assert_eq!((from.username.as_str(), from.address.as_str()), ("", "2001:db8::"));
        assert!(l.start(&from, 100));
        // The address limit is server-wide: the same address in another tenant is the same key.
        assert!(!l.start(&lockout_of(LockoutLimit::Address, "u", "bob", ip("2001:db8::2"), 170), 100));
    }

    #[test]
    fn restored_lockouts_refuse_until_they_end_and_count_as_stored() {
        let l = Lockouts::default();
        assert!(!l.any_restored());
        let alice = lockout_of(LockoutLimit::UsernameAtAddress, "t", "alice", ip("192.0.2.1"), 160);
        let ended = lockout_of(LockoutLimit::UsernameAtAddress, "t", "bob", ip("192.0.2.1"), 90);
        assert_eq!(l.restore(vec![alice.clone(), ended.clone()], 100), 1);
        assert_eq!(l.restored_until(&alice, 100), Some(160));
        assert_eq!(l.restored_until(&alice, 160), None, "ends at until");
        assert_eq!(l.restored_until(&ended, 100), None);
        let elsewhere = lockout_of(LockoutLimit::UsernameAtAddress, "u", "alice", ip("192.0.2.1"), 160);
        assert_eq!(l.restored_until(&elsewhere, 100), None, "another tenant's alice");
        assert!(!l.start(&alice, 120), "stored already");
    }
}

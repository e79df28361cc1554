//! The last use of each API key, noted in memory at every use and taken whole by the task
//! that writes them (`api_keys::flush_last_uses`): a leaf the shared state holds, so noting a
//! use costs a map update and no store write.

use std::collections::HashMap;

use parking_lot::Mutex;
use tessera_core::model::UnixSecs;

/// The latest use of each key used since the last flush, by (tenant, key id).
#[derive(Default)]
pub struct LastUses {
    seen: Mutex<HashMap<(String, String), UnixSecs>>,
}

impl LastUses {
    /// Notes a use of key `id` of `tenant` at `at`.
    pub fn note(&self, tenant: &str, id: &str, at: UnixSecs) {
        let mut seen = self.seen.lock();
        match seen.get_mut(&(tenant.to_owned(), id.to_owned())) {
            Some(last) => *last = (*last).max(at),
            None => {
                seen.insert((tenant.to_owned(), id.to_owned()), at);
            }
        }
    }

    /// Every noted use, forgetting them.
    pub fn take(&self) -> HashMap<(String, String), UnixSecs> {
        std::mem::take(&mut *self.seen.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_used_often_is_one_entry_with_its_latest_use() {
        let uses = LastUses::default();
        uses.note("t", "k", 5);
        uses.note("t", "k", 9);
        uses.note("t", "k", 7);
        uses.note("u", "k", 1);
        let taken = uses.take();
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[&("t".to_owned(), "k".to_owned())], 9);
        assert!(uses.take().is_empty(), "taken once");
    }
}

//! What the store counts about itself, for the server's metrics: the duration and size of each
//! group commit, and the hits and misses of the record caches. Plain atomics, read at scrape
//! time: the storage crate depends on no metrics library, and counting here costs an atomic add
//! (one per round on the writer thread, one per cached read).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the commit-duration buckets, in microseconds: 100 µs to 1 s. An fsync on an
/// SSD takes 0.1-10 ms; longer ones are what an operator wants to see.
pub const COMMIT_MICROS_BOUNDS: [u64; 12] =
    [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000];

/// Upper bounds of the group-size buckets: writes made durable by one fsync.
pub const GROUP_SIZE_BOUNDS: [u64; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/// A histogram of fixed buckets over integers, each bucket counting the values at most its
/// bound and above the previous one (the last, unbounded, counts the rest).
#[derive(Debug)]
pub struct Buckets<const N: usize> {
    bounds: &'static [u64; N],
    counts: [AtomicU64; N],
    over: AtomicU64,
    sum: AtomicU64,
}

/// A reading of a [`Buckets`]: cumulative counts per bound (Prometheus's `le`), the count of
/// all values and their sum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketsSnapshot {
    /// `(bound, values at most bound)`, increasing.
    pub cumulative: Vec<(u64, u64)>,
    /// Every value counted.
    pub count: u64,
    /// The values added up.
    pub sum: u64,
}

impl<const N: usize> Buckets<N> {
    const fn new(bounds: &'static [u64; N]) -> Self {
        Self {
            bounds,
            counts: [const { AtomicU64::new(0) }; N],
            over: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }

    /// Counts `value`.
    pub fn record(&self, value: u64) {
        let slot = self.bounds.iter().position(|&bound| value <= bound);
        match slot {
            Some(i) => self.counts[i].fetch_add(1, Ordering::Relaxed),
            None => self.over.fetch_add(1, Ordering::Relaxed),
        };
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// The counts now (each bucket read on its own: a scrape during a round may see the round
    /// in one bucket and not yet in the sum, which Prometheus tolerates).
    pub fn snapshot(&self) -> BucketsSnapshot {
        let mut running = 0;
        let cumulative = self
            .bounds
            .iter()
            .zip(&self.counts)
            .map(|(&bound, count)| {
                running += count.load(Ordering::Relaxed);
                (bound, running)
            })
            .collect();
        BucketsSnapshot {
            cumulative,
            count: running + self.over.load(Ordering::Relaxed),
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

/// Hits and misses of one cache.
#[derive(Debug, Default)]
pub struct CacheCounts {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CacheCounts {
    /// A lookup answered from memory.
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// A lookup that had to read the store.
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// `(hits, misses)` so far.
    pub fn read(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}

/// What the writer counts about its group commits.
#[derive(Debug)]
pub struct StoreStats {
    /// Each group commit's duration, from its first write applied to its fsync done, in µs.
    pub commit_micros: Buckets<12>,
    /// Each group commit's size: the writes its fsync made durable.
    pub group_size: Buckets<10>,
}

impl StoreStats {
    pub(crate) fn new() -> Self {
        Self {
            commit_micros: Buckets::new(&COMMIT_MICROS_BOUNDS),
            group_size: Buckets::new(&GROUP_SIZE_BOUNDS),
        }
    }

    /// Counts one group commit that made `writes` durable in `took`.
    pub(crate) fn committed(&self, writes: usize, took: Duration) {
        self.commit_micros.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
        self.group_size.record(writes as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_count_everything() {
        static B: [u64; 3] = [1, 10, 100];
        let buckets = Buckets::new(&B);
        for v in [0, 1, 5, 10, 11, 1000] {
            buckets.record(v);
        }
        let s = buckets.snapshot();
        assert_eq!(s.cumulative, vec![(1, 2), (10, 4), (100, 5)]);
        assert_eq!((s.count, s.sum), (6, 1027));
    }
}

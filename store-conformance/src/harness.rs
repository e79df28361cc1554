//! [`Harness`]: what a backend gives the suite (its store on fresh data, a way to reopen it, its
//! clock and its expiry), and [`run`], the runtime every case runs on.

use std::future::Future;
use std::sync::Arc;

use tessera_core::model::UnixSecs;
use tessera_core::store::Store;

/// One backend under test, on data of its own. A harness is built afresh for every case, so
/// each case starts from an empty store; whatever it needs to clean up afterwards (a temporary
/// directory, a database schema) it owns and drops.
///
/// The methods panic when the backend cannot do what is asked (a database that will not open):
/// the case then fails with the harness's message.
pub trait Harness {
    /// The backend's store.
    type S: Store;

    /// Opens the store on this harness's data (empty on the first call).
    fn open(&self) -> Arc<Self::S>;

    /// Closes `store` the way an ending process does (no explicit shutdown beyond what
    /// dropping the handle does) and opens the same data again: every write whose `Commit`
    /// resolved `Ok` must be found. The case hands over its only handle.
    fn reopen(&self, store: Arc<Self::S>) -> Arc<Self::S>;

    /// Sets the clock of the store's own decisions, those no argument carries a time for:
    /// whether a code has expired when taken, whether a revocation is still in force, and
    /// what [`Harness::expire`] removes. Applies to the stores already open and to later ones.
    fn set_now(&self, now: UnixSecs);

    /// Runs the backend's expiry now, until no record expired by the clock is left (for fjall,
    /// sweep rounds until one finds nothing due; a backend that deletes on a schedule runs it).
    fn expire(&self, store: &Self::S);
}

/// Runs a case to completion on a two-worker tokio runtime, so that the concurrency cases race
/// on real threads. Panics (fails the test) if the runtime cannot start.
pub fn run(case: impl Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the test runtime starts");
    runtime.block_on(case);
}

/// Sets the harness's clock to `now` and opens its store.
pub(crate) fn open_at<H: Harness>(harness: &H, now: UnixSecs) -> Arc<H::S> {
    harness.set_now(now);
    harness.open()
}

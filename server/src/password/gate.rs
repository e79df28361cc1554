//! The password gate: every argon2id verification and hash the server does goes through one
//! [`PasswordWork`], owned by the shared state, which bounds how many run at once and how many
//! wait. Each one holds 19 MiB and a core for tens of milliseconds; unbounded, 120 parallel
//! wrong logins raised the server's peak RSS by about 2.2 GiB.
//!
//! At most `max_running` run at once (one per core by default: more cannot finish sooner, they
//! only hold more memory). Beyond that, up to `max_waiting` callers wait, first come first
//! served, each for at most `max_wait`; a caller over either bound is refused at once, or when
//! its wait runs out, with [`PasswordError::Busy`], which every surface answers with 503 and
//! `Retry-After` (`http/respond.rs`). Refusing is the point: a queue that grows without bound
//! only turns a memory problem into a latency one.
//!
//! The work runs on the gate's own threads (`workers.rs`), one per slot. A slot is held by the
//! work, not by the caller: a caller that stops waiting (its client went away, its future was
//! dropped) frees its place in the queue at once, but work already started keeps its slot until
//! it ends, because its memory is in use until then. A panic in the work frees the slot as the
//! work unwinds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::argon2id::{Memory, hash_password, verify_password};
use super::workers::Workers;
use crate::util::random;

/// How long a refused caller is told to wait (`Retry-After`): one verification takes tens of
/// milliseconds, so a second is ample for the queue to move, and short enough for a person.
pub const RETRY_AFTER_SECS: u32 = 1;

/// Callers that may wait per running slot. A check takes tens of milliseconds of a core, so
/// this many drain in about a second or two, the default wait; a longer queue could only make
/// more callers wait for a refusal.
pub const WAITING_PER_SLOT: usize = 32;

/// The bounds of a [`PasswordWork`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateLimits {
    /// Verifications and hashes running at once, at most (at least 1).
    pub max_running: usize,
    /// Callers waiting for a slot, at most.
    pub max_waiting: usize,
    /// How long a caller may wait for a slot; zero means callers never wait.
    pub max_wait: Duration,
}

impl GateLimits {
    /// `max_running` slots, [`WAITING_PER_SLOT`] waiting callers per slot, `max_wait` each.
    pub fn for_slots(max_running: usize, max_wait: Duration) -> Self {
        Self { max_running, max_waiting: max_running.saturating_mul(WAITING_PER_SLOT), max_wait }
    }
}

/// Why password work was not done.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Every slot is taken and the queue is full, or the wait ran out: answered 503 with
    /// `Retry-After`, and nothing was verified or hashed.
    #[error("too many password checks at once")]
    Busy {
        /// What `Retry-After` says.
        retry_after_secs: u32,
    },
    /// The work did not finish (it panicked) or could not start (no randomness for a salt, no
    /// thread to run it on): a 500, the detail only in the log.
    #[error("password work failed: {0}")]
    Failed(String),
}

/// The one gate of password work (see the module doc).
#[derive(Debug)]
pub struct PasswordWork {
    /// Slots of running work.
    running: Arc<Semaphore>,
    /// Admissions: running plus waiting. Taken without waiting, so a full queue refuses at once.
    admitted: Arc<Semaphore>,
    max_wait: Duration,
    /// One thread per slot.
    workers: Workers,
    /// Work refused with [`PasswordError::Busy`] (metrics).
    refused: AtomicU64,
}

const fn busy() -> PasswordError {
    PasswordError::Busy { retry_after_secs: RETRY_AFTER_SECS }
}

impl PasswordWork {
    /// A gate with these bounds. A `max_running` of 0 is read as 1 (the configuration refuses
    /// it); with a zero `max_wait` nobody waits, whatever `max_waiting` says.
    pub fn new(limits: GateLimits) -> Self {
        let running = limits.max_running.clamp(1, Semaphore::MAX_PERMITS);
        let waiting = if limits.max_wait.is_zero() { 0 } else { limits.max_waiting };
        let admitted = running.saturating_add(waiting).min(Semaphore::MAX_PERMITS);
        Self {
            running: Arc::new(Semaphore::new(running)),
            admitted: Arc::new(Semaphore::new(admitted)),
            max_wait: limits.max_wait,
            workers: Workers::new(running),
            refused: AtomicU64::new(0),
        }
    }

    /// Password checks and hashes refused as busy so far (metrics).
    pub fn refusals(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Whether `password` matches the PHC string `phc` (a malformed hash matches nothing).
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, PasswordError> {
        self.run(move |memory| verify_password(&password, &phc, memory)).await
    }

    /// The PHC string of `password` under a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let salt = random::<16>().map_err(|e| PasswordError::Failed(format!("no salt: {e}")))?;
        self.run(move |memory| hash_password(&password, &salt, memory)).await?.map_err(PasswordError::Failed)
    }

    /// Runs `work` on a worker thread once admitted and given a slot (module doc).
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let admitted = self.admitted.clone().try_acquire_owned().map_err(|_| busy());
        let slot = match admitted {
            Ok(admission) => self.slot().await.map(|slot| (admission, slot)),
            Err(refused) => Err(refused),
        };
        let (admission, slot) = slot.inspect_err(|err| {
            if matches!(err, PasswordError::Busy { .. }) {
                self.refused.fetch_add(1, Ordering::Relaxed);
            }
        })?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.workers
            .submit(Box::new(move |memory| {
                let held = (admission, slot);
                let out = work(memory);
                // Free before answering, so a caller that hears its answer finds its slot free
                // (one that panics frees it as it unwinds).
                drop(held);
                // A caller that stopped waiting no longer hears the answer.
                let _ = answer.send(out);
            }))
            .map_err(PasswordError::Failed)?;
        answered.await.map_err(|_| PasswordError::Failed("the password work panicked".into()))
    }

    /// A running slot: at once, or within `max_wait`, or `Busy`.
    async fn slot(&self) -> Result<OwnedSemaphorePermit, PasswordError> {
        if self.max_wait.is_zero() {
            return self.running.clone().try_acquire_owned().map_err(|_| busy());
        }
        match tokio::time::timeout(self.max_wait, self.running.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(slot),
            // The semaphore is never closed; were it, no work could ever run.
            Ok(Err(closed)) => Err(PasswordError::Failed(closed.to_string())),
            Err(_elapsed) => Err(busy()),
        }
    }
}

#[cfg(test)]
impl PasswordWork {
    /// Takes every free slot, as running work would, until the permit is dropped: other
    /// modules' tests use it to find the gate full.
    pub fn take_free_slots(&self) -> OwnedSemaphorePermit {
        let free = u32::try_from(self.running.available_permits()).unwrap_or(u32::MAX);
        self.running.clone().try_acquire_many_owned(free).expect("free slots")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    use super::*;

    fn gate(max_running: usize, max_waiting: usize, max_wait: Duration) -> Arc<PasswordWork> {
        Arc::new(PasswordWork::new(GateLimits { max_running, max_waiting, max_wait }))
    }

    const LONG: Duration = Duration::from_secs(3600);

    /// Work on a blocking thread that runs until `release` is used (or dropped).
    struct Held {
        /// Its caller.
        task: tokio::task::JoinHandle<Result<(), PasswordError>>,
        release: mpsc::Sender<()>,
        /// Hears when the work started.
        started: tokio::sync::oneshot::Receiver<()>,
    }

    fn held_work(gate: &Arc<PasswordWork>) -> Held {
        let (release, wait) = mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let g = gate.clone();
        let task = tokio::spawn(async move {
            g.run(move |_| {
                let _ = started_tx.send(());
                let _ = wait.recv();
            })
            .await
        });
        Held { task, release, started }
    }

    /// Waits (without a deadline of its own: the test harness has one) until `cond` holds.
    async fn until(cond: impl Fn() -> bool) {
        while !cond() {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn is_busy(r: &Result<impl std::fmt::Debug, PasswordError>) -> bool {
        matches!(r, Err(PasswordError::Busy { retry_after_secs: RETRY_AFTER_SECS }))
    }

    #[tokio::test]
    async fn verifies_and_hashes_through_the_gate() {
        let g = gate(1, 0, Duration::ZERO);
        let phc = g.hash("correct horse battery".into()).await.expect("hashes");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(g.verify("correct horse battery".into(), phc.clone()).await.expect("verifies"));
        assert!(!g.verify("wrong".into(), phc).await.expect("verifies"));
        assert!(!g.verify("x".into(), "not a hash".into()).await.expect("verifies"));
        // The slot is free by the time the answer arrives, so one check after another never
        // finds the gate full.
        assert_eq!((g.running.available_permits(), g.admitted.available_permits()), (1, 1));
    }

    #[tokio::test]
    async fn without_a_queue_work_beyond_the_slots_is_refused_at_once() {
        let g = gate(2, 100, Duration::ZERO);
        let (a, b) = (held_work(&g), held_work(&g));
        a.started.await.expect("a runs");
        b.started.await.expect("b runs");
        assert!(is_busy(&g.verify("p".into(), "h".into()).await), "a third with both slots taken");
        a.release.send(()).expect("a waits");
        a.task.await.expect("joins").expect("a ran");
        assert!(g.verify("p".into(), "not a hash".into()).await.is_ok(), "a slot is free again");
        b.release.send(()).expect("b waits");
        b.task.await.expect("joins").expect("b ran");
    }

    #[tokio::test]
    async fn the_queue_is_bounded_and_served_in_order() {
        let g = gate(1, 2, LONG);
        let a = held_work(&g);
        a.started.await.expect("a runs");
        // Two wait (their order is the order they asked in), a third is refused at once.
        let order = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let mut queued = Vec::new();
        for n in 0..2 {
            let (g2, order) = (g.clone(), order.clone());
            queued.push(tokio::spawn(async move { g2.run(move |_| order.lock().push(n)).await }));
            until(|| g.admitted.available_permits() == 1 - n).await;
        }
        assert!(is_busy(&g.verify("p".into(), "h".into()).await), "the queue is full");
        a.release.send(()).expect("a waits");
        a.task.await.expect("joins").expect("a ran");
        for q in queued {
            q.await.expect("joins").expect("ran after waiting");
        }
        assert_eq!(*order.lock(), vec![0, 1]);
        assert_eq!((g.running.available_permits(), g.admitted.available_permits()), (1, 3));
    }

    #[tokio::test]
    async fn a_wait_that_runs_out_is_refused() {
        let g = gate(1, 10, Duration::from_millis(50));
        // The slot stays taken for the whole test: the wait can only run out.
        let _slot = g.running.clone().try_acquire_owned().expect("free slot");
        let g2 = g.clone();
        let waiter = tokio::spawn(async move { g2.verify("p".into(), "h".into()).await });
        let refused = waiter.await.expect("joins");
        assert!(is_busy(&refused), "{refused:?}");
        assert_eq!(g.admitted.available_permits(), 11, "the refused caller left the queue");
    }

    #[tokio::test]
    async fn never_more_than_the_bound_at_once() {
        let g = gate(3, 1000, LONG);
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut all = Vec::new();
        for _ in 0..60 {
            let (g, now, peak) = (g.clone(), now.clone(), peak.clone());
            all.push(tokio::spawn(async move {
                g.run(move |_| {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    // Long enough for the others to pile up behind the slots.
                    std::thread::sleep(Duration::from_millis(2));
                    now.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        for t in all {
            t.await.expect("joins").expect("ran");
        }
        assert!(peak.load(Ordering::SeqCst) <= 3, "peak {}", peak.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_panic_frees_its_slot() {
        let g = gate(1, 0, Duration::ZERO);
        let r = g.run(|_| -> () { panic!("argon2 blew up") }).await;
        assert!(matches!(r, Err(PasswordError::Failed(_))), "{r:?}");
        assert_eq!((g.running.available_permits(), g.admitted.available_permits()), (1, 1));
        assert!(g.verify("p".into(), "h".into()).await.is_ok(), "usable after the panic");
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_leaves_the_queue_but_running_work_keeps_its_slot() {
        let g = gate(1, 1, LONG);
        let Held { task: running, release, started } = held_work(&g);
        started.await.expect("runs");
        // Its caller goes away while the work runs: the slot stays taken until the work ends.
        running.abort();
        assert!(running.await.expect_err("aborted").is_cancelled());
        assert_eq!(g.running.available_permits(), 0, "the work still runs");
        // A waiter goes away: its place in the queue is free at once.
        let g2 = g.clone();
        let waiter = tokio::spawn(async move { g2.verify("p".into(), "h".into()).await });
        until(|| g.admitted.available_permits() == 0).await;
        waiter.abort();
        assert!(waiter.await.expect_err("aborted").is_cancelled());
        assert_eq!(g.admitted.available_permits(), 1, "the waiter's place is free");
        // The work ends: everything is free.
        release.send(()).expect("the work waits");
        until(|| g.running.available_permits() == 1 && g.admitted.available_permits() == 2).await;
    }
}

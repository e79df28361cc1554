//! The threads password work runs on: a fixed set, one per slot of the gate, each with its own
//! argon2 [`Memory`], started when the first piece of work arrives and ended when the gate is
//! dropped.
//!
//! Why not tokio's blocking pool: memory. Password work should hold one 19 MiB block per slot,
//! whatever the allocator does, so each thread keeps one block and reuses it. Tokio's pool starts
//! a new thread whenever none is idle at that instant, which is the case each time a finished
//! check hands its slot to the next one, so the threads, and the blocks, would follow the load,
//! not the slots. (Letting argon2 allocate per call on the pool's threads, as before, left about
//! 380 MiB behind a burst of 120 wrong logins through 2 slots: glibc keeps freed blocks of that
//! size in a per-thread arena.)

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use parking_lot::Mutex;

use super::argon2id::Memory;

/// A piece of work, run with its thread's argon2 memory; it answers its caller itself.
pub type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The worker threads (see the module doc).
#[derive(Debug)]
pub struct Workers {
    count: usize,
    /// Where jobs go, once the threads are started.
    jobs: Mutex<Option<Sender<Job>>>,
}

impl Workers {
    /// `count` threads, not started yet.
    pub fn new(count: usize) -> Self {
        Self { count: count.max(1), jobs: Mutex::new(None) }
    }

    /// Hands `job` to a thread, starting the threads first if they are not running. The caller
    /// keeps the jobs in flight to at most `count` (the gate's slots), so a job never waits for
    /// a thread.
    pub fn submit(&self, job: Job) -> Result<(), String> {
        let mut jobs = self.jobs.lock();
        if jobs.is_none() {
            *jobs = Some(self.start()?);
        }
        match jobs.as_ref().map(|tx| tx.send(job)) {
            Some(Ok(())) => Ok(()),
            // Every thread is gone (none exits while the sender lives): start afresh next time.
            _ => {
                *jobs = None;
                Err("the password threads are gone".into())
            }
        }
    }

    fn start(&self) -> Result<Sender<Job>, String> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..self.count {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || work(&rx))
                .map_err(|e| format!("cannot start a password thread: {e}"))?;
        }
        Ok(tx)
    }
}

/// A worker's life: the next job, until the gate is dropped.
fn work(jobs: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        let Ok(job) = jobs.lock().recv() else {
            return;
        };
        // A job that panics must not take its thread with it: the slot it held was freed as it
        // unwound, and the next job needs a thread. Its caller hears of it through its dropped
        // answer; the panic hook has logged it. The memory is only ever overwritten, so a job
        // that stopped half way leaves nothing the next one reads.
        let _ = catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}

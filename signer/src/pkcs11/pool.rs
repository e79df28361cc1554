//! The signer actor: a pool of OS threads, each holding its own logged-in R/W session, fed by
//! one bounded queue.
//!
//! PKCS#11 calls block, so they run on these threads and never on an async worker; a request
//! travels over the bounded channel and its answer comes back through a oneshot (or, for the
//! blocking admin calls, a one-slot channel). A full queue refuses new requests at once with
//! `SignError::Busy` rather than letting latency grow without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use cryptoki::context::Pkcs11;
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use parking_lot::Mutex;
use tessera_core::model::SigningAlg;
use tessera_core::signer::{SignError, SignerFuture};
use tokio::sync::oneshot;

use super::library::{ck, open_session, session_lost};
use super::mechanism::sign_mechanism;

type RunFn = Box<dyn FnOnce(Result<&Session, SignError>) + Send>;

pub(super) enum Job {
    /// The hot path, without a boxed closure.
    Sign {
        handle: ObjectHandle,
        alg: SigningAlg,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, SignError>>,
    },
    /// Anything else (generate, load, destroy, attribute reads).
    Run(RunFn),
}

pub(super) struct Pool {
    tx: Option<SyncSender<Job>>,
    threads: Vec<JoinHandle<()>>,
    capacity: usize,
    /// Jobs submitted and not yet taken by a worker: the queue's depth, for the metrics.
    queued: Arc<AtomicUsize>,
}

impl Pool {
    /// Opens `sessions` logged-in sessions and starts a thread for each. The sessions are
    /// opened here rather than in the threads so that a wrong PIN or a missing token fails
    /// with its reason; `Session` is `Send`, so each moves to its thread.
    pub(super) fn start(
        pkcs11: &Pkcs11,
        slot: Slot,
        pin: AuthPin,
        sessions: usize,
        capacity: usize,
    ) -> Result<Self, SignError> {
        let pin = Arc::new(pin);
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let queued = Arc::new(AtomicUsize::new(0));
        let mut pool = Pool {
            tx: Some(tx),
            threads: Vec::with_capacity(sessions),
            capacity,
            queued: Arc::clone(&queued),
        };
        for i in 0..sessions {
            let session = open_session(pkcs11, slot, &pin)?;
            let worker = Worker {
                pkcs11: pkcs11.clone(),
                slot,
                pin: Arc::clone(&pin),
                session: Some(session),
                lost: String::new(),
            };
            let (rx, queued) = (Arc::clone(&rx), Arc::clone(&queued));
            let thread = std::thread::Builder::new()
                .name(format!("tessera-pkcs11-{i}"))
                .spawn(move || worker.run(&rx, &queued))
                .map_err(|e| SignError::Backend(format!("cannot start PKCS#11 thread: {e}")))?;
            pool.threads.push(thread);
        }
        Ok(pool)
    }

    /// Number of sessions (threads).
    pub(super) fn sessions(&self) -> usize {
        self.threads.len()
    }

    /// Jobs waiting for a worker.
    pub(super) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    pub(super) fn submit(&self, job: Job) -> Result<(), SignError> {
        let tx = self.tx.as_ref().ok_or(SignError::Closed)?;
        // Counted before the send, so a worker's decrement never comes first.
        self.queued.fetch_add(1, Ordering::Relaxed);
        tx.try_send(job).map_err(|e| {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            match e {
                TrySendError::Full(_) => {
                    SignError::Busy(format!("{} PKCS#11 requests already waiting", self.capacity))
                }
                TrySendError::Disconnected(_) => SignError::Closed,
            }
        })
    }

    /// Signs `data` (already prepared for the mechanism) with the private key `handle`.
    pub(super) fn sign(&self, handle: ObjectHandle, alg: SigningAlg, data: Vec<u8>) -> SignerFuture<Vec<u8>> {
        let (reply, answer) = oneshot::channel();
        if let Err(e) = self.submit(Job::Sign { handle, alg, data, reply }) {
            return Box::pin(std::future::ready(Err(e)));
        }
        Box::pin(async move { answer.await.unwrap_or(Err(SignError::Closed)) })
    }

    /// Runs `f` on a session; the future resolves with its answer.
    pub(super) fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(Result<&Session, SignError>) -> Result<T, SignError> + Send + 'static,
    ) -> SignerFuture<T> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Run(Box::new(move |session| {
            let _ = reply.send(f(session));
        }));
        if let Err(e) = self.submit(job) {
            return Box::pin(std::future::ready(Err(e)));
        }
        Box::pin(async move { answer.await.unwrap_or(Err(SignError::Closed)) })
    }

    /// Runs `f` on a session and waits for its answer on this thread.
    pub(super) fn run_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(Result<&Session, SignError>) -> Result<T, SignError> + Send + 'static,
    ) -> Result<T, SignError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(Job::Run(Box::new(move |session| {
            let _ = reply.send(f(session));
        })))?;
        answer.recv().unwrap_or(Err(SignError::Closed))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the channel ends each worker's loop once the queue is drained.
        self.tx = None;
        for thread in self.threads.drain(..) {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

struct Worker {
    pkcs11: Pkcs11,
    slot: Slot,
    pin: Arc<AuthPin>,
    session: Option<Session>,
    /// Why the session was lost, for the errors of requests until it is back.
    lost: String,
}

impl Worker {
    fn run(mut self, rx: &Mutex<Receiver<Job>>, queued: &AtomicUsize) {
        loop {
            // The lock is held only while waiting: whichever idle worker holds it takes the
            // next job and releases it, so jobs spread over all sessions. (A separate statement
            // on purpose: in `while let`, the guard would live through the job and serialise
            // every session.)
            let next = rx.lock().recv();
            let Ok(job) = next else { return };
            queued.fetch_sub(1, Ordering::Relaxed);
            match job {
                Job::Sign { handle, alg, data, reply } => {
                    let result = match self.session() {
                        Ok(session) => session.sign(&sign_mechanism(alg), handle, &data),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                            continue;
                        }
                    };
                    let result = result.map_err(|e| {
                        if session_lost(&e) {
                            self.lost = e.to_string();
                            self.session = None;
                        }
                        ck("C_Sign")(e)
                    });
                    let _ = reply.send(result);
                }
                Job::Run(f) => f(self.session()),
            }
        }
    }

    /// The session, reopened and logged in again if it was lost (token reset, HSM failover).
    fn session(&mut self) -> Result<&Session, SignError> {
        if self.session.is_none() {
            match open_session(&self.pkcs11, self.slot, &self.pin) {
                Ok(s) => self.session = Some(s),
                Err(e) => return Err(SignError::Backend(format!("{e} (session lost after: {})", self.lost))),
            }
        }
        self.session.as_ref().ok_or(SignError::Closed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::Pkcs11Signer;

    // Two jobs that each wait for the other to start: they finish only if two sessions run
    // them at once (a pool that serialised its sessions would time out here).
    crate::softhsm_test!(fn sessions_run_jobs_in_parallel(env) {
        let signer = Pkcs11Signer::new(env.config(2)).unwrap();
        let (started_a, wait_a) = mpsc::channel();
        let (started_b, wait_b) = mpsc::channel();
        let (done, finished) = mpsc::channel();
        for (tell, wait) in [(started_a, wait_b), (started_b, wait_a)] {
            let done = done.clone();
            let job = Job::Run(Box::new(move |session| {
                assert!(session.is_ok());
                tell.send(()).unwrap();
                done.send(wait.recv_timeout(std::time::Duration::from_secs(20)).is_ok()).unwrap();
            }));
            signer.pool.submit(job).unwrap();
        }
        assert!(finished.recv().unwrap() && finished.recv().unwrap(), "jobs ran one after the other");
    });
}

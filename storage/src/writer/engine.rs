//! The commit engine: takes queued requests in rounds (up to [`Limits`]), applies them in order
//! to one batch, persists once, and completes every waiter of the round; holds back writes to a
//! tenant being deleted; poisons the store when a commit or fsync fails. What each write does
//! is the business of the transaction modules it calls.
//!
//! Audit events are the one write that does not ask for an fsync: a round of nothing but
//! events commits its batch (visible to reads) without persisting, and their waiters complete
//! with the next round that persists, or after `Limits::event_durable_within`, when the writer
//! persists for them alone. So events share the fsyncs of the writes around them and never
//! add one to a request path, and a flood of them costs at most one fsync a second.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Instant;

use fjall::PersistMode;
use tessera_core::store::StoreError;

use super::deletion::{Deletion, delete_chunk};
use super::round::Round;
use super::{
    Done, Limits, Refusable, Request, WriteOp, events, expiry, grants, links, request_bytes, roles, sessions,
    tenancy, users,
};
use crate::state::{Shared, io};

/// The writer thread's state.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    rx: Receiver<Request>,
    limits: Limits,
    deletions: Vec<Deletion>,
    /// Writes to tenants being deleted, held back (in order) until the deletion is done, so a
    /// write submitted after `delete_tenant` is not deleted by it.
    deferred: VecDeque<(WriteOp, Done)>,
    /// Waiters of events applied but not yet covered by an fsync, and when the first of them
    /// was applied.
    lazy: Vec<Done>,
    lazy_since: Option<Instant>,
    /// Set once the writer is closing: events then get their fsync without waiting.
    closing: bool,
}

impl Writer {
    pub(crate) fn new(shared: Arc<Shared>, rx: Receiver<Request>, limits: Limits) -> Self {
        Self {
            shared,
            rx,
            limits,
            deletions: Vec::new(),
            deferred: VecDeque::new(),
            lazy: Vec::new(),
            lazy_since: None,
            closing: false,
        }
    }

    /// Runs rounds until closed (or every sender is gone) and all work is finished.
    pub(crate) fn run(mut self) {
        let mut closing = false;
        loop {
            let mut requests = self.ready_deferred();
            if !closing {
                closing = self.receive(&mut requests);
            }
            if closing && requests.is_empty() && self.deletions.is_empty() && self.deferred.is_empty() {
                // Events still waiting for an fsync get theirs before the writer stops.
                if !self.lazy.is_empty() {
                    self.closing = true;
                    self.round(VecDeque::new());
                }
                return;
            }
            self.round(requests);
        }
    }

    /// Deferred writes whose tenant is no longer being deleted, oldest first: they go before
    /// anything received later.
    fn ready_deferred(&mut self) -> VecDeque<Request> {
        let mut ready = VecDeque::new();
        let mut still = VecDeque::new();
        for (op, done) in self.deferred.drain(..) {
            let blocked = op.tenant().is_some_and(|t| self.deletions.iter().any(|d| *d.tenant == *t));
            if blocked {
                still.push_back((op, done));
            } else {
                ready.push_back(Request::Write { op, done });
            }
        }
        self.deferred = still;
        ready
    }

    /// Takes what is queued, up to the round's limits; blocks for the first request only when
    /// there is nothing else to do. Returns whether the writer should close.
    fn receive(&mut self, requests: &mut VecDeque<Request>) -> bool {
        if requests.is_empty() && self.deletions.is_empty() {
            // With events waiting for an fsync, wait no longer than they may.
            let first = match self.lazy_since {
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(since) => {
                    self.rx.recv_timeout(self.limits.event_durable_within.saturating_sub(since.elapsed()))
                }
            };
            match first {
                Ok(Request::Close) | Err(RecvTimeoutError::Disconnected) => return true,
                // Their time is up: an empty round persists them.
                Err(RecvTimeoutError::Timeout) => return false,
                Ok(request) => requests.push_back(request),
            }
        }
        let mut bytes: usize = requests.iter().map(request_bytes).sum();
        while requests.len() < self.limits.max_batch_writes && bytes < self.limits.max_batch_bytes {
            match self.rx.try_recv() {
                Ok(Request::Close) | Err(TryRecvError::Disconnected) => return true,
                Ok(request) => {
                    bytes += request_bytes(&request);
                    requests.push_back(request);
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        false
    }

    fn round(&mut self, mut requests: VecDeque<Request>) {
        let shared = Arc::clone(&self.shared);
        if shared.is_poisoned() {
            self.fail_everything(requests);
            return;
        }
        let began = std::time::Instant::now();
        let mut round = Round::new(&shared);
        let applied = self
            .apply(&mut round, &mut requests)
            .and_then(|()| self.delete_chunks(&mut round))
            .and_then(|()| round.flush());
        if applied.is_ok() && !round.lazy.is_empty() {
            self.lazy_since.get_or_insert(began);
            self.lazy.append(&mut round.lazy);
        }
        let lazy_due = self.closing
            || self.lazy_since.is_some_and(|since| since.elapsed() >= self.limits.event_durable_within);
        let persists = !round.durable.is_empty() || (lazy_due && !self.lazy.is_empty());
        let durable = applied.and_then(|()| if persists { self.persist() } else { Ok(()) });
        match durable {
            Ok(()) => {
                round.announce();
                if persists {
                    // Events applied in this or earlier rounds are covered by this fsync too;
                    // completed first, so whoever's write shared the fsync finds them done.
                    let mut covered = std::mem::take(&mut self.lazy);
                    covered.append(&mut round.durable);
                    round.durable = covered;
                    self.lazy_since = None;
                }
                shared.count_committed(round.durable.len());
                if !round.durable.is_empty() {
                    shared.stats.committed(round.durable.len(), began.elapsed());
                }
                for done in round.durable {
                    // A caller that dropped its `Commit` no longer listens; nothing to do.
                    let _ = done.send(Ok(()));
                }
                for (done, n) in round.expired {
                    let _ = done.send(n);
                }
            }
            Err(err) => {
                shared.poison(&err);
                for done in round.durable.into_iter().chain(round.lazy) {
                    let _ = done.send(Err(StoreError::Poisoned));
                }
                // Dropping the sweeper's senders tells it the round failed.
                drop(round.expired);
                self.fail_everything(requests);
            }
        }
    }

    /// Applies requests in order until one fails; what is left in `requests` was not applied.
    fn apply(&mut self, round: &mut Round<'_>, requests: &mut VecDeque<Request>) -> Result<(), StoreError> {
        while let Some(request) = requests.pop_front() {
            match request {
                Request::Close => {}
                Request::Expire { index_keys, now, done } => {
                    let handled = index_keys.len();
                    expiry::expire(round, &index_keys, now)?;
                    round.expired.push((done, handled));
                }
                Request::PruneEvents { keys, done } => {
                    events::prune(round, &keys);
                    round.expired.push((done, keys.len()));
                }
                Request::Write { op, done } => {
                    if self.is_blocked(&op) {
                        self.deferred.push_back((op, done));
                        continue;
                    }
                    match op {
                        WriteOp::Put { space, key, value, exp } => {
                            round.put(space, key, value, exp);
                            round.durable.push(done);
                        }
                        WriteOp::Delete { space, key } => {
                            round.delete(space, key);
                            round.durable.push(done);
                        }
                        WriteOp::DeleteTenant { tenant } => {
                            // The deletion's scans must see every write queued before it.
                            if let Err(err) = round.flush() {
                                let _ = done.send(Err(StoreError::Poisoned));
                                return Err(err);
                            }
                            self.shared.begin_delete(&tenant);
                            // Completed when its last chunk is durable, not with this round.
                            self.deletions.push(Deletion { tenant, stage: 0, waiters: vec![done] });
                        }
                        WriteOp::PutUser { key, value, user } => {
                            let outcome = users::put_user(round, key, value, &user);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::DeleteUser { key } => {
                            let outcome = users::delete_user(round, key);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::DeleteClient { key } => {
                            let outcome = users::delete_client(round, key);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::PutConsent { key, value } => {
                            let outcome = users::put_consent(round, key, value);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::TakeCode { key, outcome } => {
                            let now = self.shared.now();
                            // Every outcome waits for the round's fsync: a `Fresh` must not be
                            // acted on before its used mark is durable, and a `Replayed` may
                            // rest on a mark written earlier in this very round.
                            let taken = grants::take_code(round, key, now, outcome);
                            settle(round, done, taken)?;
                        }
                        WriteOp::UseAssertion { key, value, exp, outcome } => {
                            let now = self.shared.now();
                            // As for codes: a first use must be durable before it is acted on.
                            let used = grants::use_assertion(round, (key, value, exp), now, outcome);
                            settle(round, done, used)?;
                        }
                        WriteOp::CreateLink { key, value, entry, outcome } => {
                            // An existing link waits for the fsync too: it may have been
                            // created earlier in this very round.
                            let created = links::create_link(round, (key, value, entry), outcome);
                            settle(round, done, created)?;
                        }
                        WriteOp::DeleteLink { key } => {
                            let outcome = links::delete_link(round, key);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::PutRefresh { key, value, token } => {
                            let outcome = grants::put_refresh(round, key, value, &token);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::UseRefresh(use_) => {
                            // As for codes, every outcome waits for the round's fsync: a rotation
                            // or a revocation must be durable before the caller acts on it.
                            let used = grants::use_refresh(round, *use_);
                            settle(round, done, used)?;
                        }
                        WriteOp::RevokeFamily { key, tenant, family, until } => {
                            let now = self.shared.now();
                            let outcome = grants::revoke_family(round, key, (&tenant, &family), until, now);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::RevokeFamiliesOfUser { prefix, tenant, sub, until } => {
                            let now = self.shared.now();
                            let outcome =
                                grants::revoke_families_of_user(round, &prefix, (&tenant, &sub), until, now);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::PutSession { key, value, entry, exp } => {
                            let outcome = sessions::put_session(round, (key, value, exp), entry);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::DeleteSession { key } => {
                            let outcome = sessions::delete_session(round, key);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::EndSessionsOfUser { prefix, user } => {
                            let outcome = sessions::end_sessions_of_user(round, &prefix, &user);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::Create { space, key, value } => {
                            let outcome = tenancy::create(round, space, key, value);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::RotateKey(rotate) => {
                            let outcome = tenancy::rotate_key(round, *rotate);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::PutRole(put) => {
                            let outcome = roles::put_role(round, *put);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::DeleteRole { key } => {
                            let outcome = roles::delete_role(round, key);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::Assign(assignment) => {
                            let outcome = roles::assign(round, *assignment);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::Replace { space, key, value } => {
                            let outcome = tenancy::replace(round, space, key, value);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::Unassign { grant, member } => {
                            let outcome = roles::unassign(round, grant, member);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::AppendEvent { key, value } => {
                            self.shared.event_dequeued();
                            match events::append(round, key, value) {
                                Ok(Ok(())) => round.lazy.push(done),
                                refused_or_failed => settle(round, done, refused_or_failed)?,
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn is_blocked(&self, op: &WriteOp) -> bool {
        let Some(tenant) = op.tenant() else {
            return false;
        };
        self.deletions.iter().any(|d| *d.tenant == *tenant)
            || self.deferred.iter().any(|(queued, _)| queued.tenant() == Some(tenant))
    }

    /// One chunk of every deletion in progress (all of them at once if too many writes wait
    /// behind them); finished deletions complete with this round's fsync.
    fn delete_chunks(&mut self, round: &mut Round<'_>) -> Result<(), StoreError> {
        let drain = self.deferred.len() > self.limits.max_deferred;
        let mut finished = Vec::new();
        for (i, deletion) in self.deletions.iter_mut().enumerate() {
            loop {
                let done = delete_chunk(round, deletion, self.limits.delete_chunk_records)?;
                if done {
                    finished.push(i);
                    break;
                }
                if !drain {
                    break;
                }
            }
        }
        for i in finished.into_iter().rev() {
            let deletion = self.deletions.remove(i);
            self.shared.end_delete(&deletion.tenant);
            round.durable.extend(deletion.waiters);
        }
        Ok(())
    }

    fn persist(&self) -> Result<(), StoreError> {
        self.shared.count_persist();
        if self.shared.take_persist_failure() {
            return Err(StoreError::Io("injected persist failure".to_owned()));
        }
        self.shared.db.persist(PersistMode::SyncData).map_err(io)
    }

    /// After poisoning: nothing queued, deferred or in progress will ever be durable.
    fn fail_everything(&mut self, requests: VecDeque<Request>) {
        for request in requests {
            if let Request::Write { done, .. } = request {
                let _ = done.send(Err(StoreError::Poisoned));
            }
        }
        for (_, done) in self.deferred.drain(..) {
            let _ = done.send(Err(StoreError::Poisoned));
        }
        self.lazy_since = None;
        for done in self.lazy.drain(..) {
            let _ = done.send(Err(StoreError::Poisoned));
        }
        for deletion in self.deletions.drain(..) {
            self.shared.end_delete(&deletion.tenant);
            for done in deletion.waiters {
                let _ = done.send(Err(StoreError::Poisoned));
            }
        }
    }
}

/// Completes a user write: applied ones wait for the round's fsync, refused ones (a conflict, a
/// corrupt record in the way) are answered now, and a failure of the store itself fails the
/// round.
fn settle(round: &mut Round<'_>, done: Done, outcome: Refusable<()>) -> Result<(), StoreError> {
    match outcome {
        Ok(Ok(())) => round.durable.push(done),
        Ok(Err(refused)) => {
            let _ = done.send(Err(refused));
        }
        Err(err) => {
            let _ = done.send(Err(StoreError::Poisoned));
            return Err(err);
        }
    }
    Ok(())
}

//! The shards' memory against a store that counts its reads and can hold them: hits need no
//! read, misses of one digest share one, and no revocation, the shard's own or heard on the
//! feed, leaves a revoked token in memory, even when it races a fill.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use tessera_core::changes::Change;
use tessera_core::model::{OpaqueToken, Revocation};
use tessera_core::store::{Commit, Read, StoreError};
use tokio::sync::Semaphore;

use super::{Digest, ShardStore, Shards, TokenWrite};
use crate::util::now;

/// Tokens in a map, reads counted, and optionally held until the test lets them go.
#[derive(Default)]
struct Counting {
    tokens: Mutex<HashMap<(String, Digest), OpaqueToken>>,
    reads: AtomicUsize,
    gate: Mutex<Option<Arc<Semaphore>>>,
}

impl Counting {
    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    /// Holds every read until `open` is called on the returned gate.
    fn hold_reads(&self) -> Arc<Semaphore> {
        let gate = Arc::new(Semaphore::new(0));
        *self.gate.lock() = Some(Arc::clone(&gate));
        gate
    }

    /// Removes a token behind the shards' back, as another node sharing the store would.
    fn remove(&self, tenant: &str, digest: &Digest) {
        self.tokens.lock().remove(&(tenant.to_owned(), *digest));
    }
}

impl ShardStore for Counting {
    fn put_opaque_token(&self, digest: &Digest, token: &OpaqueToken) -> Commit {
        self.tokens.lock().insert((token.tenant.clone(), *digest), token.clone());
        Box::pin(async { Ok(()) })
    }

    fn opaque_token(&self, tenant: &str, digest: &Digest) -> Read<Option<OpaqueToken>> {
        // The answer is what the store holds when the read is made, as a database's would be.
        let found = self.tokens.lock().get(&(tenant.to_owned(), *digest)).cloned();
        // Counted once it has looked, so a test that waits for the count knows the read has
        // seen the store as it was.
        self.reads.fetch_add(1, Ordering::SeqCst);
        match self.gate.lock().clone() {
            None => Read::ready(Ok(found)),
            Some(gate) => Read::pending(async move {
                let _pass = gate.acquire().await.map_err(|_| StoreError::Closed)?;
                Ok(found)
            }),
        }
    }

    fn delete_opaque_token(&self, tenant: &str, digest: &Digest) -> Commit {
        self.remove(tenant, digest);
        Box::pin(async { Ok(()) })
    }

    fn put_revocation(&self, _: &Revocation) -> Commit {
        Box::pin(async { Ok(()) })
    }
}

fn token(tenant: &str, exp: i64) -> OpaqueToken {
    OpaqueToken {
        tenant: tenant.to_owned(),
        client_id: "rs".to_owned(),
        sub: "svc".to_owned(),
        scope: "read".to_owned(),
        jti: "j1".to_owned(),
        iat: now(),
        exp,
        roles: Vec::new(),
        permissions: Vec::new(),
        aud: None,
        extra_info: None,
        validator: None,
        audience: Vec::new(),
        act: None,
        dat: None,
        cls: Vec::new(),
        uip: None,
    }
}

fn start(store: &Arc<Counting>) -> Shards {
    Shards::start(2, Arc::clone(store) as Arc<dyn ShardStore>, 1_000).expect("the actors start")
}

async fn issue(shards: &Shards, tenant: &str, digest: Digest, record: OpaqueToken) {
    let write = TokenWrite::IssueOpaque { digest, record: Arc::new(record) };
    shards.write(tenant, &digest, write).await.expect("issued");
}

async fn lookup(shards: &Shards, tenant: &str, digest: &Digest) -> Option<OpaqueToken> {
    shards.opaque_token(tenant, digest).await.expect("looked up").map(|t| (*t).clone())
}

#[tokio::test]
async fn an_issued_token_is_answered_from_memory() {
    let store = Arc::new(Counting::default());
    let shards = start(&store);
    let record = token("acme", now() + 300);
    issue(&shards, "acme", [1; 32], record.clone()).await;
    for _ in 0..3 {
        assert_eq!(lookup(&shards, "acme", &[1; 32]).await, Some(record.clone()));
    }
    assert_eq!(store.reads(), 0, "stored by this node, so never read back");
    assert_eq!(lookup(&shards, "globex", &[1; 32]).await, None, "another tenant's token is not this one's");
}

#[tokio::test]
async fn a_miss_is_read_once_and_kept() {
    let store = Arc::new(Counting::default());
    let record = token("acme", now() + 300);
    ShardStore::put_opaque_token(&*store, &[2; 32], &record).await.expect("stored elsewhere");
    let shards = start(&store);
    assert_eq!(lookup(&shards, "acme", &[2; 32]).await, Some(record.clone()));
    assert_eq!(lookup(&shards, "acme", &[2; 32]).await, Some(record));
    assert_eq!(store.reads(), 1);
    // An unknown token is read each time (absence is not kept: random guesses must not evict
    // real tokens), and is absent each time.
    assert_eq!(lookup(&shards, "acme", &[3; 32]).await, None);
    assert_eq!(lookup(&shards, "acme", &[3; 32]).await, None);
    assert_eq!(store.reads(), 3);
}

#[tokio::test]
async fn lookups_waiting_for_one_digest_share_one_read() {
    let store = Arc::new(Counting::default());
    let record = token("acme", now() + 300);
    ShardStore::put_opaque_token(&*store, &[4; 32], &record).await.expect("stored elsewhere");
    let shards = Arc::new(start(&store));
    let gate = store.hold_reads();
    let lookups: Vec<_> = (0..16)
        .map(|_| {
            let shards = Arc::clone(&shards);
            tokio::spawn(async move { lookup(&shards, "acme", &[4; 32]).await })
        })
        .collect();
    // Every lookup reaches the shard before the read is let go: the store has been asked once.
    while store.reads() == 0 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    gate.add_permits(1);
    for lookup in lookups {
        assert_eq!(lookup.await.expect("joined"), Some(record.clone()));
    }
    assert_eq!(store.reads(), 1, "one read for sixteen lookups");
}

#[tokio::test]
async fn a_token_the_shard_revokes_is_forgotten() {
    let store = Arc::new(Counting::default());
    let shards = start(&store);
    issue(&shards, "acme", [5; 32], token("acme", now() + 300)).await;
    shards.write("acme", &[5; 32], TokenWrite::RevokeOpaque { digest: [5; 32] }).await.expect("revoked");
    assert_eq!(lookup(&shards, "acme", &[5; 32]).await, None);
}

#[tokio::test]
async fn a_revocation_heard_on_the_feed_is_forgotten() {
    let store = Arc::new(Counting::default());
    let shards = start(&store);
    let record = token("acme", now() + 300);
    issue(&shards, "acme", [6; 32], record.clone()).await;
    // Another node revokes it: the store no longer has it, but this node's memory does until
    // the change is heard. (This is the window the feed bounds.)
    store.remove("acme", &[6; 32]);
    assert_eq!(lookup(&shards, "acme", &[6; 32]).await, Some(record));
    shards.forgetter().revoked(&Change::opaque_token("acme", &[6; 32]));
    assert_eq!(lookup(&shards, "acme", &[6; 32]).await, None);
    // A change about another tenant's token of the same digest forgets nothing of this one's.
    issue(&shards, "acme", [7; 32], token("acme", now() + 300)).await;
    shards.forgetter().revoked(&Change::opaque_token("globex", &[7; 32]));
    let reads = store.reads();
    assert!(lookup(&shards, "acme", &[7; 32]).await.is_some());
    assert_eq!(store.reads(), reads);
}

#[tokio::test]
async fn a_fill_that_read_before_a_revocation_does_not_keep_the_token() {
    let store = Arc::new(Counting::default());
    let record = token("acme", now() + 300);
    ShardStore::put_opaque_token(&*store, &[8; 32], &record).await.expect("stored elsewhere");
    let shards = Arc::new(start(&store));
    let gate = store.hold_reads();
    let filling = {
        let shards = Arc::clone(&shards);
        tokio::spawn(async move { lookup(&shards, "acme", &[8; 32]).await })
    };
    while store.reads() == 0 {
        tokio::task::yield_now().await;
    }
    // The read has seen the token; now it is revoked and heard, before the read completes.
    store.remove("acme", &[8; 32]);
    shards.forgetter().revoked(&Change::opaque_token("acme", &[8; 32]));
    gate.add_permits(1);
    assert_eq!(filling.await.expect("joined"), Some(record), "answered with what it read");
    *store.gate.lock() = None;
    assert_eq!(lookup(&shards, "acme", &[8; 32]).await, None, "but did not keep it");
    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn a_resync_forgets_every_token() {
    let store = Arc::new(Counting::default());
    let shards = start(&store);
    for n in 0..4 {
        issue(&shards, "acme", [10 + n; 32], token("acme", now() + 300)).await;
        store.remove("acme", &[10 + n; 32]);
    }
    shards.forgetter().all();
    for n in 0..4 {
        assert_eq!(lookup(&shards, "acme", &[10 + n; 32]).await, None);
    }
}

#[tokio::test]
async fn an_expired_token_is_not_served_from_memory() {
    let store = Arc::new(Counting::default());
    let shards = start(&store);
    let record = token("acme", now() - 1);
    issue(&shards, "acme", [20; 32], record.clone()).await;
    // Not kept in memory: the lookup reads the store, which answers (the caller judges `exp`).
    assert_eq!(lookup(&shards, "acme", &[20; 32]).await, Some(record));
    assert_eq!(store.reads(), 1);
}

#[tokio::test]
async fn a_deleted_tenant_created_again_finds_nothing_of_the_old_one_in_memory() {
    let store = Arc::new(Counting::default());
    let shards = start(&store);
    issue(&shards, "acme", [21; 32], token("acme", now() + 300)).await;
    shards.remove("acme");
    store.remove("acme", &[21; 32]);
    assert_eq!(lookup(&shards, "acme", &[21; 32]).await, None);
}

//! What the PostgreSQL backend must do beyond the conformance suite: several handles (nodes)
//! on one database hear each other's changes, a lost feed connection is heard as a resync and
//! followed by recovery, nodes opening a fresh database together migrate it once, and a write
//! whose `Commit` is dropped (an audit event's, on a request path) is still made, and of
//! creates of one federated link racing on two nodes exactly one lands.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{TestDatabase, connect};
use parking_lot::Mutex;
use tessera_core::audit::EventQuery;
use tessera_core::changes::{Change, ChangeFeed, Notice};
use tessera_core::model::{
    Actor, AuditEvent, EventType, FederatedLink, Outcome, Tenant, TenantSettings, event_id,
};
use tessera_core::store::{EventStore, FederationStore, Store, TenantStore};
use tessera_storage_postgres::{PgOptions, PgStore};

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: id.to_owned(),
        display_name: format!("Tenant {id}"),
        settings: TenantSettings::default(),
        created_at: 1_700_000_000,
        apis: Vec::new(),
        identity_validators: Vec::new(),
        trusted_issuers: Vec::new(),
        idps: Vec::new(),
        direct_authz_token_digest: None,
        direct_authz_encryption: None,
    }
}

fn options() -> PgOptions {
    PgOptions { sweep_interval: None, poll_interval: Duration::from_millis(100), ..PgOptions::default() }
}

/// What a listener heard: `Some(change)` or `None` for a resync.
type Heard = Arc<Mutex<Vec<Option<Change>>>>;

fn listen(store: &PgStore) -> Heard {
    let heard: Heard = Arc::default();
    let sink = Arc::clone(&heard);
    store.subscribe(Arc::new(move |notice| {
        sink.lock().push(match notice {
            Notice::Changed(change) => Some(change.clone()),
            Notice::Resync => None,
        });
    }));
    heard
}

/// Waits up to two seconds for `heard` to hold something `wanted` accepts.
async fn wait_for(heard: &Heard, wanted: impl Fn(&Option<Change>) -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        if heard.lock().iter().any(&wanted) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn run(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(test);
}

#[test]
fn a_change_made_on_one_node_is_heard_on_the_other() {
    let database = TestDatabase::new();
    run(async {
        let a = PgStore::open(&database.url, options()).await.unwrap();
        let b = PgStore::open(&database.url, options()).await.unwrap();
        let heard_on_b = listen(&b);
        // Let b's follower take its place in the feed before the write.
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.create_tenant(&tenant("acme")).await.unwrap();
        assert!(
            wait_for(&heard_on_b, |h| *h == Some(Change::tenant("acme"))).await,
            "{:?}",
            heard_on_b.lock()
        );
        assert!(b.tenant("acme").await.unwrap().is_some(), "heard means readable");
    });
}

#[test]
fn a_copy_another_node_cached_is_dropped_when_the_record_changes() {
    let database = TestDatabase::new();
    run(async {
        let a = PgStore::open(&database.url, options()).await.unwrap();
        let b = PgStore::open(&database.url, options()).await.unwrap();
        a.create_tenant(&tenant("acme")).await.unwrap();
        // b reads, and so keeps a copy.
        assert_eq!(b.tenant("acme").await.unwrap().unwrap().display_name, "Tenant acme");
        let renamed = Tenant { display_name: "Acme Renamed".into(), ..tenant("acme") };
        a.put_tenant(&renamed).await.unwrap();
        let start = Instant::now();
        loop {
            let seen = b.tenant("acme").await.unwrap().unwrap().display_name.clone();
            if seen == "Acme Renamed" {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "b kept its stale copy: {seen}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Deleted on a: gone on b too.
        a.delete_tenant("acme").await.unwrap();
        let start = Instant::now();
        while b.tenant("acme").await.unwrap().is_some() {
            assert!(start.elapsed() < Duration::from_secs(10), "b kept a deleted tenant");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

#[test]
fn the_exclusive_section_is_held_by_one_node_at_a_time() {
    let database = TestDatabase::new();
    run(async {
        let a = Arc::new(PgStore::open(&database.url, options()).await.unwrap());
        let b = Arc::new(PgStore::open(&database.url, options()).await.unwrap());
        let held = a.exclusive().await.unwrap();
        let entered = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let waiting = {
            let (b, entered) = (Arc::clone(&b), Arc::clone(&entered));
            tokio::spawn(async move {
                let guard = b.exclusive().await.unwrap();
                entered.store(true, std::sync::atomic::Ordering::SeqCst);
                guard
            })
        };
        // However long this sleep turns out, b cannot have entered while a holds it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!entered.load(std::sync::atomic::Ordering::SeqCst), "b entered while a held the section");
        drop(held);
        let guard = tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap();
        assert!(entered.load(std::sync::atomic::Ordering::SeqCst));
        drop(guard);
        // Released on drop, and the connection that held it went back usable: a enters again.
        tokio::time::timeout(Duration::from_secs(10), a.exclusive()).await.unwrap().unwrap();
    });
}

#[test]
fn a_lost_feed_connection_is_a_resync_and_the_feed_recovers() {
    let database = TestDatabase::new();
    run(async {
        let a = PgStore::open(&database.url, options()).await.unwrap();
        let b = PgStore::open(&database.url, options()).await.unwrap();
        let heard_on_a = listen(&a);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let admin = connect(&database.config()).await;
        let killed = admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'tessera-change-feed'",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(killed, 2, "both nodes' feed connections");
        assert!(wait_for(&heard_on_a, Option::is_none).await, "a resync: {:?}", heard_on_a.lock());
        let start = Instant::now();
        while !a.is_writable() && start.elapsed() < Duration::from_secs(3) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(a.is_writable(), "the follower is back");
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.create_tenant(&tenant("globex")).await.unwrap();
        assert!(
            wait_for(&heard_on_a, |h| *h == Some(Change::tenant("globex"))).await,
            "{:?}",
            heard_on_a.lock()
        );
    });
}

#[test]
fn nodes_opening_a_fresh_database_together_migrate_it_once() {
    let database = TestDatabase::new();
    run(async {
        let opens = (0..4).map(|_| PgStore::open(&database.url, options()));
        let stores = futures_util::future::join_all(opens).await;
        assert!(stores.iter().all(Result::is_ok), "every node opens");
        let admin = connect(&database.config()).await;
        let row = admin
            .query_one("SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_migrations", &[])
            .await
            .unwrap();
        let (rows, distinct, newest): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert!(newest >= 2, "every migration applied, lockouts' included: {newest}");
        assert_eq!((rows, distinct), (newest, newest), "each migration applied once");
    });
}

#[test]
fn an_event_whose_commit_is_dropped_is_still_written() {
    let database = TestDatabase::new();
    run(async {
        let store = PgStore::open(&database.url, options()).await.unwrap();
        store.create_tenant(&tenant("acme")).await.unwrap();
        let event = AuditEvent {
            id: event_id(1_700_000_000_000, [7; 10]),
            tenant: "acme".into(),
            at: 1_700_000_000,
            kind: EventType::AdminChange,
            actor: Actor::AdminKey,
            action: "POST".into(),
            target: "users".into(),
            source: None,
            outcome: Outcome::Success,
            reason: None,
        };
        drop(store.append_event(&event).unwrap());
        let query = EventQuery { limit: 10, ..EventQuery::default() };
        let start = Instant::now();
        while store.list_events("acme", &query).await.unwrap().events.is_empty() {
            assert!(start.elapsed() < Duration::from_secs(2), "the event was never written");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

#[test]
fn a_case_url_names_the_cases_database() {
    assert_eq!(
        common::case_url("postgres://u@127.0.0.1:5432/postgres", "c1"),
        "postgres://u@127.0.0.1:5432/c1"
    );
    assert_eq!(
        common::case_url("postgres://u@h:1/postgres?sslmode=disable", "c1"),
        "postgres://u@h:1/c1?sslmode=disable"
    );
    assert_eq!(common::case_url("postgres://u@h:1", "c1"), "postgres://u@h:1/c1");
    assert_eq!(common::case_url("host=h user=u", "c1"), "host=h user=u dbname=c1");
}

#[test]
fn of_creates_of_one_federated_link_on_two_nodes_exactly_one_lands() {
    let database = TestDatabase::new();
    run(async {
        let nodes = [
            Arc::new(PgStore::open(&database.url, options()).await.unwrap()),
            Arc::new(PgStore::open(&database.url, options()).await.unwrap()),
        ];
        for round in 0..4 {
            let subject = format!("racer-{round}");
            let creates: Vec<_> = (0..16)
                .map(|n| {
                    let node = Arc::clone(&nodes[n % 2]);
                    let link = FederatedLink {
                        tenant: "acme".into(),
                        idp: "AAAAAAAAAAAAAAAAAAAAAA".into(),
                        subject: subject.clone(),
                        user_id: format!("r{round}u{n}"),
                        created_at: 1_700_000_000,
                    };
                    tokio::spawn(async move { node.create_federated_link(&link).await })
                })
                .collect();
            let mut outcomes = Vec::new();
            for created in creates {
                outcomes.push(created.await.unwrap().unwrap());
            }
            assert_eq!(outcomes.iter().filter(|o| o.is_none()).count(), 1, "round {round}: {outcomes:?}");
            for node in &nodes {
                let winner = node.federated_link("acme", "AAAAAAAAAAAAAAAAAAAAAA", &subject).await.unwrap();
                let winner = winner.expect("the winner is stored");
                assert!(outcomes.iter().flatten().all(|o| *o == winner), "round {round}: {outcomes:?}");
            }
        }
    });
}

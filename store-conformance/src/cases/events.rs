//! Audit events (`EventStore`): appended without waiting and durable once their commit
//! resolves; listed newest first with the type, actor and time filters of
//! `EventQuery::matches`; a walk of pages meets each event stored before it began exactly once;
//! events are per tenant, refused for a tenant that is not stored, deleted with their tenant,
//! and removed by the backend once older than the tenant's `audit_retention_days`, as the
//! setting reads when it sweeps.

use std::sync::atomic::{AtomicU8, Ordering};

use tessera_core::audit::{ActorFilter, EventPage, EventQuery};
use tessera_core::model::{Actor, AuditEvent, EventType, Outcome, UnixSecs, event_id};
use tessera_core::store::{EventStore, StoreError, TenantStore};

use crate::Harness;
use crate::fixtures::{ok, tenant};
use crate::harness::open_at;

/// Distinct random parts for events of one millisecond.
static SALT: AtomicU8 = AtomicU8::new(0);

fn event(tenant: &str, at_millis: i64, kind: EventType, actor: Actor) -> AuditEvent {
    let salt = SALT.fetch_add(1, Ordering::Relaxed);
    AuditEvent {
        id: event_id(at_millis, [salt; 10]),
        tenant: tenant.to_owned(),
        at: at_millis.div_euclid(1000),
        kind,
        actor,
        action: "POST".into(),
        target: "users".into(),
        source: Some("192.0.2.1".into()),
        outcome: Outcome::Success,
        reason: Some("201".into()),
    }
}

fn admin(tenant: &str, at_millis: i64) -> AuditEvent {
    event(tenant, at_millis, EventType::AdminChange, Actor::AdminKey)
}

async fn append<S: EventStore + ?Sized>(store: &S, event: &AuditEvent) {
    match store.append_event(event) {
        Ok(commit) => ok(commit, "append event").await,
        Err(e) => panic!("append refused: {e:?}"),
    }
}

async fn page<S: EventStore + ?Sized>(store: &S, tenant: &str, query: &EventQuery) -> EventPage {
    store.list_events(tenant, query).await.expect("list events")
}

fn ids(page: &EventPage) -> Vec<String> {
    page.events.iter().map(|e| e.id.clone()).collect()
}

fn all() -> EventQuery {
    EventQuery { limit: 200, ..EventQuery::default() }
}

pub(crate) async fn events_are_listed_newest_first_and_survive_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    let written: Vec<AuditEvent> =
        [5_000, 1_000, 3_000, 3_000, 9_000].iter().map(|ms| admin("acme", *ms)).collect();
    for e in &written {
        append(&*store, e).await;
    }
    let mut newest_first = written.clone();
    newest_first.sort_by(|a, b| b.id.cmp(&a.id));
    let listed = page(&*store, "acme", &all()).await;
    assert_eq!(listed.events, newest_first, "newest first, each as written");
    assert_eq!(listed.resume_below, None);
    let store = h.reopen(store);
    assert_eq!(page(&*store, "acme", &all()).await.events, newest_first, "durable once the commit resolved");
}

pub(crate) async fn filters_select_by_type_actor_and_time(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    let user = Actor::EndUser { sub: "u1".into() };
    let other_user = Actor::EndUser { sub: "u2".into() };
    let client = Actor::Client { client_id: "web".into() };
    let events = [
        event("acme", 10_000, EventType::LoginSuccess, user.clone()),
        event("acme", 20_000, EventType::LoginFailure, other_user.clone()),
        event("acme", 30_000, EventType::TokenFailure, client.clone()),
        event("acme", 40_000, EventType::LoginSuccess, other_user),
        event("acme", 50_000, EventType::AdminChange, Actor::AdminKey),
    ];
    for e in &events {
        append(&*store, e).await;
    }
    let found = async |q: EventQuery| -> Vec<UnixSecs> {
        page(&*store, "acme", &EventQuery { limit: 50, ..q }).await.events.iter().map(|e| e.at).collect()
    };
    let by_type = EventQuery { kind: Some(EventType::LoginSuccess), ..EventQuery::default() };
    assert_eq!(found(by_type).await, [40, 10]);
    let by_kind =
        EventQuery { actor: Some(ActorFilter { kind: "end_user", id: None }), ..EventQuery::default() };
    assert_eq!(found(by_kind).await, [40, 20, 10]);
    let by_id = EventQuery {
        actor: Some(ActorFilter { kind: "end_user", id: Some("u2".into()) }),
        ..EventQuery::default()
    };
    assert_eq!(found(by_id).await, [40, 20]);
    let client_named = EventQuery {
        actor: Some(ActorFilter { kind: "client", id: Some("web".into()) }),
        ..EventQuery::default()
    };
    assert_eq!(found(client_named).await, [30]);
    let range = EventQuery { since: Some(20), until: Some(40), ..EventQuery::default() };
    assert_eq!(found(range).await, [30, 20], "since inclusive, until exclusive");
    let both = EventQuery { kind: Some(EventType::LoginSuccess), since: Some(11), ..EventQuery::default() };
    assert_eq!(found(both).await, [40]);
    let none = EventQuery { kind: Some(EventType::RoleChange), ..EventQuery::default() };
    assert_eq!(found(none).await, Vec::<UnixSecs>::new());
}

pub(crate) async fn a_walk_of_pages_meets_each_event_once(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    let mut stored: Vec<String> = Vec::new();
    for i in 0..23 {
        let e = admin("acme", 100_000 + i * 10);
        append(&*store, &e).await;
        stored.push(e.id);
    }
    let mut met = Vec::new();
    let mut q = EventQuery { limit: 5, ..EventQuery::default() };
    for round in 0.. {
        assert!(round < 100, "the walk ends");
        let p = page(&*store, "acme", &q).await;
        assert!(p.events.len() <= 5);
        met.extend(ids(&p));
        // Newer events arriving meanwhile sort above the walk: it does not meet them.
        append(&*store, &admin("acme", 900_000 + round)).await;
        match p.resume_below {
            Some(below) => q.before = Some(below),
            None => break,
        }
    }
    stored.reverse();
    assert_eq!(met, stored, "each event once, newest first");
}

pub(crate) async fn events_are_per_tenant_and_need_a_stored_tenant(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    ok(store.create_tenant(&tenant("acme2")), "create tenant").await;
    let a = admin("acme", 5_000);
    let b = admin("acme2", 6_000);
    append(&*store, &a).await;
    append(&*store, &b).await;
    assert_eq!(ids(&page(&*store, "acme", &all()).await), std::slice::from_ref(&a.id));
    assert_eq!(ids(&page(&*store, "acme2", &all()).await), std::slice::from_ref(&b.id));
    assert!(page(&*store, "ghost", &all()).await.events.is_empty());
    // An event of a tenant that is not stored is dropped, never kept for a later tenant.
    let ghost = admin("ghost", 7_000);
    if let Ok(commit) = store.append_event(&ghost) {
        assert!(matches!(commit.await, Err(StoreError::Conflict(_))), "dropped with a conflict");
    }
    ok(store.create_tenant(&tenant("ghost")), "create tenant").await;
    assert!(page(&*store, "ghost", &all()).await.events.is_empty(), "a new tenant starts with no events");
    // An event that breaks its bounds is refused at once.
    let bad = AuditEvent { action: String::new(), ..admin("acme", 8_000) };
    assert!(store.append_event(&bad).is_err());
    let unknown = AuditEvent { id: "not-an-event-id".into(), ..admin("acme", 8_000) };
    assert!(store.append_event(&unknown).is_err());
}

pub(crate) async fn deleting_a_tenant_deletes_its_events(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    ok(store.create_tenant(&tenant("other")), "create tenant").await;
    for i in 0..10 {
        append(&*store, &admin("acme", 1_000 + i)).await;
    }
    let kept = admin("other", 2_000);
    append(&*store, &kept).await;
    ok(store.delete_tenant("acme"), "delete tenant").await;
    assert!(page(&*store, "acme", &all()).await.events.is_empty());
    ok(store.create_tenant(&tenant("acme")), "create tenant again").await;
    assert!(page(&*store, "acme", &all()).await.events.is_empty(), "the re-created tenant starts empty");
    let store = h.reopen(store);
    assert!(page(&*store, "acme", &all()).await.events.is_empty());
    assert_eq!(ids(&page(&*store, "other", &all()).await), [kept.id]);
}

const DAY: UnixSecs = 24 * 3600;

pub(crate) async fn events_leave_after_their_tenants_retention(h: &impl Harness) {
    let now = 1_800_000_000;
    let store = open_at(h, now);
    let mut short = tenant("short");
    short.settings.audit_retention_days = 2;
    ok(store.create_tenant(&short), "create tenant").await;
    ok(store.create_tenant(&tenant("long")), "create tenant").await;
    let old = admin("short", (now - 3 * DAY) * 1000);
    let recent = admin("short", (now - DAY) * 1000);
    let old_but_kept = admin("long", (now - 3 * DAY) * 1000);
    for e in [&old, &recent, &old_but_kept] {
        append(&*store, e).await;
    }
    h.expire(&store);
    assert_eq!(
        ids(&page(&*store, "short", &all()).await),
        std::slice::from_ref(&recent.id),
        "older than two days: gone"
    );
    assert_eq!(
        ids(&page(&*store, "long", &all()).await),
        std::slice::from_ref(&old_but_kept.id),
        "ninety days by default"
    );

    // A shorter retention applies to the events already stored, from the next sweep on.
    let mut long = tenant("long");
    long.settings.audit_retention_days = 1;
    ok(store.put_tenant(&long), "shorten retention").await;
    h.expire(&store);
    assert!(page(&*store, "long", &all()).await.events.is_empty());

    // Time passing does the same.
    h.set_now(now + 2 * DAY);
    h.expire(&store);
    assert!(page(&*store, "short", &all()).await.events.is_empty());
    let store = h.reopen(store);
    assert!(page(&*store, "short", &all()).await.events.is_empty(), "the removal is durable");
}

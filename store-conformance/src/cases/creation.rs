//! Creating tenants and clients (`TenantStore::create_tenant`, `ClientStore::create_client`): a
//! taken id is refused with `Conflict` and the stored record stays as it was; of concurrent
//! creates of one id exactly one wins; a client is created only in a tenant that is stored, so
//! a deleted tenant's client never comes back with a re-created tenant.

use std::sync::Arc;

use tessera_core::model::{Client, Tenant};
use tessera_core::store::{ClientStore, StoreError, TenantStore};

use crate::Harness;
use crate::fixtures::{client, is_conflict, ok, tenant};
use crate::harness::open_at;

fn named(id: &str, name: &str) -> Tenant {
    Tenant { display_name: name.to_owned(), ..tenant(id) }
}

fn client_named(t: &str, id: &str, name: &str) -> Client {
    Client { client_name: name.to_owned(), ..client(t, id) }
}

pub(crate) async fn a_taken_tenant_id_conflicts_and_changes_nothing(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&named("acme", "first")), "create tenant").await;
    let again = store.create_tenant(&named("acme", "second")).await;
    assert!(is_conflict(&again), "{again:?}");
    // A tenant stored by a plain put is taken too.
    ok(store.put_tenant(&named("globex", "put")), "put tenant").await;
    let over_put = store.create_tenant(&named("globex", "created")).await;
    assert!(is_conflict(&over_put), "{over_put:?}");
    assert_eq!(store.tenants().await, Ok(vec![named("acme", "first"), named("globex", "put")]));
    // An invalid id is refused as for a put, not reported as a conflict.
    let bad = store.create_tenant(&tenant("a/b")).await;
    assert!(matches!(bad, Err(StoreError::Corrupt { .. })), "{bad:?}");
    // Durable like any write, and still taken after reopening.
    let store = h.reopen(store);
    assert_eq!(store.tenant("acme").await.expect("read tenant").as_deref(), Some(&named("acme", "first")));
    assert!(is_conflict(&store.create_tenant(&named("acme", "third")).await));
}

pub(crate) async fn of_concurrent_tenant_creates_exactly_one_wins(h: &impl Harness) {
    let store = open_at(h, 1_000);
    for round in 0..5 {
        let id = format!("race{round}");
        let creates: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&store);
                let t = named(&id, &format!("n{i}"));
                tokio::spawn(async move { (store.create_tenant(&t).await, t) })
            })
            .collect();
        let mut winners = Vec::new();
        for create in creates {
            match create.await.expect("the create task ends") {
                (Ok(()), t) => winners.push(t),
                (Err(StoreError::Conflict(_)), _) => {}
                (Err(e), _) => panic!("round {round}: unexpected {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        // The stored tenant is the winner's, not one written over it.
        assert_eq!(
            store.tenant(&id).await.expect("read tenant").as_deref(),
            winners.first(),
            "round {round}"
        );
    }
}

pub(crate) async fn a_deleted_tenant_can_be_created_again_and_starts_empty(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&named("acme", "first")), "create tenant").await;
    ok(store.create_client(&client("acme", "web")), "create client").await;
    ok(store.delete_tenant("acme"), "delete tenant").await;
    ok(store.create_tenant(&named("acme", "second")), "re-create tenant").await;
    assert_eq!(store.tenant("acme").await.expect("read tenant").as_deref(), Some(&named("acme", "second")));
    assert_eq!(store.clients("acme").await, Ok(vec![]));
}

pub(crate) async fn a_taken_client_id_conflicts_and_changes_nothing(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    ok(store.create_tenant(&tenant("globex")), "create tenant").await;
    ok(store.create_client(&client_named("acme", "web", "first")), "create client").await;
    let again = store.create_client(&client_named("acme", "web", "second")).await;
    assert!(is_conflict(&again), "{again:?}");
    assert_eq!(store.clients("acme").await, Ok(vec![client_named("acme", "web", "first")]));
    // The id is per tenant.
    ok(store.create_client(&client_named("globex", "web", "other")), "same id, other tenant").await;
    assert_eq!(store.clients("globex").await, Ok(vec![client_named("globex", "web", "other")]));
    // A deleted client's id is free again.
    ok(store.delete_client("acme", "web"), "delete client").await;
    ok(store.create_client(&client_named("acme", "web", "third")), "create again").await;
    let store = h.reopen(store);
    let stored = store.client("acme", "web").await.expect("read client");
    assert_eq!(stored.as_deref(), Some(&client_named("acme", "web", "third")));
    assert!(is_conflict(&store.create_client(&client("acme", "web")).await));
}

pub(crate) async fn of_concurrent_client_creates_exactly_one_wins(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    for round in 0..5 {
        let id = format!("dup{round}");
        let creates: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&store);
                let c = client_named("acme", &id, &format!("n{i}"));
                tokio::spawn(async move { (store.create_client(&c).await, c) })
            })
            .collect();
        let mut winners = Vec::new();
        for create in creates {
            match create.await.expect("the create task ends") {
                (Ok(()), c) => winners.push(c),
                (Err(StoreError::Conflict(_)), _) => {}
                (Err(e), _) => panic!("round {round}: unexpected {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        assert_eq!(store.client("acme", &id).await.expect("read client").as_deref(), winners.first());
    }
    assert_eq!(store.clients("acme").await.map(|c| c.len()), Ok(5));
}

pub(crate) async fn a_client_needs_a_stored_tenant(h: &impl Harness) {
    let store = open_at(h, 1_000);
    // Never created.
    let orphan = store.create_client(&client("nobody", "web")).await;
    assert!(is_conflict(&orphan), "{orphan:?}");
    assert_eq!(store.clients("nobody").await, Ok(vec![]));
    // Deleted: before the client's create, or while it is in flight.
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    ok(store.delete_tenant("acme"), "delete tenant").await;
    let after = store.create_client(&client("acme", "late")).await;
    assert!(is_conflict(&after), "{after:?}");
    // A create racing the deletion lands before it (and goes with the tenant) or is refused.
    ok(store.create_tenant(&tenant("acme")), "re-create tenant").await;
    let deleted = store.delete_tenant("acme");
    let racing = store.create_client(&client("acme", "racing"));
    ok(deleted, "delete tenant").await;
    let racing = racing.await;
    assert!(racing.is_ok() || is_conflict(&racing), "{racing:?}");
    // A tenant of the same id created afterwards inherits none of them.
    ok(store.create_tenant(&tenant("acme")), "re-create tenant").await;
    assert_eq!(store.clients("acme").await, Ok(vec![]));
    assert_eq!(store.client("acme", "late").await, Ok(None));
    assert_eq!(store.client("acme", "racing").await, Ok(None));
    let store = h.reopen(store);
    assert_eq!(store.clients("acme").await, Ok(vec![]));
    assert_eq!(store.clients("nobody").await, Ok(vec![]));
}

//! Tenant deletion (`TenantStore::delete_tenant`): every kind of record of the tenant goes, and
//! nothing of any other tenant, even one whose id extends the deleted one's.

use tessera_core::store::TenantStore;

use crate::Harness;
use crate::cases::every_kind::{assert_present, assert_records_gone, fill};
use crate::fixtures::{ok, tenant};
use crate::harness::open_at;

pub(crate) async fn deleting_a_tenant_removes_every_kind_of_its_records(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    ok(store.delete_tenant("acme"), "delete tenant").await;
    assert_eq!(store.tenant("acme").await.expect("read tenant"), None);
    assert_eq!(store.tenants().await, Ok(vec![]));
    assert_records_gone(&*store, "acme").await;
}

pub(crate) async fn deleting_a_tenant_leaves_other_tenants_whole(h: &impl Harness) {
    let store = open_at(h, 1_000);
    // "acme2" and "acm" share a prefix with "acme", so a prefix deletion gone wrong shows.
    for t in ["acme", "acme2", "acm", "globex"] {
        fill(&*store, t).await;
    }
    ok(store.delete_tenant("acme"), "delete tenant").await;
    for t in ["acme2", "acm", "globex"] {
        assert_present(&*store, t).await;
    }
    assert_eq!(store.tenants().await, Ok(vec![tenant("acm"), tenant("acme2"), tenant("globex")]));
}

pub(crate) async fn a_recreated_tenant_starts_empty(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    ok(store.delete_tenant("acme"), "delete tenant").await;
    // The same id again: it inherits nothing of the deleted tenant, not even a taken name or a
    // revoked family.
    ok(store.put_tenant(&tenant("acme")), "re-create tenant").await;
    assert_eq!(store.tenant("acme").await.expect("read tenant").as_deref(), Some(&tenant("acme")));
    assert_records_gone(&*store, "acme").await;
}

//! This node's copies of the records every request reads (tenants, clients, a tenant's roles
//! and a subject's role assignments), so a token request makes no database round trip before
//! the work it stores. A copy is dropped when the change
//! feed says its record changed: this node's writes after their COMMIT, other nodes' when the
//! follower reads them (at once on NOTIFY, within the poll interval without), everything on a
//! resync, and everything when this node enters the exclusive section, whose read-modify-write
//! must start from the database's current record, not from a copy a notification has not yet
//! reached.
//!
//! A read that missed fills the cache only if no invalidation happened while it read (the
//! [`Caches::epoch`] it saw before reading is still current): otherwise a value read before a
//! write's COMMIT could be put back after that write's invalidation and outlive it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tessera_core::changes::{ChangeKind, Notice};
use tessera_core::model::{Client, Tenant};
use tessera_core::rbac::RoleSet;
use tessera_core::store::JwtStatus;

/// Tenants kept, at most.
const TENANTS: u64 = 10_000;
/// Clients kept, at most.
const CLIENTS: u64 = 100_000;
/// Subjects whose role assignments are kept, at most.
const ASSIGNMENTS: u64 = 100_000;
/// JWTs whose revocation status is kept, at most.
const JWT_STATUSES: u64 = 200_000;
/// How long a JWT's "not revoked" is kept: the feed's notice of its revocation drops it at
/// once; this bounds the copy's life should a notice ever be lost without a resync.
const JWT_STATUS_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// The copies, and the count of invalidations so far.
pub(crate) struct Caches {
    tenants: moka::sync::Cache<String, Arc<Tenant>>,
    /// Keyed `tenant \0 client_id`.
    clients: moka::sync::Cache<String, Arc<Client>>,
    /// A tenant's roles, by tenant.
    roles: moka::sync::Cache<String, Arc<RoleSet>>,
    /// Keyed `tenant \0 u|c \0 id`.
    assignments: moka::sync::Cache<String, Arc<Vec<String>>>,
    /// Keyed `tenant \0 jti`.
    jwt_statuses: moka::sync::Cache<String, JwtStatus>,
    epoch: AtomicU64,
}

impl Default for Caches {
    fn default() -> Self {
        Self {
            tenants: moka::sync::Cache::new(TENANTS),
            clients: moka::sync::Cache::new(CLIENTS),
            roles: moka::sync::Cache::new(TENANTS),
            assignments: moka::sync::Cache::new(ASSIGNMENTS),
            jwt_statuses: moka::sync::Cache::builder()
                .max_capacity(JWT_STATUSES)
                .time_to_live(JWT_STATUS_TTL)
                .build(),
            epoch: AtomicU64::new(0),
        }
    }
}

fn client_key(tenant: &str, client_id: &str) -> String {
    format!("{tenant}\0{client_id}")
}

/// The key of a subject's assignments: `kind` is `u` (a user) or `c` (a client).
pub(crate) fn subject_key(tenant: &str, kind: &str, id: &str) -> String {
    format!("{tenant}\0{kind}\0{id}")
}

impl Caches {
    /// The invalidation count, read before a database read that may fill the cache.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Puts `value` in `cache` unless an invalidation happened since `epoch` (the module doc).
    fn keep<V: Clone + Send + Sync + 'static>(
        &self,
        epoch: u64,
        cache: &moka::sync::Cache<String, V>,
        key: String,
        value: V,
    ) {
        if self.epoch() == epoch {
            cache.insert(key, value);
        }
    }

    /// This node's copy of a tenant.
    pub(crate) fn tenant(&self, id: &str) -> Option<Arc<Tenant>> {
        self.tenants.get(id)
    }

    /// Keeps `tenant`, read from the database since `epoch`, unless something changed meanwhile.
    pub(crate) fn fill_tenant(&self, epoch: u64, tenant: &Arc<Tenant>) {
        self.keep(epoch, &self.tenants, tenant.id.clone(), Arc::clone(tenant));
    }

    /// This node's copy of a client.
    pub(crate) fn client(&self, tenant: &str, client_id: &str) -> Option<Arc<Client>> {
        self.clients.get(&client_key(tenant, client_id))
    }

    /// Keeps `client`, read from the database since `epoch`, unless something changed meanwhile.
    pub(crate) fn fill_client(&self, epoch: u64, client: &Arc<Client>) {
        self.keep(epoch, &self.clients, client_key(&client.tenant, &client.client_id), Arc::clone(client));
    }

    /// This node's copy of a tenant's roles.
    pub(crate) fn roles(&self, tenant: &str) -> Option<Arc<RoleSet>> {
        self.roles.get(tenant)
    }

    /// Keeps `tenant`'s roles, read since `epoch`, unless something changed meanwhile.
    pub(crate) fn fill_roles(&self, epoch: u64, tenant: &str, roles: &Arc<RoleSet>) {
        self.keep(epoch, &self.roles, tenant.to_owned(), Arc::clone(roles));
    }

    /// This node's copy of a subject's assignments (`key` from [`subject_key`]).
    pub(crate) fn assignments(&self, key: &str) -> Option<Arc<Vec<String>>> {
        self.assignments.get(key)
    }

    /// Keeps a subject's assignments, read since `epoch`, unless something changed meanwhile.
    pub(crate) fn fill_assignments(&self, epoch: u64, key: String, ids: &Arc<Vec<String>>) {
        self.keep(epoch, &self.assignments, key, Arc::clone(ids));
    }

    /// This node's copy of a JWT's status (`key` from [`client_key`]'s form: `tenant \0 jti`).
    pub(crate) fn jwt_status(&self, tenant: &str, jti: &str) -> Option<JwtStatus> {
        self.jwt_statuses.get(&client_key(tenant, jti))
    }

    /// Keeps a JWT's status, read since `epoch`, unless something changed meanwhile.
    pub(crate) fn fill_jwt_status(&self, epoch: u64, tenant: &str, jti: &str, status: JwtStatus) {
        self.keep(epoch, &self.jwt_statuses, client_key(tenant, jti), status);
    }

    /// Drops every copy.
    pub(crate) fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.tenants.invalidate_all();
        self.clients.invalidate_all();
        self.roles.invalidate_all();
        self.assignments.invalidate_all();
        self.jwt_statuses.invalidate_all();
    }

    /// Drops what `notice` says may be stale.
    pub(crate) fn hear(&self, notice: &Notice<'_>) {
        match notice {
            Notice::Resync => self.clear(),
            Notice::Changed(change) => match change.kind {
                // A tenant's deletion takes everything of it; tenant changes are rare.
                ChangeKind::Tenant => self.clear(),
                // "A client, or the roles assigned to it".
                ChangeKind::Client => {
                    self.epoch.fetch_add(1, Ordering::SeqCst);
                    self.clients.invalidate(&client_key(&change.tenant, &change.id));
                    self.assignments.invalidate(&subject_key(&change.tenant, "c", &change.id));
                }
                ChangeKind::User => {
                    self.epoch.fetch_add(1, Ordering::SeqCst);
                    self.assignments.invalidate(&subject_key(&change.tenant, "u", &change.id));
                }
                ChangeKind::Revocation => {
                    self.epoch.fetch_add(1, Ordering::SeqCst);
                    self.jwt_statuses.invalidate(&client_key(&change.tenant, &change.id));
                }
                // A role's deletion takes its assignments with it: every subject's may change.
                ChangeKind::Role => {
                    self.epoch.fetch_add(1, Ordering::SeqCst);
                    self.roles.invalidate(&change.tenant);
                    self.assignments.invalidate_all();
                }
                _ => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use tessera_core::changes::Change;
    use tessera_core::model::TenantSettings;

    use super::*;

    fn tenant(id: &str) -> Arc<Tenant> {
        Arc::new(Tenant::new(id.into(), id.into(), TenantSettings::default(), 0))
    }

    #[test]
    fn a_fill_that_raced_an_invalidation_is_dropped() {
        let caches = Caches::default();
        let epoch = caches.epoch();
        caches.hear(&Notice::Changed(&Change::tenant("acme")));
        caches.fill_tenant(epoch, &tenant("acme"));
        assert!(caches.tenant("acme").is_none(), "read before the change, kept after it");
        caches.fill_tenant(caches.epoch(), &tenant("acme"));
        assert!(caches.tenant("acme").is_some());
        caches.hear(&Notice::Changed(&Change::tenant("acme")));
        assert!(caches.tenant("acme").is_none());
        caches.fill_tenant(caches.epoch(), &tenant("acme"));
        caches.hear(&Notice::Resync);
        assert!(caches.tenant("acme").is_none(), "a resync drops everything");
    }

    #[test]
    fn a_revocation_drops_the_jwts_status_and_nothing_else() {
        let caches = Caches::default();
        caches.fill_jwt_status(caches.epoch(), "acme", "j1", JwtStatus::NotRevoked);
        caches.fill_jwt_status(caches.epoch(), "acme", "j2", JwtStatus::NotRevoked);
        let revoked = Change { tenant: "acme".into(), kind: ChangeKind::Revocation, id: "j1".into() };
        caches.hear(&Notice::Changed(&revoked));
        assert_eq!(caches.jwt_status("acme", "j1"), None);
        assert_eq!(caches.jwt_status("acme", "j2"), Some(JwtStatus::NotRevoked));
    }
}

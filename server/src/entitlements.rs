//! The roles and permissions of a token's subject (an end-user, or a client for its own
//! tokens), read where a token is issued or a userinfo answer built, from the store's cached
//! role sets and assignments; and the tenant's scope rules they are held to.
//!
//! Resolving a subject's roles into its entitlements (collecting, sorting and de-duplicating
//! every permission of every role) costs far more than the lookups when a subject holds many
//! permissions, so the result is remembered per subject ([`Resolved`]) and reused for as long
//! as both inputs are the very ones the store's caches still hand out: the store replaces
//! (never mutates) a cached role set or assignment list when it changes, so pointer equality
//! of the two `Arc`s says nothing changed. A subject without roles touches no cache of ours.

use std::sync::Arc;

use tessera_core::model::{ScopePermission, Tenant};
use tessera_core::rbac::{self, Entitlements};
use tessera_core::store::{StoreError, Subject};

use crate::app::App;
use crate::resolved::Resolved;

/// What `subject`'s roles in `tenant` add up to now.
pub async fn of(app: &App, tenant: &str, subject: Subject<'_>) -> Result<Arc<Entitlements>, StoreError> {
    let ids = app.store.roles_of(tenant, subject).await?;
    if ids.is_empty() {
        return Ok(rbac::none());
    }
    let set = app.store.roles(tenant).await?;
    let (tag, id) = match subject {
        Subject::User(id) => ('u', id),
        Subject::Client(id) => ('c', id),
    };
    let key: Box<str> = format!("{tenant}\0{tag}\0{id}").into();
    if let Some(hit) = app.resolved_entitlements.get(&key)
        && Arc::ptr_eq(&hit.ids, &ids)
        && Arc::ptr_eq(&hit.set, &set)
    {
        return Ok(Arc::clone(&hit.held));
    }
    let held = Arc::new(set.entitlements(&ids));
    app.resolved_entitlements.insert(key, Arc::new(Resolved { ids, set, held: Arc::clone(&held) }));
    Ok(held)
}

/// The tenant's rules of which scope needs which permission (its `scope_permissions`).
pub fn scope_rules(tenant: &Tenant) -> &[ScopePermission] {
    &tenant.settings.scope_permissions
}

//! The roles and permissions of a token's subject (an end-user, or a client for its own
//! tokens), read where a token is issued or a userinfo answer built, from the store's cached
//! role sets and assignments; and the tenant's scope rules they are held to.

use tessera_core::model::{ScopePermission, Tenant};
use tessera_core::rbac::Entitlements;
use tessera_core::store::{StoreError, Subject};

use crate::app::App;

/// What `subject`'s roles in `tenant` add up to now. A subject without roles costs one cache
/// hit: the tenant's role set is read only for a subject that holds any.
pub async fn of(app: &App, tenant: &str, subject: Subject<'_>) -> Result<Entitlements, StoreError> {
    let ids = app.store.roles_of(tenant, subject).await?;
    if ids.is_empty() {
        return Ok(Entitlements::default());
    }
    Ok(app.store.roles(tenant).await?.entitlements(&ids))
}

/// The tenant's rules of which scope needs which permission (its `scope_permissions`).
pub fn scope_rules(tenant: &Tenant) -> &[ScopePermission] {
    &tenant.settings.scope_permissions
}

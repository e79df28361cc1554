//! Keeping a provider's endpoints current: a sign-in at a provider whose discovery document was
//! read more than `--idp-discovery-refresh-secs` ago reads it again first, and a document that
//! still qualifies replaces the stored endpoints (the tenant record re-read and written under
//! the admin write lock and the store's exclusive section, as an admin change is, so a
//! concurrent PATCH is not lost). A document that cannot be read or no longer qualifies leaves
//! the stored endpoints in use: a provider's brief outage must not stop its sign-ins. Keys are
//! not this module's: `identity::jwks` fetches them again on its own.

use tessera_core::model::{Idp, UnixSecs};
use tessera_core::store::StoreError;

use super::upstream;
use crate::app::App;

/// Whether `idp`'s endpoints are due to be read again at `now`.
pub fn due(app: &App, idp: &Idp, now: UnixSecs) -> bool {
    now - idp.endpoints.discovered_at >= i64::from(app.policy.idp_discovery_refresh_secs)
}

/// `idp` with its endpoints read again from its discovery document and stored; `idp` as it
/// was when that fails.
pub async fn refreshed(app: &App, tenant: &str, idp: &Idp, now: UnixSecs) -> Idp {
    let endpoints = match upstream::discover(app, &idp.issuer, now).await {
        Ok(endpoints) => endpoints,
        Err(why) => {
            tracing::warn!(tenant, idp = %idp.id, %why, "identity provider's discovery document not refreshed");
            return idp.clone();
        }
    };
    let mut fresh = idp.clone();
    fresh.endpoints = endpoints;
    if let Err(err) = store(app, tenant, &fresh).await {
        tracing::warn!(tenant, idp = %idp.id, %err, "identity provider's refreshed endpoints not stored");
    }
    fresh
}

/// Writes `fresh`'s endpoints into the tenant record as stored now, if the provider is still
/// there with the same issuer.
async fn store(app: &App, tenant: &str, fresh: &Idp) -> Result<(), StoreError> {
    let _local = app.admin_writes.lock().await;
    let _exclusive = app.store.exclusive().await?;
    let Some(current) = app.store.tenant(tenant).await? else { return Ok(()) };
    let mut t = (*current).clone();
    let Some(idp) = t.idps.iter_mut().find(|i| i.id == fresh.id && i.issuer == fresh.issuer) else {
        return Ok(());
    };
    idp.endpoints = fresh.endpoints.clone();
    app.store.put_tenant(&t).await
}

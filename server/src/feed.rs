//! This node's caches following the store's change feed (`tessera_core::changes`): what each
//! one does on hearing a change, and the task that does the slow part.
//!
//! Who listens, and to what:
//!
//! - The CORS origins (`http::cors`) forget a tenant's origins when one of its clients or the
//!   tenant changes, in the listener itself: an invalidation is cheap. The feed calls listeners
//!   before a write's commit resolves, so the admin API forgets nothing by hand.
//! - The keyring (`keyring`) counts a key or tenant change at once (so a load that began
//!   before it never replaces one that began after) and queues the tenant for the refresher
//!   task, which reloads its keys from the store, or, if the tenant is gone, drops its keys,
//!   discovery document and actor shards. Reloading can mean an HSM round trip: too slow for
//!   the listener, which runs on the store's write path. The queue is a set, so a burst of
//!   changes costs one reload per tenant, and it cannot grow beyond the number of tenants.
//! - The tenant shards (`actors`) forget an opaque token, in the listener itself, when its
//!   revocation is heard (made on this node or another), and every token on a resync.
//! - A resync does all of that for every tenant.
//!
//! Needs no listener here: tenants and clients (cached inside the store, which keeps them
//! itself), the deny list (inside the fjall store too, kept by its writer; a shared backend
//! keeps its own by listening to its own feed), users (no cache), verified JWTs (each use checks
//! that the keyring still publishes the key that verified it, so they follow the keyring) and
//! discovery documents (built from the issuer URL alone; only a deleted tenant's is dropped).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tessera_core::changes::{ChangeKind, Notice};
use tokio::sync::Notify;

use crate::actors::ForgetTokens;
use crate::app::App;
use crate::http::cors::ForgetOrigins;
use crate::keyring::KeyChanges;

/// Pause before tenants whose refresh failed are tried again, so a broken store or key record
/// costs a warning every few seconds rather than a busy loop.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Subscribes `app`'s caches to its store. Call before anything fills them (the keys loaded at
/// start-up), then run [`Follower::run`] on a runtime.
pub fn follow(app: &App) -> Follower {
    let follower = Follower::default();
    let listener = Listener::new(app, &follower.todo);
    app.store.subscribe(Arc::new(move |notice| listener.hear(notice)));
    follower
}

/// The refresher: reloads what the listener queued.
#[derive(Default)]
pub struct Follower {
    todo: Arc<Todo>,
}

/// Tenants waiting for a refresh, and the refresher's wake-up.
#[derive(Default)]
struct Todo {
    queue: Mutex<Queue>,
    wake: Notify,
}

#[derive(Default)]
struct Queue {
    /// Refresh every tenant (a resync), which covers `tenants`.
    every: bool,
    tenants: HashSet<String>,
}

impl Todo {
    /// Queues one tenant, or all of them, and wakes the refresher (a wake-up with no task
    /// waiting is kept for it, so none is lost).
    fn add(&self, tenant: Option<&str>) {
        {
            let mut queue = self.queue.lock();
            match tenant {
                Some(tenant) if !queue.every => {
                    queue.tenants.insert(tenant.to_owned());
                }
                Some(_) => {}
                None => *queue = Queue { every: true, tenants: HashSet::new() },
            }
        }
        self.wake.notify_one();
    }

    fn take(&self) -> Queue {
        std::mem::take(&mut *self.queue.lock())
    }
}

/// What runs on the store's write path. It holds handles to the caches, never the store or the
/// `App`, so the store holding it makes no cycle.
struct Listener {
    origins: ForgetOrigins,
    keys: KeyChanges,
    tokens: ForgetTokens,
    todo: Arc<Todo>,
}

impl Listener {
    fn new(app: &App, todo: &Arc<Todo>) -> Self {
        Self {
            origins: app.origins.forgetter(),
            keys: app.keys.changes(),
            tokens: app.shards.forgetter(),
            todo: Arc::clone(todo),
        }
    }

    fn hear(&self, notice: Notice<'_>) {
        match notice {
            Notice::Changed(change) => match change.kind {
                ChangeKind::Client => self.origins.tenant(&change.tenant),
                ChangeKind::Key => {
                    self.keys.heard();
                    self.todo.add(Some(&change.tenant));
                }
                ChangeKind::OpaqueToken => self.tokens.revoked(change),
                // Kept inside the store (the deny list, roles) or cached nowhere (users).
                ChangeKind::Revocation | ChangeKind::User | ChangeKind::Role => {}
                // A tenant change, or a kind newer than this code: everything of the tenant.
                _ => {
                    self.origins.tenant(&change.tenant);
                    self.keys.heard();
                    self.todo.add(Some(&change.tenant));
                }
            },
            Notice::Resync => {
                self.origins.all();
                self.tokens.all();
                self.keys.heard();
                self.todo.add(None);
            }
        }
    }
}

impl Follower {
    /// Refreshes queued tenants as they come, until the runtime stops.
    pub async fn run(self, app: Arc<App>) {
        loop {
            self.todo.wake.notified().await;
            if !self.refresh(&app).await {
                tokio::time::sleep(RETRY_AFTER).await;
                self.todo.wake.notify_one();
            }
        }
    }

    /// Refreshes every tenant queued so far; false if one failed (it is queued again).
    pub async fn refresh(&self, app: &App) -> bool {
        let Queue { every, tenants } = self.todo.take();
        let tenants: HashSet<String> = if every {
            match app.store.tenants().await {
                // The ring's own too: a tenant gone from the store is dropped from it.
                Ok(stored) => stored.into_iter().map(|t| t.id).chain(app.keys.loaded()).collect(),
                Err(err) => {
                    tracing::warn!(%err, "cannot list tenants to resync the caches");
                    self.todo.add(None);
                    return false;
                }
            }
        } else {
            tenants
        };
        let mut all_done = true;
        for tenant in tenants {
            if !refresh_tenant(app, &tenant).await {
                self.todo.add(Some(&tenant));
                all_done = false;
            }
        }
        all_done
    }
}

/// Reloads a tenant's keys, or drops what this node holds of a tenant that is gone.
async fn refresh_tenant(app: &App, tenant: &str) -> bool {
    match app.store.tenant(tenant).await {
        Ok(Some(_)) => match app.keys.load(tenant).await {
            Ok(_) => true,
            Err(err) => {
                tracing::warn!(tenant, %err, "cannot reload a tenant's keys after a change");
                false
            }
        },
        Ok(None) => {
            // Not destroyed: whoever deleted the tenant destroys its keys (HSM objects too).
            app.keys.forget(tenant);
            app.forget_tenant(tenant);
            true
        }
        Err(err) => {
            tracing::warn!(tenant, %err, "cannot read a changed tenant");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use tessera_core::model::{
        AccessTokenFormat, Client, SigningAlg, Tenant, TenantSettings, TokenEndpointAuthMethod,
    };
    use tessera_core::signer::Signer;
    use tessera_core::store::{ClientStore, KeyStore, Store, TenantStore};
    use tessera_signer::SoftwareSigner;
    use tessera_storage::{FjallStore, StoreOptions};

    use super::*;
    use crate::actors::Shards;
    use crate::policy::Policy;

    /// An `App` over a fresh store, and the store itself, to change behind the server's back
    /// as another node would.
    fn app(dir: &std::path::Path) -> (Arc<FjallStore>, App) {
        let options = StoreOptions { sweep_interval: None, ..StoreOptions::default() };
        let store = Arc::new(FjallStore::open(dir, options).expect("the store opens"));
        let dyn_store: Arc<dyn Store> = store.clone();
        let shards = Shards::start(1, Arc::new(dyn_store.clone()), 1_000).expect("the actors start");
        let signer = Arc::new(SoftwareSigner::new());
        let app = App::new(
            dyn_store,
            signer,
            shards,
            "http://node.test".into(),
            [0; 32],
            crate::web::PageKey::new(&[0; 32]),
            Policy::default(),
        )
        .expect("the state assembles");
        (store, app)
    }

    fn tenant(id: &str) -> Tenant {
        Tenant::new(id.into(), id.into(), TenantSettings::default(), 1)
    }

    fn spa(tenant: &str, redirect_uri: &str) -> Client {
        Client {
            tenant: tenant.into(),
            client_id: "spa".into(),
            client_name: "SPA".into(),
            secret_digest: None,
            grant_types: vec![],
            redirect_uris: vec![redirect_uri.into()],
            response_types: vec!["code".into()],
            scope: vec![],
            token_endpoint_auth_method: TokenEndpointAuthMethod::None,
            access_token_format: AccessTokenFormat::default(),
            id_token_signed_response_alg: SigningAlg::ES256,
            post_logout_redirect_uris: vec![],
            first_party: false,
            created_at: 1,
            pkce_plain_allowed: false,
            grants_valid_from: 0,
            apis: None,
            token_rate_limit: None,
        }
    }

    const A: &str = "https://a.example";
    const B: &str = "https://b.example";

    #[tokio::test]
    async fn cors_origins_follow_clients_changed_in_the_store() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, app) = app(dir.path());
        let _follower = follow(&app);
        store.put_tenant(&tenant("acme")).await.expect("put tenant");
        store.put_client(&spa("acme", &format!("{A}/cb"))).await.expect("put client");
        assert!(app.origins.allows("acme", A).await, "the origin is allowed (and now cached)");

        store.put_client(&spa("acme", &format!("{B}/cb"))).await.expect("replace client");
        assert!(app.origins.allows("acme", B).await, "the new origin is allowed as soon as the write is");
        assert!(!app.origins.allows("acme", A).await, "the old one no longer is");

        store.delete_client("acme", "spa").await.expect("delete client");
        assert!(!app.origins.allows("acme", B).await, "the origin left with the client");

        store.put_client(&spa("acme", &format!("{A}/cb"))).await.expect("put client again");
        assert!(app.origins.allows("acme", A).await);
        store.delete_tenant("acme").await.expect("delete tenant");
        assert!(!app.origins.allows("acme", A).await, "and with the tenant");
    }

    #[tokio::test]
    async fn the_keyring_follows_keys_written_in_the_store() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, app) = app(dir.path());
        let follower = follow(&app);
        store.put_tenant(&tenant("acme")).await.expect("put tenant");
        let ours = app.keys.current_or_create("acme", SigningAlg::ES256, 1_000).await.expect("a key");
        assert!(follower.refresh(&app).await);

        // Another node's key: made by another signer, written straight to the store.
        let theirs = SoftwareSigner::new().generate("acme", SigningAlg::ES256, 2_000).await.expect("key");
        store.put_key(&theirs).await.expect("put key");
        let held = app.keys.get("acme").expect("acme's keys");
        assert!(!held.has(&theirs.kid), "heard but not reloaded yet: the refresher does that");
        assert!(follower.refresh(&app).await);
        let keys = app.keys.get("acme").expect("acme's keys");
        assert!(keys.has(&theirs.kid) && keys.has(&ours), "both are published");
        assert_eq!(keys.current(SigningAlg::ES256).map(|k| &**k), Some(theirs.kid.as_str()), "newest");
        let signed = app.signer.sign("acme", &theirs.kid, b"input").await;
        assert!(signed.is_ok(), "this node's signer loaded it: {signed:?}");

        store.delete_key("acme", &theirs.kid).await.expect("delete key");
        assert!(follower.refresh(&app).await);
        assert!(!app.keys.get("acme").expect("acme's keys").has(&theirs.kid), "a deleted key leaves");
    }

    #[tokio::test]
    async fn a_tenant_deleted_in_the_store_leaves_the_keyring() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, app) = app(dir.path());
        let follower = follow(&app);
        for t in ["acme", "globex"] {
            store.put_tenant(&tenant(t)).await.expect("put tenant");
            app.keys.current_or_create(t, SigningAlg::ES256, 1_000).await.expect("a key");
        }
        assert!(follower.refresh(&app).await);
        assert!(app.keys.get("acme").is_some());

        store.delete_tenant("acme").await.expect("delete tenant");
        assert!(follower.refresh(&app).await);
        assert!(app.keys.get("acme").is_none(), "the deleted tenant's keys are dropped");
        assert!(app.keys.get("globex").is_some(), "another tenant's stay");
    }

    #[tokio::test]
    async fn a_resync_forgets_and_reloads_everything() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, app) = app(dir.path());
        // Not subscribed: the store's changes go unheard, as changes a feed lost would.
        let follower = Follower::default();
        let listener = Listener::new(&app, &follower.todo);
        store.put_tenant(&tenant("acme")).await.expect("put tenant");
        store.put_client(&spa("acme", &format!("{A}/cb"))).await.expect("put client");
        app.keys.current_or_create("acme", SigningAlg::ES256, 1_000).await.expect("a key");
        assert!(app.origins.allows("acme", A).await);
        store.put_client(&spa("acme", &format!("{B}/cb"))).await.expect("replace client");
        let theirs = SoftwareSigner::new().generate("acme", SigningAlg::ES256, 2_000).await.expect("key");
        store.put_key(&theirs).await.expect("put key");
        store.put_tenant(&tenant("gone")).await.expect("put tenant");
        app.keys.current_or_create("gone", SigningAlg::ES256, 1_000).await.expect("a key");
        store.delete_tenant("gone").await.expect("delete tenant");
        assert!(!app.origins.allows("acme", B).await, "stale, as nothing was heard");

        listener.hear(Notice::Resync);
        assert!(app.origins.allows("acme", B).await, "origins are forgotten at once");
        assert!(follower.refresh(&app).await);
        assert!(app.keys.get("acme").expect("acme's keys").has(&theirs.kid), "keys are reloaded");
        assert!(app.keys.get("gone").is_none(), "a tenant gone from the store is dropped");
    }
}

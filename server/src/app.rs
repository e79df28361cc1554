//! The running server's shared state: store, signer, keys, tenant actors, and the per-tenant
//! documents (discovery) that are built once and served as bytes.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use tessera_core::discovery::ProviderMetadata;
use tessera_core::model::Tenant;
use tessera_core::signer::Signer;
use tessera_core::store::{Store, StoreError};

use crate::actors::Shards;
use crate::audit::Audit;
use crate::http::conn::Gate;
use crate::http::cors::Origins;
use crate::keyring::KeyRing;
use crate::metrics::Metrics;
use crate::password::{GateLimits, PasswordGuard, PasswordWork};
use crate::policy::Policy;
use crate::web::PageKey;

/// Everything a request handler can reach.
pub struct App {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The signer.
    pub signer: Arc<dyn Signer>,
    /// Tenants' signing keys.
    pub keys: KeyRing,
    /// Tenant actors.
    pub shards: Shards,
    /// `{public_url}`, without a trailing slash.
    pub public_url: String,
    /// The origin of `public_url` as browsers send it in `Origin` (`web/origin.rs`).
    pub public_origin: String,
    /// The key of the pages' CSRF tokens (`web/csrf.rs`).
    pub page_key: PageKey,
    /// SHA-256 of the admin API key.
    pub admin_key_digest: [u8; 32],
    /// Server-wide limits and lifetimes of the end-user side (sessions, refresh reuse, login
    /// rate limits), from the configuration.
    pub policy: Policy,
    /// The guard of every end-user password check (rate limits, lockouts, the password gate),
    /// sized from `policy`.
    pub password_guard: PasswordGuard,
    /// The one gate of password hashing and verification, sized from `policy`; the guard
    /// verifies through it too.
    pub passwords: Arc<PasswordWork>,
    /// Per-client quotas at the token endpoint (`token_limits.rs`).
    pub token_limits: crate::token_limits::TokenLimits,
    /// The HTTP client and circuit breakers of identity validators (`crate::identity`).
    pub validators: crate::identity::Validators,
    /// The keys of federated sign-ins (`crate::federation`).
    pub federation: crate::federation::Federation,
    /// Seals the tenants' shared keys for encrypted access tokens (`direct_authz::shared_key`).
    pub shared_keys: crate::sealing::SealingKey,
    /// Trusted issuers' fetched JWK Sets (`crate::identity::jwks`).
    pub issuer_keys: crate::identity::jwks::IssuerKeys,
    /// Serializes this process's admin API updates (read-modify-write); creates rely on the
    /// store's atomic create instead.
    pub admin_writes: tokio::sync::Mutex<()>,
    /// API keys' uses since their last use was last written (`api_keys.rs`).
    pub api_key_uses: crate::last_uses::LastUses,
    /// Subjects' roles resolved into their entitlements (`entitlements.rs`).
    pub resolved_entitlements: crate::resolved::ResolvedCache,
    /// JWTs whose signature verified, by the SHA-256 of the token: resource servers introspect
    /// the same token again and again, and a signature check costs far more than a lookup.
    pub verified_jwts: moka::sync::Cache<[u8; 32], Arc<VerifiedJwt>>,
    /// The origins browser apps may call the token endpoint and `/userinfo` from.
    pub origins: Origins,
    /// How long a request body may take to arrive (`--body-read-timeout-secs`).
    pub body_read_timeout: std::time::Duration,
    /// The series counted on the request path.
    pub metrics: Metrics,
    /// The recorder of audit events (`crate::audit`).
    pub audit: Arc<Audit>,
    /// Whether `/metrics` answers on the main address (no `--metrics-listen`).
    pub metrics_on_main: bool,
    /// The connection gate, read by a scrape (open connections, refusals).
    pub connection_gate: Option<Arc<Gate>>,
    /// The embedded store itself, for what only it counts (group commits, its caches).
    pub fjall: Option<Arc<tessera_storage::FjallStore>>,
    discovery: RwLock<HashMap<String, Bytes>>,
}

/// Most verified JWTs remembered.
const VERIFIED_JWT_CACHE_ENTRIES: u64 = 50_000;
/// How long a verified JWT is remembered; its `exp`, the deny list and its client are still
/// checked on every use.
const VERIFIED_JWT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// A JWT access token whose signature verified with one of a tenant's keys.
pub struct VerifiedJwt {
    /// The tenant whose key verified it.
    pub tenant: String,
    /// The key that verified it; the entry counts only while the tenant still publishes it.
    pub kid: String,
    /// Its claims.
    pub claims: tessera_core::jwt::AccessTokenClaims,
}

/// A tenant as a protocol request sees it.
pub struct TenantCx {
    /// The tenant record.
    pub tenant: Arc<Tenant>,
    /// Its issuer URL.
    pub issuer: String,
}

impl App {
    /// Assembles the state. Fails only if the outbound HTTP client cannot be built.
    pub fn new(
        store: Arc<dyn Store>,
        signer: Arc<dyn Signer>,
        shards: Shards,
        public_url: String,
        admin_key_digest: [u8; 32],
        page_key: PageKey,
        policy: Policy,
    ) -> Result<Self, crate::identity::ClientError> {
        let passwords = Arc::new(PasswordWork::new(GateLimits::for_slots(
            policy.max_concurrent_password_checks,
            std::time::Duration::from_millis(u64::from(policy.password_check_max_wait_ms)),
        )));
        let audit = Arc::new(Audit::new());
        Ok(Self {
            validators: crate::identity::Validators::new(&policy)?,
            issuer_keys: crate::identity::jwks::IssuerKeys::default(),
            federation: crate::federation::Federation::new(
                &page_key.derive(crate::federation::SECRET_KEY_LABEL),
                &page_key.derive(crate::federation::PENDING_KEY_LABEL),
            )
            .map_err(|e| crate::identity::ClientError(e.to_string()))?,
            shared_keys: crate::sealing::SealingKey::new(
                &page_key.derive(crate::direct_authz::shared_key::SHARED_KEY_LABEL),
            )
            .map_err(|e| crate::identity::ClientError(e.to_string()))?,
            password_guard: PasswordGuard::new(&policy, passwords.clone(), store.clone(), audit.clone()),
            passwords,
            token_limits: crate::token_limits::TokenLimits::default(),
            policy,
            keys: KeyRing::new(store.clone(), signer.clone()),
            origins: Origins::new(store.clone()),
            store,
            signer,
            shards,
            public_origin: crate::web::public_origin(&public_url),
            public_url: public_url.trim_end_matches('/').to_owned(),
            page_key,
            admin_key_digest,
            admin_writes: tokio::sync::Mutex::new(()),
            api_key_uses: crate::last_uses::LastUses::default(),
            resolved_entitlements: crate::resolved::resolved_cache(),
            verified_jwts: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_JWT_CACHE_ENTRIES)
                .time_to_live(VERIFIED_JWT_CACHE_TTL)
                .build(),
            body_read_timeout: crate::http::conn::ConnSettings::default().body_read_timeout,
            metrics: Metrics::new(),
            audit,
            metrics_on_main: true,
            connection_gate: None,
            fjall: None,
            discovery: RwLock::new(HashMap::new()),
        })
    }

    /// The issuer URL of a tenant.
    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/t/{tenant}", self.public_url)
    }

    /// The tenant named in a protocol path, if it exists.
    pub async fn tenant(&self, id: &str) -> Result<Option<TenantCx>, StoreError> {
        Ok(self.store.tenant(id).await?.map(|tenant| TenantCx { issuer: self.issuer(&tenant.id), tenant }))
    }

    /// The serialized discovery document of a tenant.
    pub fn discovery(&self, tenant: &str) -> Bytes {
        if let Some(doc) = self.discovery.read().get(tenant) {
            return doc.clone();
        }
        let doc: Bytes = serde_json::to_vec(&ProviderMetadata::for_issuer(&self.issuer(tenant)))
            .unwrap_or_default()
            .into();
        self.discovery.write().insert(tenant.to_owned(), doc.clone());
        doc
    }

    /// Drops what is held in memory for a deleted tenant.
    pub fn forget_tenant(&self, tenant: &str) {
        self.discovery.write().remove(tenant);
        self.shards.remove(tenant);
    }
}

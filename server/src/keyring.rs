//! Each tenant's signing keys as the hot path needs them: the current key per algorithm and
//! the JWKS bytes, swapped atomically on change so readers never wait. Rotation makes a new
//! current key and retires the old one, which stays in the JWKS until every token it could have
//! signed has expired; a periodic prune then forgets it. A new key becomes current only through
//! the store's conditional `rotate_key`, so processes sharing a store agree on one current key:
//! one that loses the race destroys the key it generated and takes the winner's. Changes made
//! elsewhere reach the ring through the store's change feed (`crate::feed`), which counts them
//! here ([`KeyChanges`]) so that of two loads racing, the one that began later wins.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;
use serde::Serialize;
use tessera_core::jwk::{Jwk, JwkSet};
use tessera_core::model::{KeyRecord, SigningAlg, UnixSecs};
use tessera_core::rules::keys::current;
use tessera_core::signer::Signer;
use tessera_core::store::{Store, StoreError};

use crate::http::respond::ApiError;

/// Seconds a retired key outlives the longest token it signed, for clocks that drift.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// One tenant's keys, immutable once built.
#[derive(Debug, Default)]
pub struct TenantKeys {
    current: Vec<(SigningAlg, Arc<str>)>,
    kids: Vec<(Arc<str>, SigningAlg)>,
    /// The serialized JWK Set.
    pub jwks: Bytes,
    /// The records without private material, oldest first, for the admin API.
    pub listing: Vec<KeyListing>,
    /// The ring's [`KeyChanges`] count when the load that built this began.
    loaded_at: u64,
}

impl TenantKeys {
    /// The kid of the current key for `alg`.
    pub fn current(&self, alg: SigningAlg) -> Option<&Arc<str>> {
        self.current.iter().find(|(a, _)| *a == alg).map(|(_, k)| k)
    }

    /// Whether `kid` is one of this tenant's published keys.
    pub fn has(&self, kid: &str) -> bool {
        self.alg_of(kid).is_some()
    }

    /// The algorithm of the published key `kid`.
    pub fn alg_of(&self, kid: &str) -> Option<SigningAlg> {
        self.kids.iter().find(|(k, _)| &**k == kid).map(|(_, alg)| *alg)
    }
}

/// A key as the admin API shows it: never the private half.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct KeyListing {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: &'static str,
    /// `current` or `retired`.
    pub status: &'static str,
    /// `software` or `pkcs11`.
    pub backend: &'static str,
    /// Creation time.
    pub created_at: i64,
    /// When it stopped being current.
    pub retired_at: Option<i64>,
    /// When it leaves the JWKS.
    pub expires_at: Option<i64>,
    /// The public JWK (RFC 7517).
    #[schema(value_type = Object)]
    pub public_jwk: serde_json::Value,
}

/// All tenants' keys.
pub struct KeyRing {
    store: Arc<dyn Store>,
    signer: Arc<dyn Signer>,
    tenants: RwLock<HashMap<String, Arc<TenantKeys>>>,
    /// Serializes this process's key changes. Not for correctness (the store's conditional
    /// rotation keeps one current key even across processes) but so that requests here that
    /// all find no key wait for one generated key rather than each generate one (an HSM round
    /// trip, or an RSA prime search) only to destroy it on losing the race.
    change: tokio::sync::Mutex<()>,
    heard: KeyChanges,
}

/// Counts the key and tenant changes the store's feed reports. A load notes the count before it
/// reads the store and never replaces an entry built by a load that began after a later change:
/// a slow load that read the old keys (an HSM round trip can take a while) cannot overwrite the
/// reload the change triggered, whichever finishes last.
#[derive(Clone, Debug, Default)]
pub struct KeyChanges(Arc<AtomicU64>);

impl KeyChanges {
    /// Counts a change; called by the feed's listener once the change is visible in the store.
    pub fn heard(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl KeyRing {
    /// An empty ring over a store and signer.
    pub fn new(store: Arc<dyn Store>, signer: Arc<dyn Signer>) -> Self {
        Self {
            store,
            signer,
            tenants: RwLock::new(HashMap::new()),
            change: tokio::sync::Mutex::new(()),
            heard: KeyChanges::default(),
        }
    }

    /// The ring's change counter, for the store's feed to count changes on.
    pub fn changes(&self) -> KeyChanges {
        self.heard.clone()
    }

    /// The tenants whose keys are in the ring.
    pub fn loaded(&self) -> Vec<String> {
        self.tenants.read().keys().cloned().collect()
    }

    /// Forgets a tenant's keys without destroying them: the tenant was deleted, maybe by
    /// another node, which destroys the keys itself.
    pub fn forget(&self, tenant: &str) {
        self.tenants.write().remove(tenant);
    }

    /// The tenant's keys as last loaded.
    pub fn get(&self, tenant: &str) -> Option<Arc<TenantKeys>> {
        self.tenants.read().get(tenant).cloned()
    }

    /// Destroys the keys of a tenant that was just deleted from the store (HSM objects too).
    pub async fn destroy_tenant(&self, tenant: &str, records: &[KeyRecord]) -> Result<(), ApiError> {
        self.tenants.write().remove(tenant);
        for r in records {
            self.signer.destroy(r).await?;
        }
        Ok(())
    }

    /// Loads a tenant's stored keys into the signer (those not loaded yet) and the ring.
    pub async fn load(&self, tenant: &str) -> Result<Arc<TenantKeys>, ApiError> {
        let at = self.heard.count();
        let records = self.store.keys(tenant).await?;
        let loaded = self.get(tenant);
        // Only keys new to this process: loading an HSM key is a blocking round trip to the
        // token, and keys generated here were loaded by the signer already.
        for r in records.iter().filter(|r| !loaded.as_ref().is_some_and(|k| k.has(&r.kid))) {
            self.signer.load(r)?;
        }
        Ok(self.install(tenant, TenantKeys { loaded_at: at, ..build(&records)? }))
    }

    /// Puts freshly loaded keys in the ring, unless a load that began later got there first:
    /// then those are the tenant's keys (see [`KeyChanges`]).
    fn install(&self, tenant: &str, keys: TenantKeys) -> Arc<TenantKeys> {
        let mut tenants = self.tenants.write();
        if let Some(newer) = tenants.get(tenant).filter(|held| held.loaded_at > keys.loaded_at) {
            return newer.clone();
        }
        let keys = Arc::new(keys);
        tenants.insert(tenant.to_owned(), keys.clone());
        keys
    }

    /// The current kid for `alg`, generating and storing a key first if the tenant has none.
    pub async fn current_or_create(
        &self,
        tenant: &str,
        alg: SigningAlg,
        now: UnixSecs,
    ) -> Result<Arc<str>, ApiError> {
        if let Some(kid) = self.get(tenant).and_then(|k| k.current(alg).cloned()) {
            return Ok(kid);
        }
        let _guard = self.change.lock().await;
        let keys = self.load(tenant).await?;
        if let Some(kid) = keys.current(alg) {
            return Ok(kid.clone());
        }
        let record = self.signer.generate(tenant, alg, now).await?;
        // Retires nothing (no key is current), so no retirement time is needed. Lost or won,
        // the store now has a current key for `alg`: ours, or another process's.
        self.commit_key(&record, None, now).await?;
        // None current only if the tenant was deleted meanwhile.
        self.load(tenant).await?.current(alg).cloned().ok_or(ApiError::NotFound("tenant"))
    }

    /// Stores `record` as the current key of its algorithm if `expected` is still current.
    /// On a conflict (another writer changed the key first, or the tenant is gone) the
    /// generated key is destroyed, since no record will ever refer to it, and that is no error:
    /// the caller reloads and finds the winner.
    async fn commit_key(
        &self,
        record: &KeyRecord,
        expected: Option<&str>,
        retired_expires_at: UnixSecs,
    ) -> Result<(), ApiError> {
        match self.store.rotate_key(record, expected, retired_expires_at).await {
            Ok(()) => Ok(()),
            Err(err @ StoreError::Conflict(_)) => {
                tracing::info!(tenant = %record.tenant, kid = %record.kid, error = %err, "key change lost a race");
                // A failure here leaves an orphaned HSM object, never a stored key without one.
                if let Err(e) = self.signer.destroy(record).await {
                    tracing::warn!(kid = %record.kid, error = %e, "destroying an unused generated key failed");
                }
                Ok(())
            }
            // After a failed fsync a record may refer to the key, so its material is kept: an
            // orphaned HSM object at worst, as for any failed write.
            Err(err) => Err(err.into()),
        }
    }

    /// Makes a new current key for every algorithm the tenant has a current key for (and for
    /// `default_alg`), retiring the old ones. They stay published for `max_ttl_secs` plus skew.
    pub async fn rotate(
        &self,
        tenant: &str,
        default_alg: SigningAlg,
        max_ttl_secs: u32,
        now: UnixSecs,
    ) -> Result<Vec<KeyListing>, ApiError> {
        let _guard = self.change.lock().await;
        let records = self.store.keys(tenant).await?;
        let mut algs: Vec<SigningAlg> =
            SigningAlg::ALL.into_iter().filter(|alg| current(&records, *alg).is_some()).collect();
        if !algs.contains(&default_alg) {
            algs.push(default_alg);
        }
        let expires_at = now + i64::from(max_ttl_secs) + CLOCK_SKEW_SECS;
        for &alg in &algs {
            let expected = current(&records, alg).map(|r| r.kid.as_str());
            let record = self.signer.generate(tenant, alg, now).await?;
            // A lost race means another process rotated this algorithm meanwhile: its new key
            // stands, which is what the caller asked for. A tenant gone shows below.
            self.commit_key(&record, expected, expires_at).await?;
        }
        let keys = self.load(tenant).await?;
        let rotated: Vec<KeyListing> = keys
            .listing
            .iter()
            .filter(|l| l.status == "current" && algs.iter().any(|a| a.as_str() == l.alg))
            .cloned()
            .collect();
        // Nothing is current only if the tenant was deleted meanwhile.
        if rotated.is_empty() {
            return Err(ApiError::NotFound("tenant"));
        }
        Ok(rotated)
    }

    /// Deletes retired keys whose tokens have all expired, for every loaded tenant.
    pub async fn prune(&self, now: UnixSecs) -> Result<usize, ApiError> {
        let _guard = self.change.lock().await;
        let tenants: Vec<String> = self.tenants.read().keys().cloned().collect();
        let mut pruned = 0;
        for tenant in tenants {
            let records = self.store.keys(&tenant).await?;
            let expired: Vec<&KeyRecord> =
                records.iter().filter(|r| r.expires_at.is_some_and(|e| e <= now)).collect();
            if expired.is_empty() {
                continue;
            }
            for r in &expired {
                self.store.delete_key(&tenant, &r.kid).await?;
                self.signer.destroy(r).await?;
                pruned += 1;
            }
            self.load(&tenant).await?;
        }
        Ok(pruned)
    }
}

fn listing(r: &KeyRecord, current: bool) -> KeyListing {
    KeyListing {
        kid: r.kid.clone(),
        alg: r.alg.as_str(),
        status: if current { "current" } else { "retired" },
        backend: match r.material {
            tessera_core::model::KeyMaterial::Software { .. }
            | tessera_core::model::KeyMaterial::SealedSoftware { .. } => "software",
            tessera_core::model::KeyMaterial::Pkcs11 { .. } => "pkcs11",
        },
        created_at: r.created_at,
        retired_at: r.retired_at,
        expires_at: r.expires_at,
        public_jwk: serde_json::from_str(&r.public_jwk).unwrap_or(serde_json::Value::Null),
    }
}

/// Builds the hot-path view from stored records (oldest first): the current key of each
/// algorithm is the one the store's rule names; every key is published until it expires.
fn build(records: &[KeyRecord]) -> Result<TenantKeys, ApiError> {
    let current: Vec<(SigningAlg, Arc<str>)> = SigningAlg::ALL
        .into_iter()
        .filter_map(|alg| current(records, alg).map(|r| (alg, r.kid.as_str().into())))
        .collect();
    let mut set = JwkSet::default();
    for r in records {
        let jwk: Jwk = serde_json::from_str(&r.public_jwk)
            .map_err(|e| ApiError::Internal(format!("stored JWK of {} does not parse: {e}", r.kid)))?;
        set.keys.push(jwk);
    }
    let jwks = serde_json::to_vec(&set).map_err(|e| ApiError::Internal(e.to_string()))?;
    let listing = records.iter().map(|r| listing(r, current.iter().any(|(_, k)| **k == *r.kid))).collect();
    Ok(TenantKeys {
        current,
        kids: records.iter().map(|r| (r.kid.as_str().into(), r.alg)).collect(),
        jwks: jwks.into(),
        listing,
        loaded_at: 0,
    })
}

#[cfg(test)]
mod tests {
    //! Two key rings over one store, as two nodes sharing a database: they race for a tenant's
    //! first key and its rotation, and must agree on one current key, with every key they
    //! generated either stored or destroyed.

    use std::collections::BTreeSet;

    use parking_lot::Mutex;
    use tessera_core::model::{Tenant, TenantSettings};
    use tessera_core::signer::{SignError, SignFuture, SignerFuture};
    use tessera_core::store::{KeyStore, TenantStore};
    use tessera_signer::SoftwareSigner;
    use tessera_storage::{FjallStore, StoreOptions};

    use super::*;

    const ALG: SigningAlg = SigningAlg::ES256;

    /// A software signer that remembers the keys it generated and destroyed.
    #[derive(Default)]
    struct Tally {
        inner: SoftwareSigner,
        generated: Arc<Mutex<BTreeSet<String>>>,
        destroyed: Mutex<BTreeSet<String>>,
    }

    impl Signer for Tally {
        fn generate(&self, tenant: &str, alg: SigningAlg, now: UnixSecs) -> SignerFuture<KeyRecord> {
            let made = self.inner.generate(tenant, alg, now);
            let generated = Arc::clone(&self.generated);
            Box::pin(async move {
                let record = made.await?;
                generated.lock().insert(record.kid.clone());
                Ok(record)
            })
        }
        fn load(&self, key: &KeyRecord) -> Result<(), SignError> {
            self.inner.load(key)
        }
        fn unload(&self, tenant: &str, kid: &str) {
            self.inner.unload(tenant, kid);
        }
        fn destroy(&self, key: &KeyRecord) -> SignerFuture<()> {
            self.destroyed.lock().insert(key.kid.clone());
            self.inner.destroy(key)
        }
        fn sign(&self, tenant: &str, kid: &str, signing_input: &[u8]) -> SignFuture {
            self.inner.sign(tenant, kid, signing_input)
        }
        fn verify(&self, tenant: &str, kid: &str, input: &[u8], signature: &[u8]) -> Result<bool, SignError> {
            self.inner.verify(tenant, kid, input, signature)
        }
    }

    struct Node {
        ring: Arc<KeyRing>,
        signer: Arc<Tally>,
    }

    fn node(store: &Arc<FjallStore>) -> Node {
        let signer = Arc::new(Tally::default());
        let store: Arc<dyn Store> = store.clone();
        Node { ring: Arc::new(KeyRing::new(store, signer.clone())), signer }
    }

    fn tenant(id: &str) -> Tenant {
        Tenant::new(id.into(), id.into(), TenantSettings::default(), 1)
    }

    fn open(dir: &tempfile::TempDir) -> Arc<FjallStore> {
        Arc::new(FjallStore::open(dir.path(), StoreOptions::default()).expect("the store opens"))
    }

    /// Every key a node generated is stored, or was destroyed and is not stored.
    fn assert_accounted(nodes: &[Node], stored: &[KeyRecord]) {
        let stored: BTreeSet<&str> = stored.iter().map(|k| k.kid.as_str()).collect();
        for (i, n) in nodes.iter().enumerate() {
            let destroyed = n.signer.destroyed.lock();
            for kid in n.signer.generated.lock().iter() {
                let kept = stored.contains(kid.as_str());
                assert!(
                    kept != destroyed.contains(kid),
                    "node {i}: key {kid} stored {kept}, destroyed too or neither"
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_racing_for_a_first_key_agree_on_one() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = open(&dir);
        let nodes = [node(&store), node(&store)];
        for round in 0..6 {
            let t = format!("t{round}");
            store.create_tenant(&tenant(&t)).await.expect("create tenant");
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let ring = Arc::clone(&nodes[i % 2].ring);
                    let t = t.clone();
                    tokio::spawn(async move { ring.current_or_create(&t, ALG, 100).await })
                })
                .collect();
            let mut kids = BTreeSet::new();
            for task in tasks {
                kids.insert(task.await.expect("the task ends").expect("a current key").to_string());
            }
            let stored = store.keys(&t).await.expect("list keys");
            assert_eq!(stored.len(), 1, "round {round}: one key stored: {stored:?}");
            assert_eq!(kids, BTreeSet::from([stored[0].kid.clone()]), "round {round}: all use it");
            // A node that lost signs with the winner's key.
            for n in &nodes {
                assert!(n.signer.sign(&t, &stored[0].kid, b"x").await.is_ok(), "round {round}");
            }
        }
        let mut all: Vec<KeyRecord> = Vec::new();
        for r in 0..6 {
            all.extend(store.keys(&format!("t{r}")).await.expect("list keys"));
        }
        assert_accounted(&nodes, &all);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_rotating_at_once_leave_one_current_key() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = open(&dir);
        let nodes = [node(&store), node(&store)];
        store.create_tenant(&tenant("acme")).await.expect("create tenant");
        nodes[0].ring.current_or_create("acme", ALG, 100).await.expect("first key");
        for round in 0..4 {
            let now = 200 + round;
            let tasks: Vec<_> = nodes
                .iter()
                .map(|n| {
                    let ring = Arc::clone(&n.ring);
                    tokio::spawn(async move { ring.rotate("acme", ALG, 600, now).await })
                })
                .collect();
            let mut answers = BTreeSet::new();
            for task in tasks {
                let listed = task.await.expect("the task ends").expect("rotate");
                answers.extend(listed.into_iter().map(|l| l.kid));
            }
            let stored = store.keys("acme").await.expect("list keys");
            let unretired: Vec<&str> =
                stored.iter().filter(|k| k.retired_at.is_none()).map(|k| k.kid.as_str()).collect();
            assert_eq!(unretired.len(), 1, "round {round}: one current key: {stored:?}");
            // Both rings now see that key as current, whichever node made it.
            for n in &nodes {
                let keys = n.ring.load("acme").await.expect("load");
                assert_eq!(keys.current(ALG).map(|k| &**k), Some(unretired[0]), "round {round}");
            }
            assert!(answers.contains(unretired[0]), "round {round}: {answers:?}");
        }
        assert_accounted(&nodes, &store.keys("acme").await.expect("list keys"));
    }

    #[tokio::test]
    async fn a_key_for_a_deleted_tenant_is_destroyed_not_stored() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = open(&dir);
        let n = node(&store);
        let got = n.ring.current_or_create("gone", ALG, 100).await;
        assert!(matches!(got, Err(ApiError::NotFound("tenant"))), "{got:?}");
        assert_eq!(store.keys("gone").await, Ok(vec![]));
        assert_eq!(n.signer.generated.lock().len(), 1);
        assert_accounted(&[n], &[]);
        // The store itself refuses the key, as a conflict.
        let record = SoftwareSigner::new().generate("gone", ALG, 100).await.expect("generate");
        let refused = store.rotate_key(&record, None, 700).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    }

    /// A node whose signer cannot open the stored keys (no KEK, or another one) fails to load
    /// them, saying why, and never makes a key of its own in their place: the other nodes
    /// still sign with the stored one.
    #[tokio::test]
    async fn keys_sealed_under_a_kek_this_node_lacks_fail_to_load_and_are_not_replaced() {
        let kek = |fill: u8| tessera_signer::Kek::from_bytes([fill; 32]).expect("a KEK");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = open(&dir);
        store.create_tenant(&tenant("acme")).await.expect("create tenant");
        let ring = |signer: SoftwareSigner| KeyRing::new(store.clone(), Arc::new(signer));
        let kid = ring(SoftwareSigner::with_kek(Some(kek(1))))
            .current_or_create("acme", ALG, 100)
            .await
            .expect("a first key");
        for signer in [SoftwareSigner::new(), SoftwareSigner::with_kek(Some(kek(2)))] {
            let lacking = ring(signer);
            let err = lacking.load("acme").await.expect_err("the key does not open");
            assert!(
                matches!(&err, ApiError::Internal(detail) if detail.contains(&format!("key {kid} is sealed"))),
                "{err:?}"
            );
            let err = lacking.current_or_create("acme", ALG, 200).await.expect_err("no key made");
            assert!(
                matches!(&err, ApiError::Internal(detail) if detail.contains("was not given")),
                "{err:?}"
            );
            assert!(lacking.get("acme").is_none());
        }
        let stored = store.keys("acme").await.expect("list keys");
        assert_eq!(stored.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), [&*kid]);
        // The right KEK opens it, as on a restart.
        let same = ring(SoftwareSigner::with_kek(Some(kek(1))));
        assert_eq!(same.current_or_create("acme", ALG, 300).await.expect("the stored key"), kid);
    }

    fn keys(kid: &str, loaded_at: u64) -> TenantKeys {
        TenantKeys { kids: vec![(kid.into(), SigningAlg::ES256)], loaded_at, ..TenantKeys::default() }
    }

    #[test]
    fn a_load_that_began_before_a_change_never_replaces_one_that_began_after() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let options = StoreOptions { sweep_interval: None, ..StoreOptions::default() };
        let store = Arc::new(FjallStore::open(dir.path(), options).expect("the store opens"));
        let ring = KeyRing::new(store, Arc::new(SoftwareSigner::new()));
        ring.install("acme", keys("new", 2));
        let kept = ring.install("acme", keys("old", 1));
        assert!(kept.has("new"), "the later load is handed back");
        assert!(ring.get("acme").is_some_and(|k| k.has("new") && !k.has("old")));
        // Loads that began between the same two changes replace each other: the last wins.
        ring.install("acme", keys("newer", 2));
        assert!(ring.get("acme").is_some_and(|k| k.has("newer")));
        ring.install("acme", keys("newest", 3));
        assert!(ring.get("acme").is_some_and(|k| k.has("newest")));
    }
}

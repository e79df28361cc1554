//! Shared helpers of the storage integration tests: opening stores on a manual clock, record
//! builders, and a raw view of the on-disk keyspaces.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tessera_core::model::{
    AccessTokenFormat, Authentication, Client, Consent, GrantType, KeyMaterial, KeyRecord, OpaqueToken,
    RefreshToken, Revocation, Session, SigningAlg, Tenant, TenantSettings, TokenEndpointAuthMethod,
};

use tessera_storage::{Clock, FjallStore, StoreOptions};

/// A clock tests move by hand.
#[derive(Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(now: i64) -> Self {
        Self(Arc::new(AtomicI64::new(now)))
    }
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
    pub fn clock(&self) -> Clock {
        let now = Arc::clone(&self.0);
        Clock::from_fn(move || now.load(Ordering::SeqCst))
    }
}

/// Options with no background sweeper, on `clock`.
pub fn options(clock: &ManualClock) -> StoreOptions {
    StoreOptions { sweep_interval: None, clock: clock.clock(), ..StoreOptions::default() }
}

pub fn open(dir: &Path, clock: &ManualClock) -> FjallStore {
    FjallStore::open(dir, options(clock)).unwrap()
}

/// Waits for a commit or a read from synchronous test code.
pub fn wait<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
}

pub fn tenant(id: &str) -> Tenant {
    Tenant {
        id: id.to_owned(),
        display_name: format!("Tenant {id}"),
        settings: TenantSettings::default(),
        created_at: 1_700_000_000,
        apis: Vec::new(),
        identity_validators: Vec::new(),
        trusted_issuers: Vec::new(),
        idps: Vec::new(),
        direct_authz_token_digest: None,
        direct_authz_encryption: None,
    }
}

pub fn client(tenant: &str, id: &str) -> Client {
    Client {
        tenant: tenant.to_owned(),
        client_id: id.to_owned(),
        client_name: format!("Client {id}"),
        secret_digest: Some([7; 32]),
        grant_types: vec![GrantType::ClientCredentials, GrantType::RefreshToken],
        redirect_uris: vec!["https://app.example/cb".to_owned()],
        response_types: vec!["code".to_owned()],
        scope: vec!["read".to_owned(), "write".to_owned()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        access_token_format: AccessTokenFormat::Opaque,
        id_token_signed_response_alg: SigningAlg::RS256,
        post_logout_redirect_uris: vec![],
        first_party: true,
        created_at: 1_700_000_001,
        pkce_plain_allowed: false,
        grants_valid_from: 0,
        apis: None,
        token_rate_limit: None,
    }
}

pub fn key(tenant: &str, kid: &str, created_at: i64) -> KeyRecord {
    KeyRecord {
        tenant: tenant.to_owned(),
        kid: kid.to_owned(),
        alg: SigningAlg::ES384,
        public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
        material: KeyMaterial::Pkcs11 { id: kid.as_bytes().to_vec() },
        created_at,
        retired_at: None,
        expires_at: Some(created_at + 7200),
    }
}

pub fn token(tenant: &str, jti: &str, exp: i64) -> OpaqueToken {
    OpaqueToken {
        tenant: tenant.to_owned(),
        client_id: "web".to_owned(),
        sub: "alice".to_owned(),
        scope: "read write".to_owned(),
        jti: jti.to_owned(),
        iat: exp - 3600,
        exp,
        roles: Vec::new(),
        permissions: Vec::new(),
        aud: None,
        extra_info: None,
        validator: None,
        audience: Vec::new(),
        act: None,
        dat: None,
        cls: Vec::new(),
        uip: None,
    }
}

/// A digest that differs per `n`.
pub fn digest(n: u32) -> [u8; 32] {
    let mut d = [0xab; 32];
    d[..4].copy_from_slice(&n.to_be_bytes());
    d
}

pub fn revocation(tenant: &str, jti: &str, exp: i64) -> Revocation {
    Revocation { tenant: tenant.to_owned(), jti: jti.to_owned(), exp }
}

/// An SSO session of user `u1` that began at `created_at` and ends at `expires_at`.
pub fn session(tenant: &str, sid: &str, created_at: i64, expires_at: i64) -> Session {
    Session {
        tenant: tenant.to_owned(),
        auth: Authentication {
            sub: "u1".to_owned(),
            sid: sid.to_owned(),
            auth_time: created_at,
            acr: Some("urn:acr:pwd".to_owned()),
            amr: vec!["pwd".to_owned()],
        },
        created_at,
        expires_at,
        data: None,
    }
}

/// What `user_id` granted `client_id`.
pub fn consent(tenant: &str, user_id: &str, client_id: &str, scope: &[&str]) -> Consent {
    Consent {
        tenant: tenant.to_owned(),
        user_id: user_id.to_owned(),
        client_id: client_id.to_owned(),
        scope: scope.iter().map(|s| (*s).to_owned()).collect(),
        granted_at: 1_000,
    }
}

/// A current (unrotated) refresh token of `family`, issued to client `web` at `issued_at`.
pub fn refresh(tenant: &str, family: &str, issued_at: i64, expires_at: i64) -> RefreshToken {
    RefreshToken {
        tenant: tenant.to_owned(),
        family: family.to_owned(),
        client_id: "web".to_owned(),
        scope: "openid offline_access".to_owned(),
        auth: Authentication {
            sub: "u1".to_owned(),
            sid: "sid-1".to_owned(),
            auth_time: issued_at,
            acr: None,
            amr: vec!["pwd".to_owned()],
        },
        issued_at,
        expires_at,
        rotated_at: None,
        validator: None,
        direct: None,
    }
}

/// `tenant \0 digest`: the key of a record stored under a digest.
pub fn digest_key(tenant: &str, d: [u8; 32]) -> Vec<u8> {
    [tenant.as_bytes(), b"\0", d.as_slice()].concat()
}

/// Every key in one keyspace of a closed store, read straight from fjall.
pub fn raw_keys(dir: &Path, keyspace: &str) -> Vec<Vec<u8>> {
    let db = fjall::Database::builder(dir).open().unwrap();
    let ks = db.keyspace(keyspace, fjall::KeyspaceCreateOptions::default).unwrap();
    ks.iter().map(|g| g.key().unwrap().to_vec()).collect()
}

/// Writes raw bytes under a key of a closed store, as a damaged disk would leave them.
pub fn write_raw(dir: &Path, keyspace: &str, key: &[u8], value: &[u8]) {
    let db = fjall::Database::builder(dir).open().unwrap();
    let ks = db.keyspace(keyspace, fjall::KeyspaceCreateOptions::default).unwrap();
    ks.insert(key, value).unwrap();
    db.persist(fjall::PersistMode::SyncAll).unwrap();
}

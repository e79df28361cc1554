//! The door through which another backend reuses this crate's record encoding: each stored
//! record type's bytes (a format-version byte and its rkyv archive, see `codec`) and the key
//! its invariants are checked against. The PostgreSQL backend stores exactly these bytes in a
//! `bytea` column, so a record means the same on both backends and one set of golden bytes
//! and legacy decoders serves both. Not a stable API: hidden from the docs, for Tessera's own
//! backends only.

use tessera_core::model::{
    ApiKey, AuditEvent, Client, Consent, FederatedLink, KeyRecord, Lockout, OpaqueToken, RefreshToken,
    Revocation, Role, Session, Tenant, User,
};
use tessera_core::store::StoreError;

use crate::{codec, keys};
pub use tessera_core::rules::code::StoredCode;
pub use tessera_core::rules::refresh::StoredFamily;

/// A record type this crate encodes. `key` is the fjall key the record's invariants are
/// checked against (build it with the functions in [`key`]); a backend that keys records
/// otherwise passes the same key, so the checks are the same everywhere.
pub trait Encoded: Sized {
    /// The record's bytes, after checking its invariants against `key`.
    fn encode(&self, key: &[u8]) -> Result<Vec<u8>, StoreError>;
    /// The record in `bytes`, checked against `key` (older format versions decoded too).
    fn decode(key: &[u8], bytes: &[u8]) -> Result<Self, StoreError>;
}

macro_rules! encoded {
    ($($t:ty),* $(,)?) => {
        $(
            impl Encoded for $t {
                fn encode(&self, key: &[u8]) -> Result<Vec<u8>, StoreError> {
                    codec::encode(key, self)
                }
                fn decode(key: &[u8], bytes: &[u8]) -> Result<Self, StoreError> {
                    codec::decode(key, bytes)
                }
            }
        )*
    };
}

encoded!(
    Tenant,
    Client,
    ApiKey,
    Role,
    KeyRecord,
    OpaqueToken,
    Revocation,
    User,
    StoredCode,
    Session,
    Consent,
    RefreshToken,
    StoredFamily,
    AuditEvent,
    Lockout,
    FederatedLink,
);

/// The keys records are checked against; `None` where no record can have the ids given.
pub mod key {
    use super::keys;

    /// A tenant's key.
    pub fn tenant(id: &str) -> Option<Vec<u8>> {
        keys::tenant_key(id)
    }

    /// A client's key.
    pub fn client(tenant: &str, client_id: &str) -> Option<Vec<u8>> {
        keys::client_key(tenant, client_id)
    }

    /// The key of a record named `name` in `tenant` (signing keys by `kid`, revocations by
    /// `jti`, opaque tokens, codes, sessions and refresh tokens by digest).
    pub fn scoped(tenant: &str, name: &[u8]) -> Option<Vec<u8>> {
        keys::scoped_key(tenant, name)
    }

    /// A user's, role's or API key's key (records named by an id).
    pub fn by_id(tenant: &str, id: &str) -> Option<Vec<u8>> {
        keys::user_key(tenant, id)
    }

    /// A consent's key.
    pub fn consent(tenant: &str, user_id: &str, client_id: &str) -> Option<Vec<u8>> {
        keys::consent_key(tenant, user_id, client_id)
    }

    /// A refresh-token family's key.
    pub fn family(tenant: &str, family: &str) -> Option<Vec<u8>> {
        keys::family_key(tenant, family)
    }

    /// An audit event's key.
    pub fn event(tenant: &str, id: &str) -> Option<Vec<u8>> {
        keys::event_key(tenant, id)
    }

    /// A sign-in lockout's key (its tenant, limit, address and username).
    pub fn lockout(lockout: &tessera_core::model::Lockout) -> Option<Vec<u8>> {
        keys::lockout_key(lockout)
    }

    /// A federated link's key (its tenant, identity provider and upstream subject).
    pub fn federated_link(tenant: &str, idp: &str, subject: &str) -> Option<Vec<u8>> {
        keys::link_key(tenant, idp, subject)
    }
}

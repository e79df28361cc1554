//! On-disk corruption fixtures: bytes written straight through fjall under the store's keys,
//! as a damaged disk would leave them, read back through the store.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tessera_core::store::JwtStatus;
use tessera_core::store::{ClientStore, KeyStore, RevocationStore, StoreError, TenantStore, TokenStore};

fn corrupt_key(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Corrupt { key, detail }) => {
            assert!(!detail.is_empty());
            key
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn corrupt_records_read_as_corrupt_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        wait(store.put_tenant(&tenant("acme"))).unwrap();
        wait(store.put_client(&client("acme", "good"))).unwrap();
    }
    let mut token_key = b"acme\0".to_vec();
    token_key.extend_from_slice(&digest(9));
    write_raw(dir.path(), "tenants", b"evil", b"\x01garbage that is no archive");
    write_raw(dir.path(), "clients", b"acme\0web", &[0xff; 40]);
    write_raw(dir.path(), "keys", b"acme\0k1", b"");
    write_raw(dir.path(), "opaque_tokens", &token_key, b"\x02future format");
    {
        // A valid record under the wrong key breaks an invariant.
        let store = open(dir.path(), &clock);
        wait(store.put_tenant(&tenant("other"))).unwrap();
    }
    let moved = {
        let db = fjall::Database::builder(dir.path()).open().unwrap();
        let ks = db.keyspace("tenants", fjall::KeyspaceCreateOptions::default).unwrap();
        ks.get("other").unwrap().unwrap().to_vec()
    };
    write_raw(dir.path(), "tenants", b"moved", &moved);

    let store = open(dir.path(), &clock);
    assert_eq!(corrupt_key(wait(store.tenant("evil"))), "tenants:evil");
    assert_eq!(corrupt_key(wait(store.tenant("moved"))), "tenants:moved");
    assert_eq!(corrupt_key(wait(store.client("acme", "web"))), "clients:acme/web");
    corrupt_key(wait(store.clients("acme")));
    corrupt_key(wait(store.keys("acme")));
    corrupt_key(wait(store.tenants()));
    let key = corrupt_key(wait(store.opaque_token("acme", &digest(9))));
    assert!(key.starts_with("opaque_tokens:acme/"), "{key}");
    // Healthy records next to the damage still read.
    assert_eq!(*wait(store.tenant("acme")).unwrap().unwrap(), tenant("acme"));
    assert!(wait(store.client("acme", "good")).unwrap().is_some());
}

#[test]
fn a_corrupt_revocation_keeps_its_token_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    drop(open(dir.path(), &clock));
    write_raw(dir.path(), "revocations", b"acme\0jwt-9", b"\x01\x02\x03");
    let store = open(dir.path(), &clock);
    assert_eq!(wait(store.jwt_status("acme", "jwt-9")).unwrap(), JwtStatus::Revoked);
    assert_eq!(wait(store.jwt_status("acme", "jwt-8")).unwrap(), JwtStatus::NotRevoked);
}

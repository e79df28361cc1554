//! Authorization codes: round trip, single use decided in the writer (fresh, then replayed; of
//! concurrent takes exactly one is fresh), expiry (unknown once due, then swept), tenant
//! isolation, reopening, and `delete_tenant`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tessera_core::authorize::CodeChallenge;
use tessera_core::grants::authorization_code::{Authentication, Code};
use tessera_core::pkce::CodeChallengeMethod;
use tessera_core::store::{CodeStore, CodeTaken, TenantStore};

fn code(tenant: &str, expires_at: i64) -> Code {
    Code {
        tenant: tenant.into(),
        client_id: "web".into(),
        redirect_uri: "https://app.example.com/cb".into(),
        redirect_uri_sent: true,
        scope: "openid profile".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some(CodeChallenge {
            method: CodeChallengeMethod::S256,
            challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        }),
        auth: Authentication {
            sub: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            sid: "sid-1".into(),
            auth_time: 990,
            acr: None,
            amr: vec!["pwd".into()],
        },
        issued_at: 1_000,
        expires_at,
        resource: None,
    }
}

#[tokio::test]
async fn codes_round_trip_and_are_single_use() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    let c = code("acme", 1_060);
    store.put_code(&digest(1), &c).await.unwrap();
    assert_eq!(store.take_code("acme", &digest(1)).await.unwrap(), CodeTaken::Fresh(c.clone()));
    assert_eq!(store.take_code("acme", &digest(1)).await.unwrap(), CodeTaken::Replayed(c.clone()));
    assert_eq!(store.take_code("acme", &digest(1)).await.unwrap(), CodeTaken::Replayed(c));
    assert_eq!(store.take_code("acme", &digest(2)).await.unwrap(), CodeTaken::Unknown);
    assert_eq!(store.take_code("not a tenant", &digest(1)).await.unwrap(), CodeTaken::Unknown);
    // Only the digest is stored, under the tenant.
    drop(store);
    let keys = raw_keys(dir.path(), "auth_codes");
    assert_eq!(keys, [[b"acme\0".as_slice(), digest(1).as_slice()].concat()]);
}

#[tokio::test]
async fn expired_codes_are_unknown_and_swept() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        store.put_code(&digest(1), &code("acme", 1_060)).await.unwrap();
        store.put_code(&digest(2), &code("acme", 1_060)).await.unwrap();
        store.put_code(&digest(3), &code("acme", 5_000)).await.unwrap();
        assert!(matches!(store.take_code("acme", &digest(2)).await.unwrap(), CodeTaken::Fresh(_)));
        assert_eq!(store.sweep_expired().unwrap(), 0, "nothing due yet");

        clock.set(1_060); // expires_at is the first instant the code is no longer redeemable
        assert_eq!(store.take_code("acme", &digest(1)).await.unwrap(), CodeTaken::Unknown);
        assert_eq!(store.take_code("acme", &digest(2)).await.unwrap(), CodeTaken::Unknown);
        // The used one keeps its single expiry entry: the take wrote none of its own.
        assert_eq!(store.sweep_expired().unwrap(), 2);
        assert_eq!(store.sweep_expired().unwrap(), 0);
        assert!(matches!(store.take_code("acme", &digest(3)).await.unwrap(), CodeTaken::Fresh(_)));
    }
    assert_eq!(raw_keys(dir.path(), "auth_codes").len(), 1);
    assert_eq!(raw_keys(dir.path(), "expiry").len(), 1);
}

#[tokio::test]
async fn delete_tenant_removes_its_codes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    store.put_tenant(&tenant("acme")).await.unwrap();
    store.put_tenant(&tenant("other")).await.unwrap();
    for i in 0..5 {
        store.put_code(&digest(i), &code("acme", 1_060)).await.unwrap();
    }
    store.put_code(&digest(9), &code("other", 1_060)).await.unwrap();
    store.delete_tenant("acme").await.unwrap();
    for i in 0..5 {
        assert_eq!(store.take_code("acme", &digest(i)).await.unwrap(), CodeTaken::Unknown);
    }
    assert!(matches!(store.take_code("other", &digest(9)).await.unwrap(), CodeTaken::Fresh(_)));
    drop(store);
    assert_eq!(raw_keys(dir.path(), "auth_codes").len(), 1);
    // Their expiry entries went with them; the other tenant's stays.
    assert_eq!(raw_keys(dir.path(), "expiry").len(), 1);
}

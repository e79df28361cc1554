//! Tenants, clients, keys, opaque tokens and the deny list: round trips, list orderings,
//! deletions, replaced records read back at once, absent ids, tenant isolation, and expiry.

use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg};
use tessera_core::store::{
    ClientStore, ConsentStore, JwtStatus, KeyStore, RevocationStore, TenantStore, TokenStore, UserStore,
};

use crate::Harness;
use crate::fixtures::{client, digest, key, ok, revocation, tenant, token, user};
use crate::harness::open_at;

pub(crate) async fn tenants_round_trip_ordered_by_id(h: &impl Harness) {
    let store = open_at(h, 1_000);
    for id in ["globex", "acme", "initech"] {
        ok(store.put_tenant(&tenant(id)), "put tenant").await;
    }
    assert_eq!(store.tenant("acme").await.expect("read tenant").as_deref(), Some(&tenant("acme")));
    assert_eq!(store.tenants().await, Ok(vec![tenant("acme"), tenant("globex"), tenant("initech")]));
    let mut renamed = tenant("acme");
    renamed.display_name = "Renamed".to_owned();
    renamed.settings.refresh_reuse_grace_secs = Some(30);
    ok(store.put_tenant(&renamed), "replace tenant").await;
    assert_eq!(store.tenant("acme").await.expect("read tenant").as_deref(), Some(&renamed));
    ok(store.delete_tenant("globex"), "delete tenant").await;
    assert_eq!(store.tenant("globex").await.expect("read tenant"), None);
    assert_eq!(store.tenants().await, Ok(vec![renamed, tenant("initech")]));
}

pub(crate) async fn clients_round_trip_ordered_by_id(h: &impl Harness) {
    let store = open_at(h, 1_000);
    for id in ["web", "api", "mobile"] {
        ok(store.put_client(&client("acme", id)), "put client").await;
    }
    assert_eq!(
        store.client("acme", "web").await.expect("read client").as_deref(),
        Some(&client("acme", "web"))
    );
    let ids: Vec<_> =
        store.clients("acme").await.expect("list clients").into_iter().map(|c| c.client_id).collect();
    assert_eq!(ids, ["api", "mobile", "web"]);
    ok(store.delete_client("acme", "web"), "delete client").await;
    assert_eq!(store.client("acme", "web").await.expect("read client"), None);
    assert_eq!(store.clients("acme").await, Ok(vec![client("acme", "api"), client("acme", "mobile")]));
    // Deleting a client that is not there is no error.
    ok(store.delete_client("acme", "web"), "delete again").await;
}

pub(crate) async fn a_replaced_client_is_read_back_at_once(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_client(&client("acme", "web")), "put client").await;
    // Read first, so a backend with a cache has it cached.
    assert!(store.client("acme", "web").await.expect("read client").is_some());
    for i in 0..20 {
        let mut c = client("acme", "web");
        c.client_name = format!("v{i}");
        c.scope = vec![format!("scope{i}")];
        ok(store.put_client(&c), "replace client").await;
        // Once a write is acknowledged no read may return an older version.
        assert_eq!(store.client("acme", "web").await.expect("read client").as_deref(), Some(&c));
    }
    ok(store.delete_client("acme", "web"), "delete client").await;
    assert_eq!(store.client("acme", "web").await.expect("read client"), None);
}

/// The operator's revoke-all cut-off of a client (`Client::grants_valid_from`) is read back at
/// once, through any cache, and after reopening: every check of a client's tokens relies on it.
pub(crate) async fn a_clients_cut_off_is_read_back_at_once_and_survives_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_client(&client("acme", "web")), "put client").await;
    assert_eq!(store.client("acme", "web").await.expect("read client").map(|c| c.grants_valid_from), Some(0));
    let mut cut = client("acme", "web");
    assert_eq!(cut.cut_off_grants(1_000), 1_001);
    ok(store.put_client(&cut), "cut off").await;
    assert_eq!(store.client("acme", "web").await.expect("read client").as_deref(), Some(&cut));
    let store = h.reopen(store);
    assert_eq!(store.client("acme", "web").await.expect("read client").as_deref(), Some(&cut));
    assert_eq!(store.clients("acme").await, Ok(vec![cut]));
}

pub(crate) async fn keys_round_trip_oldest_first(h: &impl Harness) {
    let store = open_at(h, 1_000);
    // Oldest first, whatever the kid order or the order of writes.
    ok(store.put_key(&key("acme", "b-new", 300)), "put key").await;
    ok(store.put_key(&key("acme", "z-old", 100)), "put key").await;
    ok(store.put_key(&key("acme", "a-mid", 200)), "put key").await;
    let expected = vec![key("acme", "z-old", 100), key("acme", "a-mid", 200), key("acme", "b-new", 300)];
    assert_eq!(store.keys("acme").await, Ok(expected));
    // Retiring a key replaces its record.
    let mut retired = key("acme", "z-old", 100);
    retired.retired_at = Some(250);
    ok(store.put_key(&retired), "replace key").await;
    ok(store.delete_key("acme", "a-mid"), "delete key").await;
    assert_eq!(store.keys("acme").await, Ok(vec![retired, key("acme", "b-new", 300)]));
}

/// Every kind of key material comes back as it was written, a sealed key's envelope byte for
/// byte (the store never looks inside it), including through a retirement, which rewrites the
/// record.
pub(crate) async fn keys_keep_their_material_of_every_kind(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    let materials = [
        KeyMaterial::Software { pkcs8: vec![0x30, 0x81, 0x87, 0x02, 0x01, 0x00] },
        KeyMaterial::SealedSoftware { sealed: (0..=255).collect() },
        KeyMaterial::Pkcs11 { id: vec![7; 16] },
    ];
    let mut expected = Vec::new();
    for (i, material) in materials.into_iter().enumerate() {
        let created_at = 100 + i64::try_from(i).expect("a small index");
        let k = KeyRecord { material, ..key("acme", &format!("kid-{i}"), created_at) };
        ok(store.put_key(&k), "put key").await;
        expected.push(k);
    }
    assert_eq!(store.keys("acme").await, Ok(expected.clone()));
    let sealed = KeyRecord { alg: SigningAlg::ES256, expires_at: None, ..expected[1].clone() };
    ok(store.put_key(&sealed), "replace key").await;
    let next = KeyRecord { kid: "kid-next".into(), created_at: 200, ..sealed.clone() };
    ok(store.rotate_key(&next, Some(&sealed.kid), 900), "rotate key").await;
    let stored = store.keys("acme").await.expect("list keys");
    let retired = stored.iter().find(|k| k.kid == sealed.kid).expect("the retired key");
    assert_eq!(retired.retired_at, Some(200));
    assert_eq!(retired.material, sealed.material);
}

pub(crate) async fn unknown_ids_read_as_absent(h: &impl Harness) {
    let store = open_at(h, 1_000);
    assert_eq!(store.tenant("nobody").await, Ok(None));
    assert_eq!(store.tenant("a/b").await, Ok(None));
    assert_eq!(store.tenant("").await, Ok(None));
    assert_eq!(store.tenants().await, Ok(vec![]));
    assert_eq!(store.client("acme", "no such").await, Ok(None));
    assert_eq!(store.clients("a\0b").await, Ok(vec![]));
    assert_eq!(store.keys("").await, Ok(vec![]));
    assert_eq!(store.opaque_token("acme", &digest(1)).await, Ok(None));
    assert_eq!(store.jwt_status("acme", "").await, Ok(JwtStatus::NotRevoked));
    // Deleting what cannot exist succeeds.
    ok(store.delete_client("a/b", "web"), "delete client").await;
    ok(store.delete_key("acme", "nope"), "delete key").await;
    ok(store.delete_opaque_token("acme", &digest(1)), "delete token").await;
    ok(store.delete_tenant("a/b"), "delete tenant").await;
}

/// Ids carrying a NUL (which keys may use as a separator) read as absent, never as another
/// record or a corrupt one, and writes under them are refused.
pub(crate) async fn ids_with_a_nul_read_as_absent(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "put tenant").await;
    ok(store.put_client(&client("acme", "web")), "put client").await;
    ok(store.put_user(&user("acme", "u1", "bob", None)), "put user").await;
    assert_eq!(store.tenant("acme\0").await, Ok(None));
    assert_eq!(store.tenant("\0acme").await, Ok(None));
    assert_eq!(store.client("acme", "web\0").await, Ok(None));
    assert_eq!(store.client("acme\0web", "").await, Ok(None));
    assert_eq!(store.clients("acme\0").await, Ok(vec![]));
    assert_eq!(store.keys("acme\0").await, Ok(vec![]));
    assert_eq!(store.user("acme", "u1\0").await, Ok(None));
    assert_eq!(store.user("acme\0u1", "").await, Ok(None));
    assert_eq!(store.users("acme\0").await, Ok(vec![]));
    assert_eq!(store.consent("acme", "u1\0", "web").await, Ok(None));
    assert_eq!(store.jwt_status("acme\0", "jwt").await, Ok(JwtStatus::NotRevoked));
    assert!(store.put_client(&client("acme", "w\0b")).await.is_err(), "a client id with a NUL");
    assert!(store.put_tenant(&tenant("a\0b")).await.is_err(), "a tenant id with a NUL");
    assert_eq!(store.clients("acme").await.map(|c| c.len()), Ok(1));
}

pub(crate) async fn clients_and_keys_of_another_tenant_are_invisible(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_client(&client("acme", "web")), "put client").await;
    ok(store.put_key(&key("acme", "k1", 100)), "put key").await;
    // "acm" shares a prefix with "acme": it must not see acme's records.
    for other in ["other", "acm"] {
        assert_eq!(store.client(other, "web").await, Ok(None), "{other}");
        assert_eq!(store.clients(other).await, Ok(vec![]), "{other}");
        assert_eq!(store.keys(other).await, Ok(vec![]), "{other}");
        ok(store.delete_client(other, "web"), "delete in another tenant").await;
        ok(store.delete_key(other, "k1"), "delete in another tenant").await;
    }
    assert!(store.client("acme", "web").await.expect("read client").is_some());
    assert_eq!(store.keys("acme").await, Ok(vec![key("acme", "k1", 100)]));
}

pub(crate) async fn opaque_tokens_round_trip_and_are_deleted(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_opaque_token(&digest(1), &token("acme", "t1", 5_000)), "put token").await;
    ok(store.put_opaque_token(&digest(2), &token("acme", "t2", 5_000)), "put token").await;
    assert_eq!(store.opaque_token("acme", &digest(1)).await, Ok(Some(token("acme", "t1", 5_000))));
    assert_eq!(store.opaque_token("acme", &digest(3)).await, Ok(None));
    ok(store.delete_opaque_token("acme", &digest(1)), "delete token").await;
    assert_eq!(store.opaque_token("acme", &digest(1)).await, Ok(None));
    assert_eq!(store.opaque_token("acme", &digest(2)).await, Ok(Some(token("acme", "t2", 5_000))));
}

pub(crate) async fn opaque_tokens_of_another_tenant_are_invisible(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_opaque_token(&digest(1), &token("acme", "t1", 5_000)), "put token").await;
    assert_eq!(store.opaque_token("globex", &digest(1)).await, Ok(None));
    assert_eq!(store.opaque_token("acm", &digest(1)).await, Ok(None));
    // Deleting under the wrong tenant deletes nothing.
    ok(store.delete_opaque_token("globex", &digest(1)), "delete in another tenant").await;
    assert_eq!(store.opaque_token("acme", &digest(1)).await, Ok(Some(token("acme", "t1", 5_000))));
}

pub(crate) async fn expired_opaque_tokens_leave(h: &impl Harness) {
    let store = open_at(h, 1_000);
    for i in 0..3 {
        ok(store.put_opaque_token(&digest(i), &token("acme", "old", 1_005)), "put token").await;
    }
    ok(store.put_opaque_token(&digest(10), &token("acme", "live", 2_000)), "put token").await;
    h.set_now(1_004);
    h.expire(&store);
    assert!(store.opaque_token("acme", &digest(0)).await.expect("read token").is_some(), "not due yet");
    h.set_now(1_005);
    h.expire(&store);
    for i in 0..3 {
        assert_eq!(store.opaque_token("acme", &digest(i)).await, Ok(None), "token {i}");
    }
    assert_eq!(store.opaque_token("acme", &digest(10)).await, Ok(Some(token("acme", "live", 2_000))));
}

pub(crate) async fn a_revoked_jti_is_on_the_deny_list_until_its_exp(h: &impl Harness) {
    let store = open_at(h, 1_000);
    assert_eq!(store.jwt_status("acme", "jwt-1").await, Ok(JwtStatus::NotRevoked));
    ok(store.put_revocation(&revocation("acme", "jwt-1", 1_100)), "put revocation").await;
    assert_eq!(store.jwt_status("acme", "jwt-1").await, Ok(JwtStatus::Revoked));
    assert_eq!(store.jwt_status("acme", "jwt-2").await, Ok(JwtStatus::NotRevoked));
    h.set_now(1_099);
    assert_eq!(store.jwt_status("acme", "jwt-1").await, Ok(JwtStatus::Revoked));
    // From `exp` on the token is dead anyway: the entry no longer counts, swept or not.
    h.set_now(1_100);
    assert_eq!(store.jwt_status("acme", "jwt-1").await, Ok(JwtStatus::NotRevoked));
}

pub(crate) async fn the_deny_list_is_per_tenant(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_revocation(&revocation("acme", "jwt-1", 5_000)), "put revocation").await;
    assert_eq!(store.jwt_status("acme", "jwt-1").await, Ok(JwtStatus::Revoked));
    assert_eq!(store.jwt_status("globex", "jwt-1").await, Ok(JwtStatus::NotRevoked));
    assert_eq!(store.jwt_status("acm", "jwt-1").await, Ok(JwtStatus::NotRevoked));
}

pub(crate) async fn expired_revocations_leave(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_revocation(&revocation("acme", "old", 1_005)), "put revocation").await;
    ok(store.put_revocation(&revocation("acme", "live", 2_000)), "put revocation").await;
    h.set_now(1_005);
    h.expire(&store);
    // Gone, not merely past its exp: with the clock turned back it is still not revoked.
    h.set_now(1_000);
    assert_eq!(store.jwt_status("acme", "old").await, Ok(JwtStatus::NotRevoked));
    assert_eq!(store.jwt_status("acme", "live").await, Ok(JwtStatus::Revoked));
}

pub(crate) async fn a_record_rewritten_with_a_later_expiry_outlives_the_first(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_opaque_token(&digest(1), &token("acme", "t", 1_005)), "put token").await;
    ok(store.put_opaque_token(&digest(1), &token("acme", "t", 5_000)), "rewrite token").await;
    ok(store.put_revocation(&revocation("acme", "j", 1_005)), "put revocation").await;
    ok(store.put_revocation(&revocation("acme", "j", 5_000)), "rewrite revocation").await;
    h.set_now(1_010);
    h.expire(&store);
    assert_eq!(store.opaque_token("acme", &digest(1)).await, Ok(Some(token("acme", "t", 5_000))));
    assert_eq!(store.jwt_status("acme", "j").await, Ok(JwtStatus::Revoked));
}

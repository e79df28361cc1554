//! One record of every kind for a tenant, and checks that all of them are there or all gone:
//! shared by the tenancy and durability cases, so a new record kind is added in one place.

use tessera_core::model::RefreshToken;
use tessera_core::store::{CodeTaken, RefreshUse, Store, StoreError, Subject};
use tessera_core::store::{FamilyStatus, FoundRefresh, JwtStatus};

use crate::fixtures::{
    api_key, client, code, consent, digest, key, link, lockout, ok, refresh, revocation, role, session,
    successor, tenant, token, user,
};

/// Digests of the tenant's code, session, opaque token and refresh token: the same in every
/// tenant, so isolation is tested on equal keys.
const CODE: u32 = 1;
const SESSION: u32 = 2;
const OPAQUE: u32 = 3;
const REFRESH: u32 = 4;

/// Writes, in tenant `t`: the tenant, client `web`, key `k1`, opaque token, revocation `jwt-1`,
/// user `u1` (`alice`, `alice@example.com`), code, session, consent, refresh token of family
/// `fam1` (by client `web`), a tombstone for family `dead`, role `r1` assigned to `u1` and
/// `web`, an API key, a lockout of `alice` at an address, and `u1`'s federated link at
/// identity provider [`IDP`]. Everything lives until 9_000.
pub(crate) async fn fill(store: &impl Store, t: &str) {
    ok(store.put_tenant(&tenant(t)), "put tenant").await;
    ok(store.put_client(&client(t, "web")), "put client").await;
    ok(store.put_key(&key(t, "k1", 100)), "put key").await;
    ok(store.put_opaque_token(&digest(OPAQUE), &token(t, "t1", 9_000)), "put token").await;
    ok(store.put_revocation(&revocation(t, "jwt-1", 9_000)), "put revocation").await;
    ok(store.put_user(&user(t, "u1", "alice", Some("alice@example.com"))), "put user").await;
    ok(store.put_code(&digest(CODE), &code(t, 9_000)), "put code").await;
    ok(store.put_session(&digest(SESSION), &session(t, "sid-1", 1_000, 9_000)), "put session").await;
    ok(store.put_consent(&consent(t, "u1", "web", &["openid"])), "put consent").await;
    ok(store.put_refresh_token(&digest(REFRESH), &refresh(t, "fam1", 1_000, 9_000)), "put refresh").await;
    ok(store.revoke_refresh_family(t, "dead", 9_000), "tombstone").await;
    ok(store.create_role(&role(t, "r1", "editor", &["docs:write"])), "create role").await;
    ok(store.assign_role(t, Subject::User("u1"), "r1"), "assign to the user").await;
    ok(store.assign_role(t, Subject::Client("web"), "r1"), "assign to the client").await;
    ok(store.create_api_key(&api_key(t, API_KEY)), "create API key").await;
    ok(store.put_lockout(&lockout(t, "alice", 9_000)), "put lockout").await;
    assert_eq!(store.create_federated_link(&link(t, IDP, "alice-up", "u1")).await, Ok(None), "create link");
}

/// The identity provider of the federated link [`fill`] writes.
const IDP: &str = "IIIIIIIIIIIIIIIIIIIIII";

/// The live lockouts of tenant `t` at 1_000.
async fn lockouts_of(store: &impl Store, t: &str) -> Vec<tessera_core::model::Lockout> {
    let all = store.live_lockouts(1_000).await.expect("read lockouts");
    all.into_iter().filter(|l| l.tenant == t).collect()
}

/// The id of the API key [`fill`] writes.
const API_KEY: &str = "KKKKKKKKKKKKKKKKKKKKKK";

/// Asserts that everything [`fill`] wrote in `t` reads back. Takes the code (so it is used
/// afterwards) but changes nothing else.
pub(crate) async fn assert_present(store: &impl Store, t: &str) {
    assert_eq!(store.tenant(t).await.expect("read tenant").as_deref(), Some(&tenant(t)), "{t}: tenant");
    assert_eq!(store.clients(t).await, Ok(vec![client(t, "web")]), "{t}: clients");
    assert_eq!(store.keys(t).await, Ok(vec![key(t, "k1", 100)]), "{t}: keys");
    assert_eq!(store.opaque_token(t, &digest(OPAQUE)).await, Ok(Some(token(t, "t1", 9_000))), "{t}: token");
    assert_eq!(store.jwt_status(t, "jwt-1").await, Ok(JwtStatus::Revoked), "{t}: revocation");
    let alice = user(t, "u1", "alice", Some("alice@example.com"));
    assert_eq!(store.user(t, "u1").await, Ok(Some(alice.clone())), "{t}: user");
    assert_eq!(store.user_by_username(t, "ALICE").await, Ok(Some(alice.clone())), "{t}: username");
    assert_eq!(store.user_by_email(t, "Alice@example.com").await, Ok(Some(alice)), "{t}: e-mail");
    let session = session(t, "sid-1", 1_000, 9_000);
    assert_eq!(store.session(t, &digest(SESSION), 1_000).await, Ok(Some(session)), "{t}: session");
    let consent = consent(t, "u1", "web", &["openid"]);
    assert_eq!(store.consent(t, "u1", "web").await, Ok(Some(consent)), "{t}: consent");
    let rt = refresh(t, "fam1", 1_000, 9_000);
    assert_eq!(
        store.refresh_token(t, &digest(REFRESH), 1_000).await,
        Ok(Some(FoundRefresh { token: rt, family: FamilyStatus::Live })),
        "{t}: refresh"
    );
    let put = store.put_refresh_token(&digest(99), &refresh(t, "dead", 1_000, 9_000)).await;
    assert!(matches!(put, Err(StoreError::Conflict(_))), "{t}: tombstone: {put:?}");
    assert_eq!(store.take_code(t, &digest(CODE)).await, Ok(CodeTaken::Fresh(code(t, 9_000))), "{t}: code");
    let roles = store.roles(t).await.expect("read roles");
    assert_eq!(roles.roles(), [role(t, "r1", "editor", &["docs:write"])], "{t}: roles");
    for subject in [Subject::User("u1"), Subject::Client("web")] {
        let held = store.roles_of(t, subject).await.expect("read assignments");
        assert_eq!(*held, ["r1"], "{t}: {subject:?}'s roles");
    }
    assert_eq!(store.api_key(t, API_KEY).await, Ok(Some(api_key(t, API_KEY))), "{t}: API key");
    assert_eq!(lockouts_of(store, t).await, vec![lockout(t, "alice", 9_000)], "{t}: lockout");
    let linked = Some(link(t, IDP, "alice-up", "u1"));
    assert_eq!(store.federated_link(t, IDP, "alice-up").await, Ok(linked.clone()), "{t}: federated link");
    assert_eq!(store.federated_links_of_user(t, "u1").await, Ok(linked.into_iter().collect()), "{t}: links");
}

/// Asserts that nothing [`fill`] wrote in `t` is left but the tenant record (which callers
/// check, since a re-created tenant has one): no record reads back, no name is taken, no
/// family (live or revoked) remains. Writes records of its own to show the last two.
pub(crate) async fn assert_records_gone(store: &impl Store, t: &str) {
    assert_eq!(store.clients(t).await, Ok(vec![]), "{t}: clients");
    assert_eq!(store.client(t, "web").await.expect("read client"), None, "{t}: client");
    assert_eq!(store.keys(t).await, Ok(vec![]), "{t}: keys");
    assert_eq!(store.opaque_token(t, &digest(OPAQUE)).await, Ok(None), "{t}: token");
    assert_eq!(store.jwt_status(t, "jwt-1").await, Ok(JwtStatus::NotRevoked), "{t}: revocation");
    assert_eq!(store.user(t, "u1").await, Ok(None), "{t}: user");
    assert_eq!(store.users(t).await, Ok(vec![]), "{t}: users");
    assert_eq!(store.user_by_username(t, "alice").await, Ok(None), "{t}: username");
    assert_eq!(store.user_by_email(t, "alice@example.com").await, Ok(None), "{t}: e-mail");
    assert_eq!(store.session(t, &digest(SESSION), 1_000).await, Ok(None), "{t}: session");
    assert_eq!(store.consent(t, "u1", "web").await, Ok(None), "{t}: consent");
    assert_eq!(store.refresh_token(t, &digest(REFRESH), 1_000).await, Ok(None), "{t}: refresh token");
    assert_eq!(store.take_code(t, &digest(CODE)).await, Ok(CodeTaken::Unknown), "{t}: code");
    assert!(store.roles(t).await.expect("read roles").is_empty(), "{t}: roles");
    assert_eq!(store.api_keys(t).await, Ok(vec![]), "{t}: API keys");
    assert_eq!(lockouts_of(store, t).await, vec![], "{t}: lockouts");
    assert_eq!(store.federated_link(t, IDP, "alice-up").await, Ok(None), "{t}: federated link");
    assert_eq!(store.federated_links_of_user(t, "u1").await, Ok(vec![]), "{t}: federated links");
    for subject in [Subject::User("u1"), Subject::Client("web")] {
        let held = store.roles_of(t, subject).await.expect("read assignments");
        assert!(held.is_empty(), "{t}: {subject:?}'s roles: {held:?}");
    }
    // The refresh token cannot be used either (nothing may be issued from it).
    let next = successor(&refresh(t, "fam1", 1_000, 9_000), 1_100);
    let used = store.use_refresh_token(t, &digest(REFRESH), &digest(98), &next, 1_100, 60).await;
    assert_eq!(used, Ok(RefreshUse::Unknown), "{t}: refresh use");
    // The names are free again, and both families are gone: the tombstone refuses nothing and
    // `fam1` can be founded by another client.
    ok(store.put_user(&user(t, "u9", "Alice", Some("ALICE@example.com"))), "reuse the names").await;
    ok(store.put_refresh_token(&digest(97), &refresh(t, "dead", 1_000, 9_000)), "tombstone gone").await;
    let by_cli = RefreshToken { client_id: "cli".to_owned(), ..refresh(t, "fam1", 1_000, 9_000) };
    ok(store.put_refresh_token(&digest(96), &by_cli), "family gone").await;
}

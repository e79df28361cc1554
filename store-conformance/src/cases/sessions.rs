//! SSO sessions (`SessionStore`): round trip under the cookie's digest, not returned from their
//! expiry on, replaced by a new login, deleted, invisible to other tenants, durable, removed
//! by the backend's expiry, and ended all at once for one user.

use tessera_core::model::{Authentication, Session};
use tessera_core::store::{SessionStore, Store};

use crate::Harness;
use crate::fixtures::{digest, ok, session};
use crate::harness::open_at;

async fn read(store: &impl Store, tenant: &str, d: u32, now: i64) -> Option<Session> {
    store.session(tenant, &digest(d), now).await.expect("read a session")
}

pub(crate) async fn sessions_round_trip(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let s = session("acme", "sid-1", 1_000, 2_000);
    assert_eq!(read(&*store, "acme", 1, 1_000).await, None);
    ok(store.put_session(&digest(1), &s), "put session").await;
    assert_eq!(read(&*store, "acme", 1, 1_000).await, Some(s));
    assert_eq!(read(&*store, "acme", 2, 1_000).await, None);
}

pub(crate) async fn a_session_is_not_returned_from_its_expiry(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let s = session("acme", "sid-1", 1_000, 2_000);
    ok(store.put_session(&digest(1), &s), "put session").await;
    assert_eq!(read(&*store, "acme", 1, 1_999).await, Some(s));
    // `expires_at` is the first instant the session is over; the `now` argument decides,
    // whatever the backend's own clock says.
    assert_eq!(read(&*store, "acme", 1, 2_000).await, None);
    assert_eq!(read(&*store, "acme", 1, 9_000).await, None);
}

pub(crate) async fn a_new_login_replaces_the_session(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_session(&digest(1), &session("acme", "sid-1", 1_000, 2_000)), "put session").await;
    let again = session("acme", "sid-2", 1_500, 3_000);
    ok(store.put_session(&digest(1), &again), "replace session").await;
    assert_eq!(read(&*store, "acme", 1, 1_500).await, Some(again.clone()));
    // The replacement's own expiry counts, not the first session's.
    assert_eq!(read(&*store, "acme", 1, 2_500).await, Some(again));
}

pub(crate) async fn deleting_a_session_ends_it(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let s = session("acme", "sid-1", 1_000, 2_000);
    ok(store.put_session(&digest(1), &s), "put session").await;
    ok(store.put_session(&digest(2), &s), "put session").await;
    ok(store.delete_session("acme", &digest(1)), "delete session").await;
    assert_eq!(read(&*store, "acme", 1, 1_000).await, None);
    assert_eq!(read(&*store, "acme", 2, 1_000).await, Some(s), "only that session ended");
    // Deleting what is not there, or cannot be, is no error.
    ok(store.delete_session("acme", &digest(1)), "delete again").await;
    ok(store.delete_session("not a tenant", &digest(1)), "delete under an invalid tenant").await;
}

pub(crate) async fn another_tenant_cannot_see_or_end_a_session(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let s = session("acme", "sid-1", 1_000, 2_000);
    ok(store.put_session(&digest(1), &s), "put session").await;
    assert_eq!(read(&*store, "other", 1, 1_000).await, None);
    assert_eq!(read(&*store, "acm", 1, 1_000).await, None);
    assert_eq!(read(&*store, "a/b", 1, 1_000).await, None);
    ok(store.delete_session("other", &digest(1)), "delete under another tenant").await;
    assert_eq!(read(&*store, "acme", 1, 1_000).await, Some(s));
}

pub(crate) async fn sessions_survive_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let s = session("acme", "sid-1", 1_000, 2_000);
    ok(store.put_session(&digest(1), &s), "put session").await;
    ok(store.put_session(&digest(2), &s), "put session").await;
    ok(store.delete_session("acme", &digest(2)), "delete session").await;
    let store = h.reopen(store);
    assert_eq!(read(&*store, "acme", 1, 1_000).await, Some(s));
    assert_eq!(read(&*store, "acme", 2, 1_000).await, None, "the deletion survived too");
}

pub(crate) async fn expired_sessions_leave(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_session(&digest(1), &session("acme", "sid-1", 1_000, 2_000)), "put").await;
    ok(store.put_session(&digest(2), &session("acme", "sid-2", 1_000, 2_000)), "put").await;
    ok(store.put_session(&digest(3), &session("acme", "sid-3", 1_000, 5_000)), "put").await;
    // Replaced by a longer session: the first one's expiry must not take the replacement.
    let longer = session("acme", "sid-2", 1_500, 6_000);
    ok(store.put_session(&digest(2), &longer), "replace").await;
    h.set_now(2_000);
    h.expire(&store);
    // Gone, not merely hidden: asked about an earlier instant, still absent.
    assert_eq!(read(&*store, "acme", 1, 1_500).await, None);
    assert_eq!(read(&*store, "acme", 2, 2_000).await, Some(longer));
    assert!(read(&*store, "acme", 3, 2_000).await.is_some());
}

/// A session like the fixture's, of user `sub`.
fn session_of(sub: &str, tenant: &str, sid: &str) -> Session {
    let s = session(tenant, sid, 1_000, 2_000);
    Session { auth: Authentication { sub: sub.to_owned(), ..s.auth.clone() }, ..s }
}

pub(crate) async fn ending_a_users_sessions_ends_every_one_of_them_and_no_other(h: &impl Harness) {
    let store = open_at(h, 1_000);
    // Two browsers of u1, one of u2, and u1's namesake in another tenant.
    ok(store.put_session(&digest(1), &session_of("u1", "acme", "sid-1")), "put").await;
    ok(store.put_session(&digest(2), &session_of("u1", "acme", "sid-2")), "put").await;
    let theirs = session_of("u2", "acme", "sid-3");
    ok(store.put_session(&digest(3), &theirs), "put").await;
    let elsewhere = session_of("u1", "other", "sid-4");
    ok(store.put_session(&digest(4), &elsewhere), "put").await;

    ok(store.end_sessions_of_user("acme", "u1"), "end u1's sessions").await;
    assert_eq!(read(&*store, "acme", 1, 1_000).await, None);
    assert_eq!(read(&*store, "acme", 2, 1_000).await, None);
    assert_eq!(read(&*store, "acme", 3, 1_000).await, Some(theirs), "another user's session");
    assert_eq!(read(&*store, "other", 4, 1_000).await, Some(elsewhere), "another tenant's session");
    // Ending again, or for users no session can have, is no error.
    ok(store.end_sessions_of_user("acme", "u1"), "end again").await;
    ok(store.end_sessions_of_user("acme", "nobody"), "a user without sessions").await;
    ok(store.end_sessions_of_user("acme", "u/1"), "an invalid user id").await;
    ok(store.end_sessions_of_user("a/b", "u1"), "an invalid tenant").await;
}

pub(crate) async fn a_session_of_another_user_under_the_same_cookie_is_not_ended(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_session(&digest(1), &session_of("u1", "acme", "sid-1")), "put").await;
    // Another user signs in with the same cookie: the session is theirs now.
    let theirs = session_of("u2", "acme", "sid-2");
    ok(store.put_session(&digest(1), &theirs), "replace").await;
    ok(store.end_sessions_of_user("acme", "u1"), "end u1's sessions").await;
    assert_eq!(read(&*store, "acme", 1, 1_000).await, Some(theirs));
    ok(store.end_sessions_of_user("acme", "u2"), "end u2's sessions").await;
    assert_eq!(read(&*store, "acme", 1, 1_000).await, None);
}

pub(crate) async fn sessions_put_after_ending_live_and_the_end_survives_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_session(&digest(1), &session_of("u1", "acme", "sid-1")), "put").await;
    ok(store.put_session(&digest(2), &session_of("u1", "acme", "sid-2")), "put").await;
    // Sessions that ended on their own before do not stand in the way.
    ok(store.delete_session("acme", &digest(2)), "log out").await;
    ok(store.put_session(&digest(3), &session("acme", "sid-3", 1_000, 1_500)), "put").await;
    h.set_now(1_500);
    h.expire(&store);
    ok(store.end_sessions_of_user("acme", "u1"), "end u1's sessions").await;
    // A login after the end is a session like any other, even under a cookie used before.
    let next = session_of("u1", "acme", "sid-4");
    ok(store.put_session(&digest(2), &next), "log in again").await;
    let store = h.reopen(store);
    assert_eq!(read(&*store, "acme", 1, 1_000).await, None, "the end survived");
    assert_eq!(read(&*store, "acme", 2, 1_000).await, Some(next));
}

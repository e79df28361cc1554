//! Listing users a page at a time and replacing their profile, on the real binary:
//! `GET .../users?limit=&cursor=&username=&email=&disabled=` walked to the end with users
//! added between pages (no user twice, none missed), each filter, the refusals of bad limits,
//! cursors, filters (`role`, before roles exist) and unknown parameters (400), no admin key
//! (401), unknown tenants (404); `PUT .../users/{id}/profile` replacing the standard claims
//! whole, with its 400, 401, 404 and 415.

mod common;

use std::collections::BTreeSet;

use common::{Backend, TestServer, form_encode};
use http::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const PASSWORD: &str = "correct horse battery staple";

async fn server() -> TestServer {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant(TENANT, Value::Null).await;
    server
}

/// Creates user `username` (with `extra` fields); returns its id.
async fn user(server: &TestServer, username: &str, extra: Value) -> String {
    let body = common::with_extra(json!({ "username": username, "password": PASSWORD }), extra);
    server.create_user(TENANT, body).await["id"].as_str().expect("user id").to_owned()
}

/// `GET .../users?{query}` of `TENANT`.
async fn list(server: &TestServer, query: &str) -> common::Reply {
    server.admin(Method::GET, &format!("/tenants/{TENANT}/users?{query}"), None).await
}

/// A listing page: asserts 200, and returns the ids and `next`.
async fn page(server: &TestServer, query: &str) -> (Vec<String>, Option<String>) {
    let reply = list(server, query).await;
    reply.expect_status(200, &format!("list {query}"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let users = reply.json["users"].as_array().unwrap_or_else(|| panic!("users: {}", reply.text));
    assert!(!reply.text.contains("argon2"), "no hash listed");
    let ids = users.iter().map(|u| u["id"].as_str().expect("id").to_owned()).collect();
    let next = match &reply.json["next"] {
        Value::Null => None,
        Value::String(next) => Some(next.clone()),
        other => panic!("next is a string or null: {other}"),
    };
    (ids, next)
}

/// Every page of `filters` with `limit`; after each page, `between` runs with the page number.
async fn walk(
    server: &TestServer,
    filters: &str,
    limit: usize,
    mut between: impl AsyncFnMut(usize),
) -> Vec<String> {
    let mut met = Vec::new();
    let mut cursor: Option<String> = None;
    for n in 1.. {
        let mut query = format!("limit={limit}{filters}");
        if let Some(cursor) = &cursor {
            query.push_str(&format!("&cursor={}", form_encode(cursor)));
        }
        let (ids, next) = page(server, &query).await;
        assert!(ids.len() <= limit, "at most the limit");
        if next.is_some() {
            assert_eq!(ids.len(), limit, "a page with a next page is full");
        }
        met.extend(ids);
        between(n).await;
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(n < 100, "the walk ends");
    }
    met
}

#[tokio::test]
async fn a_walk_meets_every_user_once_while_users_are_added() {
    let server = server().await;
    let mut before = BTreeSet::new();
    for i in 0..7 {
        before.insert(user(&server, &format!("first{i}"), json!({})).await);
    }
    let mut added = BTreeSet::new();
    let met = walk(&server, "", 3, async |n| {
        added.insert(user(&server, &format!("added{n}"), json!({})).await);
    })
    .await;
    let unique: BTreeSet<String> = met.iter().cloned().collect();
    assert_eq!(unique.len(), met.len(), "no user twice: {met:?}");
    assert!(before.is_subset(&unique), "every user there from the start: {met:?}");
    assert!(unique.is_subset(&before.union(&added).cloned().collect()), "nobody else");
    assert!(met.windows(2).all(|w| w[0] < w[1]), "in id order");
    // No gaps: walked again, every user is there, and a page as large as the tenant is the last.
    let everyone: BTreeSet<String> = before.union(&added).cloned().collect();
    let again = walk(&server, "", 2, async |_| {}).await;
    assert_eq!(again.iter().cloned().collect::<BTreeSet<_>>(), everyone);
    assert_eq!(again.len(), everyone.len());
    let (all, next) = page(&server, "limit=200").await;
    assert_eq!((all.len(), next), (everyone.len(), None));
    // Without a limit, the default page size (50) holds them all.
    let (all, next) = page(&server, "").await;
    assert_eq!((all.len(), next), (everyone.len(), None));
}

#[tokio::test]
async fn filters_find_users_by_name_address_and_state() {
    let server = server().await;
    let alice = user(&server, "Alice", json!({ "email": "Alice@Example.com" })).await;
    let bob = user(&server, "bob", json!({ "email": "bob@example.com" })).await;
    let carol = user(&server, "straße", json!({ "email": "carol@example.com", "disabled": true })).await;
    let dave = user(&server, "dave", json!({})).await;
    let path = format!("/tenants/{TENANT}/users/{dave}");
    server.admin(Method::PATCH, &path, Some(json!({ "disabled": true }))).await.expect_status(200, "disable");

    let ids = |v: &[&String]| v.iter().map(|s| (*s).clone()).collect::<Vec<_>>();
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    for (query, expected) in [
        // The same folding as the uniqueness indexes: case, full case folding.
        ("username=ALICE", ids(&[&alice])),
        ("username=STRASSE", ids(&[&carol])),
        ("username=alic", vec![]),
        ("email=ALICE%40example.COM", ids(&[&alice])),
        ("email=nobody%40example.com", vec![]),
        // A username filter is no e-mail filter.
        ("username=bob%40example.com", vec![]),
        ("disabled=true", sorted(ids(&[&carol, &dave]))),
        ("disabled=false", sorted(ids(&[&alice, &bob]))),
        ("username=dave&disabled=true", ids(&[&dave])),
        ("username=dave&disabled=false", vec![]),
        ("username=bob&email=BOB%40example.com", ids(&[&bob])),
        ("username=bob&email=alice%40example.com", vec![]),
        // Empty values are absent (as in any form).
        ("username=&email=", sorted(ids(&[&alice, &bob, &carol, &dave]))),
    ] {
        let (got, next) = page(&server, query).await;
        assert_eq!((got, next), (expected, None), "{query}");
    }
    // The disabled filter across pages of one.
    let met = walk(&server, "&disabled=true", 1, async |_| {}).await;
    assert_eq!(met, sorted(ids(&[&carol, &dave])));
    // The listing shows the state.
    let reply = list(&server, "username=dave").await;
    assert_eq!(reply.json["users"][0]["disabled"], true);
    assert_eq!(reply.json["users"][0]["username"], "dave");
}

#[tokio::test]
async fn bad_listing_requests_are_refused() {
    let server = server().await;
    user(&server, "alice", json!({})).await;
    let (_, next) = page(&server, "limit=1").await;
    assert_eq!(next, None, "one user, one page");
    let other_listing = base64_url("events:AAAAAAAAAAAAAAAAAAAAAA");
    let bad_id = base64_url("users:a/b");
    for query in [
        "limit=0".to_owned(),
        "limit=201".to_owned(),
        "limit=-1".to_owned(),
        "limit=ten".to_owned(),
        "limit=1.5".to_owned(),
        "cursor=nonsense!".to_owned(),
        "cursor=AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        format!("cursor={other_listing}"),
        format!("cursor={bad_id}"),
        "disabled=yes".to_owned(),
        "disabled=1".to_owned(),
        "disable=true".to_owned(),
        "limit=1&limit=2".to_owned(),
        "name=alice".to_owned(),
        "cursor=%FF".to_owned(),
    ] {
        list(&server, &query).await.expect_api_error(400, Some("invalid_request"), &query);
    }
    // A role the tenant does not have has no users.
    for query in ["role=editor", "role=editor&username=alice"] {
        let reply = list(&server, query).await;
        reply.expect_status(200, query);
        assert_eq!(reply.json["users"], serde_json::json!([]), "{query}");
    }
    // Who asks is checked first; then the tenant.
    let path = format!("/api/v1/tenants/{TENANT}/users?limit=1");
    server.send(Method::GET, &path, &[], None).await.expect_api_error(401, None, "no admin key");
    let wrong = [("authorization", "Bearer not-the-admin-key-not-the-admin-key")];
    server.send(Method::GET, &path, &wrong, None).await.expect_api_error(401, None, "wrong key");
    server.admin(Method::GET, "/tenants/nope/users?limit=1", None).await.expect_api_error(
        404,
        None,
        "unknown tenant",
    );
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn a_profile_put_replaces_the_standard_claims_whole() {
    let server = server().await;
    let id = user(
        &server,
        "ada",
        json!({ "email": "ada@example.com", "email_verified": true, "name": "Ada", "locale": "en-GB",
                "phone_number": "+44 20 7946 0000", "phone_number_verified": true }),
    )
    .await;
    let user_path = format!("/tenants/{TENANT}/users/{id}");
    let before = server.admin(Method::GET, &user_path, None).await.json;
    let path = format!("{user_path}/profile");
    let profile = json!({
        "given_name": "Ada", "family_name": "Lovelace", "middle_name": "King",
        "nickname": "Countess", "preferred_username": "ada.l", "profile": "https://example.com/ada",
        "picture": "https://example.com/ada.png", "website": "https://ada.example",
        "gender": "female", "birthdate": "1815-12-10", "zoneinfo": "Europe/London",
        "locale": "en", "phone_number": "+44 20 7946 0001",
        "address": { "locality": "London", "country": "UK" },
    });
    let reply = server.admin(Method::PUT, &path, Some(profile.clone())).await;
    reply.expect_status(200, "put profile");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let shown = reply.json.clone();
    for (claim, value) in profile.as_object().expect("an object") {
        assert_eq!(&shown[claim], value, "{claim}");
    }
    // Absent claims are cleared, whatever they were.
    assert!(shown.get("name").is_none(), "name cleared: {shown}");
    assert_eq!(shown["phone_number_verified"], false, "absent is false");
    // What is not a profile claim stays.
    for kept in ["id", "username", "email", "email_verified", "disabled", "created_at"] {
        assert_eq!(shown[kept], before[kept], "{kept}");
    }
    assert!(shown["updated_at"].as_i64() >= before["updated_at"].as_i64());
    assert_eq!(server.admin(Method::GET, &user_path, None).await.json, shown, "read back");
    // An empty profile clears them all.
    let reply = server.admin(Method::PUT, &path, Some(json!({}))).await;
    reply.expect_status(200, "empty profile");
    for claim in ["given_name", "family_name", "address", "locale", "phone_number"] {
        assert!(reply.json.get(claim).is_none(), "{claim} cleared: {}", reply.text);
    }
    let cleared = reply.json;

    // Refusals change nothing.
    for bad in [
        json!({ "email": "other@example.com" }),
        json!({ "username": "other" }),
        json!({ "password": "a whole new password" }),
        json!({ "disabled": true }),
        json!({ "updated_at": 5 }),
        json!({ "name": "a\u{7}b" }),
        json!({ "name": "a\nb" }),
        json!({ "nickname": "n".repeat(2000) }),
        json!({ "address": { "planet": "Mars" } }),
        json!({ "phone_number_verified": "yes" }),
        json!({ "name": 5 }),
        json!(["name"]),
    ] {
        server.admin(Method::PUT, &path, Some(bad.clone())).await.expect_api_error(
            400,
            None,
            &bad.to_string(),
        );
    }
    assert_eq!(server.admin(Method::GET, &user_path, None).await.json, cleared, "nothing changed");
    let as_text =
        [("authorization", format!("Bearer {}", server.admin_key)), ("content-type", "text/plain".into())];
    let headers: Vec<(&str, &str)> = as_text.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let reply = server.send(Method::PUT, &format!("/api/v1{path}"), &headers, Some(b"{}".to_vec())).await;
    reply.expect_api_error(415, None, "not JSON");
    let reply = server
        .send(
            Method::PUT,
            &format!("/api/v1{path}"),
            &[("content-type", "application/json")],
            Some(b"{}".to_vec()),
        )
        .await;
    reply.expect_api_error(401, None, "no admin key");
    let unknown = format!("/tenants/{TENANT}/users/AAAAAAAAAAAAAAAAAAAAAA/profile");
    server.admin(Method::PUT, &unknown, Some(json!({}))).await.expect_api_error(404, None, "unknown user");
    let other_tenant = format!("/tenants/nope/users/{id}/profile");
    server.admin(Method::PUT, &other_tenant, Some(json!({}))).await.expect_api_error(
        404,
        None,
        "unknown tenant",
    );
    server.admin(Method::GET, &path, None).await.expect_api_error(405, None, "PUT only");
}

//! Local users through the admin API on the real binary: create, read, list, PATCH (profile,
//! username, e-mail, password) and DELETE; the password and its hash never appear in a
//! response; 409 for a duplicate username or e-mail (regardless of case), also when PATCHing
//! onto another user's address, with nothing changed; of concurrent creates of one username
//! exactly one wins; tenant isolation; deleting the tenant deletes its users; users survive
//! `kill -9`. Each create costs an argon2id hash, so each test makes only a handful.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestServer, assert_no_password};
use reqwest::Method;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

/// Creates a user through the harness (201, and neither the body's password nor a hash shown),
/// and asserts that [`PASSWORD`] is not shown either.
async fn create_user(server: &TestServer, tenant: &str, body: Value) -> Value {
    let user = server.create_user(tenant, body).await;
    assert_no_password(&user.to_string(), &user, PASSWORD);
    user
}

fn user_path(tenant: &str, id: &str) -> String {
    format!("/tenants/{tenant}/users/{id}")
}

/// The first page of the tenant's users (pages follow ids, which are random), sorted by
/// username so that tests can compare it; asserts 200.
async fn listed_by_username(server: &TestServer, tenant: &str) -> Value {
    let reply = server.admin(Method::GET, &format!("/tenants/{tenant}/users"), None).await;
    reply.expect_status(200, "list users");
    let mut users = reply.json["users"].as_array().unwrap().clone();
    users.sort_by(|a, b| a["username"].as_str().cmp(&b["username"].as_str()));
    Value::Array(users)
}

#[tokio::test]
async fn user_crud_never_shows_the_password() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let created = create_user(
        &server,
        "acme",
        json!({
            "username": "alice", "password": PASSWORD, "email": "Alice@Example.com",
            "email_verified": true, "name": "Alice Liddell", "given_name": "Alice",
            "family_name": "Liddell", "locale": "en-GB", "zoneinfo": "Europe/London",
            "phone_number": "+44 20 7946 0000", "picture": "https://example.com/a.png",
            "address": { "locality": "Oxford", "country": "UK" }
        }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 22, "16 random bytes, base64url");
    assert_eq!(created["username"], "alice");
    assert_eq!(created["email"], "Alice@Example.com", "stored as given, compared without case");
    assert_eq!(created["email_verified"], true);
    assert_eq!(created["address"], json!({ "locality": "Oxford", "country": "UK" }));
    assert_eq!(created["phone_number_verified"], false);
    assert!(created.get("middle_name").is_none(), "absent claims are left out");

    let reply = server.admin(Method::GET, &user_path("acme", &id), None).await;
    reply.expect_status(200, "get user");
    assert_no_password(&reply.text, &reply.json, PASSWORD);
    assert_eq!(reply.json, created);
    assert_eq!(reply.header("cache-control"), Some("no-store"));

    create_user(&server, "acme", json!({ "username": "bob", "password": "another password" })).await;
    let reply = server.admin(Method::GET, "/tenants/acme/users", None).await;
    reply.expect_status(200, "list users");
    assert_no_password(&reply.text, &reply.json, PASSWORD);
    let listed = listed_by_username(&server, "acme").await;
    let names: Vec<&str> =
        listed.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"]);

    let patch = json!({ "name": "Alice L.", "locale": null, "password": "a brand new password",
                        "username": "alice2", "address": { "formatted": "1 High St\nOxford" } });
    let reply = server.admin(Method::PATCH, &user_path("acme", &id), Some(patch)).await;
    reply.expect_status(200, "patch user");
    assert!(!reply.text.contains("a brand new password"));
    assert_no_password(&reply.text, &reply.json, PASSWORD);
    assert_eq!(reply.json["name"], "Alice L.");
    assert_eq!(reply.json["username"], "alice2");
    assert!(reply.json.get("locale").is_none(), "null clears a claim");
    assert_eq!(reply.json["address"], json!({ "formatted": "1 High St\nOxford" }));
    assert_eq!(reply.json["given_name"], "Alice", "untouched fields stay");
    // The old username is free again.
    create_user(&server, "acme", json!({ "username": "ALICE", "password": PASSWORD })).await;

    let reply = server.admin(Method::DELETE, &user_path("acme", &id), None).await;
    reply.expect_status(204, "delete user");
    server.admin(Method::GET, &user_path("acme", &id), None).await.expect_api_error(404, None, "deleted");
    server.admin(Method::DELETE, &user_path("acme", &id), None).await.expect_api_error(404, None, "again");
    server
        .admin(Method::PATCH, &user_path("acme", &id), Some(json!({ "name": "x" })))
        .await
        .expect_api_error(404, None, "patch deleted");
}

#[tokio::test]
async fn invalid_users_are_400_and_unknown_tenants_404() {
    let server = TestServer::start(Backend::Software).await;
    let bad = [
        json!({ "password": PASSWORD }),
        json!({ "username": "nopassword" }),
        json!({ "username": "short", "password": "1234567" }),
        json!({ "username": "long", "password": "x".repeat(1025) }),
        json!({ "username": "has space", "password": PASSWORD }),
        json!({ "username": "", "password": PASSWORD }),
        json!({ "username": "u".repeat(65), "password": PASSWORD }),
        json!({ "username": "mail", "password": PASSWORD, "email": "not-an-email" }),
        json!({ "username": "ctl", "password": PASSWORD, "name": "a\u{7}b" }),
        json!({ "username": "big", "password": PASSWORD, "nickname": "n".repeat(2000) }),
        json!({ "username": "hash", "password": PASSWORD, "password_hash": "$x" }),
        json!({ "username": "id", "password": PASSWORD, "id": "chosen" }),
        json!({ "username": "addr", "password": PASSWORD, "address": { "planet": "Mars" } }),
    ];
    for body in bad {
        let reply = server.admin(Method::POST, "/tenants/default/users", Some(body.clone())).await;
        reply.expect_api_error(400, None, &format!("invalid user {body}"));
        assert!(!reply.text.contains(PASSWORD));
    }
    let reply = server.admin(Method::GET, "/tenants/default/users", None).await;
    assert_eq!(reply.json["users"], json!([]), "nothing was created");
    server
        .admin(Method::POST, "/tenants/nope/users", Some(json!({ "username": "a", "password": PASSWORD })))
        .await
        .expect_api_error(404, None, "unknown tenant");
    server.admin(Method::GET, "/tenants/nope/users", None).await.expect_api_error(404, None, "list");
    server
        .admin(Method::GET, "/tenants/default/users/unknown", None)
        .await
        .expect_api_error(404, None, "get");
}

#[tokio::test]
async fn duplicates_are_409_and_change_nothing() {
    let server = TestServer::start(Backend::Software).await;
    let alice = create_user(
        &server,
        "default",
        json!({ "username": "alice", "password": PASSWORD, "email": "alice@example.com" }),
    )
    .await;
    let bob = create_user(
        &server,
        "default",
        json!({ "username": "bob", "password": PASSWORD, "email": "bob@example.com" }),
    )
    .await;
    for body in [
        json!({ "username": "Alice", "password": PASSWORD }),
        json!({ "username": "carol", "password": PASSWORD, "email": "ALICE@example.COM" }),
        // One namespace, since the login form takes either: a username that is another
        // user's address.
        json!({ "username": "Bob@Example.com", "password": PASSWORD }),
        // Compatibility forms are one name with their plain letters (NFKC): full-width, as an
        // IME types it, and a ligature in an address.
        json!({ "username": "\u{FF41}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}", "password": PASSWORD }),
        json!({ "username": "carol", "password": PASSWORD, "email": "b\u{FF4F}b@example.com" }),
    ] {
        server.admin(Method::POST, "/tenants/default/users", Some(body)).await.expect_api_error(
            409,
            Some("conflict"),
            "duplicate",
        );
    }
    // PATCHing bob onto alice's address (and name) fails and leaves bob as he was.
    let bob_id = bob["id"].as_str().unwrap();
    for patch in [
        json!({ "email": "Alice@Example.com", "name": "Bob" }),
        json!({ "username": "ALICE", "name": "Bob" }),
    ] {
        server.admin(Method::PATCH, &user_path("default", bob_id), Some(patch)).await.expect_api_error(
            409,
            Some("conflict"),
            "patch onto another user's name",
        );
    }
    let reply = server.admin(Method::GET, &user_path("default", bob_id), None).await;
    assert_eq!(reply.json, bob, "nothing changed");
    assert_eq!(listed_by_username(&server, "default").await, json!([alice, bob]));
}

#[tokio::test]
async fn of_concurrent_creates_exactly_one_wins() {
    let server = TestServer::start(Backend::Software).await;
    let create = |n: u32| {
        let body = json!({ "username": "same", "password": PASSWORD, "name": format!("n{n}") });
        server.admin(Method::POST, "/tenants/default/users", Some(body))
    };
    let (a, b, c, d) = tokio::join!(create(1), create(2), create(3), create(4));
    let statuses: Vec<u16> = [a, b, c, d].iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 3, "{statuses:?}");
    let reply = server.admin(Method::GET, "/tenants/default/users", None).await;
    assert_eq!(reply.json["users"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn users_belong_to_their_tenant_and_go_with_it() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("a", Value::Null).await;
    server.create_tenant("b", Value::Null).await;
    let user = create_user(
        &server,
        "a",
        json!({ "username": "alice", "password": PASSWORD, "email": "alice@example.com" }),
    )
    .await;
    let id = user["id"].as_str().unwrap();
    server.admin(Method::GET, &user_path("b", id), None).await.expect_api_error(404, None, "other tenant");
    server.admin(Method::DELETE, &user_path("b", id), None).await.expect_api_error(404, None, "other tenant");
    // The same names are free in another tenant.
    create_user(
        &server,
        "b",
        json!({ "username": "alice", "password": PASSWORD, "email": "alice@example.com" }),
    )
    .await;

    server.admin(Method::DELETE, "/tenants/a", None).await.expect_status(204, "delete tenant");
    server.create_tenant("a", Value::Null).await;
    server.admin(Method::GET, &user_path("a", id), None).await.expect_api_error(
        404,
        None,
        "gone with the tenant",
    );
    let reply = server.admin(Method::GET, "/tenants/a/users", None).await;
    assert_eq!(reply.json["users"], json!([]));
    // Its names went too.
    create_user(
        &server,
        "a",
        json!({ "username": "alice", "password": PASSWORD, "email": "alice@example.com" }),
    )
    .await;
}

#[tokio::test]
async fn users_survive_kill9() {
    let mut server = TestServer::start(Backend::Software).await;
    let kept = create_user(
        &server,
        "default",
        json!({ "username": "kept", "password": PASSWORD, "email": "kept@example.com" }),
    )
    .await;
    let renamed = create_user(&server, "default", json!({ "username": "old", "password": PASSWORD })).await;
    let renamed_id = renamed["id"].as_str().unwrap();
    // The last request before the kill: its answer promises durability.
    let reply = server
        .admin(Method::PATCH, &user_path("default", renamed_id), Some(json!({ "username": "new" })))
        .await;
    reply.expect_status(200, "rename");
    let renamed = reply.json;
    server.kill9();
    server.restart().await;

    assert_eq!(listed_by_username(&server, "default").await, json!([kept, renamed]));
    // The indexes came back too: the names are still taken, the old one is free.
    server
        .admin(
            Method::POST,
            "/tenants/default/users",
            Some(json!({ "username": "NEW", "password": PASSWORD })),
        )
        .await
        .expect_api_error(409, Some("conflict"), "index survives");
    server
        .admin(
            Method::POST,
            "/tenants/default/users",
            Some(json!({ "username": "x", "password": PASSWORD, "email": "KEPT@example.com" })),
        )
        .await
        .expect_api_error(409, Some("conflict"), "email index survives");
    create_user(&server, "default", json!({ "username": "old", "password": PASSWORD })).await;
}

#[tokio::test]
async fn names_fold_by_unicode_rules_and_may_not_hide_invisible_characters() {
    let server = TestServer::start(Backend::Software).await;
    create_user(&server, "default", json!({ "username": "strasse", "password": PASSWORD })).await;
    // Full case folding: sharp s is "ss".
    server
        .admin(
            Method::POST,
            "/tenants/default/users",
            Some(json!({ "username": "STRA\u{00DF}E", "password": PASSWORD })),
        )
        .await
        .expect_api_error(409, Some("conflict"), "sharp s folds to ss");
    // Characters that render as nothing would make a second "strasse" that looks the same.
    for body in [
        json!({ "username": "stra\u{200B}sse", "password": PASSWORD }),
        json!({ "username": "\u{202E}essarts", "password": PASSWORD }),
        json!({ "username": "dora", "password": PASSWORD, "email": "do\u{00AD}ra@example.com" }),
    ] {
        server.admin(Method::POST, "/tenants/default/users", Some(body)).await.expect_api_error(
            400,
            Some("invalid_request"),
            "invisible characters",
        );
    }
    // Accents and other scripts are other names.
    for name in ["stra\u{00DF}e\u{0301}", "\u{0455}trasse"] {
        create_user(&server, "default", json!({ "username": name, "password": PASSWORD })).await;
    }
}

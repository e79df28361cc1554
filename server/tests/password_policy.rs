//! A tenant's password policy on the real binary: `password_min_length`,
//! `password_reject_common` and `self_service_registration` in the settings (defaults shown,
//! bounds refused with 400), and the policy applied where the admin API sets a password (user
//! create and PATCH): a refused password is a 400 that does not quote it, and no user is
//! stored. A stricter minimum applies to the very next request, without a restart, and is still
//! there after one; a user whose password predates it still signs in.

mod common;

use common::{Backend, Client, EndUser, Options, TestServer};
use http::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
/// Nine characters, on no list: fine under the default policy, too short once the minimum is 12.
const NINE: &str = "kq7vz3mxw";
/// Twelve characters and on the common-password list.
const COMMON_12: &str = "1qaz2wsx3edc";

async fn server() -> TestServer {
    let server = TestServer::start_with(Options::many_logins(Backend::Software)).await;
    server.create_tenant(TENANT, Value::Null).await;
    server
}

/// `POST .../users`, answered as it comes.
async fn try_create(server: &TestServer, username: &str, password: &str) -> common::Reply {
    let body = json!({ "username": username, "password": password });
    server.admin(Method::POST, &format!("/tenants/{TENANT}/users"), Some(body)).await
}

/// Asserts a 400 `invalid_request` whose description says `why` and does not quote `password`.
#[track_caller]
fn assert_refused(reply: &common::Reply, password: &str, why: &str) {
    reply.expect_status(400, why);
    assert_eq!(reply.error(), Some("invalid_request"), "{}", reply.text);
    let description = reply.json["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(why), "{why}: {description}");
    assert!(!reply.text.contains(password), "password echoed: {}", reply.text);
}

/// The users of the tenant named `username` (the listing's exact-name filter).
async fn users_named(server: &TestServer, username: &str) -> usize {
    let reply =
        server.admin(Method::GET, &format!("/tenants/{TENANT}/users?username={username}"), None).await;
    reply.expect_status(200, "list users");
    reply.json["users"].as_array().map_or(0, Vec::len)
}

/// Signs `username` in through the code flow of `client` and exchanges the code (asserts 200).
async fn signs_in(server: &TestServer, client: &Client, username: &str, password: &str) {
    let tokens = EndUser::new(server, TENANT).tokens(client, "openid", username, password).await;
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

#[tokio::test]
async fn settings_show_the_password_defaults_and_refuse_out_of_bounds() {
    let server = server().await;
    let settings = server.get_settings(TENANT).await;
    assert_eq!(settings["password_min_length"], 8, "{settings}");
    assert_eq!(settings["password_reject_common"], true, "{settings}");
    assert_eq!(settings["self_service_registration"], false, "{settings}");

    let set = server
        .put_settings(
            TENANT,
            json!({ "password_min_length": 12, "password_reject_common": false, "self_service_registration": true }),
        )
        .await;
    assert_eq!(
        (&set["password_min_length"], &set["password_reject_common"], &set["self_service_registration"]),
        (&json!(12), &json!(false), &json!(true))
    );
    assert_eq!(server.get_settings(TENANT).await, set);

    let path = format!("/tenants/{TENANT}/settings");
    for bad in [
        json!({ "password_min_length": 7 }),
        json!({ "password_min_length": 0 }),
        json!({ "password_min_length": 129 }),
        json!({ "password_min_length": -1 }),
        json!({ "password_min_length": "12" }),
        json!({ "password_reject_common": "yes" }),
        json!({ "self_service_registration": 1 }),
    ] {
        let reply = server.admin(Method::PUT, &path, Some(bad.clone())).await;
        reply.expect_status(400, &format!("{bad}"));
        assert_eq!(reply.error(), Some("invalid_request"), "{bad}: {}", reply.text);
    }
    let reply = server.admin(Method::PUT, &path, Some(json!({ "password_min_length": 7 }))).await;
    assert!(reply.text.contains("password_min_length must be between 8 and 128"), "{}", reply.text);
    // The PATCH of the tenant and a new tenant's settings keep the same bounds.
    let patch = json!({ "settings": { "password_min_length": 200 } });
    server.admin(Method::PATCH, &format!("/tenants/{TENANT}"), Some(patch)).await.expect_status(400, "patch");
    let create = json!({ "id": "lax", "settings": { "password_min_length": 4 } });
    server.admin(Method::POST, "/tenants", Some(create)).await.expect_status(400, "create");
    // Nothing refused was stored.
    assert_eq!(server.get_settings(TENANT).await, set);
}

#[tokio::test]
async fn new_passwords_follow_the_policy_at_once_and_after_a_restart() {
    let mut server = server().await;
    let client = Client::register_first_party(&server, TENANT, REDIRECT, "openid", Value::Null).await;

    // Default policy: 8 characters, the common-password list on, in any case.
    for (username, password, why) in [
        ("short", "1234567", "at least 8 characters"),
        ("common", "password1", "too common"),
        ("shouty", "PassWord1", "too common"),
        ("common12", COMMON_12, "too common"),
    ] {
        assert_refused(&try_create(&server, username, password).await, password, why);
        assert_eq!(users_named(&server, username).await, 0, "{username} was not stored");
    }
    let alice = server.create_user(TENANT, json!({ "username": "alice", "password": NINE })).await;
    let alice_path = format!("/tenants/{TENANT}/users/{}", alice["id"].as_str().expect("id"));

    // A stricter minimum: the very next create and PATCH see it, with no restart and no wait.
    server.put_settings(TENANT, json!({ "password_min_length": 12 })).await;
    assert_refused(&try_create(&server, "bob", "kq7vz3mxw12").await, "kq7vz3mxw12", "at least 12 characters");
    assert_eq!(users_named(&server, "bob").await, 0);
    let reply = server.admin(Method::PATCH, &alice_path, Some(json!({ "password": "kq7vz3mxw1" }))).await;
    assert_refused(&reply, "kq7vz3mxw1", "at least 12 characters");
    server.create_user(TENANT, json!({ "username": "bob", "password": "kq7vz3mxw123" })).await;
    // The list applies to a change of password too.
    let reply = server.admin(Method::PATCH, &alice_path, Some(json!({ "password": COMMON_12 }))).await;
    assert_refused(&reply, COMMON_12, "too common");

    // Alice's password predates the rule and is not rechecked at login.
    signs_in(&server, &client, "alice", NINE).await;

    // Turning the list off lets a common password of the right length through, at once.
    let patch = json!({ "settings": { "password_reject_common": false } });
    server.admin(Method::PATCH, &format!("/tenants/{TENANT}"), Some(patch)).await.expect_status(200, "patch");
    server.create_user(TENANT, json!({ "username": "carol", "password": COMMON_12 })).await;

    // The policy is stored: after a restart it still holds, and alice still signs in.
    server.restart().await;
    let settings = server.get_settings(TENANT).await;
    assert_eq!(
        (&settings["password_min_length"], &settings["password_reject_common"]),
        (&json!(12), &json!(false))
    );
    assert_refused(
        &try_create(&server, "dave", "kq7vz3mxw12").await,
        "kq7vz3mxw12",
        "at least 12 characters",
    );
    assert_eq!(users_named(&server, "dave").await, 0);
    signs_in(&server, &client, "alice", NINE).await;
}

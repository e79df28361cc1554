//! The operator's view of long-lived grants on the real binary: `GET .../tokens/grants?sub=`
//! lists a subject's live refresh-token families, a local user's from a code flow and a
//! brokered subject's (no local user) from a long-lived direct authorisation alike, and
//! `DELETE .../tokens/grants/{id}` revokes one: its refresh token is then `invalid_grant` at
//! `/token` and it is no longer listed, while the other grant works on. Another tenant neither
//! lists nor revokes them; `sub` is required and checked; callers without the token tools'
//! permission, or of another tenant, are refused as on every admin route.

mod common;

use common::{Backend, Client, EndUser, Options, Reply, TestServer};
use reqwest::Method;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const OTHER: &str = "globex";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";
/// A subject the broker vouches for: no user of either tenant.
const BROKERED: &str = "broker-customer-7";
/// What `/token` says of a refresh token of a revoked family.
const REVOKED: &str = "the refresh token is invalid, expired or revoked";

/// `GET .../tokens/grants` at `tenant` with `query` (the whole query string), as the operator.
async fn list_raw(server: &TestServer, tenant: &str, query: &str) -> Reply {
    server.admin(Method::GET, &format!("/tenants/{tenant}/tokens/grants{query}"), None).await
}

/// The grants of `sub` at `tenant`; asserts 200 and `Cache-Control: no-store`.
async fn grants(server: &TestServer, tenant: &str, sub: &str) -> Vec<Value> {
    let reply = list_raw(server, tenant, &format!("?sub={sub}")).await;
    reply.expect_status(200, &format!("list the grants of {sub} at {tenant}"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.json["grants"].as_array().unwrap_or_else(|| panic!("grants in {}", reply.text)).clone()
}

/// `DELETE .../tokens/grants/{id}` at `tenant`, as the operator.
async fn revoke(server: &TestServer, tenant: &str, id: &str) -> Reply {
    server.admin(Method::DELETE, &format!("/tenants/{tenant}/tokens/grants/{id}"), None).await
}

/// The refresh token grant at `client`'s tenant.
async fn refresh(server: &TestServer, client: &Client, token: &str) -> Reply {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
    server.token_basic(&client.tenant, &client.id, &client.secret, &form).await
}

/// Refreshes `token`, asserting it works; returns its successor.
async fn refreshed(server: &TestServer, client: &Client, token: &str, what: &str) -> String {
    let reply = refresh(server, client, token).await;
    reply.expect_status(200, what);
    reply.json["refresh_token"].as_str().unwrap_or_else(|| panic!("{what}: {}", reply.text)).to_owned()
}

/// A long-lived direct authorisation of `sub` for `client`; returns its refresh token.
async fn long_lived(server: &TestServer, client: &Client, sub: &str) -> String {
    let issued =
        server.admin(Method::POST, &format!("/tenants/{}/direct-authz/token", client.tenant), None).await;
    issued.expect_status(201, "the direct-authz bearer token");
    let bearer = format!("Bearer {}", issued.json["token"].as_str().expect("token"));
    let body = json!({ "sub": sub, "client_id": client.id, "scope": ["read"], "long_lived": true });
    let headers = [
        ("content-type", "application/json"),
        ("tenant-id", client.tenant.as_str()),
        ("authorization", &bearer),
    ];
    let reply = server
        .send(Method::POST, "/direct-authz/rest/v2", &headers, Some(body.to_string().into_bytes()))
        .await;
    reply.expect_status(200, "a long-lived direct authorisation");
    reply.json["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a refresh token: {}", reply.text))
        .to_owned()
}

/// A server with tenants acme and globex, and in acme a first-party code-flow client that may
/// refresh and a local user; returns the client and the user's id and username.
async fn setup() -> (TestServer, Client, String, String) {
    let server = TestServer::start_with(Options::many_logins(Backend::Software)).await;
    server.create_tenant(TENANT, Value::Null).await;
    server.create_tenant(OTHER, Value::Null).await;
    let client =
        Client::register_first_party(&server, TENANT, REDIRECT, "openid offline_access read", json!({}))
            .await;
    let username = format!("user-{}", &common::random_string()[..8]);
    let body = json!({ "username": username, "password": PASSWORD });
    let user_id = server.create_user(TENANT, body).await["id"].as_str().expect("user id").to_owned();
    (server, client, user_id, username)
}

/// The one grant of a listing, checked against what it should name.
#[track_caller]
fn only_grant(listed: &[Value], client: &Client, sub: &str) -> String {
    assert_eq!(listed.len(), 1, "{listed:?}");
    let grant = &listed[0];
    assert_eq!((grant["client_id"].as_str(), grant["sub"].as_str()), (Some(client.id.as_str()), Some(sub)));
    assert!(grant["expires_at"].as_i64().is_some_and(|e| e > 0), "{grant}");
    let mut keys: Vec<&str> = grant.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["client_id", "expires_at", "id", "sub"], "exactly these members");
    grant["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_users_and_a_brokered_subjects_grants_are_listed_and_revoked_one_by_one() {
    let (server, client, user_id, username) = setup().await;
    let tokens =
        EndUser::new(&server, TENANT).tokens(&client, "openid offline_access", &username, PASSWORD).await;
    let mut user_refresh = tokens["refresh_token"].as_str().expect("the user's refresh token").to_owned();
    let brokered_refresh = long_lived(&server, &client, BROKERED).await;
    server
        .admin(Method::GET, &format!("/tenants/{TENANT}/users/{BROKERED}"), None)
        .await
        .expect_status(404, "the brokered subject is no local user");

    let user_grant = only_grant(&grants(&server, TENANT, &user_id).await, &client, &user_id);
    let brokered_grant = only_grant(&grants(&server, TENANT, BROKERED).await, &client, BROKERED);
    assert_ne!(user_grant, brokered_grant);
    // A rotation is the same grant: still one, under the same id.
    user_refresh = refreshed(&server, &client, &user_refresh, "the user's refresh").await;
    assert_eq!(only_grant(&grants(&server, TENANT, &user_id).await, &client, &user_id), user_grant);

    // Another tenant lists none of them, and its revocation of the id touches nothing here.
    assert_eq!(grants(&server, OTHER, &user_id).await, Vec::<Value>::new());
    assert_eq!(grants(&server, OTHER, BROKERED).await, Vec::<Value>::new());
    for id in [&user_grant, &brokered_grant] {
        revoke(&server, OTHER, id).await.expect_status(204, "a revocation in another tenant");
    }
    assert_eq!(only_grant(&grants(&server, TENANT, BROKERED).await, &client, BROKERED), brokered_grant);
    assert_eq!(only_grant(&grants(&server, TENANT, &user_id).await, &client, &user_id), user_grant);
    user_refresh =
        refreshed(&server, &client, &user_refresh, "the user's refresh after globex revoked").await;

    // Revoking the brokered grant: its refresh token is refused as revoked, and it is listed
    // no more. (Refused as revoked, not for its subject: the refresh grant holds a brokered
    // subject to a local user's standing and refuses it anyway, a limitation of its own.)
    revoke(&server, TENANT, &brokered_grant).await.expect_status(204, "revoke the brokered grant");
    revoke(&server, TENANT, &brokered_grant).await.expect_status(204, "revoke it again");
    let refused = refresh(&server, &client, &brokered_refresh).await;
    refused.expect_oauth_error(400, "invalid_grant", "the revoked brokered grant");
    assert_eq!(refused.json["error_description"], REVOKED, "{}", refused.text);
    assert_eq!(grants(&server, TENANT, BROKERED).await, Vec::<Value>::new());
    // The user's grant lives on.
    assert_eq!(only_grant(&grants(&server, TENANT, &user_id).await, &client, &user_id), user_grant);
    user_refresh =
        refreshed(&server, &client, &user_refresh, "the user's refresh after the other's revocation").await;

    // Then the user's, the same way.
    revoke(&server, TENANT, &user_grant).await.expect_status(204, "revoke the user's grant");
    let refused = refresh(&server, &client, &user_refresh).await;
    refused.expect_oauth_error(400, "invalid_grant", "the revoked user's grant");
    assert_eq!(refused.json["error_description"], REVOKED, "{}", refused.text);
    assert_eq!(grants(&server, TENANT, &user_id).await, Vec::<Value>::new());

    // An id no grant can have is not found; an unknown one is revoked all the same.
    for bad in ["bad~id", &"a".repeat(65)] {
        revoke(&server, TENANT, bad).await.expect_status(404, &format!("an invalid grant id {bad}"));
    }
    revoke(&server, TENANT, "no-such-grant").await.expect_status(204, "an unknown grant id");
    revoke(&server, "nope", &user_grant).await.expect_status(404, "an unknown tenant");
}

#[tokio::test]
async fn the_listing_needs_a_valid_sub_and_a_caller_with_the_token_tools() {
    let (server, client, user_id, username) = setup().await;
    EndUser::new(&server, TENANT).tokens(&client, "openid offline_access", &username, PASSWORD).await;
    let grant = only_grant(&grants(&server, TENANT, &user_id).await, &client, &user_id);

    // `sub` is required, bounded and free of control characters; nothing else is taken.
    let long = format!("?sub={}", "a".repeat(256));
    for query in
        ["", "?", "?sub=", "?sub=a%0Ab", "?sub=a%00", "?sub=a&sub=b", "?user=a", "?sub=a&limit=1", &long]
    {
        list_raw(&server, TENANT, query).await.expect_status(400, &format!("query {query:?}"));
    }
    // Any other subject, local-looking or not, simply has none.
    let max = "a".repeat(255);
    for sub in ["nobody", "someone%40example.com", "broker%7Cx", max.as_str()] {
        assert_eq!(grants(&server, TENANT, sub).await, Vec::<Value>::new(), "{sub}");
    }
    list_raw(&server, "nope", &format!("?sub={user_id}")).await.expect_status(404, "an unknown tenant");

    // No credential: 401, on both routes.
    let list_path = format!("/api/v1/tenants/{TENANT}/tokens/grants?sub={user_id}");
    let grant_path = format!("/api/v1/tenants/{TENANT}/tokens/grants/{grant}");
    server.send(Method::GET, &list_path, &[], None).await.expect_status(401, "list without a credential");
    server
        .send(Method::DELETE, &grant_path, &[], None)
        .await
        .expect_status(401, "revoke without a credential");
    // A token of the tenant with another area's permission: 403; with the token tools': allowed.
    let reader = server.admin_token(TENANT, &["admin:users:read"], false).await;
    let reader = format!("Bearer {reader}");
    let as_reader = [(AUTHORIZATION.as_str(), reader.as_str())];
    server.send(Method::GET, &list_path, &as_reader, None).await.expect_status(403, "list as a users reader");
    server
        .send(Method::DELETE, &grant_path, &as_reader, None)
        .await
        .expect_status(403, "revoke as a users reader");
    // Another tenant's operator, however mighty there: 403 here.
    let other = server.admin_token(OTHER, &["admin:*"], false).await;
    let other = format!("Bearer {other}");
    let as_other = [(AUTHORIZATION.as_str(), other.as_str())];
    server
        .send(Method::GET, &list_path, &as_other, None)
        .await
        .expect_status(403, "list as globex's operator");
    server
        .send(Method::DELETE, &grant_path, &as_other, None)
        .await
        .expect_status(403, "revoke as globex's operator");
    assert_eq!(grants(&server, TENANT, &user_id).await.len(), 1, "nothing was revoked");

    let tools = server.admin_token(TENANT, &["admin:tokens:write"], false).await;
    let tools = format!("Bearer {tools}");
    let as_tools = [(AUTHORIZATION.as_str(), tools.as_str())];
    let listed = server.send(Method::GET, &list_path, &as_tools, None).await;
    listed.expect_status(200, "list with admin:tokens:write");
    assert_eq!(only_grant(listed.json["grants"].as_array().expect("grants"), &client, &user_id), grant);
    server
        .send(Method::DELETE, &grant_path, &as_tools, None)
        .await
        .expect_status(204, "revoke with admin:tokens:write");
    assert_eq!(grants(&server, TENANT, &user_id).await, Vec::<Value>::new());
}

//! Disabled users on the real binary: `PATCH .../users/{id}` with `{"disabled": true}` keeps the
//! user from signing in (the same answer as a wrong password) and stops every grant of theirs
//! at its next use: the SSO session, a code not yet redeemed, refresh tokens (`invalid_grant`),
//! JWT and opaque access tokens (inactive at introspection, refused at userinfo). Enabling the
//! user again brings none of those back, and a new login works. Other users are untouched.

mod common;

use common::{
    Backend, Client, EndUser, Options, TestServer, code_request, expect_login_page, is_login_page,
    random_string, set_cookie_value,
};
use http::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";
/// What the login page says for a wrong password (`web/login.rs`).
const INCORRECT: &str = "The username or password is incorrect.";

/// A server with tenant `acme`; the per-address login limit is raised, since every login of
/// these tests comes from 127.0.0.1.
async fn server() -> TestServer {
    let options = Options::many_logins(Backend::Software);
    let server = TestServer::start_with(options).await;
    server.create_tenant(TENANT, Value::Null).await;
    server
}

/// A first-party confidential code-flow client that may refresh, with `extra` metadata.
async fn rp(server: &TestServer, extra: Value) -> Client {
    Client::register_first_party(server, TENANT, REDIRECT, "openid profile offline_access", extra).await
}

/// A user (with `extra` fields); returns its id and username.
async fn user(server: &TestServer, extra: Value) -> (String, String) {
    let username = format!("user-{}", &random_string()[..8]);
    let body = json!({ "username": username, "password": PASSWORD, "name": "Ada" });
    let id = server.create_user(TENANT, common::with_extra(body, extra)).await["id"]
        .as_str()
        .expect("user id")
        .to_owned();
    (id, username)
}

/// `PATCH` of user `id` with `{"disabled": disabled}`; asserts 200 and that the answer says so.
async fn set_disabled(server: &TestServer, id: &str, disabled: bool) {
    let path = format!("/tenants/{TENANT}/users/{id}");
    let reply = server.admin(Method::PATCH, &path, Some(json!({ "disabled": disabled }))).await;
    reply.expect_status(200, "patch disabled");
    assert_eq!(reply.json["disabled"], disabled, "{}", reply.text);
    let read = server.admin(Method::GET, &path, None).await;
    assert_eq!(read.json["disabled"], disabled, "read back: {}", read.text);
}

fn refresh_token(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().expect("a refresh token").to_owned()
}

fn access_token(tokens: &Value) -> String {
    tokens["access_token"].as_str().expect("an access token").to_owned()
}

/// Whether `browser`'s session still signs it in.
async fn signed_in(browser: &mut EndUser<'_>, client: &Client) -> bool {
    !is_login_page(&browser.authorize(&code_request(&client.id, REDIRECT, &[])).await)
}

/// A login attempt from a fresh browser: the answer to the login form.
async fn try_login(server: &TestServer, client: &Client, username: &str, password: &str) -> common::Reply {
    let mut browser = EndUser::new(server, TENANT);
    let page = browser.authorize(&code_request(&client.id, REDIRECT, &[])).await;
    expect_login_page(&page, "login page");
    browser.login(&page, username, password).await
}

/// Asserts that a login was refused the way a wrong password is: the form again, saying the
/// username or password is incorrect, and no session.
#[track_caller]
fn expect_refused_login(server: &TestServer, reply: &common::Reply, what: &str) {
    expect_login_page(reply, what);
    assert!(reply.text.contains(INCORRECT), "{what}: {}", reply.text);
    let (session, _) = common::cookie_names(server, TENANT);
    assert!(set_cookie_value(reply, &session).is_none(), "{what}: no session cookie");
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_every_grant_of_theirs_stops() {
    let server = server().await;
    let jwt_rp = rp(&server, json!({})).await;
    let opaque_rp = rp(&server, json!({ "access_token_format": "opaque" })).await;
    let (rs_id, rs_secret) = server.cc_client(TENANT, "read").await;
    let (id, username) = user(&server, json!({})).await;
    let (_, bystander) = user(&server, json!({})).await;

    let mut browser = EndUser::new(&server, TENANT);
    let jwt_tokens = browser.tokens(&jwt_rp, "openid offline_access", &username, PASSWORD).await;
    let opaque_tokens = browser.tokens(&opaque_rp, "openid offline_access", &username, PASSWORD).await;
    let (jwt, opaque) = (access_token(&jwt_tokens), access_token(&opaque_tokens));
    let rt = refresh_token(&jwt_tokens);
    // A code issued before the disable and not yet redeemed.
    let pending = browser.pkce_code(&jwt_rp, "openid offline_access", &username, PASSWORD).await;
    let mut other = EndUser::new(&server, TENANT);
    let other_tokens = other.tokens(&jwt_rp, "openid offline_access", &bystander, PASSWORD).await;
    for token in [&jwt, &opaque] {
        assert!(server.is_active(TENANT, &rs_id, &rs_secret, token).await, "active before");
        server.userinfo(TENANT, token).await.expect_status(200, "userinfo before");
    }

    set_disabled(&server, &id, true).await;

    // Every grant of theirs stops at its next use.
    for token in [&jwt, &opaque] {
        assert!(!server.is_active(TENANT, &rs_id, &rs_secret, token).await, "a disabled user's access token");
        server.userinfo(TENANT, token).await.expect_bearer_error(401, "invalid_token", "userinfo refuses it");
    }
    assert!(!server.is_active(TENANT, &jwt_rp.id, &jwt_rp.secret, &rt).await, "the refresh token");
    server.refresh(&jwt_rp, &rt, None).await.expect_oauth_error(400, "invalid_grant", "refresh");
    server.exchange(&jwt_rp, &pending.code, Some(&pending.verifier)).await.expect_oauth_error(
        400,
        "invalid_grant",
        "a code issued before the disable",
    );
    assert!(!signed_in(&mut browser, &jwt_rp).await, "the session ended");
    // No sign-in: the right password gets the wrong password's answer.
    let right = try_login(&server, &jwt_rp, &username, PASSWORD).await;
    expect_refused_login(&server, &right, "a disabled user's right password");
    let wrong = try_login(&server, &jwt_rp, &username, "not the password at all").await;
    expect_refused_login(&server, &wrong, "a wrong password");
    assert_eq!(right.status, wrong.status, "indistinguishable");
    // Another user's grants are untouched.
    assert!(signed_in(&mut other, &jwt_rp).await, "another user's session");
    let other_at = access_token(&other_tokens);
    assert!(server.is_active(TENANT, &rs_id, &rs_secret, &other_at).await, "another user's token");
    server
        .refresh(&jwt_rp, &refresh_token(&other_tokens), None)
        .await
        .expect_status(200, "another's refresh");

    set_disabled(&server, &id, false).await;

    // Enabling again brings nothing back...
    for token in [&jwt, &opaque] {
        assert!(!server.is_active(TENANT, &rs_id, &rs_secret, token).await, "an old access token stays dead");
        server.userinfo(TENANT, token).await.expect_bearer_error(401, "invalid_token", "and at userinfo");
    }
    server.refresh(&jwt_rp, &rt, None).await.expect_oauth_error(400, "invalid_grant", "an old refresh token");
    assert!(!signed_in(&mut browser, &jwt_rp).await, "the old session stays ended");
    // ...but a new login works, with all its grants.
    let mut again = EndUser::new(&server, TENANT);
    let tokens = again.tokens(&jwt_rp, "openid offline_access", &username, PASSWORD).await;
    let at = access_token(&tokens);
    assert!(server.is_active(TENANT, &rs_id, &rs_secret, &at).await, "a new access token");
    server.userinfo(TENANT, &at).await.expect_status(200, "userinfo with a new token");
    server.refresh(&jwt_rp, &refresh_token(&tokens), None).await.expect_status(200, "a new refresh token");
    assert!(signed_in(&mut again, &jwt_rp).await, "a new session");
    server.assert_alive();
}

#[tokio::test]
async fn a_user_created_disabled_signs_in_only_once_enabled() {
    let server = server().await;
    let client = rp(&server, json!({})).await;
    let (id, username) = user(&server, json!({ "disabled": true })).await;
    let path = format!("/tenants/{TENANT}/users/{id}");
    assert_eq!(server.admin(Method::GET, &path, None).await.json["disabled"], true);
    expect_refused_login(
        &server,
        &try_login(&server, &client, &username, PASSWORD).await,
        "created disabled",
    );
    // Disabling a disabled user, or enabling an enabled one, is a no-op that succeeds.
    set_disabled(&server, &id, true).await;
    set_disabled(&server, &id, false).await;
    set_disabled(&server, &id, false).await;
    let mut browser = EndUser::new(&server, TENANT);
    let tokens = browser.tokens(&client, "openid offline_access", &username, PASSWORD).await;
    server.userinfo(TENANT, &access_token(&tokens)).await.expect_status(200, "signed in once enabled");
    // `disabled` must be a boolean; nothing changes on a refusal.
    for bad in [json!({ "disabled": "yes" }), json!({ "disabled": 1 })] {
        server.admin(Method::PATCH, &path, Some(bad)).await.expect_api_error(400, None, "not a boolean");
    }
    assert_eq!(server.admin(Method::GET, &path, None).await.json["disabled"], false);
    // Only the admin key may disable.
    let reply = server
        .send(
            Method::PATCH,
            &format!("/api/v1{path}"),
            &[("content-type", "application/json")],
            Some(br#"{"disabled":true}"#.to_vec()),
        )
        .await;
    reply.expect_api_error(401, None, "no admin key");
    let unknown = format!("/tenants/{TENANT}/users/AAAAAAAAAAAAAAAAAAAAAA");
    server.admin(Method::PATCH, &unknown, Some(json!({ "disabled": true }))).await.expect_api_error(
        404,
        None,
        "unknown user",
    );
    assert_eq!(server.admin(Method::GET, &path, None).await.json["disabled"], false);
}

#[tokio::test]
async fn a_profile_change_ends_no_grant() {
    let server = server().await;
    let client = rp(&server, json!({})).await;
    let (id, username) = user(&server, json!({})).await;
    let mut browser = EndUser::new(&server, TENANT);
    let tokens = browser.tokens(&client, "openid profile offline_access", &username, PASSWORD).await;
    let path = format!("/tenants/{TENANT}/users/{id}/profile");
    let reply = server.admin(Method::PUT, &path, Some(json!({ "name": "Ada Lovelace" }))).await;
    reply.expect_status(200, "put profile");
    let info = server.userinfo(TENANT, &access_token(&tokens)).await;
    info.expect_status(200, "userinfo after a profile change");
    assert_eq!(info.json["name"], "Ada Lovelace", "the new profile is served: {}", info.text);
    server.refresh(&client, &refresh_token(&tokens), None).await.expect_status(200, "refresh");
    assert!(signed_in(&mut browser, &client).await, "the session lives");
}

//! The end-user lifetimes a tenant's settings can override: `refresh_reuse_grace_secs` and
//! `session_ttl_secs` default to the server's flags and, once set on a tenant, apply to that
//! tenant alone.

mod common;

use common::{
    Backend, Client, EndUser, SESSION_COOKIE, TestServer, random_string, redirect_params, set_cookie,
    set_cookies,
};
use http::Method;
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";

/// A relying party registered in a tenant, and a user who can log in to it.
struct Rp {
    client: Client,
    username: String,
}

/// Creates a tenant, a first-party confidential client and a user.
async fn setup(server: &TestServer, tenant: &str) -> Rp {
    server.create_tenant(tenant, Value::Null).await;
    let creds = server
        .create_client(
            tenant,
            json!({
                "client_name": "Notes",
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [REDIRECT],
                "scope": "openid offline_access",
                "first_party": true,
            }),
        )
        .await;
    let username = format!("alice-{}", &random_string()[..8]);
    server.create_user(tenant, json!({ "username": username, "password": PASSWORD })).await;
    Rp { client: Client::new(tenant, creds, REDIRECT), username }
}

/// Logs in through `/authorize` for a code with PKCE and exchanges the code; returns the first
/// refresh token.
async fn refresh_token(server: &TestServer, rp: &Rp) -> String {
    let mut browser = EndUser::new(server, &rp.client.tenant);
    let tokens = browser.tokens(&rp.client, "openid offline_access", &rp.username, PASSWORD).await;
    tokens["refresh_token"].as_str().expect("refresh token").to_owned()
}

/// The `Max-Age` of the session cookie a fresh login to `rp` sets: the login's answer must be
/// the redirect to the client.
async fn session_cookie_max_age(server: &TestServer, rp: &Rp) -> String {
    let mut browser = EndUser::new(server, &rp.client.tenant);
    let request = common::code_request(&rp.client.id, REDIRECT, &[("scope", "openid offline_access")]);
    let reply = browser.sign_in(&request, &rp.username, PASSWORD).await;
    redirect_params(&reply, REDIRECT, "login");
    let cookies = set_cookies(&reply);
    let session = set_cookie(&cookies, SESSION_COOKIE).expect("session cookie after login");
    let max_age = session.attrs.iter().find_map(|a| a.strip_prefix("Max-Age="));
    max_age.unwrap_or_else(|| panic!("a Max-Age: {session:?}")).to_owned()
}

#[tokio::test]
async fn settings_show_the_overrides_null_when_unset() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let settings = server.get_settings("acme").await;
    assert!(settings["session_ttl_secs"].is_null(), "unset: {settings}");
    assert!(settings["refresh_reuse_grace_secs"].is_null(), "unset: {settings}");
    let set =
        server.put_settings("acme", json!({ "session_ttl_secs": 120, "refresh_reuse_grace_secs": 0 })).await;
    assert_eq!((&set["session_ttl_secs"], &set["refresh_reuse_grace_secs"]), (&json!(120), &json!(0)));
    let read = server.get_settings("acme").await;
    assert_eq!(read, set);
    // null clears an override.
    let cleared = server
        .put_settings("acme", json!({ "session_ttl_secs": null, "refresh_reuse_grace_secs": null }))
        .await;
    assert!(cleared["session_ttl_secs"].is_null() && cleared["refresh_reuse_grace_secs"].is_null());
    // Out of bounds: refused, nothing changed.
    for bad in [json!({ "session_ttl_secs": 59 }), json!({ "refresh_reuse_grace_secs": 301 })] {
        server.admin(Method::PUT, "/tenants/acme/settings", Some(bad.clone())).await.expect_api_error(
            400,
            None,
            &format!("{bad}"),
        );
    }
    assert_eq!(server.get_settings("acme").await, cleared);
    server.assert_alive();
}

#[tokio::test]
async fn without_a_grace_the_first_reuse_revokes_and_a_tenant_may_allow_one() {
    // The server flag stays at its default: no grace.
    let server = TestServer::start(Backend::Software).await;
    let strict = setup(&server, "strict").await;
    let lenient = setup(&server, "lenient").await;
    // The longest grace a tenant may set: the retry below falls within it however slow the
    // machine.
    let settings = server.put_settings("lenient", json!({ "refresh_reuse_grace_secs": 300 })).await;
    assert_eq!(settings["refresh_reuse_grace_secs"], 300);

    // The tenant with a grace: an immediate retry is a retry.
    let rt0 = refresh_token(&server, &lenient).await;
    server.refresh(&lenient.client, &rt0, None).await.expect_status(200, "first use");
    let retry = server.refresh(&lenient.client, &rt0, None).await;
    retry.expect_status(200, "retry within the tenant's grace");
    let rt_retry = retry.json["refresh_token"].as_str().expect("rotated").to_owned();
    server.refresh(&lenient.client, &rt_retry, None).await.expect_status(200, "the retry's token works");

    // The tenant without an override has the server's none: the same retry is a reuse, and
    // the family goes with it.
    let rt0 = refresh_token(&server, &strict).await;
    let first = server.refresh(&strict.client, &rt0, None).await;
    first.expect_status(200, "first use");
    let rt1 = first.json["refresh_token"].as_str().expect("rotated").to_owned();
    server.refresh(&strict.client, &rt0, None).await.expect_oauth_error(
        400,
        "invalid_grant",
        "reuse at once",
    );
    server.refresh(&strict.client, &rt1, None).await.expect_oauth_error(
        400,
        "invalid_grant",
        "family revoked",
    );
    server.assert_alive();
}

#[tokio::test]
async fn a_tenant_session_ttl_sets_the_cookie_max_age() {
    let server = TestServer::start(Backend::Software).await;
    let short = setup(&server, "short").await;
    let other = setup(&server, "other").await;
    server.put_settings("short", json!({ "session_ttl_secs": 120 })).await;

    assert_eq!(session_cookie_max_age(&server, &short).await, "120", "the tenant's session lifetime");
    assert_eq!(session_cookie_max_age(&server, &other).await, "36000", "the server's session lifetime");
    server.assert_alive();
}

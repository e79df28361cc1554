//! The end-user lifetimes a tenant's settings can override: `refresh_reuse_grace_secs` and
//! `session_ttl_secs` default to the server's flags and, once set on a tenant, apply to that
//! tenant alone.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Backend, Reply, TestServer, basic_auth, form_body, random_string};
use http::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "correct horse battery staple";

/// A relying party registered in a tenant, and a user who can log in to it.
struct Rp {
    tenant: String,
    client_id: String,
    secret: String,
    username: String,
}

/// Creates a tenant, a first-party confidential client and a user.
async fn setup(server: &TestServer, tenant: &str) -> Rp {
    server.create_tenant(tenant, Value::Null).await;
    let (client_id, secret) = server
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
    server
        .admin(
            Method::POST,
            &format!("/tenants/{tenant}/users"),
            Some(json!({ "username": username, "password": PASSWORD })),
        )
        .await
        .expect_status(201, "create user");
    Rp { tenant: tenant.to_owned(), client_id, secret, username }
}

/// The whole `Set-Cookie` header that sets `name` in `reply`.
fn set_cookie_header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|c| {
        let pair = c.split(';').next().unwrap_or_default();
        pair.split_once('=').is_some_and(|(n, v)| n.trim() == name && !v.is_empty())
    })
}

/// Logs in through `/authorize` for a code with PKCE; returns the login's reply (the redirect
/// to the client, with the session's `Set-Cookie`) and the PKCE verifier.
async fn log_in(server: &TestServer, rp: &Rp) -> (Reply, String) {
    let verifier = format!("{}{}", random_string(), random_string());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let query = [
        ("response_type", "code"),
        ("client_id", rp.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid offline_access"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let page = server.get(&format!("/t/{}/authorize?{}", rp.tenant, form_body(&query))).await;
    page.expect_status(200, "login page");
    let csrf = common::set_cookie_value(&page, "tessera_csrf").expect("CSRF cookie on the login page");
    let body = form_body(&[
        ("csrf", &common::hidden_input(&page.text, "csrf")),
        ("request", &common::hidden_input(&page.text, "request")),
        ("username", &rp.username),
        ("password", PASSWORD),
    ]);
    let cookie = format!("tessera_csrf={csrf}");
    let reply = server
        .send(
            Method::POST,
            &format!("/t/{}/login", rp.tenant),
            &[("content-type", "application/x-www-form-urlencoded"), ("cookie", &cookie)],
            Some(body.into_bytes()),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 303, "a redirect to the client; body: {}", reply.text);
    (reply, verifier)
}

/// Logs in and exchanges the code; returns the first refresh token.
async fn refresh_token(server: &TestServer, rp: &Rp) -> String {
    let (reply, verifier) = log_in(server, rp).await;
    let location = reply.header("location").expect("Location");
    let url = reqwest::Url::parse(location).expect("Location is a URL");
    let code = url.query_pairs().find(|(n, _)| n == "code").expect("code").1.into_owned();
    let body = form_body(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier),
    ]);
    let auth = basic_auth(&rp.client_id, &rp.secret);
    let reply = server.post_form(&rp.tenant, "token", Some(&auth), &body).await;
    reply.expect_status(200, "code exchange");
    reply.json["refresh_token"].as_str().expect("refresh token").to_owned()
}

async fn refresh(server: &TestServer, rp: &Rp, token: &str) -> Reply {
    let body = form_body(&[("grant_type", "refresh_token"), ("refresh_token", token)]);
    server.post_form(&rp.tenant, "token", Some(&basic_auth(&rp.client_id, &rp.secret)), &body).await
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
async fn a_tenant_without_grace_revokes_on_the_first_reuse() {
    // The server flag stays at its default of 10 s.
    let server = TestServer::start(Backend::Software).await;
    let strict = setup(&server, "strict").await;
    let lenient = setup(&server, "lenient").await;
    let settings = server.put_settings("strict", json!({ "refresh_reuse_grace_secs": 0 })).await;
    assert_eq!(settings["refresh_reuse_grace_secs"], 0);

    // The tenant without an override keeps the server's grace: an immediate retry is a retry.
    let rt0 = refresh_token(&server, &lenient).await;
    refresh(&server, &lenient, &rt0).await.expect_status(200, "first use");
    let retry = refresh(&server, &lenient, &rt0).await;
    retry.expect_status(200, "retry within the server's grace");
    let rt_retry = retry.json["refresh_token"].as_str().expect("rotated").to_owned();
    refresh(&server, &lenient, &rt_retry).await.expect_status(200, "the retry's token works");

    // The tenant with no grace: the same retry is a reuse, and the family goes with it.
    let rt0 = refresh_token(&server, &strict).await;
    let first = refresh(&server, &strict, &rt0).await;
    first.expect_status(200, "first use");
    let rt1 = first.json["refresh_token"].as_str().expect("rotated").to_owned();
    refresh(&server, &strict, &rt0).await.expect_oauth_error(400, "invalid_grant", "reuse at once");
    refresh(&server, &strict, &rt1).await.expect_oauth_error(400, "invalid_grant", "family revoked");
    server.assert_alive();
}

#[tokio::test]
async fn a_tenant_session_ttl_sets_the_cookie_max_age() {
    let server = TestServer::start(Backend::Software).await;
    let short = setup(&server, "short").await;
    let other = setup(&server, "other").await;
    server.put_settings("short", json!({ "session_ttl_secs": 120 })).await;

    let (reply, _) = log_in(&server, &short).await;
    let cookie = set_cookie_header(&reply, "tessera_session").expect("session cookie after login");
    assert!(cookie.contains("Max-Age=120"), "the tenant's session lifetime: {cookie}");

    let (reply, _) = log_in(&server, &other).await;
    let cookie = set_cookie_header(&reply, "tessera_session").expect("session cookie after login");
    assert!(cookie.contains("Max-Age=36000"), "the server's session lifetime: {cookie}");
    server.assert_alive();
}

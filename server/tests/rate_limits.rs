//! Rate limits at the token endpoint (issue 10 item 4) and sign-in lockouts that survive a
//! restart, against the real binary.
//!
//! Token endpoint: a tenant's `token_rate_limit` holds each client to a token bucket of its own,
//! a client's `token_rate_limit` overrides it (or says `"unlimited"`); over it, 429 with
//! `Retry-After` and an OAuth error body. Sign-in: a refusal by the per-(username, address)
//! limit is stored as a lockout, and a server restarted on the same data refuses the same
//! attempts until the lockout ends (`--login-lockout-secs`).
//!
//! Nothing here depends on timing. A client's burst is used up by sending requests until one
//! is refused (the first `burst` always succeed: a bucket starts full), at one refill a
//! second, which only a machine taking a second per request could outrun. Whatever holds only
//! within a window is asserted only when the window has not passed, and expiry is awaited by
//! asking again, for far longer than the lockout lasts.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{Backend, EndUser, Options, Reply, TestServer, redirect_params};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const OTHER: &str = "globex";
const CB: &str = "https://app.example/cb";
const PASSWORD: &str = "correct horse battery";
/// Requests sent to find a refusal past a burst: at one refill a second, never all allowed
/// unless each took a second.
const TRIES: usize = 40;

async fn server_with(flags: &[&str]) -> TestServer {
    let mut options = Options::new(Backend::Software);
    options.extra_args = flags.iter().map(|f| (*f).to_owned()).collect();
    TestServer::start_with(options).await
}

/// A client-credentials client of `tenant` with `extra` metadata; its id and secret.
async fn cc_client(server: &TestServer, tenant: &str, extra: Value) -> (String, String) {
    let body = common::with_extra(json!({ "grant_types": ["client_credentials"], "scope": "read" }), extra);
    server.create_client(tenant, body).await
}

async fn token(server: &TestServer, tenant: &str, client: &(String, String)) -> Reply {
    server.token_basic(tenant, &client.0, &client.1, &[("grant_type", "client_credentials")]).await
}

/// Sends token requests until one is refused; returns how many succeeded first and the
/// refusal, or `None` if all [`TRIES`] succeeded.
async fn until_refused(
    server: &TestServer,
    tenant: &str,
    client: &(String, String),
) -> (usize, Option<Reply>) {
    for ok in 0..TRIES {
        let reply = token(server, tenant, client).await;
        match reply.status.as_u16() {
            200 => continue,
            429 => return (ok, Some(reply)),
            other => panic!("token request {ok}: unexpected {other}: {}", reply.text),
        }
    }
    (TRIES, None)
}

/// Asserts that `n` token requests of `client` all succeed.
async fn all_succeed(server: &TestServer, tenant: &str, client: &(String, String), n: usize, what: &str) {
    for i in 0..n {
        token(server, tenant, client).await.expect_status(200, &format!("{what}: request {i}"));
    }
}

#[track_caller]
fn expect_rate_limited(reply: &Reply, what: &str) {
    assert_eq!(reply.status.as_u16(), 429, "{what}: {}", reply.text);
    assert_eq!(reply.json["error"], "temporarily_unavailable", "{what}: {}", reply.text);
    assert!(reply.json["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{what}");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
    assert!(reply.header("content-type").is_some_and(|t| t.starts_with("application/json")), "{what}");
    let retry: u64 = reply.header("retry-after").expect("Retry-After").parse().expect("whole seconds");
    // One refill a second: the next request within a second, said as at least 1.
    assert_eq!(retry, 1, "{what}");
}

/// The value of `tessera_refusals_total{limit="<limit>"}`.
async fn refusals(server: &TestServer, limit: &str) -> u64 {
    let text = server.get("/metrics").await.text;
    let series = format!("tessera_refusals_total{{limit=\"{limit}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
        .trim()
        .parse()
        .expect("a count")
}

/// The `rate_limited` events of `tenant`, once there are at least `at_least`.
async fn rate_limited_events(server: &TestServer, tenant: &str, at_least: usize) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..500 {
        let path = format!("/tenants/{tenant}/events?type=rate_limited");
        let reply = server.admin(Method::GET, &path, None).await;
        reply.expect_status(200, "list events");
        last = reply.json["events"].as_array().cloned().unwrap_or_default();
        if last.len() >= at_least {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("fewer than {at_least} rate_limited events in {tenant}: {last:#?}");
}

#[tokio::test]
async fn a_client_over_its_tenants_quota_gets_429_and_no_other_client_is_limited() {
    let server = server_with(&[]).await;
    let quota = json!({ "token_rate_limit": { "per_second": 1, "burst": 3 } });
    server.create_tenant(TENANT, quota.clone()).await;
    server.create_tenant(OTHER, quota).await;
    let a = cc_client(&server, TENANT, json!({})).await;
    let b = cc_client(&server, TENANT, json!({})).await;
    let c = cc_client(&server, OTHER, json!({ "client_id": a.0.clone() })).await;

    let started = Instant::now();
    let (allowed, refused) = until_refused(&server, TENANT, &a).await;
    let refused = refused.expect("a refusal past the burst");
    assert!(allowed >= 3, "the whole burst first: {allowed}");
    expect_rate_limited(&refused, "over the quota");
    // Refused more, while still over.
    for _ in 0..4 {
        let reply = token(&server, TENANT, &a).await;
        assert!(matches!(reply.status.as_u16(), 200 | 429), "{}", reply.text);
    }
    // Other buckets are full: another client of the tenant, and the same client id in another
    // tenant, get their whole burst.
    all_succeed(&server, TENANT, &b, 3, "another client of the tenant").await;
    all_succeed(&server, OTHER, &c, 3, "the same id in another tenant").await;

    assert!(refusals(&server, "token_requests_per_client").await >= 1);
    // One event when the client ran out, not one per refused request.
    let events = rate_limited_events(&server, TENANT, 1).await;
    let event = &events[0];
    assert_eq!(event["actor"]["client_id"], a.0.as_str(), "{event}");
    assert_eq!(event["reason"], "token_rate_limit", "{event}");
    if started.elapsed() < Duration::from_secs(60) {
        assert_eq!(events.len(), 1, "one event a minute per client: {events:#?}");
    }
    let failures =
        server.admin(Method::GET, &format!("/tenants/{TENANT}/events?type=token.failure"), None).await;
    let failures = failures.json["events"].as_array().cloned().unwrap_or_default();
    assert!(
        failures.iter().all(|e| e["reason"] != "temporarily_unavailable"),
        "no token.failure per refused request: {failures:#?}"
    );
    server.assert_alive();
}

#[tokio::test]
async fn a_clients_own_quota_beats_its_tenants_and_changes_apply_at_once() {
    let server = server_with(&[]).await;
    server.create_tenant(TENANT, json!({ "token_rate_limit": { "per_second": 1, "burst": 1 } })).await;
    let generous =
        cc_client(&server, TENANT, json!({ "token_rate_limit": { "per_second": 1, "burst": 20 } })).await;
    let unlimited = cc_client(&server, TENANT, json!({ "token_rate_limit": "unlimited" })).await;
    let plain = cc_client(&server, TENANT, json!({})).await;

    all_succeed(&server, TENANT, &generous, 15, "its own burst of 20").await;
    all_succeed(&server, TENANT, &unlimited, TRIES, "unlimited").await;
    let (_, refused) = until_refused(&server, TENANT, &plain).await;
    expect_rate_limited(&refused.expect("the tenant's burst of 1"), "the tenant's quota");

    // The client view shows the override; null hands the client back to its tenant's quota.
    let path = format!("/tenants/{TENANT}/clients/{}", unlimited.0);
    let view = server.admin(Method::GET, &path, None).await;
    assert_eq!(view.json["token_rate_limit"], "unlimited");
    let patched = server.admin(Method::PATCH, &path, Some(json!({ "token_rate_limit": null }))).await;
    patched.expect_status(200, "back to the tenant's quota");
    assert_eq!(patched.json["token_rate_limit"], Value::Null);
    let (_, refused) = until_refused(&server, TENANT, &unlimited).await;
    expect_rate_limited(&refused.expect("now under the tenant's quota"), "after the change");

    // The tenant's quota removed: nobody is limited, without a restart.
    let mut settings = server.get_settings(TENANT).await;
    settings["token_rate_limit"] = Value::Null;
    server.put_settings(TENANT, settings).await;
    all_succeed(&server, TENANT, &plain, TRIES, "no tenant quota").await;
    all_succeed(&server, TENANT, &unlimited, TRIES, "no tenant quota").await;
}

#[tokio::test]
async fn quotas_out_of_bounds_are_refused_with_400() {
    let server = server_with(&[]).await;
    server.create_tenant(TENANT, Value::Null).await;
    let settings = format!("/tenants/{TENANT}/settings");
    for bad in [
        json!({ "per_second": 0, "burst": 1 }),
        json!({ "per_second": 1, "burst": 0 }),
        json!({ "per_second": 2_000_000, "burst": 1 }),
        json!({ "per_second": 1 }),
        json!("unlimited"),
    ] {
        let reply = server.admin(Method::PUT, &settings, Some(json!({ "token_rate_limit": bad }))).await;
        reply.expect_api_error(400, Some("invalid_request"), &format!("tenant quota {bad}"));
    }
    let clients = format!("/tenants/{TENANT}/clients");
    for bad in [
        json!({ "per_second": 0, "burst": 1 }),
        json!({ "per_second": 1, "burst": 0 }),
        json!("none"),
        json!(5),
    ] {
        let body = json!({ "grant_types": ["client_credentials"], "token_rate_limit": bad });
        let reply = server.admin(Method::POST, &clients, Some(body)).await;
        reply.expect_api_error(400, Some("invalid_client_metadata"), &format!("client quota {bad}"));
    }
}

/// 127.0.0.`host`.
fn loopback(host: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, host])
}

/// A browser at 127.0.0.`host` on the login page of a fresh authorization request.
async fn at_login_page<'s>(server: &'s TestServer, client_id: &str, host: u8) -> (EndUser<'s>, Reply) {
    let mut agent = EndUser::from_address(server, TENANT, loopback(host));
    let page = agent.authorize(&common::code_request(client_id, CB, &[])).await;
    common::expect_login_page(&page, &format!("login page at 127.0.0.{host}"));
    (agent, page)
}

/// One sign-in attempt as alice from 127.0.0.`host`.
async fn attempt(server: &TestServer, client_id: &str, host: u8, password: &str) -> Reply {
    attempt_as(server, client_id, host, "alice", password).await
}

/// One sign-in attempt as `username` from 127.0.0.`host`.
async fn attempt_as(server: &TestServer, client_id: &str, host: u8, username: &str, password: &str) -> Reply {
    let (mut agent, page) = at_login_page(server, client_id, host).await;
    agent.login(&page, username, password).await
}

/// A server with `flags`, tenant `acme` with user `alice`, and a first-party code-flow client.
async fn login_setup(flags: &[&str]) -> (TestServer, String) {
    let server = server_with(flags).await;
    server.create_tenant(TENANT, Value::Null).await;
    server.create_user(TENANT, json!({ "username": "alice", "password": PASSWORD })).await;
    let body = json!({
        "grant_types": ["authorization_code"],
        "redirect_uris": [CB],
        "scope": "openid profile",
        "first_party": true,
    });
    let (client_id, _) = server.create_client(TENANT, body).await;
    (server, client_id)
}

#[tokio::test]
async fn an_address_lockout_survives_a_restart_for_every_username() {
    const LOCKOUT_SECS: u64 = 60;
    let flags = ["--login-attempts-per-ip-per-minute", "1", "--login-lockout-secs", "60"];
    let (mut server, client_id) = login_setup(&flags).await;
    let counted = Instant::now();
    common::expect_page(&attempt_as(&server, &client_id, 4, "bob", "wrong").await, 200, "attempt 1");
    let reply = attempt_as(&server, &client_id, 4, "carol", "wrong").await;
    if counted.elapsed() >= Duration::from_secs(60) {
        return;
    }
    common::expect_page(&reply, 429, "another name from the same address");
    let locked_at = Instant::now();
    let events = rate_limited_events(&server, TENANT, 1).await;
    assert_eq!(events[0]["reason"], "address", "{events:#?}");

    server.restart().await;
    if locked_at.elapsed() < Duration::from_secs(LOCKOUT_SECS - 1) {
        let reply = attempt(&server, &client_id, 4, PASSWORD).await;
        common::expect_page(&reply, 429, "alice from the locked-out address after the restart");
        assert!(refusals(&server, "login_attempts_per_address").await >= 1);
    }
    redirect_params(&attempt(&server, &client_id, 5, PASSWORD).await, CB, "alice from another address");
}

#[tokio::test]
async fn a_lockout_survives_a_restart_and_ends_when_it_expires() {
    const LOCKOUT_SECS: u64 = 20;
    let lockout = LOCKOUT_SECS.to_string();
    let flags = ["--login-attempts-per-user-per-minute", "1", "--login-lockout-secs", &lockout];
    let (mut server, client_id) = login_setup(&flags).await;

    // The first wrong password uses the minute's attempt; the next ones are refused, and the
    // first refusal starts a lockout.
    let counted = Instant::now();
    common::expect_page(&attempt(&server, &client_id, 2, "wrong").await, 200, "attempt 1");
    let mut locked_at = None;
    for i in 2..=4 {
        let reply = attempt(&server, &client_id, 2, "wrong").await;
        if counted.elapsed() < Duration::from_secs(60) {
            common::expect_page(&reply, 429, &format!("attempt {i}"));
            assert!(reply.header("retry-after").is_some(), "attempt {i}");
            locked_at.get_or_insert_with(Instant::now);
        }
    }
    let Some(locked_at) = locked_at else { return };
    let events = rate_limited_events(&server, TENANT, 1).await;
    assert_eq!(events.len(), 1, "one event for the lockout, not one per refusal: {events:#?}");
    assert_eq!(events[0]["reason"], "username_at_address");
    assert!(!events[0].to_string().contains("alice"), "the typed name is not in the event");

    // Killed and started again on the same data: the attempts are still refused, even with the
    // right password, while the lockout lasts; alice from elsewhere signs in.
    server.restart().await;
    let reply = attempt(&server, &client_id, 2, PASSWORD).await;
    if locked_at.elapsed() < Duration::from_secs(LOCKOUT_SECS - 1) {
        common::expect_page(&reply, 429, "the right password, locked out after the restart");
        let retry: u64 = reply.header("retry-after").expect("Retry-After").parse().expect("seconds");
        assert!((1..=LOCKOUT_SECS).contains(&retry), "Retry-After {retry}");
        assert!(server.stderr().contains("sign-in lockouts restored"), "{}", server.stderr());
        assert!(
            refusals(&server, "login_attempts_per_user_at_address").await >= 1,
            "counted after the restart"
        );
    }
    let elsewhere = attempt(&server, &client_id, 3, PASSWORD).await;
    redirect_params(&elsewhere, CB, "alice from another address");

    // Once the lockout has ended, the address signs in again (asked again until it does, for
    // far longer than the lockout).
    let deadline = Instant::now() + Duration::from_secs(LOCKOUT_SECS * 6);
    loop {
        let reply = attempt(&server, &client_id, 2, PASSWORD).await;
        if reply.status.as_u16() != 429 {
            let params = redirect_params(&reply, CB, "signed in after the lockout");
            assert!(params.get("code").is_some_and(|c| !c.is_empty()), "{params:?}");
            break;
        }
        assert!(Instant::now() < deadline, "still locked out long after the lockout should have ended");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    server.assert_alive();
}

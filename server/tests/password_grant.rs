//! The resource owner password grant (RFC 6749 4.3) through a chain of identity validators,
//! on the real binary with stand-in validators on 127.0.0.1: newest first, the first accept
//! ends the chain, a validator linked to another API is not asked, `extraInfo` reaches the
//! token and introspection, all rejecting is `invalid_grant`, one that hangs or is down makes
//! the answer 503 (never a wrong-password), a failing one's circuit opens and closes again,
//! the client's secret is never forwarded, redirects are not followed, the local directory
//! answers at its place, and only confidential clients registered for the grant may use it.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Backend, Behaviour, MockValidator, Options, TestServer, verify_jwt, verify_jwt_for};
use reqwest::Method;
use serde_json::{Value, json};

const ORDERS: &str = "https://orders.example/api";

async fn validator(server: &TestServer, body: Value) -> Value {
    let reply = server.admin(Method::POST, "/tenants/acme/identity-validators", Some(body)).await;
    reply.expect_status(201, "validator created");
    reply.json
}

async fn password(server: &TestServer, client: &(String, String), extra: &[(&str, &str)]) -> common::Reply {
    let mut form = vec![("grant_type", "password"), ("username", "alice"), ("password", "s3cret-pass")];
    form.extend_from_slice(extra);
    server.token_basic("acme", &client.0, &client.1, &form).await
}

async fn start() -> TestServer {
    let mut options = Options::new(Backend::Software);
    options.extra_args = ["--validator-circuit-failures", "2", "--validator-circuit-open-secs", "2"]
        .map(String::from)
        .to_vec();
    let server = TestServer::start_with(options).await;
    server.create_tenant("acme", Value::Null).await;
    server
}

#[tokio::test]
async fn validators_are_asked_newest_first_until_one_accepts() {
    let server = start().await;
    let orders = server
        .admin(
            Method::POST,
            "/tenants/acme/apis",
            Some(json!({ "identifier": ORDERS, "scopes": ["orders:read"] })),
        )
        .await
        .json;
    let old = MockValidator::start(Behaviour::Accept(
        json!({ "sub": "ldap-alice", "extraInfo": { "tier": "gold", "groups": ["a"] } }),
    ))
    .await;
    let linked = MockValidator::start(Behaviour::Accept(json!({ "sub": "orders-alice" }))).await;
    let newest = MockValidator::start(Behaviour::Status(401)).await;
    validator(&server, json!({ "name": "old", "url": old.url, "headers": { "X-Validator-Key": "k1" } }))
        .await;
    validator(&server, json!({ "name": "orders", "url": linked.url, "apis": [orders["id"]] })).await;
    let shown = validator(&server, json!({ "name": "newest", "url": newest.url, "timeout_ms": 300 })).await;
    assert_eq!(shown["timeout_ms"], 300);
    assert!(shown.to_string().find("k1").is_none(), "header values are never shown");

    let client = server
        .create_client("acme", json!({ "grant_types": ["password"], "scope": "read orders:read" }))
        .await;
    let issuer = server.issuer("acme");
    let jwks = server.jwks("acme").await.json;

    // No resource: newest (rejects), then old (accepts); the linked one is not asked.
    let reply = password(&server, &client, &[("scope", "read"), ("device", "kiosk-7")]).await;
    reply.expect_status(200, "accepted by the old validator");
    assert!(reply.json.get("refresh_token").is_none() && reply.json.get("id_token").is_none());
    let token = reply.json["access_token"].as_str().unwrap();
    let claims = verify_jwt(token, &jwks, "ES384", &issuer);
    assert_eq!(claims["sub"], "ldap-alice");
    assert_eq!(claims["extraInfo"], json!({ "tier": "gold", "groups": ["a"] }));
    let intro = server.introspect("acme", &client.0, &client.1, token).await;
    assert_eq!(intro.json["extraInfo"]["tier"], "gold", "{}", intro.text);
    assert_eq!((newest.count(), linked.count(), old.count()), (1, 0, 1));

    // What the validators were sent: every parameter but the client's secret, as JSON.
    let call = &old.calls()[0];
    assert_eq!(call.body["username"], "alice");
    assert_eq!(call.body["password"], "s3cret-pass");
    assert_eq!(call.body["device"], "kiosk-7");
    assert_eq!(call.body["grant_type"], "password");
    assert!(call.body.get("client_secret").is_none(), "{}", call.body);
    assert!(!call.body.to_string().contains(&client.1), "the secret appears nowhere in the body");
    assert!(!call.headers.contains_key("authorization"), "the client's Basic credentials are not forwarded");
    assert_eq!(call.headers.get("x-validator-key").map(String::as_str), Some("k1"));
    assert!(call.headers.get("content-type").is_some_and(|c| c.starts_with("application/json")));
    // With client_secret_post the secret is in the form, and still not forwarded.
    let post_client = server
        .create_client("acme", json!({ "grant_types": ["password"], "scope": "read", "token_endpoint_auth_method": "client_secret_post" }))
        .await;
    let reply = server
        .token_post(
            "acme",
            &post_client.0,
            &post_client.1,
            &[("grant_type", "password"), ("username", "alice"), ("password", "p")],
        )
        .await;
    reply.expect_status(200, "post client");
    let last = old.calls().last().cloned().unwrap();
    assert!(last.body.get("client_secret").is_none() && !last.body.to_string().contains(&post_client.1));
    assert_eq!(last.body["client_id"], post_client.0.as_str());

    // For the orders API: newest, then the linked one, which accepts; old is not asked.
    let before = old.count();
    let reply = password(&server, &client, &[("resource", ORDERS)]).await;
    reply.expect_status(200, "accepted by the linked validator");
    let claims =
        verify_jwt_for(reply.json["access_token"].as_str().unwrap(), &jwks, "ES384", &issuer, ORDERS);
    assert_eq!(
        (claims["sub"].clone(), claims["scope"].clone()),
        (json!("orders-alice"), json!("orders:read"))
    );
    assert!(claims.get("extraInfo").is_none());
    assert_eq!((linked.count(), old.count()), (1, before), "the chain stopped at the first accept");

    // Everyone rejects: invalid_grant.
    old.set(Behaviour::Status(403));
    password(&server, &client, &[]).await.expect_oauth_error(400, "invalid_grant", "all reject");

    // One hangs past its timeout, the rest reject: 503, never a wrong password.
    newest.set(Behaviour::Hang);
    let reply = password(&server, &client, &[]).await;
    reply.expect_oauth_error(503, "temporarily_unavailable", "a validator timed out");
    // ... while a later validator that accepts still wins over the hanging one.
    old.set(Behaviour::Accept(json!({})));
    let reply = password(&server, &client, &[]).await;
    reply.expect_status(200, "the timeout is skipped");
    let claims = verify_jwt(reply.json["access_token"].as_str().unwrap(), &jwks, "ES384", &issuer);
    assert_eq!(claims["sub"], "alice", "without a sub the username is the subject");

    // A redirect is not followed: the validator failed to answer.
    old.set(Behaviour::Redirect(format!("{}?again", linked.url)));
    newest.set(Behaviour::Status(401));
    let linked_before = linked.count();
    password(&server, &client, &[]).await.expect_oauth_error(503, "temporarily_unavailable", "a redirect");
    assert_eq!(linked.count(), linked_before, "the redirect was not followed");

    // A malformed 2xx is a failure, never an acceptance.
    old.set(Behaviour::Accept(json!("yes")));
    password(&server, &client, &[]).await.expect_oauth_error(
        503,
        "temporarily_unavailable",
        "a malformed answer",
    );
}

#[tokio::test]
async fn a_failing_validators_circuit_opens_and_closes_when_it_is_back() {
    let server = start().await;
    let flaky = MockValidator::start(Behaviour::Status(500)).await;
    let backup = MockValidator::start(Behaviour::Status(401)).await;
    validator(&server, json!({ "name": "backup", "url": backup.url })).await;
    let v = validator(&server, json!({ "name": "flaky", "url": flaky.url })).await;
    let client = server.create_client("acme", json!({ "grant_types": ["password"], "scope": "read" })).await;

    // Two failures in a row open the circuit.
    for _ in 0..2 {
        password(&server, &client, &[]).await.expect_oauth_error(
            503,
            "temporarily_unavailable",
            "flaky fails",
        );
    }
    assert_eq!(flaky.count(), 2);
    let shown = server
        .admin(Method::GET, &format!("/tenants/acme/identity-validators/{}", v["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(shown.json["circuit_open"], true, "{}", shown.text);
    // Open: skipped (not called), and the answer stays 503, not invalid_grant.
    password(&server, &client, &[]).await.expect_oauth_error(503, "temporarily_unavailable", "circuit open");
    assert_eq!(flaky.count(), 2, "an open circuit is not called");
    assert_eq!(backup.count(), 3, "the others still are");

    // Back, and the open period over: one trial call closes it.
    flaky.set(Behaviour::Accept(json!({ "sub": "back" })));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let reply = password(&server, &client, &[]).await;
        if reply.status == 200 {
            break;
        }
        reply.expect_oauth_error(503, "temporarily_unavailable", "still open");
        assert!(std::time::Instant::now() < deadline, "the circuit never closed");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let shown = server
        .admin(Method::GET, &format!("/tenants/acme/identity-validators/{}", v["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(shown.json["circuit_open"], false);

    // A validator nobody listens on is down: 503.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/check", l.local_addr().unwrap())
    };
    flaky.set(Behaviour::Status(401));
    validator(&server, json!({ "name": "dead", "url": dead })).await;
    password(&server, &client, &[]).await.expect_oauth_error(
        503,
        "temporarily_unavailable",
        "connection refused",
    );
}

#[tokio::test]
async fn the_local_directory_answers_at_its_place_and_clients_are_checked() {
    let server = start().await;
    server.create_user("acme", json!({ "username": "alice", "password": "s3cret-pass" })).await;
    let remote = MockValidator::start(Behaviour::Status(401)).await;
    validator(&server, json!({ "name": "remote", "url": remote.url })).await;
    let client = server.create_client("acme", json!({ "grant_types": ["password"], "scope": "read" })).await;
    let issuer = server.issuer("acme");
    let jwks = server.jwks("acme").await.json;

    // Last by default: the remote is asked first, rejects; the local user accepts.
    let reply = password(&server, &client, &[]).await;
    reply.expect_status(200, "local user");
    let claims = verify_jwt(reply.json["access_token"].as_str().unwrap(), &jwks, "ES384", &issuer);
    let users = server.admin(Method::GET, "/tenants/acme/users?username=alice", None).await;
    assert_eq!(claims["sub"], users.json["users"][0]["id"], "the local user's id is the subject");
    assert_eq!(remote.count(), 1);
    // First: the remote is not asked when the local user accepts.
    server.put_settings("acme", json!({ "local_directory_position": 0 })).await;
    password(&server, &client, &[]).await.expect_status(200, "local first");
    assert_eq!(remote.count(), 1);
    // A wrong password falls through to the remote, which rejects too.
    server
        .token_basic(
            "acme",
            &client.0,
            &client.1,
            &[("grant_type", "password"), ("username", "alice"), ("password", "wrong-pass")],
        )
        .await
        .expect_oauth_error(400, "invalid_grant", "wrong password");
    assert_eq!(remote.count(), 2);

    // An opaque client's token carries extraInfo to introspection too.
    remote.set(Behaviour::Accept(json!({ "extraInfo": { "plan": "pro" } })));
    let opaque = server
        .create_client(
            "acme",
            json!({ "grant_types": ["password"], "scope": "read", "access_token_format": "opaque" }),
        )
        .await;
    let reply = server
        .token_basic(
            "acme",
            &opaque.0,
            &opaque.1,
            &[("grant_type", "password"), ("username", "bob"), ("password", "x")],
        )
        .await;
    reply.expect_status(200, "opaque");
    let intro =
        server.introspect("acme", &opaque.0, &opaque.1, reply.json["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (intro.json["sub"].clone(), intro.json["extraInfo"].clone()),
        (json!("bob"), json!({ "plan": "pro" }))
    );

    // Only registered, confidential clients.
    let (cc, cc_secret) = server.cc_client("acme", "read").await;
    server
        .token_basic(
            "acme",
            &cc,
            &cc_secret,
            &[("grant_type", "password"), ("username", "alice"), ("password", "s3cret-pass")],
        )
        .await
        .expect_oauth_error(400, "unauthorized_client", "not registered for password");
    server
        .admin(
            Method::POST,
            "/tenants/acme/clients",
            Some(json!({ "grant_types": ["password"], "token_endpoint_auth_method": "none" })),
        )
        .await
        .expect_api_error(400, Some("invalid_client_metadata"), "a public password client");
    for (what, form) in [
        ("no password", vec![("grant_type", "password"), ("username", "alice")]),
        ("no username", vec![("grant_type", "password"), ("password", "p")]),
    ] {
        server.token_basic("acme", &client.0, &client.1, &form).await.expect_oauth_error(
            400,
            "invalid_request",
            what,
        );
    }
    let discovery = server.discovery("acme").await;
    assert!(discovery.json["grant_types_supported"].as_array().unwrap().contains(&json!("password")));
}

#[tokio::test]
async fn identity_validators_are_managed_through_the_admin_api() {
    let server = start().await;
    let base = "/tenants/acme/identity-validators";
    for (what, body) in [
        ("ftp url", json!({ "name": "v", "url": "ftp://127.0.0.1/" })),
        ("timeout too short", json!({ "name": "v", "url": "http://127.0.0.1/", "timeout_ms": 10 })),
        ("reserved header", json!({ "name": "v", "url": "http://127.0.0.1/", "headers": { "Host": "x" } })),
        (
            "header injection",
            json!({ "name": "v", "url": "http://127.0.0.1/", "headers": { "X": "a\r\nB: c" } }),
        ),
        ("unknown API", json!({ "name": "v", "url": "http://127.0.0.1/", "apis": ["urn:none"] })),
        ("no name", json!({ "url": "http://127.0.0.1/" })),
        ("unknown member", json!({ "name": "v", "url": "http://127.0.0.1/", "retries": 3 })),
    ] {
        let reply = server.admin(Method::POST, base, Some(body)).await;
        assert_eq!(reply.status.as_u16(), 400, "{what}: {}", reply.text);
    }
    let api =
        server.admin(Method::POST, "/tenants/acme/apis", Some(json!({ "identifier": ORDERS }))).await.json;
    let v = validator(&server, json!({ "name": "v", "url": "http://127.0.0.1:9/", "apis": [ORDERS], "headers": { "Authorization": "Bearer sekrit" } })).await;
    assert_eq!(v["apis"], json!([api["id"]]), "APIs named by identifier are stored by id");
    assert_eq!(v["headers"], json!(["Authorization"]));
    let id = v["id"].as_str().unwrap();
    // An API a validator is linked to cannot be deleted from under it.
    server
        .admin(Method::DELETE, &format!("/tenants/acme/apis/{}", api["id"].as_str().unwrap()), None)
        .await
        .expect_api_error(409, Some("conflict"), "a linked API");
    let patched = server
        .admin(Method::PATCH, &format!("{base}/{id}"), Some(json!({ "apis": [], "timeout_ms": 1000 })))
        .await;
    patched.expect_status(200, "patched");
    assert_eq!((patched.json["apis"].clone(), patched.json["timeout_ms"].clone()), (json!([]), json!(1000)));
    let list = server.admin(Method::GET, base, None).await;
    assert_eq!(list.json["identity_validators"].as_array().map(Vec::len), Some(1));
    assert!(!list.text.contains("sekrit"));
    server.admin(Method::DELETE, &format!("{base}/{id}"), None).await.expect_status(204, "deleted");
    server.admin(Method::GET, &format!("{base}/{id}"), None).await.expect_status(404, "gone");
}

#[tokio::test]
async fn password_attempts_are_limited_per_username_and_address_before_any_validator_is_asked() {
    let mut options = Options::new(Backend::Software);
    options.extra_args = ["--login-attempts-per-user-per-minute", "2"].map(String::from).to_vec();
    let server = TestServer::start_with(options).await;
    server.create_tenant("acme", Value::Null).await;
    let remote = MockValidator::start(Behaviour::Status(401)).await;
    validator(&server, json!({ "name": "remote", "url": remote.url })).await;
    let client = server.create_client("acme", json!({ "grant_types": ["password"], "scope": "read" })).await;

    for _ in 0..2 {
        password(&server, &client, &[]).await.expect_oauth_error(400, "invalid_grant", "wrong");
    }
    let asked = remote.count();
    let limited = password(&server, &client, &[]).await;
    limited.expect_oauth_error(429, "temporarily_unavailable", "over the per-username limit");
    let retry: u64 = limited.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!(retry >= 1, "{retry}");
    assert_eq!(remote.count(), asked, "a limited attempt asks no validator");
    // Another username from the same address is not limited by alice's attempts.
    server
        .token_basic(
            "acme",
            &client.0,
            &client.1,
            &[("grant_type", "password"), ("username", "bob"), ("password", "p")],
        )
        .await
        .expect_oauth_error(400, "invalid_grant", "another username");
    // The lockout is on the record.
    let events = server.admin(Method::GET, "/tenants/acme/events?type=rate_limited", None).await;
    assert!(events.text.contains("username_at_address"), "{}", events.text);
}

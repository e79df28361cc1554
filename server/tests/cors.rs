//! Cross-origin access for browser applications: discovery and the JWKS are open to any
//! origin; the token endpoint, `/userinfo` and `/revoke` only to the origins of redirect URIs
//! registered by the tenant's clients; introspection to none.

mod common;

use common::{Backend, Reply, TestServer, basic_auth, form_body};
use http::Method;
use serde_json::json;

const APP_ORIGIN: &str = "http://127.0.0.1:3000";

async fn preflight(server: &TestServer, path: &str, origin: &str, method: &str) -> Reply {
    server
        .send(
            Method::OPTIONS,
            path,
            &[
                ("origin", origin),
                ("access-control-request-method", method),
                ("access-control-request-headers", "content-type"),
            ],
            None,
        )
        .await
}

#[tokio::test]
async fn browser_apps_reach_the_token_endpoint_only_from_registered_origins() {
    let server = TestServer::start(Backend::Software).await;
    let (id, secret) = server
        .create_client(
            "default",
            json!({
                "grant_types": ["authorization_code", "client_credentials"],
                "redirect_uris": [format!("{APP_ORIGIN}/callback")],
                "scope": "openid read",
            }),
        )
        .await;

    let ok = preflight(&server, "/t/default/token", APP_ORIGIN, "POST").await;
    ok.expect_status(204, "preflight");
    assert_eq!(ok.header("access-control-allow-origin"), Some(APP_ORIGIN));
    assert!(ok.header("access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    assert!(ok.header("access-control-allow-headers").is_some_and(|h| h.contains("content-type")));
    assert!(ok.header("access-control-allow-credentials").is_none(), "no cookies across origins");

    let evil = preflight(&server, "/t/default/token", "https://evil.example", "POST").await;
    evil.expect_status(204, "refused preflight");
    assert_eq!(evil.header("access-control-allow-origin"), None, "an unregistered origin gets no grant");

    let body = form_body(&[("grant_type", "client_credentials"), ("scope", "read")]);
    let auth = basic_auth(&id, &secret);
    for (origin, allowed) in [(APP_ORIGIN, true), ("https://evil.example", false)] {
        let reply = server
            .send(
                Method::POST,
                "/t/default/token",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("authorization", &auth),
                    ("origin", origin),
                ],
                Some(body.clone().into_bytes()),
            )
            .await;
        reply.expect_status(200, "token");
        assert_eq!(reply.header("access-control-allow-origin"), allowed.then_some(origin), "{origin}");
        assert!(reply.header("vary").is_some_and(|v| v.contains("Origin")));
    }

    // The same origin for /userinfo; another tenant's clients do not open this one.
    let info = preflight(&server, "/t/default/userinfo", APP_ORIGIN, "GET").await;
    assert_eq!(info.header("access-control-allow-origin"), Some(APP_ORIGIN));
    server.create_tenant("other", serde_json::Value::Null).await;
    let other = preflight(&server, "/t/other/token", APP_ORIGIN, "POST").await;
    assert_eq!(other.header("access-control-allow-origin"), None, "origins are per tenant");

    // Introspection is for resource servers.
    let introspect = preflight(&server, "/t/default/introspect", APP_ORIGIN, "POST").await;
    assert_eq!(introspect.header("access-control-allow-origin"), None);

    // Deleting the client closes its origin at once.
    server
        .admin(Method::DELETE, &format!("/tenants/default/clients/{id}"), None)
        .await
        .expect_status(204, "delete");
    let gone = preflight(&server, "/t/default/token", APP_ORIGIN, "POST").await;
    assert_eq!(gone.header("access-control-allow-origin"), None, "the origin left with the client");
}

#[tokio::test]
async fn public_documents_are_open_to_any_origin() {
    let server = TestServer::start(Backend::Software).await;
    for path in ["/t/default/.well-known/openid-configuration", "/t/default/jwks"] {
        let reply = server.send(Method::GET, path, &[("origin", "https://any.example")], None).await;
        reply.expect_status(200, path);
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"), "{path}");
    }
}

#[tokio::test]
async fn a_changed_redirect_uri_moves_the_allowed_origin_at_once() {
    let server = TestServer::start(Backend::Software).await;
    let (id, _) = server
        .create_client(
            "default",
            json!({
                "grant_types": ["authorization_code"],
                "redirect_uris": [format!("{APP_ORIGIN}/callback")],
                "token_endpoint_auth_method": "none",
                "scope": "openid",
            }),
        )
        .await;
    // Asked once, so the tenant's origins are cached.
    let before = preflight(&server, "/t/default/token", APP_ORIGIN, "POST").await;
    assert_eq!(before.header("access-control-allow-origin"), Some(APP_ORIGIN));

    const MOVED: &str = "http://127.0.0.1:4000";
    server
        .admin(
            Method::PATCH,
            &format!("/tenants/default/clients/{id}"),
            Some(json!({ "redirect_uris": [format!("{MOVED}/callback")] })),
        )
        .await
        .expect_status(200, "patch");
    // The store's change feed forgot the cached origins before the write was acknowledged.
    let moved = preflight(&server, "/t/default/token", MOVED, "POST").await;
    assert_eq!(moved.header("access-control-allow-origin"), Some(MOVED), "the new origin is allowed");
    let old = preflight(&server, "/t/default/token", APP_ORIGIN, "POST").await;
    assert_eq!(old.header("access-control-allow-origin"), None, "the old one no longer is");
}

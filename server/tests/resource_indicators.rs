//! APIs and RFC 8707 resource indicators at the token endpoint, on the real binary: the
//! admin API's CRUD of APIs; `resource` selects the access token's audience, its scope held
//! to the API's, its format and lifetime the API's when it sets them; an unknown, malformed or
//! repeated resource, or an API the client may not use, is `invalid_target`; without a
//! resource nothing changes.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestServer, verify_jwt, verify_jwt_for};
use reqwest::Method;
use serde_json::{Value, json};

const ORDERS: &str = "https://orders.example/api";

async fn api(server: &TestServer, tenant: &str, body: Value) -> Value {
    let reply = server.admin(Method::POST, &format!("/tenants/{tenant}/apis"), Some(body)).await;
    reply.expect_status(201, "API created");
    reply.json
}

#[tokio::test]
async fn resource_selects_the_audience_and_holds_the_scope() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let orders = api(
        &server,
        "acme",
        json!({ "identifier": ORDERS, "name": "Orders", "scopes": ["orders:read", "orders:write"] }),
    )
    .await;
    assert_eq!(orders["scopes"], json!(["orders:read", "orders:write"]));
    api(&server, "acme", json!({ "identifier": "urn:example:billing", "scopes": ["bill"], "access_token_format": "opaque", "access_token_ttl_secs": 120 })).await;
    let issuer = server.issuer("acme");
    let (id, secret) = server.cc_client("acme", "orders:read read bill").await;
    let jwks = server.jwks("acme").await.json;

    // Without a resource, the issuer is the audience, as before.
    let plain = server.cc_token("acme", &id, &secret).await;
    assert_eq!(verify_jwt(&plain, &jwks, "ES384", &issuer)["scope"], "orders:read read bill");

    let reply = server
        .token_basic("acme", &id, &secret, &[("grant_type", "client_credentials"), ("resource", ORDERS)])
        .await;
    reply.expect_status(200, "token for the orders API");
    assert_eq!(reply.json["scope"], "orders:read", "the default scope is held to the API's");
    let claims =
        verify_jwt_for(reply.json["access_token"].as_str().unwrap(), &jwks, "ES384", &issuer, ORDERS);
    assert_eq!(claims["aud"], ORDERS);
    let intro = server.introspect("acme", &id, &secret, reply.json["access_token"].as_str().unwrap()).await;
    assert_eq!((intro.json["active"].clone(), intro.json["aud"].clone()), (json!(true), json!(ORDERS)));

    // A requested scope the API does not define is refused, not silently dropped.
    server
        .token_basic(
            "acme",
            &id,
            &secret,
            &[("grant_type", "client_credentials"), ("resource", ORDERS), ("scope", "orders:read read")],
        )
        .await
        .expect_oauth_error(400, "invalid_scope", "a scope outside the API");

    // The billing API issues opaque tokens for two minutes, whatever the client's format.
    let reply = server
        .token_basic(
            "acme",
            &id,
            &secret,
            &[("grant_type", "client_credentials"), ("resource", "urn:example:billing")],
        )
        .await;
    reply.expect_status(200, "token for billing");
    assert_eq!(reply.json["expires_in"], 120);
    let token = reply.json["access_token"].as_str().unwrap();
    assert_eq!(token.matches('.').count(), 0, "opaque, not a JWT: {token}");
    let intro = server.introspect("acme", &id, &secret, token).await;
    assert_eq!(intro.json["aud"], "urn:example:billing");
    assert_eq!(intro.json["scope"], "bill");
    assert!(intro.json["exp"].as_i64().unwrap() - intro.json["iat"].as_i64().unwrap() == 120);

    // invalid_target: unknown, malformed, with a fragment, repeated.
    for (what, form) in [
        ("unknown", vec![("resource", "https://nowhere.example")]),
        ("relative", vec![("resource", "orders")]),
        ("fragment", vec![("resource", "https://orders.example/api#x")]),
        ("repeated", vec![("resource", ORDERS), ("resource", "urn:example:billing")]),
    ] {
        let mut form = form;
        form.push(("grant_type", "client_credentials"));
        server.token_basic("acme", &id, &secret, &form).await.expect_oauth_error(400, "invalid_target", what);
    }

    // A client limited to billing may not ask for orders.
    let (limited, limited_secret) = server
        .create_client("acme", json!({ "grant_types": ["client_credentials"], "scope": "orders:read bill", "apis": ["urn:example:billing"] }))
        .await;
    server
        .token_basic(
            "acme",
            &limited,
            &limited_secret,
            &[("grant_type", "client_credentials"), ("resource", ORDERS)],
        )
        .await
        .expect_oauth_error(400, "invalid_target", "an API the client may not use");
    server
        .token_basic(
            "acme",
            &limited,
            &limited_secret,
            &[("grant_type", "client_credentials"), ("resource", "urn:example:billing")],
        )
        .await
        .expect_status(200, "the API it may use");
    let shown = server.admin(Method::GET, &format!("/tenants/acme/clients/{limited}"), None).await;
    assert_eq!(shown.json["apis"].as_array().map(Vec::len), Some(1));
    server
        .admin(
            Method::POST,
            "/tenants/acme/clients",
            Some(json!({ "grant_types": ["client_credentials"], "apis": ["urn:nope"] })),
        )
        .await
        .expect_api_error(400, Some("invalid_client_metadata"), "an API that does not exist");

    // Another tenant's API is unknown here.
    server.create_tenant("other", Value::Null).await;
    let (o, o_secret) = server.cc_client("other", "orders:read").await;
    server
        .token_basic("other", &o, &o_secret, &[("grant_type", "client_credentials"), ("resource", ORDERS)])
        .await
        .expect_oauth_error(400, "invalid_target", "another tenant's API");
}

#[tokio::test]
async fn apis_are_managed_through_the_admin_api() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let created = api(&server, "acme", json!({ "identifier": ORDERS, "scopes": ["a", "b", "a"] })).await;
    assert_eq!(created["scopes"], json!(["a", "b"]), "each scope once");
    assert_eq!(created["name"], ORDERS, "the name defaults to the identifier");
    let id = created["id"].as_str().unwrap().to_owned();
    let base = "/tenants/acme/apis";

    let dup = server.admin(Method::POST, base, Some(json!({ "identifier": ORDERS }))).await;
    dup.expect_api_error(409, Some("conflict"), "an identifier taken");
    for (what, body) in [
        ("relative identifier", json!({ "identifier": "orders" })),
        ("fragment", json!({ "identifier": "https://a.example#f" })),
        ("zero lifetime", json!({ "identifier": "urn:a", "access_token_ttl_secs": 0 })),
        ("bad format", json!({ "identifier": "urn:a", "access_token_format": "paseto" })),
        ("unknown member", json!({ "identifier": "urn:a", "audience": "x" })),
        ("bad scope", json!({ "identifier": "urn:a", "scopes": ["a\"b"] })),
        ("two scopes in one", json!({ "identifier": "urn:a", "scopes": ["a b"] })),
        ("scopes as a string", json!({ "identifier": "urn:a", "scopes": "a b" })),
    ] {
        let reply = server.admin(Method::POST, base, Some(body)).await;
        assert_eq!(reply.status.as_u16(), 400, "{what}: {}", reply.text);
    }

    // Read by id or identifier; list.
    let by_id = server.admin(Method::GET, &format!("{base}/{id}"), None).await;
    by_id.expect_status(200, "by id");
    assert_eq!(by_id.json["identifier"], ORDERS);
    let list = server.admin(Method::GET, base, None).await;
    assert_eq!(list.json["apis"].as_array().map(Vec::len), Some(1));

    // Patch: scopes and lifetime change, the identifier does not.
    let patched = server
        .admin(
            Method::PATCH,
            &format!("{base}/{id}"),
            Some(json!({ "scopes": ["c"], "access_token_ttl_secs": 60, "name": "Orders" })),
        )
        .await;
    patched.expect_status(200, "patched");
    assert_eq!(
        (patched.json["scopes"].clone(), patched.json["access_token_ttl_secs"].clone()),
        (json!(["c"]), json!(60))
    );
    let cleared = server
        .admin(Method::PATCH, &format!("{base}/{id}"), Some(json!({ "access_token_ttl_secs": null })))
        .await;
    assert!(cleared.json["access_token_ttl_secs"].is_null(), "{}", cleared.text);
    server
        .admin(Method::PATCH, &format!("{base}/{id}"), Some(json!({ "identifier": "urn:other" })))
        .await
        .expect_api_error(400, None, "the identifier is fixed");

    // Survives a restart (it is in the tenant record).
    let mut server = server;
    server.restart().await;
    let after = server.admin(Method::GET, &format!("{base}/{id}"), None).await;
    assert_eq!(after.json["name"], "Orders", "{}", after.text);

    server.admin(Method::DELETE, &format!("{base}/{id}"), None).await.expect_status(204, "deleted");
    server.admin(Method::GET, &format!("{base}/{id}"), None).await.expect_status(404, "gone");
    server.admin(Method::GET, "/tenants/nope/apis", None).await.expect_status(404, "no tenant");
}

#[tokio::test]
async fn a_resource_named_at_authorize_is_the_codes_audience() {
    const REDIRECT: &str = "https://app.example/cb";
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    api(&server, "acme", json!({ "identifier": ORDERS, "scopes": ["orders:read"] })).await;
    api(&server, "acme", json!({ "identifier": "urn:example:billing", "scopes": ["bill"] })).await;
    let client = common::Client::register_first_party(
        &server,
        "acme",
        REDIRECT,
        "openid orders:read bill",
        Value::Null,
    )
    .await;
    server.create_user("acme", json!({ "username": "alice", "password": "correct-horse-battery" })).await;
    let issuer = server.issuer("acme");
    let jwks = server.jwks("acme").await.json;
    let mut browser = common::EndUser::new(&server, "acme");
    let (verifier, challenge) = common::pkce_pair();
    let pkce = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];

    // The code remembers the resource: the token is for it, its scope held to it.
    let mut params =
        common::code_request(&client.id, REDIRECT, &[("scope", "openid orders:read"), ("resource", ORDERS)]);
    params.extend_from_slice(&pkce);
    let code = browser.code(REDIRECT, &params, "alice", "correct-horse-battery").await;
    let reply = server.exchange(&client, &code, Some(&verifier)).await;
    reply.expect_status(200, "code exchange");
    let claims =
        verify_jwt_for(reply.json["access_token"].as_str().unwrap(), &jwks, "ES384", &issuer, ORDERS);
    assert_eq!(claims["scope"], "openid orders:read");

    // Naming another resource at the token endpoint than the code's is invalid_target.
    let code = browser.code(REDIRECT, &params, "alice", "correct-horse-battery").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
        ("resource", "urn:example:billing"),
    ];
    server.token_basic("acme", &client.id, &client.secret, &form).await.expect_oauth_error(
        400,
        "invalid_target",
        "another resource",
    );

    // At /authorize: an unknown resource, and a scope the API does not define, come back to
    // the client as errors.
    for (what, extra, error) in [
        ("unknown", vec![("scope", "openid"), ("resource", "https://nowhere.example")], "invalid_target"),
        ("malformed", vec![("scope", "openid"), ("resource", "not a uri")], "invalid_target"),
        ("scope outside the API", vec![("resource", ORDERS), ("scope", "openid bill")], "invalid_scope"),
    ] {
        let params = common::code_request(&client.id, REDIRECT, &extra);
        let reply = browser.authorize(&params).await;
        let p = common::redirect_params(&reply, REDIRECT, what);
        assert_eq!(p.get("error").map(String::as_str), Some(error), "{what}: {p:?}");
    }
    // Two resources: one API per token, said in RFC 8707's terms.
    let mut params = common::code_request(&client.id, REDIRECT, &[("scope", "openid"), ("resource", ORDERS)]);
    params.push(("resource", "urn:example:billing"));
    let reply = browser.authorize(&params).await;
    let p = common::redirect_params(&reply, REDIRECT, "two resources");
    assert_eq!(p.get("error").map(String::as_str), Some("invalid_target"), "{p:?}");
}

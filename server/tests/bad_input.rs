//! Malformed requests, on the real binary: each one gets the right error (RFC 6749 JSON errors
//! at the protocol endpoints, JSON errors with the right status at the admin API), none is a
//! 500, none changes stored state (tenant, client and key listings are compared before and
//! after, and valid requests still work), and the server neither panics nor exits.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestServer, basic_auth, form_body};
use reqwest::Method;
use serde_json::{Value, json};

const FORM: &str = "application/x-www-form-urlencoded";
const CC: &str = "grant_type=client_credentials";

/// What the admin API shows of the state a bad request must not change.
async fn snapshot(server: &TestServer) -> Value {
    let mut tenants = server.list_tenants().await;
    let mut state = json!({});
    for t in tenants["tenants"].as_array_mut().unwrap() {
        let id = t["id"].as_str().unwrap().to_owned();
        state[&id] = json!({
            "tenant": t.clone(),
            "clients": server.list_clients(&id).await,
            "keys": server.list_keys(&id).await,
            "jwks": server.jwks(&id).await.json,
        });
    }
    state
}

/// A server with tenant `acme`, a `client_secret_basic` client (`read write`), a client
/// registered only for `authorization_code`, and an opaque-token client.
struct Fixture {
    server: TestServer,
    id: String,
    secret: String,
    code_id: String,
    code_secret: String,
}

async fn fixture() -> Fixture {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.cc_client("acme", "read write").await;
    let (code_id, code_secret) = server
        .create_client(
            "acme",
            json!({ "grant_types": ["authorization_code"], "redirect_uris": ["https://app.example/cb"],
                    "response_types": ["code"], "scope": "read" }),
        )
        .await;
    Fixture { server, id, secret, code_id, code_secret }
}

/// A raw POST to a protocol endpoint with any content type and body.
async fn raw(
    server: &TestServer,
    path: &str,
    content_type: Option<&str>,
    auth: Option<&str>,
    body: Vec<u8>,
) -> common::Reply {
    let mut headers = Vec::new();
    if let Some(ct) = content_type {
        headers.push(("content-type", ct));
    }
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    server.send(Method::POST, path, &headers, Some(body)).await
}

#[tokio::test]
async fn token_endpoint_refuses_malformed_requests() {
    let Fixture { server, id, secret, code_id, code_secret } = fixture().await;
    let before = snapshot(&server).await;
    let basic = basic_auth(&id, &secret);
    let auth = Some(basic.as_str());
    let token = "/t/acme/token";

    // (body, expected status, expected error, what)
    let cases: Vec<(Vec<u8>, u16, &str, &str)> = vec![
        (b"scope=read".to_vec(), 400, "invalid_request", "missing grant_type"),
        (b"grant_type=".to_vec(), 400, "invalid_request", "empty grant_type"),
        (b"".to_vec(), 400, "invalid_request", "empty body"),
        (format!("{CC}&{CC}").into_bytes(), 400, "invalid_request", "repeated grant_type"),
        (format!("{CC}&scope=read&scope=write").into_bytes(), 400, "invalid_request", "repeated scope"),
        (format!("{CC}&scope=&scope=").into_bytes(), 400, "invalid_request", "repeated empty scope"),
        (b"grant_type=client%ZZcredentials".to_vec(), 400, "invalid_request", "bad percent-escape"),
        (b"grant_type=client_credentials%2".to_vec(), 400, "invalid_request", "truncated percent-escape"),
        (format!("{CC}&scope=%FF").into_bytes(), 400, "invalid_request", "percent-encoded invalid UTF-8"),
        ([CC.as_bytes(), b"&scope=\xff\xfe"].concat(), 400, "invalid_request", "raw invalid UTF-8"),
        (
            (0..65).map(|i| format!("p{i}=v")).collect::<Vec<_>>().join("&").into_bytes(),
            400,
            "invalid_request",
            "too many parameters",
        ),
        // The client is not registered for the password grant (which the server supports).
        (b"grant_type=password&username=a&password=b".to_vec(), 400, "unauthorized_client", "password"),
        (
            b"grant_type=authorization_code&code=x".to_vec(),
            400,
            "unauthorized_client",
            "code grant, client not registered for it",
        ),
        (b"grant_type=authorization_code".to_vec(), 400, "invalid_request", "code missing"),
        (b"grant_type=refresh_token".to_vec(), 400, "invalid_request", "refresh token missing"),
        (
            b"grant_type=refresh_token&refresh_token=x".to_vec(),
            400,
            "unauthorized_client",
            "refresh grant, client not registered for it",
        ),
        (
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer".to_vec(),
            400,
            "invalid_request",
            "jwt-bearer without an assertion",
        ),
        (
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c".to_vec(),
            400,
            "unauthorized_client",
            "jwt-bearer, client not registered for it",
        ),
        (b"grant_type=Client_Credentials".to_vec(), 400, "unsupported_grant_type", "wrong case"),
        (format!("{CC}&scope=a%22b").into_bytes(), 400, "invalid_scope", "scope with a quote"),
        (format!("{CC}&scope=a%5Cb").into_bytes(), 400, "invalid_scope", "scope with a backslash"),
        (format!("{CC}&scope=caf%C3%A9").into_bytes(), 400, "invalid_scope", "non-ASCII scope"),
        (format!("{CC}&scope=read%09write").into_bytes(), 400, "invalid_scope", "scope with a tab"),
        (format!("{CC}&scope=read%00").into_bytes(), 400, "invalid_scope", "scope with NUL"),
        (
            format!("{CC}&scope={}", "x".repeat(200)).into_bytes(),
            400,
            "invalid_scope",
            "overlong scope value",
        ),
    ];
    for (body, status, error, what) in cases {
        raw(&server, token, Some(FORM), auth, body).await.expect_oauth_error(status, error, what);
    }

    // Wrong or missing content type.
    for ct in [Some("application/json"), Some("text/plain"), Some("multipart/form-data; boundary=x"), None] {
        raw(&server, token, ct, auth, CC.as_bytes().to_vec()).await.expect_oauth_error(
            400,
            "invalid_request",
            &format!("content type {ct:?}"),
        );
    }

    // The 16 KiB body limit: exactly at it is fine (unknown parameters are ignored), one byte
    // over is an RFC 6749 error.
    let limit = 16 * 1024;
    let at_limit = format!("{CC}&pad={}", "a".repeat(limit - CC.len() - "&pad=".len()));
    assert_eq!(at_limit.len(), limit);
    raw(&server, token, Some(FORM), auth, at_limit.clone().into_bytes())
        .await
        .expect_status(200, "16 KiB body");
    let over = format!("{at_limit}a");
    raw(&server, token, Some(FORM), auth, over.into_bytes()).await.expect_oauth_error(
        400,
        "invalid_request",
        "16 KiB + 1",
    );

    // Client authentication failures: 401 invalid_client with a Basic challenge.
    let bad_auth = [
        (basic_auth("nobody", &secret), "unknown client"),
        (basic_auth(&id, "wrong-secret"), "wrong secret"),
        (basic_auth(&id, ""), "empty secret"),
        (basic_auth(&id, &format!("{secret}x")), "secret with a suffix"),
        (basic_auth(&id, &secret[..secret.len() - 1]), "truncated secret"),
        ("Basic !!!not-base64".to_owned(), "Basic not base64"),
        (format!("Basic {}", base64_of("no-colon")), "Basic without a colon"),
        (format!("Basic {}", base64_of(":secret")), "Basic with an empty id"),
        ("Basic".to_owned(), "Basic without credentials"),
        ("Bearer abc".to_owned(), "Bearer at the token endpoint"),
        (format!("Basic {}", base64_of(&format!("{id}%ZZ:{secret}"))), "Basic with a bad escape"),
    ];
    for (header, what) in &bad_auth {
        raw(&server, token, Some(FORM), Some(header), CC.as_bytes().to_vec()).await.expect_oauth_error(
            401,
            "invalid_client",
            what,
        );
    }
    raw(&server, token, Some(FORM), None, CC.as_bytes().to_vec()).await.expect_oauth_error(
        401,
        "invalid_client",
        "no client authentication",
    );
    let body =
        form_body(&[("grant_type", "client_credentials"), ("client_id", "nobody"), ("client_secret", "x")]);
    raw(&server, token, Some(FORM), None, body.into_bytes()).await.expect_oauth_error(
        401,
        "invalid_client",
        "unknown client (post)",
    );
    // Two methods at once, or two different ids, is a malformed request.
    let body = form_body(&[("grant_type", "client_credentials"), ("client_secret", &secret)]);
    raw(&server, token, Some(FORM), auth, body.into_bytes()).await.expect_oauth_error(
        400,
        "invalid_request",
        "Basic and client_secret in the body",
    );
    let body = form_body(&[("grant_type", "client_credentials"), ("client_id", &code_id)]);
    raw(&server, token, Some(FORM), auth, body.into_bytes()).await.expect_oauth_error(
        400,
        "invalid_request",
        "Basic and another client_id in the body",
    );

    // A client not registered for the grant.
    server
        .token_basic("acme", &code_id, &code_secret, &[("grant_type", "client_credentials")])
        .await
        .expect_oauth_error(400, "unauthorized_client", "client registered only for authorization_code");

    // Methods other than POST.
    for method in [Method::GET, Method::PUT, Method::DELETE, Method::PATCH] {
        let reply = server.send(method.clone(), token, &[], None).await;
        reply.expect_status(405, &format!("{method} /token"));
        assert_eq!(reply.header("allow"), Some("POST"), "{method} /token names the allowed method");
    }
    let reply = server
        .send(
            Method::GET,
            "/t/acme/token?grant_type=client_credentials",
            &[("authorization", basic.as_str())],
            None,
        )
        .await;
    reply.expect_status(405, "GET /token with a query");

    // Unknown tenants: 404 whatever the name looks like, and never a 500.
    for tenant in ["nope", "ACME", "acme.", "a%00b", "..", "%2e%2e", "%F0%9F%92%A9", &"x".repeat(5000)] {
        let reply =
            raw(&server, &format!("/t/{tenant}/token"), Some(FORM), auth, CC.as_bytes().to_vec()).await;
        reply.expect_status(404, &format!("tenant {tenant:.20}"));
        assert!(reply.error().is_some(), "404 has a JSON error: {}", reply.text);
    }
    server.get("/t/acme/nope").await.expect_status(404, "unknown endpoint");
    server.get("/").await.expect_status(404, "root");

    // Nothing changed, and a valid request still works.
    assert_eq!(snapshot(&server).await, before, "malformed token requests changed stored state");
    server.cc_token("acme", &id, &secret).await;
    server.assert_alive();
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn introspection_and_revocation_refuse_malformed_requests() {
    let Fixture { server, id, secret, .. } = fixture().await;
    let (oid, osecret) = server.opaque_client("acme", "read").await;
    let opaque = server.cc_token("acme", &oid, &osecret).await;
    let jwt = server.cc_token("acme", &id, &secret).await;
    let before = snapshot(&server).await;
    let auth = basic_auth(&id, &secret);

    for endpoint in ["introspect", "revoke"] {
        let path = format!("/t/acme/{endpoint}");
        let token_form = form_body(&[("token", &jwt)]);
        raw(&server, &path, Some(FORM), None, token_form.clone().into_bytes()).await.expect_oauth_error(
            401,
            "invalid_client",
            &format!("{endpoint} without client authentication"),
        );
        raw(&server, &path, Some(FORM), Some(&basic_auth(&id, "wrong")), token_form.clone().into_bytes())
            .await
            .expect_oauth_error(401, "invalid_client", &format!("{endpoint} with a wrong secret"));
        raw(&server, &path, Some(FORM), Some(&auth), b"".to_vec()).await.expect_oauth_error(
            400,
            "invalid_request",
            &format!("{endpoint} without token"),
        );
        raw(&server, &path, Some(FORM), Some(&auth), b"token=a&token=b".to_vec()).await.expect_oauth_error(
            400,
            "invalid_request",
            &format!("{endpoint} with a repeated token"),
        );
        raw(&server, &path, Some("application/json"), Some(&auth), token_form.clone().into_bytes())
            .await
            .expect_oauth_error(400, "invalid_request", &format!("{endpoint} with a JSON content type"));
        raw(&server, &path, Some(FORM), Some(&auth), b"token=%ZZ".to_vec()).await.expect_oauth_error(
            400,
            "invalid_request",
            &format!("{endpoint} with a bad escape"),
        );
        let reply = server.send(Method::GET, &path, &[], None).await;
        reply.expect_status(405, &format!("GET {endpoint}"));
    }
    for hint in ["foo", "id_token", "ACCESS_TOKEN"] {
        let body = form_body(&[("token", &jwt), ("token_type_hint", hint)]);
        raw(&server, "/t/acme/revoke", Some(FORM), Some(&auth), body.into_bytes()).await.expect_oauth_error(
            400,
            "unsupported_token_type",
            &format!("revoke with hint {hint}"),
        );
    }
    // Garbage tokens introspect as inactive (not an error) and revoke as a no-op (200).
    for garbage in ["x", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "....", &"a".repeat(9000), "%00"] {
        let reply = server.introspect("acme", &id, &secret, garbage).await;
        reply.expect_status(200, &format!("introspect {garbage:.20}"));
        assert_eq!(reply.json, json!({ "active": false }), "introspect {garbage:.20}");
        server
            .revoke("acme", &id, &secret, garbage)
            .await
            .expect_status(200, &format!("revoke {garbage:.20}"));
    }

    assert_eq!(snapshot(&server).await, before, "malformed requests changed stored state");
    assert!(server.is_active("acme", &id, &secret, &jwt).await, "the JWT is still active");
    assert!(server.is_active("acme", &id, &secret, &opaque).await, "the opaque token is still active");
    server.assert_alive();
}

#[tokio::test]
async fn discovery_and_jwks_refuse_other_methods() {
    let server = TestServer::start(Backend::Software).await;
    for path in ["/t/default/jwks", "/t/default/.well-known/openid-configuration"] {
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let reply = server.send(method.clone(), path, &[], Some(b"x".to_vec())).await;
            reply.expect_status(405, &format!("{method} {path}"));
            assert_eq!(reply.header("allow"), Some("GET, HEAD"));
        }
        let head = server.send(Method::HEAD, path, &[], None).await;
        head.expect_status(200, &format!("HEAD {path}"));
    }
    server.get("/t/nope/jwks").await.expect_status(404, "jwks of an unknown tenant");
    server
        .get("/t/nope/.well-known/openid-configuration")
        .await
        .expect_status(404, "discovery of an unknown tenant");
    server.assert_alive();
}

#[tokio::test]
async fn admin_api_refuses_malformed_requests() {
    let Fixture { server, id, secret, .. } = fixture().await;
    let before = snapshot(&server).await;
    let json_ct = ("content-type", "application/json");

    // Authentication.
    let tenant_body = br#"{"id":"new"}"#.to_vec();
    for (header, what) in [
        (None, "no key"),
        (Some("Bearer wrong".to_owned()), "wrong key"),
        (Some(format!("Bearer {}x", server.admin_key)), "key with a suffix"),
        (Some(format!("Basic {}", server.admin_key)), "Basic scheme"),
        (Some(server.admin_key.clone()), "no scheme"),
        (Some("Bearer".to_owned()), "Bearer without a key"),
    ] {
        let mut headers = vec![json_ct];
        if let Some(h) = &header {
            headers.push(("authorization", h));
        }
        for (method, path) in [
            (Method::GET, "/api/v1/tenants"),
            (Method::POST, "/api/v1/tenants"),
            (Method::DELETE, "/api/v1/tenants/acme"),
            (Method::GET, "/api/v1/tenants/acme/clients"),
            (Method::POST, "/api/v1/tenants/acme/keys/rotate"),
        ] {
            let reply = server.send(method.clone(), path, &headers, Some(tenant_body.clone())).await;
            reply.expect_api_error(401, None, &format!("{what}: {method} {path}"));
            assert!(
                reply.header("www-authenticate").is_some_and(|c| c.starts_with("Bearer")),
                "{what}: 401 carries a Bearer challenge"
            );
        }
    }

    // Unknown resources.
    for (method, path) in [
        (Method::GET, "/tenants/nope"),
        (Method::PATCH, "/tenants/nope"),
        (Method::DELETE, "/tenants/nope"),
        (Method::GET, "/tenants/nope/settings"),
        (Method::PUT, "/tenants/nope/settings"),
        (Method::GET, "/tenants/nope/clients"),
        (Method::POST, "/tenants/nope/clients"),
        (Method::GET, "/tenants/nope/keys"),
        (Method::POST, "/tenants/nope/keys/rotate"),
        (Method::GET, "/tenants/acme/clients/nope"),
        (Method::PATCH, "/tenants/acme/clients/nope"),
        (Method::DELETE, "/tenants/acme/clients/nope"),
        (Method::POST, "/tenants/acme/clients/nope/secret"),
        (Method::GET, &format!("/tenants/nope/clients/{id}")),
    ] {
        let body = match method {
            Method::PATCH => Some(json!({})),
            Method::PUT => Some(json!({})),
            Method::POST if path.ends_with("/clients") => {
                Some(json!({ "grant_types": ["client_credentials"] }))
            }
            _ => None,
        };
        server.admin(method.clone(), path, body).await.expect_api_error(
            404,
            Some("not_found"),
            &format!("{method} {path}"),
        );
    }
    server.admin(Method::GET, "/nope", None).await.expect_status(404, "unknown admin path");

    // Conflicts.
    server.admin(Method::POST, "/tenants", Some(json!({ "id": "acme" }))).await.expect_api_error(
        409,
        Some("conflict"),
        "duplicate tenant",
    );
    server.admin(Method::POST, "/tenants", Some(json!({ "id": "default" }))).await.expect_api_error(
        409,
        Some("conflict"),
        "duplicate default tenant",
    );
    server
        .admin(
            Method::POST,
            "/tenants/acme/clients",
            Some(json!({ "client_id": id, "grant_types": ["client_credentials"] })),
        )
        .await
        .expect_api_error(409, Some("conflict"), "duplicate client_id");

    // Bodies that are not JSON, not the right JSON, or not labelled JSON.
    let auth = format!("Bearer {}", server.admin_key);
    let auth = ("authorization", auth.as_str());
    for (body, what) in [
        (&b"{\"id\":"[..], "truncated JSON"),
        (b"not json", "not JSON"),
        (b"", "empty body"),
        (b"[]", "an array"),
        (b"{\"id\": 5}", "a number id"),
        (b"{\"id\": \"x\", \"bogus\": 1}", "an unknown field"),
        (b"{\"display_name\": \"x\"}", "no id"),
        (b"{\"id\": \"\"}", "empty id"),
        (b"{\"id\": \"a/b\"}", "id with a slash"),
        (b"{\"id\": \"a b\"}", "id with a space"),
        (b"{\"id\": \"\xc3\xa4\"}", "non-ASCII id"),
        (b"{\"id\": \"x\", \"display_name\": \"a\\u0000b\"}", "display name with NUL"),
        (b"\xff\xfe", "invalid UTF-8"),
        (b"{\"id\": \"x\", \"settings\": {\"access_token_alg\": \"HS256\"}}", "unsupported alg"),
        (b"{\"id\": \"x\", \"settings\": {\"access_token_alg\": \"none\"}}", "alg none"),
        (b"{\"id\": \"x\", \"settings\": {\"access_token_ttl_secs\": 0}}", "zero ttl"),
        (b"{\"id\": \"x\", \"settings\": {\"access_token_ttl_secs\": -1}}", "negative ttl"),
        (b"{\"id\": \"x\", \"settings\": {\"access_token_ttl_secs\": 99999999999}}", "huge ttl"),
        (b"{\"id\": \"x\", \"settings\": {\"code_ttl_secs\": 31536001}}", "ttl over a year"),
        (b"{\"id\": \"x\", \"settings\": {\"session_ttl_secs\": 59}}", "session under a minute"),
        (b"{\"id\": \"x\", \"settings\": {\"session_ttl_secs\": 31536001}}", "session over a year"),
        (b"{\"id\": \"x\", \"settings\": {\"refresh_reuse_grace_secs\": 301}}", "grace over 5 minutes"),
        (b"{\"id\": \"x\", \"settings\": {\"refresh_reuse_grace_secs\": -1}}", "negative grace"),
        (b"{\"id\": \"x\", \"settings\": {\"bogus\": 1}}", "unknown setting"),
    ] {
        let reply = server.send(Method::POST, "/api/v1/tenants", &[auth, json_ct], Some(body.to_vec())).await;
        reply.expect_api_error(400, None, what);
    }
    let long_id = format!(r#"{{"id": "{}"}}"#, "a".repeat(65));
    server
        .send(Method::POST, "/api/v1/tenants", &[auth, json_ct], Some(long_id.into_bytes()))
        .await
        .expect_api_error(400, None, "65-character id");
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut headers = vec![auth];
        if let Some(ct) = ct {
            headers.push(("content-type", ct));
        }
        server
            .send(Method::POST, "/api/v1/tenants", &headers, Some(br#"{"id":"x"}"#.to_vec()))
            .await
            .expect_api_error(415, None, &format!("content type {ct:?}"));
    }
    let big = format!(r#"{{"id":"x","display_name":"{}"}}"#, "a".repeat(70 * 1024));
    server
        .send(Method::POST, "/api/v1/tenants", &[auth, json_ct], Some(big.into_bytes()))
        .await
        .expect_api_error(413, None, "70 KiB body");
    server.send(Method::DELETE, "/api/v1/tenants", &[auth], None).await.expect_api_error(
        405,
        None,
        "DELETE the tenant list",
    );
    server
        .send(Method::PUT, "/api/v1/tenants/acme", &[auth, json_ct], Some(b"{}".to_vec()))
        .await
        .expect_api_error(405, None, "PUT a tenant");

    // Invalid client metadata (RFC 7591 3.2.2).
    for (body, what) in [
        (json!({}), "no grant_types"),
        (json!({ "grant_types": [] }), "empty grant_types"),
        (
            json!({ "grant_types": ["password"], "token_endpoint_auth_method": "none" }),
            "a public password client",
        ),
        (
            json!({ "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"] }),
            "unsupported grant type",
        ),
        (json!({ "grant_types": ["client_credentials", "magic"] }), "one unknown grant type"),
        (
            json!({ "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none" }),
            "public client with client_credentials",
        ),
        (
            json!({ "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt" }),
            "unsupported auth method",
        ),
        (
            json!({ "grant_types": ["client_credentials"], "access_token_format": "xml" }),
            "unknown token format",
        ),
        (json!({ "grant_types": ["client_credentials"], "scope": "a\"b" }), "invalid scope characters"),
        (json!({ "grant_types": ["client_credentials"], "client_id": "a/b" }), "client_id with a slash"),
        (json!({ "grant_types": ["client_credentials"], "client_id": "" }), "empty client_id"),
        (
            json!({ "grant_types": ["client_credentials"], "id_token_signed_response_alg": "HS256" }),
            "HS256 ID tokens",
        ),
        (
            json!({ "grant_types": ["authorization_code"], "redirect_uris": ["not a uri"] }),
            "redirect URI with spaces",
        ),
        (
            json!({ "grant_types": ["authorization_code"], "redirect_uris": ["https://a.example/cb#frag"] }),
            "redirect URI with a fragment",
        ),
        (
            json!({ "grant_types": ["authorization_code"], "redirect_uris": ["/relative"] }),
            "relative redirect URI",
        ),
        (
            json!({ "grant_types": ["client_credentials"], "client_name": "a\u{0007}b" }),
            "client name with a control character",
        ),
    ] {
        server.admin(Method::POST, "/tenants/acme/clients", Some(body.clone())).await.expect_api_error(
            400,
            Some("invalid_client_metadata"),
            what,
        );
    }
    // Members that do not fit, in a create and in a change: invalid metadata too (RFC 7591
    // 3.2.2).
    for (body, what) in [
        (json!({ "grant_types": "client_credentials" }), "grant_types not an array"),
        (json!({ "grant_types": ["client_credentials"], "bogus": true }), "unknown field"),
        (json!({ "grant_types": ["client_credentials"], "first_party": "yes" }), "first_party not a boolean"),
        (json!({ "grant_types": ["client_credentials"], "scope": 7 }), "scope not a string"),
    ] {
        server.admin(Method::POST, "/tenants/acme/clients", Some(body.clone())).await.expect_api_error(
            400,
            Some("invalid_client_metadata"),
            what,
        );
        server
            .admin(Method::PATCH, &format!("/tenants/acme/clients/{id}"), Some(body))
            .await
            .expect_api_error(400, Some("invalid_client_metadata"), &format!("PATCH: {what}"));
    }
    // A change that would make the client invalid is refused and leaves it as it was.
    server
        .admin(
            Method::PATCH,
            &format!("/tenants/acme/clients/{id}"),
            Some(json!({ "token_endpoint_auth_method": "none" })),
        )
        .await
        .expect_api_error(
            400,
            Some("invalid_client_metadata"),
            "PATCH to a public client_credentials client",
        );
    server
        .admin(Method::PATCH, &format!("/tenants/acme/clients/{id}"), Some(json!({ "grant_types": [] })))
        .await
        .expect_api_error(400, Some("invalid_client_metadata"), "PATCH to no grant types");
    server
        .admin(Method::PATCH, &format!("/tenants/acme/clients/{id}"), Some(json!({ "client_id": "renamed" })))
        .await
        .expect_api_error(400, Some("invalid_client_metadata"), "PATCH of the client_id");

    // Bad settings, through PUT and PATCH.
    for settings in [
        json!({ "access_token_alg": "HS256" }),
        json!({ "access_token_ttl_secs": 0 }),
        json!({ "id_token_ttl_secs": 31_536_001 }),
        json!({ "refresh_token_ttl_secs": "long" }),
        json!({ "bogus": 1 }),
        json!("ES256"),
    ] {
        server.admin(Method::PUT, "/tenants/acme/settings", Some(settings.clone())).await.expect_api_error(
            400,
            None,
            &format!("PUT settings {settings}"),
        );
        server
            .admin(Method::PATCH, "/tenants/acme", Some(json!({ "settings": settings })))
            .await
            .expect_api_error(400, None, &format!("PATCH settings {settings}"));
    }
    // A valid algorithm with an invalid lifetime must not leave a key of that algorithm behind.
    server
        .admin(
            Method::PUT,
            "/tenants/acme/settings",
            Some(json!({ "access_token_alg": "RS256", "access_token_ttl_secs": 0 })),
        )
        .await
        .expect_api_error(400, None, "valid alg, invalid ttl");
    server
        .admin(Method::PATCH, "/tenants/acme", Some(json!({ "display_name": "x".repeat(201) })))
        .await
        .expect_api_error(400, None, "display name over 200 characters");

    assert_eq!(snapshot(&server).await, before, "refused admin requests changed stored state");
    server.cc_token("acme", &id, &secret).await;
    server
        .admin(Method::POST, "/tenants", Some(json!({ "id": "x" })))
        .await
        .expect_status(201, "a valid create still works");
    server.assert_alive();
}

/// JSON arrays are not objects: the admin API must refuse them where an object is expected.
/// serde's derived `Deserialize` also accepts a struct as a sequence of its fields in order,
/// so without a guard `[...]` bodies are read positionally.
#[tokio::test]
async fn admin_bodies_must_be_objects() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", json!({ "access_token_ttl_secs": 120 })).await;
    let before = snapshot(&server).await;
    for body in [json!([]), json!(["RS256", 60])] {
        server.admin(Method::PUT, "/tenants/acme/settings", Some(body.clone())).await.expect_api_error(
            400,
            None,
            &format!("PUT settings {body}"),
        );
    }
    server.admin(Method::POST, "/tenants", Some(json!(["arr"]))).await.expect_api_error(
        400,
        None,
        "POST tenants with an array",
    );
    server
        .admin(Method::POST, "/tenants/acme/clients", Some(json!([null, null, ["client_credentials"]])))
        .await
        .expect_api_error(400, None, "POST clients with an array");
    assert_eq!(snapshot(&server).await, before, "array bodies changed stored state");
}

/// Sends raw bytes on a fresh connection and returns what came back until the server closed
/// it (or 10 s passed): for requests a well-behaved HTTP client cannot make.
/// With `give_up`, the client closes its sending side after the request (hyper then drops the
/// connection without answering, which is fine for a request that was cut short).
async fn raw_exchange(server: &TestServer, what: &str, request: &[u8], give_up: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
    // The server may answer and close before it read everything; that is fine.
    let _ = stream.write_all(request).await;
    if give_up {
        let _ = stream.shutdown().await;
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "{what}: the server neither answered nor closed within 10 s");
    String::from_utf8_lossy(&out).into_owned()
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(1000) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Requests at the HTTP level: chunked bodies obey the same 16 KiB limit, and broken HTTP gets
/// an answer or a closed connection, never a hang, a 500 or a dead server.
#[tokio::test]
async fn raw_http_requests() {
    let Fixture { server, id, secret, .. } = fixture().await;
    let auth = basic_auth(&id, &secret);
    let head = |extra: &str| {
        format!(
            "POST /t/acme/token HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n{extra}\r\n"
        )
    };
    // A small chunked request works.
    let mut req = head("Transfer-Encoding: chunked\r\n").into_bytes();
    req.extend(chunked(CC.as_bytes()));
    let resp = raw_exchange(&server, "small chunked body", &req, false).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "chunked token request: {resp:.300}");
    // A chunked body over the limit is refused like any other.
    let mut req = head("Transfer-Encoding: chunked\r\n").into_bytes();
    req.extend(chunked(format!("{CC}&pad={}", "a".repeat(20 * 1024)).as_bytes()));
    let resp = raw_exchange(&server, "chunked 20 KiB body", &req, false).await;
    assert!(resp.starts_with("HTTP/1.1 400"), "chunked 20 KiB body: {resp:.300}");
    assert!(resp.contains("invalid_request"), "an RFC 6749 error: {resp:.300}");
    // A body shorter than its Content-Length (the client gives up).
    let mut req = head("Content-Length: 100\r\n").into_bytes();
    req.extend_from_slice(b"grant_type=cl");
    let resp = raw_exchange(&server, "truncated body", &req, true).await;
    assert!(
        !resp.starts_with("HTTP/1.1 500") && !resp.starts_with("HTTP/1.1 200"),
        "truncated body: {resp:.300}"
    );
    // Not HTTP at all, an absurd header, an invalid chunk size.
    for (request, what) in [
        (b"HELLO\r\n\r\n".to_vec(), "not HTTP"),
        (
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(200 * 1024))
                .into_bytes(),
            "huge header",
        ),
        (
            [head("Transfer-Encoding: chunked\r\n").as_bytes(), b"zz\r\nabc\r\n0\r\n\r\n"].concat(),
            "bad chunk size",
        ),
        (b"POST /t/acme/token HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(), "negative length"),
    ] {
        let resp = raw_exchange(&server, what, &request, false).await;
        assert!(!resp.starts_with("HTTP/1.1 5"), "{what}: {resp:.300}");
        assert!(!resp.starts_with("HTTP/1.1 200"), "{what}: {resp:.300}");
    }
    server.cc_token("acme", &id, &secret).await;
    server.assert_alive();
}

/// A body far over the limit still gets its RFC 6749 answer: the server must not reset the
/// connection under a client that is still sending (RFC 9112 9.6, lingering close), or the
/// client sees a connection error instead of `invalid_request`.
#[tokio::test]
async fn huge_bodies_get_an_answer() {
    let Fixture { server, id, secret, .. } = fixture().await;
    let auth = basic_auth(&id, &secret);
    let huge = format!("{CC}&pad={}", "a".repeat(200 * 1024));
    for round in 0..20 {
        let reply = server
            .http_client()
            .post(format!("{}/t/acme/token", server.base))
            .header("content-type", FORM)
            .header("authorization", &auth)
            .body(huge.clone())
            .send()
            .await;
        let reply = reply.unwrap_or_else(|e| panic!("round {round}: no answer to a 200 KiB body: {e:?}"));
        assert_eq!(reply.status(), 400, "round {round}");
        let body: Value = reply.json().await.expect("JSON error body");
        assert_eq!(body["error"], "invalid_request");
    }
    server.assert_alive();
}

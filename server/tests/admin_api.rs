//! The admin API (`/api/v1`, API.md) on the real binary: tenant CRUD (201 with the issuer,
//! list, read, PATCH of the name and of single settings, DELETE 204 then 404), settings GET and
//! PUT, client CRUD (the secret returned once on create and on rotation, never on read or list;
//! PATCH of the scope; secret rotation invalidates the old secret; DELETE then 401 at the token
//! endpoint), discovery advertising exactly what is implemented under the tenant's issuer,
//! `--public-url`, the health endpoints, and concurrent creates (one winner; a client registered
//! while its tenant is deleted does not outlive it).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::{Backend, Options, TestServer, all_keys, verify_jwt};
use reqwest::Method;
use serde_json::{Value, json};

fn default_settings() -> Value {
    json!({
        "access_token_alg": "ES384",
        "access_token_ttl_secs": 3600,
        "id_token_ttl_secs": 3600,
        "refresh_token_ttl_secs": 1_209_600,
        "code_ttl_secs": 60,
        "session_ttl_secs": null,
        "refresh_reuse_grace_secs": null,
        "password_min_length": 8,
        "password_reject_common": true,
        "self_service_registration": false,
        "audit_retention_days": 90,
        "scope_permissions": [],
        "token_rate_limit": null,
        "local_directory_position": null,
    })
}

fn tenant_ids(list: &Value) -> BTreeSet<String> {
    list["tenants"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect()
}

#[track_caller]
fn assert_no_secret(value: &Value, what: &str) {
    for key in all_keys(value) {
        assert!(
            !key.contains("secret") || key == "client_secret_expires_at",
            "{what} shows `{key}`: {value}"
        );
    }
}

#[tokio::test]
async fn tenant_crud() {
    let server = TestServer::start(Backend::Software).await;
    let reply = server
        .admin(Method::POST, "/tenants", Some(json!({ "id": "acme", "display_name": "Acme Corp" })))
        .await;
    reply.expect_status(201, "create tenant");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.header("content-type").unwrap().starts_with("application/json"));
    let created = reply.json.clone();
    assert_eq!(created["id"], "acme");
    assert_eq!(created["display_name"], "Acme Corp");
    assert_eq!(created["issuer"], format!("{}/t/acme", server.public_url));
    assert_eq!(created["settings"], default_settings());
    assert!((created["created_at"].as_i64().unwrap() - common::now_secs()).abs() < 300);
    // The tenant is usable as soon as the create returns: keys and discovery are there.
    assert_eq!(server.jwks_kids("acme").await.len(), 1);
    server.discovery("acme").await.expect_status(200, "discovery of the new tenant");

    // Media type parameters and case do not matter.
    let charset = server
        .send(
            Method::POST,
            "/api/v1/tenants",
            &[
                ("authorization", &format!("Bearer {}", server.admin_key)),
                ("content-type", "Application/JSON; charset=utf-8"),
            ],
            Some(br#"{"id":"delta"}"#.to_vec()),
        )
        .await;
    charset.expect_status(201, "JSON with a charset parameter");
    server.admin(Method::DELETE, "/tenants/delta", None).await.expect_status(204, "delete delta");
    let beta = server.create_tenant("beta", Value::Null).await;
    assert_eq!(beta["display_name"], "beta", "the display name defaults to the id");
    let with_settings = server.create_tenant("gamma", json!({ "access_token_alg": "EdDSA" })).await;
    assert_eq!(with_settings["settings"]["access_token_alg"], "EdDSA");
    assert_eq!(with_settings["settings"]["access_token_ttl_secs"], 3600, "other settings default");
    assert_eq!(server.jwks("gamma").await.json["keys"][0]["alg"], "EdDSA", "the first key uses the alg");

    let ids = tenant_ids(&server.list_tenants().await);
    assert_eq!(ids, BTreeSet::from(["acme", "beta", "default", "gamma"].map(String::from)));
    let got = server.admin(Method::GET, "/tenants/acme", None).await;
    got.expect_status(200, "get tenant");
    assert_eq!(got.json, created, "GET shows what the create returned");

    // PATCH the display name: settings unchanged.
    let patched =
        server.admin(Method::PATCH, "/tenants/acme", Some(json!({ "display_name": "Acme Inc" }))).await;
    patched.expect_status(200, "patch display name");
    assert_eq!(patched.json["display_name"], "Acme Inc");
    assert_eq!(patched.json["settings"], default_settings());
    // PATCH one setting: the others are kept.
    let patched = server
        .admin(Method::PATCH, "/tenants/acme", Some(json!({ "settings": { "access_token_ttl_secs": 600 } })))
        .await;
    patched.expect_status(200, "patch one setting");
    let mut expected = default_settings();
    expected["access_token_ttl_secs"] = json!(600);
    assert_eq!(patched.json["settings"], expected);
    assert_eq!(patched.json["display_name"], "Acme Inc");
    assert_eq!(server.admin(Method::GET, "/tenants/acme", None).await.json, patched.json);
    let (id, secret) = server.cc_client("acme", "read").await;
    let reply = server.token_basic("acme", &id, &secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(reply.json["expires_in"], 600, "the patched lifetime applies");

    // DELETE: 204 without a body, then 404.
    let deleted = server.admin(Method::DELETE, "/tenants/acme", None).await;
    deleted.expect_status(204, "delete tenant");
    assert!(deleted.text.is_empty());
    server.admin(Method::GET, "/tenants/acme", None).await.expect_status(404, "get deleted");
    server.admin(Method::DELETE, "/tenants/acme", None).await.expect_status(404, "delete twice");
    let ids = tenant_ids(&server.list_tenants().await);
    assert_eq!(ids, BTreeSet::from(["beta", "default", "gamma"].map(String::from)));
    server.assert_alive();
}

#[tokio::test]
async fn settings_get_and_put() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    assert_eq!(server.get_settings("acme").await, default_settings());
    let all = json!({
        "access_token_alg": "RS256",
        "access_token_ttl_secs": 300,
        "id_token_ttl_secs": 600,
        "refresh_token_ttl_secs": 86_400,
        "code_ttl_secs": 30,
        "session_ttl_secs": 3600,
        "refresh_reuse_grace_secs": 5,
        "password_min_length": 16,
        "password_reject_common": false,
        "self_service_registration": true,
        "audit_retention_days": 30,
        "scope_permissions": [{ "scope": "docs.write", "permission": "docs:write" }],
        "token_rate_limit": { "per_second": 1000, "burst": 2000 },
        "local_directory_position": 2,
    });
    assert_eq!(server.put_settings("acme", all.clone()).await, all);
    assert_eq!(server.get_settings("acme").await, all);
    let tenant = server.admin(Method::GET, "/tenants/acme", None).await.json;
    assert_eq!(tenant["settings"], all, "the tenant shows the same settings");
    let (id, secret) = server.cc_client("acme", "read").await;
    let reply = server.token_basic("acme", &id, &secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(reply.json["expires_in"], 300);
    assert_eq!(common::jwt_header(reply.json["access_token"].as_str().unwrap())["alg"], "RS256");
    // PUT replaces: absent fields take their defaults.
    let partial = server.put_settings("acme", json!({ "access_token_ttl_secs": 120 })).await;
    let mut expected = default_settings();
    expected["access_token_ttl_secs"] = json!(120);
    assert_eq!(partial, expected);
    assert_eq!(server.get_settings("acme").await, expected);
}

#[tokio::test]
async fn client_crud() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let reply = server
        .admin(
            Method::POST,
            "/tenants/acme/clients",
            Some(json!({ "client_id": "billing", "client_name": "Billing", "grant_types": ["client_credentials"],
                         "scope": "read write" })),
        )
        .await;
    reply.expect_status(201, "create client");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "a response with a secret is not cached");
    let created = reply.json.clone();
    assert_eq!(created["client_id"], "billing");
    assert_eq!(created["client_name"], "Billing");
    assert_eq!(created["grant_types"], json!(["client_credentials"]));
    assert_eq!(created["scope"], "read write");
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic", "the default method");
    assert_eq!(created["access_token_format"], "jwt", "the default format");
    assert_eq!(created["client_secret_expires_at"], 0, "RFC 7591: 0 means no expiry");
    assert!((created["client_id_issued_at"].as_i64().unwrap() - common::now_secs()).abs() < 300);
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "a 256-bit secret");
    server.cc_token("acme", "billing", &secret).await;

    let (generated, _) = server.cc_client("acme", "read").await;
    assert!(generated.len() >= 16, "a generated client_id: {generated}");

    // Never the secret again.
    let got = server.admin(Method::GET, "/tenants/acme/clients/billing", None).await;
    got.expect_status(200, "get client");
    assert_no_secret(&got.json, "GET client");
    assert!(!got.text.contains(&secret));
    let mut without_secret = created.clone();
    let obj = without_secret.as_object_mut().unwrap();
    obj.remove("client_secret");
    obj.remove("client_secret_expires_at");
    assert_eq!(got.json, without_secret, "GET shows the registered metadata");
    let list = server.list_clients("acme").await;
    assert_no_secret(&list, "client list");
    let ids: BTreeSet<&str> =
        list["clients"].as_array().unwrap().iter().map(|c| c["client_id"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from(["billing", generated.as_str()]));

    // PATCH the scope; other fields stay.
    let patched = server
        .admin(Method::PATCH, "/tenants/acme/clients/billing", Some(json!({ "scope": "read write admin" })))
        .await;
    patched.expect_status(200, "patch scope");
    assert_eq!(patched.json["scope"], "read write admin");
    assert_eq!(patched.json["client_name"], "Billing");
    assert_no_secret(&patched.json, "PATCH answer");
    let cc_admin = [("grant_type", "client_credentials"), ("scope", "admin")];
    server.token_basic("acme", "billing", &secret, &cc_admin).await.expect_status(200, "new scope");
    server.admin(Method::PATCH, "/tenants/acme/clients/billing", Some(json!({ "scope": "read" }))).await;
    server.token_basic("acme", "billing", &secret, &cc_admin).await.expect_oauth_error(
        400,
        "invalid_scope",
        "scope removed by PATCH",
    );
    let patched = server
        .admin(Method::PATCH, "/tenants/acme/clients/billing", Some(json!({ "client_name": "Bills" })))
        .await;
    assert_eq!(patched.json["scope"], "read", "an unrelated PATCH keeps the scope");

    // Secret rotation: the new secret once, the old one stops working.
    let rotated = server.admin(Method::POST, "/tenants/acme/clients/billing/secret", None).await;
    rotated.expect_status(200, "rotate secret");
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let new_secret = rotated.json["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    server
        .token_basic("acme", "billing", &secret, &[("grant_type", "client_credentials")])
        .await
        .expect_oauth_error(401, "invalid_client", "old secret after rotation");
    server.cc_token("acme", "billing", &new_secret).await;
    assert_no_secret(&server.admin(Method::GET, "/tenants/acme/clients/billing", None).await.json, "GET");

    // DELETE: 204, then 404 at the admin API and 401 at the token endpoint.
    server.admin(Method::DELETE, "/tenants/acme/clients/billing", None).await.expect_status(204, "delete");
    server.admin(Method::GET, "/tenants/acme/clients/billing", None).await.expect_status(404, "get deleted");
    server
        .token_basic("acme", "billing", &new_secret, &[("grant_type", "client_credentials")])
        .await
        .expect_oauth_error(401, "invalid_client", "deleted client");
    let list = server.list_clients("acme").await;
    assert_eq!(list["clients"].as_array().unwrap().len(), 1);
    server.assert_alive();
}

#[tokio::test]
async fn public_clients() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let reply = server
        .admin(
            Method::POST,
            "/tenants/acme/clients",
            Some(json!({ "client_id": "spa", "grant_types": ["authorization_code"],
                         "token_endpoint_auth_method": "none",
                         "redirect_uris": ["https://app.example/cb"], "response_types": ["code"] })),
        )
        .await;
    reply.expect_status(201, "create public client");
    assert_no_secret(&reply.json, "a public client's registration");
    assert_eq!(reply.json["redirect_uris"], json!(["https://app.example/cb"]));
    server.admin(Method::POST, "/tenants/acme/clients/spa/secret", None).await.expect_api_error(
        400,
        None,
        "rotate the secret of a public client",
    );
    // Made confidential, it gets a secret, once, and can authenticate with it.
    let reply = server
        .admin(
            Method::PATCH,
            "/tenants/acme/clients/spa",
            Some(json!({ "token_endpoint_auth_method": "client_secret_basic" })),
        )
        .await;
    reply.expect_status(200, "public to confidential");
    let secret =
        reply.json["client_secret"].as_str().expect("a new secret when a client becomes confidential");
    let token = {
        let (id, s) = server.cc_client("acme", "read").await;
        server.cc_token("acme", &id, &s).await
    };
    assert!(server.is_active("acme", "spa", secret, &token).await, "the new secret authenticates");
}

#[tokio::test]
async fn discovery_advertises_what_is_implemented() {
    let server = TestServer::start(Backend::Software).await;
    let tenant = server.create_tenant("acme", Value::Null).await;
    let issuer = tenant["issuer"].as_str().unwrap().to_owned();
    assert_eq!(issuer, server.issuer("acme"));

    let reply = server.discovery("acme").await;
    reply.expect_status(200, "discovery");
    assert!(reply.header("content-type").unwrap().starts_with("application/json"));
    assert!(reply.header("cache-control").is_some_and(|c| c.contains("max-age")), "cacheable");
    let doc = reply.json.clone();
    let rfc8414 = server.get("/t/acme/.well-known/oauth-authorization-server").await;
    rfc8414.expect_status(200, "RFC 8414 metadata");
    assert_eq!(rfc8414.json, doc, "both well-known documents agree");

    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks"));
    assert_eq!(doc["introspection_endpoint"], format!("{issuer}/introspect"));
    assert_eq!(doc["revocation_endpoint"], format!("{issuer}/revoke"));
    let endpoints: BTreeSet<&str> =
        doc.as_object().unwrap().keys().map(String::as_str).filter(|k| k.ends_with("_endpoint")).collect();
    assert_eq!(
        endpoints,
        BTreeSet::from([
            "authorization_endpoint",
            "end_session_endpoint",
            "introspection_endpoint",
            "revocation_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
        ]),
        "only implemented endpoints are advertised"
    );
    assert_eq!(
        doc["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "implicit",
            "password",
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        ])
    );
    let confidential = json!(["client_secret_basic", "client_secret_post"]);
    let with_public = json!(["client_secret_basic", "client_secret_post", "none"]);
    assert_eq!(doc["token_endpoint_auth_methods_supported"], with_public);
    assert_eq!(doc["introspection_endpoint_auth_methods_supported"], confidential);
    assert_eq!(doc["revocation_endpoint_auth_methods_supported"], with_public);
    let algs: BTreeSet<&str> = doc["access_token_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(algs, BTreeSet::from(["ES256", "ES384", "EdDSA", "RS256"]));
    assert_eq!(doc["response_types_supported"][0], "code");

    // Every advertised endpoint answers at the advertised URL (relative to this server).
    let local = |url: &Value| url.as_str().unwrap().strip_prefix(&server.public_url).unwrap().to_owned();
    let jwks = server.get(&local(&doc["jwks_uri"])).await;
    jwks.expect_status(200, "advertised jwks_uri");
    assert_eq!(jwks.json, server.jwks("acme").await.json);
    for endpoint in ["token_endpoint", "introspection_endpoint", "revocation_endpoint"] {
        let reply = server
            .send(
                Method::POST,
                &local(&doc[endpoint]),
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(b"token=x&grant_type=client_credentials".to_vec()),
            )
            .await;
        reply.expect_oauth_error(
            401,
            "invalid_client",
            &format!("advertised {endpoint} without credentials"),
        );
    }
    // Each advertised signing algorithm really is accepted as a tenant setting.
    for alg in &algs {
        server.put_settings("acme", json!({ "access_token_alg": alg })).await;
    }
}

#[tokio::test]
async fn public_url_sets_the_issuer() {
    let mut options = Options::new(Backend::Software);
    options.public_url = Some("https://id.example.test/base/".to_owned());
    let server = TestServer::start_with(options).await;
    let expected = "https://id.example.test/base/t/acme";
    let tenant = server.create_tenant("acme", Value::Null).await;
    assert_eq!(tenant["issuer"], expected, "a trailing slash of the public URL is dropped");
    let doc = server.discovery("acme").await.json;
    assert_eq!(doc["issuer"], expected);
    assert_eq!(doc["token_endpoint"], format!("{expected}/token"));
    let (id, secret) = server.cc_client("acme", "read").await;
    let token = server.cc_token("acme", &id, &secret).await;
    let claims = verify_jwt(&token, &server.jwks("acme").await.json, "ES384", expected);
    assert_eq!(claims["iss"], expected);
    assert!(server.is_active("acme", &id, &secret, &token).await);
}

#[tokio::test]
async fn health_endpoints() {
    let server = TestServer::start(Backend::Software).await;
    let live = server.get("/healthz").await;
    live.expect_status(200, "liveness");
    let ready = server.get("/readyz").await;
    ready.expect_status(200, "readiness");
}

/// RFC 7591 `grant_types` is a set: a grant listed twice must be stored (and shown) once.
#[tokio::test]
async fn grant_types_are_a_set() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let body = json!({ "grant_types": ["client_credentials", "authorization_code", "client_credentials"],
                       "redirect_uris": ["https://app.example/cb"] });
    let reply = server.admin(Method::POST, "/tenants/acme/clients", Some(body)).await;
    reply.expect_status(201, "create client");
    assert_eq!(reply.json["grant_types"], json!(["client_credentials", "authorization_code"]));
    let id = reply.json["client_id"].as_str().unwrap();
    let got = server.admin(Method::GET, &format!("/tenants/acme/clients/{id}"), None).await;
    assert_eq!(got.json["grant_types"], json!(["client_credentials", "authorization_code"]));
}

/// Creating the same tenant many times at once: exactly one create wins (201), the others get
/// 409 (a create must not silently overwrite a tenant another request just created).
#[tokio::test]
async fn concurrent_tenant_creates_have_one_winner() {
    let server = TestServer::start(Backend::Software).await;
    for round in 0..5 {
        let id = format!("race{round}");
        let creates = (0..8).map(|i| {
            server.admin(Method::POST, "/tenants", Some(json!({ "id": id, "display_name": format!("n{i}") })))
        });
        let replies = common::join_all(creates.collect()).await;
        let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "tenant {id}: {statuses:?}");
        let winners: Vec<&common::Reply> = replies.iter().filter(|r| r.status == 201).collect();
        assert_eq!(winners.len(), 1, "one create of tenant {id} wins: {statuses:?}");
        let stored = server.admin(Method::GET, &format!("/tenants/{id}"), None).await.json;
        assert_eq!(stored, winners[0].json, "the stored tenant is the one the winner was told about");
    }
    server.assert_alive();
}

/// Registering the same client_id many times at once: exactly one registration wins (201), the
/// others get 409, and the secret the winner received is the one that works.
#[tokio::test]
async fn concurrent_client_creates_have_one_winner() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    for round in 0..5 {
        let client_id = format!("dup{round}");
        let body = json!({ "client_id": client_id, "grant_types": ["client_credentials"] });
        let creates = (0..8).map(|_| server.admin(Method::POST, "/tenants/acme/clients", Some(body.clone())));
        let replies = common::join_all(creates.collect()).await;
        let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "client {client_id}: {statuses:?}");
        for reply in replies.iter().filter(|r| r.status == 201) {
            let secret = reply.json["client_secret"].as_str().unwrap();
            let token =
                server.token_basic("acme", &client_id, secret, &[("grant_type", "client_credentials")]).await;
            token.expect_status(200, &format!("a secret handed out for {client_id} ({statuses:?})"));
        }
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "client {client_id}: {statuses:?}");
    }
    server.assert_alive();
}

/// A client registered while its tenant is being deleted: the registration lands before the
/// deletion (and goes with it) or is refused, so a tenant re-created with the same id never
/// inherits the client. Registrations do not wait for the admin API's lock; the store decides.
#[tokio::test]
async fn a_client_registered_during_its_tenants_deletion_does_not_outlive_it() {
    let server = TestServer::start(Backend::Software).await;
    for round in 0..5 {
        let t = format!("gone{round}");
        server.create_tenant(&t, Value::Null).await;
        let body = json!({ "client_id": "web", "grant_types": ["client_credentials"] });
        let (clients, tenant) = (format!("/tenants/{t}/clients"), format!("/tenants/{t}"));
        let (created, deleted) = tokio::join!(
            server.admin(Method::POST, &clients, Some(body)),
            server.admin(Method::DELETE, &tenant, None),
        );
        deleted.expect_status(204, "delete the tenant");
        let status = created.status.as_u16();
        assert!([201, 404, 409].contains(&status), "round {round}: registration answered {status}");
        server.create_tenant(&t, Value::Null).await;
        server
            .admin(Method::GET, &format!("/tenants/{t}/clients/web"), None)
            .await
            .expect_status(404, &format!("round {round}: the re-created tenant has no client"));
    }
    server.assert_alive();
}

/// A secret rotation racing a metadata change: after both answered, the rotated secret works
/// and the old one does not (the change must not write the old secret back).
#[tokio::test]
async fn secret_rotation_racing_a_patch_is_not_undone() {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, mut secret) = server.cc_client("acme", "read").await;
    let client = format!("/tenants/acme/clients/{id}");
    let rotate = format!("{client}/secret");
    for round in 0..10 {
        let patches = (0..3).map(|i| {
            server.admin(Method::PATCH, &client, Some(json!({ "client_name": format!("r{round}-{i}") })))
        });
        let (rotated, patched) =
            tokio::join!(server.admin(Method::POST, &rotate, None), common::join_all(patches.collect()));
        rotated.expect_status(200, "rotate");
        for p in patched {
            p.expect_status(200, "patch");
        }
        let new_secret = rotated.json["client_secret"].as_str().unwrap().to_owned();
        server
            .token_basic("acme", &id, &secret, &[("grant_type", "client_credentials")])
            .await
            .expect_oauth_error(
                401,
                "invalid_client",
                &format!("round {round}: the old secret after rotation"),
            );
        server
            .token_basic("acme", &id, &new_secret, &[("grant_type", "client_credentials")])
            .await
            .expect_status(200, &format!("round {round}: the rotated secret"));
        secret = new_secret;
    }
}

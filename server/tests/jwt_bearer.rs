//! The JWT bearer grant (RFC 7523 2.1) on the real binary, with partner keys made in the test:
//! a valid assertion becomes a JWT or opaque access token that verifies and introspects active
//! for a subject that is no local user; a wrong signature, audience or issuer, an expired or
//! not-yet-valid one, one issued too long ago, `none` and HS256, a subject the issuer may not
//! assert and a replayed `jti` (also after a restart) are `invalid_grant`; a client not
//! registered for the grant is `unauthorized_client` and a public one cannot register it; keys
//! from a `jwks_uri` stand-in on 127.0.0.1 are fetched again when the partner rotates.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use common::{Backend, Behaviour, MockValidator, Reply, TestServer, verify_jwt};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const PARTNER: &str = "https://partner.example";

/// A partner's ES256 signing key and its public JWK.
struct PartnerKey {
    kid: String,
    key: EncodingKey,
    jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn partner_key(kid: &str) -> PartnerKey {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let pkcs8 = pair.to_pkcs8v1().unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let jwk = json!({ "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        "kid": kid, "alg": "ES256", "use": "sig" });
    PartnerKey { kid: kid.to_owned(), key: EncodingKey::from_ec_der(pkcs8.as_ref()), jwk }
}

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// Claims of a good assertion for `aud`, with a fresh `jti`.
fn claims(aud: &str) -> Value {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json!({ "iss": PARTNER, "sub": "alice@partner.example", "aud": aud, "exp": now() + 120,
        "iat": now(), "jti": format!("jti-{n}-{}", now()) })
}

fn sign(key: &PartnerKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.key).unwrap()
}

async fn exchange(server: &TestServer, client: &(String, String), assertion: &str) -> Reply {
    server.token_basic("acme", &client.0, &client.1, &[("grant_type", GRANT), ("assertion", assertion)]).await
}

/// A server with tenant `acme` trusting the partner (keys `jwks` inline, or at `jwks_uri`)
/// and a JWT client and an opaque client registered for the grant.
async fn start(keys: Value) -> (TestServer, (String, String), (String, String)) {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let mut body = json!({ "name": "Partner", "issuer": PARTNER, "allowed_subjects": "*@partner.example",
        "subject_prefix": "partner" });
    body.as_object_mut().unwrap().extend(keys.as_object().unwrap().clone());
    let reply = server.admin(Method::POST, "/tenants/acme/trusted-issuers", Some(body)).await;
    reply.expect_status(201, "trusted issuer created");
    let jwt = server.create_client("acme", json!({ "grant_types": [GRANT], "scope": "read write" })).await;
    let opaque = server
        .create_client(
            "acme",
            json!({ "grant_types": [GRANT], "scope": "read", "access_token_format": "opaque" }),
        )
        .await;
    (server, jwt, opaque)
}

#[tokio::test]
async fn a_valid_assertion_is_exchanged_once_for_tokens_that_verify_and_introspect() {
    let key = partner_key("k1");
    let (server, jwt_client, opaque_client) = start(json!({ "jwks": { "keys": [key.jwk] } })).await;
    let issuer = server.issuer("acme");
    let discovery = server.get("/t/acme/.well-known/openid-configuration").await;
    assert!(discovery.json["grant_types_supported"].as_array().unwrap().contains(&json!(GRANT)));

    let assertion = sign(&key, &claims(&issuer));
    let reply = exchange(&server, &jwt_client, &assertion).await;
    reply.expect_status(200, "a valid assertion");
    assert!(reply.json.get("refresh_token").is_none() && reply.json.get("id_token").is_none());
    assert_eq!(reply.json["scope"], "read write");
    let token = reply.json["access_token"].as_str().unwrap();
    let jwks = server.jwks("acme").await.json;
    let verified = verify_jwt(token, &jwks, "ES384", &issuer);
    assert_eq!(verified["sub"], "partner:alice@partner.example", "the mapped subject");
    let trusted = server.admin(Method::GET, "/tenants/acme/trusted-issuers", None).await.json;
    let issuer_id = trusted["trusted_issuers"][0]["id"].clone();
    assert_eq!(verified["validator"], issuer_id, "names what vouched for the subject");
    let seen = server.introspect("acme", &jwt_client.0, &jwt_client.1, token).await;
    assert_eq!(seen.json["active"], true, "no local user, still active: {}", seen.text);
    assert_eq!(seen.json["sub"], "partner:alice@partner.example");

    exchange(&server, &jwt_client, &assertion).await.expect_oauth_error(
        400,
        "invalid_grant",
        "a replayed jti",
    );
    exchange(&server, &opaque_client, &assertion).await.expect_oauth_error(
        400,
        "invalid_grant",
        "a replayed jti, by another client",
    );

    // The token endpoint's URL is an audience too; an opaque token introspects active.
    let reply = exchange(&server, &opaque_client, &sign(&key, &claims(&format!("{issuer}/token")))).await;
    reply.expect_status(200, "the token endpoint as aud");
    let opaque = reply.json["access_token"].as_str().unwrap();
    assert_eq!(opaque.split('.').count(), 1, "opaque");
    let seen = server.introspect("acme", &opaque_client.0, &opaque_client.1, opaque).await;
    assert_eq!(seen.json["active"], true, "{}", seen.text);
    assert_eq!(seen.json["sub"], "partner:alice@partner.example");

    // A narrower scope may be asked for; a wider one is invalid_scope.
    fn form<'a>(a: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![("grant_type", GRANT), ("scope", scope), ("assertion", a)]
    }
    let a = sign(&key, &claims(&issuer));
    let reply = server.token_basic("acme", &jwt_client.0, &jwt_client.1, &form(&a, "read")).await;
    assert_eq!(reply.json["scope"], "read", "{}", reply.text);
    let a = sign(&key, &claims(&issuer));
    server.token_basic("acme", &jwt_client.0, &jwt_client.1, &form(&a, "admin")).await.expect_oauth_error(
        400,
        "invalid_scope",
        "beyond the client's scope",
    );
    let reply = server.token_basic("acme", &jwt_client.0, &jwt_client.1, &form(&a, "write")).await;
    reply.expect_status(200, "a refused scope did not use the assertion up");
    server.assert_alive();
}

#[tokio::test]
async fn invalid_assertions_are_invalid_grant() {
    let key = partner_key("k1");
    let (server, client, _) = start(json!({ "jwks": { "keys": [key.jwk] } })).await;
    let issuer = server.issuer("acme");
    let with = |name: &str, value: Value| {
        let mut c = claims(&issuer);
        c[name] = value;
        c
    };
    let without = |name: &str| {
        let mut c = claims(&issuer);
        c.as_object_mut().unwrap().remove(name);
        c
    };
    let impostor = partner_key("k1");
    let cases: Vec<(&str, String)> = vec![
        ("a signature by another key under the same kid", sign(&impostor, &claims(&issuer))),
        ("a kid the issuer does not have", sign(&partner_key("k2"), &claims(&issuer))),
        ("another audience", sign(&key, &with("aud", json!("https://elsewhere.example")))),
        ("another tenant's issuer as audience", sign(&key, &with("aud", json!(server.issuer("other"))))),
        ("an untrusted issuer", sign(&key, &with("iss", json!("https://stranger.example")))),
        ("expired", sign(&key, &with("exp", json!(now() - 120)))),
        ("no exp", sign(&key, &without("exp"))),
        ("not yet valid", sign(&key, &with("nbf", json!(now() + 600)))),
        ("issued too long ago", sign(&key, &with("iat", json!(now() - 3600)))),
        ("no jti", sign(&key, &without("jti"))),
        ("no sub", sign(&key, &without("sub"))),
        ("a subject the issuer may not assert", sign(&key, &with("sub", json!("mallory@elsewhere.example")))),
        ("not a JWT", "not.a.jwt".to_owned()),
    ];
    for (what, assertion) in &cases {
        exchange(&server, &client, assertion).await.expect_oauth_error(400, "invalid_grant", what);
    }
    // alg none, and HS256 with the public key's x as the secret (the classic confusion).
    let body = b64(claims(&issuer).to_string().as_bytes());
    let none = format!("{}.{body}.", b64(br#"{"alg":"none","kid":"k1"}"#));
    exchange(&server, &client, &none).await.expect_oauth_error(400, "invalid_grant", "alg none");
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    let secret = EncodingKey::from_secret(key.jwk["x"].as_str().unwrap().as_bytes());
    let hmac = jsonwebtoken::encode(&hs, &claims(&issuer), &secret).unwrap();
    exchange(&server, &client, &hmac).await.expect_oauth_error(400, "invalid_grant", "HS256");

    // A missing assertion is a malformed request, not a bad grant (RFC 6749 5.2).
    server.token_basic("acme", &client.0, &client.1, &[("grant_type", GRANT)]).await.expect_oauth_error(
        400,
        "invalid_request",
        "no assertion",
    );
    // A client not registered for the grant; a public client cannot register it.
    let cc = server.cc_client("acme", "read").await;
    exchange(&server, &cc, &sign(&key, &claims(&issuer))).await.expect_oauth_error(
        400,
        "unauthorized_client",
        "not registered for the grant",
    );
    let public = json!({ "grant_types": [GRANT], "token_endpoint_auth_method": "none" });
    server
        .admin(Method::POST, "/tenants/acme/clients", Some(public))
        .await
        .expect_status(400, "public client");
    // A good one still goes through after all that.
    exchange(&server, &client, &sign(&key, &claims(&issuer))).await.expect_status(200, "a good one");
    server.assert_alive();
}

#[tokio::test]
async fn a_replay_after_a_restart_is_refused() {
    let key = partner_key("k1");
    let (mut server, client, _) = start(json!({ "jwks": { "keys": [key.jwk] } })).await;
    let assertion = sign(&key, &claims(&server.issuer("acme")));
    exchange(&server, &client, &assertion).await.expect_status(200, "first use");
    server.restart().await;
    exchange(&server, &client, &assertion).await.expect_oauth_error(
        400,
        "invalid_grant",
        "replayed after restart",
    );
    exchange(&server, &client, &sign(&key, &claims(&server.issuer("acme"))))
        .await
        .expect_status(200, "a new one");
}

#[tokio::test]
async fn keys_from_a_jwks_uri_are_fetched_again_when_the_partner_rotates() {
    let (old, new) = (partner_key("old"), partner_key("new"));
    let jwks = MockValidator::start(Behaviour::Accept(json!({ "keys": [old.jwk] }))).await;
    let (server, client, _) = start(json!({ "jwks_uri": jwks.url })).await;
    let issuer = server.issuer("acme");
    exchange(&server, &client, &sign(&old, &claims(&issuer))).await.expect_status(200, "the old key");
    exchange(&server, &client, &sign(&old, &claims(&issuer))).await.expect_status(200, "cached");
    assert_eq!(jwks.count(), 1, "fetched once, then cached");

    jwks.set(Behaviour::Accept(json!({ "keys": [old.jwk, new.jwk] })));
    // Unknown kids fetch again at most once per window: wait it out, as a rotation does.
    tokio::time::sleep(Duration::from_millis(5_200)).await;
    exchange(&server, &client, &sign(&new, &claims(&issuer)))
        .await
        .expect_status(200, "the new key, refetched");
    assert_eq!(jwks.count(), 2, "one refetch");
    for _ in 0..3 {
        exchange(&server, &client, &sign(&partner_key("made-up"), &claims(&issuer)))
            .await
            .expect_oauth_error(400, "invalid_grant", "a made-up kid");
    }
    assert_eq!(jwks.count(), 2, "made-up kids within the window fetch nothing");

    // A partner that cannot be reached is not a bad assertion.
    drop(jwks);
    let body = json!({ "jwks_uri": "http://127.0.0.1:9/jwks" });
    let list = server.admin(Method::GET, "/tenants/acme/trusted-issuers", None).await.json;
    let id = list["trusted_issuers"][0]["id"].as_str().unwrap().to_owned();
    server
        .admin(Method::PATCH, &format!("/tenants/acme/trusted-issuers/{id}"), Some(body))
        .await
        .expect_status(200, "moved");
    exchange(&server, &client, &sign(&new, &claims(&issuer))).await.expect_oauth_error(
        503,
        "temporarily_unavailable",
        "keys out of reach",
    );
    server.assert_alive();
}

#[tokio::test]
async fn trusted_issuers_are_managed_and_checked() {
    let key = partner_key("k1");
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let path = "/tenants/acme/trusted-issuers";
    let post = |body: Value| server.admin(Method::POST, path, Some(body));
    for (what, body) in [
        ("no key source", json!({ "name": "p", "issuer": PARTNER })),
        (
            "two key sources",
            json!({ "name": "p", "issuer": PARTNER, "jwks_uri": "https://p/jwks", "jwks": { "keys": [key.jwk] } }),
        ),
        (
            "a private key",
            json!({ "name": "p", "issuer": PARTNER, "jwks": { "keys": [{ "kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c" }] } }),
        ),
        (
            "a symmetric key",
            json!({ "name": "p", "issuer": PARTNER, "jwks": { "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] } }),
        ),
        ("not a URI", json!({ "name": "p", "issuer": "partner", "jwks_uri": "https://p/jwks" })),
        (
            "a bad prefix",
            json!({ "name": "p", "issuer": PARTNER, "jwks_uri": "https://p/jwks", "subject_prefix": "a:b" }),
        ),
        (
            "an unknown field",
            json!({ "name": "p", "issuer": PARTNER, "jwks_uri": "https://p/jwks", "nope": 1 }),
        ),
    ] {
        post(body).await.expect_status(400, what);
    }
    let created = post(json!({ "issuer": PARTNER, "jwks": { "keys": [key.jwk] } })).await;
    created.expect_status(201, "created");
    assert_eq!(created.json["name"], PARTNER, "named after its issuer by default");
    assert_eq!(created.json["jwks"]["keys"][0]["kid"], "k1");
    post(json!({ "name": "again", "issuer": PARTNER, "jwks_uri": "https://p/jwks" }))
        .await
        .expect_status(409, "one issuer once");
    let id = created.json["id"].as_str().unwrap();
    let one = format!("{path}/{id}");
    let patched = server
        .admin(
            Method::PATCH,
            &one,
            Some(json!({ "jwks_uri": "https://p.example/jwks", "subject_prefix": "p" })),
        )
        .await;
    patched.expect_status(200, "patched");
    assert_eq!(
        (patched.json["jwks"].clone(), patched.json["subject_prefix"].clone()),
        (Value::Null, json!("p"))
    );
    let cleared = server.admin(Method::PATCH, &one, Some(json!({ "subject_prefix": null }))).await;
    assert_eq!(cleared.json["subject_prefix"], Value::Null);
    server.admin(Method::DELETE, &one, None).await.expect_status(204, "deleted");
    server.admin(Method::GET, &one, None).await.expect_status(404, "gone");
}

//! The direct authorisation API (`POST /direct-authz/rest/v2`, Connect2id direct-authz v2)
//! against the real binary: the documented request forms, impersonation, identifier,
//! self-contained and encrypted access tokens, sessions it creates used again by the API and at
//! `/authorize`, every error status, one tenant's bearer token at another, concurrent session
//! creation, and malformed bodies refused with nothing stored.

mod common;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{
    Backend, Options, Reply, TestServer, cookie_names, join_all, jwt_claims, verify_id_token, verify_jwt,
    verify_jwt_for,
};
use reqwest::Method;
use serde_json::{Value, json};

const TENANT: &str = "acme";
const OTHER: &str = "globex";
const CB: &str = "https://app.example/cb";
const KEY: [u8; 32] = [42; 32];

/// A server with tenants `acme` and `globex`, each with a direct-authz bearer token, `acme`
/// with local users `alice` and `dave` (disabled), a first-party client `app` and a resource
/// server client `rs` with introspection rights.
struct Setup {
    server: TestServer,
    token: String,
    other_token: String,
    app: (String, String),
    rs: (String, String),
    alice: String,
    dave: String,
}

async fn setup() -> Setup {
    let mut options = Options::new(Backend::Software);
    options.extra_args = vec!["--login-attempts-per-ip-per-minute".into(), "1000".into()];
    let server = TestServer::start_with(options).await;
    server.create_tenant(TENANT, Value::Null).await;
    server.create_tenant(OTHER, Value::Null).await;
    let alice = json!({ "username": "alice", "password": "correct horse battery",
        "email": "alice@example.com" });
    let alice = server.create_user(TENANT, alice).await["id"].as_str().expect("id").to_owned();
    let dave = json!({ "username": "dave", "password": "correct horse battery", "disabled": true });
    let dave = server.create_user(TENANT, dave).await["id"].as_str().expect("id").to_owned();
    let app = server
        .create_client(
            TENANT,
            json!({ "client_name": "app", "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [CB], "scope": "openid profile email read write", "first_party": true }),
        )
        .await;
    let rs = server.cc_client(TENANT, "read").await;
    let token = issue_token(&server, TENANT).await;
    let other_token = issue_token(&server, OTHER).await;
    Setup { server, token, other_token, app, rs, alice, dave }
}

async fn issue_token(server: &TestServer, tenant: &str) -> String {
    let reply = server.admin(Method::POST, &format!("/tenants/{tenant}/direct-authz/token"), None).await;
    reply.expect_status(201, "issue the direct-authz token");
    reply.json["token"].as_str().expect("token").to_owned()
}

impl Setup {
    /// A call with this tenant's token, named by `Tenant-ID`.
    async fn call(&self, body: Value) -> Reply {
        self.call_raw(&[("tenant-id", TENANT)], Some(&self.token), body.to_string().into_bytes()).await
    }

    async fn call_raw(&self, tenant: &[(&str, &str)], token: Option<&str>, body: Vec<u8>) -> Reply {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/json")];
        headers.extend_from_slice(tenant);
        if let Some(auth) = &auth {
            headers.push(("authorization", auth));
        }
        self.server.send(Method::POST, "/direct-authz/rest/v2", &headers, Some(body)).await
    }

    async fn ok(&self, body: Value) -> Value {
        let reply = self.call(body.clone()).await;
        reply.expect_status(200, &format!("direct authorisation {body}"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        reply.json
    }

    async fn jwks(&self) -> Value {
        self.server.jwks(TENANT).await.json
    }

    fn issuer(&self) -> String {
        self.server.issuer(TENANT)
    }
}

/// Asserts a Connect2id error answer.
#[track_caller]
fn expect_error(reply: &Reply, status: u16, code: &str, what: &str) {
    reply.expect_status(status, what);
    assert_eq!(reply.error(), Some(code), "{what}: {}", reply.text);
    assert!(reply.json["error_description"].is_string(), "{what}: {}", reply.text);
    if status == 401 {
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{what}: challenge {challenge:?}");
    }
}

#[tokio::test]
async fn documented_request_forms() {
    let s = setup().await;
    let (app, _) = &s.app;
    // An ID, access and refresh token with a new session for alice (the first example).
    let a = s
        .ok(json!({ "sub_session": { "sub": s.alice }, "client_id": app, "scope": ["openid", "email"],
            "claims": ["email"], "long_lived": true }))
        .await;
    assert_eq!(a["token_type"], "Bearer");
    assert_eq!(a["scope"], "openid email");
    assert!(a["expires_in"].as_u64().is_some_and(|e| e > 0));
    assert!(a["refresh_token"].is_string() && a["sub_sid"].is_string(), "{a}");
    let at = verify_jwt(a["access_token"].as_str().expect("at"), &s.jwks().await, "ES384", &s.issuer());
    assert_eq!((at["sub"].as_str(), at["client_id"].as_str()), (Some(s.alice.as_str()), Some(app.as_str())));
    let id = verify_id_token(a["id_token"].as_str().expect("id"), &s.jwks().await, "RS256", &s.issuer(), app);
    assert_eq!(id["sub"], s.alice.as_str());
    assert!(id["sid"].is_string() && id["auth_time"].is_i64());
    // Access token only, for a subject that is no local user (a federated one).
    let b = s.ok(json!({ "sub": "federated-bob", "client_id": app, "scope": ["read"] })).await;
    assert!(b.get("id_token").is_none() && b.get("sub_sid").is_none() && b.get("refresh_token").is_none());
    let at = verify_jwt(b["access_token"].as_str().expect("at"), &s.jwks().await, "ES384", &s.issuer());
    assert_eq!(at["sub"], "federated-bob");
    // A session with auth_time, acr and amr; claims in the ID token; preset claims; lifetimes.
    let c = s
        .ok(json!({ "sub_session": { "sub": s.alice, "auth_time": 1_700_000_000, "acr": "urn:acr:mfa",
                "amr": ["pwd", "otp"], "data": { "ip": "10.0.0.1" } },
            "client_id": app, "scope": ["openid", "email"], "claims": ["email"],
            "claims_transport": "ID_TOKEN", "claims_locales": ["en"],
            "preset_claims": { "id_token": { "group": "staff", "sub": "mallory" }, "userinfo": { "x": 1 } },
            "access_token": { "lifetime": 600 }, "id_token": { "lifetime": 300 } }))
        .await;
    assert_eq!(c["expires_in"], 600);
    let id = verify_id_token(c["id_token"].as_str().expect("id"), &s.jwks().await, "RS256", &s.issuer(), app);
    assert_eq!((id["acr"].as_str(), id["amr"].clone()), (Some("urn:acr:mfa"), json!(["pwd", "otp"])));
    assert_eq!(
        (id["email"].as_str(), id["group"].as_str(), id["sub"].as_str()),
        (Some("alice@example.com"), Some("staff"), Some(s.alice.as_str()))
    );
    assert_eq!(id["exp"].as_i64().expect("exp") - id["iat"].as_i64().expect("iat"), 300);
    assert_eq!(id["auth_time"], 1_700_000_000);
    // `data` travels as `dat`.
    let d = s.ok(json!({ "sub": s.alice, "client_id": app, "data": { "tier": "gold" } })).await;
    assert_eq!(jwt_claims(d["access_token"].as_str().expect("at"))["dat"], json!({ "tier": "gold" }));
    // The tenant named by its issuer URL.
    let reply = s
        .call_raw(
            &[("issuer", &s.issuer())],
            Some(&s.token),
            json!({ "sub": s.alice, "client_id": app }).to_string().into_bytes(),
        )
        .await;
    reply.expect_status(200, "Issuer header");
}

#[tokio::test]
async fn sessions_are_reused_by_the_api_and_at_authorize_and_end_at_logout() {
    let s = setup().await;
    let (app, _) = &s.app;
    let a = s.ok(json!({ "sub_session": { "sub": s.alice }, "client_id": app, "scope": ["openid"] })).await;
    let sid = a["sub_sid"].as_str().expect("sub_sid").to_owned();
    let first =
        verify_id_token(a["id_token"].as_str().expect("id"), &s.jwks().await, "RS256", &s.issuer(), app);
    // Reused by the API: the same session (`sid`), no new one.
    let b = s.ok(json!({ "sub_sid": sid, "client_id": app, "scope": ["openid", "profile"] })).await;
    assert!(b.get("sub_sid").is_none(), "no session was created: {b}");
    let second =
        verify_id_token(b["id_token"].as_str().expect("id"), &s.jwks().await, "RS256", &s.issuer(), app);
    assert_eq!(first["sid"], second["sid"]);
    // At /authorize, the session cookie answers without a login.
    let (cookie_name, _) = cookie_names(&s.server, TENANT);
    let cookie = format!("{cookie_name}={sid}");
    let query = serde_urlencoded_pairs(&[
        ("client_id", app),
        ("response_type", "code"),
        ("redirect_uri", CB),
        ("scope", "openid"),
        ("state", "s1"),
    ]);
    let path = format!("/t/{TENANT}/authorize?{query}");
    let reply = s.server.send(Method::GET, &path, &[("cookie", &cookie)], None).await;
    let params = common::redirect_params(&reply, CB, "authorize with the direct-authz session");
    assert!(params.contains_key("code"), "{params:?}");
    // Without the cookie: the login page.
    let reply = s.server.send(Method::GET, &path, &[], None).await;
    common::expect_login_page(&reply, "authorize without a session");
    // Logout with the ID token as hint ends it at once: a later call with it is 461.
    let hint = a["id_token"].as_str().expect("id");
    let logout = format!("/t/{TENANT}/logout?{}", common::form_body(&[("id_token_hint", hint)]));
    let reply = s.server.send(Method::GET, &logout, &[("cookie", &cookie)], None).await;
    assert!(reply.status.is_success() || reply.status.is_redirection(), "logout: {}", reply.text);
    let ended = s.call(json!({ "sub_sid": sid, "client_id": app })).await;
    expect_error(&ended, 461, "invalid_subject_session_id", "a session ended at logout");
}

fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    common::form_body(pairs)
}

#[tokio::test]
async fn impersonation_names_the_actor_in_both_tokens() {
    let s = setup().await;
    let (app, _) = &s.app;
    let a = s
        .ok(json!({ "sub_session": { "sub": s.alice }, "client_id": app, "scope": ["openid"],
            "impersonated_sub": "customer-7" }))
        .await;
    let at = verify_jwt(a["access_token"].as_str().expect("at"), &s.jwks().await, "ES384", &s.issuer());
    assert_eq!((at["sub"].clone(), at["act"].clone()), (json!("customer-7"), json!({ "sub": s.alice })));
    let id = verify_id_token(a["id_token"].as_str().expect("id"), &s.jwks().await, "RS256", &s.issuer(), app);
    assert_eq!((id["sub"].clone(), id["act"].clone()), (json!("customer-7"), json!({ "sub": s.alice })));
    // An identifier token says so at introspection too.
    let b = s
        .ok(json!({ "sub": s.alice, "client_id": app, "impersonated_sub": "customer-7",
            "access_token": { "encoding": "IDENTIFIER" } }))
        .await;
    let (rs, rs_secret) = &s.rs;
    let seen = s.server.introspect(TENANT, rs, rs_secret, b["access_token"].as_str().expect("at")).await;
    assert_eq!(
        (seen.json["active"].clone(), seen.json["act"].clone()),
        (json!(true), json!({ "sub": s.alice }))
    );
    assert_eq!(seen.json["sub"], "customer-7");
    // Long-lived, its refresh tokens keep the actor in both tokens, while the actor stands.
    let c = s
        .ok(json!({ "sub_session": { "sub": s.alice }, "client_id": app, "scope": ["openid"],
            "impersonated_sub": "customer-7", "long_lived": true }))
        .await;
    let (app, secret) = &s.app;
    let refresh = c["refresh_token"].as_str().expect("a refresh token").to_owned();
    let reply = s
        .server
        .token_basic(TENANT, app, secret, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    reply.expect_status(200, "refresh an impersonation");
    let at =
        verify_jwt(reply.json["access_token"].as_str().expect("at"), &s.jwks().await, "ES384", &s.issuer());
    assert_eq!((at["sub"].clone(), at["act"].clone()), (json!("customer-7"), json!({ "sub": s.alice })));
    let id = verify_id_token(
        reply.json["id_token"].as_str().expect("id"),
        &s.jwks().await,
        "RS256",
        &s.issuer(),
        app,
    );
    assert_eq!((id["sub"].clone(), id["act"].clone()), (json!("customer-7"), json!({ "sub": s.alice })));
    let next = reply.json["refresh_token"].as_str().expect("next").to_owned();
    let path = format!("/tenants/{TENANT}/users/{}", s.alice);
    s.server
        .admin(Method::PATCH, &path, Some(json!({ "disabled": true })))
        .await
        .expect_status(200, "disable the actor");
    let reply = s
        .server
        .token_basic(TENANT, app, secret, &[("grant_type", "refresh_token"), ("refresh_token", &next)])
        .await;
    reply.expect_status(400, "the impersonator is disabled");
    assert_eq!(reply.error(), Some("invalid_grant"));
}

#[tokio::test]
async fn identifier_tokens_with_an_audience_are_active_only_for_it() {
    let s = setup().await;
    let (app, _) = &s.app;
    let (rs, rs_secret) = &s.rs;
    let other_rs = s.server.cc_client(TENANT, "read").await;
    let a = s
        .ok(json!({ "sub": s.alice, "client_id": app, "scope": ["read"], "audience": [rs],
            "access_token": { "encoding": "IDENTIFIER", "lifetime": 120 }, "data": { "k": "v" } }))
        .await;
    let token = a["access_token"].as_str().expect("at");
    assert!(!token.contains('.'), "an identifier, not a JWT: {token}");
    assert_eq!(a["expires_in"], 120);
    let seen = s.server.introspect(TENANT, rs, rs_secret, token).await;
    assert_eq!(seen.json["active"], true, "{}", seen.text);
    assert_eq!((seen.json["scope"].clone(), seen.json["dat"].clone()), (json!("read"), json!({ "k": "v" })));
    assert!(!s.server.is_active(TENANT, &other_rs.0, &other_rs.1, token).await, "not in the audience");
    assert!(s.server.operator_sees_active(TENANT, token).await, "the operator sees every token");
    // Without an audience, any client of the tenant.
    let b = s
        .ok(json!({ "sub": "federated", "client_id": app, "access_token": { "encoding": "IDENTIFIER" } }))
        .await;
    assert!(
        s.server.is_active(TENANT, &other_rs.0, &other_rs.1, b["access_token"].as_str().expect("at")).await
    );
}

#[tokio::test]
async fn encrypted_access_tokens_decrypt_with_the_shared_key_and_verify_inside() {
    let s = setup().await;
    let (app, _) = &s.app;
    let body = json!({ "sub": s.alice, "client_id": app, "access_token": { "encrypt": true } });
    // No key yet: refused, nothing issued.
    expect_error(&s.call(body.clone()).await, 400, "invalid_request", "no encryption key");
    let path = format!("/tenants/{TENANT}/direct-authz/encryption-key");
    let short =
        s.server.admin(Method::PUT, &path, Some(json!({ "key": URL_SAFE_NO_PAD.encode([1u8; 16]) }))).await;
    short.expect_api_error(400, Some("invalid_request"), "a 128-bit key");
    s.server
        .admin(Method::PUT, &path, Some(json!({ "key": URL_SAFE_NO_PAD.encode(KEY) })))
        .await
        .expect_status(204, "set the key");
    let tenant = s.server.admin(Method::GET, &format!("/tenants/{TENANT}"), None).await;
    assert!(!tenant.text.contains(&URL_SAFE_NO_PAD.encode(KEY)), "the key is never shown");
    let a = s.ok(body).await;
    let jwe = a["access_token"].as_str().expect("at");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwe.split('.').next().expect("header")).expect("b64"))
            .expect("json");
    assert_eq!(
        (header["alg"].as_str(), header["enc"].as_str(), header["cty"].as_str()),
        (Some("dir"), Some("A256GCM"), Some("JWT"))
    );
    let inner = decrypt_as_recipient(jwe, &KEY);
    let claims = verify_jwt(&inner, &s.jwks().await, "ES384", &s.issuer());
    assert_eq!(claims["sub"], s.alice.as_str());
    // Encryption is for self-contained tokens only.
    let both = json!({ "sub": s.alice, "client_id": app, "access_token": { "encrypt": true, "encoding": "IDENTIFIER" } });
    expect_error(&s.call(both).await, 400, "invalid_request", "encrypting an identifier");
}

#[tokio::test]
async fn every_error_status() {
    let s = setup().await;
    let (app, _) = &s.app;
    let ok = json!({ "sub": s.alice, "client_id": app }).to_string().into_bytes();
    let t = [("tenant-id", TENANT)];
    expect_error(&s.call_raw(&t, None, ok.clone()).await, 401, "missing_token", "no token");
    expect_error(&s.call_raw(&t, Some("wrong"), ok.clone()).await, 401, "invalid_token", "wrong token");
    expect_error(
        &s.call_raw(&[("tenant-id", "nope")], Some(&s.token), ok.clone()).await,
        401,
        "invalid_token",
        "unknown tenant",
    );
    expect_error(
        &s.call_raw(&[], Some(&s.token), ok.clone()).await,
        400,
        "invalid_request",
        "no tenant header",
    );
    expect_error(
        &s.call(json!({ "sub": s.alice, "client_id": "unknown" })).await,
        460,
        "invalid_client_id",
        "client",
    );
    expect_error(
        &s.call(json!({ "sub_sid": "no-such-session", "client_id": app })).await,
        461,
        "invalid_subject_session_id",
        "session",
    );
    expect_error(
        &s.call(json!({ "sub": s.dave, "client_id": app })).await,
        400,
        "invalid_request",
        "disabled user",
    );
    expect_error(
        &s.call(json!({ "sub_session": { "sub": s.dave }, "client_id": app })).await,
        400,
        "invalid_request",
        "disabled user's session",
    );
    expect_error(
        &s.call(json!({ "sub": s.alice, "client_id": app, "scope": ["admin"] })).await,
        400,
        "invalid_request",
        "unregistered scope",
    );
    expect_error(
        &s.call(json!({ "sub": s.alice, "client_id": app, "access_token": { "lifetime": 999_999 } })).await,
        400,
        "invalid_request",
        "over the tenant's maximum",
    );
    expect_error(
        &s.call(json!({ "sub": s.alice, "client_id": app, "access_token": { "lifetime": 0 } })).await,
        400,
        "invalid_request",
        "zero lifetime",
    );
    let reply = s.server.send(Method::GET, "/direct-authz/rest/v2", &[], None).await;
    reply.expect_status(405, "GET");
    // The refusals are on the tenant's audit trail, by their code.
    let codes = ["missing_token", "invalid_token", "invalid_client_id", "invalid_subject_session_id"];
    recorded_refusals_until(&s.server, |reasons| codes.iter().all(|c| reasons.iter().any(|r| r == c))).await;
    // 462 (expired client secret) cannot arise: Tessera's client secrets do not expire. 500
    // is answered without internals (core's unit test of the mapping covers it).
}

/// The reasons of the tenant's recorded direct-authz refusals once `done` holds of them (asked
/// again until it does: events are recorded without the request waiting for them).
async fn recorded_refusals_until(server: &TestServer, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut last = Vec::new();
    for _ in 0..500 {
        let events =
            server.admin(Method::GET, &format!("/tenants/{TENANT}/events?type=token.failure"), None).await;
        events.expect_status(200, "events");
        last = events.json["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["action"] == "direct_authz")
            .filter_map(|e| e["reason"].as_str().map(str::to_owned))
            .collect();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the refusals never became what was expected: {last:?}");
}

#[tokio::test]
async fn one_tenants_token_is_refused_by_another_and_reissuing_ends_the_old_one() {
    let s = setup().await;
    let body = json!({ "sub": s.alice, "client_id": "x" }).to_string().into_bytes();
    let at_other = s.call_raw(&[("tenant-id", OTHER)], Some(&s.token), body.clone()).await;
    expect_error(&at_other, 401, "invalid_token", "acme's token at globex");
    let issuer = s.server.issuer(OTHER);
    let by_issuer = s.call_raw(&[("issuer", &issuer)], Some(&s.token), body.clone()).await;
    expect_error(&by_issuer, 401, "invalid_token", "acme's token at globex's issuer");
    let own = s.call_raw(&[("tenant-id", OTHER)], Some(&s.other_token), body.clone()).await;
    expect_error(&own, 460, "invalid_client_id", "globex's own token gets past authentication");
    let fresh = issue_token(&s.server, TENANT).await;
    let old = s.call_raw(&[("tenant-id", TENANT)], Some(&s.token), body.clone()).await;
    expect_error(&old, 401, "invalid_token", "the replaced token");
    let new = s.call_raw(&[("tenant-id", TENANT)], Some(&fresh), body).await;
    expect_error(&new, 460, "invalid_client_id", "the new token works");
}

#[tokio::test]
async fn concurrent_calls_create_distinct_working_sessions() {
    let s = setup().await;
    let (app, _) = &s.app;
    let calls = (0..16)
        .map(|_| s.ok(json!({ "sub_session": { "sub": s.alice }, "client_id": app, "scope": ["openid"] })));
    let answers = join_all(calls.collect()).await;
    let mut sids: Vec<String> =
        answers.iter().map(|a| a["sub_sid"].as_str().expect("sub_sid").to_owned()).collect();
    sids.sort();
    sids.dedup();
    assert_eq!(sids.len(), 16, "each call has its own session");
    let reuse = sids.iter().map(|sid| s.call(json!({ "sub_sid": sid, "client_id": app })));
    for reply in join_all(reuse.collect()).await {
        reply.expect_status(200, "each session is live");
    }
}

#[tokio::test]
async fn malformed_bodies_are_refused_with_nothing_stored() {
    let s = setup().await;
    let (app, _) = &s.app;
    let t = [("tenant-id", TENANT)];
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"{nope".to_vec()),
        ("an array", b"[1]".to_vec()),
        ("unknown member", json!({ "sub": "alice", "client_id": app, "nope": 1 }).to_string().into_bytes()),
        ("wrong type", json!({ "sub": "alice", "client_id": app, "scope": "openid" }).to_string().into_bytes()),
        ("both sub and sub_session",
            json!({ "sub": "alice", "sub_session": { "sub": "alice" }, "client_id": app }).to_string().into_bytes()),
        ("a session and a refresh token without long_lived",
            json!({ "sub_session": { "sub": "alice" }, "client_id": app, "refresh_token": { "issue": true } })
                .to_string().into_bytes()),
        ("a session with an unknown member",
            json!({ "sub_session": { "sub": "alice", "x": 1 }, "client_id": app }).to_string().into_bytes()),
        ("oversized", {
            let mut v = json!({ "sub_session": { "sub": "alice" }, "client_id": app });
            v["data"] = json!({ "pad": "x".repeat(70 * 1024) });
            v.to_string().into_bytes()
        }),
        ("truncated", b"{\"sub\": \"alice\",\n \"client_id\":".to_vec()),
    ];
    for (what, body) in bodies {
        let reply = s.call_raw(&t, Some(&s.token), body).await;
        expect_error(&reply, 400, "invalid_request", what);
    }
    let parse = s.call_raw(&t, Some(&s.token), b"{\"sub\": \"alice\",\n \"client_id\": 7}".to_vec()).await;
    assert!(parse.json["error_description"].as_str().is_some_and(|d| d.contains("line 2")), "{}", parse.text);
    let form = s
        .server
        .send(
            Method::POST,
            "/direct-authz/rest/v2",
            &[
                ("tenant-id", TENANT),
                ("authorization", &format!("Bearer {}", s.token)),
                ("content-type", "text/plain"),
            ],
            Some(b"sub=alice".to_vec()),
        )
        .await;
    expect_error(&form, 400, "invalid_request", "not JSON");
    // Each body is refused while it is read, before any lookup or write (`core::direct_authz::
    // request`); no answer carried a session or a token.
}

#[tokio::test]
async fn a_long_lived_authorisations_refresh_token_works_at_the_token_endpoint() {
    let s = setup().await;
    let (app, secret) = &s.app;
    let a = s
        .ok(json!({ "sub_session": { "sub": s.alice }, "client_id": app, "scope": ["openid", "read"],
            "long_lived": true, "refresh_token": { "lifetime": 600 } }))
        .await;
    let refresh = a["refresh_token"].as_str().expect("refresh_token");
    let reply = s
        .server
        .token_basic(TENANT, app, secret, &[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    reply.expect_status(200, "refresh");
    let at =
        verify_jwt(reply.json["access_token"].as_str().expect("at"), &s.jwks().await, "ES384", &s.issuer());
    assert_eq!(at["sub"], s.alice.as_str());
    // A transient authorisation has none, even when the client may refresh.
    let b = s.ok(json!({ "sub": s.alice, "client_id": app, "scope": ["read"] })).await;
    assert!(b.get("refresh_token").is_none(), "{b}");
}

#[tokio::test]
async fn a_jwt_for_several_audiences_names_them_all_and_can_be_revoked() {
    let s = setup().await;
    let (app, _) = &s.app;
    let (rs, rs_secret) = &s.rs;
    let a = s.ok(json!({ "sub": s.alice, "client_id": app, "audience": ["rs-a", "rs-b"] })).await;
    let token = a["access_token"].as_str().expect("at");
    assert_eq!(jwt_claims(token)["aud"], json!(["rs-a", "rs-b"]));
    assert!(s.server.is_active(TENANT, rs, rs_secret, token).await, "introspection reads it");
    s.server.operator_revoke(TENANT, token).await;
    assert!(!s.server.is_active(TENANT, rs, rs_secret, token).await, "revoked");
}

#[tokio::test]
async fn claims_named_for_userinfo_and_preset_ones_are_served_there_for_either_encoding() {
    let s = setup().await;
    let (app, _) = &s.app;
    for encoding in ["SELF_CONTAINED", "IDENTIFIER"] {
        // The default transport: `email` is read from alice's record at /userinfo; a preset
        // claim is added, but never overrides what the directory says or the subject.
        let a = s
            .ok(json!({ "sub": s.alice, "client_id": app, "scope": ["openid"], "claims": ["email"],
                "preset_claims": { "userinfo": { "group": "staff", "email": "x@evil.example", "sub": "mallory" } },
                "access_token": { "encoding": encoding } }))
            .await;
        let info = s.server.userinfo(TENANT, a["access_token"].as_str().expect("at")).await;
        info.expect_status(200, encoding);
        assert_eq!(
            info.json,
            json!({ "sub": s.alice, "email": "alice@example.com", "group": "staff" }),
            "{encoding}"
        );
        // Claims asked for in the ID token are not released at /userinfo.
        let b = s
            .ok(json!({ "sub": s.alice, "client_id": app, "scope": ["openid"], "claims": ["email"],
                "claims_transport": "ID_TOKEN", "access_token": { "encoding": encoding } }))
            .await;
        let info = s.server.userinfo(TENANT, b["access_token"].as_str().expect("at")).await;
        assert_eq!(info.json, json!({ "sub": s.alice }), "{encoding}: openid alone releases sub");
        // A subject the broker vouched for is no local user: its presets are all it has.
        let c = s
            .ok(json!({ "sub": "partner|7", "client_id": app, "scope": ["openid", "email"], "claims": ["email"],
                "preset_claims": { "userinfo": { "email": "p7@partner.example", "name": "P. Seven" } },
                "access_token": { "encoding": encoding } }))
            .await;
        let info = s.server.userinfo(TENANT, c["access_token"].as_str().expect("at")).await;
        info.expect_status(200, encoding);
        assert_eq!(
            info.json,
            json!({ "sub": "partner|7", "email": "p7@partner.example", "name": "P. Seven" })
        );
        // Without openid there is no userinfo, presets or not.
        let d = s
            .ok(json!({ "sub": "partner|7", "client_id": app, "scope": ["read"],
                "preset_claims": { "userinfo": { "name": "P. Seven" } }, "access_token": { "encoding": encoding } }))
            .await;
        let info = s.server.userinfo(TENANT, d["access_token"].as_str().expect("at")).await;
        info.expect_status(403, "no openid");
    }
    // In a self-contained token they travel as Connect2id's `cls` and `uip`.
    let a = s
        .ok(json!({ "sub": "partner|7", "client_id": app, "scope": ["openid"], "claims": ["email"],
            "preset_claims": { "userinfo": { "name": "P. Seven" } } }))
        .await;
    let claims = jwt_claims(a["access_token"].as_str().expect("at"));
    assert_eq!((&claims["cls"], &claims["uip"]), (&json!(["email"]), &json!({ "name": "P. Seven" })));
}

/// Decrypts a JWE as an independent recipient holding the shared key would, for either key
/// management (RFC 7518 4.5 `dir`, 4.7 `A256GCMKW`); the JWS inside.
fn decrypt_as_recipient(jwe: &str, key: &[u8; 32]) -> String {
    let open = |key: &[u8], iv: &[u8], aad: &[u8], mut data: Vec<u8>| -> Vec<u8> {
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("key"));
        let iv: [u8; 12] = iv.try_into().expect("96-bit IV");
        key.open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(aad), &mut data)
            .expect("opens")
            .to_vec()
    };
    let b64 = |part: &str| URL_SAFE_NO_PAD.decode(part).expect("base64url");
    let parts: Vec<&str> = jwe.split('.').collect();
    assert_eq!(parts.len(), 5, "JWE compact serialization");
    let header: Value = serde_json::from_slice(&b64(parts[0])).expect("json");
    assert_eq!((header["enc"].as_str(), header["cty"].as_str()), (Some("A256GCM"), Some("JWT")));
    let cek = match header["alg"].as_str() {
        Some("dir") => {
            assert!(parts[1].is_empty(), "dir: no encrypted key");
            key.to_vec()
        }
        Some("A256GCMKW") => {
            let mut wrapped = b64(parts[1]);
            wrapped.extend(b64(header["tag"].as_str().expect("tag")));
            open(key, &b64(header["iv"].as_str().expect("iv")), b"", wrapped)
        }
        other => panic!("key management {other:?}"),
    };
    let mut data = b64(parts[3]);
    data.extend(b64(parts[4]));
    String::from_utf8(open(&cek, &b64(parts[2]), parts[0].as_bytes(), data)).expect("utf-8")
}

#[tokio::test]
async fn a256gcmkw_tokens_decrypt_with_the_shared_key_and_every_endpoint_of_the_tenant_accepts_them() {
    let s = setup().await;
    let (app, _) = &s.app;
    let (rs, rs_secret) = &s.rs;
    let path = format!("/tenants/{TENANT}/direct-authz/encryption-key");
    let bad = json!({ "key": URL_SAFE_NO_PAD.encode(KEY), "alg": "RSA-OAEP" });
    s.server.admin(Method::PUT, &path, Some(bad)).await.expect_api_error(400, Some("invalid_request"), "alg");
    let body = json!({ "key": URL_SAFE_NO_PAD.encode(KEY), "alg": "A256GCMKW" });
    s.server.admin(Method::PUT, &path, Some(body)).await.expect_status(204, "set the key");
    let a = s
        .ok(json!({ "sub": s.alice, "client_id": app, "scope": ["openid"], "claims": ["email"],
            "access_token": { "encrypt": true } }))
        .await;
    let jwe = a["access_token"].as_str().expect("at");
    let claims = verify_jwt(&decrypt_as_recipient(jwe, &KEY), &s.jwks().await, "ES384", &s.issuer());
    assert_eq!(claims["sub"], s.alice.as_str());
    let b = s.ok(json!({ "sub": s.alice, "client_id": app, "access_token": { "encrypt": true } })).await;
    let (ek_a, ek_b) = (jwe.split('.').nth(1), b["access_token"].as_str().expect("at").split('.').nth(1));
    assert_ne!(ek_a, ek_b, "a fresh content-encryption key per token");
    // The tenant's own endpoints take the encrypted token as they take a signed one.
    let info = s.server.userinfo(TENANT, jwe).await;
    info.expect_status(200, "userinfo with a JWE");
    assert_eq!(info.json, json!({ "sub": s.alice, "email": "alice@example.com" }));
    let introspected = s.server.introspect(TENANT, rs, rs_secret, jwe).await;
    assert_eq!(
        (introspected.json["active"].as_bool(), introspected.json["sub"].as_str()),
        (Some(true), Some(s.alice.as_str()))
    );
    s.server.operator_revoke(TENANT, jwe).await;
    assert!(!s.server.is_active(TENANT, rs, rs_secret, jwe).await, "revoked");
    s.server.userinfo(TENANT, jwe).await.expect_status(401, "a revoked JWE at userinfo");
    // A new key ends what the old one encrypted; the other tenant never opens them.
    let c = s.ok(json!({ "sub": s.alice, "client_id": app, "access_token": { "encrypt": true } })).await;
    let c = c["access_token"].as_str().expect("at");
    assert!(s.server.is_active(TENANT, rs, rs_secret, c).await);
    let other = [7u8; 32];
    let body = json!({ "key": URL_SAFE_NO_PAD.encode(other) });
    s.server.admin(Method::PUT, &path, Some(body)).await.expect_status(204, "replace the key");
    assert!(!s.server.is_active(TENANT, rs, rs_secret, c).await, "the old key's token no longer opens");
    let d = s.ok(json!({ "sub": s.alice, "client_id": app, "access_token": { "encrypt": true } })).await;
    let d = d["access_token"].as_str().expect("at");
    assert!(decrypt_as_recipient(d, &other).split('.').count() == 3, "dir under the new key");
}

#[tokio::test]
async fn a_brokered_subjects_long_lived_authorisation_refreshes_and_its_session_keeps_the_brokers_data() {
    let s = setup().await;
    let (app, secret) = &s.app;
    let (rs, rs_secret) = &s.rs;
    // A subject no local user has: the broker vouches for it, at the API and at refresh.
    let a = s
        .ok(json!({ "sub_session": { "sub": "partner-7", "amr": ["fed"], "data": { "tier": "gold", "n": [1, 2] } },
            "client_id": app, "scope": ["openid", "read"], "long_lived": true }))
        .await;
    let refresh = a["refresh_token"].as_str().expect("refresh_token");
    let introspected = s.server.introspect(TENANT, rs, rs_secret, refresh).await;
    assert_eq!(
        introspected.json["active"], false,
        "a resource server sees no refresh token of another client"
    );
    let operator = s
        .server
        .admin(
            Method::POST,
            &format!("/tenants/{TENANT}/tokens/introspect"),
            Some(json!({ "token": refresh })),
        )
        .await;
    assert_eq!(
        (operator.json["active"].as_bool(), operator.json["sub"].as_str()),
        (Some(true), Some("partner-7"))
    );
    let reply = s
        .server
        .token_basic(TENANT, app, secret, &[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    reply.expect_status(200, "refresh of a brokered subject");
    let at =
        verify_jwt(reply.json["access_token"].as_str().expect("at"), &s.jwks().await, "ES384", &s.issuer());
    assert_eq!((at["sub"].as_str(), at["validator"].as_str()), (Some("partner-7"), Some("direct-authz")));
    let id = reply.json["id_token"].as_str().expect("id_token");
    assert_eq!(jwt_claims(id)["amr"], json!(["fed"]), "the refreshed ID token keeps the login");
    // The session keeps the broker's data, which the operator reads back by the sub_sid.
    let path = format!("/tenants/{TENANT}/tokens/session");
    let sub_sid = a["sub_sid"].as_str().expect("sub_sid");
    let read = s.server.admin(Method::POST, &path, Some(json!({ "sub_sid": sub_sid }))).await;
    read.expect_status(200, "read the session");
    assert_eq!(
        (read.json["active"].as_bool(), read.json["sub"].as_str(), &read.json["data"]),
        (Some(true), Some("partner-7"), &json!({ "tier": "gold", "n": [1, 2] }))
    );
    // Another tenant's operator, a wrong value: nothing to see.
    let elsewhere = s
        .server
        .admin(Method::POST, &format!("/tenants/{OTHER}/tokens/session"), Some(json!({ "sub_sid": sub_sid })))
        .await;
    assert_eq!(elsewhere.json, json!({ "active": false }));
    let wrong = s.server.admin(Method::POST, &path, Some(json!({ "sub_sid": "x".repeat(43) }))).await;
    assert_eq!(wrong.json, json!({ "active": false }));
    // A session or long-lived subject the store cannot key is refused up front, not a 500.
    let bad = s.call(json!({ "sub_session": { "sub": "p7@partner.example" }, "client_id": app })).await;
    expect_error(&bad, 400, "invalid_request", "a session subject that is no id");
    let bad = s.call(json!({ "sub": "p7@partner.example", "client_id": app, "long_lived": true })).await;
    expect_error(&bad, 400, "invalid_request", "a long-lived subject that is no id");
    let transient = s.ok(json!({ "sub": "p7@partner.example", "client_id": app })).await;
    assert!(transient["access_token"].is_string());
}

#[tokio::test]
async fn a_refresh_issues_the_same_kind_of_access_token_as_the_long_lived_authorisation() {
    let s = setup().await;
    let (app, secret) = &s.app;
    let (rs, rs_secret) = &s.rs;
    let refresh = |token: String| {
        let server = &s.server;
        async move {
            let reply = server
                .token_basic(
                    TENANT,
                    app,
                    secret,
                    &[("grant_type", "refresh_token"), ("refresh_token", &token)],
                )
                .await;
            reply.expect_status(200, "refresh");
            assert_eq!(reply.json["expires_in"], 600, "the authorisation's lifetime");
            reply.json["access_token"].as_str().expect("at").to_owned()
        }
    };
    // An identifier for one resource server, with data and a userinfo release.
    let a = s
        .ok(json!({ "sub": "partner-8", "client_id": app, "scope": ["openid", "read"], "long_lived": true,
            "audience": [rs], "data": { "tier": "gold" }, "claims": ["email"],
            "preset_claims": { "userinfo": { "email": "p8@partner.example" } },
            "access_token": { "encoding": "IDENTIFIER", "lifetime": 600 } }))
        .await;
    let at = refresh(a["refresh_token"].as_str().expect("refresh").to_owned()).await;
    assert_eq!(at.split('.').count(), 1, "an identifier again: {at}");
    let seen = s.server.introspect(TENANT, rs, rs_secret, &at).await;
    assert_eq!(
        (seen.json["active"].as_bool(), seen.json["sub"].as_str(), &seen.json["dat"]),
        (Some(true), Some("partner-8"), &json!({ "tier": "gold" }))
    );
    let (other, other_secret) = s.server.cc_client(TENANT, "read").await;
    assert!(!s.server.is_active(TENANT, &other, &other_secret, &at).await, "still only for its audience");
    let info = s.server.userinfo(TENANT, &at).await;
    assert_eq!(info.json, json!({ "sub": "partner-8", "email": "p8@partner.example" }));
    // An encrypted JWT again, under the key as it is at the refresh.
    let path = format!("/tenants/{TENANT}/direct-authz/encryption-key");
    let body = json!({ "key": URL_SAFE_NO_PAD.encode(KEY), "alg": "A256GCMKW" });
    s.server.admin(Method::PUT, &path, Some(body)).await.expect_status(204, "set the key");
    let b = s
        .ok(json!({ "sub": s.alice, "client_id": app, "scope": ["read"], "long_lived": true,
            "audience": ["rs-a", "rs-b"], "access_token": { "encrypt": true, "lifetime": 600 } }))
        .await;
    let at = refresh(b["refresh_token"].as_str().expect("refresh").to_owned()).await;
    let claims =
        verify_jwt_for(&decrypt_as_recipient(&at, &KEY), &s.jwks().await, "ES384", &s.issuer(), "rs-a");
    assert_eq!((claims["sub"].as_str(), &claims["aud"]), (Some(s.alice.as_str()), &json!(["rs-a", "rs-b"])));
}

//! Federation (issue 11): a tenant's users sign in with an external OpenID provider. The
//! upstream is a second tenant of the same server, reached over HTTP through its discovery
//! document, with users of its own; where the test must craft what an upstream answers (a
//! wrong nonce, audience or signature, an unreachable token endpoint), a stand-in provider on
//! 127.0.0.1 plays it.
//!
//! Each browser is two cookie jars, one per tenant (`EndUser` keeps one tenant's cookies, as a
//! browser scopes them to the tenant's path).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use common::{
    Backend, Client, EndUser, Reply, TestServer, expect_login_page, jwt_claims, redirect_params, with_extra,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const APP: &str = "https://app.example/cb";
const PASSWORD: &str = "correct horse battery staple";

/// The query parameters of a 303's `Location`, and the path and query to follow it here.
fn location(reply: &Reply, what: &str) -> (String, BTreeMap<String, String>) {
    assert_eq!(reply.status.as_u16(), 303, "{what}: a redirect; body: {}", reply.text);
    let url = reqwest::Url::parse(reply.header("location").expect("Location")).unwrap();
    let params = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    (path, params)
}

/// The parameters of the client's redirect URI `base` that the callback's continue page (a
/// page, not a redirect: see `web::federated::continue_page`) sends the browser to.
fn continued(reply: &Reply, base: &str, what: &str) -> BTreeMap<String, String> {
    assert_eq!(reply.status.as_u16(), 200, "{what}: the continue page; body: {}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
    let needle = "id=\"continue\" href=\"";
    let start = reply.text.find(needle).unwrap_or_else(|| panic!("{what}: {}", reply.text)) + needle.len();
    let end = start + reply.text[start..].find('"').unwrap();
    let href = unescape(&reply.text[start..end]);
    let url = reqwest::Url::parse(&href).unwrap();
    assert!(href.starts_with(base), "{what}: {href} is not at {base}");
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// HTML character references back to characters (`&amp;`, `&quot;`, `&#38;`, `&#x2f;`).
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').map(|e| i + e).unwrap();
        let entity = &rest[i + 1..end];
        let c = match entity {
            "amp" => '&',
            "quot" => '"',
            "lt" => '<',
            "gt" => '>',
            _ if entity.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&entity[2..], 16).unwrap()).unwrap()
            }
            _ => char::from_u32(entity[1..].parse().unwrap()).unwrap(),
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A server with tenant `upstream` (user `alice`, and a confidential client for the
/// downstream tenant `default`), `default` trusting it as an identity provider with `extra`
/// settings, and a first-party code client of `default`. Returns the server, the provider's
/// record and the client.
async fn brokered(extra: Value) -> (TestServer, Value, Client) {
    let server = TestServer::start(Backend::Software).await;
    server.create_tenant("upstream", Value::Null).await;
    server
        .create_user(
            "upstream",
            json!({ "username": "alice", "password": PASSWORD, "email": "alice@up.example",
                "email_verified": true, "name": "Alice Upstream" }),
        )
        .await;
    let (up_id, up_secret) = server
        .create_client(
            "upstream",
            json!({ "client_name": "Downstream", "grant_types": ["authorization_code"],
                "redirect_uris": ["http://127.0.0.1/placeholder"], "scope": "openid email profile",
                "first_party": true }),
        )
        .await;
    let body = with_extra(
        json!({ "issuer": server.issuer("upstream"), "client_id": up_id, "client_secret": up_secret,
            "label": "Upstream Corp" }),
        extra,
    );
    let idp = server.admin(Method::POST, "/tenants/default/idps", Some(body)).await;
    idp.expect_status(201, "identity provider registered");
    let redirect_uri = idp.json["redirect_uri"].as_str().unwrap().to_owned();
    assert_eq!(
        redirect_uri,
        format!("{}/federation/{}/callback", server.issuer("default"), idp.json["id"].as_str().unwrap())
    );
    let patched = server
        .admin(
            Method::PATCH,
            &format!("/tenants/upstream/clients/{up_id}"),
            Some(json!({ "redirect_uris": [redirect_uri] })),
        )
        .await;
    patched.expect_status(200, "the upstream client's callback");
    let client =
        Client::register_first_party(&server, "default", APP, "openid email profile", json!({})).await;
    (server, idp.json, client)
}

fn code_params<'a>(
    client: &'a Client,
    challenge: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("scope", "openid email profile"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(extra);
    params
}

/// Follows a sign-in sent to the upstream tenant: its login page (unless `up` has a session
/// there), the redirect back, and the callback. Returns the callback's answer.
async fn through_upstream(down: &mut EndUser<'_>, up: &mut EndUser<'_>, to_upstream: &Reply) -> Reply {
    let (path, params) = location(to_upstream, "to the upstream");
    assert!(path.starts_with("/t/upstream/authorize?"), "{path}");
    assert_eq!(params["code_challenge_method"], "S256");
    let page = up.send(Method::GET, &path, None, None).await;
    let back = if common::is_login_page(&page) { up.login(&page, "alice", PASSWORD).await } else { page };
    let (callback, params) = location(&back, "back from the upstream");
    assert!(callback.starts_with("/t/default/federation/"), "{callback}");
    assert!(params.contains_key("code"), "{params:?}");
    down.send(Method::GET, &callback, None, None).await
}

#[tokio::test]
async fn a_user_signs_in_with_the_upstream_and_gets_the_tenants_tokens_and_session() {
    let (server, idp, client) = brokered(json!({})).await;
    let idp_id = idp["id"].as_str().unwrap();
    let (mut down, mut up) = (EndUser::new(&server, "default"), EndUser::new(&server, "upstream"));
    let (verifier, challenge) = common::pkce_pair();

    // The login page has the provider's button; pressing it goes to the upstream.
    let page = down.authorize(&code_params(&client, &challenge, &[])).await;
    expect_login_page(&page, "the tenant's login page");
    assert!(page.text.contains("Sign in with Upstream Corp"), "{}", page.text);
    let csp = page.header("content-security-policy").unwrap_or_default().to_owned();
    assert!(csp.contains("form-action 'self'"), "{csp}");
    let fields = [
        ("csrf", common::hidden_input(&page.text, "csrf")),
        ("request", common::hidden_input(&page.text, "request")),
        ("idp", idp_id.to_owned()),
    ];
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let to_upstream = down.post("login", &pairs).await;
    let back = through_upstream(&mut down, &mut up, &to_upstream).await;
    let params = continued(&back, APP, "the client's code");
    assert_eq!(params.get("error"), None, "{params:?}");
    assert_eq!(params["state"], "st-1");
    assert!(down.has_session(), "a local session");

    let tokens = server.exchange(&client, &params["code"], Some(&verifier)).await;
    tokens.expect_status(200, "tokens");
    let id = jwt_claims(tokens.json["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], server.issuer("default"));
    assert_eq!(id["amr"], json!(["fed"]), "the federation is recorded: {id}");
    assert_eq!(id["nonce"], "n-1");
    let sub = id["sub"].as_str().unwrap().to_owned();

    // Provisioned just in time, with the upstream's claims.
    let user = server.admin(Method::GET, &format!("/tenants/default/users/{sub}"), None).await;
    user.expect_status(200, "the provisioned user");
    assert_eq!(user.json["email"], "alice@up.example");
    assert_eq!(user.json["name"], "Alice Upstream");

    // A second authorization needs no login at all.
    let (_, challenge2) = common::pkce_pair();
    let again = down.authorize(&code_params(&client, &challenge2, &[])).await;
    let params = redirect_params(&again, APP, "single sign-on");
    assert!(params.contains_key("code"), "{params:?}");

    // Another browser, signing in at the upstream again: the same local user (the link).
    let (mut down2, mut up2) = (EndUser::new(&server, "default"), EndUser::new(&server, "upstream"));
    let (verifier3, challenge3) = common::pkce_pair();
    let hinted = down2.authorize(&code_params(&client, &challenge3, &[("idp_hint", idp_id)])).await;
    let back = through_upstream(&mut down2, &mut up2, &hinted).await;
    let params = continued(&back, APP, "the second browser's code");
    let tokens = server.exchange(&client, &params["code"], Some(&verifier3)).await;
    tokens.expect_status(200, "tokens");
    let id = jwt_claims(tokens.json["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], sub, "linked to the same local user");
    let users = server.admin(Method::GET, "/tenants/default/users", None).await;
    assert_eq!(users.json["users"].as_array().map(Vec::len), Some(1), "one user: {}", users.text);
}

#[tokio::test]
async fn the_admin_api_keeps_the_secret_and_refuses_a_provider_it_cannot_discover() {
    let (server, idp, _) = brokered(json!({ "domains": ["up.example"], "id": "corp" })).await;
    let id = idp["id"].as_str().unwrap();
    assert_eq!(id, "corp", "the operator's id");
    assert_eq!(idp["redirect_uri"], format!("{}/federation/corp/callback", server.issuer("default")));
    assert!(idp.get("client_secret").is_none() && !idp.to_string().contains("secret\":"), "{idp}");
    assert_eq!(idp["authorization_endpoint"], format!("{}/authorize", server.issuer("upstream")));
    let listed = server.admin(Method::GET, "/tenants/default/idps", None).await;
    assert_eq!(listed.json["idps"][0]["id"], id);
    // Discovery that fails, a duplicate issuer, a bad mapping: refused, nothing stored.
    let unknown = server
        .admin(
            Method::POST,
            "/tenants/default/idps",
            Some(json!({ "issuer": format!("{}/t/nope", server.base), "client_id": "x", "client_secret": "y" })),
        )
        .await;
    unknown.expect_status(400, "no discovery document");
    let twice = server
        .admin(
            Method::POST,
            "/tenants/default/idps",
            Some(json!({ "issuer": server.issuer("upstream"), "client_id": "x", "client_secret": "y" })),
        )
        .await;
    twice.expect_status(409, "the same issuer twice");
    let same_id = server
        .admin(
            Method::POST,
            "/tenants/default/idps",
            Some(json!({ "id": "corp", "issuer": server.issuer("default"), "client_id": "x", "client_secret": "y" })),
        )
        .await;
    same_id.expect_status(409, "the same id twice");
    let bad = server
        .admin(
            Method::PATCH,
            &format!("/tenants/default/idps/{id}"),
            Some(json!({ "claim_mappings": [{"upstream": "x", "local": "sub"}] })),
        )
        .await;
    bad.expect_status(400, "sub is not mappable");
    let renamed = server
        .admin(
            Method::PATCH,
            &format!("/tenants/default/idps/{id}"),
            Some(json!({ "label": "Corp", "refresh": true })),
        )
        .await;
    renamed.expect_status(200, "renamed and discovered again");
    assert_eq!(renamed.json["label"], "Corp");
    let gone = server.admin(Method::DELETE, &format!("/tenants/default/idps/{id}"), None).await;
    gone.expect_status(204, "deleted");
    let listed = server.admin(Method::GET, "/tenants/default/idps", None).await;
    assert_eq!(listed.json["idps"], json!([]));
}

#[tokio::test]
async fn a_login_hint_in_the_providers_domain_goes_straight_there_and_linking_by_email_finds_the_local_user()
{
    let (server, _, client) =
        brokered(json!({ "domains": ["up.example"], "link_by_email": true, "jit_provisioning": false }))
            .await;
    let local = server
        .create_user(
            "default",
            json!({ "username": "alice.local", "password": PASSWORD, "email": "alice@up.example" }),
        )
        .await;
    let (mut down, mut up) = (EndUser::new(&server, "default"), EndUser::new(&server, "upstream"));
    let (verifier, challenge) = common::pkce_pair();
    let hinted =
        down.authorize(&code_params(&client, &challenge, &[("login_hint", "alice@up.example")])).await;
    let (path, params) = location(&hinted, "straight to the provider");
    assert!(path.starts_with("/t/upstream/authorize"), "{path}");
    assert_eq!(params["login_hint"], "alice@up.example", "the hint passed on");
    let back = through_upstream(&mut down, &mut up, &hinted).await;
    let params = continued(&back, APP, "the code");
    let tokens = server.exchange(&client, &params["code"], Some(&verifier)).await;
    let id = jwt_claims(tokens.json["id_token"].as_str().unwrap());
    assert_eq!(id["sub"], local["id"], "linked to the local user by the verified address");
}

#[tokio::test]
async fn without_provisioning_an_unknown_account_is_refused_to_the_client() {
    let (server, idp, client) = brokered(json!({ "jit_provisioning": false })).await;
    let (mut down, mut up) = (EndUser::new(&server, "default"), EndUser::new(&server, "upstream"));
    let (_, challenge) = common::pkce_pair();
    let idp_id = idp["id"].as_str().unwrap();
    let hinted = down.authorize(&code_params(&client, &challenge, &[("idp_hint", idp_id)])).await;
    let back = through_upstream(&mut down, &mut up, &hinted).await;
    let params = continued(&back, APP, "refused");
    assert_eq!(params["error"], "access_denied", "{params:?}");
    assert_eq!(params["state"], "st-1");
    assert!(!down.has_session());
}

#[tokio::test]
async fn an_upstream_refusal_comes_back_to_the_client_and_callbacks_are_single_use_and_bound() {
    let (server, idp, client) = brokered(json!({})).await;
    let idp_id = idp["id"].as_str().unwrap();
    let (_, challenge) = common::pkce_pair();
    let mut down = EndUser::new(&server, "default");
    let to_upstream = down.authorize(&code_params(&client, &challenge, &[("idp_hint", idp_id)])).await;
    let (_, params) = location(&to_upstream, "to the upstream");
    let state = params["state"].clone();
    let callback = format!("/t/default/federation/{idp_id}/callback");

    // A forged state, a missing one, another provider's path: pages, nothing for the client.
    for (query, what) in [
        (format!("code=x&state={}", "forged"), "a forged state"),
        ("code=x".to_owned(), "no state"),
        ("%%%".to_owned(), "malformed"),
    ] {
        let reply = down.send(Method::GET, &format!("{callback}?{query}"), None, None).await;
        common::expect_page(&reply, 400, what);
    }
    let elsewhere = down
        .send(
            Method::GET,
            &format!("/t/default/federation/AAAAAAAAAAAAAAAAAAAAAA/callback?code=x&state={state}"),
            None,
            None,
        )
        .await;
    common::expect_page(&elsewhere, 400, "another provider's path");
    // Another browser with the right state but no cookie: unknown.
    let mut stranger = EndUser::new(&server, "default");
    let stolen = stranger.send(Method::GET, &format!("{callback}?code=x&state={state}"), None, None).await;
    common::expect_page(&stolen, 400, "a state without its browser");

    // The upstream says access_denied: the client hears it at its redirect URI.
    let jar = down.jar.clone();
    let refused =
        down.send(Method::GET, &format!("{callback}?error=access_denied&state={state}"), None, None).await;
    let params = continued(&refused, APP, "refused upstream");
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st-1");
    // The same callback again, even with the cookie kept: used.
    down.jar = jar;
    let replayed =
        down.send(Method::GET, &format!("{callback}?error=access_denied&state={state}"), None, None).await;
    common::expect_page(&replayed, 400, "a replayed callback");
    assert!(replayed.text.contains("already"), "{}", replayed.text);

    // RFC 9207: an answer that names another issuer is a mix-up, refused before any exchange.
    let (_, challenge) = common::pkce_pair();
    let again = down.authorize(&code_params(&client, &challenge, &[("idp_hint", idp_id)])).await;
    let (_, params) = location(&again, "to the upstream again");
    let state = &params["state"];
    let mixed = down
        .send(
            Method::GET,
            &format!("{callback}?code=x&state={state}&iss=https%3A%2F%2Fevil.example"),
            None,
            None,
        )
        .await;
    let params = continued(&mixed, APP, "another issuer's answer");
    assert_eq!(params["error"], "access_denied", "{params:?}");
    assert!(params["error_description"].contains("issuer"), "{params:?}");
}

/// A stand-in OpenID provider on 127.0.0.1: its discovery document (the test may change it),
/// an ES256 JWK Set, and a token endpoint answering what the test set last.
struct StandIn {
    base: String,
    key: EncodingKey,
    answer: Arc<Mutex<(u16, Value)>>,
    discovery: Arc<Mutex<Value>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl StandIn {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let jwks = json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]),
            "y": b64(&point[33..65]), "kid": "k1", "alg": "ES256", "use": "sig" }] });
        let key = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
        let discovery = Arc::new(Mutex::new(json!({
            "issuer": base, "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"), "jwks_uri": format!("{base}/jwks"),
            "response_types_supported": ["code"], "id_token_signing_alg_values_supported": ["ES256"],
        })));
        let answer = Arc::new(Mutex::new((500, Value::Null)));
        let (d, a) = (discovery.clone(), answer.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (d, a, jwks) = (d.clone(), a.clone(), jwks.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16384];
                    let mut read = 0;
                    loop {
                        let Ok(n) = stream.read(&mut buf[read..]).await else { return };
                        read += n;
                        if n == 0 || buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..read]).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                    let (status, body) = match path.as_str() {
                        "/.well-known/openid-configuration" => (200, d.lock().unwrap().clone()),
                        "/jwks" => (200, jwks),
                        "/token" => a.lock().unwrap().clone(),
                        _ => (404, Value::Null),
                    };
                    let body = body.to_string();
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        Self { base, key, answer, discovery, task }
    }

    fn id_token(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

/// What the stand-in's token endpoint answers, given the sign-in's nonce.
type Answer<'a> = Box<dyn Fn(&str) -> (u16, Value) + 'a>;

/// Starts a sign-in at the stand-in (registered at `default` as `client_id` `down`) and
/// returns its `state` and `nonce`.
async fn start_at_stand_in(down: &mut EndUser<'_>, client: &Client, idp_id: &str) -> (String, String) {
    let (_, challenge) = common::pkce_pair();
    let to_upstream = down.authorize(&code_params(client, &challenge, &[("idp_hint", idp_id)])).await;
    let (_, params) = location(&to_upstream, "to the stand-in");
    (params["state"].clone(), params["nonce"].clone())
}

#[tokio::test]
async fn id_tokens_that_do_not_verify_and_an_unreachable_upstream_come_back_as_errors() {
    let server = TestServer::start(Backend::Software).await;
    let stand_in = StandIn::start().await;
    let idp = server
        .admin(
            Method::POST,
            "/tenants/default/idps",
            Some(json!({ "issuer": stand_in.base, "client_id": "down", "client_secret": "s" })),
        )
        .await;
    idp.expect_status(201, "the stand-in registered");
    let idp_id = idp.json["id"].as_str().unwrap().to_owned();
    let client =
        Client::register_first_party(&server, "default", APP, "openid email profile", json!({})).await;
    let now = common::now_secs();
    let good = |nonce: &str| json!({ "iss": stand_in.base, "aud": "down", "sub": "u-1", "exp": now + 300, "iat": now, "nonce": nonce });
    let other = StandIn::start().await;
    let cases: Vec<(&str, Answer<'_>)> = vec![
        (
            "a wrong nonce",
            Box::new(|_: &str| (200, json!({ "id_token": stand_in.id_token(&good("other")) }))),
        ),
        (
            "a wrong audience",
            Box::new(|n: &str| {
                let mut c = good(n);
                c["aud"] = json!("someone-else");
                (200, json!({ "id_token": stand_in.id_token(&c) }))
            }),
        ),
        ("a wrong signature", Box::new(|n: &str| (200, json!({ "id_token": other.id_token(&good(n)) })))),
        ("no ID token", Box::new(|_: &str| (200, json!({ "access_token": "x" })))),
        ("a refused code", Box::new(|_: &str| (400, json!({ "error": "invalid_grant" })))),
        ("an upstream failing", Box::new(|_: &str| (503, json!({})))),
    ];
    for (what, answer) in cases {
        let mut down = EndUser::new(&server, "default");
        let (state, nonce) = start_at_stand_in(&mut down, &client, &idp_id).await;
        *stand_in.answer.lock().unwrap() = answer(&nonce);
        let back = down
            .send(
                Method::GET,
                &format!("/t/default/federation/{idp_id}/callback?code=c&state={state}"),
                None,
                None,
            )
            .await;
        let params = continued(&back, APP, what);
        let want = if what == "an upstream failing" { "temporarily_unavailable" } else { "access_denied" };
        assert_eq!(params["error"], want, "{what}: {params:?}");
        assert!(!down.has_session(), "{what}: no session");
    }

    // The good answer signs in (and provisions u-1).
    let mut down = EndUser::new(&server, "default");
    let (state, nonce) = start_at_stand_in(&mut down, &client, &idp_id).await;
    *stand_in.answer.lock().unwrap() =
        (200, json!({ "id_token": stand_in.id_token(&good(&nonce)), "access_token": "at" }));
    let back = down
        .send(
            Method::GET,
            &format!("/t/default/federation/{idp_id}/callback?code=c&state={state}"),
            None,
            None,
        )
        .await;
    let params = continued(&back, APP, "the good answer");
    assert!(params.contains_key("code"), "{params:?}");

    // The token endpoint moves out of reach (a closed port): temporarily_unavailable, at once.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/token", closed.local_addr().unwrap());
    drop(closed);
    stand_in.discovery.lock().unwrap()["token_endpoint"] = json!(dead);
    server
        .admin(Method::PATCH, &format!("/tenants/default/idps/{idp_id}"), Some(json!({ "refresh": true })))
        .await
        .expect_status(200, "discovered again");
    let mut down = EndUser::new(&server, "default");
    let (state, _) = start_at_stand_in(&mut down, &client, &idp_id).await;
    let back = down
        .send(
            Method::GET,
            &format!("/t/default/federation/{idp_id}/callback?code=c&state={state}"),
            None,
            None,
        )
        .await;
    let params = continued(&back, APP, "unreachable");
    assert_eq!(params["error"], "temporarily_unavailable", "{params:?}");
}

#[tokio::test]
async fn a_providers_moved_endpoints_are_read_again_when_due_and_a_bad_document_changes_nothing() {
    // Every sign-in is due (0 s): the provider's discovery document is read at each one.
    let mut options = common::Options::new(Backend::Software);
    options.extra_args = vec!["--idp-discovery-refresh-secs".into(), "0".into()];
    let server = TestServer::start_with(options).await;
    let stand_in = StandIn::start().await;
    let idp = server
        .admin(
            Method::POST,
            "/tenants/default/idps",
            Some(
                json!({ "id": "moving", "issuer": stand_in.base, "client_id": "down", "client_secret": "s" }),
            ),
        )
        .await;
    idp.expect_status(201, "the stand-in registered");
    let client =
        Client::register_first_party(&server, "default", APP, "openid email profile", json!({})).await;
    let moved = format!("{}/v2/authorize", stand_in.base);
    stand_in.discovery.lock().unwrap()["authorization_endpoint"] = json!(moved);
    let mut down = EndUser::new(&server, "default");
    let (_, challenge) = common::pkce_pair();
    let out = down.authorize(&code_params(&client, &challenge, &[("idp_hint", "moving")])).await;
    assert!(out.header("location").unwrap_or_default().starts_with(&moved), "{:?}", out.header("location"));
    let stored = server.admin(Method::GET, "/tenants/default/idps/moving", None).await;
    assert_eq!(stored.json["authorization_endpoint"], json!(moved), "stored for the next sign-in");

    // A document that names another issuer is not believed: the stored endpoints stay in use.
    stand_in.discovery.lock().unwrap()["issuer"] = json!("https://impostor.example");
    stand_in.discovery.lock().unwrap()["authorization_endpoint"] =
        json!("https://impostor.example/authorize");
    let (_, challenge) = common::pkce_pair();
    let out = down.authorize(&code_params(&client, &challenge, &[("idp_hint", "moving")])).await;
    assert!(out.header("location").unwrap_or_default().starts_with(&moved), "{:?}", out.header("location"));
}

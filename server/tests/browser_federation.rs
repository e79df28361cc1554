//! Federation in a real headless browser (issue 11): the tenant `default` trusts the tenant
//! `upstream` of the same server as an external OpenID provider, reached over HTTP through its
//! discovery document. The login page's button sends the browser to the upstream's own login
//! page; back at `default`, the user (provisioned just in time) has a local session and the
//! client its code; the next authorization needs no login; a login forced again with the
//! provider lands on the same local user; `idp_hint` skips the login page; an upstream that
//! refuses comes back as `access_denied`, and one whose token endpoint cannot be reached as
//! `temporarily_unavailable`.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::{Browser, Callback, param};
use common::{Backend, Client, TestServer, jwt_claims};
use openidconnect::url::Url;
use reqwest::Method;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

struct World {
    server: TestServer,
    browser: Browser,
    rp: Callback,
    client: Client,
    idp: String,
}

impl World {
    async fn new() -> Self {
        let server = TestServer::start(Backend::Software).await;
        let (browser, rp) = (Browser::start().await, Callback::start().await);
        server.create_tenant("upstream", Value::Null).await;
        server
            .create_user(
                "upstream",
                json!({ "username": "alice", "password": PASSWORD, "email": "alice@up.example",
                    "email_verified": true, "name": "Alice Upstream" }),
            )
            .await;
        // Not first-party at the upstream: its consent page is part of the journey.
        let (up_id, up_secret) = server
            .create_client(
                "upstream",
                json!({ "client_name": "Downstream", "grant_types": ["authorization_code"],
                    "redirect_uris": ["http://127.0.0.1/placeholder"], "scope": "openid email profile" }),
            )
            .await;
        let idp = server
            .admin(
                Method::POST,
                "/tenants/default/idps",
                Some(json!({ "issuer": server.issuer("upstream"), "client_id": up_id,
                    "client_secret": up_secret, "label": "Upstream Corp" })),
            )
            .await;
        idp.expect_status(201, "identity provider");
        server
            .admin(
                Method::PATCH,
                &format!("/tenants/upstream/clients/{up_id}"),
                Some(json!({ "redirect_uris": [idp.json["redirect_uri"]] })),
            )
            .await
            .expect_status(200, "the upstream client's callback");
        let client =
            Client::register_first_party(&server, "default", &rp.url, "openid email profile", json!({}))
                .await;
        let idp = idp.json["id"].as_str().unwrap_or_default().to_owned();
        Self { server, browser, rp, client, idp }
    }

    fn authorize_url(&self, state: &str, challenge: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", self.client.id.as_str()),
            ("redirect_uri", self.rp.url.as_str()),
            ("scope", "openid email profile"),
            ("state", state),
            ("nonce", "n-1"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ];
        pairs.extend_from_slice(extra);
        let issuer = self.server.issuer("default");
        Url::parse_with_params(&format!("{issuer}/authorize"), &pairs).expect("URL").to_string()
    }

    /// The upstream's login page: signs in as alice and consents when asked.
    async fn sign_in_upstream(&self) {
        self.browser.wait_for_url("the upstream", |u| u.path().starts_with("/t/upstream/")).await;
        let field = self.browser.wait_for("#username").await;
        field.send_keys("alice").await.expect("username");
        self.browser.wait_for("#password").await.send_keys(PASSWORD).await.expect("password");
        self.browser.wait_for("#login").await.click().await.expect("login");
        self.browser.wait_for("#allow").await.click().await.expect("allow");
    }

    /// The `sub` of the tokens of the `n`-th visit of the redirect URI.
    async fn sub_of(&self, n: usize, state: &str, verifier: &str) -> String {
        let params = self.rp.wait_for_hit(n).await;
        assert_eq!(param(&params, "state"), Some(state), "{params:?}");
        let code = param(&params, "code").unwrap_or_else(|| panic!("a code: {params:?}"));
        let tokens = self.server.exchange(&self.client, code, Some(verifier)).await;
        tokens.expect_status(200, "tokens");
        let claims = jwt_claims(tokens.json["id_token"].as_str().expect("id_token"));
        assert_eq!(claims["amr"], json!(["fed"]), "{claims}");
        claims["sub"].as_str().expect("sub").to_owned()
    }
}

#[tokio::test]
async fn a_user_signs_in_through_the_upstream_in_the_browser() {
    let w = World::new().await;
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    w.browser.goto(&w.authorize_url("s1", challenge.as_str(), &[])).await;
    w.browser.wait_for(&format!("#idp-{}", w.idp)).await.click().await.expect("the provider's button");
    w.sign_in_upstream().await;
    let sub = w.sub_of(1, "s1", verifier.secret()).await;
    let user = w.server.admin(Method::GET, &format!("/tenants/default/users/{sub}"), None).await;
    user.expect_status(200, "provisioned");
    assert_eq!(user.json["email"], "alice@up.example");

    // Single sign-on at `default`: no page at all.
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    w.browser.goto(&w.authorize_url("s2", challenge.as_str(), &[])).await;
    assert_eq!(w.sub_of(2, "s2", verifier.secret()).await, sub, "the same session");

    // A login forced again, through the provider (signed in there already): the same user.
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    w.browser.goto(&w.authorize_url("s3", challenge.as_str(), &[("prompt", "login")])).await;
    w.browser.wait_for(&format!("#idp-{}", w.idp)).await.click().await.expect("the button again");
    assert_eq!(w.sub_of(3, "s3", verifier.secret()).await, sub, "linked, not provisioned twice");
    let users = w.server.admin(Method::GET, "/tenants/default/users", None).await;
    assert_eq!(users.json["users"].as_array().map(Vec::len), Some(1), "{}", users.text);
    w.browser.close().await;
}

#[tokio::test]
async fn idp_hint_skips_the_login_page_and_a_refusal_upstream_is_access_denied() {
    let w = World::new().await;
    let (challenge, _) = openidconnect::PkceCodeChallenge::new_random_sha256();
    w.browser.goto(&w.authorize_url("s1", challenge.as_str(), &[("idp_hint", &w.idp)])).await;
    // Straight to the upstream's login page; alice signs in and denies the consent there.
    w.browser.wait_for_url("the upstream", |u| u.path().starts_with("/t/upstream/")).await;
    w.browser.wait_for("#username").await.send_keys("alice").await.expect("username");
    w.browser.wait_for("#password").await.send_keys(PASSWORD).await.expect("password");
    w.browser.wait_for("#login").await.click().await.expect("login");
    w.browser.wait_for("#deny").await.click().await.expect("deny");
    let params = w.rp.wait_for_hit(1).await;
    assert_eq!(param(&params, "error"), Some("access_denied"), "{params:?}");
    assert_eq!(param(&params, "state"), Some("s1"));
    w.browser.close().await;
}

/// A provider on 127.0.0.1 that signs everyone in at once (its authorization endpoint sends
/// the browser straight back with a code) and whose token endpoint is a port nobody listens on.
async fn unreachable_provider() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dead = format!("http://{}/token", closed.local_addr().expect("address"));
    drop(closed);
    let doc = json!({ "issuer": base, "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": dead, "jwks_uri": format!("{base}/jwks"), "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["RS256"] })
    .to_string();
    let me = base.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut stream, _)) = listener.accept().await {
            let (doc, me) = (doc.clone(), me.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
                let reply = if target.starts_with("/authorize?") {
                    let url = Url::parse(&format!("{me}{target}")).expect("URL");
                    let get =
                        |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
                    let back = Url::parse_with_params(
                        &get("redirect_uri").unwrap_or_default(),
                        &[("code", "c"), ("state", get("state").unwrap_or_default().as_str())],
                    )
                    .expect("callback URL");
                    format!(
                        "HTTP/1.1 303 See Other\r\nLocation: {back}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{doc}",
                        doc.len()
                    )
                };
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    base
}

#[tokio::test]
async fn an_upstream_out_of_reach_is_temporarily_unavailable_at_the_client() {
    let w = World::new().await;
    let issuer = unreachable_provider().await;
    w.server
        .admin(
            Method::POST,
            "/tenants/default/idps",
            Some(json!({ "id": "dead-end", "issuer": issuer, "client_id": "x", "client_secret": "y" })),
        )
        .await
        .expect_status(201, "registered");
    let (challenge, _) = openidconnect::PkceCodeChallenge::new_random_sha256();
    w.browser.goto(&w.authorize_url("s1", challenge.as_str(), &[("idp_hint", "dead-end")])).await;
    let params = w.rp.wait_for_hit(1).await;
    assert_eq!(param(&params, "error"), Some("temporarily_unavailable"), "{params:?}");
    assert_eq!(param(&params, "state"), Some("s1"));
    w.browser.close().await;
}

//! Replies and HTTP: the [`Reply`] every helper returns and its assertions, raw requests (`send`, HTTP/2 `h2_get`), the back-channel protocol endpoints
//! (`token_basic`, `introspect`, `revoke`, `jwks`, `discovery`, ...) and [`join_all`] for
//! concurrent requests.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::jwt::kids;
use super::process::TestServer;
use super::values::{basic_auth, form_body};

/// An HTTP answer: status, headers, raw body and (when it parses) the body as JSON.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
    /// The body as JSON, `Null` if it is not JSON.
    pub json: Value,
}

impl Reply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `error` member of a JSON error body.
    pub fn error(&self) -> Option<&str> {
        self.json.get("error").and_then(Value::as_str)
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect_status(&self, status: u16, what: &str) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{what}: unexpected status; body: {}", self.text);
        self
    }

    /// Asserts an RFC 6749 error answer: status, `error` code, a string `error_description`,
    /// JSON content type and `Cache-Control: no-store`. A 401 must carry a `Basic` challenge.
    #[track_caller]
    pub fn expect_oauth_error(&self, status: u16, code: &str, what: &str) {
        self.expect_status(status, what);
        assert_eq!(self.error(), Some(code), "{what}: error code; body: {}", self.text);
        assert!(
            self.json.get("error_description").is_none_or(Value::is_string),
            "{what}: error_description must be a string; body: {}",
            self.text
        );
        assert!(
            self.header("content-type").is_some_and(|c| c.starts_with("application/json")),
            "{what}: content type {:?}",
            self.header("content-type")
        );
        assert_eq!(self.header("cache-control"), Some("no-store"), "{what}: Cache-Control");
        if status == 401 {
            let challenge = self.header("www-authenticate").unwrap_or_default();
            assert!(
                challenge.to_ascii_lowercase().starts_with("basic"),
                "{what}: 401 must carry WWW-Authenticate: Basic, got {challenge:?}"
            );
        }
    }

    /// Asserts an RFC 6750 3.1 error of a protected resource: status, `error` code in the JSON
    /// body and in the `Bearer` challenge, and `Cache-Control: no-store`.
    #[track_caller]
    pub fn expect_bearer_error(&self, status: u16, code: &str, what: &str) {
        self.expect_status(status, what);
        assert_eq!(self.error(), Some(code), "{what}: error code; body: {}", self.text);
        let challenge = self.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer") && challenge.contains(&format!("error=\"{code}\"")),
            "{what}: the challenge must name {code}, got {challenge:?}"
        );
        assert_eq!(self.header("cache-control"), Some("no-store"), "{what}: Cache-Control");
    }

    /// Asserts an admin API error: status and a JSON body with `error`.
    #[track_caller]
    pub fn expect_api_error(&self, status: u16, code: Option<&str>, what: &str) {
        self.expect_status(status, what);
        assert!(self.error().is_some(), "{what}: JSON error body expected; body: {}", self.text);
        if let Some(code) = code {
            assert_eq!(self.error(), Some(code), "{what}: error code; body: {}", self.text);
        }
    }
}

impl TestServer {
    /// Sends any request to `path` (relative to the server) and collects the answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        self.send_with(&self.http, method, path, headers, body).await
    }

    /// [`send`](Self::send) through another HTTP client (one bound to another source address,
    /// say).
    pub async fn send_with(
        &self,
        http: &reqwest::Client,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut req = http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("request to {path} failed: {e}"));
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap_or_else(|e| panic!("body of {path} failed: {e}"));
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, text, json }
    }

    /// The HTTP client, for requests the helpers do not cover.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// An HTTP client like the server's own that connects from `source`, a loopback address
    /// such as 127.0.0.2, to play another client address.
    pub fn http_client_from(&self, source: std::net::IpAddr) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .local_address(source)
            .build()
            .expect("HTTP client")
    }

    /// A `GET` over HTTP/2 with prior knowledge (h2c), which the server also speaks on its
    /// port; unlike HTTP/1, HTTP/2 keeps whitespace at the ends of header values as sent.
    /// Returns the status and the body.
    pub async fn h2_get(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
        use http_body_util::{BodyExt, Empty};
        use hyper_util::rt::{TokioExecutor, TokioIo};
        let stream = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .expect("HTTP/2 handshake");
        tokio::spawn(conn);
        let mut req = http::Request::get(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Empty::<bytes::Bytes>::new()).expect("request");
        let resp = send.send_request(req).await.expect("HTTP/2 request");
        let status = resp.status();
        let body = resp.into_body().collect().await.expect("HTTP/2 body").to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// A `GET`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], None).await
    }

    /// A form `POST` to a protocol endpoint of a tenant, with an optional `Authorization` value.
    pub async fn post_form(&self, tenant: &str, endpoint: &str, auth: Option<&str>, body: &str) -> Reply {
        let mut headers = vec![(CONTENT_TYPE.as_str(), "application/x-www-form-urlencoded")];
        if let Some(auth) = auth {
            headers.push((AUTHORIZATION.as_str(), auth));
        }
        self.send(Method::POST, &format!("/t/{tenant}/{endpoint}"), &headers, Some(body.as_bytes().to_vec()))
            .await
    }
}

impl TestServer {
    /// `POST /t/{t}/token` with `client_secret_basic`.
    pub async fn token_basic(&self, tenant: &str, id: &str, secret: &str, form: &[(&str, &str)]) -> Reply {
        self.post_form(tenant, "token", Some(&basic_auth(id, secret)), &form_body(form)).await
    }

    /// `POST /t/{t}/token` with `client_secret_post`.
    pub async fn token_post(&self, tenant: &str, id: &str, secret: &str, form: &[(&str, &str)]) -> Reply {
        let mut pairs = form.to_vec();
        pairs.push(("client_id", id));
        pairs.push(("client_secret", secret));
        self.post_form(tenant, "token", None, &form_body(&pairs)).await
    }

    /// A client credentials token for a `client_secret_basic` client; asserts 200.
    pub async fn cc_token(&self, tenant: &str, id: &str, secret: &str) -> String {
        let reply = self.token_basic(tenant, id, secret, &[("grant_type", "client_credentials")]).await;
        reply.expect_status(200, "client credentials token");
        reply.json["access_token"].as_str().expect("access_token").to_owned()
    }

    /// `POST /t/{t}/introspect` with `client_secret_basic`.
    pub async fn introspect(&self, tenant: &str, id: &str, secret: &str, token: &str) -> Reply {
        self.post_form(tenant, "introspect", Some(&basic_auth(id, secret)), &form_body(&[("token", token)]))
            .await
    }

    /// The `active` member of an introspection; asserts 200.
    pub async fn is_active(&self, tenant: &str, id: &str, secret: &str, token: &str) -> bool {
        let reply = self.introspect(tenant, id, secret, token).await;
        reply.expect_status(200, "introspection");
        reply.json["active"].as_bool().expect("active is a boolean")
    }

    /// `POST /t/{t}/revoke` with `client_secret_basic`.
    pub async fn revoke(&self, tenant: &str, id: &str, secret: &str, token: &str) -> Reply {
        self.post_form(tenant, "revoke", Some(&basic_auth(id, secret)), &form_body(&[("token", token)])).await
    }

    /// `GET /t/{t}/jwks`.
    pub async fn jwks(&self, tenant: &str) -> Reply {
        self.get(&format!("/t/{tenant}/jwks")).await
    }

    /// The `kid`s of a tenant's JWKS; asserts 200.
    pub async fn jwks_kids(&self, tenant: &str) -> Vec<String> {
        let reply = self.jwks(tenant).await;
        reply.expect_status(200, "jwks");
        kids(&reply.json)
    }

    /// `GET /t/{t}/.well-known/openid-configuration`.
    pub async fn discovery(&self, tenant: &str) -> Reply {
        self.get(&format!("/t/{tenant}/.well-known/openid-configuration")).await
    }
}

/// Runs futures concurrently on the current task and returns their outputs in order (a small
/// `join_all`, so the tests need no futures crate).
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future finished")).collect()
}

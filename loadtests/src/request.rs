//! A request prepared once and sent many times: the client's credentials, client_secret_basic,
//! and [`RequestTemplate`]. A leaf module: the scenarios, the end-user flows, discovery and the
//! runner all build or send templates, and none of them needs the others for it.

use std::fmt;
use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::Full;

use crate::client::Body;
use crate::error::{Context, Result};
use crate::target::LoopbackUrl;

/// A client's id and secret, sent with client_secret_basic.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// client_id.
    pub id: String,
    /// client_secret.
    pub secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("id", &self.id).finish_non_exhaustive()
    }
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `Basic ...` for client_secret_basic: RFC 6749 2.3.1 form-encodes id and secret first.
pub fn basic_auth(c: &Credentials) -> String {
    let pair = format!("{}:{}", form_encode(&c.id), form_encode(&c.secret));
    format!("Basic {}", STANDARD.encode(pair))
}

/// A request to repeat: everything but the body wrapper is prepared once.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    /// Where to connect.
    pub addr: SocketAddr,
    method: Method,
    path: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl RequestTemplate {
    fn base_headers(url: &LoopbackUrl) -> Result<HeaderMap> {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_str(&url.authority).context(|| "Host header".to_owned())?);
        h.insert(USER_AGENT, HeaderValue::from_static("tessera-load/0.1"));
        h.insert(ACCEPT, HeaderValue::from_static("application/json"));
        Ok(h)
    }

    fn path(url: &LoopbackUrl) -> Uri {
        Uri::from(PathAndQuery::clone(&url.path_and_query))
    }

    /// `GET url`.
    pub fn get(url: &LoopbackUrl, addr: SocketAddr) -> Result<Self> {
        Ok(Self {
            addr,
            method: Method::GET,
            path: Self::path(url),
            headers: Self::base_headers(url)?,
            body: Bytes::new(),
        })
    }

    /// `POST url` with a form body and client_secret_basic.
    pub fn post_form(url: &LoopbackUrl, addr: SocketAddr, creds: &Credentials, body: String) -> Result<Self> {
        let mut headers = Self::base_headers(url)?;
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&basic_auth(creds)).context(|| "Authorization header".to_owned())?,
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        Ok(Self { addr, method: Method::POST, path: Self::path(url), headers, body: Bytes::from(body) })
    }

    /// A fresh request (cheap: the body is reference counted).
    pub fn build(&self) -> Request<Body> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.path.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }

    /// The body as text, for the log.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(id: &str, secret: &str) -> Credentials {
        Credentials { id: id.to_owned(), secret: secret.to_owned() }
    }

    #[test]
    fn basic_auth_form_encodes_first() {
        assert_eq!(
            basic_auth(&creds("bench-client", "bench-secret")),
            format!("Basic {}", STANDARD.encode("bench-client:bench-secret"))
        );
        // RFC 6749 2.3.1: ':' and ' ' in the id or secret are form-encoded.
        assert_eq!(basic_auth(&creds("a:b", "c d/")), format!("Basic {}", STANDARD.encode("a%3Ab:c+d%2F")));
    }

    #[test]
    fn templates_build_requests() {
        let url = LoopbackUrl::parse("http://127.0.0.1:3100/token").expect("valid");
        let addr = SocketAddr::from(([127, 0, 0, 1], 3100));
        let t = RequestTemplate::post_form(
            &url,
            addr,
            &creds("c", "s"),
            "grant_type=client_credentials".to_owned(),
        )
        .expect("valid");
        let req = t.build();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), "/token");
        assert_eq!(req.headers()[HOST], "127.0.0.1:3100");
        assert_eq!(req.headers()[CONTENT_TYPE], "application/x-www-form-urlencoded");
        let g = RequestTemplate::get(&url, addr).expect("valid").build();
        assert_eq!(g.method(), Method::GET);
        assert!(g.headers().get(AUTHORIZATION).is_none());
    }
}

//! Finding the endpoints: the discovery document (OpenID Connect Discovery 1.0, falling back to
//! RFC 8414 authorization server metadata) parsed into the URLs the scenarios need.

use std::time::Duration;

use serde::Deserialize;

use crate::client;
use crate::error::{Context, Error, Result};
use crate::request::RequestTemplate;
use crate::target::LoopbackUrl;

/// The fields of a discovery document this tool uses, as written in it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    /// `issuer`, for the log only.
    #[serde(default)]
    pub issuer: Option<String>,
    /// `token_endpoint`: required.
    pub token_endpoint: String,
    /// `authorization_endpoint`, for the end-user flows.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// `introspection_endpoint` (RFC 8414), when the server has one.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// `jwks_uri`, when the server publishes keys.
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

/// Parses a discovery document; empty strings count as absent.
pub fn parse_metadata(body: &[u8]) -> Result<Metadata> {
    let mut m: Metadata =
        serde_json::from_slice(body).context(|| "discovery document is not valid".to_owned())?;
    if m.token_endpoint.trim().is_empty() {
        return Err(Error::msg("discovery document has an empty token_endpoint"));
    }
    for field in
        [&mut m.issuer, &mut m.authorization_endpoint, &mut m.introspection_endpoint, &mut m.jwks_uri]
    {
        if field.as_deref().is_some_and(|s| s.trim().is_empty()) {
            *field = None;
        }
    }
    Ok(m)
}

/// The URLs to try for the discovery document of `base`, in order: OpenID Connect's
/// `{base}/.well-known/openid-configuration`, then `{base}/.well-known/oauth-authorization-server`
/// and, when the issuer has a path, RFC 8414's `{origin}/.well-known/oauth-authorization-server{path}`.
pub fn candidate_urls(base: &str) -> Vec<String> {
    let base = base.trim_end_matches('/');
    let mut urls = vec![
        format!("{base}/.well-known/openid-configuration"),
        format!("{base}/.well-known/oauth-authorization-server"),
    ];
    if let Some(rest) = base.strip_prefix("http://")
        && let Some(slash) = rest.find('/')
    {
        let (origin, path) = rest.split_at(slash);
        urls.push(format!("http://{origin}/.well-known/oauth-authorization-server{path}"));
    }
    urls
}

/// Endpoints checked to be loopback URLs.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The discovery URL that answered.
    pub discovery: LoopbackUrl,
    /// `issuer` as advertised.
    pub issuer: Option<String>,
    /// Token endpoint.
    pub token: LoopbackUrl,
    /// Authorization endpoint, if advertised.
    pub authorize: Option<LoopbackUrl>,
    /// Introspection endpoint, if advertised.
    pub introspection: Option<LoopbackUrl>,
    /// JWKS URL, if advertised.
    pub jwks: Option<LoopbackUrl>,
}

impl Endpoints {
    /// Checks that every advertised endpoint is a loopback `http://` URL.
    pub fn from_metadata(discovery: LoopbackUrl, m: Metadata) -> Result<Self> {
        let check = |what: &str, url: &str| {
            LoopbackUrl::parse(url).context(|| format!("{what} advertised by the discovery document"))
        };
        Ok(Self {
            token: check("token_endpoint", &m.token_endpoint)?,
            authorize: m
                .authorization_endpoint
                .as_deref()
                .map(|u| check("authorization_endpoint", u))
                .transpose()?,
            introspection: m
                .introspection_endpoint
                .as_deref()
                .map(|u| check("introspection_endpoint", u))
                .transpose()?,
            jwks: m.jwks_uri.as_deref().map(|u| check("jwks_uri", u)).transpose()?,
            issuer: m.issuer,
            discovery,
        })
    }
}

/// Fetches and parses the discovery document of `base` (a loopback URL, checked by the caller).
pub async fn discover(base: &str, timeout: Duration) -> Result<Endpoints> {
    let mut tried = Vec::new();
    for candidate in candidate_urls(base) {
        let url = LoopbackUrl::parse(&candidate)?;
        let addr = url.resolve().await?;
        let req = RequestTemplate::get(&url, addr)?.build();
        match client::fetch(addr, req, timeout).await {
            Ok(resp) if resp.status.is_success() => {
                let meta = parse_metadata(&resp.body).context(|| candidate.clone())?;
                return Endpoints::from_metadata(url, meta);
            }
            Ok(resp) => tried.push(format!("{candidate}: HTTP {}", resp.status.as_u16())),
            Err(e) => tried.push(format!("{candidate}: {e}")),
        }
    }
    Err(Error::msg(format!("no discovery document found ({})", tried.join("; "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_real_document() {
        let doc = br#"{
            "issuer": "http://127.0.0.1:3100",
            "token_endpoint": "http://127.0.0.1:3100/token",
            "authorization_endpoint": "http://127.0.0.1:3100/auth",
            "introspection_endpoint": "http://127.0.0.1:3100/token/introspection",
            "jwks_uri": "http://127.0.0.1:3100/jwks",
            "grant_types_supported": ["client_credentials"],
            "claims_parameter_supported": false
        }"#;
        let m = parse_metadata(doc).expect("valid document");
        assert_eq!(m.issuer.as_deref(), Some("http://127.0.0.1:3100"));
        assert_eq!(m.token_endpoint, "http://127.0.0.1:3100/token");
        assert_eq!(m.introspection_endpoint.as_deref(), Some("http://127.0.0.1:3100/token/introspection"));
        assert_eq!(m.jwks_uri.as_deref(), Some("http://127.0.0.1:3100/jwks"));
        assert_eq!(m.authorization_endpoint.as_deref(), Some("http://127.0.0.1:3100/auth"));
    }

    #[test]
    fn optional_fields_may_be_missing_or_empty() {
        let m =
            parse_metadata(br#"{"token_endpoint":"http://[::1]/t","jwks_uri":""}"#).expect("valid document");
        assert_eq!(m.introspection_endpoint, None);
        assert_eq!(m.jwks_uri, None);
        assert_eq!(m.issuer, None);
    }

    #[test]
    fn rejects_documents_without_a_token_endpoint() {
        for bad in [
            &br#"{"issuer":"x"}"#[..],
            br#"{"token_endpoint":""}"#,
            br#"{"token_endpoint":42}"#,
            br#"[]"#,
            b"<html>",
        ] {
            assert!(parse_metadata(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn endpoints_must_be_loopback() {
        let disc = LoopbackUrl::parse("http://127.0.0.1/.well-known/openid-configuration").expect("valid");
        let m = parse_metadata(
            br#"{"token_endpoint":"http://127.0.0.1/token","jwks_uri":"http://keys.example.com/jwks"}"#,
        )
        .expect("valid document");
        let err = Endpoints::from_metadata(disc.clone(), m).expect_err("jwks_uri is remote");
        assert!(err.to_string().contains("jwks_uri"), "{err}");

        let m = parse_metadata(br#"{"token_endpoint":"http://localhost:8080/t/default/token"}"#)
            .expect("valid document");
        let e = Endpoints::from_metadata(disc, m).expect("loopback");
        assert_eq!(e.token.path_and_query.as_str(), "/t/default/token");
        assert!(e.introspection.is_none() && e.jwks.is_none() && e.authorize.is_none());
    }

    #[test]
    fn candidates_follow_oidc_then_rfc8414() {
        assert_eq!(
            candidate_urls("http://127.0.0.1:8080/t/default/"),
            [
                "http://127.0.0.1:8080/t/default/.well-known/openid-configuration",
                "http://127.0.0.1:8080/t/default/.well-known/oauth-authorization-server",
                "http://127.0.0.1:8080/.well-known/oauth-authorization-server/t/default",
            ]
        );
        assert_eq!(candidate_urls("http://127.0.0.1:3100").len(), 2);
    }
}

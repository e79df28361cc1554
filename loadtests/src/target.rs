//! URLs the tool may send load to: plain `http://` on a loopback address, nothing else.
//!
//! This workplace forbids load on any other address, so every URL (the base URL and each
//! endpoint the discovery document names) passes through [`LoopbackUrl::parse`] before a
//! connection is opened. Accepted hosts: `127.0.0.0/8`, `::1` (and `::ffff:127.x.y.z`), and
//! the name `localhost`, which is resolved and whose non-loopback answers are ignored.

use std::net::{IpAddr, SocketAddr};

use http::uri::{PathAndQuery, Uri};

use crate::error::{Context, Error, Result};

/// An absolute `http://` URL whose host is a loopback address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopbackUrl {
    /// The URL as given (absolute form).
    pub url: Uri,
    /// `host[:port]` as written in the URL, for the `Host` header.
    pub authority: String,
    /// The host without brackets, e.g. `127.0.0.1`, `::1` or `localhost`.
    pub host: String,
    /// The port, 80 when the URL names none.
    pub port: u16,
    /// Path and query, the request target of an HTTP/1.1 request.
    pub path_and_query: PathAndQuery,
}

impl LoopbackUrl {
    /// Parses `raw`, refusing anything but `http://` on a loopback host.
    pub fn parse(raw: &str) -> Result<Self> {
        let url: Uri = raw.parse().context(|| format!("invalid URL {raw:?}"))?;
        match url.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(Error::msg(format!(
                    "{raw}: https is not supported (loopback load needs no TLS); use http://"
                )));
            }
            _ => return Err(Error::msg(format!("{raw}: not an absolute http:// URL"))),
        }
        let authority = url.authority().ok_or_else(|| Error::msg(format!("{raw}: URL has no host")))?;
        if authority.as_str().contains('@') {
            return Err(Error::msg(format!("{raw}: user info in URLs is not accepted")));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
        if !is_loopback_host(&host) {
            return Err(Error::msg(format!(
                "refusing {raw}: host {host:?} is not a loopback address (127.0.0.0/8, ::1, \
                 localhost); this tool sends load to the local machine only"
            )));
        }
        let path_and_query = url.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));
        Ok(Self {
            authority: authority.as_str().to_owned(),
            port: authority.port_u16().unwrap_or(80),
            host,
            path_and_query,
            url,
        })
    }

    /// The socket address to connect to: the literal address, or for `localhost` the first
    /// loopback address the resolver gives.
    pub async fn resolve(&self) -> Result<SocketAddr> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, self.port));
        }
        let addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .context(|| format!("resolving {}", self.host))?;
        addrs
            .into_iter()
            .find(|a| is_loopback_ip(a.ip()))
            .ok_or_else(|| Error::msg(format!("{} resolves to no loopback address", self.host)))
    }
}

/// Whether `host` (no brackets, no port) is a loopback IP literal or the name `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => is_loopback_ip(ip),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> bool {
        LoopbackUrl::parse(raw).is_err()
    }

    #[test]
    fn accepts_loopback_hosts() {
        let u = LoopbackUrl::parse("http://127.0.0.1:3100/t/default/token?x=1").expect("valid");
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, 3100);
        assert_eq!(u.authority, "127.0.0.1:3100");
        assert_eq!(u.path_and_query.as_str(), "/t/default/token?x=1");
        for ok in [
            "http://127.9.8.7/",
            "http://localhost:8080",
            "http://LocalHost:1/x",
            "http://[::1]:3100/jwks",
            "http://[::ffff:127.0.0.1]:80/",
        ] {
            assert!(LoopbackUrl::parse(ok).is_ok(), "{ok} should be accepted");
        }
        assert_eq!(LoopbackUrl::parse("http://[::1]:9/").expect("valid").host, "::1");
        assert_eq!(LoopbackUrl::parse("http://localhost").expect("valid").port, 80);
        assert_eq!(LoopbackUrl::parse("http://localhost").expect("valid").path_and_query, "/");
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "http://10.0.0.1/",
            "http://0.0.0.0:3100/",
            "http://example.com/",
            "http://localhost.example.com/",
            "http://127.0.0.1@example.com/",
            "http://[::2]/",
            "http://128.0.0.1/",
            "https://127.0.0.1/",
            "ftp://127.0.0.1/",
            "/relative/path",
            "not a url",
        ] {
            assert!(refused(bad), "{bad} should be refused");
        }
    }

    #[test]
    fn refusal_says_why() {
        let err = LoopbackUrl::parse("http://192.168.1.2:80/").expect_err("not loopback");
        assert!(err.to_string().contains("not a loopback address"), "{err}");
    }
}

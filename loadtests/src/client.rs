//! One HTTP/1.1 keep-alive connection over hyper's low-level client, and a one-shot `fetch`.
//!
//! The runner owns one [`Conn`] per virtual user, so the number of TCP connections is exactly the
//! concurrency asked for (a pooled client would open and share connections as it sees fit).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::{Context, Error, Result};

/// Request body type used everywhere: a fully buffered body.
pub type Body = Full<Bytes>;

/// An open HTTP/1.1 connection.
pub struct Conn {
    sender: SendRequest<Body>,
}

impl Conn {
    /// Opens a TCP connection (Nagle off) and performs the HTTP/1.1 handshake; the connection
    /// is driven by a task of its own until either side closes it.
    pub async fn connect(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr).await.context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true).context(|| "setting TCP_NODELAY".to_owned())?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .context(|| format!("HTTP/1.1 handshake with {addr}"))?;
        tokio::spawn(async move {
            // Errors of the connection surface on the sender side as failed requests.
            let _closed = connection.await;
        });
        Ok(Self { sender })
    }

    /// Waits until the connection can take a request; false when it is closed.
    pub async fn ready(&mut self) -> bool {
        self.sender.ready().await.is_ok()
    }

    /// Sends one request; the response body still has to be read.
    pub async fn send(&mut self, req: Request<Body>) -> hyper::Result<Response<Incoming>> {
        self.sender.send_request(req).await
    }
}

/// A response read whole.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Fetched {
    /// The body as (lossy) UTF-8, cut to `max_chars`, for diagnostics.
    pub fn body_excerpt(&self, max_chars: usize) -> String {
        String::from_utf8_lossy(&self.body).chars().take(max_chars).collect()
    }
}

/// Sends `req` over `conn` and reads the whole response, within `timeout`.
pub async fn fetch_on(conn: &mut Conn, req: Request<Body>, timeout: Duration) -> Result<Fetched> {
    let uri = req.uri().clone();
    let work = async {
        if !conn.ready().await {
            return Err(Error::msg("connection closed"));
        }
        let resp = conn.send(req).await.context(|| "sending".to_owned())?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.context(|| "reading body".to_owned())?.to_bytes();
        Ok(Fetched { status: parts.status, headers: parts.headers, body })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| Error::msg(format!("{uri}: no answer within {timeout:?}")))?
        .context(|| format!("{uri}"))
}

/// Opens a connection to `addr`, sends `req`, reads the whole response.
pub async fn fetch(addr: SocketAddr, req: Request<Body>, timeout: Duration) -> Result<Fetched> {
    let mut conn = tokio::time::timeout(timeout, Conn::connect(addr))
        .await
        .map_err(|_| Error::msg(format!("connecting to {addr}: timed out after {timeout:?}")))??;
    fetch_on(&mut conn, req, timeout).await
}

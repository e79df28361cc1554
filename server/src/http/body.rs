//! Reading request bodies under a fixed limit, and checking their media type.

use std::time::Duration;

use bytes::Bytes;
use bytes::BytesMut;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Over the limit.
    #[error("body too large")]
    TooLarge,
    /// The connection failed mid-body.
    #[error("body could not be read: {0}")]
    Io(String),
}

/// Most bytes read and thrown away after a body went over its limit, so that a client still
/// sending gets to read the error instead of a connection reset (RFC 9112 9.6).
const MAX_DRAIN_BYTES: usize = 1024 * 1024;

/// Reads the whole body within `deadline`, refusing more than `limit` bytes. An over-long body
/// is drained (up to [`MAX_DRAIN_BYTES`]) before the error is returned.
pub async fn read(body: Incoming, limit: usize, deadline: Duration) -> Result<Bytes, BodyError> {
    tokio::time::timeout(deadline, read_all(body, limit)).await.unwrap_or_else(|_| {
        Err(BodyError::Io(format!("the body did not arrive within {} seconds", deadline.as_secs())))
    })
}

async fn read_all(mut body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    let mut buf = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Io(e.to_string()))?;
        let Ok(data) = frame.into_data() else { continue };
        seen = seen.saturating_add(data.len());
        if seen > limit.saturating_add(MAX_DRAIN_BYTES) {
            return Err(BodyError::TooLarge);
        }
        if seen <= limit {
            buf.extend_from_slice(&data);
        }
    }
    if seen > limit { Err(BodyError::TooLarge) } else { Ok(buf.freeze()) }
}

/// Whether the `Content-Type` is `essence`, ignoring parameters such as `charset`.
pub fn has_media_type(headers: &HeaderMap, essence: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(essence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn media_type_ignores_parameters_and_case() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
        assert!(has_media_type(&h, "application/x-www-form-urlencoded"));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(!has_media_type(&h, "application/x-www-form-urlencoded"));
        assert!(!has_media_type(&HeaderMap::new(), "application/json"));
    }
}

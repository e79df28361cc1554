//! Reading request bodies under a fixed limit, and checking their media type.

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use http_body_util::{BodyExt, Limited};
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

/// Reads the whole body, refusing more than `limit` bytes.
pub async fn read(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Err(err) => Err(BodyError::Io(err.to_string())),
    }
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

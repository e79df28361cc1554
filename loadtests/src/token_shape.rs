//! What an access token looks like from outside: a JWT (three base64url segments whose first
//! is a JSON object) or an opaque string. The scenarios' preflights and the end-user flows'
//! logs both tell them apart; a leaf module so neither has to import the other.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The access token format a scenario expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// A JWS compact serialisation.
    Jwt,
    /// Anything else.
    Opaque,
}

/// What an access token looks like.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenShape {
    /// Three base64url segments whose first decodes to a JSON object.
    Jwt {
        /// The decoded JOSE header.
        header: Value,
    },
    /// Not a JWT.
    Opaque {
        /// Length in characters.
        len: usize,
    },
}

impl TokenShape {
    /// The format this shape is.
    pub fn format(&self) -> TokenFormat {
        match self {
            TokenShape::Jwt { .. } => TokenFormat::Jwt,
            TokenShape::Opaque { .. } => TokenFormat::Opaque,
        }
    }
}

impl fmt::Display for TokenShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenShape::Jwt { header } => write!(f, "jwt header={header}"),
            TokenShape::Opaque { len } => write!(f, "opaque len={len}"),
        }
    }
}

/// Tells a JWT (three base64url segments, a JSON object header) from an opaque token.
pub fn classify_token(token: &str) -> TokenShape {
    let segments: Vec<&str> = token.split('.').collect();
    let b64url =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if segments.len() == 3
        && segments.iter().all(|s| b64url(s))
        && let Some(header) = URL_SAFE_NO_PAD
            .decode(segments[0])
            .ok()
            .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
            .filter(Value::is_object)
    {
        return TokenShape::Jwt { header };
    }
    TokenShape::Opaque { len: token.chars().count() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_tokens() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","typ":"at+jwt"}"#);
        let jwt = format!("{header}.eyJzdWIiOiJ4In0.c2ln");
        match classify_token(&jwt) {
            TokenShape::Jwt { header } => assert_eq!(header["alg"], "ES256"),
            other => panic!("not a JWT: {other:?}"),
        }
        for opaque in ["abc", "a.b.c", "Zm9v.YmFy.YmF6", "x..y", "6Hx4nQ-_0pA"] {
            assert_eq!(classify_token(opaque).format(), TokenFormat::Opaque, "{opaque}");
        }
    }
}

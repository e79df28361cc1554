//! Scope values (RFC 6749 3.3): parsed against the grammar, bounded in count and length, and
//! checked to lie within what a client registered.

use crate::error::{OAuthError, Reason};

/// Most scope values one request or client may carry.
pub const MAX_SCOPE_TOKENS: usize = 64;
/// Longest single scope value.
pub const MAX_SCOPE_TOKEN_BYTES: usize = 128;

/// The scope that makes a request an OpenID Connect one (Core 3.1.2.1).
pub const OPENID: &str = "openid";

/// The values of a space-delimited scope that was already parsed (a granted or stored one).
pub fn values(scope: &str) -> impl Iterator<Item = &str> {
    scope.split(' ').filter(|v| !v.is_empty())
}

/// Whether a granted (space-delimited) scope holds `value`.
pub fn contains(scope: &str, value: &str) -> bool {
    values(scope).any(|v| v == value)
}

/// Splits a scope string into its values, refusing characters outside
/// `%x21 / %x23-5B / %x5D-7E`, and dropping duplicates (order kept).
pub fn parse(scope: &str) -> Result<Vec<&str>, OAuthError> {
    let mut out: Vec<&str> = Vec::new();
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        if token.len() > MAX_SCOPE_TOKEN_BYTES || !token.bytes().all(is_scope_char) {
            return Err(OAuthError::new(Reason::MalformedScope, "scope contains an invalid value"));
        }
        if !out.contains(&token) {
            if out.len() == MAX_SCOPE_TOKENS {
                return Err(OAuthError::new(Reason::MalformedScope, "too many scope values"));
            }
            out.push(token);
        }
    }
    Ok(out)
}

fn is_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

/// The scope to grant: the requested values if all are registered for the client, or the
/// client's whole registered scope when none is requested (RFC 6749 3.3 lets the server choose
/// a default).
pub fn grant(requested: Option<&str>, registered: &[String]) -> Result<String, OAuthError> {
    let Some(requested) = requested else {
        return Ok(registered.join(" "));
    };
    let values = parse(requested)?;
    if let Some(v) = values.iter().find(|v| !registered.iter().any(|r| r == *v)) {
        return Err(OAuthError::new(
            Reason::ScopeNotAllowed,
            format!("scope `{v}` is not allowed for this client"),
        ));
    }
    Ok(values.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered() -> Vec<String> {
        vec!["read".into(), "write".into(), "api:read".into()]
    }

    #[test]
    fn values_and_contains_ignore_empty_parts() {
        assert_eq!(values(" openid  profile ").collect::<Vec<_>>(), ["openid", "profile"]);
        assert!(contains("profile openid", OPENID));
        assert!(!contains("openid_extra profile", OPENID));
        assert!(!contains("", ""));
    }

    #[test]
    fn grammar() {
        assert_eq!(parse("a  b a").expect("ok"), ["a", "b"]);
        for bad in ["a\"b", "a\\b", "caf\u{e9}", "a\tb"] {
            assert_eq!(parse(bad).expect_err(bad).reason, Reason::MalformedScope, "{bad}");
        }
        assert!(parse(&"x".repeat(MAX_SCOPE_TOKEN_BYTES + 1)).is_err());
    }

    #[test]
    fn requested_scope_must_be_registered() {
        assert_eq!(grant(Some("read api:read"), &registered()).expect("ok"), "read api:read");
        assert_eq!(grant(None, &registered()).expect("default"), "read write api:read");
        let err = grant(Some("read admin"), &registered()).expect_err("admin");
        assert_eq!(err.reason, Reason::ScopeNotAllowed);
        assert_eq!(err.code(), crate::error::ErrorCode::InvalidScope);
    }
}

//! Proof Key for Code Exchange (RFC 7636): the `code_challenge` a client sends to `/authorize`
//! and the `code_verifier` it later proves it holds at the token endpoint.
//!
//! `S256` is accepted from every client; `plain` (4.2) only from a client that opted in
//! (`Client::pkce_plain_allowed`), because it protects nothing once the authorization request
//! leaks (OAuth 2.1 discourages it) and RFC 7636 4.2 keeps it for clients that cannot do S256.
//! `/authorize` makes that decision; [`verify`] handles both methods.

// rkyv's derives generate archived twins without docs (the code record is stored by the
// storage crate); the types themselves are documented and checked by the build without it.
#![cfg_attr(feature = "rkyv", allow(missing_docs))]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{OAuthError, Reason};

/// Shortest verifier or challenge (RFC 7636 4.1, 4.2).
pub const MIN_LEN: usize = 43;
/// Longest verifier or challenge.
pub const MAX_LEN: usize = 128;

/// How the challenge was derived from the verifier (RFC 7636 4.2).
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeChallengeMethod {
    /// `BASE64URL(SHA256(ASCII(code_verifier)))`.
    S256,
    /// The challenge is the verifier itself.
    Plain,
}

/// A PKCE challenge as received and checked.
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge {
    /// The method (today always S256, see this module).
    pub method: CodeChallengeMethod,
    /// The challenge value.
    pub challenge: String,
}

impl CodeChallengeMethod {
    /// The `code_challenge_method` wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }

    /// Parses a `code_challenge_method` value (case-sensitive, as RFC 7636 4.3 spells them).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::S256, Self::Plain].into_iter().find(|m| m.as_str() == s)
    }
}

/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"` (RFC 3986 2.3).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Whether `s` is 43 to 128 unreserved characters: the grammar shared by verifier and challenge.
fn well_formed(s: &str) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&s.len()) && s.bytes().all(is_unreserved)
}

/// Checks a `code_challenge` against the grammar of RFC 7636 4.2.
pub fn parse_challenge(challenge: &str) -> Result<&str, OAuthError> {
    if well_formed(challenge) {
        Ok(challenge)
    } else {
        Err(OAuthError::new(
            Reason::MalformedParameter,
            "code_challenge must be 43 to 128 unreserved characters",
        ))
    }
}

/// Checks a `code_verifier` against the grammar of RFC 7636 4.1.
pub fn parse_verifier(verifier: &str) -> Result<&str, OAuthError> {
    if well_formed(verifier) {
        Ok(verifier)
    } else {
        Err(OAuthError::new(
            Reason::MalformedParameter,
            "code_verifier must be 43 to 128 unreserved characters",
        ))
    }
}

/// The S256 challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` matches `challenge` under `method` (RFC 7636 4.6). A verifier outside the
/// grammar never matches. The comparison takes time independent of where the values differ, so
/// the token endpoint leaks nothing about a stored challenge.
pub fn verify(method: CodeChallengeMethod, challenge: &str, verifier: &str) -> bool {
    if !well_formed(verifier) {
        return false;
    }
    match method {
        CodeChallengeMethod::S256 => s256(verifier).as_bytes().ct_eq(challenge.as_bytes()).into(),
        CodeChallengeMethod::Plain => verifier.as_bytes().ct_eq(challenge.as_bytes()).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn appendix_b() {
        assert_eq!(s256(VERIFIER), CHALLENGE);
        assert!(verify(CodeChallengeMethod::S256, CHALLENGE, VERIFIER));
        assert!(!verify(CodeChallengeMethod::S256, CHALLENGE, &VERIFIER.replace('d', "e")));
        assert!(!verify(CodeChallengeMethod::Plain, CHALLENGE, VERIFIER));
        assert!(verify(CodeChallengeMethod::Plain, VERIFIER, VERIFIER));
    }

    #[test]
    fn grammar() {
        assert!(parse_verifier(VERIFIER).is_ok());
        assert!(parse_challenge(&"a~._-".repeat(26)[..128]).is_ok());
        for bad in [
            "",
            &"a".repeat(42),
            &"a".repeat(129),
            &format!("{}+", &VERIFIER[..42]),
            &format!("{}=", &VERIFIER[..42]),
        ] {
            assert_eq!(parse_verifier(bad).expect_err(bad).reason, Reason::MalformedParameter);
            assert_eq!(parse_challenge(bad).expect_err(bad).reason, Reason::MalformedParameter);
        }
        // A short verifier never matches, even under `plain` with an equal challenge.
        assert!(!verify(CodeChallengeMethod::Plain, "short", "short"));
    }

    #[test]
    fn method_names() {
        assert_eq!(CodeChallengeMethod::parse("S256"), Some(CodeChallengeMethod::S256));
        assert_eq!(CodeChallengeMethod::parse("plain"), Some(CodeChallengeMethod::Plain));
        assert_eq!(CodeChallengeMethod::parse("s256"), None);
    }
}

//! Secrets Tessera generates (client secrets, opaque tokens, ids) and how they are kept: as a
//! SHA-256 digest, compared in constant time. A fast digest is safe here because every such
//! secret is 256 bits of randomness, far beyond any guessing; it keeps the token endpoint fast.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A 256-bit secret as sent on the wire: 43 base64url characters.
pub fn encode_secret(random: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

/// A 128-bit identifier (key ids, `jti`s, client ids): 22 base64url characters.
pub fn encode_id(random: &[u8; 16]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

/// The digest a secret is stored as.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `presented` matches the stored digest, in time independent of where they differ.
pub fn matches(presented: &str, stored: &[u8; 32]) -> bool {
    digest(presented).ct_eq(stored).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_43_chars_and_matches_its_digest() {
        let s = encode_secret(&[7; 32]);
        assert_eq!(s.len(), 43);
        assert!(matches(&s, &digest(&s)));
        assert!(!matches("other", &digest(&s)));
    }

    #[test]
    fn sha256_vector() {
        // FIPS 180-2 example "abc".
        let d = digest("abc");
        assert_eq!(d[..4], [0xba, 0x78, 0x16, 0xbf], "SHA-256(abc) starts with ba7816bf");
    }
}

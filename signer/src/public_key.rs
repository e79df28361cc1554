//! Public halves of signing keys, checked once when built, and signature verification in
//! software with `aws-lc-rs`. Both backends keep one of these next to each private key, so
//! verifying never touches the HSM.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256,
    RsaPublicKeyComponents, UnparsedPublicKey,
};
use tessera_core::model::SigningAlg;

/// A signing key's public half, in the encodings JWS and JWK use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// P-256 point, uncompressed SEC1 (`04 || x || y`, 65 bytes). Signs ES256.
    P256(Vec<u8>),
    /// P-384 point, uncompressed SEC1 (`04 || x || y`, 97 bytes). Signs ES384.
    P384(Vec<u8>),
    /// RSA, big-endian without leading zeros. Signs RS256.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// Ed25519 public key (32 bytes). Signs EdDSA.
    Ed25519([u8; 32]),
}

/// Smallest RSA modulus Tessera accepts, in bits (RFC 7518 3.3 requires 2048).
pub const MIN_RSA_BITS: usize = 2048;

impl PublicKey {
    /// An EC public key for `alg` from an uncompressed SEC1 point.
    pub fn ec(alg: SigningAlg, point: &[u8]) -> Result<Self, String> {
        let (len, make): (usize, fn(Vec<u8>) -> Self) = match alg {
            SigningAlg::ES256 => (65, Self::P256),
            SigningAlg::ES384 => (97, Self::P384),
            other => return Err(format!("{} is not an EC algorithm", other.as_str())),
        };
        if point.len() != len || point.first() != Some(&0x04) {
            return Err(format!(
                "{} needs an uncompressed {len}-byte point, got {} bytes",
                alg.as_str(),
                point.len()
            ));
        }
        Ok(make(point.to_vec()))
    }

    /// An RSA public key; leading zero bytes are dropped so the JWK is canonical.
    pub fn rsa(n: &[u8], e: &[u8]) -> Result<Self, String> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
        if bits < MIN_RSA_BITS {
            return Err(format!("RSA modulus of {bits} bits, at least {MIN_RSA_BITS} required"));
        }
        if e.is_empty() || e.last().is_some_and(|b| b & 1 == 0) {
            return Err("RSA public exponent must be odd".into());
        }
        Ok(Self::Rsa { n: n.to_vec(), e: e.to_vec() })
    }

    /// An Ed25519 public key.
    pub fn ed25519(x: &[u8]) -> Result<Self, String> {
        let x: [u8; 32] =
            x.try_into().map_err(|_| format!("Ed25519 key of {} bytes, 32 required", x.len()))?;
        Ok(Self::Ed25519(x))
    }

    /// The only algorithm this key signs with (one key, one algorithm: no cross-algorithm use).
    pub fn alg(&self) -> SigningAlg {
        match self {
            Self::P256(_) => SigningAlg::ES256,
            Self::P384(_) => SigningAlg::ES384,
            Self::Rsa { .. } => SigningAlg::RS256,
            Self::Ed25519(_) => SigningAlg::EdDSA,
        }
    }

    /// Whether `signature` is a valid JWS signature of `message` by this key.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            Self::P256(point) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, sig).is_ok()
            }
            Self::P384(point) => {
                UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, point).verify(message, sig).is_ok()
            }
            Self::Rsa { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, sig).is_ok()
            }
            Self::Ed25519(x) => UnparsedPublicKey::new(&ED25519, x).verify(message, sig).is_ok(),
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ec_points_must_match_the_curve() {
        let p256 = [4u8; 65];
        assert!(PublicKey::ec(SigningAlg::ES256, &p256).is_ok());
        assert!(PublicKey::ec(SigningAlg::ES384, &p256).is_err());
        let mut compressed = [0u8; 65];
        compressed[0] = 2;
        assert!(PublicKey::ec(SigningAlg::ES256, &compressed).is_err());
        assert!(PublicKey::ec(SigningAlg::RS256, &p256).is_err());
    }

    #[test]
    fn rsa_keys_below_2048_bits_are_refused() {
        let mut n = vec![0u8; 257];
        n[1] = 0x80; // 2048 bits after the leading zero is dropped
        let key = PublicKey::rsa(&n, &[1, 0, 1]).unwrap();
        assert!(matches!(&key, PublicKey::Rsa { n, e } if n.len() == 256 && e == &[1, 0, 1]));
        n[1] = 0x7f; // 2047 bits
        assert!(PublicKey::rsa(&n, &[1, 0, 1]).is_err());
        n[1] = 0x80;
        assert!(PublicKey::rsa(&n, &[1, 0, 0]).is_err());
    }

    #[test]
    fn ed25519_keys_are_32_bytes() {
        assert!(PublicKey::ed25519(&[1; 32]).is_ok());
        assert!(PublicKey::ed25519(&[1; 31]).is_err());
    }
}

//! Signing keys: the algorithms Tessera signs with and the key records a tenant holds (the
//! private half in software as PKCS#8, plain or sealed under a key-encryption key, or a
//! handle to an HSM object).

use serde::{Deserialize, Serialize};

use super::UnixSecs;

rkyv_record! {
    /// A JWS algorithm Tessera signs with.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum SigningAlg {
        /// ECDSA P-256 with SHA-256.
        ES256,
        /// ECDSA P-384 with SHA-384.
        ES384,
        /// RSASSA-PKCS1-v1_5 with SHA-256.
        RS256,
        /// Ed25519 (RFC 8037).
        EdDSA,
    }

    /// Where a signing key's private half lives.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum KeyMaterial {
        /// A software key: the PKCS#8 DER private key.
        Software {
            /// PKCS#8 v1/v2 DER.
            pkcs8: Vec<u8>,
        },
        /// A key generated inside a PKCS#11 token, found by its `CKA_ID`.
        Pkcs11 {
            /// The `CKA_ID` of the private and public key objects.
            id: Vec<u8>,
        },
        /// A software key whose PKCS#8 is sealed (AES-256-GCM) under the key-encryption key the
        /// nodes are given, so that the store alone never holds a usable private key. The
        /// envelope is the signer's (`tessera_signer::kek`): the store keeps it as opaque bytes.
        SealedSoftware {
            /// The sealed envelope: version, KEK id, nonce, ciphertext and tag.
            sealed: Vec<u8>,
        },
    }

    /// A tenant's signing key.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct KeyRecord {
        /// The tenant the key belongs to.
        pub tenant: String,
        /// The JWS `kid`, unique across tenants.
        pub kid: String,
        /// The algorithm the key signs with.
        pub alg: SigningAlg,
        /// The public key as a JWK JSON object (with `kid`, `alg` and `use`).
        pub public_jwk: String,
        /// The private half.
        pub material: KeyMaterial,
        /// When the key was made.
        pub created_at: UnixSecs,
        /// When a newer key replaced it as the current key of its algorithm.
        pub retired_at: Option<UnixSecs>,
        /// After this instant no unexpired token can carry its signature: it leaves the JWKS.
        pub expires_at: Option<UnixSecs>,
    }
}

impl SigningAlg {
    /// Every algorithm, in the order discovery lists them.
    pub const ALL: [SigningAlg; 4] = [Self::ES256, Self::ES384, Self::RS256, Self::EdDSA];

    /// The JWS `alg` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// Parses a JWS `alg` name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_round_trip() {
        for a in SigningAlg::ALL {
            assert_eq!(SigningAlg::parse(a.as_str()), Some(a));
        }
        assert_eq!(SigningAlg::parse("none"), None);
        assert_eq!(SigningAlg::parse("HS256"), None);
    }
}

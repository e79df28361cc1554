//! What each signing algorithm means to the token: the mechanisms it needs, how its key pair is
//! generated, which key type its private key must have, and what is handed to `C_Sign`.
//!
//! ECDSA digests are computed here and signed with `CKM_ECDSA`: SoftHSM2 has no combined
//! ECDSA-with-SHA mechanism, and hashing in software costs the same wherever it is done. RSA
//! signs with `CKM_SHA256_RSA_PKCS` and Ed25519 with pure `CKM_EDDSA`, both over the input.

use aws_lc_rs::digest;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, KeyType};
use cryptoki::types::Ulong;
use tessera_core::model::SigningAlg;

/// DER of the named-curve OIDs that go in `CKA_EC_PARAMS`.
const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// id-Ed25519 (1.3.101.112, RFC 8410), which PKCS#11 3.0 accepts for Edwards keys.
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// The mechanisms the token must offer to generate and sign `alg` keys.
pub(super) fn required_mechanisms(alg: SigningAlg) -> [MechanismType; 2] {
    match alg {
        SigningAlg::ES256 | SigningAlg::ES384 => [MechanismType::ECC_KEY_PAIR_GEN, MechanismType::ECDSA],
        SigningAlg::RS256 => [MechanismType::RSA_PKCS_KEY_PAIR_GEN, MechanismType::SHA256_RSA_PKCS],
        SigningAlg::EdDSA => [MechanismType::ECC_EDWARDS_KEY_PAIR_GEN, MechanismType::EDDSA],
    }
}

/// The key-pair generation mechanism for `alg` and the public-template attributes that choose
/// the curve or the modulus (the security attributes are added by the caller).
pub(super) fn key_pair_gen(alg: SigningAlg) -> (Mechanism<'static>, Vec<Attribute>) {
    match alg {
        SigningAlg::ES256 => (Mechanism::EccKeyPairGen, vec![Attribute::EcParams(P256_OID.to_vec())]),
        SigningAlg::ES384 => (Mechanism::EccKeyPairGen, vec![Attribute::EcParams(P384_OID.to_vec())]),
        SigningAlg::RS256 => (
            Mechanism::RsaPkcsKeyPairGen,
            vec![Attribute::ModulusBits(Ulong::from(2048)), Attribute::PublicExponent(vec![1, 0, 1])],
        ),
        SigningAlg::EdDSA => {
            (Mechanism::EccEdwardsKeyPairGen, vec![Attribute::EcParams(ED25519_OID.to_vec())])
        }
    }
}

/// The `CKA_KEY_TYPE` a private key for `alg` has.
pub(super) fn key_type(alg: SigningAlg) -> KeyType {
    match alg {
        SigningAlg::ES256 | SigningAlg::ES384 => KeyType::EC,
        SigningAlg::RS256 => KeyType::RSA,
        SigningAlg::EdDSA => KeyType::EC_EDWARDS,
    }
}

/// The `C_Sign` mechanism for `alg`.
pub(super) fn sign_mechanism(alg: SigningAlg) -> Mechanism<'static> {
    match alg {
        SigningAlg::ES256 | SigningAlg::ES384 => Mechanism::Ecdsa,
        SigningAlg::RS256 => Mechanism::Sha256RsaPkcs,
        // Pure Ed25519 (RFC 8032) takes no parameter, as JWS EdDSA requires.
        SigningAlg::EdDSA => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
    }
}

/// What the token signs for `alg`: the digest for ECDSA (see the module doc), else the input.
pub(super) fn to_be_signed(alg: SigningAlg, signing_input: &[u8]) -> Vec<u8> {
    match alg {
        SigningAlg::ES256 => digest::digest(&digest::SHA256, signing_input).as_ref().to_vec(),
        SigningAlg::ES384 => digest::digest(&digest::SHA384, signing_input).as_ref().to_vec(),
        SigningAlg::RS256 | SigningAlg::EdDSA => signing_input.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_is_given_the_digest_and_the_others_the_input() {
        let input = b"header.payload";
        assert_eq!(to_be_signed(SigningAlg::ES256, input), digest::digest(&digest::SHA256, input).as_ref());
        assert_eq!(to_be_signed(SigningAlg::ES384, input), digest::digest(&digest::SHA384, input).as_ref());
        assert_eq!(to_be_signed(SigningAlg::ES256, input).len(), 32);
        assert_eq!(to_be_signed(SigningAlg::ES384, input).len(), 48);
        assert_eq!(to_be_signed(SigningAlg::RS256, input), input);
        assert_eq!(to_be_signed(SigningAlg::EdDSA, input), input);
    }

    #[test]
    fn every_algorithm_signs_with_the_mechanism_it_requires() {
        for alg in SigningAlg::ALL {
            let [_, sign] = required_mechanisms(alg);
            assert_eq!(sign_mechanism(alg).mechanism_type(), sign, "{alg:?}");
            let [gen_mech, _] = required_mechanisms(alg);
            assert_eq!(key_pair_gen(alg).0.mechanism_type(), gen_mech, "{alg:?}");
        }
    }
}

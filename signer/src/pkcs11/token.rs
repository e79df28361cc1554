//! The key objects in the token: generating a key pair (private half sensitive and
//! non-extractable), finding a stored key's objects by `CKA_ID` and checking them against the
//! record, reading public keys and security attributes back, and destroying the objects.
//!
//! Finding a key (`C_FindObjects*`) costs more than a signature, so this runs once per key, at
//! `load`/`generate`, and its result (the private key's handle and the public key, read from
//! the token's public key object and used to verify in software) is cached as an [`HsmKey`].

use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg, UnixSecs};
use tessera_core::signer::SignError;

use super::library::ck;
use super::mechanism::{key_pair_gen, key_type, sign_mechanism, to_be_signed};
use crate::jwk;
use crate::keys::{new_kid, random_bytes};
use crate::public_key::PublicKey;

/// Length of the random `CKA_ID` of a generated key pair.
pub const KEY_ID_LEN: usize = 16;

/// Security attributes of a private key object, as the token reports them (for audits and
/// tests: a regulated deployment must be able to show its keys cannot leave the HSM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAttributes {
    /// `CKA_TOKEN`: stored in the token, not only in the session.
    pub token: bool,
    /// `CKA_PRIVATE`: usable only after login.
    pub private: bool,
    /// `CKA_SENSITIVE`: the private value cannot be read.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`: the key can be wrapped out of the token.
    pub extractable: bool,
    /// `CKA_ALWAYS_SENSITIVE`: sensitive since it was made.
    pub always_sensitive: bool,
    /// `CKA_NEVER_EXTRACTABLE`: never was extractable.
    pub never_extractable: bool,
    /// `CKA_LOCAL`: generated inside the token (not imported).
    pub local: bool,
}

/// A loaded key: the private key object's handle, found once, and the public key.
pub(super) struct HsmKey {
    pub(super) handle: ObjectHandle,
    pub(super) public: PublicKey,
}

/// Generates a key pair for `tenant` inside the token: both halves are token objects sharing a
/// random `CKA_ID` (the record's material) and labelled with the `kid`; the private half is
/// private, sensitive, non-extractable and may only sign.
pub(super) fn generate_key(
    session: &Session,
    tenant: &str,
    alg: SigningAlg,
    now: UnixSecs,
) -> Result<(KeyRecord, HsmKey), SignError> {
    let kid = new_kid()?;
    let mut id = [0u8; KEY_ID_LEN];
    random_bytes(&mut id)?;
    let (mechanism, mut public_template) = key_pair_gen(alg);
    let label = kid.as_bytes().to_vec();
    public_template.extend([
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.clone()),
    ]);
    let private_template = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label),
    ];
    let (public_handle, handle) = session
        .generate_key_pair(&mechanism, &public_template, &private_template)
        .map_err(ck("C_GenerateKeyPair"))?;
    let public = read_public_key(session, public_handle, alg)
        .map_err(|detail| SignError::Backend(format!("generated key {kid}: {detail}")))?;
    let record = KeyRecord {
        tenant: tenant.to_owned(),
        public_jwk: jwk::to_jwk_json(&public, &kid),
        kid,
        alg,
        material: KeyMaterial::Pkcs11 { id: id.to_vec() },
        created_at: now,
        retired_at: None,
        expires_at: None,
    };
    Ok((record, HsmKey { handle, public }))
}

/// Finds the private key with `CKA_ID = id`, checks it can sign `alg`, and checks that it is
/// the private half of `stored` (the record's JWK): by the token's public key object when there
/// is one, else by signing a probe and verifying it.
pub(super) fn find_key(
    session: &Session,
    id: &[u8],
    alg: SigningAlg,
    stored: PublicKey,
) -> Result<HsmKey, String> {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let find = |class| {
        session
            .find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())])
            .map_err(|e| format!("C_FindObjects: {e}"))
    };
    let handle = match find(ObjectClass::PRIVATE_KEY)?[..] {
        [handle] => handle,
        [] => return Err(format!("no private key with CKA_ID {hex} in the token")),
        ref many => return Err(format!("{} private keys share CKA_ID {hex}", many.len())),
    };
    let attrs = session
        .get_attributes(handle, &[AttributeType::KeyType, AttributeType::Sign])
        .map_err(|e| format!("C_GetAttributeValue: {e}"))?;
    for attr in attrs {
        match attr {
            Attribute::KeyType(kt) if kt != key_type(alg) => {
                return Err(format!("CKA_ID {hex} is a {kt} key, not one for {}", alg.as_str()));
            }
            Attribute::Sign(false) => return Err(format!("CKA_ID {hex} has CKA_SIGN false")),
            _ => {}
        }
    }
    match find(ObjectClass::PUBLIC_KEY)?[..] {
        [public_handle] => {
            let public = read_public_key(session, public_handle, alg)?;
            if public != stored {
                return Err(format!("the token's public key for CKA_ID {hex} differs from public_jwk"));
            }
        }
        _ => {
            let probe = b"tessera key probe";
            let sig = session
                .sign(&sign_mechanism(alg), handle, &to_be_signed(alg, probe))
                .map_err(|e| format!("C_Sign (probe): {e}"))?;
            if !stored.verify(probe, &sig) {
                return Err(format!("CKA_ID {hex} does not sign for public_jwk"));
            }
        }
    }
    Ok(HsmKey { handle, public: stored })
}

/// Destroys every object with the key's `CKA_ID`: the private and the public half. A key
/// already gone is not an error (nothing is found).
pub(super) fn destroy_key(session: &Session, id: &[u8]) -> Result<(), SignError> {
    let handles = session.find_objects(&[Attribute::Id(id.to_vec())]).map_err(ck("C_FindObjects"))?;
    for handle in handles {
        session.destroy_object(handle).map_err(ck("C_DestroyObject"))?;
    }
    Ok(())
}

pub(super) fn read_security_attributes(
    session: Result<&Session, SignError>,
    handle: ObjectHandle,
) -> Result<KeyAttributes, SignError> {
    let attrs = session?
        .get_attributes(
            handle,
            &[
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Local,
            ],
        )
        .map_err(ck("C_GetAttributeValue"))?;
    // Missing attributes read as the insecure answer, so a token that hides them fails audits.
    let mut out = KeyAttributes {
        token: false,
        private: false,
        sensitive: false,
        extractable: true,
        always_sensitive: false,
        never_extractable: false,
        local: false,
    };
    for attr in attrs {
        match attr {
            Attribute::Token(v) => out.token = v,
            Attribute::Private(v) => out.private = v,
            Attribute::Sensitive(v) => out.sensitive = v,
            Attribute::Extractable(v) => out.extractable = v,
            Attribute::AlwaysSensitive(v) => out.always_sensitive = v,
            Attribute::NeverExtractable(v) => out.never_extractable = v,
            Attribute::Local(v) => out.local = v,
            _ => {}
        }
    }
    Ok(out)
}

/// Unwraps `CKA_EC_POINT`: PKCS#11 says it is a DER OCTET STRING around the point, but some
/// tokens return the bare point, which is recognised by its exact length.
fn unwrap_ec_point(value: &[u8], bare_len: usize) -> Result<&[u8], String> {
    if value.len() == bare_len {
        return Ok(value);
    }
    let content = match value {
        [0x04, len, rest @ ..] if *len < 0x80 && rest.len() == usize::from(*len) => rest,
        [0x04, 0x81, len, rest @ ..] if rest.len() == usize::from(*len) => rest,
        _ => return Err(format!("CKA_EC_POINT of {} bytes is not an OCTET STRING", value.len())),
    };
    if content.len() == bare_len {
        Ok(content)
    } else {
        Err(format!("CKA_EC_POINT holds {} bytes, {bare_len} expected", content.len()))
    }
}

fn read_public_key(session: &Session, handle: ObjectHandle, alg: SigningAlg) -> Result<PublicKey, String> {
    let wanted: &[AttributeType] = match alg {
        SigningAlg::RS256 => &[AttributeType::Modulus, AttributeType::PublicExponent],
        _ => &[AttributeType::EcPoint],
    };
    let attrs = session.get_attributes(handle, wanted).map_err(|e| format!("C_GetAttributeValue: {e}"))?;
    let (mut point, mut n, mut e) = (None, None, None);
    for attr in attrs {
        match attr {
            Attribute::EcPoint(v) => point = Some(v),
            Attribute::Modulus(v) => n = Some(v),
            Attribute::PublicExponent(v) => e = Some(v),
            _ => {}
        }
    }
    let missing = |what: &str| format!("public key object has no {what}");
    match alg {
        SigningAlg::ES256 | SigningAlg::ES384 => {
            let point = point.ok_or_else(|| missing("CKA_EC_POINT"))?;
            let len = if alg == SigningAlg::ES256 { 65 } else { 97 };
            PublicKey::ec(alg, unwrap_ec_point(&point, len)?)
        }
        SigningAlg::RS256 => PublicKey::rsa(
            &n.ok_or_else(|| missing("CKA_MODULUS"))?,
            &e.ok_or_else(|| missing("CKA_PUBLIC_EXPONENT"))?,
        ),
        SigningAlg::EdDSA => {
            let point = point.ok_or_else(|| missing("CKA_EC_POINT"))?;
            PublicKey::ed25519(unwrap_ec_point(&point, 32)?)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ec_points_unwrap_from_der_or_bare() {
        let point = [4u8; 65];
        let mut der = vec![0x04, 65];
        der.extend_from_slice(&point);
        assert_eq!(unwrap_ec_point(&der, 65).unwrap(), &point);
        assert_eq!(unwrap_ec_point(&point, 65).unwrap(), &point);
        let p384 = [4u8; 97];
        let mut der = vec![0x04, 97];
        der.extend_from_slice(&p384);
        assert_eq!(unwrap_ec_point(&der, 97).unwrap(), &p384);
        let ed = [9u8; 32];
        let mut der = vec![0x04, 32];
        der.extend_from_slice(&ed);
        assert_eq!(unwrap_ec_point(&der, 32).unwrap(), &ed);
        assert!(unwrap_ec_point(&der, 65).is_err());
        assert!(unwrap_ec_point(&[0x04, 0x81, 3, 1, 2], 3).is_err());
    }
}

//! The key-encryption key (KEK) and the sealed-key envelope: software private keys kept in a
//! shared store are sealed with AES-256-GCM under a 32-byte key every node is given, so the
//! database alone (a backup, a replica, a stolen dump) holds no usable private key.
//!
//! Envelope, version 1 (`KeyMaterial::SealedSoftware::sealed`):
//!
//! ```text
//! 0x01 | KEK id (8) | nonce (12) | ciphertext of the PKCS#8 | tag (16)
//! ```
//!
//! The nonce is random per seal (drawn by aws-lc): keys are sealed a few times a day at most,
//! far from the 2^32 seals under one key that random 96-bit nonces allow. The associated data
//! binds the ciphertext to the record it was sealed for (tenant, `kid` and algorithm) and to
//! the envelope's own header, so an envelope copied onto another record does not open.
//!
//! The KEK id is the first 8 bytes of HMAC-SHA256(KEK, a fixed label): a one-way fingerprint
//! that tells "sealed under another KEK" (a configuration mistake, [`SignError::Sealed`]) from
//! "damaged or moved" ([`SignError::BadKey`]) without trying to decrypt, and names the KEK a
//! key needs once KEKs can be rotated.
//!
//! The raw KEK is not kept: only aws-lc's AEAD context and the id are, and aws-lc clears the
//! context's memory when it frees it. The buffers the key passes through on the way in are
//! overwritten (best effort: without a dependency for it, nothing stops the compiler or the
//! allocator from leaving copies).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use tessera_core::model::SigningAlg;
use tessera_core::signer::SignError;

/// Bytes in a key-encryption key (AES-256).
pub const KEK_LEN: usize = 32;

/// Bytes of the KEK id in an envelope.
const KEK_ID_LEN: usize = 8;

/// The envelope format this signer writes and reads.
const ENVELOPE_V1: u8 = 1;

/// Version byte and KEK id: the part of the envelope before the nonce.
const HEADER_LEN: usize = 1 + KEK_ID_LEN;

/// AES-GCM's tag.
const TAG_LEN: usize = 16;

/// Separates the KEK id's HMAC from any other use of the key.
const KEK_ID_LABEL: &[u8] = b"tessera key-encryption key id v1";

/// Separates this envelope's associated data from any other.
const AAD_LABEL: &[u8] = b"tessera sealed signing key";

/// Why a key-encryption key was refused. Never carries the key or any part of it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// The text is not 32 bytes in one of the accepted encodings.
    #[error(
        "it must be 32 bytes written as 64 hexadecimal digits, or as 43 or 44 base64 or base64url \
         characters; got {chars} characters (`openssl rand -hex 32` makes one)"
    )]
    Malformed {
        /// Characters given, after trimming whitespace.
        chars: usize,
    },
    /// aws-lc refused the key (it takes any 32 bytes, so this is not expected).
    #[error("aws-lc refused the key-encryption key")]
    Rejected,
}

/// A key-encryption key: seals software private keys before they are stored and opens them
/// when they are loaded. Cheap to clone. Its `Debug` shows the KEK id only.
#[derive(Clone)]
pub struct Kek(Arc<Inner>);

struct Inner {
    aead: RandomizedNonceKey,
    id: [u8; KEK_ID_LEN],
    /// HMAC-SHA256 of [`PAGE_KEY_LABEL`] under the KEK (see [`Kek::page_key`]).
    page_key: [u8; 32],
}

/// What the page key is derived from: its own label, so it reveals nothing of the KEK or its id.
const PAGE_KEY_LABEL: &[u8] = b"tessera page key v1";

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Kek").field(&self.id()).finish()
    }
}

impl Kek {
    /// A KEK from its 32 bytes. The array given (a copy: arrays are `Copy`) is overwritten once
    /// the key is set up; any other copy is the caller's to clear.
    pub fn from_bytes(mut bytes: [u8; KEK_LEN]) -> Result<Self, KekError> {
        let made = Self::from_slice(&bytes);
        wipe(&mut bytes);
        made
    }

    fn from_slice(bytes: &[u8]) -> Result<Self, KekError> {
        let aead = RandomizedNonceKey::new(&AES_256_GCM, bytes).map_err(|_| KekError::Rejected)?;
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, bytes), KEK_ID_LABEL);
        let mut id = [0; KEK_ID_LEN];
        id.copy_from_slice(&tag.as_ref()[..KEK_ID_LEN]);
        let mut page_key = [0; 32];
        page_key
            .copy_from_slice(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, bytes), PAGE_KEY_LABEL).as_ref());
        Ok(Self(Arc::new(Inner { aead, id, page_key })))
    }

    /// Parses a KEK written as text: 64 hexadecimal digits (either case), or base64 or
    /// base64url with or without its padding (43 or 44 characters). Whitespace around it (a
    /// file's trailing newline) is ignored.
    pub fn parse(text: &str) -> Result<Self, KekError> {
        let text = text.trim();
        let mut bytes = decode_text(text).ok_or(KekError::Malformed { chars: text.chars().count() })?;
        let made = Self::from_slice(&bytes);
        wipe(&mut bytes);
        made
    }

    /// The key that signs the server's own pages' fields (the login form's request and CSRF
    /// token), derived from the KEK: every node given the same KEK derives the same one, so a
    /// form one node served is accepted by another. Not the KEK, and not a way back to it.
    pub fn page_key(&self) -> [u8; 32] {
        self.0.page_key
    }

    /// The KEK id in hexadecimal (16 digits): the same on every node given the same KEK, and
    /// revealing nothing of the key. For logs and error messages.
    pub fn id(&self) -> String {
        hex(&self.0.id)
    }

    /// Seals `pkcs8` for the key `kid` of `tenant`, signing with `alg`. The signer calls this
    /// as it generates keys; it is public for tools that re-seal stored keys.
    pub fn seal(&self, tenant: &str, kid: &str, alg: SigningAlg, pkcs8: &[u8]) -> Result<Vec<u8>, SignError> {
        let mut header = [0; HEADER_LEN];
        header[0] = ENVELOPE_V1;
        header[1..].copy_from_slice(&self.0.id);
        let aad = associated_data(&header, tenant, kid, alg);
        let mut in_out = pkcs8.to_vec();
        let sealed = self.0.aead.seal_in_place_append_tag(Aad::from(&aad), &mut in_out);
        let nonce = match sealed {
            Ok(nonce) => nonce,
            Err(_) => {
                wipe(&mut in_out);
                return Err(SignError::Backend(format!("aws-lc failed to seal key {kid}")));
            }
        };
        let mut envelope = Vec::with_capacity(HEADER_LEN + NONCE_LEN + in_out.len());
        envelope.extend_from_slice(&header);
        envelope.extend_from_slice(nonce.as_ref());
        envelope.extend_from_slice(&in_out);
        Ok(envelope)
    }

    /// Opens an envelope sealed for the key `kid` of `tenant` with `alg`, returning the
    /// PKCS#8 (the caller wipes it once parsed). Another KEK's envelope is
    /// [`SignError::Sealed`]; one that is damaged, or was sealed for another record, is
    /// [`SignError::BadKey`].
    pub fn open(
        &self,
        tenant: &str,
        kid: &str,
        alg: SigningAlg,
        envelope: &[u8],
    ) -> Result<Vec<u8>, SignError> {
        let bad = |detail: &str| SignError::BadKey { kid: kid.to_owned(), detail: detail.to_owned() };
        let header = sealed_header(kid, envelope)?;
        if header[1..] != self.0.id {
            return Err(SignError::Sealed { kid: kid.to_owned() });
        }
        let rest = &envelope[HEADER_LEN..];
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(bad("the sealed key is truncated"));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad("the sealed key's nonce"))?;
        let aad = associated_data(header, tenant, kid, alg);
        let mut in_out = ciphertext.to_vec();
        let opened = self.0.aead.open_in_place(nonce, Aad::from(&aad), &mut in_out).map(|plain| plain.len());
        match opened {
            Ok(len) => {
                in_out.truncate(len);
                Ok(in_out)
            }
            Err(_) => {
                wipe(&mut in_out);
                Err(bad("the sealed key does not open under its key-encryption key: it was damaged, \
                     or copied from another key record"))
            }
        }
    }
}

/// The envelope's header, once its version is known: what a node without a KEK checks too,
/// so that a damaged record is not reported as a missing KEK.
pub(crate) fn sealed_header<'a>(kid: &str, envelope: &'a [u8]) -> Result<&'a [u8], SignError> {
    let bad = |detail: String| SignError::BadKey { kid: kid.to_owned(), detail };
    match envelope.first() {
        Some(&ENVELOPE_V1) if envelope.len() >= HEADER_LEN => Ok(&envelope[..HEADER_LEN]),
        Some(&ENVELOPE_V1) | None => Err(bad("the sealed key is truncated".to_owned())),
        Some(v) => Err(bad(format!("unknown sealed key envelope version {v}"))),
    }
}

/// The associated data: the envelope's header and the record the key belongs to, each
/// variable part prefixed with its length so that no two bindings share an encoding.
fn associated_data(header: &[u8], tenant: &str, kid: &str, alg: SigningAlg) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + header.len() + tenant.len() + kid.len() + 32);
    aad.extend_from_slice(AAD_LABEL);
    aad.extend_from_slice(header);
    for part in [tenant, kid, alg.as_str()] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// The 32 bytes of a KEK's text form, if it is one of the accepted encodings.
fn decode_text(text: &str) -> Option<Vec<u8>> {
    let bytes = match text.len() {
        64 => unhex(text)?,
        43 | 44 => {
            let unpadded = text.strip_suffix('=').unwrap_or(text);
            // One alphabet or the other, never a mixture of both.
            URL_SAFE_NO_PAD.decode(unpadded).or_else(|_| STANDARD_NO_PAD.decode(unpadded)).ok()?
        }
        _ => return None,
    };
    (bytes.len() == KEK_LEN).then_some(bytes)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.as_bytes().chunks(2).map(|pair| Some((digit(pair[0])? << 4) | digit(*pair.get(1)?)?)).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Overwrites secret bytes before their buffer is freed. `black_box` keeps the compiler from
/// dropping the writes as dead stores.
pub(crate) fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_page_key_is_the_same_for_one_kek_and_is_not_the_kek() {
        let bytes = [7u8; KEK_LEN];
        let (a, b) = (Kek::from_bytes(bytes).unwrap(), Kek::from_bytes(bytes).unwrap());
        assert_eq!(a.page_key(), b.page_key(), "every node given the KEK derives the same page key");
        assert_ne!(a.page_key(), bytes);
        assert_ne!(a.page_key(), Kek::from_bytes([8u8; KEK_LEN]).unwrap().page_key());
    }

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn kek(fill: u8) -> Kek {
        Kek::from_bytes([fill; KEK_LEN]).unwrap()
    }

    fn counting() -> [u8; KEK_LEN] {
        std::array::from_fn(|i| u8::try_from(i).unwrap())
    }

    #[test]
    fn every_accepted_text_form_is_the_same_key() {
        let id = Kek::from_bytes(counting()).unwrap().id();
        let standard = base64::engine::general_purpose::STANDARD.encode(counting());
        let url = URL_SAFE_NO_PAD.encode([0xfb; KEK_LEN]);
        assert_eq!(standard.len(), 44);
        for text in [
            HEX.to_owned(),
            HEX.to_uppercase(),
            format!("  {HEX}\n"),
            standard.clone(),
            standard.trim_end_matches('=').to_owned(),
            format!("{standard}\r\n"),
        ] {
            assert_eq!(Kek::parse(&text).unwrap().id(), id, "{text:?}");
        }
        // base64url (with `-` and `_`), padded or not.
        assert!(url.contains('-') || url.contains('_'), "{url}");
        let url_id = Kek::from_bytes([0xfb; KEK_LEN]).unwrap().id();
        assert_eq!(Kek::parse(&url).unwrap().id(), url_id);
        assert_eq!(Kek::parse(&format!("{url}=")).unwrap().id(), url_id);
    }

    #[test]
    fn other_text_is_refused_without_echoing_it() {
        let mixed = format!("{}-+", &URL_SAFE_NO_PAD.encode([0; KEK_LEN])[..41]);
        for text in [
            "",
            "secret",
            &HEX[..62],
            &format!("{HEX}00"),
            &HEX.replace('0', "g"),
            &format!("{} {}", &HEX[..32], &HEX[32..]),
            // 24 bytes in base64, and 33 bytes.
            &URL_SAFE_NO_PAD.encode([1; 24]),
            &URL_SAFE_NO_PAD.encode([1; 33]),
            &mixed,
            "é".repeat(32).as_str(),
        ] {
            let err = Kek::parse(text).unwrap_err();
            let shown = err.to_string();
            assert!(matches!(err, KekError::Malformed { .. }), "{text:?}");
            assert!(text.trim().is_empty() || !shown.contains(text.trim()), "{shown}");
        }
    }

    #[test]
    fn debug_and_id_show_a_fingerprint_not_the_key() {
        let k = Kek::parse(HEX).unwrap();
        let shown = format!("{k:?}");
        assert_eq!(shown, format!("Kek({:?})", k.id()));
        assert_eq!(k.id().len(), 16);
        assert!(!shown.contains("0001020304"), "{shown}");
        assert_ne!(kek(1).id(), kek(2).id());
    }

    #[test]
    fn sealed_keys_open_only_for_their_record_under_their_kek() {
        let secret = b"a PKCS#8 private key, in the clear".to_vec();
        let k = kek(7);
        let sealed = k.seal("acme", "kid-1", SigningAlg::ES256, &secret).unwrap();
        assert_eq!(sealed.len(), HEADER_LEN + NONCE_LEN + secret.len() + TAG_LEN);
        assert!(!sealed.windows(8).any(|w| secret.windows(8).any(|s| s == w)), "no plaintext run");
        assert_eq!(k.open("acme", "kid-1", SigningAlg::ES256, &sealed).unwrap(), secret);
        // Two seals of one key differ: a fresh nonce each time.
        assert_ne!(k.seal("acme", "kid-1", SigningAlg::ES256, &secret).unwrap(), sealed);

        let moved = |r: Result<Vec<u8>, SignError>| matches!(r, Err(SignError::BadKey { .. }));
        assert!(moved(k.open("other", "kid-1", SigningAlg::ES256, &sealed)), "another tenant");
        assert!(moved(k.open("acme", "kid-2", SigningAlg::ES256, &sealed)), "another kid");
        assert!(moved(k.open("acme", "kid-1", SigningAlg::ES384, &sealed)), "another algorithm");
        // Length prefixes: moving a character from the tenant to the kid changes the binding.
        assert!(moved(k.open("acm", "ekid-1", SigningAlg::ES256, &sealed)));

        assert_eq!(
            kek(8).open("acme", "kid-1", SigningAlg::ES256, &sealed),
            Err(SignError::Sealed { kid: "kid-1".into() })
        );
    }

    #[test]
    fn every_damage_to_an_envelope_is_an_error_not_a_panic() {
        let k = kek(7);
        let sealed = k.seal("acme", "kid-1", SigningAlg::ES256, b"pkcs8").unwrap();
        for n in 0..sealed.len() {
            assert!(k.open("acme", "kid-1", SigningAlg::ES256, &sealed[..n]).is_err(), "cut at {n}");
        }
        for i in 0..sealed.len() {
            let mut flipped = sealed.clone();
            flipped[i] ^= 0x01;
            let err = k.open("acme", "kid-1", SigningAlg::ES256, &flipped).unwrap_err();
            // A flip in the KEK id looks like another KEK; anywhere else, like damage.
            let in_id = (1..HEADER_LEN).contains(&i);
            assert_eq!(matches!(err, SignError::Sealed { .. }), in_id, "byte {i}: {err:?}");
        }
    }
}

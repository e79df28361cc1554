//! Values the server seals before the store keeps them or a browser carries them (an identity
//! provider's client secret, a tenant's shared key for encrypted access tokens, a pending
//! federated sign-in): AES-256-GCM under a key derived from the page key
//! (`web::PageKey::derive`, which on a shared store is derived from the key-encryption key, so
//! every node seals and opens alike and the database alone opens nothing), with a nonce drawn
//! by aws-lc and associated data that binds each value to the record it belongs to: a sealed
//! value moved to another record, or opened under another key, does not open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};

/// Bytes a sealed value adds to its plaintext: the nonce and the tag.
pub const OVERHEAD: usize = NONCE_LEN + 16;

/// Why a sealed value could not be made or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// aws-lc refused the key or to seal.
    #[error("sealing failed")]
    Seal,
    /// The value was damaged, sealed for another record, or under another key.
    #[error("the sealed value does not open: damaged, moved, or sealed under another key")]
    Open,
}

/// One sealing key.
pub struct SealingKey(RandomizedNonceKey);

impl SealingKey {
    /// The key with these bytes (derived for one purpose, never shared between two).
    pub fn new(bytes: &[u8; 32]) -> Result<Self, SealError> {
        RandomizedNonceKey::new(&AES_256_GCM, bytes).map(Self).map_err(|_| SealError::Seal)
    }

    /// `nonce | ciphertext | tag` of `plain`, bound to the record named by `binding`.
    pub fn seal(&self, binding: &[&[u8]], plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut in_out = plain.to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(aad(binding)), &mut in_out)
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN + in_out.len());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// The plaintext `sealed` holds, if it was sealed under this key for the same `binding`.
    pub fn open(&self, binding: &[&[u8]], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < OVERHEAD {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut in_out = ciphertext.to_vec();
        let len = self
            .0
            .open_in_place(nonce, Aad::from(aad(binding)), &mut in_out)
            .map_err(|_| SealError::Open)?
            .len();
        in_out.truncate(len);
        Ok(in_out)
    }
}

/// The associated data: each part preceded by its length, so no two lists give one text.
fn aad(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_only_under_its_key_for_its_record() {
        let key = SealingKey::new(&[1; 32]).expect("key");
        let sealed = key.seal(&[b"acme", b"idp1"], b"s3cret").expect("sealed");
        assert_eq!(sealed.len(), 6 + OVERHEAD);
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(key.open(&[b"acme", b"idp1"], &sealed).expect("opens"), b"s3cret");
        assert!(key.open(&[b"acme", b"idp2"], &sealed).is_err(), "another record");
        assert!(key.open(&[b"acmeidp1"], &sealed).is_err(), "the parts are delimited");
        let other = SealingKey::new(&[2; 32]).expect("key");
        assert!(other.open(&[b"acme", b"idp1"], &sealed).is_err(), "another key");
        let mut damaged = sealed;
        damaged[20] ^= 1;
        assert!(key.open(&[b"acme", b"idp1"], &damaged).is_err(), "damaged");
        assert!(key.open(&[b"acme", b"idp1"], b"short").is_err());
    }
}

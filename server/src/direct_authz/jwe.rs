//! JWE compact serialization (RFC 7516 7.1) of a signed JWT, for the direct authorisation
//! API's encrypted access tokens: key management `dir` (RFC 7518 4.5, the tenant's shared
//! 256-bit key is the content-encryption key, so the encrypted-key part is empty) and content
//! encryption `A256GCM` (RFC 7518 5.3: 96-bit random IV, 128-bit tag). The protected header
//! says `cty: "JWT"` (RFC 7519 5.2: a nested JWT), and its base64url text, as ASCII, is the
//! additional authenticated data (RFC 7516 5.1 step 14).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The protected header of every token encrypted here.
const HEADER: &str = r#"{"alg":"dir","enc":"A256GCM","cty":"JWT"}"#;

/// Why a token could not be encrypted.
#[derive(Debug, thiserror::Error)]
pub enum JweError {
    /// The key is not a 256-bit AES key.
    #[error("the encryption key is not 32 bytes")]
    Key,
    /// No randomness for the IV.
    #[error("no randomness: {0}")]
    Random(String),
    /// The AEAD refused (never with a valid key and IV).
    #[error("encryption failed")]
    Seal,
}

/// Encrypts `jws` (the signed JWT) under `key`, with a fresh random IV.
pub fn encrypt(key: &[u8], jws: &str) -> Result<String, JweError> {
    let iv = crate::util::random::<12>().map_err(|e| JweError::Random(e.to_string()))?;
    encrypt_with_iv(key, jws, iv)
}

fn encrypt_with_iv(key: &[u8], jws: &str, iv: [u8; 12]) -> Result<String, JweError> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| JweError::Key)?);
    let header = URL_SAFE_NO_PAD.encode(HEADER);
    let mut in_out = jws.as_bytes().to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| JweError::Seal)?;
    // header . (empty encrypted key: `dir`) . iv . ciphertext . tag
    let mut out = header;
    out.push_str("..");
    URL_SAFE_NO_PAD.encode_string(iv, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&in_out, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decrypts as an independent recipient would, from the five parts.
    fn decrypt(key: &[u8], jwe: &str) -> Option<String> {
        let parts: Vec<&str> = jwe.split('.').collect();
        let [header, ek, iv, ct, tag] = parts.as_slice() else { return None };
        assert!(ek.is_empty(), "dir has no encrypted key");
        let iv: [u8; 12] = URL_SAFE_NO_PAD.decode(iv).ok()?.try_into().ok()?;
        let mut data = URL_SAFE_NO_PAD.decode(ct).ok()?;
        data.extend(URL_SAFE_NO_PAD.decode(tag).ok()?);
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
        let plain = key
            .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(header.as_bytes()), &mut data)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }

    #[test]
    fn round_trips_and_binds_the_header() {
        let key = [7u8; 32];
        let jwe = encrypt_with_iv(&key, "a.b.c", [1; 12]).expect("encrypts");
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(jwe.split('.').next().expect("header")).expect("b64"),
        )
        .expect("json");
        assert_eq!(header, serde_json::json!({"alg": "dir", "enc": "A256GCM", "cty": "JWT"}));
        assert_eq!(decrypt(&key, &jwe).as_deref(), Some("a.b.c"));
        assert_eq!(decrypt(&[8u8; 32], &jwe), None, "another key fails");
        let tampered = jwe.replacen("eyJ", "eyK", 1);
        assert_eq!(decrypt(&key, &tampered), None, "the header is authenticated");
        assert!(matches!(encrypt(&[0u8; 16], "x"), Err(JweError::Key)));
    }
}

//! JWE compact serialization (RFC 7516 7.1) of a signed JWT, for the direct authorisation
//! API's encrypted access tokens, under the tenant's shared 256-bit key. Content encryption is
//! `A256GCM` (RFC 7518 5.3: 96-bit random IV, 128-bit tag); key management is either `dir`
//! (RFC 7518 4.5: the shared key is the content-encryption key, the encrypted-key part is
//! empty) or `A256GCMKW` (RFC 7518 4.7: a fresh content-encryption key per token, wrapped with
//! the shared key by AES-GCM, whose IV and tag travel as the header's `iv` and `tag`). The
//! protected header says `cty: "JWT"` (RFC 7519 5.2: a nested JWT), and its base64url text, as
//! ASCII, is the content's additional authenticated data (RFC 7516 5.1 step 14).
//!
//! [`decrypt`] opens what [`encrypt`] made, so the tenant's own endpoints (userinfo,
//! introspection, revocation) accept its encrypted tokens.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tessera_core::model::JweKeyManagement;

/// Bytes of an AES-GCM tag.
const TAG_LEN: usize = 16;

/// Why a token could not be encrypted.
#[derive(Debug, thiserror::Error)]
pub enum JweError {
    /// No randomness for an IV or a content-encryption key.
    #[error("no randomness: {0}")]
    Random(String),
    /// The AEAD refused (never with a 256-bit key and a 96-bit IV).
    #[error("encryption failed")]
    Seal,
}

/// The randomness one encryption draws.
struct Draws {
    /// The content's IV.
    iv: [u8; 12],
    /// For `A256GCMKW`: the content-encryption key and the IV that wraps it.
    wrap: Option<([u8; 32], [u8; 12])>,
}

/// Encrypts `jws` (the signed JWT) under the shared `key` with key management `alg`.
pub fn encrypt(alg: JweKeyManagement, key: &[u8; 32], jws: &str) -> Result<String, JweError> {
    let random = |e: getrandom::Error| JweError::Random(e.to_string());
    let iv = crate::util::random::<12>().map_err(random)?;
    let wrap = match alg {
        JweKeyManagement::Dir => None,
        JweKeyManagement::A256GcmKw => {
            Some((crate::util::random::<32>().map_err(random)?, crate::util::random::<12>().map_err(random)?))
        }
    };
    encrypt_with(key, jws, Draws { iv, wrap })
}

fn encrypt_with(key: &[u8; 32], jws: &str, draws: Draws) -> Result<String, JweError> {
    let (header, encrypted_key, cek) = match draws.wrap {
        None => (r#"{"alg":"dir","enc":"A256GCM","cty":"JWT"}"#.to_owned(), Vec::new(), *key),
        Some((cek, wrap_iv)) => {
            let mut wrapped = cek.to_vec();
            let tag = seal(key, wrap_iv, b"", &mut wrapped)?;
            let header = serde_json::json!({
                "alg": "A256GCMKW",
                "enc": "A256GCM",
                "cty": "JWT",
                "iv": URL_SAFE_NO_PAD.encode(wrap_iv),
                "tag": URL_SAFE_NO_PAD.encode(tag),
            });
            (header.to_string(), wrapped, cek)
        }
    };
    let header = URL_SAFE_NO_PAD.encode(header);
    let mut content = jws.as_bytes().to_vec();
    let tag = seal(&cek, draws.iv, header.as_bytes(), &mut content)?;
    // header . encrypted key (empty for `dir`) . iv . ciphertext . tag
    let mut out = header;
    for part in [&encrypted_key[..], &draws.iv, &content, &tag] {
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(part, &mut out);
    }
    Ok(out)
}

/// AES-256-GCM in place; returns the tag.
fn seal(key: &[u8; 32], iv: [u8; 12], aad: &[u8], in_out: &mut [u8]) -> Result<[u8; TAG_LEN], JweError> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| JweError::Seal)?);
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(aad), in_out)
        .map_err(|_| JweError::Seal)?;
    tag.as_ref().try_into().map_err(|_| JweError::Seal)
}

/// AES-256-GCM open of `ciphertext | tag`; `None` unless it authenticates.
fn open(key: &[u8; 32], iv: &[u8], aad: &[u8], mut data: Vec<u8>) -> Option<Vec<u8>> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let nonce = Nonce::try_assume_unique_for_key(iv).ok()?;
    let len = key.open_in_place(nonce, Aad::from(aad), &mut data).ok()?.len();
    data.truncate(len);
    Some(data)
}

/// Whether `token` has the shape of a compact JWE (five base64url parts).
pub fn looks_like_jwe(token: &str) -> bool {
    token.len() <= tessera_core::jwt::MAX_TOKEN_BYTES * 2
        && token.split('.').count() == 5
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    enc: String,
    iv: Option<String>,
    tag: Option<String>,
}

/// The signed JWT inside `jwe`, if it is a token [`encrypt`] made under `key` (either key
/// management); `None` for anything else: malformed, another algorithm, another key, altered.
pub fn decrypt(key: &[u8; 32], jwe: &str) -> Option<String> {
    if !looks_like_jwe(jwe) {
        return None;
    }
    let mut parts = jwe.split('.');
    let (header_b64, ek, iv, ciphertext, tag) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok();
    let header: Header = serde_json::from_slice(&decode(header_b64)?).ok()?;
    if header.enc != "A256GCM" {
        return None;
    }
    let cek: [u8; 32] = match header.alg.as_str() {
        "dir" if ek.is_empty() => *key,
        "A256GCMKW" => {
            let mut wrapped = decode(ek)?;
            wrapped.extend(decode(header.tag.as_deref()?)?);
            open(key, &decode(header.iv.as_deref()?)?, b"", wrapped)?.try_into().ok()?
        }
        _ => return None,
    };
    let mut data = decode(ciphertext)?;
    data.extend(decode(tag)?);
    String::from_utf8(open(&cek, &decode(iv)?, header_b64.as_bytes(), data)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(jwe: &str) -> serde_json::Value {
        let part = jwe.split('.').next().expect("header");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
    }

    #[test]
    fn dir_round_trips_and_binds_the_header() {
        let key = [7u8; 32];
        let jwe = encrypt_with(&key, "a.b.c", Draws { iv: [1; 12], wrap: None }).expect("encrypts");
        assert_eq!(header_of(&jwe), serde_json::json!({"alg": "dir", "enc": "A256GCM", "cty": "JWT"}));
        assert_eq!(jwe.split('.').nth(1), Some(""), "dir has no encrypted key");
        assert_eq!(decrypt(&key, &jwe).as_deref(), Some("a.b.c"));
        assert_eq!(decrypt(&[8u8; 32], &jwe), None, "another key fails");
        let tampered = jwe.replacen("eyJ", "eyK", 1);
        assert_eq!(decrypt(&key, &tampered), None, "the header is authenticated");
    }

    #[test]
    fn a256gcmkw_wraps_a_fresh_key_per_token() {
        let key = [7u8; 32];
        let jwe = encrypt(JweKeyManagement::A256GcmKw, &key, "a.b.c").expect("encrypts");
        let header = header_of(&jwe);
        assert_eq!((header["alg"].as_str(), header["enc"].as_str()), (Some("A256GCMKW"), Some("A256GCM")));
        let iv = URL_SAFE_NO_PAD.decode(header["iv"].as_str().expect("iv")).expect("b64");
        let tag = URL_SAFE_NO_PAD.decode(header["tag"].as_str().expect("tag")).expect("b64");
        assert_eq!((iv.len(), tag.len()), (12, 16));
        let ek = URL_SAFE_NO_PAD.decode(jwe.split('.').nth(1).expect("ek")).expect("b64");
        assert_eq!(ek.len(), 32, "the wrapped content-encryption key");
        assert_eq!(decrypt(&key, &jwe).as_deref(), Some("a.b.c"));
        assert_eq!(decrypt(&[8u8; 32], &jwe), None, "another key cannot unwrap");
        let again = encrypt(JweKeyManagement::A256GcmKw, &key, "a.b.c").expect("encrypts");
        assert_ne!(again.split('.').nth(1), jwe.split('.').nth(1), "a fresh key each time");
        // The wrapped key is authenticated by its tag.
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        let mut ek = ek;
        ek[0] ^= 1;
        parts[1] = URL_SAFE_NO_PAD.encode(ek);
        assert_eq!(decrypt(&key, &parts.join(".")), None);
    }

    #[test]
    fn what_is_not_ours_does_not_decrypt() {
        let key = [7u8; 32];
        let jwe = encrypt(JweKeyManagement::Dir, &key, "a.b.c").expect("encrypts");
        for bad in ["a.b.c", "a.b.c.d.e", "", "....", &format!("{jwe}.x")] {
            assert_eq!(decrypt(&key, bad), None, "{bad}");
        }
        // Another content encryption, or key management, is refused before any decryption.
        let other = |header: &str| {
            let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
            parts[0] = URL_SAFE_NO_PAD.encode(header);
            parts.join(".")
        };
        assert_eq!(decrypt(&key, &other(r#"{"alg":"dir","enc":"A128GCM"}"#)), None);
        assert_eq!(decrypt(&key, &other(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#)), None);
        assert!(looks_like_jwe(&jwe) && !looks_like_jwe("a.b.c"));
    }
}

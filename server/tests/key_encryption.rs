//! Software signing keys sealed under a key-encryption key, on the real binary: a server given
//! `TESSERA_KEY_ENCRYPTION_KEY` issues tokens that verify through its JWKS, keeps no plain
//! PKCS#8 in its data dir, and after a restart with the same key (from the environment or from
//! `--key-encryption-key-file`) signs with the same kid. Restarted without the key, or with
//! another, it refuses to start, naming the key it cannot open, and never makes a new one.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{Backend, Options, TestServer, verify_jwt};
use serde_json::Value;

const KEK: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// `KEK` in base64: the same key.
const KEK_BASE64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const OTHER_KEK: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

/// The DER of the algorithm identifier every P-384 PKCS#8 starts with (id-ecPublicKey,
/// secp384r1): found in a data dir only if some ES384 private key is stored in the clear.
const P384_PKCS8_ALGORITHM: [u8; 16] =
    [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

fn kek_env(kek: &str) -> Vec<(String, String)> {
    vec![("TESSERA_KEY_ENCRYPTION_KEY".into(), kek.into())]
}

/// Whether any file under `dir` holds `needle`.
fn found_in(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found_in(&path, needle)
        } else {
            std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        }
    })
}

fn kid_of(token: &str) -> String {
    common::jwt_header(token)["kid"].as_str().unwrap().to_owned()
}

/// A tenant's token, its kid, and a check that it verifies through the JWKS.
async fn token_that_verifies(server: &TestServer, id: &str, secret: &str) -> String {
    let token = server.cc_token("acme", id, secret).await;
    let jwks = server.jwks("acme").await;
    jwks.expect_status(200, "jwks");
    common::assert_no_private_material(&jwks.json, "the JWKS");
    verify_jwt(&token, &jwks.json, "ES384", &server.issuer("acme"));
    token
}

#[tokio::test]
async fn sealed_keys_survive_a_restart_with_their_kek_and_refuse_to_start_without_it() {
    // The control: without a KEK the data dir holds the PKCS#8 in the clear, so the search
    // below would find one.
    let plain = TestServer::start(Backend::Software).await;
    plain.create_tenant("acme", Value::Null).await;
    let (id, secret) = plain.cc_client("acme", "read").await;
    token_that_verifies(&plain, &id, &secret).await;
    assert!(found_in(&plain.data_dir(), &P384_PKCS8_ALGORITHM), "the control finds a plain key");
    drop(plain);

    let mut options = Options::new(Backend::Software);
    options.env = kek_env(KEK);
    let mut server = TestServer::start_with(options).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.cc_client("acme", "read").await;
    let first = token_that_verifies(&server, &id, &secret).await;
    let kid = kid_of(&first);
    let keys = server.list_keys("acme").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["backend"], "software");
    assert!(server.terminate().await.success());
    assert!(!found_in(&server.data_dir(), &P384_PKCS8_ALGORITHM), "a private key is stored in the clear");

    // The same KEK, from a file this time, in base64: the same key signs.
    let file = common::path_in(&server, "kek");
    std::fs::write(&file, format!("{KEK_BASE64}\n")).unwrap();
    server.options_mut().env = Vec::new();
    server.options_mut().extra_args = vec!["--key-encryption-key-file".into(), file.display().to_string()];
    server.restart().await;
    let again = token_that_verifies(&server, &id, &secret).await;
    assert_eq!(kid_of(&again), kid, "the stored key signs after the restart");
    let jwks = server.jwks("acme").await;
    verify_jwt(&first, &jwks.json, "ES384", &server.issuer("acme"));
    assert!(server.is_active("acme", &id, &secret, &first).await);

    // Without a KEK, or with another one: no start, and the key that does not open is named.
    server.options_mut().extra_args = Vec::new();
    for env in [Vec::new(), kek_env(OTHER_KEK)] {
        server.options_mut().env = env;
        let failure = server.restart_failure().await;
        assert_eq!(failure.status.unwrap().code(), Some(1), "{}", failure.stderr);
        assert!(
            failure.stderr.contains("sealed under a key-encryption key this node was not given"),
            "{}",
            failure.stderr
        );
        assert!(failure.stderr.contains(&format!("key {kid} is sealed")), "{}", failure.stderr);
        assert!(!failure.stderr.contains(OTHER_KEK), "the key is never shown: {}", failure.stderr);
    }

    // A KEK that is not 32 bytes is a configuration error that does not show it.
    server.options_mut().env = kek_env(&KEK[..60]);
    let failure = server.restart_failure().await;
    assert_eq!(failure.status.unwrap().code(), Some(2), "{}", failure.stderr);
    assert!(failure.stderr.contains("key-encryption key"), "{}", failure.stderr);
    assert!(!failure.stderr.contains(&KEK[..60]), "the key is never shown: {}", failure.stderr);

    // Nothing was replaced meanwhile: with the KEK, the same key still signs.
    server.options_mut().env = kek_env(KEK);
    server.restart().await;
    assert_eq!(kid_of(&token_that_verifies(&server, &id, &secret).await), kid);
    assert_eq!(server.list_keys("acme").await.len(), 1);
}

/// Keys stored in the clear before the nodes were given a KEK keep signing; keys made from
/// then on (a rotation) are sealed, and the plain one leaves once retired and expired.
#[tokio::test]
async fn plain_keys_keep_working_once_a_kek_is_given_and_new_keys_are_sealed() {
    let mut server = TestServer::start(Backend::Software).await;
    server.create_tenant("acme", Value::Null).await;
    let (id, secret) = server.cc_client("acme", "read").await;
    let plain_kid = kid_of(&token_that_verifies(&server, &id, &secret).await);

    server.options_mut().env = kek_env(KEK);
    server.restart().await;
    assert_eq!(kid_of(&token_that_verifies(&server, &id, &secret).await), plain_kid);
    server.rotate_keys("acme").await;
    let sealed_kid = kid_of(&token_that_verifies(&server, &id, &secret).await);
    assert_ne!(sealed_kid, plain_kid);

    // The new key needs the KEK: without it the server no longer starts.
    server.options_mut().env = Vec::new();
    let failure = server.restart_failure().await;
    assert!(failure.stderr.contains(&format!("key {sealed_kid} is sealed")), "{}", failure.stderr);
}

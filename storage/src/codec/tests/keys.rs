//! The codec's tests of signing-key records: the golden bytes of version 1 (plain PKCS#8 or an
//! HSM handle) and of version 2 (which may hold PKCS#8 sealed under a key-encryption key), and
//! the guard between them.

use rkyv::rancor;
use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg};

use super::super::legacy_keys::{KeyMaterialV1, KeyRecordV1};
use super::*;

const KEY_KEY: &[u8] = b"acme\0kid-1";
const KEY_SHOWN: &str = "keys:acme/kid-1";

fn key(material: KeyMaterial) -> KeyRecord {
    KeyRecord {
        tenant: "acme".into(),
        kid: "kid-1".into(),
        alg: SigningAlg::ES256,
        public_jwk: r#"{"kid":"kid-1"}"#.into(),
        material,
        created_at: 1_700_000_000,
        retired_at: Some(1_700_000_100),
        expires_at: None,
    }
}

/// Stand-in bytes: the codec keeps material as it is given, so no real key is needed.
fn plain() -> KeyMaterial {
    KeyMaterial::Software { pkcs8: vec![0x30, 0x81, 0x87, 0x02, 0x01, 0x00] }
}

fn sealed() -> KeyMaterial {
    KeyMaterial::SealedSoftware { sealed: vec![1, 2, 3, 4, 5, 6, 7, 8, 9] }
}

/// The version-1 bytes of `key(plain())`, encoded through the frozen [`KeyRecordV1`] layout.
/// Never edit it; see [`GOLDEN_TENANT_V1`] for what a failure means.
const GOLDEN_KEY_V1: &str = "017b226b6964223a226b69642d31227d30818702010000000061636d65ffffffff6b69642d31ffffff000000008f0000\
00d4ffffff00000000d7ffffff0600000000f1536500000000010000000000000064f153650000000000000000000000\
000000000000000000";

/// The version-2 bytes of `key(sealed())`. Never edit it.
const GOLDEN_KEY_V2: &str = "027b226b6964223a226b69642d31227d01020304050607080961636d65ffffffff6b69642d31ffffff000000008f0000\
00d4ffffff02000000d7ffffff0900000000f1536500000000010000000000000064f153650000000000000000000000\
000000000000000000";

#[test]
fn version_1_keys_decode_as_they_were() {
    let old = KeyRecordV1 {
        tenant: "acme".into(),
        kid: "kid-1".into(),
        alg: SigningAlg::ES256,
        public_jwk: r#"{"kid":"kid-1"}"#.into(),
        material: KeyMaterialV1::Software { pkcs8: vec![0x30, 0x81, 0x87, 0x02, 0x01, 0x00] },
        created_at: 1_700_000_000,
        retired_at: Some(1_700_000_100),
        expires_at: None,
    };
    let mut v1 = vec![FORMAT_V1];
    v1.extend_from_slice(&rkyv::to_bytes::<rancor::Error>(&old).unwrap());
    assert_eq!(hex(&v1), GOLDEN_KEY_V1);
    assert_eq!(decode::<KeyRecord>(KEY_KEY, &v1).unwrap(), key(plain()));
}

#[test]
fn keys_are_written_as_version_2_and_every_material_round_trips() {
    assert_eq!(KeyRecord::FORMAT, FORMAT_V2);
    assert_golden(KEY_KEY, &key(sealed()), GOLDEN_KEY_V2);
    for material in [plain(), sealed(), KeyMaterial::Pkcs11 { id: vec![9; 16] }] {
        round_trips_and_resists_garbage(KEY_KEY, &key(material));
    }
    assert!(matches!(
        decode::<KeyRecord>(b"acme\0kid-2", &unhex(GOLDEN_KEY_V2)),
        Err(StoreError::Corrupt { .. })
    ));
}

/// Version 2 only added a kind of material, so a version-1 record reads the same through
/// either layout; a sealed key is what version 1 cannot hold, and the version byte is what
/// keeps an older binary from ever being handed one.
#[test]
fn key_versions_are_guarded() {
    let (v1, v2) = (unhex(GOLDEN_KEY_V1), unhex(GOLDEN_KEY_V2));
    for version in [0, 3, 0xff] {
        for golden in [&v1, &v2] {
            let mut bytes = golden.clone();
            bytes[0] = version;
            let detail = corrupt_detail::<KeyRecord>(KEY_KEY, KEY_SHOWN, &bytes);
            assert!(detail.contains("unknown format version"), "{version}: {detail}");
        }
    }
    let mut sealed_as_v1 = v2.clone();
    sealed_as_v1[0] = FORMAT_V1;
    corrupt_detail::<KeyRecord>(KEY_KEY, KEY_SHOWN, &sealed_as_v1);
    let mut plain_as_v2 = v1.clone();
    plain_as_v2[0] = FORMAT_V2;
    assert_eq!(decode::<KeyRecord>(KEY_KEY, &plain_as_v2).unwrap(), key(plain()));
    assert_damage_is_caught::<KeyRecord>(KEY_KEY, &v1);
}

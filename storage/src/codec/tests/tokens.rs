//! The codec's tests of opaque access tokens: the golden bytes of version 1 (before tokens
//! carried roles and permissions) and of version 2, and the guard between them.

use tessera_core::model::OpaqueToken;

use super::super::legacy::OpaqueTokenV1;
use super::*;

/// `acme \0 [7; 32]`.
pub(super) fn token_key() -> Vec<u8> {
    let mut key = b"acme\0".to_vec();
    key.extend_from_slice(&[7; 32]);
    key
}

pub(super) const TOKEN_SHOWN: &str = "opaque_tokens:acme/%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07";

fn token(roles: &[&str], permissions: &[&str]) -> OpaqueToken {
    OpaqueToken {
        tenant: "acme".into(),
        client_id: "web".into(),
        sub: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        scope: "read write".into(),
        jti: "jti-1".into(),
        iat: 1_700_000_000,
        exp: 1_700_003_600,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        aud: None,
        extra_info: None,
        validator: None,
        audience: Vec::new(),
        act: None,
        dat: None,
        cls: Vec::new(),
        uip: None,
    }
}

/// The version-1 bytes of `token(&[], &[])`, encoded through the frozen [`OpaqueTokenV1`]
/// layout, which is field for field the version-1 `OpaqueToken`. Never edit it.
pub(super) const GOLDEN_TOKEN_V1: &str = "01414141414141414141414141414141414141414141417265616420777269746561636d65ffffffff776562ffffffff\
ff96000000d0ffffff8a000000deffffff6a74692d31ffffff00f153650000000010ff536500000000";

/// The version-2 bytes of `token(&["editor"], &["docs:read", "docs:write"])`. Never edit it.
pub(super) const GOLDEN_TOKEN_V2: &str = "024141414141414141414141414141414141414141414172656164207772697465656469746f72ffff646f63733a7265\
6164646f63733a77726974650089000000ecffffff8a000000edffffff0000000061636d65ffffffff776562ffffffff\
ff96000000a0ffffff8a000000aeffffff6a74692d31ffffff00f153650000000010ff53650000000098ffffff010000\
00acffffff02000000";

#[test]
fn version_1_tokens_decode_without_roles() {
    let old = OpaqueTokenV1 {
        tenant: "acme".into(),
        client_id: "web".into(),
        sub: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        scope: "read write".into(),
        jti: "jti-1".into(),
        iat: 1_700_000_000,
        exp: 1_700_003_600,
    };
    let mut v1 = vec![FORMAT_V1];
    v1.extend_from_slice(&rkyv::to_bytes::<rancor::Error>(&old).unwrap());
    assert_eq!(hex(&v1), GOLDEN_TOKEN_V1);
    assert_eq!(decode::<OpaqueToken>(&token_key(), &v1).unwrap(), token(&[], &[]));
}

#[test]
fn version_2_tokens_keep_their_roles_and_are_for_the_issuer() {
    let with_roles = token(&["editor"], &["docs:read", "docs:write"]);
    assert_eq!(decode::<OpaqueToken>(&token_key(), &unhex(GOLDEN_TOKEN_V2)).unwrap(), with_roles);
    round_trips_and_resists_garbage(&token_key(), &with_roles);
}

/// The version-3 bytes of `token_for_api()`; see [`GOLDEN_TENANT_V1`] for what a failure
/// means.
pub(super) const GOLDEN_TOKEN_V3: &str = "034141414141414141414141414141414141414141414172656164207772697465656469746f72ffff646f63733a7265\
616400000089000000f4ffffff68747470733a2f2f6f72646572732e6578616d706c652f6170697b2274696572223a22\
676f6c64227d00000061636d65ffffffff776562ffffffffff9600000088ffffff8a00000096ffffff6a74692d31ffff\
ff00f153650000000010ff53650000000080ffffff010000008cffffff01000000010000009a00000088ffffff010000\
008f00000096ffffff01000000762d31ffffffffff00000000";

/// A token for an API, with a validator's `extraInfo`.
pub(super) fn token_for_api() -> OpaqueToken {
    OpaqueToken {
        aud: Some("https://orders.example/api".into()),
        extra_info: Some(r#"{"tier":"gold"}"#.into()),
        validator: Some("v-1".into()),
        ..token(&["editor"], &["docs:read"])
    }
}

#[test]
fn version_3_tokens_keep_their_audience_and_extra_info() {
    assert_eq!(decode::<OpaqueToken>(&token_key(), &unhex(GOLDEN_TOKEN_V3)).unwrap(), token_for_api());
    round_trips_and_resists_garbage(&token_key(), &token_for_api());
}

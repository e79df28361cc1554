//! The codec's tests of opaque access tokens: the golden bytes of version 1 (before tokens
//! carried roles and permissions) and of version 2, and the guard between them.

use tessera_core::model::OpaqueToken;

use super::super::legacy::OpaqueTokenV1;
use super::*;

/// `acme \0 [7; 32]`.
fn token_key() -> Vec<u8> {
    let mut key = b"acme\0".to_vec();
    key.extend_from_slice(&[7; 32]);
    key
}

const TOKEN_SHOWN: &str = "opaque_tokens:acme/%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07%07";

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
    }
}

/// The version-1 bytes of `token(&[], &[])`, encoded through the frozen [`OpaqueTokenV1`]
/// layout, which is field for field the version-1 `OpaqueToken`. Never edit it.
const GOLDEN_TOKEN_V1: &str = "01414141414141414141414141414141414141414141417265616420777269746561636d65ffffffff776562ffffffff\
ff96000000d0ffffff8a000000deffffff6a74692d31ffffff00f153650000000010ff536500000000";

/// The version-2 bytes of `token(&["editor"], &["docs:read", "docs:write"])`. Never edit it.
const GOLDEN_TOKEN_V2: &str = "024141414141414141414141414141414141414141414172656164207772697465656469746f72ffff646f63733a7265\
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
fn tokens_are_written_as_version_2_with_their_roles() {
    let with_roles = token(&["editor"], &["docs:read", "docs:write"]);
    assert_golden(&token_key(), &with_roles, GOLDEN_TOKEN_V2);
    round_trips_and_resists_garbage(&token_key(), &with_roles);
    let shown = TOKEN_SHOWN;
    versions_are_guarded::<OpaqueToken>(
        &token_key(),
        shown,
        &unhex(GOLDEN_TOKEN_V1),
        &unhex(GOLDEN_TOKEN_V2),
    );
}

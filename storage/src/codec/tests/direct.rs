//! The codec's tests of the format the direct authorisation API brought: tenants version 9
//! (its bearer token digest and encryption key) and opaque tokens version 4 (their audience,
//! impersonator and data), with the frozen version-7 and version-3 layouts read back unchanged.

use rkyv::rancor;

use super::super::legacy_direct::OpaqueTokenV3;
use super::idps::tenant_with_idps;
use super::tokens::{
    GOLDEN_TOKEN_V1, GOLDEN_TOKEN_V2, GOLDEN_TOKEN_V3, TOKEN_SHOWN, token_for_api, token_key,
};
use super::*;

/// The version-9 bytes of `tenant_with_direct_authz()`; see [`GOLDEN_TENANT_V1`] for what a
/// failure means.
const GOLDEN_TENANT_V9: &str = "0941636d6520436f72706f726174696f6e204c7464646f63732e7772697465646f63733a77726974658a000000ecffff\
ff8a000000eeffffff68747470733a2f2f6f72646572732e6578616d706c652f6170696f72646572733a726561640000\
008b000000f2ffffff6170692d31ffffff9a000000c8ffffff4f7264657273ffffe0ffffff0100000001010000010000\
00780000000000000000f15365000000004c4441502062726964676568747470733a2f2f6c6461702e6578616d706c65\
2f636865636b417574686f72697a6174696f6e00008d000000f1ffffff426561726572206b6170692d31ffffff000000\
00762d31ffffffffff8b000000a8ffffff9a000000abffffffd0070000c8ffffff01000000d0ffffff01000000000000\
0001f153650000000068747470733a2f2f706172746e65722e6578616d706c6568747470733a2f2f706172746e65722e\
6578616d706c652f6a776b732a40706172746e65722e6578616d706c6575726e3a696e6c696e657b226b657973223a5b\
5d7d0000000000000074692d31ffffffff506172746e6572ff9700000090ffffff010000009c0000009bffffff000000\
00000000000000000001000000910000009fffffff0100000074657373657261ff01000000706172746e6572ff000000\
0002f153650000000074692d32ffffffff496e6c696e65ffff8a00000074ffffff000000000000000000000000010000\
008b00000066ffffff000000000000000000000000000000000000000000000000000000000000000000000000000000\
0003f15365000000006964702d616161616161616161616161616161616161506172746e65722053534f68747470733a\
2f2f73736f2e706172746e65722e6578616d706c65090909090909090909090909090909090909090909090909090909\
0909090909090909090909090909090909090909096f70656e696420656d61696c6d61696cffffffff656d61696cffff\
ff706172746e65722e6578616d706c65008f000000f0ffffff68747470733a2f2f73736f2e706172746e65722e657861\
6d706c652f617574686f72697a6568747470733a2f2f73736f2e706172746e65722e6578616d706c652f746f6b656e68\
747470733a2f2f73736f2e706172746e65722e6578616d706c652f6a776b7368747470733a2f2f73736f2e706172746e\
65722e6578616d706c652f75736572696e666f00005253323536ffffff4553323536ffffff0000000096000000c0feff\
ff8b000000cefeffff9b000000d1feffff61636d65ffffffffdcfeffff300000008c00000004ffffff08ffffff010000\
00010000001cffffff0100000000000000a500000018ffffffa100000035ffffffa00000004effffff01000000a40000\
0062ffffff80ffffff020000000100000004f153650000000005f1536500000000070707070707070707070707070707\
070707070707070707070707070707070761636d65ffffffff94000000c8fbffff01000000e4fbffff01000000100e00\
00100e0000007512003c00000007000000010000007800000001000000000000000c0000000001000001000000000000\
000100000032000000640000000000000000f1536500000000d0fbffff0100000050fcffff01000000e0fcffff020000\
00d8feffff01000000010909090909090909090909090909090909090909090909090909090909090909000000010000\
0030ffffff20000000";

/// The version-4 bytes of `token_for_direct_authz()`.
const GOLDEN_TOKEN_V4: &str = "044141414141414141414141414141414141414141414172656164207772697465656469746f72ffff646f63733a7265\
616400000089000000f4ffffff68747470733a2f2f6f72646572732e6578616d706c652f6170697b2274696572223a22\
676f6c64227d00000072732d31ffffffff61636d65ffffffff776562ffffffffff9600000080ffffff8a0000008effff\
ff6a74692d31ffffff00f153650000000010ff53650000000078ffffff0100000084ffffff01000000010000009a0000\
0080ffffff010000008f0000008effffff01000000762d31ffffffffff8cffffff0100000001000000616c696365ffff\
ff010000007b226b223a317dff00000000";

/// `tenant_with_idps()` with a direct-authz token digest and encryption key.
fn tenant_with_direct_authz() -> Tenant {
    Tenant {
        direct_authz_token_digest: Some([9; 32]),
        direct_authz_encryption_key: Some(vec![7; 32]),
        ..tenant_with_idps()
    }
}

/// `token_for_api()` bound to one resource server, impersonated, with data.
fn token_for_direct_authz() -> OpaqueToken {
    OpaqueToken {
        audience: vec!["rs-1".into()],
        act: Some("alice".into()),
        dat: Some(r#"{"k":1}"#.into()),
        ..token_for_api()
    }
}

#[test]
fn tenants_are_written_as_version_9_with_their_direct_authz_credentials() {
    assert_eq!(Tenant::FORMAT, FORMAT_V9);
    assert_golden(b"acme", &tenant_with_direct_authz(), GOLDEN_TENANT_V9);
    round_trips_and_resists_garbage(b"acme", &tenant_with_direct_authz());
    let bad = Tenant { direct_authz_encryption_key: Some(vec![7; 16]), ..tenant_with_direct_authz() };
    assert!(encode(b"acme", &bad).is_err(), "a 128-bit key");
}

#[test]
fn tokens_are_written_as_version_4_with_their_audience_actor_and_data() {
    assert_eq!(OpaqueToken::FORMAT, FORMAT_V4);
    assert_golden(&token_key(), &token_for_direct_authz(), GOLDEN_TOKEN_V4);
    round_trips_and_resists_garbage(&token_key(), &token_for_direct_authz());
    let t = token_for_api();
    let old = OpaqueTokenV3 {
        tenant: t.tenant,
        client_id: t.client_id,
        sub: t.sub,
        scope: t.scope,
        jti: t.jti,
        iat: t.iat,
        exp: t.exp,
        roles: t.roles,
        permissions: t.permissions,
        aud: t.aud,
        extra_info: t.extra_info,
        validator: t.validator,
    };
    let v3 = unhex(GOLDEN_TOKEN_V3);
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v3[1..], "the frozen layout");
    every_version_is_guarded::<OpaqueToken>(
        &token_key(),
        TOKEN_SHOWN,
        &[&unhex(GOLDEN_TOKEN_V1), &unhex(GOLDEN_TOKEN_V2), &v3, &unhex(GOLDEN_TOKEN_V4)],
    );
}

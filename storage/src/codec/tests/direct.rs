//! The codec's tests of the format the direct authorisation API brought: tenants version 9
//! (its bearer token digest and bare encryption key) and opaque tokens version 4 (their
//! audience, impersonator and data), both now frozen layouts read back unchanged.

use rkyv::rancor;

use super::super::legacy_broker::{OpaqueTokenV4, TenantV9};
use super::super::legacy_direct::OpaqueTokenV3;
use super::idps::tenant_with_idps;
use super::issuers::settings_v6;
use super::tokens::{GOLDEN_TOKEN_V3, token_for_api, token_key};
use super::*;
use tessera_core::model::{JweKeyManagement, SharedAesKey};

/// The version-9 bytes of `tenant_with_direct_authz()`; see [`GOLDEN_TENANT_V1`] for what a
/// failure means.
pub(super) const GOLDEN_TENANT_V9: &str = "0941636d6520436f72706f726174696f6e204c7464646f63732e7772697465646f63733a77726974658a000000ecffff\
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
pub(super) const GOLDEN_TOKEN_V4: &str = "044141414141414141414141414141414141414141414172656164207772697465656469746f72ffff646f63733a7265\
616400000089000000f4ffffff68747470733a2f2f6f72646572732e6578616d706c652f6170697b2274696572223a22\
676f6c64227d00000072732d31ffffffff61636d65ffffffff776562ffffffffff9600000080ffffff8a0000008effff\
ff6a74692d31ffffff00f153650000000010ff53650000000078ffffff0100000084ffffff01000000010000009a0000\
0080ffffff010000008f0000008effffff01000000762d31ffffffffff8cffffff0100000001000000616c696365ffff\
ff010000007b226b223a317dff00000000";

/// `tenant_with_idps()` with a direct-authz token digest and an encryption key, as version 9
/// stored it (bare) and reads it back (unsealed, `dir`).
pub(super) fn tenant_with_direct_authz() -> Tenant {
    Tenant {
        direct_authz_token_digest: Some([9; 32]),
        direct_authz_encryption: Some(SharedAesKey {
            alg: JweKeyManagement::Dir,
            key: vec![7; 32],
            sealed: false,
        }),
        ..tenant_with_idps()
    }
}

/// `token_for_api()` bound to one resource server, impersonated, with data.
pub(super) fn token_for_direct_authz() -> OpaqueToken {
    OpaqueToken {
        audience: vec!["rs-1".into()],
        act: Some("alice".into()),
        dat: Some(r#"{"k":1}"#.into()),
        ..token_for_api()
    }
}

#[test]
fn version_9_tenants_keep_their_key_unsealed_through_their_frozen_layout() {
    let v9 = unhex(GOLDEN_TENANT_V9);
    assert_eq!(v9[0], FORMAT_V9);
    assert_eq!(decode::<Tenant>(b"acme", &v9).unwrap(), tenant_with_direct_authz());
    let t = tenant_with_direct_authz();
    let old = TenantV9 {
        id: t.id,
        display_name: t.display_name,
        settings: settings_v6(t.settings),
        created_at: t.created_at,
        apis: t.apis,
        identity_validators: t.identity_validators,
        trusted_issuers: t.trusted_issuers,
        idps: t.idps,
        direct_authz_token_digest: t.direct_authz_token_digest,
        direct_authz_encryption_key: t.direct_authz_encryption.map(|k| k.key),
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v9[1..], "the frozen layout");
}

#[test]
fn version_4_tokens_keep_their_audience_actor_and_data_through_their_frozen_layout() {
    let v4 = unhex(GOLDEN_TOKEN_V4);
    assert_eq!(v4[0], FORMAT_V4);
    assert_eq!(decode::<OpaqueToken>(&token_key(), &v4).unwrap(), token_for_direct_authz());
    let t = token_for_direct_authz();
    let old = OpaqueTokenV4 {
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
        audience: t.audience,
        act: t.act,
        dat: t.dat,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v4[1..], "the frozen layout");
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
}

//! The codec's tests of the format identity providers brought: tenants version 8 (their
//! external OpenID providers), now itself a frozen layout read back unchanged.

use rkyv::rancor;
use tessera_core::model::{ClaimMapping, Idp, IdpEndpoints};

use super::super::legacy_idps::TenantV8;

use super::issuers::{settings_v6, tenant_with_issuers};
use super::*;

/// The version-8 bytes of `tenant_with_idps()`; see [`GOLDEN_TENANT_V1`] for what a failure
/// means.
pub(super) const GOLDEN_TENANT_V8: &str = "0841636d6520436f72706f726174696f6e204c7464646f63732e7772697465646f63733a77726974658a000000ecffff\
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
0062ffffff80ffffff020000000100000004f153650000000005f153650000000061636d65ffffffff94000000e8fbff\
ff0100000004fcffff01000000100e0000100e0000007512003c00000007000000010000007800000001000000000000\
000c0000000001000001000000000000000100000032000000640000000000000000f1536500000000f0fbffff010000\
0070fcffff0100000000fdffff02000000f8feffff01000000";

/// `tenant_with_issuers()` with one identity provider that uses every field.
pub(super) fn tenant_with_idps() -> Tenant {
    let mut t = tenant_with_issuers();
    t.idps = vec![Idp {
        id: "idp-aaaaaaaaaaaaaaaaaa".into(),
        label: "Partner SSO".into(),
        issuer: "https://sso.partner.example".into(),
        client_id: "acme".into(),
        sealed_secret: vec![9; 48],
        scope: "openid email".into(),
        claim_mappings: vec![ClaimMapping { upstream: "mail".into(), local: "email".into() }],
        link_by_email: true,
        jit_provisioning: false,
        domains: vec!["partner.example".into()],
        endpoints: IdpEndpoints {
            authorization_endpoint: "https://sso.partner.example/authorize".into(),
            token_endpoint: "https://sso.partner.example/token".into(),
            jwks_uri: "https://sso.partner.example/jwks".into(),
            userinfo_endpoint: Some("https://sso.partner.example/userinfo".into()),
            id_token_algs: vec!["RS256".into(), "ES256".into()],
            secret_in_body: true,
            discovered_at: 1_700_000_004,
        },
        created_at: 1_700_000_005,
    }];
    t
}

#[test]
fn version_8_tenants_keep_their_identity_providers_through_their_frozen_layout() {
    let v8 = unhex(GOLDEN_TENANT_V8);
    assert_eq!(v8[0], FORMAT_V8);
    let decoded = decode::<Tenant>(b"acme", &v8).unwrap();
    assert_eq!(decoded, tenant_with_idps(), "everything as it was, no direct-authz credentials");
    let t = tenant_with_idps();
    let s = t.settings;
    let old = TenantV8 {
        id: t.id,
        display_name: t.display_name,
        settings: settings_v6(s),
        created_at: t.created_at,
        apis: t.apis,
        identity_validators: t.identity_validators,
        trusted_issuers: t.trusted_issuers,
        idps: t.idps,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v8[1..], "the frozen layout");
}

#[test]
fn identity_providers_are_checked_as_they_are_written() {
    round_trips_and_resists_garbage(b"acme", &tenant_with_idps());
    let mut bad = tenant_with_idps();
    bad.idps.push(bad.idps[0].clone());
    assert!(encode(b"acme", &bad).is_err(), "one provider twice");
    let mut bad = tenant_with_idps();
    bad.idps[0].scope = "email".into();
    assert!(encode(b"acme", &bad).is_err(), "without openid");
}

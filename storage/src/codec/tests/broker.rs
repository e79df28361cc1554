//! The codec's tests of the format the direct authorisation API's second round brought:
//! tenants version 10 (the shared key sealed, with its key management), opaque tokens version
//! 5 (their userinfo release, `cls` and `uip`), sessions version 3 (a broker's `data`) and
//! refresh tokens version 3 (the `validator` of a brokered subject, and how a long-lived direct
//! authorisation's access tokens are made).

use tessera_core::model::{DirectGrant, JweKeyManagement, RefreshToken, Session, SharedAesKey};

use super::direct::{GOLDEN_TENANT_V9, GOLDEN_TOKEN_V4, tenant_with_direct_authz, token_for_direct_authz};
use super::grants::{
    CODE_KEY, GOLDEN_REFRESH_TOKEN_V1, GOLDEN_REFRESH_TOKEN_V2, GOLDEN_SESSION_V1, GOLDEN_SESSION_V2,
    refresh_token, session, v1_garbage_is_corrupt,
};
use super::tokens::{GOLDEN_TOKEN_V1, GOLDEN_TOKEN_V2, GOLDEN_TOKEN_V3, TOKEN_SHOWN, token_key};
use super::*;

/// The version-10 bytes of `tenant_with_sealed_key()`; see [`GOLDEN_TENANT_V1`] for what a
/// failure means.
const GOLDEN_TENANT_V10: &str = "0a41636d6520436f72706f726174696f6e204c7464646f63732e7772697465646f63733a77726974658a000000ecffff\
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
0062ffffff80ffffff020000000100000004f153650000000005f1536500000000030303030303030303030303030303\
030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303000000\
0061636d65ffffffff94000000a8fbffff01000000c4fbffff01000000100e0000100e0000007512003c000000070000\
00010000007800000001000000000000000c000000000100000100000000000000010000003200000064000000000000\
0000f1536500000000b0fbffff0100000030fcffff01000000c0fcffff02000000b8feffff0100000001090909090909\
090909090909090909090909090909090909090909090909090900000001000000010000000cffffff3c000000010000\
00";

/// The version-5 bytes of `token_with_userinfo()`.
const GOLDEN_TOKEN_V5: &str = "054141414141414141414141414141414141414141414172656164207772697465656469746f72ffff646f63733a7265\
616400000089000000f4ffffff68747470733a2f2f6f72646572732e6578616d706c652f6170697b2274696572223a22\
676f6c64227d00000072732d31ffffffff656d61696cffffff6e616d65ffffffff7b2267726f7570223a227374616666\
227d0000000000000061636d65ffffffff776562ffffffffff9600000058ffffff8a00000066ffffff6a74692d31ffff\
ff00f153650000000010ff53650000000050ffffff010000005cffffff01000000010000009a00000058ffffff010000\
008f00000066ffffff01000000762d31ffffffffff64ffffff0100000001000000616c696365ffffff010000007b226b\
223a317dff4cffffff02000000010000009100000050ffffff";

/// The version-3 bytes of `session_with_data()`.
const GOLDEN_SESSION_V3: &str = "034141414141414141414141414141414141414141414175726e3a6163723a6d6661000000707764ffffffffff6f7470\
ffffffffff7b2262726f6b6572223a226231222c226e223a5b312c325d7d00000061636d65ffffffff96000000a8ffff\
ff7369642d31fffffff6f0536500000000010000008b000000a2ffffffa8ffffff020000000000000000f15365000000\
008042556500000000010000009900000098ffffff00000000";

/// The version-3 bytes of `brokered_refresh_token()`.
const GOLDEN_REFRESH_TOKEN_V3: &str = "036f70656e6964206f66666c696e655f6163636573734141414141414141414141414141414141414141414100707764\
ffffffffff6469726563742d617574687a72732d31ffffffff72732d32ffffffff656d61696cffffff7b2267726f7570\
223a227374616666227d0000000000000061636d65ffffffff66616d2d31ffffff776562ffffffffff9500000078ffff\
ff9600000085ffffff7369642d31fffffff6f053650000000000000000000000000000000078ffffff01000000000000\
0000f1536500000000007e7b650000000000000000000000000000000000000000010000008c00000050ffffff010000\
0050ffffff020000000100000061646d696effffff010000007b226b223a317dff40ffffff0100000001000000910000\
003cffffff010000005802000000000000";

/// `tenant_with_direct_authz()` with a sealed key for `A256GCMKW`.
fn tenant_with_sealed_key() -> Tenant {
    Tenant {
        direct_authz_encryption: Some(SharedAesKey {
            alg: JweKeyManagement::A256GcmKw,
            key: vec![3; SharedAesKey::SEALED_LEN],
            sealed: true,
        }),
        ..tenant_with_direct_authz()
    }
}

/// `token_for_direct_authz()` releasing two named claims and a preset one at userinfo.
fn token_with_userinfo() -> OpaqueToken {
    OpaqueToken {
        cls: vec!["email".into(), "name".into()],
        uip: Some(r#"{"group":"staff"}"#.into()),
        ..token_for_direct_authz()
    }
}

#[test]
fn tenants_are_written_as_version_10_with_a_sealed_key_and_its_algorithm() {
    assert_eq!(Tenant::FORMAT, FORMAT_V10);
    assert_golden(b"acme", &tenant_with_sealed_key(), GOLDEN_TENANT_V10);
    round_trips_and_resists_garbage(b"acme", &tenant_with_sealed_key());
    round_trips_and_resists_garbage(b"acme", &tenant_with_direct_authz());
    let key = |len: usize, sealed: bool| Tenant {
        direct_authz_encryption: Some(SharedAesKey { alg: JweKeyManagement::Dir, key: vec![1; len], sealed }),
        ..tenant_with_direct_authz()
    };
    assert!(encode(b"acme", &key(32, true)).is_err(), "a sealed key of a bare key's length");
    assert!(encode(b"acme", &key(SharedAesKey::SEALED_LEN, false)).is_err(), "a bare key of 60 bytes");
    assert!(encode(b"acme", &key(16, false)).is_err(), "a 128-bit key");
    let (v9, v10) = (unhex(GOLDEN_TENANT_V9), unhex(GOLDEN_TENANT_V10));
    let mut swapped = v10.clone();
    swapped[0] = FORMAT_V9;
    assert!(decode::<Tenant>(b"acme", &swapped).is_err(), "version 10 read as 9");
    let mut swapped = v9;
    swapped[0] = FORMAT_V10;
    assert!(decode::<Tenant>(b"acme", &swapped).is_err(), "version 9 read as 10");
}

#[test]
fn tokens_are_written_as_version_5_with_their_userinfo_release() {
    assert_eq!(OpaqueToken::FORMAT, FORMAT_V5);
    assert_golden(&token_key(), &token_with_userinfo(), GOLDEN_TOKEN_V5);
    round_trips_and_resists_garbage(&token_key(), &token_with_userinfo());
    every_version_is_guarded::<OpaqueToken>(
        &token_key(),
        TOKEN_SHOWN,
        &[
            &unhex(GOLDEN_TOKEN_V1),
            &unhex(GOLDEN_TOKEN_V2),
            &unhex(GOLDEN_TOKEN_V3),
            &unhex(GOLDEN_TOKEN_V4),
            &unhex(GOLDEN_TOKEN_V5),
        ],
    );
}

/// `session()` as a broker made it, with its data.
fn session_with_data() -> Session {
    Session { data: Some(r#"{"broker":"b1","n":[1,2]}"#.into()), ..session() }
}

#[test]
fn sessions_are_written_as_version_3_with_a_broker_s_data() {
    assert_eq!(Session::FORMAT, FORMAT_V3);
    let key = CODE_KEY;
    assert_golden(key, &session_with_data(), GOLDEN_SESSION_V3);
    round_trips_and_resists_garbage(key, &session_with_data());
    round_trips_and_resists_garbage(key, &session());
    v1_garbage_is_corrupt::<Session>(
        key,
        &[&unhex(GOLDEN_SESSION_V1), &unhex(GOLDEN_SESSION_V2), &unhex(GOLDEN_SESSION_V3)],
    );
}

/// `refresh_token()` of a long-lived direct authorisation of a subject its broker vouched for.
fn brokered_refresh_token() -> RefreshToken {
    RefreshToken {
        validator: Some("direct-authz".into()),
        direct: Some(DirectGrant {
            audience: vec!["rs-1".into(), "rs-2".into()],
            act: Some("admin".into()),
            dat: Some(r#"{"k":1}"#.into()),
            cls: vec!["email".into()],
            uip: Some(r#"{"group":"staff"}"#.into()),
            identifier: true,
            encrypt: false,
            access_token_ttl_secs: 600,
        }),
        ..refresh_token(None)
    }
}

#[test]
fn refresh_tokens_are_written_as_version_3_with_their_validator() {
    assert_eq!(RefreshToken::FORMAT, FORMAT_V3);
    assert_golden(CODE_KEY, &brokered_refresh_token(), GOLDEN_REFRESH_TOKEN_V3);
    round_trips_and_resists_garbage(CODE_KEY, &brokered_refresh_token());
    round_trips_and_resists_garbage(CODE_KEY, &refresh_token(Some(1_700_000_500)));
    v1_garbage_is_corrupt::<RefreshToken>(
        CODE_KEY,
        &[&unhex(GOLDEN_REFRESH_TOKEN_V1), &unhex(GOLDEN_REFRESH_TOKEN_V2), &unhex(GOLDEN_REFRESH_TOKEN_V3)],
    );
}

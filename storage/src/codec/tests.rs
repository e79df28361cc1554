//! The codec's tests: round trips, garbage, invariants, and the golden bytes of every format
//! version on disk (those of the end-user grant records in `grants`, of tenants since version 3
//! and of audit events in `events`).

#![allow(clippy::unwrap_used)]

mod broker;
mod direct;
mod events;
mod grants;
mod idps;
mod issuers;
mod keys;
mod links;
mod resources;
mod scope_rules;
mod tokens;

use rkyv::rancor;
use tessera_core::model::{
    AccessTokenFormat, Client, GrantType, OpaqueToken, SigningAlg, Tenant, TenantSettings,
    TokenEndpointAuthMethod, User,
};

use super::legacy::{ClientV1, ClientV2, TenantSettingsV1, TenantSettingsV2, TenantV1, TenantV2, UserV1};
use super::*;

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: id.to_owned(),
        display_name: "Acme".to_owned(),
        settings: TenantSettings::default(),
        created_at: 1,
        apis: Vec::new(),
        identity_validators: Vec::new(),
        trusted_issuers: Vec::new(),
        idps: Vec::new(),
        direct_authz_token_digest: None,
        direct_authz_encryption: None,
    }
}

#[test]
fn round_trip_with_version_byte() {
    let t = tenant("acme");
    let bytes = encode(b"acme", &t).unwrap();
    assert_eq!(bytes[0], FORMAT_V10);
    assert_eq!(decode::<Tenant>(b"acme", &bytes).unwrap(), t);
}

#[test]
fn garbage_is_corrupt_not_a_panic() {
    let good = encode(b"acme", &tenant("acme")).unwrap();
    let mut cases: Vec<Vec<u8>> = vec![vec![], vec![FORMAT_V1], vec![9, 1, 2, 3], vec![FORMAT_V1; 64]];
    // Every truncation and every single-byte flip of a valid record.
    for n in 0..good.len() {
        cases.push(good[..n].to_vec());
    }
    for i in 1..good.len() {
        let mut flipped = good.clone();
        flipped[i] ^= 0xff;
        cases.push(flipped);
    }
    for bytes in cases {
        match decode::<Tenant>(b"acme", &bytes) {
            Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, "tenants:acme"),
            // A flip inside a string's bytes can still decode; the invariants then decide.
            Ok(t) => assert!(t.check(b"acme").is_ok()),
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
}

#[test]
fn a_record_under_the_wrong_key_is_corrupt() {
    let bytes = encode(b"acme", &tenant("acme")).unwrap();
    assert!(matches!(decode::<Tenant>(b"other", &bytes), Err(StoreError::Corrupt { .. })));
}

#[test]
fn invariants_are_checked_before_writing() {
    assert!(matches!(encode(b"acme", &tenant("a/b")), Err(StoreError::Corrupt { .. })));
    let mut t = tenant("acme");
    t.settings.code_ttl_secs = 0;
    assert!(matches!(encode(b"acme", &t), Err(StoreError::Corrupt { .. })));
    let token = OpaqueToken {
        tenant: "acme".into(),
        client_id: "web".into(),
        sub: "web".into(),
        scope: String::new(),
        jti: "j".into(),
        iat: 10,
        exp: 5,
        roles: Vec::new(),
        permissions: Vec::new(),
        aud: None,
        extra_info: None,
        validator: None,
        audience: Vec::new(),
        act: None,
        dat: None,
        cls: Vec::new(),
        uip: None,
    };
    let mut key = b"acme\0".to_vec();
    key.extend_from_slice(&[7; 32]);
    assert!(matches!(encode(&key, &token), Err(StoreError::Corrupt { .. })));
}

fn user() -> User {
    User {
        email: Some("alice@example.com".into()),
        email_verified: true,
        name: Some("Alice".into()),
        locale: Some("en-GB".into()),
        address: Some(tessera_core::model::Address {
            country: Some("UK".into()),
            ..tessera_core::model::Address::default()
        }),
        updated_at: 1_700_000_001,
        ..User::new(
            "acme",
            "AAAAAAAAAAAAAAAAAAAAAA",
            "alice",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            1_700_000_000,
        )
    }
}

const USER_KEY: &[u8] = b"acme\0AAAAAAAAAAAAAAAAAAAAAA";

#[test]
fn users_round_trip_and_garbage_is_corrupt() {
    let u = user();
    let good = encode(USER_KEY, &u).unwrap();
    assert_eq!(decode::<User>(USER_KEY, &good).unwrap(), u);
    assert!(matches!(decode::<User>(b"acme\0other", &good), Err(StoreError::Corrupt { .. })));
    let mut cases: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
    for i in 1..good.len() {
        let mut flipped = good.clone();
        flipped[i] ^= 0xff;
        cases.push(flipped);
    }
    for bytes in cases {
        match decode::<User>(USER_KEY, &bytes) {
            Err(StoreError::Corrupt { key, .. }) => assert!(key.starts_with("users:acme/"), "{key}"),
            Ok(u) => assert!(u.check(USER_KEY).is_ok()),
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
}

#[test]
fn invalid_users_are_not_written() {
    let mut u = user();
    u.username = "has space".into();
    assert!(matches!(encode(USER_KEY, &u), Err(StoreError::Corrupt { .. })));
    let mut u = user();
    u.password_hash = String::new();
    assert!(matches!(encode(USER_KEY, &u), Err(StoreError::Corrupt { .. })));
}

#[test]
fn index_values_are_ids() {
    assert_eq!(decode_index(Space::UserNames, b"acme\0alice", b"abc").unwrap(), "abc");
    assert!(decode_index(Space::UserNames, b"acme\0alice", b"a/b").is_err());
    assert!(decode_index(Space::UserEmails, b"acme\0a@b.c", &[0xff]).is_err());
}

/// The version-1 bytes of `user()`; see [`GOLDEN_TENANT_V1`] for what a failure means. Users
/// are version 2 now; these bytes are on disk and must keep decoding. Never edit it.
const GOLDEN_USER_V1: &str = "0141414141414141414141414141414141414141414141246172676f6e32696424763d3139246d3d31393435362c743d\
322c703d3124633246736441246147467a6141616c696365406578616d706c652e636f6d000000000061636d65ffffff\
ff96000000a0ffffff616c696365ffffffac000000a6ffffff0100000091000000c6ffffff0100000001000000416c69\
6365ffffff00000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
000000000000000000000000000000000000000000000000000000000000000000000000000000000001000000656e2d\
4742ffffff00000000000000000000000000000000010000000000000000000000000000000000000000000000000000\
0000000000000000000000000000000000000000000000000000000000000000000000000001000000554bffffffffff\
ff00f153650000000001f1536500000000";

#[test]
fn version_1_users_decode_enabled_with_nothing_cut_off() {
    let v1 = unhex(GOLDEN_USER_V1);
    let decoded = decode::<User>(USER_KEY, &v1).unwrap();
    assert_eq!(decoded, user());
    assert!(!decoded.disabled);
    assert_eq!(decoded.grants_valid_from, 0);
    // The frozen layout is the one the old encoder wrote, byte for byte.
    let u = user();
    let old = UserV1 {
        tenant: u.tenant,
        id: u.id,
        username: u.username,
        password_hash: u.password_hash,
        email: u.email,
        email_verified: u.email_verified,
        name: u.name,
        given_name: u.given_name,
        family_name: u.family_name,
        middle_name: u.middle_name,
        nickname: u.nickname,
        preferred_username: u.preferred_username,
        profile: u.profile,
        picture: u.picture,
        website: u.website,
        gender: u.gender,
        birthdate: u.birthdate,
        zoneinfo: u.zoneinfo,
        locale: u.locale,
        phone_number: u.phone_number,
        phone_number_verified: u.phone_number_verified,
        address: u.address,
        created_at: u.created_at,
        updated_at: u.updated_at,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v1[1..]);
    // A version-1 record under another user's key is still corrupt.
    assert!(matches!(decode::<User>(b"acme\0BBBBBBBBBBBBBBBBBBBBBB", &v1), Err(StoreError::Corrupt { .. })));
}

/// `user()` disabled at 1_700_000_100 and enabled again: the cut-off stays.
fn reenabled_user() -> User {
    let mut u = user();
    u.disable(1_700_000_100);
    u.enable(1_700_000_101).unwrap();
    u
}

/// The version-2 bytes of `reenabled_user()` disabled again at 1_700_000_200; see
/// [`GOLDEN_TENANT_V1`] for what a failure means.
const GOLDEN_USER_V2: &str = "0241414141414141414141414141414141414141414141246172676f6e32696424763d3139246d3d31393435362c743d\
322c703d3124633246736441246147467a6141616c696365406578616d706c652e636f6d000000000061636d65ffffff\
ff96000000a0ffffff616c696365ffffffac000000a6ffffff0100000091000000c6ffffff0100000001000000416c69\
6365ffffff00000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
000000000000000000000000000000000000000000000000000000000000000000000000000000000001000000656e2d\
4742ffffff00000000000000000000000000000000010000000000000000000000000000000000000000000000000000\
0000000000000000000000000000000000000000000000000000000000000000000000000001000000554bffffffffff\
ff00f153650000000001f15365000000000100000000000000c9f1536500000000";

fn disabled_user() -> User {
    let mut u = reenabled_user();
    u.disable(1_700_000_200);
    u
}

#[test]
fn users_are_written_as_version_2() {
    assert_eq!(User::FORMAT, FORMAT_V2);
    assert_golden(USER_KEY, &disabled_user(), GOLDEN_USER_V2);
    for u in [user(), reenabled_user(), disabled_user()] {
        let bytes = encode(USER_KEY, &u).unwrap();
        assert_eq!(bytes[0], FORMAT_V2);
        assert_eq!(decode::<User>(USER_KEY, &bytes).unwrap(), u);
    }
    // A negative cut-off is not written.
    let mut bad = user();
    bad.grants_valid_from = -1;
    assert!(matches!(encode(USER_KEY, &bad), Err(StoreError::Corrupt { .. })));
}

#[test]
fn user_garbage_and_unknown_versions_are_corrupt() {
    let shown = "users:acme/AAAAAAAAAAAAAAAAAAAAAA";
    versions_are_guarded::<User>(USER_KEY, shown, &unhex(GOLDEN_USER_V1), &unhex(GOLDEN_USER_V2));
    round_trips_and_resists_garbage(USER_KEY, &disabled_user());
}

/// Encodes `record`, decodes it back, and checks that every truncation and single-byte flip
/// of its bytes either decodes to a record that passes its checks or is `Corrupt` under its
/// key (named `space:...`), never a panic.
fn round_trips_and_resists_garbage<T>(key: &[u8], record: &T)
where
    T: crate::state::Stored + PartialEq + std::fmt::Debug,
{
    let good = encode(key, record).unwrap();
    assert_eq!(decode::<T>(key, &good).unwrap(), *record);
    assert_damage_is_caught::<T>(key, &good);
}

/// Every truncation and single-byte flip (after the version byte) of `bytes` either decodes to
/// a record that passes its checks or is `Corrupt` under its key (named `space:...`), never a
/// panic.
fn assert_damage_is_caught<T>(key: &[u8], bytes: &[u8])
where
    T: crate::state::Stored + std::fmt::Debug,
{
    let prefix = format!("{}:", T::SPACE.name());
    let mut cases: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
    for i in 1..bytes.len() {
        let mut flipped = bytes.to_vec();
        flipped[i] ^= 0xff;
        cases.push(flipped);
    }
    for damaged in cases {
        match decode::<T>(key, &damaged) {
            Err(StoreError::Corrupt { key, .. }) => assert!(key.starts_with(&prefix), "{key}"),
            Ok(r) => assert!(r.check(key).is_ok()),
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// Checks a golden encoding both ways; see [`GOLDEN_TENANT_V1`] for what a failure means.
fn assert_golden<T>(key: &[u8], record: &T, golden: &str)
where
    T: crate::state::Stored + PartialEq + std::fmt::Debug,
{
    assert_eq!(hex(&encode(key, record).unwrap()), golden);
    assert_eq!(decode::<T>(key, &unhex(golden)).unwrap(), *record);
}

pub(super) const CLIENT_KEY: &[u8] = b"acme\0web";

/// The client of the client golden encodings, with the opt-in as given.
pub(super) fn client(pkce_plain_allowed: bool) -> Client {
    Client {
        tenant: "acme".into(),
        client_id: "web".into(),
        client_name: "Web App".into(),
        secret_digest: Some([7; 32]),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec!["https://app.example/cb".into()],
        response_types: vec!["code".into()],
        scope: vec!["openid".into(), "profile".into()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        access_token_format: AccessTokenFormat::Opaque,
        id_token_signed_response_alg: SigningAlg::ES256,
        post_logout_redirect_uris: vec!["https://app.example/bye".into()],
        first_party: true,
        created_at: 1_700_000_000,
        pkce_plain_allowed,
        grants_valid_from: 0,
        apis: None,
        token_rate_limit: None,
    }
}

/// `client(true)` with everything issued to it up to 1_700_000_500 cut off.
pub(super) fn cut_off_client() -> Client {
    let mut c = client(true);
    c.cut_off_grants(1_700_000_500);
    c
}

/// The bytes the version-1 encoder wrote for `client(false)` before `pkce_plain_allowed`
/// existed (captured from that encoder, not from [`ClientV1`]): client records of this
/// layout are on disk and must keep decoding. Never edit it.
const GOLDEN_CLIENT_V1: &str = "01010268747470733a2f2f6170702e6578616d706c652f636296000000eaffffff636f6465ffffffff6f70656e6964ffff\
70726f66696c65ff68747470733a2f2f6170702e6578616d706c652f6279650097000000e8ffffff61636d65ffffffff\
776562ffffffffff57656220417070ff0107070707070707070707070707070707070707070707070707070707070707\
070000006cffffff020000007cffffff010000007cffffff010000007cffffff020000000101000098ffffff01000000\
010000000000000000f1536500000000";

/// The version-2 bytes of `client(true)`; see [`GOLDEN_TENANT_V1`] for what a failure means.
/// Clients are version 3 now; these bytes are on disk and must keep decoding. Never edit it.
const GOLDEN_CLIENT_V2: &str = "02010268747470733a2f2f6170702e6578616d706c652f636296000000eaffffff636f6465ffffffff6f70656e6964ff\
ff70726f66696c65ff68747470733a2f2f6170702e6578616d706c652f6279650097000000e8ffffff61636d65ffffff\
ff776562ffffffffff57656220417070ff01070707070707070707070707070707070707070707070707070707070707\
07070000006cffffff020000007cffffff010000007cffffff010000007cffffff020000000101000098ffffff010000\
00010000000000000000f15365000000000100000000000000";

#[test]
fn version_1_clients_decode_without_the_opt_in() {
    let v1 = unhex(GOLDEN_CLIENT_V1);
    assert_eq!(decode::<Client>(CLIENT_KEY, &v1).unwrap(), client(false));
    // The frozen layout is the one the old encoder wrote, byte for byte.
    let old = ClientV1 {
        tenant: "acme".into(),
        client_id: "web".into(),
        client_name: "Web App".into(),
        secret_digest: Some([7; 32]),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec!["https://app.example/cb".into()],
        response_types: vec!["code".into()],
        scope: vec!["openid".into(), "profile".into()],
        token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretPost,
        access_token_format: AccessTokenFormat::Opaque,
        id_token_signed_response_alg: SigningAlg::ES256,
        post_logout_redirect_uris: vec!["https://app.example/bye".into()],
        first_party: true,
        created_at: 1_700_000_000,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v1[1..]);
    // A version-1 record under another client's key is still corrupt.
    assert!(matches!(decode::<Client>(b"acme\0app", &v1), Err(StoreError::Corrupt { .. })));
}

/// The version-3 bytes of `cut_off_client()`; see [`GOLDEN_TENANT_V1`] for what a failure
/// means.
pub(super) const GOLDEN_CLIENT_V3: &str = "03010268747470733a2f2f6170702e6578616d706c652f636296000000eaffffff636f6465ffffffff6f70656e6964ff\
ff70726f66696c65ff68747470733a2f2f6170702e6578616d706c652f6279650097000000e8ffffff61636d65ffffff\
ff776562ffffffffff57656220417070ff01070707070707070707070707070707070707070707070707070707070707\
07070000006cffffff020000007cffffff010000007cffffff010000007cffffff020000000101000098ffffff010000\
00010000000000000000f15365000000000100000000000000f5f2536500000000";

#[test]
fn version_2_clients_decode_with_nothing_cut_off() {
    let v2 = unhex(GOLDEN_CLIENT_V2);
    let decoded = decode::<Client>(CLIENT_KEY, &v2).unwrap();
    assert_eq!(decoded, client(true));
    assert_eq!(decoded.grants_valid_from, 0);
    // The frozen layout is the one the version-2 encoder wrote, byte for byte.
    let c = client(true);
    let old = ClientV2 {
        tenant: c.tenant,
        client_id: c.client_id,
        client_name: c.client_name,
        secret_digest: c.secret_digest,
        grant_types: c.grant_types,
        redirect_uris: c.redirect_uris,
        response_types: c.response_types,
        scope: c.scope,
        token_endpoint_auth_method: c.token_endpoint_auth_method,
        access_token_format: c.access_token_format,
        id_token_signed_response_alg: c.id_token_signed_response_alg,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        first_party: c.first_party,
        created_at: c.created_at,
        pkce_plain_allowed: c.pkce_plain_allowed,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v2[1..]);
    assert!(matches!(decode::<Client>(b"acme\0app", &v2), Err(StoreError::Corrupt { .. })));
}

#[test]
fn version_3_clients_decode_and_clients_are_written_as_version_4() {
    // Version 3 (before `apis`): may use every API.
    assert_eq!(decode::<Client>(CLIENT_KEY, &unhex(GOLDEN_CLIENT_V3)).unwrap(), cut_off_client());
    assert_eq!(Client::FORMAT, FORMAT_V4);
    for c in [client(false), client(true), cut_off_client()] {
        let bytes = encode(CLIENT_KEY, &c).unwrap();
        assert_eq!(bytes[0], FORMAT_V4);
        assert_eq!(decode::<Client>(CLIENT_KEY, &bytes).unwrap(), c);
    }
    // A negative cut-off is not written.
    let bad = Client { grants_valid_from: -1, ..client(false) };
    assert!(matches!(encode(CLIENT_KEY, &bad), Err(StoreError::Corrupt { .. })));
    // Tenants and users changed shape too.
    assert_eq!(encode(b"acme", &tenant("acme")).unwrap()[0], FORMAT_V10);
    assert_eq!(hex(&encode(USER_KEY, &user()).unwrap()[..1]), "02");
}

/// `GrantType::Implicit` came after clients were stored: it takes the next tag, so every tag
/// already on disk keeps its meaning (the golden clients above still decode) and no new format
/// version is needed. Pinned as the one byte it changes in `client(false)`'s encoding.
#[test]
fn the_implicit_grant_type_takes_the_next_tag() {
    let refresh = encode(CLIENT_KEY, &client(false)).unwrap();
    let implicit =
        Client { grant_types: vec![GrantType::AuthorizationCode, GrantType::Implicit], ..client(false) };
    let bytes = encode(CLIENT_KEY, &implicit).unwrap();
    assert_eq!(bytes[0], FORMAT_V4);
    let changed: Vec<(u8, u8)> =
        refresh.iter().zip(&bytes).filter(|(a, b)| a != b).map(|(a, b)| (*a, *b)).collect();
    assert_eq!(
        (refresh.len(), changed),
        (bytes.len(), vec![(2, 3)]),
        "RefreshToken is tag 2, Implicit tag 3"
    );
    assert_eq!(decode::<Client>(CLIENT_KEY, &bytes).unwrap(), implicit);
}

/// The `Corrupt` detail of decoding `bytes` as a `T` under `key`, whose display is `shown`.
fn corrupt_detail<T>(key: &[u8], shown: &str, bytes: &[u8]) -> String
where
    T: Record + rkyv::Archive + std::fmt::Debug,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
        + rkyv::Deserialize<T, Strategy<Pool, rancor::Error>>,
{
    match decode::<T>(key, bytes) {
        Err(StoreError::Corrupt { key, detail }) => {
            assert_eq!(key, shown);
            detail
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// For a type stored in versions 1 and 2: versions it never had, in front of archives that
/// are otherwise fine, and each layout read as the other, are corrupt.
fn versions_are_guarded<T>(key: &[u8], shown: &str, v1: &[u8], v2: &[u8])
where
    T: Record + rkyv::Archive + std::fmt::Debug,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
        + rkyv::Deserialize<T, Strategy<Pool, rancor::Error>>,
{
    every_version_is_guarded::<T>(key, shown, &[v1, v2]);
}

/// For a type stored in versions 1 to `goldens.len()`, `goldens[i]` being a record of version
/// `i + 1`: versions it never had, in front of archives that are otherwise fine, and each
/// layout read as any other, are corrupt.
fn every_version_is_guarded<T>(key: &[u8], shown: &str, goldens: &[&[u8]])
where
    T: Record + rkyv::Archive + std::fmt::Debug,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
        + rkyv::Deserialize<T, Strategy<Pool, rancor::Error>>,
{
    let next = u8::try_from(goldens.len() + 1).unwrap();
    for version in [0, next, 0xff] {
        for golden in goldens {
            let mut bytes = golden.to_vec();
            bytes[0] = version;
            assert!(corrupt_detail::<T>(key, shown, &bytes).contains("unknown format version"), "{version}");
        }
    }
    for (i, golden) in goldens.iter().enumerate() {
        for (j, _) in goldens.iter().enumerate().filter(|(j, _)| *j != i) {
            let mut swapped = golden.to_vec();
            swapped[0] = u8::try_from(j + 1).unwrap();
            eprintln!("golden v{} read as v{}", i + 1, j + 1);
            corrupt_detail::<T>(key, shown, &swapped);
        }
    }
}

#[test]
fn client_garbage_and_unknown_versions_are_corrupt() {
    let corrupt = |bytes: &[u8]| corrupt_detail::<Client>(CLIENT_KEY, "clients:acme/web", bytes);
    let v1 = unhex(GOLDEN_CLIENT_V1);
    let (v2, v3) = (unhex(GOLDEN_CLIENT_V2), unhex(GOLDEN_CLIENT_V3));
    let v4 = unhex(resources::GOLDEN_CLIENT_V4);
    every_version_is_guarded::<Client>(CLIENT_KEY, "clients:acme/web", &[&v1, &v2, &v3, &v4]);
    corrupt(&[]);
    corrupt(&[FORMAT_V1]);
    corrupt(&[FORMAT_V2; 64]);
    // Every truncation and single-byte flip of a version-1 record: corrupt, or a client
    // that passes its checks (a flip inside a string can still decode).
    let mut cases: Vec<Vec<u8>> = (0..v1.len()).map(|n| v1[..n].to_vec()).collect();
    for i in 1..v1.len() {
        let mut flipped = v1.clone();
        flipped[i] ^= 0xff;
        cases.push(flipped);
    }
    for bytes in cases {
        match decode::<Client>(CLIENT_KEY, &bytes) {
            Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, "clients:acme/web"),
            Ok(c) => {
                assert!(c.check(CLIENT_KEY).is_ok() && !c.pkce_plain_allowed && c.grants_valid_from == 0)
            }
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    round_trips_and_resists_garbage(CLIENT_KEY, &cut_off_client());
}

/// The version-1 bytes of a tenant. If a golden encoding fails, the archived layout of the
/// model changed: records already on disk would no longer decode. Bump the format version
/// and keep a decoder (or a migration) for the old one instead of editing the fixture.
/// Tenants are version 2 now; these bytes (of `acme_tenant(None, None)`) are on disk and
/// must keep decoding. Never edit it.
const GOLDEN_TENANT_V1: &str = "0141636d6520436f72706f726174696f6e204c74640000000061636d65ffffffff\
    94000000e0ffffff01000000100e0000100e0000007512003c0000000000000000f1536500000000";

/// The version-2 bytes of `acme_tenant(Some(120), Some(0))` as it was before the password
/// policy; see [`GOLDEN_TENANT_V1`] for what a failure means. Tenants are version 3 now; never
/// edit it.
const GOLDEN_TENANT_V2: &str = "0241636d6520436f72706f726174696f6e204c74640000000061636d65ffffffff\
    94000000e0ffffff01000000100e0000100e0000007512003c000000010000007800000001000000000000000000000000f1536500000000";

/// The tenant of the tenant golden encodings, with the two end-user lifetimes as given.
fn acme_tenant(session_ttl_secs: Option<u32>, refresh_reuse_grace_secs: Option<u32>) -> Tenant {
    Tenant {
        id: "acme".into(),
        display_name: "Acme Corporation Ltd".into(),
        settings: TenantSettings { session_ttl_secs, refresh_reuse_grace_secs, ..TenantSettings::default() },
        created_at: 1_700_000_000,
        apis: Vec::new(),
        identity_validators: Vec::new(),
        trusted_issuers: Vec::new(),
        idps: Vec::new(),
        direct_authz_token_digest: None,
        direct_authz_encryption: None,
    }
}

#[test]
fn version_1_tenants_decode_with_the_server_defaults() {
    let v1 = unhex(GOLDEN_TENANT_V1);
    assert_eq!(decode::<Tenant>(b"acme", &v1).unwrap(), acme_tenant(None, None));
    // The frozen layout is the one the old encoder wrote, byte for byte.
    let old = TenantV1 {
        id: "acme".into(),
        display_name: "Acme Corporation Ltd".into(),
        settings: TenantSettingsV1 {
            access_token_alg: SigningAlg::ES384,
            access_token_ttl_secs: 3600,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 14 * 24 * 3600,
            code_ttl_secs: 60,
        },
        created_at: 1_700_000_000,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v1[1..]);
    // A version-1 record under another tenant's key is still corrupt.
    assert!(matches!(decode::<Tenant>(b"other", &v1), Err(StoreError::Corrupt { .. })));
}

/// The version-3 bytes of `strict_tenant()`; see [`GOLDEN_TENANT_V1`] for what a failure means.
/// Tenants are version 4 now; never edit it.
const GOLDEN_TENANT_V3: &str = "0341636d6520436f72706f726174696f6e204c74640000000061636d65ffffffff\
    94000000e0ffffff01000000100e0000100e0000007512003c000000010000007800000001000000000000000c000000000100000000000000f1536500000000";

/// The tenant of the version-3 golden encoding: both end-user lifetimes set, and every
/// password and registration setting away from its default.
fn strict_tenant() -> Tenant {
    let mut t = acme_tenant(Some(120), Some(0));
    t.settings.password_min_length = 12;
    t.settings.password_reject_common = false;
    t.settings.self_service_registration = true;
    t
}

#[test]
fn version_2_tenants_decode_with_the_default_password_policy() {
    let v2 = unhex(GOLDEN_TENANT_V2);
    let decoded = decode::<Tenant>(b"acme", &v2).unwrap();
    assert_eq!(decoded, acme_tenant(Some(120), Some(0)));
    let s = &decoded.settings;
    assert_eq!(
        (s.password_min_length, s.password_reject_common, s.self_service_registration),
        (8, true, false)
    );
    // The frozen layout is the one the old encoder wrote, byte for byte.
    let old = TenantV2 {
        id: "acme".into(),
        display_name: "Acme Corporation Ltd".into(),
        settings: TenantSettingsV2 {
            access_token_alg: SigningAlg::ES384,
            access_token_ttl_secs: 3600,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 14 * 24 * 3600,
            code_ttl_secs: 60,
            session_ttl_secs: Some(120),
            refresh_reuse_grace_secs: Some(0),
        },
        created_at: 1_700_000_000,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&old).unwrap()[..], &v2[1..]);
    assert!(matches!(decode::<Tenant>(b"other", &v2), Err(StoreError::Corrupt { .. })));
}

#[test]
fn tenant_garbage_and_unknown_versions_are_corrupt() {
    let v1 = unhex(GOLDEN_TENANT_V1);
    let (v2, v3) = (unhex(GOLDEN_TENANT_V2), unhex(GOLDEN_TENANT_V3));
    let v4 = unhex(events::GOLDEN_TENANT_V4);
    let v5 = unhex(scope_rules::GOLDEN_TENANT_V5);
    let v6 = unhex(resources::GOLDEN_TENANT_V6);
    let v7 = unhex(issuers::GOLDEN_TENANT_V7);
    let v8 = unhex(idps::GOLDEN_TENANT_V8);
    let v9 = unhex(direct::GOLDEN_TENANT_V9);
    let v10 = encode(b"acme", &strict_tenant()).unwrap();
    every_version_is_guarded::<Tenant>(
        b"acme",
        "tenants:acme",
        &[&v1, &v2, &v3, &v4, &v5, &v6, &v7, &v8, &v9, &v10],
    );
    // Every truncation and single-byte flip of a version-1 record: corrupt, or a tenant
    // that passes its checks with the server defaults.
    let mut cases: Vec<Vec<u8>> = (0..v1.len()).map(|n| v1[..n].to_vec()).collect();
    for i in 1..v1.len() {
        let mut flipped = v1.clone();
        flipped[i] ^= 0xff;
        cases.push(flipped);
    }
    for bytes in cases {
        match decode::<Tenant>(b"acme", &bytes) {
            Err(StoreError::Corrupt { key, .. }) => assert_eq!(key, "tenants:acme"),
            Ok(t) => assert!(
                t.check(b"acme").is_ok()
                    && t.settings.session_ttl_secs.is_none()
                    && t.settings.refresh_reuse_grace_secs.is_none()
                    && t.settings.password_policy()
                        == tessera_core::password_policy::PasswordPolicy::default()
            ),
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    round_trips_and_resists_garbage(b"acme", &strict_tenant());
}

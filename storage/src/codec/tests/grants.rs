//! The codec's tests of the end-user grant records (codes, sessions, consents, refresh tokens
//! and their families): round trips, garbage, invariants, and the golden bytes of each format
//! version, among them the version-1 codes, sessions and refresh tokens whose login fields
//! version 2 gathered into one embedded `Authentication`.

use rkyv::rancor;
use tessera_core::grants::authorization_code::Code;
use tessera_core::model::{Authentication, Consent, RefreshToken, Session};

use super::super::legacy::{CodeV1, RefreshTokenV1, SessionV1, StoredCodeV1};
use super::super::legacy_broker::{RefreshTokenV2, SessionV2};
use super::*;

/// The login every grant fixture carries, with `acr` and the methods as given.
fn login(sid: &str, acr: Option<&str>, amr: &[&str]) -> Authentication {
    Authentication {
        sub: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        sid: sid.into(),
        auth_time: 1_699_999_990,
        acr: acr.map(Into::into),
        amr: amr.iter().map(|m| (*m).to_owned()).collect(),
    }
}

fn stored_code(used: bool) -> StoredCode {
    StoredCode {
        used,
        code: Code {
            tenant: "acme".into(),
            client_id: "web".into(),
            redirect_uri: "https://app.example.com/cb".into(),
            redirect_uri_sent: true,
            scope: "openid".into(),
            nonce: Some("n1".into()),
            code_challenge: Some(challenge()),
            auth: login("sid", None, &["pwd"]),
            issued_at: 1_700_000_000,
            expires_at: 1_700_000_060,
            resource: None,
        },
    }
}

fn challenge() -> tessera_core::authorize::CodeChallenge {
    tessera_core::authorize::CodeChallenge {
        method: tessera_core::pkce::CodeChallengeMethod::S256,
        challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
    }
}

pub(super) fn session() -> Session {
    Session {
        tenant: "acme".into(),
        auth: login("sid-1", Some("urn:acr:mfa"), &["pwd", "otp"]),
        created_at: 1_700_000_000,
        expires_at: 1_700_086_400,
        data: None,
    }
}

fn consent() -> Consent {
    Consent {
        tenant: "acme".into(),
        user_id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        client_id: "web".into(),
        scope: vec!["email".into(), "openid".into(), "profile".into()],
        granted_at: 1_700_000_000,
    }
}

pub(super) fn refresh_token(rotated_at: Option<UnixSecs>) -> RefreshToken {
    RefreshToken {
        tenant: "acme".into(),
        family: "fam-1".into(),
        client_id: "web".into(),
        scope: "openid offline_access".into(),
        auth: login("sid-1", None, &["pwd"]),
        issued_at: 1_700_000_000,
        expires_at: 1_702_592_000,
        rotated_at,
        validator: None,
        direct: None,
    }
}

fn family(tombstone: bool) -> StoredFamily {
    StoredFamily {
        tenant: "acme".into(),
        family: "fam-1".into(),
        client_id: (!tombstone).then(|| "web".into()),
        sub: (!tombstone).then(|| "AAAAAAAAAAAAAAAAAAAAAA".into()),
        revoked_at: tombstone.then_some(1_700_000_100),
        expires_at: 1_702_592_000,
    }
}

pub(super) const CODE_KEY: &[u8] = b"acme\0\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20";
const CONSENT_KEY: &[u8] = b"acme\0AAAAAAAAAAAAAAAAAAAAAA\0web";
const FAMILY_KEY: &[u8] = b"acme\0fam-1";

#[test]
fn grant_records_round_trip_and_garbage_is_corrupt() {
    round_trips_and_resists_garbage(CODE_KEY, &stored_code(true));
    round_trips_and_resists_garbage(CODE_KEY, &stored_code(false));
    round_trips_and_resists_garbage(CODE_KEY, &session());
    round_trips_and_resists_garbage(CONSENT_KEY, &consent());
    round_trips_and_resists_garbage(CODE_KEY, &refresh_token(None));
    round_trips_and_resists_garbage(CODE_KEY, &refresh_token(Some(1_700_000_500)));
    round_trips_and_resists_garbage(FAMILY_KEY, &family(false));
    round_trips_and_resists_garbage(FAMILY_KEY, &family(true));
}

#[test]
fn grant_records_under_the_wrong_key_are_corrupt() {
    let other_digest = b"other\0\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20";
    let bytes = encode(CODE_KEY, &stored_code(true)).unwrap();
    assert!(matches!(decode::<StoredCode>(other_digest, &bytes), Err(StoreError::Corrupt { .. })));
    assert!(matches!(decode::<StoredCode>(b"other\0x", &bytes), Err(StoreError::Corrupt { .. })));
    let bytes = encode(CODE_KEY, &session()).unwrap();
    assert!(matches!(decode::<Session>(other_digest, &bytes), Err(StoreError::Corrupt { .. })));
    assert!(matches!(decode::<Session>(b"acme\0short", &bytes), Err(StoreError::Corrupt { .. })));
    let bytes = encode(CONSENT_KEY, &consent()).unwrap();
    assert!(matches!(
        decode::<Consent>(b"acme\0web\0AAAAAAAAAAAAAAAAAAAAAA", &bytes),
        Err(StoreError::Corrupt { .. })
    ));
    let bytes = encode(CODE_KEY, &refresh_token(None)).unwrap();
    assert!(matches!(decode::<RefreshToken>(other_digest, &bytes), Err(StoreError::Corrupt { .. })));
    let bytes = encode(FAMILY_KEY, &family(false)).unwrap();
    assert!(matches!(decode::<StoredFamily>(b"acme\0fam-2", &bytes), Err(StoreError::Corrupt { .. })));
}

#[test]
fn grant_records_breaking_invariants_are_not_written() {
    let refused = |r: Result<Vec<u8>, StoreError>| matches!(r, Err(StoreError::Corrupt { .. }));
    let mut expired = stored_code(false);
    expired.code.expires_at = expired.code.issued_at - 1;
    assert!(refused(encode(CODE_KEY, &expired)));
    assert!(refused(encode(b"acme\0short", &stored_code(false))));
    let with_login =
        |sid: &str, sub: &str| Authentication { sid: sid.into(), sub: sub.into(), ..session().auth };
    assert!(refused(encode(CODE_KEY, &Session { expires_at: 1_700_000_000, ..session() })));
    assert!(refused(encode(CODE_KEY, &Session { auth: with_login("a b", "AAAA"), ..session() })));
    assert!(refused(encode(CODE_KEY, &Session { auth: with_login("sid-1", ""), ..session() })));
    assert!(refused(encode(CONSENT_KEY, &Consent { scope: vec!["b".into(), "a".into()], ..consent() })));
    assert!(refused(encode(CONSENT_KEY, &Consent { scope: vec!["a".into(), "a".into()], ..consent() })));
    assert!(refused(encode(CODE_KEY, &RefreshToken { expires_at: 1_700_000_000, ..refresh_token(None) })));
    assert!(refused(encode(CODE_KEY, &RefreshToken { family: "f/1".into(), ..refresh_token(None) })));
    assert!(refused(encode(CODE_KEY, &RefreshToken { client_id: String::new(), ..refresh_token(None) })));
    assert!(refused(encode(
        CODE_KEY,
        &RefreshToken { auth: with_login("sid-1", "u 1"), ..refresh_token(None) }
    )));
    // A family without client and subject must be a revoked tombstone, and both go together.
    assert!(refused(encode(FAMILY_KEY, &StoredFamily { revoked_at: None, ..family(true) })));
    assert!(refused(encode(FAMILY_KEY, &StoredFamily { sub: None, ..family(false) })));
    assert!(refused(encode(FAMILY_KEY, &StoredFamily { client_id: Some("a b".into()), ..family(false) })));
}

// The version-1 bytes of the grant records: written by the encoder of the records with the
// login inline (codes, sessions, refresh tokens) or still current (consents, families). Records
// of these layouts are on disk and must keep decoding; see [`super::GOLDEN_TENANT_V1`] for what
// a failure means. Never edit them.
const GOLDEN_CODE_V1: &str = "0168747470733a2f2f6170702e6578616d706c652e636f6d2f636245394d656c686f61324f77764672454d544a677543\
48616f654b3174385552576275474a537374772d634d4141414141414141414141414141414141414141414100707764\
ffffffffff00000000010000000000000061636d65ffffffff776562ffffffffff9a00000080ffffff010000006f7065\
6e6964ffff010000006e31ffffffffffff0100000000000000ab00000072ffffff9600000095ffffff736964ffffffff\
fff6f053650000000000000000000000000000000088ffffff010000000000000000f15365000000003cf15365000000\
00";
pub(super) const GOLDEN_SESSION_V1: &str = "014141414141414141414141414141414141414141414175726e3a6163723a6d6661000000707764ffffffffff6f7470\
ffffffffff0000000061636d65ffffffff7369642d31ffffff96000000b8fffffff6f0536500000000010000008b0000\
00baffffffc0ffffff020000000000000000f15365000000008042556500000000";
const GOLDEN_CONSENT_V1: &str = "01414141414141414141414141414141414141414141410000656d61696cffffff6f70656e6964ffff70726f66696c65\
ff61636d65ffffffff96000000c8ffffff776562ffffffffffd0ffffff0300000000f1536500000000";
pub(super) const GOLDEN_REFRESH_TOKEN_V1: &str = "01414141414141414141414141414141414141414141416f70656e6964206f66666c696e655f61636365737300707764\
ffffffffff0000000061636d65ffffffff66616d2d31ffffff776562ffffffffff96000000b0ffffff95000000beffff\
ff7369642d31fffffff6f0536500000000000000000000000000000000b0ffffff010000000000000000f15365000000\
00007e7b65000000000100000000000000f4f2536500000000";
const GOLDEN_FAMILY_V1: &str = "0141414141414141414141414141414141414141414141000061636d65ffffffff66616d2d31ffffff01000000776562\
ffffffffff0100000096000000c8ffffff00000000000000000000000000000000007e7b6500000000";
const GOLDEN_TOMBSTONE_V1: &str = "0161636d65ffffffff66616d2d31ffffff00000000000000000000000000000000000000000000000001000000000000\
0064f1536500000000007e7b6500000000";

// The version-2 bytes of `stored_code(true)`, `session()` and `refresh_token(Some(1_700_000_500))`,
// the login one embedded `Authentication`; see [`super::GOLDEN_TENANT_V1`] for what a failure
// means. rkyv happens to lay the nested struct out where its fields lay inline (the alignments
// agree), so the two versions differ only by field order: a code's archive is the same as in version 1 (its login fields were
// already in `Authentication`'s order), a session's has `sid` and `sub` swapped, a refresh
// token's `sub` and `scope`. The version byte, not the bytes, tells them apart.
const GOLDEN_CODE_V2: &str = "0268747470733a2f2f6170702e6578616d706c652e636f6d2f636245394d656c686f61324f77764672454d544a677543\
48616f654b3174385552576275474a537374772d634d4141414141414141414141414141414141414141414100707764\
ffffffffff00000000010000000000000061636d65ffffffff776562ffffffffff9a00000080ffffff010000006f7065\
6e6964ffff010000006e31ffffffffffff0100000000000000ab00000072ffffff9600000095ffffff736964ffffffff\
fff6f053650000000000000000000000000000000088ffffff010000000000000000f15365000000003cf15365000000\
00";
pub(super) const GOLDEN_SESSION_V2: &str = "024141414141414141414141414141414141414141414175726e3a6163723a6d6661000000707764ffffffffff6f7470\
ffffffffff0000000061636d65ffffffff96000000c0ffffff7369642d31fffffff6f0536500000000010000008b0000\
00baffffffc0ffffff020000000000000000f15365000000008042556500000000";
pub(super) const GOLDEN_REFRESH_TOKEN_V2: &str = "026f70656e6964206f66666c696e655f6163636573734141414141414141414141414141414141414141414100707764\
ffffffffff0000000061636d65ffffffff66616d2d31ffffff776562ffffffffff95000000b0ffffff96000000bdffff\
ff7369642d31fffffff6f0536500000000000000000000000000000000b0ffffff010000000000000000f15365000000\
00007e7b65000000000100000000000000f4f2536500000000";

#[test]
fn consents_and_families_are_still_version_1() {
    assert_golden(CONSENT_KEY, &consent(), GOLDEN_CONSENT_V1);
    assert_golden(FAMILY_KEY, &family(false), GOLDEN_FAMILY_V1);
    assert_golden(FAMILY_KEY, &family(true), GOLDEN_TOMBSTONE_V1);
}

#[test]
fn version_2_sessions_and_refresh_tokens_read_back_and_codes_are_written_as_version_3() {
    assert_eq!(
        (StoredCode::FORMAT, Session::FORMAT, RefreshToken::FORMAT),
        (FORMAT_V3, FORMAT_V3, FORMAT_V3)
    );
    // A version-2 code (before `resource`) names no API.
    assert_eq!(decode::<StoredCode>(CODE_KEY, &unhex(GOLDEN_CODE_V2)).unwrap(), stored_code(true));
    let for_api = StoredCode {
        code: Code { resource: Some("https://orders.example/api".into()), ..stored_code(true).code },
        ..stored_code(true)
    };
    assert_golden(CODE_KEY, &for_api, GOLDEN_CODE_V3);
    round_trips_and_resists_garbage(CODE_KEY, &for_api);
    let v2 = super::super::legacy_resources::StoredCodeV2 {
        used: true,
        code: super::super::legacy_resources::CodeV2 {
            tenant: "acme".into(),
            client_id: "web".into(),
            redirect_uri: for_api.code.redirect_uri.clone(),
            redirect_uri_sent: for_api.code.redirect_uri_sent,
            scope: for_api.code.scope.clone(),
            nonce: for_api.code.nonce.clone(),
            code_challenge: for_api.code.code_challenge.clone(),
            auth: for_api.code.auth.clone(),
            issued_at: for_api.code.issued_at,
            expires_at: for_api.code.expires_at,
        },
    };
    assert_eq!(
        &rkyv::to_bytes::<rkyv::rancor::Error>(&v2).unwrap()[..],
        &unhex(GOLDEN_CODE_V2)[1..],
        "the frozen layout"
    );
    // Version 2 of sessions is frozen now (`legacy_broker`): read back as it was.
    assert_eq!(decode::<Session>(CODE_KEY, &unhex(GOLDEN_SESSION_V2)).unwrap(), session());
    let s = session();
    let v2 = SessionV2 { tenant: s.tenant, auth: s.auth, created_at: s.created_at, expires_at: s.expires_at };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&v2).unwrap()[..], &unhex(GOLDEN_SESSION_V2)[1..]);
    // Version 2 of refresh tokens is frozen now (`legacy_broker`): read back as it was.
    let r = refresh_token(Some(1_700_000_500));
    assert_eq!(decode::<RefreshToken>(CODE_KEY, &unhex(GOLDEN_REFRESH_TOKEN_V2)).unwrap(), r);
    let v2 = RefreshTokenV2 {
        tenant: r.tenant,
        family: r.family,
        client_id: r.client_id,
        scope: r.scope,
        auth: r.auth,
        issued_at: r.issued_at,
        expires_at: r.expires_at,
        rotated_at: r.rotated_at,
    };
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&v2).unwrap()[..], &unhex(GOLDEN_REFRESH_TOKEN_V2)[1..]);
}

/// The version-1 layouts of the golden records, as the frozen types hold them.
fn v1_layouts() -> (StoredCodeV1, SessionV1, RefreshTokenV1) {
    let code = StoredCodeV1 {
        used: true,
        code: CodeV1 {
            tenant: "acme".into(),
            client_id: "web".into(),
            redirect_uri: "https://app.example.com/cb".into(),
            redirect_uri_sent: true,
            scope: "openid".into(),
            nonce: Some("n1".into()),
            code_challenge: Some(challenge()),
            sub: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            sid: "sid".into(),
            auth_time: 1_699_999_990,
            acr: None,
            amr: vec!["pwd".into()],
            issued_at: 1_700_000_000,
            expires_at: 1_700_000_060,
        },
    };
    let session = SessionV1 {
        tenant: "acme".into(),
        sid: "sid-1".into(),
        user_id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        auth_time: 1_699_999_990,
        acr: Some("urn:acr:mfa".into()),
        amr: vec!["pwd".into(), "otp".into()],
        created_at: 1_700_000_000,
        expires_at: 1_700_086_400,
    };
    let refresh = RefreshTokenV1 {
        tenant: "acme".into(),
        family: "fam-1".into(),
        client_id: "web".into(),
        sub: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        scope: "openid offline_access".into(),
        sid: "sid-1".into(),
        auth_time: 1_699_999_990,
        acr: None,
        amr: vec!["pwd".into()],
        issued_at: 1_700_000_000,
        expires_at: 1_702_592_000,
        rotated_at: Some(1_700_000_500),
    };
    (code, session, refresh)
}

#[test]
fn version_1_grants_decode_to_the_embedded_login() {
    let (code_v1, session_v1, refresh_v1) =
        (unhex(GOLDEN_CODE_V1), unhex(GOLDEN_SESSION_V1), unhex(GOLDEN_REFRESH_TOKEN_V1));
    assert_eq!(decode::<StoredCode>(CODE_KEY, &code_v1).unwrap(), stored_code(true));
    assert_eq!(decode::<Session>(CODE_KEY, &session_v1).unwrap(), session());
    assert_eq!(decode::<RefreshToken>(CODE_KEY, &refresh_v1).unwrap(), refresh_token(Some(1_700_000_500)));
    // The frozen layouts are the ones the old encoder wrote, byte for byte.
    let (code, session, refresh) = v1_layouts();
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&code).unwrap()[..], &code_v1[1..]);
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&session).unwrap()[..], &session_v1[1..]);
    assert_eq!(&rkyv::to_bytes::<rancor::Error>(&refresh).unwrap()[..], &refresh_v1[1..]);
    // A version-1 record under another key is still corrupt.
    assert!(matches!(decode::<StoredCode>(b"other\0x", &code_v1), Err(StoreError::Corrupt { .. })));
    assert!(matches!(decode::<Session>(b"acme\0short", &session_v1), Err(StoreError::Corrupt { .. })));
    assert!(matches!(decode::<RefreshToken>(b"other\0x", &refresh_v1), Err(StoreError::Corrupt { .. })));
}

/// Versions a grant record never had are corrupt; every truncation and single-byte flip of a
/// version-1 record is corrupt or a record that passes its checks.
pub(super) fn v1_garbage_is_corrupt<T>(key: &[u8], goldens: &[&[u8]])
where
    T: crate::state::Stored + std::fmt::Debug,
{
    let next = u8::try_from(goldens.len() + 1).unwrap();
    for version in [0, next, 0xff] {
        for golden in goldens {
            let mut bytes = golden.to_vec();
            bytes[0] = version;
            let detail = match decode::<T>(key, &bytes) {
                Err(StoreError::Corrupt { detail, .. }) => detail,
                other => panic!("expected Corrupt, got {other:?}"),
            };
            assert!(detail.contains("unknown format version"), "{version}: {detail}");
        }
    }
    assert_damage_is_caught::<T>(key, goldens[0]);
}

/// The version-3 bytes of `stored_code(true)` for an API; see [`super::GOLDEN_TENANT_V1`].
const GOLDEN_CODE_V3: &str = "0368747470733a2f2f6170702e6578616d706c652e636f6d2f636245394d656c686f61324f77764672454d544a677543\
48616f654b3174385552576275474a537374772d634d4141414141414141414141414141414141414141414100707764\
ffffffffff68747470733a2f2f6f72646572732e6578616d706c652f6170690000010000000000000061636d65ffffff\
ff776562ffffffffff9a00000068ffffff010000006f70656e6964ffff010000006e31ffffffffffff01000000000000\
00ab0000005affffff960000007dffffff736964fffffffffff6f053650000000000000000000000000000000070ffff\
ff010000000000000000f15365000000003cf1536500000000010000009a00000058ffffff00000000";

#[test]
fn grant_garbage_and_unknown_versions_are_corrupt() {
    // Codes have three versions (1 and 2 share one archive layout: the version byte tells
    // them apart).
    let codes = [unhex(GOLDEN_CODE_V1), unhex(GOLDEN_CODE_V2), unhex(GOLDEN_CODE_V3)];
    v1_garbage_is_corrupt::<StoredCode>(CODE_KEY, &[&codes[0], &codes[1], &codes[2]]);
}

//! Record encoding: a one-byte format version followed by the rkyv archive of the core model type,
//! and the invariants every record must satisfy against its key.
//!
//! rkyv archives carry no schema, so the version byte is what tells one layout of a type from
//! another. Each record type names the version it writes ([`Record::FORMAT`]); a type that
//! changed shape keeps reading its older versions through [`Record::decode_legacy`], which
//! decodes a frozen copy of the old layout and converts it. Records are not rewritten on read:
//! an old record becomes the current version the next time it is written.
//!
//! Decoding validates the archive (rkyv's checked API, bytecheck) before touching it, so bytes
//! that are not a record become [`StoreError::Corrupt`] rather than a panic or a wrong value. The
//! invariants are asserted before a record is written and again after it is read: a record that
//! was fine when written and fails them on the way back was damaged on disk.
//!
//! `records` holds each record type's invariants against its key (audit events included),
//! `legacy` (and `legacy_resources`, `legacy_keys`, `legacy_issuers`, `legacy_direct`) the frozen layouts
//! of older format versions (golden bytes in the tests pin both, byte for byte).

mod legacy;
mod legacy_broker;
mod legacy_direct;
mod legacy_idps;
mod legacy_issuers;
mod legacy_keys;
mod legacy_resources;
mod records;
#[cfg(test)]
mod tests;

use rkyv::api::high::{HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::de::Pool;
use rkyv::rancor::{self, Strategy};
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use tessera_core::model::{UnixSecs, is_valid_id};
use tessera_core::store::StoreError;

// The code and refresh-family records are defined next to the rules that decide on them
// (`tessera_core::rules`), since every backend keeps them; their invariants are in `records`.
pub(crate) use tessera_core::rules::code::StoredCode;
pub(crate) use tessera_core::rules::refresh::StoredFamily;

use crate::keys::{self, Space};

/// The first byte of every value: the version of its layout. When a model type changes shape,
/// bump its [`Record::FORMAT`] and keep a decoder for the old one in [`Record::decode_legacy`]:
/// rkyv archives carry no schema of their own. Version 1 is the first layout of every type.
pub(crate) const FORMAT_V1: u8 = 1;

/// Version 2 of `Client` (`pkce_plain_allowed` was added), of `Tenant` (`session_ttl_secs` and
/// `refresh_reuse_grace_secs` were added to its settings), and of `StoredCode`, `Session` and
/// `RefreshToken` (the login's `sub`, `sid`, `auth_time`, `acr` and `amr`, inline in version 1,
/// became one embedded `Authentication`; a session's `user_id` is its `sub`), and of `User`
/// (`disabled` and `grants_valid_from` were added; a version-1 user is enabled, nothing cut
/// off), and of `OpaqueToken` (the subject's `roles` and `permissions` were added; a version-1
/// token carries none), and of `KeyRecord` (its material may be `SealedSoftware`, PKCS#8
/// sealed under a key-encryption key; a version-1 key is plain or in an HSM, as it was).
pub(crate) const FORMAT_V2: u8 = 2;

/// Version 3 of `Client` (`grants_valid_from` was added, the operator's revoke-all cut-off; a
/// version-1 or version-2 client has nothing cut off) and of `Tenant` (the password policy,
/// `password_min_length` and `password_reject_common`, and `self_service_registration` were
/// added to its settings; an older tenant has the defaults: 8 characters, the list on,
/// registration off).
pub(crate) const FORMAT_V3: u8 = 3;

/// Version 4 of `Tenant` (`audit_retention_days` was added to its settings; an older tenant
/// keeps its events for the default 90 days), and of `Client` (`token_rate_limit`, its own
/// token-endpoint quota, was added at the end; an older client takes its tenant's).
pub(crate) const FORMAT_V4: u8 = 4;

/// Version 5 of `Tenant` (`scope_permissions` was added to its settings, after
/// `access_token_alg`; an older tenant has no scope rules).
pub(crate) const FORMAT_V5: u8 = 5;

/// Version 6 of `Tenant` (its `apis` and `identity_validators`, and the settings
/// `local_directory_position` and `token_rate_limit`, were added; an older tenant has none,
/// asks its local directory last, and does not limit its clients). Version 4 of `Client`
/// (`apis` and `token_rate_limit` were added; an older client may use every API, within its
/// tenant's quota) and version 3 of `OpaqueToken` (`aud`, `extra_info` and `validator` were
/// added; an older token is for the issuer, with nothing extra) arrived with them, and version 3
/// of `StoredCode` (the code's `resource`; an older code names no API).
pub(crate) const FORMAT_V6: u8 = 6;

/// Version 7 of `Tenant` (its `trusted_issuers` were added at the end; an older tenant trusts
/// none).
pub(crate) const FORMAT_V7: u8 = 7;

/// Version 8 of `Tenant` (its `idps`, the external OpenID providers its users may sign in
/// with, were added at the end; an older tenant has none).
pub(crate) const FORMAT_V8: u8 = 8;

/// Version 9 of `Tenant` (`direct_authz_token_digest` and `direct_authz_encryption_key`, the
/// direct authorisation API's bearer token digest and shared AES key, were added at the end; an
/// older tenant has neither, so the API refuses every call until the operator issues a token).
/// Version 4 of `OpaqueToken` arrived with it (`audience`, `act` and `dat` were added at the
/// end; an older token is shown to any client, names no impersonator and carries no data).
pub(crate) const FORMAT_V9: u8 = 9;

/// Version 10 of `Tenant` (`direct_authz_encryption_key`, 32 bare bytes, became
/// `direct_authz_encryption`: the key sealed by the server, with its JWE key management; a
/// version-9 key is kept unsealed, `dir`, until set again). Version 5 of `OpaqueToken` arrived
/// with it (`cls` and `uip`, what a direct authorisation releases at the userinfo endpoint,
/// were added at the end; an older token releases what its scope does).
/// Version 3 of `Session` arrived with it too (`data`, a broker's `sub_session.data`, was added
/// at the end; an older session carries none), and version 3 of `RefreshToken` (`validator`,
/// who vouched for a subject that is no local user, and `direct`, how a long-lived direct
/// authorisation's access tokens are made, were added at the end; an older token names a local
/// user and issues ordinary access tokens).
pub(crate) const FORMAT_V10: u8 = 10;

/// Largest encoded record the store writes; admin-API limits keep real records far smaller.
pub(crate) const MAX_RECORD_BYTES: usize = 1 << 20;

/// A model type the store keeps: where it lives and what must hold between it and its key.
pub(crate) trait Record: Sized {
    /// The keyspace of this kind of record.
    const SPACE: Space;

    /// The format version this kind of record is written in; see [`FORMAT_V1`].
    const FORMAT: u8 = FORMAT_V1;

    /// Decodes `archive`, the rkyv bytes of a record written in an older format `version` of
    /// this type (aligned for rkyv). `None` when the type never had that version: the record is
    /// then corrupt. The result is checked against its key like a current record.
    fn decode_legacy(version: u8, archive: &AlignedVec<16>) -> Option<Result<Self, String>> {
        let _ = (version, archive);
        None
    }

    /// Checks the record's own invariants and that it belongs under `key`.
    fn check(&self, key: &[u8]) -> Result<(), String>;

    /// When the record expires, for records in the expiry index.
    fn exp(&self) -> Option<UnixSecs> {
        None
    }
}

/// Encodes a record for `key`, refusing one that breaks its invariants (a bug in the caller,
/// reported as `Corrupt` because writing it would put a corrupt record on disk).
pub(crate) fn encode<T>(key: &[u8], record: &T) -> Result<Vec<u8>, StoreError>
where
    T: Record + for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rancor::Error>>,
{
    let corrupt = |detail: String| StoreError::Corrupt {
        key: keys::display_key(T::SPACE, key),
        detail: format!("refusing to write: {detail}"),
    };
    record.check(key).map_err(corrupt)?;
    let archive = rkyv::to_bytes::<rancor::Error>(record).map_err(|e| corrupt(e.to_string()))?;
    if archive.len() + 1 > MAX_RECORD_BYTES {
        return Err(corrupt(format!("record of {} bytes exceeds {MAX_RECORD_BYTES}", archive.len() + 1)));
    }
    let mut out = Vec::with_capacity(archive.len() + 1);
    out.push(T::FORMAT);
    out.extend_from_slice(&archive);
    Ok(out)
}

/// Decodes the record stored under `key` and checks its invariants.
pub(crate) fn decode<T>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError>
where
    T: Record + rkyv::Archive,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
        + rkyv::Deserialize<T, Strategy<Pool, rancor::Error>>,
{
    let corrupt = |detail: String| StoreError::Corrupt { key: keys::display_key(T::SPACE, key), detail };
    let (&version, archive) = bytes.split_first().ok_or_else(|| corrupt("empty value".to_owned()))?;
    // The archive follows a one-byte header and fjall's buffers promise no alignment, while
    // rkyv's checked access requires the archive's alignment: copy into an aligned buffer.
    let mut aligned = AlignedVec::<16>::with_capacity(archive.len());
    aligned.extend_from_slice(archive);
    let record = if version == T::FORMAT {
        rkyv::from_bytes::<T, rancor::Error>(&aligned).map_err(|e| corrupt(e.to_string()))?
    } else {
        match T::decode_legacy(version, &aligned) {
            Some(decoded) => decoded.map_err(|e| corrupt(format!("format version {version}: {e}")))?,
            None => return Err(corrupt(format!("unknown format version {version}"))),
        }
    };
    record.check(key).map_err(|detail| corrupt(format!("invariant violated: {detail}")))?;
    Ok(record)
}

/// Decodes the value of a username or e-mail index entry: the id of the user holding the name.
/// The index is not rkyv: its value is the bare id, checked like any id.
pub(crate) fn decode_index(space: Space, key: &[u8], value: &[u8]) -> Result<String, StoreError> {
    match std::str::from_utf8(value) {
        Ok(id) if is_valid_id(id) => Ok(id.to_owned()),
        _ => Err(StoreError::Corrupt {
            key: keys::display_key(space, key),
            detail: "index entry does not hold a user id".to_owned(),
        }),
    }
}

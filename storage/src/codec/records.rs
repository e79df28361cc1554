//! Each stored record type: its keyspace, its format version, and the invariants it must
//! satisfy against its key, asserted before it is written and after it is read.

use rkyv::api::high::HighValidator;
use rkyv::bytecheck::CheckBytes;
use rkyv::de::Pool;
use rkyv::rancor::{self, Strategy};
use rkyv::util::AlignedVec;
use tessera_core::model::{
    ApiKey, AuditEvent, Client, Consent, FederatedLink, KeyRecord, Lockout, OpaqueToken, RefreshToken,
    Revocation, Role, Session, Tenant, UnixSecs, UsedAssertion, User, is_valid_id,
};

use super::legacy::{
    ClientV1, ClientV2, OpaqueTokenV1, RefreshTokenV1, SessionV1, StoredCodeV1, TenantV1, TenantV2, TenantV3,
    TenantV4, UserV1, upgrade,
};
use super::legacy_broker::{OpaqueTokenV4, RefreshTokenV2, SessionV2, TenantV9};
use super::legacy_direct::OpaqueTokenV3;
use super::legacy_idps::{TenantV7, TenantV8};
use super::legacy_issuers::TenantV6;
use super::legacy_keys::KeyRecordV1;
use super::legacy_resources::{ClientV3, OpaqueTokenV2, StoredCodeV2, TenantV5};
use super::{
    FORMAT_V1, FORMAT_V2, FORMAT_V3, FORMAT_V4, FORMAT_V5, FORMAT_V6, FORMAT_V7, FORMAT_V8, FORMAT_V9,
    FORMAT_V10, Record, StoredCode, StoredFamily,
};
use crate::keys::{self, MAX_NAME_BYTES, Space};

fn check_id(what: &str, id: &str) -> Result<(), String> {
    if is_valid_id(id) { Ok(()) } else { Err(format!("{what} {id:?} is not a valid id")) }
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        Err(format!("{what} must be 1 to {MAX_NAME_BYTES} bytes"))
    } else {
        Ok(())
    }
}

/// The frozen layout `Old` archived in `archive`.
fn decode_as<Old>(archive: &AlignedVec<16>) -> Result<Old, String>
where
    Old: rkyv::Archive,
    Old::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
        + rkyv::Deserialize<Old, Strategy<Pool, rancor::Error>>,
{
    rkyv::from_bytes::<Old, rancor::Error>(archive).map_err(|e| e.to_string())
}

/// Decodes a record written in format version 1 through its frozen layout `Old`, for the types
/// whose only older format is version 1; `None` for any other version.
fn decode_v1<Old, New>(version: u8, archive: &AlignedVec<16>) -> Option<Result<New, String>>
where
    Old: rkyv::Archive + Into<New>,
    Old::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
        + rkyv::Deserialize<Old, Strategy<Pool, rancor::Error>>,
{
    (version == FORMAT_V1)
        .then(|| rkyv::from_bytes::<Old, rancor::Error>(archive).map(Into::into).map_err(|e| e.to_string()))
}

/// Checks that `key` is exactly `tenant \0 name`.
fn check_scoped(key: &[u8], tenant: &str, name: &[u8]) -> Result<(), String> {
    match keys::split_scoped(key) {
        Some((t, n)) if t == tenant.as_bytes() && n == name => Ok(()),
        _ => Err(format!("record of tenant {tenant:?} is stored under another key")),
    }
}

impl Record for Tenant {
    const SPACE: Space = Space::Tenants;
    const FORMAT: u8 = FORMAT_V10;

    fn check(&self, key: &[u8]) -> Result<(), String> {
        check_id("tenant id", &self.id)?;
        if key != self.id.as_bytes() {
            return Err(format!("tenant {:?} is stored under another key", self.id));
        }
        self.settings.validate()?;
        if self.direct_authz_encryption.as_ref().is_some_and(|k| !k.is_well_formed()) {
            return Err(format!(
                "tenant {:?}: the direct-authz encryption key has the wrong length",
                self.id
            ));
        }
        self.validate_resources()
    }

    fn decode_legacy(version: u8, archive: &AlignedVec<16>) -> Option<Result<Self, String>> {
        Some(match version {
            FORMAT_V9 => decode_as::<TenantV9>(archive).map(Tenant::from),
            FORMAT_V8 => decode_as::<TenantV8>(archive).map(Tenant::from),
            FORMAT_V7 => decode_as::<TenantV7>(archive).map(|v| upgrade!(v, TenantV8, Tenant)),
            FORMAT_V6 => decode_as::<TenantV6>(archive).map(|v| upgrade!(v, TenantV7, TenantV8, Tenant)),
            FORMAT_V5 => {
                decode_as::<TenantV5>(archive).map(|v| upgrade!(v, TenantV6, TenantV7, TenantV8, Tenant))
            }
            FORMAT_V4 => decode_as::<TenantV4>(archive)
                .map(|v| upgrade!(v, TenantV5, TenantV6, TenantV7, TenantV8, Tenant)),
            FORMAT_V3 => decode_as::<TenantV3>(archive)
                .map(|v| upgrade!(v, TenantV4, TenantV5, TenantV6, TenantV7, TenantV8, Tenant)),
            FORMAT_V2 => decode_as::<TenantV2>(archive)
                .map(|v| upgrade!(v, TenantV3, TenantV4, TenantV5, TenantV6, TenantV7, TenantV8, Tenant)),
            FORMAT_V1 => decode_as::<TenantV1>(archive).map(|v| {
                upgrade!(v, TenantV2, TenantV3, TenantV4, TenantV5, TenantV6, TenantV7, TenantV8, Tenant)
            }),
            _ => return None,
        })
    }
}

impl Record for Client {
    const SPACE: Space = Space::Clients;
    const FORMAT: u8 = FORMAT_V4;

    fn check(&self, key: &[u8]) -> Result<(), String> {
        check_id("tenant", &self.tenant)?;
        check_id("client_id", &self.client_id)?;
        if self.grants_valid_from < 0 {
            return Err("grants_valid_from is negative".into());
        }
        if let Some(limit) = &self.token_rate_limit {
            limit.validate("token_rate_limit")?;
        }
        check_scoped(key, &self.tenant, self.client_id.as_bytes())
    }

    fn decode_legacy(version: u8, archive: &AlignedVec<16>) -> Option<Result<Self, String>> {
        Some(match version {
            FORMAT_V3 => decode_as::<ClientV3>(archive).map(Client::from),
            FORMAT_V2 => decode_as::<ClientV2>(archive).map(|v| upgrade!(v, ClientV3, Client)),
            FORMAT_V1 => decode_as::<ClientV1>(archive).map(|v| upgrade!(v, ClientV2, ClientV3, Client)),
            _ => return None,
        })
    }
}

impl Record for ApiKey {
    const SPACE: Space = Space::ApiKeys;

    fn check(&self, key: &[u8]) -> Result<(), String> {
        self.validate()?;
        check_scoped(key, &self.tenant, self.id.as_bytes())
    }
}

impl Record for Lockout {
    const SPACE: Space = Space::Lockouts;

    fn check(&self, key: &[u8]) -> Result<(), String> {
        self.validate()?;
        if keys::lockout_key(self).as_deref() != Some(key) {
            return Err(format!("lockout of tenant {:?} is stored under another key", self.tenant));
        }
        Ok(())
    }
}

impl Record for UsedAssertion {
    const SPACE: Space = Space::Assertions;

    fn check(&self, key: &[u8]) -> Result<(), String> {
        self.validate()?;
        match keys::split_scoped(key) {
            Some((t, digest)) if t == self.tenant.as_bytes() && digest.len() == 32 => Ok(()),
            _ => Err(format!("used assertion of tenant {:?} is stored under another key", self.tenant)),
        }
    }

    fn exp(&self) -> Option<UnixSecs> {
        Some(self.expires_at)
    }
}

impl Record for FederatedLink {
    const SPACE: Space = Space::FederatedLinks;

    /// Its ids and subject are valid, and it lies under the key of exactly its tenant,
    /// identity provider and subject: a subject is checked on every read.
    fn check(&self, key: &[u8]) -> Result<(), String> {
        self.validate()?;
        if keys::link_key(&self.tenant, &self.idp, &self.subject).as_deref() == Some(key) {
            Ok(())
        } else {
            Err(format!("federated link of tenant {:?} is stored under another key", self.tenant))
        }
    }
}

impl Record for Role {
    const SPACE: Space = Space::Roles;

    fn check(&self, key: &[u8]) -> Result<(), String> {
        self.validate()?;
        check_scoped(key, &self.tenant, self.id.as_bytes())
    }
}

impl Record for KeyRecord {
    const SPACE: Space = Space::Keys;
    const FORMAT: u8 = FORMAT_V2;

    fn decode_legacy(version: u8, archive: &AlignedVec<16>) -> Option<Result<Self, String>> {
        decode_v1::<KeyRecordV1, _>(version, archive)
    }

    fn check(&self, key: &[u8]) -> Result<(), String> {
        check_id("tenant", &self.tenant)?;
        check_name("kid", &self.kid)?;
        check_scoped(key, &self.tenant, self.kid.as_bytes())
    }
}

impl Record for OpaqueToken {
    const SPACE: Space = Space::Tokens;
    const FORMAT: u8 = FORMAT_V5;

    fn decode_legacy(version: u8, archive: &AlignedVec<16>) -> Option<Result<Self, String>> {
        Some(match version {
            FORMAT_V4 => decode_as::<OpaqueTokenV4>(archive).map(OpaqueToken::from),
            FORMAT_V3 => decode_as::<OpaqueTokenV3>(archive).map(OpaqueToken::from),
            FORMAT_V2 => decode_as::<OpaqueTokenV2>(archive).map(OpaqueToken::from),
            FORMAT_V1 => decode_as::<OpaqueTokenV1>(archive).map(|v| upgrade!(v, OpaqueTokenV2, OpaqueToken)),
            _ => return None,
        })
    }

    fn check(&self, key: &[u8]) -> Result<(), String> {
        check_id("tenant", &self.tenant)?;
        check_id("client_id", &self.client_id)?;
        if self.exp < self.iat {
            return Err(format!("exp {} is before iat {}", self.exp, self.iat));
        }
        match keys::split_scoped(key) {
            Some((t, digest)) if t == self.tenant.as_bytes() && digest.len() == 32 => Ok(()),
            _ => Err(format!("token of tenant {:?} is stored under another key", self.tenant)),
        }
    }

    fn exp(&self) -> Option<UnixSecs> {
        Some(self.exp)
    }
}

impl Record for Revocation {
    const SPACE: Space = Space::Revocations;

    fn check(&self, key: &[u8]) -> Result<(), String> {
        check_id("tenant", &self.tenant)?;
        check_name("jti", &self.jti)?;
        check_scoped(key, &self.tenant, self.jti.as_bytes())
    }

    fn exp(&self) -> Option<UnixSecs> {
        Some(self.exp)
    }
}

impl Record for User {
    const SPACE: Space = Space::Users;
    const FORMAT: u8 = FORMAT_V2;

    fn decode_legacy(version: u8, archive: &AlignedVec<16>) -> Option<Result<Self, String>> {
        decode_v1::<UserV1, _>(version, archive)
    }

    fn check(&self, key: &[u8]) -> Result<(), String> {
        self.validate()?;
        check_scoped(key, &self.tenant, self.id.as_bytes())
    }
}

impl Record for StoredCode {
    const SPACE: Space = Space::Codes;
    const FORMAT: u8 = FORMAT_V3;

    fn decode_legacy(version: u8, archive: &AlignedVec<16>) -> Option<Result<Self, String>> {
        Some(match version {
            FORMAT_V2 => decode_as::<StoredCodeV2>(archive).map(StoredCode::from),
            FORMAT_V1 => decode_as::<StoredCodeV1>(archive).map(|v| upgrade!(v, StoredCodeV2, StoredCode)),
            _ => return None,
        })
    }

    fn check(&self, key: &[u8]) -> Result<(), String> {
        let code = &self.code;
        check_id("tenant", &code.tenant)?;
        check_id("client_id", &code.client_id)?;
        if code.expires_at < code.issued_at {
            return Err(format!("expires_at {} is before issued_at {}", code.expires_at, code.issued_at));
        }
        match keys::split_scoped(key) {
            Some((t, digest)) if t == code.tenant.as_bytes() && digest.len() == 32 => Ok(()),
            _ => Err(format!("code of tenant {:?} is stored under another key", code.tenant)),
        }
    }

    fn exp(&self) -> Option<UnixSecs> {
        Some(self.code.expires_at)
    }
}

/// Checks that `key` is `tenant \0 digest` with a 32-byte digest: records stored under the
/// SHA-256 of a secret.
fn check_digest_key(key: &[u8], tenant: &str, what: &str) -> Result<(), String> {
    match keys::split_scoped(key) {
        Some((t, digest)) if t == tenant.as_bytes() && digest.len() == 32 => Ok(()),
        _ => Err(format!("{what} of tenant {tenant:?} is stored under another key")),
    }
}

/// Checks that a record ends after it begins: a zero-length life is a caller's bug.
fn check_lifetime(start: (&str, UnixSecs), expires_at: UnixSecs) -> Result<(), String> {
    let (what, at) = start;
    if expires_at > at { Ok(()) } else { Err(format!("expires_at {expires_at} is not after {what} {at}")) }
}

impl Record for Session {
    const SPACE: Space = Space::Sessions;
    const FORMAT: u8 = FORMAT_V3;

    fn decode_legacy(version: u8, archive: &AlignedVec<16>) -> Option<Result<Self, String>> {
        Some(match version {
            FORMAT_V2 => decode_as::<SessionV2>(archive).map(Session::from),
            FORMAT_V1 => decode_as::<SessionV1>(archive).map(Session::from),
            _ => return None,
        })
    }

    fn check(&self, key: &[u8]) -> Result<(), String> {
        check_id("tenant", &self.tenant)?;
        check_id("sid", &self.auth.sid)?;
        check_id("sub", &self.auth.sub)?;
        check_lifetime(("created_at", self.created_at), self.expires_at)?;
        check_digest_key(key, &self.tenant, "session")
    }

    fn exp(&self) -> Option<UnixSecs> {
        Some(self.expires_at)
    }
}

impl Record for Consent {
    const SPACE: Space = Space::Consents;

    fn check(&self, key: &[u8]) -> Result<(), String> {
        check_id("tenant", &self.tenant)?;
        check_id("user_id", &self.user_id)?;
        check_id("client_id", &self.client_id)?;
        // Sorted without repeats, as the model promises: merging a new grant relies on it.
        if !self.scope.windows(2).all(|w| w[0] < w[1]) {
            return Err("scope is not sorted or has repeats".to_owned());
        }
        if keys::consent_key(&self.tenant, &self.user_id, &self.client_id).as_deref() == Some(key) {
            Ok(())
        } else {
            Err(format!("consent of tenant {:?} is stored under another key", self.tenant))
        }
    }
}

impl Record for RefreshToken {
    const SPACE: Space = Space::RefreshTokens;
    const FORMAT: u8 = FORMAT_V3;

    fn decode_legacy(version: u8, archive: &AlignedVec<16>) -> Option<Result<Self, String>> {
        Some(match version {
            FORMAT_V2 => decode_as::<RefreshTokenV2>(archive).map(RefreshToken::from),
            FORMAT_V1 => decode_as::<RefreshTokenV1>(archive).map(RefreshToken::from),
            _ => return None,
        })
    }

    fn check(&self, key: &[u8]) -> Result<(), String> {
        check_id("tenant", &self.tenant)?;
        check_id("family", &self.family)?;
        check_id("client_id", &self.client_id)?;
        check_id("sub", &self.auth.sub)?;
        check_lifetime(("issued_at", self.issued_at), self.expires_at)?;
        check_digest_key(key, &self.tenant, "refresh token")
    }

    fn exp(&self) -> Option<UnixSecs> {
        Some(self.expires_at)
    }
}

impl Record for StoredFamily {
    const SPACE: Space = Space::RefreshFamilies;

    fn check(&self, key: &[u8]) -> Result<(), String> {
        check_id("tenant", &self.tenant)?;
        check_id("family", &self.family)?;
        if let Some(client_id) = &self.client_id {
            check_id("client_id", client_id)?;
        }
        if let Some(sub) = &self.sub {
            check_id("sub", sub)?;
        }
        // Only a revocation creates a family without a first token.
        if self.client_id.is_none() != self.sub.is_none()
            || (self.client_id.is_none() && self.revoked_at.is_none())
        {
            return Err("a family without client and subject must be a revoked tombstone".to_owned());
        }
        check_scoped(key, &self.tenant, self.family.as_bytes())
    }

    fn exp(&self) -> Option<UnixSecs> {
        Some(self.expires_at)
    }
}

impl Record for AuditEvent {
    const SPACE: Space = Space::Events;

    fn check(&self, key: &[u8]) -> Result<(), String> {
        check_id("tenant id", &self.tenant)?;
        check_scoped(key, &self.tenant, self.id.as_bytes())?;
        self.validate()
    }
}

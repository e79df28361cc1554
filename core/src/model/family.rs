//! The record of a refresh-token family, as a store keeps it: what the family rules
//! (`crate::rules::refresh`) decide over, and what a listing of a subject's grants shows. Here
//! rather than with the rules so the store contract can name it without depending on them.

use super::{RefreshToken, UnixSecs};

/// What a store keeps for a refresh-token family: whether it is revoked, and how long the
/// record must live (as long as its longest-lived token, so a token never outlives the record
/// that says whether it may be used). A family revoked before its first token was stored is a
/// *tombstone*: `client_id` and `sub` are unknown, and it lives until the `until` it was given.
///
/// Stored as is by the embedded store (format version 1): its fields, their order and their
/// types are an archived layout on disk.
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFamily {
    /// The tenant.
    pub tenant: String,
    /// The family id.
    pub family: String,
    /// The client its tokens were issued to; `None` for a tombstone.
    pub client_id: Option<String>,
    /// The end-user; `None` for a tombstone.
    pub sub: Option<String>,
    /// When it was revoked (a reuse, a revocation request, a replayed code).
    pub revoked_at: Option<UnixSecs>,
    /// When the record may go: no earlier than the expiry of its longest-lived token.
    pub expires_at: UnixSecs,
}

impl StoredFamily {
    /// The family a first token founds.
    pub fn founded_by(token: &RefreshToken) -> Self {
        Self {
            tenant: token.tenant.clone(),
            family: token.family.clone(),
            client_id: Some(token.client_id.clone()),
            sub: Some(token.auth.sub.clone()),
            revoked_at: None,
            expires_at: token.expires_at,
        }
    }

    /// Whether its tokens may be used at `now`: not revoked and not expired (an expired
    /// family is as good as gone; the backend just has not removed it yet).
    pub fn is_live(&self, now: UnixSecs) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

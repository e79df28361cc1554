//! Expiry: the sweeper's due expiry-index entries, applied in the writer. A session or a
//! refresh-token family leaves with its by-user index entry.

use fjall::Slice;
use tessera_core::model::{Lockout, OpaqueToken, RefreshToken, Revocation, Session, UnixSecs, UsedAssertion};
use tessera_core::store::StoreError;

use super::round::Round;
use crate::codec::{self, StoredCode, StoredFamily};
use crate::keys::{self, ExpiryKind, Space};
use crate::state::io;

/// The `exp` of a stored token or revocation, or `None` if it does not decode (then it stays
/// where it is for someone to look at, and readers get `Corrupt`).
pub(super) fn stored_exp(kind: ExpiryKind, key: &[u8], value: &[u8]) -> Option<UnixSecs> {
    expiring(kind, key, value).map(|(exp, _)| exp)
}

/// The by-user index entry that leaves with a record: its keyspace and key.
type ByUserEntry = Option<(Space, Vec<u8>)>;

/// The `exp` of a stored record and the by-user index entry that goes with it (a session's or
/// a family's), or `None` if it does not decode.
fn expiring(kind: ExpiryKind, key: &[u8], value: &[u8]) -> Option<(UnixSecs, ByUserEntry)> {
    let decoded = match kind {
        ExpiryKind::Token => codec::decode::<OpaqueToken>(key, value).map(|t| (t.exp, None)),
        ExpiryKind::Revocation => codec::decode::<Revocation>(key, value).map(|r| (r.exp, None)),
        ExpiryKind::Code => codec::decode::<StoredCode>(key, value).map(|c| (c.code.expires_at, None)),
        ExpiryKind::Session => codec::decode::<Session>(key, value).map(|s| {
            let entry = keys::session_user_key(key, &s.auth.sub).map(|e| (Space::SessionUsers, e));
            (s.expires_at, entry)
        }),
        ExpiryKind::RefreshToken => codec::decode::<RefreshToken>(key, value).map(|t| (t.expires_at, None)),
        ExpiryKind::RefreshFamily => codec::decode::<StoredFamily>(key, value).map(|f| {
            let entry = f.sub.as_deref().and_then(|sub| keys::family_user_key(&f.tenant, sub, &f.family));
            (f.expires_at, entry.map(|e| (Space::FamilyUsers, e)))
        }),
        ExpiryKind::Lockout => codec::decode::<Lockout>(key, value).map(|l| (l.until, None)),
        ExpiryKind::Assertion => codec::decode::<UsedAssertion>(key, value).map(|a| (a.expires_at, None)),
    };
    match decoded {
        Ok(found) => Some(found),
        Err(err) => {
            tracing::warn!(error = %err, "expiring record does not decode; left in place");
            None
        }
    }
}

/// Handles expiry-index entries that came due at `now`. The record is re-read here, in the
/// writer, because it may have been rewritten with a later `exp` since the sweeper saw the entry
/// (the rewrite made its own entry).
pub(super) fn expire(round: &mut Round<'_>, index_keys: &[Slice], now: UnixSecs) -> Result<(), StoreError> {
    round.flush()?;
    let shared = round.shared;
    let heard = round.heard();
    for raw in index_keys {
        round.batch.remove(shared.space(Space::Expiry), raw.clone());
        let Some(entry) = keys::parse_expiry_key(raw) else {
            tracing::warn!("malformed expiry-index key dropped");
            continue;
        };
        let space = entry.kind.space();
        let Some(value) = shared.space(space).get(entry.key).map_err(io)? else {
            continue;
        };
        if let Some((exp, by_user)) = expiring(entry.kind, entry.key, &value)
            && exp <= now
        {
            if let Some((index, index_key)) = by_user {
                round.delete(index, index_key);
            }
            round.delete(space, entry.key.to_vec());
        }
    }
    round.unhear_since(heard, None);
    round.flush()
}

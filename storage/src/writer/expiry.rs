//! Expiry: the sweeper's due expiry-index entries, applied in the writer.

use fjall::Slice;
use tessera_core::model::{OpaqueToken, RefreshToken, Revocation, Session, UnixSecs};
use tessera_core::store::StoreError;

use super::round::Round;
use crate::codec::{self, StoredCode, StoredFamily};
use crate::keys::{self, ExpiryKind, Space};
use crate::state::io;

/// The `exp` of a stored token or revocation, or `None` if it does not decode (then it stays
/// where it is for someone to look at, and readers get `Corrupt`).
pub(super) fn stored_exp(kind: ExpiryKind, key: &[u8], value: &[u8]) -> Option<UnixSecs> {
    let exp = match kind {
        ExpiryKind::Token => codec::decode::<OpaqueToken>(key, value).map(|t| t.exp),
        ExpiryKind::Revocation => codec::decode::<Revocation>(key, value).map(|r| r.exp),
        ExpiryKind::Code => codec::decode::<StoredCode>(key, value).map(|c| c.code.expires_at),
        ExpiryKind::Session => codec::decode::<Session>(key, value).map(|s| s.expires_at),
        ExpiryKind::RefreshToken => codec::decode::<RefreshToken>(key, value).map(|t| t.expires_at),
        ExpiryKind::RefreshFamily => codec::decode::<StoredFamily>(key, value).map(|f| f.expires_at),
    };
    match exp {
        Ok(exp) => Some(exp),
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
        if stored_exp(entry.kind, entry.key, &value).is_some_and(|exp| exp <= now) {
            round.delete(space, entry.key.to_vec());
        }
    }
    round.unhear_since(heard, None);
    round.flush()
}

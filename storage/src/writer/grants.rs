//! The transactions of grants: taking an authorization code, storing a family's first refresh
//! token, using a refresh token, revoking a family, revoking every family of an end-user
//! (found through the by-user index, `keys::Space::FamilyUsers`, which every write of a family
//! record that names its end-user keeps). Each reads the records the decision needs,
//! calls the rule in `tessera_core::rules` that decides, and applies the writes the rule lists
//! to this round's batch: the writer thread makes the read and the writes one atomic step, and
//! the round's fsync makes them durable before anyone hears the outcome. Nothing here decides
//! an outcome; it maps records to keys and encodings, and refusals to `StoreError`s.

use tessera_core::model::{RefreshToken, UnixSecs, UsedAssertion};
use tessera_core::rules::code::{self, CodeWrite};
use tessera_core::rules::refresh::{self, Expiry, Presentation, RefreshWrite, Refused};
use tessera_core::store::{CodeTaken, StoreError};
use tokio::sync::oneshot;

use super::round::Round;
use super::{Refusable, UseRefresh, read, refuse_or};
use crate::codec::{self, StoredCode, StoredFamily};
use crate::keys::{self, Space};
use crate::state::io;

/// Takes the code under `key` at `now` ([`code::take`]) and sends what was found to `outcome`
/// (the caller reads it once the round's fsync says the used mark is durable). The used record
/// keeps its `expires_at`, so the expiry-index entry `put_code` made still points at it and
/// the sweeper removes it on time. The flush first makes every earlier write of this round (the
/// code's put, an earlier take of it) visible to the read.
pub(super) fn take_code(
    round: &mut Round<'_>,
    key: Vec<u8>,
    now: UnixSecs,
    outcome: oneshot::Sender<CodeTaken>,
) -> Refusable<()> {
    round.flush()?;
    let stored = refuse_or!(read::<StoredCode>(round.shared, &key)?);
    let decision = code::take(stored, now);
    if let Some(write) = decision.write {
        let CodeWrite::MarkUsed(used) = write;
        let value = refuse_or!(codec::encode(&key, &used));
        round.put(Space::Codes, key, value, None);
    }
    // A caller that gave up no longer listens.
    let _ = outcome.send(decision.outcome);
    Ok(Ok(()))
}

/// Records the JWT bearer assertion under `key` as used (`value`, expiring at `exp`) unless
/// a record of it is live at `now`, and sends whether this was its first use to `outcome`.
/// A record past its expiry (not swept yet) guards nothing and is replaced. The flush makes an
/// earlier use in this round visible to the read.
pub(super) fn use_assertion(
    round: &mut Round<'_>,
    (key, value, exp): (Vec<u8>, Vec<u8>, UnixSecs),
    now: UnixSecs,
    outcome: oneshot::Sender<bool>,
) -> Refusable<()> {
    round.flush()?;
    let stored = refuse_or!(read::<UsedAssertion>(round.shared, &key)?);
    let first = stored.is_none_or(|used| used.expires_at <= now);
    if first {
        round.put(Space::Assertions, key, value, Some(exp));
    }
    // A caller that gave up no longer listens.
    let _ = outcome.send(first);
    Ok(Ok(()))
}

/// Stores the first token of a family ([`refresh::first_token`]): refused with `Conflict` if
/// the family is revoked, else written with its family record created or extended to outlive
/// it. The flush makes a revocation earlier in this round visible.
pub(super) fn put_refresh(
    round: &mut Round<'_>,
    key: Vec<u8>,
    value: Vec<u8>,
    token: &RefreshToken,
) -> Refusable<()> {
    round.flush()?;
    let family_key = refuse_or!(family_key_of(token, &key));
    let family = refuse_or!(read::<StoredFamily>(round.shared, &family_key)?);
    let decision = match refresh::first_token(token, family) {
        Ok(decision) => decision,
        Err(refused) => return Ok(Err(refusal(&refused, &key, &key))),
    };
    let new = Put { space: Space::RefreshTokens, key, value, exp: Some(token.expires_at) };
    let puts = refuse_or!(encode_writes(decision.writes, Some(new), &[], &family_key));
    apply(round, puts);
    Ok(Ok(()))
}

/// Presents a refresh token ([`refresh::use_token`]) and sends what was found to its
/// `outcome`. Only the family of a token that can be used at all is read: the rule answers
/// `Unknown` for the others whatever their family says. The flush makes earlier writes of this
/// round (the token's put, an earlier use) visible to the reads.
pub(super) fn use_refresh(round: &mut Round<'_>, use_: UseRefresh) -> Refusable<()> {
    let UseRefresh { key, digest, next_key, next_digest, next_value, next, now, grace_secs, outcome } = use_;
    round.flush()?;
    let shared = round.shared;
    let token = refuse_or!(read::<RefreshToken>(shared, &key)?);
    let (family_key, family) = match token.as_ref().filter(|t| refresh::is_usable(t, now)) {
        Some(usable) => {
            let family_key = refuse_or!(family_key_of(usable, &key));
            let family = refuse_or!(read::<StoredFamily>(shared, &family_key)?);
            (family_key, family)
        }
        None => (Vec::new(), None),
    };
    let presented = Presentation {
        digest: &digest,
        token,
        family,
        successor_digest: &next_digest,
        successor: &next,
        now,
        grace_secs,
    };
    let decision = match refresh::use_token(presented) {
        Ok(decision) => decision,
        Err(refused) => return Ok(Err(refusal(&refused, &key, &next_key))),
    };
    let new =
        Put { space: Space::RefreshTokens, key: next_key, value: next_value, exp: Some(next.expires_at) };
    // A family write comes only with a family that was read, so `family_key` is set for it.
    let puts = refuse_or!(encode_writes(decision.writes, Some(new), &key, &family_key));
    apply(round, puts);
    let _ = outcome.send(decision.outcome);
    Ok(Ok(()))
}

/// Revokes a family at `now`, keeping it at least until `until` ([`refresh::revoke`]); a
/// family not stored yet gets a revoked tombstone. A family record that does not decode is
/// passed to the rule as absent, so the tombstone replaces it: revocation must win over a
/// damaged record.
pub(super) fn revoke_family(
    round: &mut Round<'_>,
    key: Vec<u8>,
    family: (&str, &str),
    until: UnixSecs,
    now: UnixSecs,
) -> Refusable<()> {
    round.flush()?;
    let stored = match read::<StoredFamily>(round.shared, &key)? {
        Ok(stored) => stored,
        Err(err) => {
            tracing::warn!(error = %err, "revoking a refresh-token family whose record does not decode");
            None
        }
    };
    let decision = refresh::revoke(stored, family, until, now);
    let puts = refuse_or!(encode_writes(decision.writes, None, &[], &key));
    apply(round, puts);
    Ok(Ok(()))
}

/// Revokes every family of end-user `sub` of `tenant` at `now`, each kept at least until
/// `until` ([`refresh::revoke`], as [`revoke_family`] does one), found through the by-user
/// entries under `prefix` (`tenant \0 sub \0`). An entry whose family is gone is dropped; a
/// family record that does not decode is revoked as a tombstone, as in [`revoke_family`]. The
/// flush makes families written earlier in this round visible to the scan.
pub(super) fn revoke_families_of_user(
    round: &mut Round<'_>,
    prefix: &[u8],
    (tenant, sub): (&str, &str),
    until: UnixSecs,
    now: UnixSecs,
) -> Refusable<()> {
    round.flush()?;
    let shared = round.shared;
    let entries = shared
        .space(Space::FamilyUsers)
        .prefix(prefix)
        .map(|guard| guard.key().map_err(io))
        .collect::<Result<Vec<_>, _>>()?;
    let mut puts = Vec::new();
    for entry in entries {
        let Some(family_key) = keys::family_of_user_entry(&entry) else {
            continue;
        };
        let stored = match read::<StoredFamily>(shared, &family_key)? {
            Ok(Some(family)) if family.sub.as_deref() == Some(sub) => Some(family),
            // Gone, or (entries are written from the record, so not expected) another's: the
            // entry is stale.
            Ok(_) => {
                round.delete(Space::FamilyUsers, entry.to_vec());
                continue;
            }
            // Revoked as a tombstone, which names no end-user: its entry goes too.
            Err(err) => {
                tracing::warn!(error = %err, "revoking a refresh-token family whose record does not decode");
                round.delete(Space::FamilyUsers, entry.to_vec());
                None
            }
        };
        let Some(family_id) = keys::split_scoped(&family_key).and_then(|(_, f)| std::str::from_utf8(f).ok())
        else {
            continue;
        };
        let decision = refresh::revoke(stored, (tenant, family_id), until, now);
        puts.extend(refuse_or!(encode_writes(decision.writes, None, &[], &family_key)));
    }
    apply(round, puts);
    Ok(Ok(()))
}

/// One record to put in the round's batch; `exp` indexes it for expiry.
struct Put {
    space: Space,
    key: Vec<u8>,
    value: Vec<u8>,
    exp: Option<UnixSecs>,
}

/// Encodes a refresh rule's writes, in order: `new` is the put of the token the request
/// brings ([`RefreshWrite::PutNew`]), `presented` the key of the presented token, `family` the
/// family's key. Everything is encoded before anything is put, so a record that cannot be
/// written refuses the whole request and leaves the batch untouched.
fn encode_writes(
    writes: Vec<RefreshWrite>,
    mut new: Option<Put>,
    presented: &[u8],
    family: &[u8],
) -> Result<Vec<Put>, StoreError> {
    let mut puts = Vec::with_capacity(writes.len());
    for write in writes {
        match write {
            // The rules ask for the new token once at most.
            RefreshWrite::PutNew => puts.extend(new.take()),
            RefreshWrite::MarkRotated(rotated) => {
                // The same `expires_at`: the token's expiry entry stays valid, no new one.
                let value = codec::encode(presented, &rotated)?;
                puts.push(Put { space: Space::RefreshTokens, key: presented.to_vec(), value, exp: None });
            }
            RefreshWrite::PutFamily { family: record, expiry } => {
                let value = codec::encode(family, &record)?;
                let exp = match expiry {
                    Expiry::New => Some(record.expires_at),
                    Expiry::Kept => None,
                };
                // Written with every family record that names its end-user, not only a new
                // one: a family stored before the index existed joins it when next written.
                let entry = record
                    .sub
                    .as_deref()
                    .and_then(|sub| keys::family_user_key(&record.tenant, sub, &record.family));
                puts.extend(entry.map(|key| Put {
                    space: Space::FamilyUsers,
                    key,
                    value: Vec::new(),
                    exp: None,
                }));
                puts.push(Put { space: Space::RefreshFamilies, key: family.to_vec(), value, exp });
            }
        }
    }
    Ok(puts)
}

fn apply(round: &mut Round<'_>, puts: Vec<Put>) {
    for Put { space, key, value, exp } in puts {
        round.put(space, key, value, exp);
    }
}

fn family_key_of(token: &RefreshToken, key: &[u8]) -> Result<Vec<u8>, StoreError> {
    keys::family_key(&token.tenant, &token.family).ok_or_else(|| StoreError::Corrupt {
        key: keys::display_key(Space::RefreshTokens, key),
        detail: "refusing to write: invalid family id".to_owned(),
    })
}

/// The error a refused refresh write answers: a revoked family is a conflict the caller lost
/// (the code was replayed meanwhile); anything else is a caller's bug that would write a
/// corrupt record, reported under the key of the token at fault (`presented`, or `successor`).
fn refusal(refused: &Refused, presented: &[u8], successor: &[u8]) -> StoreError {
    let corrupt = |key: &[u8]| StoreError::Corrupt {
        key: keys::display_key(Space::RefreshTokens, key),
        detail: format!("refusing to write: {refused}"),
    };
    match refused {
        Refused::FamilyRevoked => StoreError::Conflict(refused.to_string()),
        Refused::FamilyOfAnotherClient => corrupt(presented),
        Refused::SuccessorOfAnotherFamily | Refused::SuccessorNotNew => corrupt(successor),
    }
}

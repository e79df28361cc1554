//! Refresh-token families: rotation on use, a grace period for a client's retry, reuse
//! detection that revokes the whole family (OAuth 2.0 Security BCP 4.14.2), and revocation
//! tombstones for families whose first token has not arrived yet.
//!
//! Every token belongs to a family, the chain of rotations that began with one authorization;
//! the family record says whether its tokens may still be used and lives as long as its
//! longest-lived token. A backend reads the presented token and its family, calls a rule here,
//! and applies the returned [`RefreshWrite`]s in the same atomic step, so of concurrent uses of
//! one token exactly one rotates it.

// rkyv's derives generate archived twins without docs (the record is stored by the storage
// crate); the types themselves are documented and checked by the build without it.
#![cfg_attr(feature = "rkyv", allow(missing_docs))]

pub use crate::model::StoredFamily;
use crate::model::{RefreshToken, UnixSecs};
use crate::store::RefreshUse;

/// Whether a write moves a record's expiry. A backend that indexes records by expiry adds an
/// entry for a new one (the old entry, when due, finds the record still live and only drops
/// itself); one with an expiry column just writes the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// The record is new, or lives longer than before.
    New,
    /// The record keeps the expiry it had.
    Kept,
}

/// A write a refresh rule asks of the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
// One or two per refresh, applied at once and dropped: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum RefreshWrite {
    /// Store the token the request brings: the family's first token, or the successor of a
    /// rotation. It is new, and so is its expiry.
    PutNew,
    /// Replace the presented token with this copy of it, marked rotated. Its expiry is kept.
    MarkRotated(RefreshToken),
    /// Put this family record (created, extended or revoked).
    PutFamily {
        /// The record.
        family: StoredFamily,
        /// Whether its expiry moved.
        expiry: Expiry,
    },
}

/// Why a refresh write is refused, writing nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The family of a first token is revoked: the code it came from was replayed while it was
    /// being exchanged (the replay's tombstone came first). A race the caller loses, not a bug.
    #[error("the refresh-token family is revoked")]
    FamilyRevoked,
    /// The stored family of a first token belongs to another client: a caller's bug.
    #[error("the family belongs to another client")]
    FamilyOfAnotherClient,
    /// The successor of a rotation is not of the presented token's tenant, family and client:
    /// a caller's bug.
    #[error("the successor is not of the same tenant, family and client")]
    SuccessorOfAnotherFamily,
    /// The successor is the presented token itself, or already rotated: a caller's bug.
    #[error("the successor must be a new, unrotated token")]
    SuccessorNotNew,
}

/// What storing a family's first token found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstToken {
    /// No family record yet: the token founds its family.
    Founds,
    /// The family is stored and not revoked (the first token stored again, say): the token
    /// joins it.
    Joins,
}

/// The decision of storing a first token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstTokenDecision {
    /// What was found.
    pub outcome: FirstToken,
    /// The writes to apply atomically with the read: the token, and the family record when it
    /// is new or must be extended to outlive the token.
    pub writes: Vec<RefreshWrite>,
}

/// Stores the first token of a family whose stored record is `family` (`None` if there is
/// none): refused with [`Refused::FamilyRevoked`] if the family is revoked (a tombstone left by
/// a code replay, say), else the token is written with its family created or extended.
pub fn first_token(
    token: &RefreshToken,
    family: Option<StoredFamily>,
) -> Result<FirstTokenDecision, Refused> {
    let (outcome, family) = match family {
        Some(f) if f.revoked_at.is_some() => return Err(Refused::FamilyRevoked),
        Some(f) if f.client_id.as_deref() != Some(token.client_id.as_str()) => {
            return Err(Refused::FamilyOfAnotherClient);
        }
        Some(f) => (FirstToken::Joins, cover(f, true, token.expires_at)),
        None => (FirstToken::Founds, cover(StoredFamily::founded_by(token), false, token.expires_at)),
    };
    let mut writes = vec![RefreshWrite::PutNew];
    writes.extend(family);
    Ok(FirstTokenDecision { outcome, writes })
}

/// The write that makes `family` (new, or `stored` already) live at least until `expires_at`,
/// or `None` if the stored record already does.
fn cover(family: StoredFamily, stored: bool, expires_at: UnixSecs) -> Option<RefreshWrite> {
    if stored && family.expires_at >= expires_at {
        return None;
    }
    let family = StoredFamily { expires_at: family.expires_at.max(expires_at), ..family };
    Some(RefreshWrite::PutFamily { family, expiry: Expiry::New })
}

/// Whether a stored token can be used at `now` as far as it alone says: not expired. A backend
/// need not read the family of a token that is not (it is `Unknown` whatever its family says).
pub fn is_usable(token: &RefreshToken, now: UnixSecs) -> bool {
    token.expires_at > now
}

/// Whether the tokens of a family, found as `family` (`None` if absent), count as revoked at
/// `now`. A family outlives its tokens: one that is gone or expired was revoked and removed,
/// or its tenant is going; revoked either way.
pub fn is_revoked(family: Option<&StoredFamily>, now: UnixSecs) -> bool {
    !family.is_some_and(|f| f.is_live(now))
}

/// A refresh token presented at the token endpoint, with the state a backend read for it.
#[derive(Clone, Debug)]
pub struct Presentation<'a> {
    /// The digest the token was presented under.
    pub digest: &'a [u8; 32],
    /// The token stored under it, if any.
    pub token: Option<RefreshToken>,
    /// Its family's record, if any. A backend may skip reading it for a token that is not
    /// [`is_usable`].
    pub family: Option<StoredFamily>,
    /// The digest the successor is to be stored under.
    pub successor_digest: &'a [u8; 32],
    /// The successor the caller built, to store if the token may be used.
    pub successor: &'a RefreshToken,
    /// The time of the request.
    pub now: UnixSecs,
    /// How long after its rotation a token may still be used (a retry); 0 for no grace at all.
    pub grace_secs: u32,
}

/// The decision of a refresh-token use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshDecision {
    /// The answer, given once `writes` are durable: a rotation or a revocation must be before
    /// the caller acts on it.
    pub outcome: RefreshUse,
    /// The writes to apply atomically with the reads.
    pub writes: Vec<RefreshWrite>,
}

/// Presents a refresh token (see [`Presentation`]):
/// - absent, expired, or of a revoked (or vanished, or expired) family: `Unknown`, nothing
///   written;
/// - a successor that is not a new, unrotated token of the same tenant, family and client:
///   refused (checked only once the token is known to be usable);
/// - current: marked rotated at `now`, the successor stored, the family extended to outlive
///   it: `Rotated`;
/// - rotated at most `grace_secs` ago (and `grace_secs > 0`): the successor stored too,
///   the token left as it was: `Retried`;
/// - rotated longer ago: the family revoked at `now`: `Reused`.
///
/// A grace of 0 means none at all, so two uses within one second are a reuse, not a retry.
/// The rotated token keeps its `expires_at`; so does the revoked family, which must outlive
/// its tokens to keep saying they are revoked.
pub fn use_token(presented: Presentation<'_>) -> Result<RefreshDecision, Refused> {
    let Presentation { digest, token, family, successor_digest, successor: next, now, grace_secs } =
        presented;
    let unknown = Ok(RefreshDecision { outcome: RefreshUse::Unknown, writes: Vec::new() });
    let Some(token) = token.filter(|t| is_usable(t, now)) else {
        return unknown;
    };
    let Some(family) = family.filter(|f| f.is_live(now)) else {
        return unknown;
    };
    if next.tenant != token.tenant || next.family != token.family || next.client_id != token.client_id {
        return Err(Refused::SuccessorOfAnotherFamily);
    }
    if successor_digest == digest || next.rotated_at.is_some() {
        return Err(Refused::SuccessorNotNew);
    }
    let (outcome, writes) = match token.rotated_at {
        None => {
            let rotated = RefreshToken { rotated_at: Some(now), ..token.clone() };
            let mut writes = vec![RefreshWrite::MarkRotated(rotated), RefreshWrite::PutNew];
            writes.extend(cover(family, true, next.expires_at));
            (RefreshUse::Rotated(token), writes)
        }
        Some(at) if grace_secs > 0 && now.saturating_sub(at) <= i64::from(grace_secs) => {
            let mut writes = vec![RefreshWrite::PutNew];
            writes.extend(cover(family, true, next.expires_at));
            (RefreshUse::Retried(token), writes)
        }
        Some(_) => {
            let family = StoredFamily { revoked_at: Some(now), ..family };
            (RefreshUse::Reused(token), vec![RefreshWrite::PutFamily { family, expiry: Expiry::Kept }])
        }
    };
    Ok(RefreshDecision { outcome, writes })
}

/// What revoking a family found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoke {
    /// The family was stored and not revoked: it is now.
    Revoked,
    /// The family was revoked before; its first `revoked_at` stands.
    AlreadyRevoked,
    /// No family was stored: a revoked tombstone now stands in for it, so a first token
    /// arriving later is refused.
    Tombstone,
}

/// The decision of a family revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeDecision {
    /// What was found.
    pub outcome: Revoke,
    /// The writes to apply atomically with the read (none if the stored record already says
    /// it all).
    pub writes: Vec<RefreshWrite>,
}

/// Revokes family `family_id` of `tenant` at `now`, keeping its record at least until `until`,
/// given its stored record (`None` if there is none). A backend that finds a record it cannot
/// decode passes `None`: revocation must win over a damaged record, which the tombstone
/// replaces.
pub fn revoke(
    stored: Option<StoredFamily>,
    (tenant, family_id): (&str, &str),
    until: UnixSecs,
    now: UnixSecs,
) -> RevokeDecision {
    match stored {
        Some(f) if f.revoked_at.is_some() && f.expires_at >= until => {
            RevokeDecision { outcome: Revoke::AlreadyRevoked, writes: Vec::new() }
        }
        Some(f) => {
            let outcome = if f.revoked_at.is_some() { Revoke::AlreadyRevoked } else { Revoke::Revoked };
            let expires_at = f.expires_at.max(until);
            let expiry = if expires_at == f.expires_at { Expiry::Kept } else { Expiry::New };
            let family = StoredFamily { revoked_at: f.revoked_at.or(Some(now)), expires_at, ..f };
            RevokeDecision { outcome, writes: vec![RefreshWrite::PutFamily { family, expiry }] }
        }
        None => {
            let family = StoredFamily {
                tenant: tenant.to_owned(),
                family: family_id.to_owned(),
                client_id: None,
                sub: None,
                revoked_at: Some(now),
                expires_at: until,
            };
            RevokeDecision {
                outcome: Revoke::Tombstone,
                writes: vec![RefreshWrite::PutFamily { family, expiry: Expiry::New }],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Authentication;

    const ISSUED: UnixSecs = 1_700_000_000;
    const EXPIRES: UnixSecs = ISSUED + 3_600;
    const ROTATED: UnixSecs = ISSUED + 100;
    const GRACE: u32 = 10;
    const DIGEST: [u8; 32] = [1; 32];
    const NEXT_DIGEST: [u8; 32] = [2; 32];

    fn token(rotated_at: Option<UnixSecs>) -> RefreshToken {
        RefreshToken {
            tenant: "acme".into(),
            family: "fam-1".into(),
            client_id: "web".into(),
            scope: "openid offline_access".into(),
            auth: Authentication {
                sub: "alice".into(),
                sid: "sid-1".into(),
                auth_time: ISSUED - 10,
                acr: None,
                amr: vec!["pwd".into()],
            },
            issued_at: ISSUED,
            expires_at: EXPIRES,
            rotated_at,
            validator: None,
            direct: None,
        }
    }

    /// The successor built at `now`, living as long as a new token does.
    fn successor(now: UnixSecs) -> RefreshToken {
        RefreshToken { issued_at: now, expires_at: now + 3_600, ..token(None) }
    }

    fn family() -> StoredFamily {
        StoredFamily::founded_by(&token(None))
    }

    fn tombstone(until: UnixSecs) -> StoredFamily {
        StoredFamily {
            tenant: "acme".into(),
            family: "fam-1".into(),
            client_id: None,
            sub: None,
            revoked_at: Some(ISSUED - 5),
            expires_at: until,
        }
    }

    /// Presents `token` with `family` at `now` with the standard grace and a fresh successor.
    fn present(
        token: Option<RefreshToken>,
        family: Option<StoredFamily>,
        now: UnixSecs,
    ) -> Result<RefreshDecision, Refused> {
        present_with(token, family, &successor(now), now, GRACE)
    }

    fn present_with(
        token: Option<RefreshToken>,
        family: Option<StoredFamily>,
        next: &RefreshToken,
        now: UnixSecs,
        grace_secs: u32,
    ) -> Result<RefreshDecision, Refused> {
        use_token(Presentation {
            digest: &DIGEST,
            token,
            family,
            successor_digest: &NEXT_DIGEST,
            successor: next,
            now,
            grace_secs,
        })
    }

    fn unknown() -> Result<RefreshDecision, Refused> {
        Ok(RefreshDecision { outcome: RefreshUse::Unknown, writes: Vec::new() })
    }

    fn family_until(expires_at: UnixSecs) -> RefreshWrite {
        RefreshWrite::PutFamily { family: StoredFamily { expires_at, ..family() }, expiry: Expiry::New }
    }

    #[test]
    fn a_current_token_rotates_stores_its_successor_and_extends_its_family() {
        let now = ISSUED + 50;
        let decision = present(Some(token(None)), Some(family()), now).expect("a usable token");
        assert_eq!(decision.outcome, RefreshUse::Rotated(token(None)));
        assert_eq!(
            decision.writes,
            vec![
                RefreshWrite::MarkRotated(token(Some(now))),
                RefreshWrite::PutNew,
                family_until(now + 3_600),
            ]
        );
    }

    #[test]
    fn a_family_that_outlives_the_successor_is_not_rewritten() {
        let long = StoredFamily { expires_at: EXPIRES + 10_000, ..family() };
        let now = ISSUED + 50;
        let decision = present(Some(token(None)), Some(long.clone()), now).expect("a usable token");
        assert_eq!(decision.writes, vec![RefreshWrite::MarkRotated(token(Some(now))), RefreshWrite::PutNew]);
        let retried = present(Some(token(Some(now))), Some(long), now + 1).expect("a usable token");
        assert_eq!(retried.writes, vec![RefreshWrite::PutNew]);
    }

    #[test]
    fn a_token_rotated_within_the_grace_period_is_retried() {
        for now in [ROTATED, ROTATED + 1, ROTATED + i64::from(GRACE)] {
            let decision = present(Some(token(Some(ROTATED))), Some(family()), now).expect("usable");
            assert_eq!(decision.outcome, RefreshUse::Retried(token(Some(ROTATED))), "{now}");
            // The token stays as it was rotated; only the new successor and the family change.
            assert_eq!(decision.writes, vec![RefreshWrite::PutNew, family_until(now + 3_600)], "{now}");
        }
    }

    #[test]
    fn a_token_rotated_longer_ago_than_the_grace_is_reused_and_its_family_revoked() {
        let now = ROTATED + i64::from(GRACE) + 1;
        let decision = present(Some(token(Some(ROTATED))), Some(family()), now).expect("usable");
        assert_eq!(decision.outcome, RefreshUse::Reused(token(Some(ROTATED))));
        // Revoked at `now`, keeping its expiry: it must outlive its tokens.
        let revoked = StoredFamily { revoked_at: Some(now), ..family() };
        assert_eq!(decision.writes, vec![RefreshWrite::PutFamily { family: revoked, expiry: Expiry::Kept }]);
    }

    #[test]
    fn no_grace_means_any_second_use_is_a_reuse() {
        for now in [ROTATED, ROTATED + 1] {
            let decision = present_with(Some(token(Some(ROTATED))), Some(family()), &successor(now), now, 0)
                .expect("usable");
            assert_eq!(decision.outcome, RefreshUse::Reused(token(Some(ROTATED))), "{now}");
        }
    }

    #[test]
    fn a_clock_behind_the_rotation_counts_as_within_the_grace() {
        let now = ROTATED - 5;
        let decision = present(Some(token(Some(ROTATED))), Some(family()), now).expect("usable");
        assert_eq!(decision.outcome, RefreshUse::Retried(token(Some(ROTATED))));
    }

    #[test]
    fn absent_and_expired_tokens_are_unknown() {
        assert_eq!(present(None, None, ISSUED), unknown());
        assert_eq!(present(None, Some(family()), ISSUED), unknown());
        // Usable up to the second before `expires_at`, not at it.
        assert!(is_usable(&token(None), EXPIRES - 1));
        assert!(!is_usable(&token(None), EXPIRES));
        let long = StoredFamily { expires_at: EXPIRES + 10_000, ..family() };
        let last = present(Some(token(None)), Some(long.clone()), EXPIRES - 1).expect("usable");
        assert!(matches!(last.outcome, RefreshUse::Rotated(_)));
        for now in [EXPIRES, EXPIRES + 1] {
            assert_eq!(present(Some(token(None)), Some(long.clone()), now), unknown(), "{now}");
            assert_eq!(present(Some(token(Some(ROTATED))), Some(long.clone()), now), unknown(), "{now}");
        }
    }

    #[test]
    fn tokens_of_a_revoked_vanished_or_expired_family_are_unknown() {
        let now = ISSUED + 50;
        let revoked = StoredFamily { revoked_at: Some(ISSUED + 1), ..family() };
        assert_eq!(present(Some(token(None)), Some(revoked), now), unknown());
        assert_eq!(present(Some(token(None)), Some(tombstone(EXPIRES)), now), unknown());
        assert_eq!(present(Some(token(None)), None, now), unknown());
        // A family is live until the second before its `expires_at`.
        let short = StoredFamily { expires_at: now + 1, ..family() };
        assert!(
            present(Some(token(None)), Some(short.clone()), now)
                .is_ok_and(|d| d.outcome != RefreshUse::Unknown)
        );
        assert_eq!(present(Some(token(None)), Some(short), now + 1), unknown());
        // A reused token of a revoked family revokes nothing more.
        let revoked = StoredFamily { revoked_at: Some(ISSUED + 1), ..family() };
        assert_eq!(present(Some(token(Some(ROTATED))), Some(revoked), ROTATED + 1_000), unknown());
    }

    #[test]
    fn successors_of_another_tenant_family_or_client_are_refused() {
        let now = ISSUED + 50;
        for next in [
            RefreshToken { tenant: "other".into(), ..successor(now) },
            RefreshToken { family: "fam-2".into(), ..successor(now) },
            RefreshToken { client_id: "app".into(), ..successor(now) },
        ] {
            for presented in [token(None), token(Some(ROTATED))] {
                let refused = present_with(Some(presented), Some(family()), &next, now, GRACE);
                assert_eq!(refused, Err(Refused::SuccessorOfAnotherFamily));
            }
        }
    }

    #[test]
    fn a_successor_that_is_the_token_itself_or_rotated_is_refused() {
        let now = ISSUED + 50;
        let rotated = RefreshToken { rotated_at: Some(now), ..successor(now) };
        assert_eq!(
            present_with(Some(token(None)), Some(family()), &rotated, now, GRACE),
            Err(Refused::SuccessorNotNew)
        );
        let same = use_token(Presentation {
            digest: &DIGEST,
            token: Some(token(None)),
            family: Some(family()),
            successor_digest: &DIGEST,
            successor: &successor(now),
            now,
            grace_secs: GRACE,
        });
        assert_eq!(same, Err(Refused::SuccessorNotNew));
    }

    #[test]
    fn a_bad_successor_is_not_checked_for_a_token_that_cannot_be_used() {
        let now = ISSUED + 50;
        let foreign = RefreshToken { tenant: "other".into(), ..successor(now) };
        assert_eq!(present_with(None, None, &foreign, now, GRACE), unknown());
        assert_eq!(present_with(Some(token(None)), None, &foreign, now, GRACE), unknown());
    }

    #[test]
    fn a_first_token_founds_its_family() {
        let decision = first_token(&token(None), None).expect("no family yet");
        assert_eq!(decision.outcome, FirstToken::Founds);
        assert_eq!(decision.writes, vec![RefreshWrite::PutNew, family_until(EXPIRES)]);
    }

    #[test]
    fn a_first_token_joins_a_live_family_and_extends_it_only_if_it_outlives_it() {
        let decision = first_token(&token(None), Some(family())).expect("a live family");
        assert_eq!(decision.outcome, FirstToken::Joins);
        assert_eq!(decision.writes, vec![RefreshWrite::PutNew]);
        let short = StoredFamily { expires_at: EXPIRES - 1, ..family() };
        let decision = first_token(&token(None), Some(short)).expect("a live family");
        assert_eq!(decision.writes, vec![RefreshWrite::PutNew, family_until(EXPIRES)]);
    }

    #[test]
    fn a_first_token_of_a_revoked_family_is_a_conflict() {
        assert_eq!(first_token(&token(None), Some(tombstone(EXPIRES))), Err(Refused::FamilyRevoked));
        // Even a tombstone that has expired: it is revoked until it is removed.
        assert_eq!(first_token(&token(None), Some(tombstone(ISSUED - 1))), Err(Refused::FamilyRevoked));
        let revoked = StoredFamily { revoked_at: Some(ISSUED), ..family() };
        assert_eq!(first_token(&token(None), Some(revoked)), Err(Refused::FamilyRevoked));
    }

    #[test]
    fn a_first_token_of_another_clients_family_is_refused() {
        let theirs = StoredFamily { client_id: Some("app".into()), ..family() };
        assert_eq!(first_token(&token(None), Some(theirs)), Err(Refused::FamilyOfAnotherClient));
    }

    #[test]
    fn revoking_an_absent_family_leaves_a_tombstone_until_until() {
        let decision = revoke(None, ("acme", "fam-1"), EXPIRES, ISSUED);
        assert_eq!(decision.outcome, Revoke::Tombstone);
        let tombstone = StoredFamily { revoked_at: Some(ISSUED), ..tombstone(EXPIRES) };
        assert_eq!(decision.writes, vec![RefreshWrite::PutFamily { family: tombstone, expiry: Expiry::New }]);
    }

    #[test]
    fn revoking_a_live_family_revokes_it_and_keeps_it_at_least_until_until() {
        let now = ISSUED + 7;
        let kept = revoke(Some(family()), ("acme", "fam-1"), EXPIRES, now);
        assert_eq!(kept.outcome, Revoke::Revoked);
        let revoked = StoredFamily { revoked_at: Some(now), ..family() };
        assert_eq!(
            kept.writes,
            vec![RefreshWrite::PutFamily { family: revoked.clone(), expiry: Expiry::Kept }]
        );
        let sooner = revoke(Some(family()), ("acme", "fam-1"), EXPIRES - 1, now);
        assert_eq!(sooner.writes, kept.writes);
        let later = revoke(Some(family()), ("acme", "fam-1"), EXPIRES + 1, now);
        let extended = StoredFamily { expires_at: EXPIRES + 1, ..revoked };
        assert_eq!(later.writes, vec![RefreshWrite::PutFamily { family: extended, expiry: Expiry::New }]);
    }

    #[test]
    fn revoking_twice_keeps_the_first_revocation() {
        let first = StoredFamily { revoked_at: Some(ISSUED), ..family() };
        for until in [EXPIRES, EXPIRES - 1] {
            let again = revoke(Some(first.clone()), ("acme", "fam-1"), until, ISSUED + 9);
            assert_eq!(
                again,
                RevokeDecision { outcome: Revoke::AlreadyRevoked, writes: Vec::new() },
                "{until}"
            );
        }
        let longer = revoke(Some(first.clone()), ("acme", "fam-1"), EXPIRES + 1, ISSUED + 9);
        assert_eq!(longer.outcome, Revoke::AlreadyRevoked);
        let extended = StoredFamily { expires_at: EXPIRES + 1, ..first };
        assert_eq!(longer.writes, vec![RefreshWrite::PutFamily { family: extended, expiry: Expiry::New }]);
    }

    #[test]
    fn a_family_counts_as_revoked_when_revoked_absent_or_expired() {
        assert!(!is_revoked(Some(&family()), EXPIRES - 1));
        assert!(is_revoked(Some(&family()), EXPIRES));
        assert!(is_revoked(None, ISSUED));
        assert!(is_revoked(Some(&StoredFamily { revoked_at: Some(ISSUED), ..family() }), ISSUED));
        assert!(is_revoked(Some(&tombstone(EXPIRES)), ISSUED));
    }
}

//! Taking an authorization code: single use (RFC 6749 4.1.2), with a replay told apart from an
//! unknown code so the server can revoke what the first redemption issued (RFC 6749 10.5).
//!
//! A backend reads the code under the digest it was given, calls [`take`] and applies the
//! [`CodeWrite`] in the same atomic step, so of concurrent takes exactly one is `Fresh`.

// rkyv's derives generate archived twins without docs (the record is stored by the storage
// crate); the types themselves are documented and checked by the build without it.
#![cfg_attr(feature = "rkyv", allow(missing_docs))]

use crate::model::{Code, UnixSecs};
use crate::store::CodeTaken;

/// What a store keeps for an authorization code: the record `/authorize` left, and whether a
/// token request has taken it. A taken code stays until it expires so that a second take is
/// recognised as a replay rather than looking like an unknown code.
///
/// Stored as is by the embedded store (format version 2; version 1 had the login inline in the
/// code, see the storage codec): its fields, their order and their types, down to those of
/// [`Code`] and its [`Authentication`](crate::model::Authentication), are an archived layout
/// on disk.
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCode {
    /// Set by the first take.
    pub used: bool,
    /// The code record.
    pub code: Code,
}

/// A write a code take asks of the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeWrite {
    /// Replace the stored code with this record, marked used. Its `expires_at` is unchanged, so
    /// whatever the backend keeps to expire the code stays valid.
    MarkUsed(StoredCode),
}

/// The decision of a code take: what to answer, and what to write first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeDecision {
    /// The answer, given once `write` is durable: a `Fresh` must not be acted on before its
    /// used mark is, and a `Replayed` may rest on a mark written in the same group commit.
    pub outcome: CodeTaken,
    /// The write to apply atomically with the read, if any.
    pub write: Option<CodeWrite>,
}

/// Takes the code found under the presented digest (`stored`, `None` if there is none) at
/// `now`: absent or expired (`expires_at <= now`, as for tokens) is `Unknown`; used before is
/// `Replayed`, with nothing written; else `Fresh`, and the code is marked used.
pub fn take(stored: Option<StoredCode>, now: UnixSecs) -> CodeDecision {
    let unknown = CodeDecision { outcome: CodeTaken::Unknown, write: None };
    let Some(stored) = stored else {
        return unknown;
    };
    if stored.code.expires_at <= now {
        return unknown;
    }
    if stored.used {
        return CodeDecision { outcome: CodeTaken::Replayed(stored.code), write: None };
    }
    let outcome = CodeTaken::Fresh(stored.code.clone());
    CodeDecision { outcome, write: Some(CodeWrite::MarkUsed(StoredCode { used: true, ..stored })) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Authentication;

    const ISSUED: UnixSecs = 1_700_000_000;
    const EXPIRES: UnixSecs = ISSUED + 60;

    fn code() -> Code {
        Code {
            tenant: "acme".into(),
            client_id: "web".into(),
            redirect_uri: "https://app.example/cb".into(),
            redirect_uri_sent: true,
            scope: "openid".into(),
            nonce: None,
            code_challenge: None,
            auth: Authentication {
                sub: "alice".into(),
                sid: "sid-1".into(),
                auth_time: ISSUED - 10,
                acr: None,
                amr: vec!["pwd".into()],
            },
            issued_at: ISSUED,
            expires_at: EXPIRES,
            resource: None,
        }
    }

    fn stored(used: bool) -> Option<StoredCode> {
        Some(StoredCode { used, code: code() })
    }

    #[test]
    fn an_unused_live_code_is_fresh_and_marked_used() {
        let decision = take(stored(false), ISSUED);
        assert_eq!(decision.outcome, CodeTaken::Fresh(code()));
        assert_eq!(decision.write, Some(CodeWrite::MarkUsed(StoredCode { used: true, code: code() })));
    }

    #[test]
    fn a_used_live_code_is_a_replay_and_writes_nothing() {
        let decision = take(stored(true), ISSUED + 1);
        assert_eq!(decision.outcome, CodeTaken::Replayed(code()));
        assert_eq!(decision.write, None);
    }

    #[test]
    fn an_absent_code_is_unknown() {
        assert_eq!(take(None, ISSUED), CodeDecision { outcome: CodeTaken::Unknown, write: None });
    }

    #[test]
    fn a_code_is_live_until_the_second_before_its_expiry() {
        let last = take(stored(false), EXPIRES - 1);
        assert!(matches!(last.outcome, CodeTaken::Fresh(_)));
        assert!(last.write.is_some());
        // At `expires_at` it is gone, used or not: no replay is reported and nothing written.
        for used in [false, true] {
            for now in [EXPIRES, EXPIRES + 1, i64::MAX] {
                let decision = take(stored(used), now);
                assert_eq!(
                    decision,
                    CodeDecision { outcome: CodeTaken::Unknown, write: None },
                    "{used} {now}"
                );
            }
        }
    }

    #[test]
    fn a_replay_within_the_code_life_is_recognised_up_to_its_last_second() {
        assert_eq!(take(stored(true), EXPIRES - 1).outcome, CodeTaken::Replayed(code()));
    }
}

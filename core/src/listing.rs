//! Listing records a page at a time, for the admin API: the page size bounds, the opaque cursor
//! that carries a listing from one page to the next, and the query a user listing runs (its
//! filters, and the one rule of which users match it, which every store backend applies).
//!
//! Pages follow the records' ids, which never change, rather than a name an operator may edit:
//! walking every page while users are added, renamed or deleted meets each user that existed
//! the whole time exactly once (keyset pagination, no offsets). The cursor is the last id of
//! the page, wrapped so that clients treat it as opaque and a cursor of another listing (or a
//! hand-made one) is refused rather than misread.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::model::{User, fold_case, is_valid_id};

/// Page size when the request names none.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size a request may ask for: a page is held in memory and sent whole.
pub const MAX_LIMIT: usize = 200;
/// Longest cursor accepted, in bytes: far above any real one, so parsing stays bounded.
const MAX_CURSOR_BYTES: usize = 256;

/// Why a listing request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListingError {
    /// `limit` is not a whole number from 1 to [`MAX_LIMIT`].
    #[error("limit must be a whole number from 1 to {MAX_LIMIT}")]
    BadLimit,
    /// `cursor` is not one this listing handed out.
    #[error("cursor is not a cursor of this listing")]
    BadCursor,
    /// A filter's value is not what it must be.
    #[error("{0}")]
    BadFilter(String),
}

/// The page size of a request: its `limit`, or [`DEFAULT_LIMIT`].
pub fn parse_limit(limit: Option<&str>) -> Result<usize, ListingError> {
    let Some(limit) = limit else { return Ok(DEFAULT_LIMIT) };
    // Digits only: `usize::from_str` would also take a leading `+`.
    if limit.is_empty() || limit.len() > 3 || !limit.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ListingError::BadLimit);
    }
    match limit.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ListingError::BadLimit),
    }
}

/// The cursor that continues listing `listing` after the record with id `last_id`.
pub fn encode_cursor(listing: &str, last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{listing}:{last_id}"))
}

/// The id a cursor of `listing` continues after; refused unless [`encode_cursor`] made it for
/// that listing from a valid id.
pub fn decode_cursor(listing: &str, cursor: &str) -> Result<String, ListingError> {
    if cursor.len() > MAX_CURSOR_BYTES {
        return Err(ListingError::BadCursor);
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| ListingError::BadCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| ListingError::BadCursor)?;
    match text.split_once(':') {
        Some((kind, id)) if kind == listing && is_valid_id(id) => Ok(id.to_owned()),
        _ => Err(ListingError::BadCursor),
    }
}

/// The listing name user cursors carry.
pub const USERS: &str = "users";

/// Which users a listing returns: those of the tenant, in id order, after `after`, that match
/// every filter given, at most `limit` of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Only users whose id sorts after this one (byte order): the last id of the previous page.
    pub after: Option<String>,
    /// At most this many users; 0 is read as 1.
    pub limit: usize,
    /// Only the user with this username, the same under [`fold_case`] (so at most one).
    pub username: Option<String>,
    /// Only the user with this e-mail address, the same under [`fold_case`] (so at most one).
    pub email: Option<String>,
    /// Only disabled users (`true`) or only enabled ones (`false`).
    pub disabled: Option<bool>,
    /// Only users assigned the role with this id. [`UserQuery::matches`] cannot see
    /// assignments (they are records of their own): the backend answers this filter by walking
    /// the role's members in id order, and applies `matches` to each.
    pub role: Option<String>,
}

impl UserQuery {
    /// Whether `user` passes the filters (not `after` or `limit`, which are the page's).
    /// Names compare as the uniqueness indexes do, so a filter finds the user the login form
    /// would.
    pub fn matches(&self, user: &User) -> bool {
        let same = |wanted: &Option<String>, held: Option<&str>| match wanted {
            None => true,
            Some(wanted) => held.is_some_and(|held| fold_case(held) == fold_case(wanted)),
        };
        same(&self.username, Some(&user.username))
            && same(&self.email, user.email.as_deref())
            && self.disabled.is_none_or(|d| user.disabled == d)
    }

    /// Whether the page may hold `id`: after the cursor.
    pub fn is_after_cursor(&self, id: &str) -> bool {
        self.after.as_deref().is_none_or(|after| id > after)
    }

    /// The page size to fill, at least 1.
    pub fn page_size(&self) -> usize {
        self.limit.max(1)
    }
}

/// A page of users: at most the query's `limit`, in id order, and whether more match after
/// the last of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserPage {
    /// The users of the page.
    pub users: Vec<User>,
    /// Whether a user matching the query follows the last one of the page.
    pub more: bool,
}

impl UserPage {
    /// The page made of `candidates` (in id order, each already known to match and to follow
    /// the cursor) when the backend read up to `limit + 1` of them: the extra one only says
    /// that there is more.
    pub fn from_candidates(mut candidates: Vec<User>, query: &UserQuery) -> Self {
        let more = candidates.len() > query.page_size();
        candidates.truncate(query.page_size());
        Self { users: candidates, more }
    }

    /// The cursor of the next page, `None` on the last one.
    pub fn next_cursor(&self) -> Option<String> {
        if !self.more {
            return None;
        }
        self.users.last().map(|u| encode_cursor(USERS, &u.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, username: &str, email: Option<&str>) -> User {
        User { email: email.map(Into::into), ..User::new("t", id, username, "$h", 1) }
    }

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(parse_limit(None), Ok(DEFAULT_LIMIT));
        assert_eq!(parse_limit(Some("1")), Ok(1));
        assert_eq!(parse_limit(Some("200")), Ok(200));
        assert_eq!(parse_limit(Some("007")), Ok(7));
        for bad in ["", "0", "201", "1000", "-1", "+5", "5.0", " 5", "abc", "99999999999999999999"] {
            assert_eq!(parse_limit(Some(bad)), Err(ListingError::BadLimit), "{bad:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let cursor = encode_cursor(USERS, "AAAAAAAAAAAAAAAAAAAAAA");
        assert!(!cursor.contains("AAAAAAAAAAAAAAAAAAAAAA"), "opaque: {cursor}");
        assert_eq!(decode_cursor(USERS, &cursor), Ok("AAAAAAAAAAAAAAAAAAAAAA".to_owned()));
        assert_eq!(decode_cursor("events", &cursor), Err(ListingError::BadCursor), "another listing's");
        let forged = [
            String::new(),
            "not base64!".to_owned(),
            "AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
            URL_SAFE_NO_PAD.encode("users:"),
            URL_SAFE_NO_PAD.encode("users:a/b"),
            URL_SAFE_NO_PAD.encode("users"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
            "A".repeat(MAX_CURSOR_BYTES + 1),
        ];
        for bad in forged {
            assert_eq!(decode_cursor(USERS, &bad), Err(ListingError::BadCursor), "{bad:?}");
        }
    }

    #[test]
    fn filters_compare_names_as_the_indexes_do() {
        let u = user("id1", "Straße", Some("Bob@Example.COM"));
        let q = |username: Option<&str>, email: Option<&str>, disabled: Option<bool>| UserQuery {
            username: username.map(Into::into),
            email: email.map(Into::into),
            disabled,
            ..UserQuery::default()
        };
        assert!(q(None, None, None).matches(&u));
        assert!(q(Some("STRASSE"), None, None).matches(&u), "full case folding");
        assert!(q(Some("ｓｔｒａｓｓｅ"), None, None).matches(&u), "compatibility forms");
        assert!(!q(Some("Strasse2"), None, None).matches(&u));
        assert!(!q(Some("Strase"), None, None).matches(&u));
        assert!(q(None, Some("bob@example.com"), None).matches(&u));
        assert!(!q(None, Some("bob@example.org"), None).matches(&u));
        assert!(!q(None, Some("x@y.z"), None).matches(&user("id2", "x", None)), "no address");
        assert!(q(None, None, Some(false)).matches(&u));
        assert!(!q(None, None, Some(true)).matches(&u));
        let mut off = u.clone();
        off.disable(5);
        assert!(q(Some("strasse"), Some("BOB@example.com"), Some(true)).matches(&off));
        assert!(!q(Some("strasse"), Some("BOB@example.com"), Some(false)).matches(&off));
    }

    #[test]
    fn the_cursor_bounds_the_page_from_below() {
        let q = UserQuery { after: Some("b".into()), ..UserQuery::default() };
        assert!(!q.is_after_cursor("a"));
        assert!(!q.is_after_cursor("b"));
        assert!(q.is_after_cursor("b0"));
        assert!(q.is_after_cursor("c"));
        assert!(UserQuery::default().is_after_cursor("a"));
    }

    #[test]
    fn a_page_says_whether_more_follow() {
        let q = UserQuery { limit: 2, ..UserQuery::default() };
        let users = |n: usize| (0..n).map(|i| user(&format!("id{i}"), &format!("u{i}"), None)).collect();
        let full = UserPage::from_candidates(users(3), &q);
        assert_eq!(full.users.len(), 2);
        assert!(full.more);
        assert_eq!(full.next_cursor().as_deref().map(|c| decode_cursor(USERS, c)), Some(Ok("id1".into())));
        let last = UserPage::from_candidates(users(2), &q);
        assert!(!last.more);
        assert_eq!(last.next_cursor(), None);
        assert_eq!(UserPage::from_candidates(vec![], &q).next_cursor(), None);
        assert_eq!(UserQuery::default().page_size(), 1, "a limit of 0 is read as 1");
    }
}

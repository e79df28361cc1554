//! Reading a tenant's audit events a page at a time: the query (type, actor, time range,
//! cursor, limit) parsed once from the admin API's query string, the one rule of which events
//! it selects ([`EventQuery::matches`], which every store backend applies), and the page.
//!
//! Newest first: an operator reading events almost always wants the latest, and a walk from
//! the newest down meets each event that existed when it began exactly once, since ids never
//! change and later events sort above the walk's position.
//!
//! A page reads a bounded range. Events are kept in id (time) order with no index by type or
//! actor, so a rare filter could otherwise make one request read a tenant's whole history.
//! Instead a backend examines at most [`MAX_SCANNED`] events per page: when it stops there, the
//! page may hold fewer events than asked (even none) and still carry a cursor, from the last
//! event examined. A caller follows `next` until it is `null`; the time range bounds the walk.

use crate::form::Form;
use crate::listing::{self, ListingError};
use crate::model::{Actor, AuditEvent, EventType, UnixSecs, event_id_floor, event_id_millis};

/// The listing name event cursors carry.
pub const EVENTS: &str = "events";

/// Most events a backend examines for one page, matching or not.
pub const MAX_SCANNED: usize = 2_000;

/// Latest second a time filter may name (the year 9999): far beyond any event, and far from
/// overflowing the milliseconds of an id.
const MAX_FILTER_SECS: UnixSecs = 253_402_300_799;

/// The query parameters an event listing takes.
const PARAMS: [&str; 6] = ["type", "actor", "since", "until", "limit", "cursor"];

/// Who the events must name: a kind of actor and, optionally, its id (a token's subject, an
/// API key's id, a user's id, a client's id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorFilter {
    /// The kind's wire name ([`Actor::kind_name`]).
    pub kind: &'static str,
    /// The id the actor must have, if given.
    pub id: Option<String>,
}

impl ActorFilter {
    /// Parses `kind` or `kind:id` (`admin_key`, `end_user:u1`, `client:web`, `token:u1`,
    /// `api_key:k1`, `anonymous`).
    pub fn parse(value: &str) -> Result<Self, ListingError> {
        const KINDS: [&str; 6] = ["admin_key", "token", "api_key", "end_user", "client", "anonymous"];
        let (kind, id) = match value.split_once(':') {
            Some((kind, id)) => (kind, Some(id)),
            None => (value, None),
        };
        let bad = || {
            ListingError::BadFilter(format!(
                "actor must be one of {} optionally followed by `:id`",
                KINDS.join(", ")
            ))
        };
        let kind = KINDS.into_iter().find(|k| *k == kind).ok_or_else(bad)?;
        let takes_id = !matches!(kind, "admin_key" | "anonymous");
        match id {
            Some(id) if !takes_id || id.is_empty() || id.len() > crate::model::MAX_ACTOR_ID_BYTES => {
                Err(bad())
            }
            id => Ok(Self { kind, id: id.map(str::to_owned) }),
        }
    }

    /// Whether `actor` is of this kind and, if an id was given, has it.
    pub fn matches(&self, actor: &Actor) -> bool {
        actor.kind_name() == self.kind && self.id.as_deref().is_none_or(|id| actor.principal() == Some(id))
    }
}

/// Which events a listing returns: those of the tenant before the cursor (newest first) that
/// match every filter, at most `limit` of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events whose id sorts before this one: the cursor, where the previous page ended.
    pub before: Option<String>,
    /// At most this many events; 0 is read as 1.
    pub limit: usize,
    /// Only events of this type.
    pub kind: Option<EventType>,
    /// Only events of this actor.
    pub actor: Option<ActorFilter>,
    /// Only events at or after this second.
    pub since: Option<UnixSecs>,
    /// Only events before this second.
    pub until: Option<UnixSecs>,
}

fn parse_secs(name: &str, value: &str) -> Result<UnixSecs, ListingError> {
    let bad = || ListingError::BadFilter(format!("{name} must be Unix seconds from 0 to {MAX_FILTER_SECS}"));
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value.parse::<UnixSecs>().ok().filter(|s| *s <= MAX_FILTER_SECS).ok_or_else(bad)
}

impl EventQuery {
    /// Parses the query string of `GET .../events`: every parameter at most once, none
    /// unknown.
    pub fn parse(query: Option<&str>) -> Result<Self, ListingError> {
        let form = Form::parse(query.unwrap_or_default().as_bytes())
            .map_err(|e| ListingError::BadFilter(format!("invalid query string: {}", e.description)))?;
        if let Some((name, _)) = form.pairs().find(|(name, _)| !PARAMS.contains(name)) {
            return Err(ListingError::BadFilter(format!("unknown query parameter `{name}`")));
        }
        let kind = form
            .get("type")
            .map(|t| {
                EventType::from_name(t).ok_or_else(|| {
                    let names: Vec<&str> = EventType::ALL.iter().map(|t| t.name()).collect();
                    ListingError::BadFilter(format!("type must be one of {}", names.join(", ")))
                })
            })
            .transpose()?;
        let since = form.get("since").map(|v| parse_secs("since", v)).transpose()?;
        let until = form.get("until").map(|v| parse_secs("until", v)).transpose()?;
        if let (Some(since), Some(until)) = (since, until)
            && since > until
        {
            return Err(ListingError::BadFilter("since must not be after until".into()));
        }
        let before = form.get("cursor").map(decode_cursor).transpose()?;
        Ok(Self {
            before,
            limit: listing::parse_limit(form.get("limit"))?,
            kind,
            actor: form.get("actor").map(ActorFilter::parse).transpose()?,
            since,
            until,
        })
    }

    /// Whether `event` passes the filters (the time range included; not the cursor).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        self.kind.is_none_or(|k| event.kind == k)
            && self.actor.as_ref().is_none_or(|a| a.matches(&event.actor))
            && self.since.is_none_or(|s| event.at >= s)
            && self.until.is_none_or(|u| event.at < u)
    }

    /// The lowest id the page may hold (inclusive), from `since`.
    pub fn lowest_id(&self) -> Option<String> {
        self.since.map(|s| event_id_floor(s.saturating_mul(1000)))
    }

    /// The id every event of the page sorts below (exclusive): the cursor or the floor of
    /// `until`, whichever is lower.
    pub fn below_id(&self) -> Option<String> {
        let until = self.until.map(|u| event_id_floor(u.saturating_mul(1000)));
        match (until, self.before.clone()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The page size to fill, at least 1.
    pub fn page_size(&self) -> usize {
        self.limit.max(1)
    }
}

fn decode_cursor(cursor: &str) -> Result<String, ListingError> {
    let id = listing::decode_cursor(EVENTS, cursor)?;
    event_id_millis(&id).map(|_| id).ok_or(ListingError::BadCursor)
}

/// A page of events, newest first, and where the next page resumes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventPage {
    /// The events of the page.
    pub events: Vec<AuditEvent>,
    /// The id the next page continues below: the last event of a full page, or the last one
    /// examined when the scan bound stopped the page. `None` when nothing is left.
    pub resume_below: Option<String>,
}

impl EventPage {
    /// The cursor of the next page, `None` on the last one.
    pub fn next_cursor(&self) -> Option<String> {
        self.resume_below.as_deref().map(|id| listing::encode_cursor(EVENTS, id))
    }
}

/// Builds pages as a backend scans a tenant's events from the newest down (ids below
/// [`EventQuery::below_id`], at or above [`EventQuery::lowest_id`]): the one place the page
/// size and the scan bound are applied, so every backend stops at the same points.
#[derive(Debug)]
pub struct PageBuilder<'q> {
    query: &'q EventQuery,
    page: EventPage,
    scanned: usize,
}

/// Whether a backend should read another event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// Read the next one.
    More,
    /// The page is done.
    Done,
}

impl<'q> PageBuilder<'q> {
    /// An empty page for `query`.
    pub fn new(query: &'q EventQuery) -> Self {
        Self { query, page: EventPage::default(), scanned: 0 }
    }

    /// Takes the next event of the scan (each one lower than the last).
    pub fn offer(&mut self, event: AuditEvent) -> Scan {
        self.scanned += 1;
        if self.query.matches(&event) {
            if self.page.events.len() == self.query.page_size() {
                // One more match than the page holds: there is a next page, below the last kept.
                self.page.resume_below = self.page.events.last().map(|e| e.id.clone());
                return Scan::Done;
            }
            if self.scanned < MAX_SCANNED {
                self.page.events.push(event);
                return Scan::More;
            }
            self.page.events.push(event);
            self.page.resume_below = self.page.events.last().map(|e| e.id.clone());
            return Scan::Done;
        }
        if self.scanned >= MAX_SCANNED {
            // Bounded work: resume below the last event examined, though it did not match.
            self.page.resume_below = Some(event.id);
            return Scan::Done;
        }
        Scan::More
    }

    /// The page, once the scan is done or ran out of events.
    pub fn finish(self) -> EventPage {
        self.page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Outcome, event_id};

    fn event(millis: i64, kind: EventType, actor: Actor) -> AuditEvent {
        AuditEvent {
            id: event_id(millis, [1; 10]),
            tenant: "t".into(),
            at: millis / 1000,
            kind,
            actor,
            action: "POST".into(),
            target: String::new(),
            source: None,
            outcome: Outcome::Success,
            reason: None,
        }
    }

    #[test]
    fn queries_parse_strictly() {
        let q = EventQuery::parse(Some("type=login.failure&actor=end_user:u1&since=10&until=20&limit=5"))
            .expect("valid");
        assert_eq!(q.kind, Some(EventType::LoginFailure));
        assert_eq!(q.actor, Some(ActorFilter { kind: "end_user", id: Some("u1".into()) }));
        assert_eq!((q.since, q.until, q.limit), (Some(10), Some(20), 5));
        assert_eq!(EventQuery::parse(None).map(|q| q.limit), Ok(listing::DEFAULT_LIMIT));
        for bad in [
            "type=login",
            "actor=root",
            "actor=admin_key:x",
            "actor=client:",
            "since=-1",
            "since=1.5",
            "until=99999999999999",
            "since=20&until=10",
            "limit=0",
            "cursor=abc",
            "type=a&type=b",
            "sort=asc",
        ] {
            assert!(EventQuery::parse(Some(bad)).is_err(), "{bad:?}");
        }
        let cursor = listing::encode_cursor(EVENTS, &event_id(5, [0; 10]));
        assert!(EventQuery::parse(Some(&format!("cursor={cursor}"))).is_ok());
        let users_cursor = listing::encode_cursor(listing::USERS, &event_id(5, [0; 10]));
        assert_eq!(
            EventQuery::parse(Some(&format!("cursor={users_cursor}"))),
            Err(ListingError::BadCursor),
            "another listing's cursor"
        );
        let not_an_event = listing::encode_cursor(EVENTS, "u1");
        assert_eq!(EventQuery::parse(Some(&format!("cursor={not_an_event}"))), Err(ListingError::BadCursor));
    }

    #[test]
    fn filters_select_by_type_actor_and_time() {
        let client = Actor::Client { client_id: "web".into() };
        let e = event(15_500, EventType::TokenFailure, client.clone());
        let q = |s: &str| EventQuery::parse(Some(s)).expect("valid");
        assert!(q("").matches(&e));
        assert!(q("type=token.failure&actor=client&since=15&until=16").matches(&e));
        assert!(q("actor=client:web").matches(&e));
        assert!(!q("actor=client:app").matches(&e));
        assert!(!q("actor=end_user:web").matches(&e), "the kind counts, not only the id");
        assert!(!q("type=login.failure").matches(&e));
        assert!(!q("since=16").matches(&e));
        assert!(!q("until=15").matches(&e), "until is exclusive");
        let bounds = q("since=15&until=16");
        assert!(bounds.lowest_id() <= Some(e.id.clone()));
        assert!(bounds.below_id() > Some(e.id.clone()));
    }

    #[test]
    fn pages_stop_at_the_limit_or_the_scan_bound() {
        let q = EventQuery { limit: 2, ..EventQuery::default() };
        let mut b = PageBuilder::new(&q);
        for ms in [5_000, 4_000] {
            assert_eq!(b.offer(event(ms, EventType::AdminChange, Actor::AdminKey)), Scan::More);
        }
        assert_eq!(b.offer(event(3_000, EventType::AdminChange, Actor::AdminKey)), Scan::Done);
        let page = b.finish();
        assert_eq!(page.events.len(), 2);
        assert_eq!(page.resume_below, Some(event_id(4_000, [1; 10])));

        let rare = EventQuery { limit: 10, kind: Some(EventType::RoleChange), ..EventQuery::default() };
        let mut b = PageBuilder::new(&rare);
        let mut last = Scan::More;
        for i in 0..MAX_SCANNED {
            let ms = 10_000_000 - i64::try_from(i).unwrap_or(0);
            let kind = if i == 3 { EventType::RoleChange } else { EventType::AdminChange };
            last = b.offer(event(ms, kind, Actor::AdminKey));
        }
        assert_eq!(last, Scan::Done);
        let page = b.finish();
        assert_eq!(page.events.len(), 1);
        let lowest = 10_000_000 - i64::try_from(MAX_SCANNED - 1).unwrap_or(0);
        assert_eq!(page.resume_below, Some(event_id(lowest, [1; 10])), "resumes below the last examined");
        assert!(page.next_cursor().is_some());
    }
}

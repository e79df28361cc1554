//! Recording audit events (`tessera_core::model::AuditEvent`): who asked ([`Caller`]), what an
//! admin route changes ([`admin_change`]), and the one way every event reaches the store
//! ([`Audit::record`]), never awaited: the store queues it into its group commit and makes it
//! durable with the writes around it (`EventStore`), so recording costs a request no fsync
//! and no wait. An event the store refuses at once (its queue is busy) is dropped and counted.
//!
//! What anyone outside can trigger at will (failed token requests, failed sign-ins) is bounded
//! per tenant ([`FAILURES_PER_SECOND`], [`FAILURE_BURST`]): a flood of bad requests would
//! otherwise turn into as many stored events, kept for the tenant's retention, and fill the
//! disk. Past the bound failures are dropped and counted (`tessera_audit_events_dropped_total`
//! with `reason="rate_limited"`): the flood itself shows in the request metrics, and the
//! first events of it are kept. Successes and operator actions are not bounded: their rate is
//! that of real sign-ins and of operators.
//!
//! A tenant's deletion deletes its events, so it is not recorded as an event: it goes to the
//! server log (target `tessera::audit`), with who deleted it and from where.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use governor::{DefaultKeyedRateLimiter, Quota};
use http::{Method, StatusCode};
use parking_lot::Mutex;
use tessera_core::model::{
    Actor, AuditEvent, EventType, MAX_ACTION_BYTES, MAX_REASON_BYTES, MAX_TARGET_BYTES, Outcome, clip,
    event_id, is_valid_id,
};
use tessera_core::store::Store;

use crate::router::AdminRoute;
use crate::util;

/// Failure events a tenant may record per second, sustained.
pub const FAILURES_PER_SECOND: u32 = 50;
/// Failure events a tenant may record in a burst.
pub const FAILURE_BURST: u32 = 500;

/// Who made a request and from where: what each of its events says of it. The admin API's
/// `authorize` makes one; the protocol endpoints and pages name their actor themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Who is acting.
    pub actor: Actor,
    /// The peer address of the connection.
    pub source: IpAddr,
}

/// One event as a handler describes it; [`Audit::record`] gives it its id and time and
/// bounds every field.
#[derive(Clone, Debug)]
pub struct Draft<'a> {
    /// The tenant it happened in.
    pub tenant: &'a str,
    /// What happened.
    pub kind: EventType,
    /// Who acted.
    pub actor: Actor,
    /// What was done (an HTTP method, a grant type, `login`, `revoke`).
    pub action: &'a str,
    /// What it was done to, relative to the tenant, or empty.
    pub target: String,
    /// Where the request came from.
    pub source: IpAddr,
    /// How it ended, and why.
    pub outcome: Outcome,
    /// A short code: an HTTP status, an OAuth error code.
    pub reason: Option<&'a str>,
}

/// Whether an event may be dropped when its tenant records too many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Anyone outside can cause it at will: bounded per tenant.
    PerTenant,
    /// An operator's action or a success: always recorded (unless the store is busy).
    Never,
}

/// The events recorded and dropped so far, for the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditCounts {
    /// Handed to the store.
    pub recorded: u64,
    /// Refused by the store at once (its queue busy, or closed).
    pub dropped_busy: u64,
    /// Dropped by the per-tenant bound on failures.
    pub dropped_rate: u64,
}

/// The server's recorder of audit events.
#[derive(Debug)]
pub struct Audit {
    failures: DefaultKeyedRateLimiter<String>,
    /// The millisecond and random part of the last id made, so that this node's ids follow
    /// the order it recorded events in (see [`Audit::next_id`]).
    last_id: Mutex<(i64, u128)>,
    recorded: AtomicU64,
    dropped_busy: AtomicU64,
    dropped_rate: AtomicU64,
}

impl Default for Audit {
    fn default() -> Self {
        Self::new()
    }
}

impl Audit {
    /// A recorder with the per-tenant bound on failures.
    pub fn new() -> Self {
        let per_second = NonZeroU32::new(FAILURES_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(FAILURE_BURST).unwrap_or(NonZeroU32::MIN);
        Self {
            // Keyed by tenant id: only tenants that exist reach a recording, so the keys are as
            // many as the operator made tenants.
            failures: DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            last_id: Mutex::new((0, 0)),
            recorded: AtomicU64::new(0),
            dropped_busy: AtomicU64::new(0),
            dropped_rate: AtomicU64::new(0),
        }
    }

    /// Records an event without waiting: queued into the store's group commit, or dropped and
    /// counted when the store is busy or the tenant over its bound.
    pub fn record(&self, store: &dyn Store, bound: Bound, draft: Draft<'_>) {
        if bound == Bound::PerTenant && self.failures.check_key(&draft.tenant.to_owned()).is_err() {
            self.dropped_rate.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Some(event) = self.next_id().map(|(millis, id)| build(draft, millis, id)) else {
            self.dropped_busy.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match store.append_event(&event) {
            // Not awaited: the event becomes durable with the store's next fsync.
            Ok(_durable) => {
                self.recorded.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                tracing::debug!(%err, kind = event.kind.name(), "audit event dropped");
                self.dropped_busy.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// What was recorded and dropped so far.
    pub fn counts(&self) -> AuditCounts {
        AuditCounts {
            recorded: self.recorded.load(Ordering::Relaxed),
            dropped_busy: self.dropped_busy.load(Ordering::Relaxed),
            dropped_rate: self.dropped_rate.load(Ordering::Relaxed),
        }
    }
}

impl Audit {
    /// A fresh event id and its millisecond: now with 80 random bits, or, when the clock has
    /// not moved past the last id's millisecond (two events in one millisecond, or a clock
    /// stepped back), that millisecond with the last random part plus one (the monotonic ULID
    /// rule). So the events this node records sort in the order it recorded them, which ids
    /// random within a millisecond would not promise. `None` if the system has no randomness
    /// to give (the event is then dropped like a busy one).
    fn next_id(&self) -> Option<(i64, String)> {
        const RANDOM_BITS: u32 = 80;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let mut last = self.last_id.lock();
        let (millis, random) = match *last {
            (at, random) if now <= at && random + 1 < (1 << RANDOM_BITS) => (at, random + 1),
            _ => {
                let bytes = util::random::<10>().ok()?;
                (now, bytes.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b)))
            }
        };
        *last = (millis, random);
        let bytes = random.to_be_bytes();
        let mut tail = [0u8; 10];
        tail.copy_from_slice(&bytes[6..]);
        Some((millis, event_id(millis, tail)))
    }
}

/// The event a draft describes, at `millis` with id `id`.
fn build(draft: Draft<'_>, millis: i64, id: String) -> AuditEvent {
    let action = clip(draft.action, MAX_ACTION_BYTES);
    AuditEvent {
        id,
        tenant: draft.tenant.to_owned(),
        at: millis.div_euclid(1000),
        kind: draft.kind,
        actor: draft.actor,
        action: if action.is_empty() { "unknown".to_owned() } else { action },
        target: clip(&draft.target, MAX_TARGET_BYTES),
        source: Some(draft.source.to_string()),
        outcome: draft.outcome,
        reason: draft.reason.map(|r| clip(r, MAX_REASON_BYTES)).filter(|r| !r.is_empty()),
    }
}

/// What an admin request changes, as its event records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminChange {
    /// The tenant it changes.
    pub tenant: String,
    /// `admin.change`, or `token.revoked` for the operator's token tools.
    pub kind: EventType,
    /// The resource, relative to the tenant.
    pub target: String,
    /// Recorded only in the server log when it succeeds: a tenant's deletion, which takes
    /// the tenant's events with it.
    pub log_only_on_success: bool,
}

/// The event an admin request makes: every method but GET and HEAD on a tenant's routes
/// (and a tenant's creation, under the new tenant, `created` being the id the request body
/// named). `None` for reads, which change nothing (token introspection, though a POST), and for
/// requests that name no tenant.
///
/// The match is exhaustive: a new admin route must say here what its changes are recorded as.
pub fn admin_change(route: &AdminRoute, method: &Method, created: Option<&str>) -> Option<AdminChange> {
    if *method == Method::GET || *method == Method::HEAD {
        return None;
    }
    let change = |tenant: &str, kind: EventType, target: String| AdminChange {
        tenant: tenant.to_owned(),
        kind,
        target,
        log_only_on_success: false,
    };
    let admin = EventType::AdminChange;
    Some(match route {
        AdminRoute::Tenants => {
            let tenant = created.filter(|id| is_valid_id(id))?;
            change(tenant, admin, "tenant".to_owned())
        }
        AdminRoute::Tenant(t) => AdminChange {
            log_only_on_success: *method == Method::DELETE,
            ..change(t, admin, "tenant".to_owned())
        },
        AdminRoute::Settings(t) => change(t, admin, "settings".to_owned()),
        AdminRoute::Clients(t) => change(t, admin, "clients".to_owned()),
        AdminRoute::Client(t, c) => change(t, admin, format!("clients/{c}")),
        AdminRoute::ClientSecret(t, c) => change(t, admin, format!("clients/{c}/secret")),
        AdminRoute::Keys(t) => change(t, admin, "keys".to_owned()),
        AdminRoute::RotateKeys(t) => change(t, admin, "keys/rotate".to_owned()),
        AdminRoute::Users(t) => change(t, admin, "users".to_owned()),
        AdminRoute::User(t, u) => change(t, admin, format!("users/{u}")),
        AdminRoute::UserProfile(t, u) => change(t, admin, format!("users/{u}/profile")),
        AdminRoute::UserRevokeAll(t, u) => {
            change(t, EventType::TokenRevoked, format!("users/{u}/revoke-all"))
        }
        AdminRoute::ClientRevokeAll(t, c) => {
            change(t, EventType::TokenRevoked, format!("clients/{c}/revoke-all"))
        }
        AdminRoute::TokensIntrospect(_) | AdminRoute::TokensSession(_) => return None,
        AdminRoute::TokensRevoke(t) => change(t, EventType::TokenRevoked, "tokens/revoke".to_owned()),
        // A listing only (GET, returned above); any other method is refused and changes nothing.
        AdminRoute::TokensGrants(_) => return None,
        AdminRoute::TokensGrant(t, g) => change(t, EventType::TokenRevoked, format!("tokens/grants/{g}")),
        AdminRoute::Events(t) => change(t, admin, "events".to_owned()),
        AdminRoute::Roles(t) => change(t, EventType::RoleChange, "roles".to_owned()),
        AdminRoute::Role(t, r) => change(t, EventType::RoleChange, format!("roles/{r}")),
        AdminRoute::UserRoles(t, u) => change(t, EventType::RoleChange, format!("users/{u}/roles")),
        AdminRoute::UserRole(t, u, r) => change(t, EventType::RoleChange, format!("users/{u}/roles/{r}")),
        AdminRoute::ClientRoles(t, c) => change(t, EventType::RoleChange, format!("clients/{c}/roles")),
        AdminRoute::ClientRole(t, c, r) => change(t, EventType::RoleChange, format!("clients/{c}/roles/{r}")),
        AdminRoute::ApiKeys(t) => change(t, admin, "api-keys".to_owned()),
        AdminRoute::ApiKey(t, k) => change(t, admin, format!("api-keys/{k}")),
        AdminRoute::ApiKeyRotate(t, k) => change(t, admin, format!("api-keys/{k}/rotate")),
        AdminRoute::Apis(t) => change(t, admin, "apis".to_owned()),
        AdminRoute::Api(t, a) => change(t, admin, format!("apis/{a}")),
        AdminRoute::Validators(t) => change(t, admin, "identity-validators".to_owned()),
        AdminRoute::Validator(t, v) => change(t, admin, format!("identity-validators/{v}")),
        AdminRoute::TrustedIssuers(t) => change(t, admin, "trusted-issuers".to_owned()),
        AdminRoute::TrustedIssuer(t, i) => change(t, admin, format!("trusted-issuers/{i}")),
        AdminRoute::Idps(t) => change(t, admin, "idps".to_owned()),
        AdminRoute::Idp(t, i) => change(t, admin, format!("idps/{i}")),
        AdminRoute::DirectAuthzToken(t) => change(t, admin, "direct-authz/token".to_owned()),
        AdminRoute::DirectAuthzEncryptionKey(t) => change(t, admin, "direct-authz/encryption-key".to_owned()),
    })
}

/// The outcome of an HTTP status: 2xx succeeded, anything else failed.
pub fn outcome_of(status: StatusCode) -> Outcome {
    if status.is_success() { Outcome::Success } else { Outcome::Failure }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn draft(tenant: &str) -> Draft<'_> {
        Draft {
            tenant,
            kind: EventType::TokenFailure,
            actor: Actor::Anonymous,
            action: "client_credentials",
            target: "x".repeat(1_000),
            source: IpAddr::V4(Ipv4Addr::LOCALHOST),
            outcome: Outcome::Failure,
            reason: Some("invalid_client"),
        }
    }

    fn built(draft: Draft<'_>) -> AuditEvent {
        let (millis, id) = Audit::new().next_id().expect("randomness");
        build(draft, millis, id)
    }

    #[test]
    fn ids_follow_the_order_events_are_recorded_in() {
        let audit = Audit::new();
        let ids: Vec<String> = (0..1_000).filter_map(|_| audit.next_id().map(|(_, id)| id)).collect();
        assert_eq!(ids.len(), 1_000);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        // A clock behind the last id keeps to the last id's millisecond.
        let ahead = 4_000_000_000_000;
        *audit.last_id.lock() = (ahead, 5);
        let (millis, id) = audit.next_id().expect("randomness");
        assert_eq!(millis, ahead);
        assert!(id > ids[999]);
    }

    #[test]
    fn a_built_event_is_bounded_and_valid() {
        let event = built(draft("acme"));
        assert_eq!(event.validate(), Ok(()));
        assert_eq!(event.target.len(), MAX_TARGET_BYTES);
        assert_eq!(event.source.as_deref(), Some("127.0.0.1"));
        let empty = built(Draft { action: "", reason: Some(""), ..draft("acme") });
        assert_eq!((empty.action.as_str(), empty.reason), ("unknown", None));
    }

    #[test]
    fn reads_and_introspection_are_not_changes() {
        let t = || "acme".to_owned();
        assert_eq!(admin_change(&AdminRoute::Users(t()), &Method::GET, None), None);
        assert_eq!(admin_change(&AdminRoute::TokensIntrospect(t()), &Method::POST, None), None);
        let revoke = admin_change(&AdminRoute::TokensRevoke(t()), &Method::POST, None).expect("a change");
        assert_eq!((revoke.kind, revoke.target.as_str()), (EventType::TokenRevoked, "tokens/revoke"));
        assert_eq!(admin_change(&AdminRoute::TokensGrants(t()), &Method::GET, None), None);
        let grant = admin_change(&AdminRoute::TokensGrant(t(), "fam-1".into()), &Method::DELETE, None)
            .expect("a change");
        assert_eq!((grant.kind, grant.target.as_str()), (EventType::TokenRevoked, "tokens/grants/fam-1"));
        let user =
            admin_change(&AdminRoute::User(t(), "u1".into()), &Method::DELETE, None).expect("a change");
        assert_eq!((user.tenant.as_str(), user.target.as_str()), ("acme", "users/u1"));
        assert!(
            admin_change(&AdminRoute::Tenant(t()), &Method::DELETE, None)
                .is_some_and(|c| c.log_only_on_success)
        );
        assert_eq!(admin_change(&AdminRoute::Tenants, &Method::POST, None), None, "no tenant named");
        assert_eq!(admin_change(&AdminRoute::Tenants, &Method::POST, Some("a/b")), None, "not an id");
        assert!(
            admin_change(&AdminRoute::Tenants, &Method::POST, Some("new")).is_some_and(|c| c.tenant == "new")
        );
    }
}

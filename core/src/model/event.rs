//! Audit events: who did what to a tenant, when, from where, and how it ended. One record per
//! admin change, sign-in, token-endpoint failure and revocation.
//!
//! What an event never holds: a secret, a password, a token or a request body. The fields are
//! short codes and ids chosen by the server (an event type, an HTTP method, a route, an OAuth
//! error code, a user or client id), each bounded ([`AuditEvent::validate`]) so that no input,
//! however long, makes an event large; [`clip`] cuts a value to its bound before it is stored.
//!
//! The id is time-ordered: 48 bits of milliseconds since the epoch then 80 random bits,
//! written as 26 characters of Crockford's base32 (the ULID layout). Byte order of ids is time
//! order, so a store keeps a tenant's events in time order under `tenant \0 id` and a page of
//! events continues from the last id of the page before; 80 random bits make two events of one
//! millisecond collide with negligible odds (and the random part is only an order between
//! events of the same millisecond, which is all it has to be).

use serde::{Deserialize, Serialize};

use super::UnixSecs;

rkyv_record! {
    /// What kind of thing happened. The wire names are stable: filters and log pipelines key
    /// on them.
    ///
    /// Stored by position: a new variant goes at the end.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub enum EventType {
        /// A change made through the admin API (any method but GET and HEAD), successful or not.
        #[serde(rename = "admin.change")]
        AdminChange,
        /// An end user signed in at the login form.
        #[serde(rename = "login.success")]
        LoginSuccess,
        /// A sign-in at the login form failed (wrong username or password, disabled user).
        #[serde(rename = "login.failure")]
        LoginFailure,
        /// The token endpoint refused a request (the reason is the OAuth error code).
        #[serde(rename = "token.failure")]
        TokenFailure,
        /// A token was revoked: by its client at `/revoke`, or by the operator.
        #[serde(rename = "token.revoked")]
        TokenRevoked,
        /// A change to roles or their assignment through the admin API.
        #[serde(rename = "role.change")]
        RoleChange,
        /// An API key was used for an admin permission.
        #[serde(rename = "api_key.admin_use")]
        ApiKeyAdminUse,
        /// A limit started refusing: a sign-in lockout began (the reason names the limit), or
        /// a client ran out of its token-endpoint quota. Once when it starts, never per refused
        /// request, so a flood cannot fill the log.
        #[serde(rename = "rate_limited")]
        RateLimited,
    }

    /// Who acted.
    ///
    /// Stored by position: a new variant goes at the end.
    #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub enum Actor {
        /// The bootstrap admin key (it names no one: whoever holds the key).
        AdminKey,
        /// An access token of the tenant, presented to the admin API.
        Token {
            /// The token's subject.
            sub: String,
            /// The client it was issued to.
            client_id: String,
        },
        /// An API key, by its id (never its secret).
        ApiKey {
            /// The key's id.
            id: String,
        },
        /// An end user of the tenant, by user id.
        EndUser {
            /// The user's id.
            sub: String,
        },
        /// A client that authenticated (or, for a failure, the client the request named).
        Client {
            /// The client's id.
            client_id: String,
        },
        /// Nobody known: a request that named no one the tenant knows.
        Anonymous,
    }

    /// How it ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    pub enum Outcome {
        /// It was done.
        Success,
        /// It was refused or failed; `reason` says why.
        Failure,
    }

    /// One audit event of a tenant.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct AuditEvent {
        /// The time-ordered id ([`event_id`]).
        pub id: String,
        /// The tenant it happened in.
        pub tenant: String,
        /// When, in Unix seconds (the id has the milliseconds).
        pub at: UnixSecs,
        /// What kind of thing happened.
        #[serde(rename = "type")]
        pub kind: EventType,
        /// Who acted.
        pub actor: Actor,
        /// What was done: for an admin change the HTTP method, for a token failure the grant
        /// type, otherwise a short name (`login`, `revoke`, `revoke_all`). At most
        /// [`MAX_ACTION_BYTES`].
        pub action: String,
        /// What it was done to, relative to the tenant (`users/{id}`, `clients/{id}/secret`,
        /// `settings`), or empty. At most [`MAX_TARGET_BYTES`].
        pub target: String,
        /// The address the request came from (the peer of the connection), if known.
        pub source: Option<String>,
        /// How it ended.
        pub outcome: Outcome,
        /// A short code saying why: the HTTP status of an admin change, the OAuth error code of
        /// a token failure, a fixed word for a failed sign-in. At most [`MAX_REASON_BYTES`].
        pub reason: Option<String>,
    }
}

/// Longest `action`.
pub const MAX_ACTION_BYTES: usize = 64;
/// Longest `target`.
pub const MAX_TARGET_BYTES: usize = 256;
/// Longest `reason`.
pub const MAX_REASON_BYTES: usize = 64;
/// Longest id inside an [`Actor`].
pub const MAX_ACTOR_ID_BYTES: usize = 256;
/// Longest `source` (an IPv6 address with a zone is under 64 characters).
pub const MAX_SOURCE_BYTES: usize = 64;
/// Length of an event id.
pub const EVENT_ID_CHARS: usize = 26;

/// Crockford's base32 alphabet: ascending in ASCII, so text order is numeric order.
const BASE32: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Largest millisecond an id can hold (48 bits: the year 10889).
const MAX_ID_MILLIS: i64 = (1 << 48) - 1;

impl EventType {
    /// Every type, in declaration order.
    pub const ALL: [EventType; 8] = [
        Self::AdminChange,
        Self::LoginSuccess,
        Self::LoginFailure,
        Self::TokenFailure,
        Self::TokenRevoked,
        Self::RoleChange,
        Self::ApiKeyAdminUse,
        Self::RateLimited,
    ];

    /// The wire name (`admin.change`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::AdminChange => "admin.change",
            Self::LoginSuccess => "login.success",
            Self::LoginFailure => "login.failure",
            Self::TokenFailure => "token.failure",
            Self::TokenRevoked => "token.revoked",
            Self::RoleChange => "role.change",
            Self::ApiKeyAdminUse => "api_key.admin_use",
            Self::RateLimited => "rate_limited",
        }
    }

    /// The type with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl Actor {
    /// The id of whoever it names (a token's subject, a key's id, a user's id, a client's id),
    /// or `None` for the admin key and nobody.
    pub fn principal(&self) -> Option<&str> {
        match self {
            Self::Token { sub, .. } | Self::EndUser { sub } => Some(sub),
            Self::ApiKey { id } => Some(id),
            Self::Client { client_id } => Some(client_id),
            Self::AdminKey | Self::Anonymous => None,
        }
    }

    /// The wire name of its kind (`admin_key`, `token`, `api_key`, `end_user`, `client`,
    /// `anonymous`).
    pub const fn kind_name(&self) -> &'static str {
        match self {
            Self::AdminKey => "admin_key",
            Self::Token { .. } => "token",
            Self::ApiKey { .. } => "api_key",
            Self::EndUser { .. } => "end_user",
            Self::Client { .. } => "client",
            Self::Anonymous => "anonymous",
        }
    }

    fn ids(&self) -> [Option<&str>; 2] {
        match self {
            Self::Token { sub, client_id } => [Some(sub), Some(client_id)],
            Self::EndUser { sub } => [Some(sub), None],
            Self::ApiKey { id } => [Some(id), None],
            Self::Client { client_id } => [Some(client_id), None],
            Self::AdminKey | Self::Anonymous => [None, None],
        }
    }
}

/// `value` cut to at most `max` bytes at a character boundary, with control characters
/// replaced by `?` (they would only hide things from whoever reads the event).
pub fn clip(value: &str, max: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max));
    for c in value.chars() {
        let c = if c.is_control() { '?' } else { c };
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

fn check_text(what: &str, value: &str, max: usize, may_be_empty: bool) -> Result<(), String> {
    if value.len() > max || (!may_be_empty && value.is_empty()) {
        return Err(format!("{what} must be {} to {max} bytes", usize::from(!may_be_empty)));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{what} holds a control character"));
    }
    Ok(())
}

impl AuditEvent {
    /// Checks every bound and that the id's time is `at`. Asserted before an event is written
    /// and after it is read.
    pub fn validate(&self) -> Result<(), String> {
        let millis = event_id_millis(&self.id).ok_or_else(|| format!("{:?} is not an event id", self.id))?;
        if millis.div_euclid(1000) != self.at {
            return Err("the event id's time is not its `at`".to_owned());
        }
        check_text("action", &self.action, MAX_ACTION_BYTES, false)?;
        check_text("target", &self.target, MAX_TARGET_BYTES, true)?;
        for id in self.actor.ids().into_iter().flatten() {
            check_text("an actor id", id, MAX_ACTOR_ID_BYTES, false)?;
        }
        if let Some(source) = &self.source {
            check_text("source", source, MAX_SOURCE_BYTES, false)?;
        }
        if let Some(reason) = &self.reason {
            check_text("reason", reason, MAX_REASON_BYTES, false)?;
        }
        Ok(())
    }
}

/// The id of an event at `at_millis` (clamped to what 48 bits hold) with these random bytes.
pub fn event_id(at_millis: i64, random: [u8; 10]) -> String {
    let millis = u128::try_from(at_millis.clamp(0, MAX_ID_MILLIS)).unwrap_or(0);
    let mut value = millis << 80;
    for (i, b) in random.iter().enumerate() {
        value |= u128::from(*b) << (72 - 8 * i);
    }
    encode(value)
}

/// The smallest id an event at `at_millis` can have: the bound of a time range.
pub fn event_id_floor(at_millis: i64) -> String {
    event_id(at_millis, [0; 10])
}

/// The millisecond an event id was made at; `None` if `id` is not an event id.
pub fn event_id_millis(id: &str) -> Option<i64> {
    // 26 digits hold 130 bits; the top two are always zero in an id.
    if id.len() != EVENT_ID_CHARS || id.as_bytes().first().is_none_or(|&b| b > b'7') {
        return None;
    }
    let mut value: u128 = 0;
    for b in id.bytes() {
        let digit = BASE32.iter().position(|&c| c == b)?;
        value = (value << 5) | u128::try_from(digit).ok()?;
    }
    i64::try_from(value >> 80).ok()
}

fn encode(mut value: u128) -> String {
    let mut out = [b'0'; EVENT_ID_CHARS];
    for slot in out.iter_mut().rev() {
        // Five bits at a time, from the low end.
        *slot = BASE32[usize::try_from(value & 31).unwrap_or(0)];
        value >>= 5;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AuditEvent {
        AuditEvent {
            id: event_id(1_700_000_000_123, [7; 10]),
            tenant: "acme".into(),
            at: 1_700_000_000,
            kind: EventType::AdminChange,
            actor: Actor::AdminKey,
            action: "POST".into(),
            target: "users".into(),
            source: Some("127.0.0.1".into()),
            outcome: Outcome::Success,
            reason: Some("201".into()),
        }
    }

    #[test]
    fn ids_sort_by_time_and_round_trip_their_millisecond() {
        let a = event_id(1_000, [255; 10]);
        let b = event_id(1_001, [0; 10]);
        assert!(a < b, "{a} < {b}");
        assert_eq!(a.len(), EVENT_ID_CHARS);
        assert_eq!(event_id_millis(&a), Some(1_000));
        assert_eq!(event_id_millis(&event_id_floor(MAX_ID_MILLIS + 5)), Some(MAX_ID_MILLIS), "clamped");
        assert_eq!(event_id_millis(&event_id(-5, [1; 10])), Some(0), "clamped");
        assert!(event_id_floor(1_001) <= b && event_id_floor(1_001) > a);
        assert!(crate::model::is_valid_id(&a), "an id is safe in a key and a cursor");
        for bad in [
            "",
            "0",
            &"Z".repeat(26),
            &"0".repeat(25),
            &format!("{}I", "0".repeat(25)),
            "0000000000000000000000000a",
        ] {
            assert_eq!(event_id_millis(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_event_holds_its_bounds() {
        assert_eq!(event().validate(), Ok(()));
        let bad = |f: fn(&mut AuditEvent)| {
            let mut e = event();
            f(&mut e);
            e.validate().is_err()
        };
        assert!(bad(|e| e.at += 1), "the id's time must be `at`");
        assert!(bad(|e| e.id = "x".into()));
        assert!(bad(|e| e.action = String::new()));
        assert!(bad(|e| e.action = "a".repeat(MAX_ACTION_BYTES + 1)));
        assert!(bad(|e| e.target = "t".repeat(MAX_TARGET_BYTES + 1)));
        assert!(bad(|e| e.reason = Some("r\n".into())));
        assert!(bad(|e| e.source = Some(String::new())));
        assert!(bad(|e| e.actor = Actor::EndUser { sub: "s".repeat(MAX_ACTOR_ID_BYTES + 1) }));
        assert!(bad(|e| e.actor = Actor::Token { sub: "u".into(), client_id: String::new() }));
    }

    #[test]
    fn clip_bounds_bytes_at_a_character_boundary_and_hides_controls() {
        assert_eq!(clip("abc", 2), "ab");
        assert_eq!(clip("é", 1), "", "never half a character");
        assert_eq!(clip("a\nb", 10), "a?b");
        assert!(clip(&"ü".repeat(1000), MAX_TARGET_BYTES).len() <= MAX_TARGET_BYTES);
    }

    #[test]
    fn wire_names_are_stable() {
        for t in EventType::ALL {
            assert_eq!(serde_json::to_value(t).ok(), Some(serde_json::Value::String(t.name().into())));
            assert_eq!(EventType::from_name(t.name()), Some(t));
        }
        assert_eq!(EventType::from_name("admin"), None);
        let shown = serde_json::to_value(event()).unwrap_or_default();
        assert_eq!(shown["type"], "admin.change");
        assert_eq!(shown["actor"], serde_json::json!({ "kind": "admin_key" }));
        assert_eq!(shown["outcome"], "success");
        let token = Actor::Token { sub: "u1".into(), client_id: "web".into() };
        assert_eq!(
            serde_json::to_value(&token).unwrap_or_default(),
            serde_json::json!({ "kind": "token", "sub": "u1", "client_id": "web" })
        );
        assert_eq!(token.kind_name(), "token");
        assert_eq!(token.principal(), Some("u1"));
    }
}

//! The on-disk key layout: which keyspace holds each kind of record and how its keys are built.
//!
//! Every record of a tenant lives under the prefix `tenant \0`, so a tenant is one prefix scan per
//! keyspace. Tenant ids are checked with [`is_valid_id`] before they reach a key, so they never
//! contain `\0` and the prefix is unambiguous whatever follows it (a `kid` or `jti` may contain
//! any byte). Records that expire also get an entry in the expiry index,
//! `exp_secs (u64 big-endian) \0 kind \0 key`, whose byte order is time order: the sweeper reads
//! it from the start up to `now`.

use tessera_core::model::{UnixSecs, fold_case, is_valid_federated_subject, is_valid_id};
use tessera_core::store::Subject;

/// Separates the tenant from the rest of a key, and the parts of an expiry-index key.
pub(crate) const SEP: u8 = 0;

/// Longest `kid` or `jti` the store keeps. Ours are far shorter; the bound keeps keys small.
pub(crate) const MAX_NAME_BYTES: usize = 256;

/// One keyspace per kind of record, plus the expiry index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Space {
    /// `tenant` -> `Tenant`.
    Tenants,
    /// `tenant \0 client_id` -> `Client`.
    Clients,
    /// `tenant \0 kid` -> `KeyRecord`.
    Keys,
    /// `tenant \0 sha256(token)` -> `OpaqueToken`.
    Tokens,
    /// `tenant \0 jti` -> `Revocation`.
    Revocations,
    /// `tenant \0 user id` -> `User`.
    Users,
    /// `tenant \0 lowercase(username)` -> user id: the username uniqueness index.
    UserNames,
    /// `tenant \0 lowercase(email)` -> user id: the e-mail uniqueness index.
    UserEmails,
    /// `exp \0 kind \0 key` -> empty.
    Expiry,
    /// `tenant \0 sha256(code)` -> `StoredCode`: an authorization code and whether it was taken.
    Codes,
    /// `tenant \0 sha256(cookie)` -> `Session`: SSO sessions.
    Sessions,
    /// `tenant \0 user_id \0 client_id` -> `Consent`.
    Consents,
    /// `tenant \0 client_id \0 user_id` -> empty: the consents of a client, so deleting a client
    /// visits its own consents rather than every consent of the tenant.
    ConsentClients,
    /// `tenant \0 sha256(token)` -> `RefreshToken`.
    RefreshTokens,
    /// `tenant \0 family` -> `StoredFamily`: whether a refresh-token family is revoked.
    RefreshFamilies,
    /// `tenant \0 user_id \0 sha256(cookie)` -> empty: the sessions of a user, so ending them
    /// visits that user's sessions rather than every session of the tenant. An entry lives as
    /// long as its session: written with it, removed with it (deleted, expired or ended).
    SessionUsers,
    /// `tenant \0 sub \0 family` -> empty: the refresh-token families of an end-user, for the
    /// same reason. Written with every write of a family record that names its end-user (so a
    /// family stored before the index existed joins it at its next rotation), removed when
    /// the family record expires.
    FamilyUsers,
    /// `tenant \0 role_id` -> `Role`.
    Roles,
    /// `tenant \0 u|c \0 subject \0 role_id` -> empty: the roles assigned to a user (`u`) or a
    /// client (`c`), which a token issue reads.
    RoleGrants,
    /// `tenant \0 role_id \0 u|c \0 subject` -> empty: the same assignments by role, so
    /// deleting a role and listing its users visit its own members only. Written and removed
    /// with its [`Space::RoleGrants`] twin, in one batch.
    RoleMembers,
    /// `tenant \0 key id` -> `ApiKey`.
    ApiKeys,
    /// `tenant \0 event id` -> `AuditEvent`. Event ids are time-ordered, so a tenant's events
    /// lie in time order and retention removes a range from the front of its prefix: no expiry
    /// index, and a retention change applies to events already stored.
    Events,
    /// `tenant \0 a|u address \0 folded username` -> `Lockout`: a password-attempt limit
    /// refusing (`a`: per address, `u`: per username at an address), in the expiry index
    /// until it ends.
    Lockouts,
    /// `tenant \0 sha256(iss, jti)` -> `UsedAssertion`: a JWT bearer assertion already
    /// exchanged, in the expiry index until it could no longer be accepted anyway.
    Assertions,
    /// `tenant \0 idp \0 subject` -> `FederatedLink`: the local user an upstream account signs
    /// in as. Ids hold no `\0` and a subject no control character, so the key is unambiguous.
    FederatedLinks,
    /// `tenant \0 user_id \0 idp \0 subject` -> empty: the links of a user, so deleting the
    /// user and listing its links visit that user's links only. Written and removed with its
    /// link, in one batch.
    FederatedLinkUsers,
}

impl Space {
    /// Every keyspace, in the order `open` creates them.
    pub(crate) const ALL: [Space; 26] = [
        Self::Tenants,
        Self::Clients,
        Self::Keys,
        Self::Tokens,
        Self::Revocations,
        Self::Expiry,
        Self::Users,
        Self::UserNames,
        Self::UserEmails,
        Self::Codes,
        Self::Sessions,
        Self::Consents,
        Self::ConsentClients,
        Self::RefreshTokens,
        Self::RefreshFamilies,
        Self::SessionUsers,
        Self::FamilyUsers,
        Self::Roles,
        Self::RoleGrants,
        Self::RoleMembers,
        Self::ApiKeys,
        Self::Events,
        Self::Lockouts,
        Self::Assertions,
        Self::FederatedLinks,
        Self::FederatedLinkUsers,
    ];

    /// The fjall keyspace name. Changing one orphans the data under the old name.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Tenants => "tenants",
            Self::Clients => "clients",
            Self::Keys => "keys",
            Self::Tokens => "opaque_tokens",
            Self::Revocations => "revocations",
            Self::Expiry => "expiry",
            Self::Users => "users",
            Self::UserNames => "user_names",
            Self::UserEmails => "user_emails",
            Self::Codes => "auth_codes",
            Self::Sessions => "sessions",
            Self::Consents => "consents",
            Self::ConsentClients => "consent_clients",
            Self::RefreshTokens => "refresh_tokens",
            Self::RefreshFamilies => "refresh_families",
            Self::SessionUsers => "session_users",
            Self::FamilyUsers => "refresh_family_users",
            Self::Roles => "roles",
            Self::RoleGrants => "role_grants",
            Self::RoleMembers => "role_members",
            Self::ApiKeys => "api_keys",
            Self::Events => "audit_events",
            Self::Lockouts => "lockouts",
            Self::Assertions => "used_assertions",
            Self::FederatedLinks => "federated_links",
            Self::FederatedLinkUsers => "federated_link_users",
        }
    }

    /// Position in [`Space::ALL`], for indexing the keyspace handles.
    pub(crate) const fn index(self) -> usize {
        match self {
            Self::Tenants => 0,
            Self::Clients => 1,
            Self::Keys => 2,
            Self::Tokens => 3,
            Self::Revocations => 4,
            Self::Expiry => 5,
            Self::Users => 6,
            Self::UserNames => 7,
            Self::UserEmails => 8,
            Self::Codes => 9,
            Self::Sessions => 10,
            Self::Consents => 11,
            Self::ConsentClients => 12,
            Self::RefreshTokens => 13,
            Self::RefreshFamilies => 14,
            Self::SessionUsers => 15,
            Self::FamilyUsers => 16,
            Self::Roles => 17,
            Self::RoleGrants => 18,
            Self::RoleMembers => 19,
            Self::ApiKeys => 20,
            Self::Events => 21,
            Self::Lockouts => 22,
            Self::Assertions => 23,
            Self::FederatedLinks => 24,
            Self::FederatedLinkUsers => 25,
        }
    }

    /// The expiry-index kind of records in this keyspace, if they expire.
    pub(crate) const fn expiry_kind(self) -> Option<ExpiryKind> {
        match self {
            Self::Tokens => Some(ExpiryKind::Token),
            Self::Revocations => Some(ExpiryKind::Revocation),
            Self::Codes => Some(ExpiryKind::Code),
            Self::Sessions => Some(ExpiryKind::Session),
            Self::RefreshTokens => Some(ExpiryKind::RefreshToken),
            Self::RefreshFamilies => Some(ExpiryKind::RefreshFamily),
            Self::Lockouts => Some(ExpiryKind::Lockout),
            Self::Assertions => Some(ExpiryKind::Assertion),
            Self::Tenants
            | Self::Clients
            | Self::Keys
            | Self::Expiry
            | Self::Users
            | Self::UserNames
            | Self::UserEmails
            | Self::Consents
            | Self::ConsentClients
            | Self::SessionUsers
            | Self::FamilyUsers
            | Self::Roles
            | Self::RoleGrants
            | Self::RoleMembers
            | Self::ApiKeys
            | Self::Events
            | Self::FederatedLinks
            | Self::FederatedLinkUsers => None,
        }
    }
}

/// The kinds of record the expiry index points at (one byte in the index key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExpiryKind {
    /// An opaque access token.
    Token,
    /// A revoked JWT.
    Revocation,
    /// An authorization code (used or not).
    Code,
    /// An SSO session.
    Session,
    /// A refresh token (rotated or not).
    RefreshToken,
    /// A refresh-token family record (revoked or not).
    RefreshFamily,
    Lockout,
    /// A used JWT bearer assertion.
    Assertion,
}

impl ExpiryKind {
    const fn byte(self) -> u8 {
        match self {
            Self::Token => b't',
            Self::Revocation => b'r',
            Self::Code => b'c',
            Self::Session => b's',
            Self::RefreshToken => b'R',
            Self::RefreshFamily => b'F',
            Self::Lockout => b'L',
            Self::Assertion => b'A',
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            b't' => Some(Self::Token),
            b'r' => Some(Self::Revocation),
            b'c' => Some(Self::Code),
            b's' => Some(Self::Session),
            b'R' => Some(Self::RefreshToken),
            b'F' => Some(Self::RefreshFamily),
            b'L' => Some(Self::Lockout),
            b'A' => Some(Self::Assertion),
            _ => None,
        }
    }

    /// The keyspace holding the records of this kind.
    pub(crate) const fn space(self) -> Space {
        match self {
            Self::Token => Space::Tokens,
            Self::Revocation => Space::Revocations,
            Self::Code => Space::Codes,
            Self::Session => Space::Sessions,
            Self::RefreshToken => Space::RefreshTokens,
            Self::RefreshFamily => Space::RefreshFamilies,
            Self::Lockout => Space::Lockouts,
            Self::Assertion => Space::Assertions,
        }
    }
}

/// The key of a tenant record, or `None` if `tenant` is not a valid id (so no record can exist).
pub(crate) fn tenant_key(tenant: &str) -> Option<Vec<u8>> {
    is_valid_id(tenant).then(|| tenant.as_bytes().to_vec())
}

/// `tenant \0`: the prefix of everything a tenant owns outside the tenants keyspace.
pub(crate) fn tenant_prefix(tenant: &str) -> Option<Vec<u8>> {
    let mut key = tenant_key(tenant)?;
    key.push(SEP);
    Some(key)
}

/// `tenant \0 name`, or `None` if the tenant id is invalid or `name` is empty or too long.
pub(crate) fn scoped_key(tenant: &str, name: &[u8]) -> Option<Vec<u8>> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return None;
    }
    let mut key = tenant_prefix(tenant)?;
    key.extend_from_slice(name);
    Some(key)
}

/// Splits `tenant \0 rest` at the first separator.
pub(crate) fn split_scoped(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = key.iter().position(|&b| b == SEP)?;
    Some((&key[..at], &key[at + 1..]))
}

/// The tenant that owns a key of `space` (the expiry index is not owned by a tenant).
pub(crate) fn owner(space: Space, key: &[u8]) -> Option<&[u8]> {
    match space {
        Space::Tenants => Some(key),
        Space::Clients
        | Space::Keys
        | Space::Tokens
        | Space::Revocations
        | Space::Users
        | Space::UserNames
        | Space::UserEmails
        | Space::Codes
        | Space::Sessions
        | Space::Consents
        | Space::ConsentClients
        | Space::RefreshTokens
        | Space::RefreshFamilies
        | Space::SessionUsers
        | Space::FamilyUsers
        | Space::Roles
        | Space::RoleGrants
        | Space::RoleMembers
        | Space::ApiKeys
        | Space::Events
        | Space::Lockouts
        | Space::Assertions
        | Space::FederatedLinks
        | Space::FederatedLinkUsers => split_scoped(key).map(|(tenant, _)| tenant),
        Space::Expiry => None,
    }
}

/// `tenant \0 client_id`: the key of a client record, or `None` for an id no client can have.
/// The key of a lockout: `tenant \0 a|u address \0 username`; `None` for a tenant id, address
/// or username no valid lockout has (`Lockout::validate`).
pub(crate) fn lockout_key(lockout: &tessera_core::model::Lockout) -> Option<Vec<u8>> {
    use tessera_core::model::LockoutLimit;
    lockout.validate().ok()?;
    let tag = match lockout.limit {
        LockoutLimit::Address => b'a',
        LockoutLimit::UsernameAtAddress => b'u',
    };
    let mut key = tenant_prefix(&lockout.tenant)?;
    key.push(tag);
    key.extend_from_slice(lockout.address.as_bytes());
    key.push(SEP);
    key.extend_from_slice(lockout.username.as_bytes());
    Some(key)
}

pub(crate) fn client_key(tenant: &str, client_id: &str) -> Option<Vec<u8>> {
    if is_valid_id(client_id) { scoped_key(tenant, client_id.as_bytes()) } else { None }
}

/// `tenant \0 id` of a user, or `None` if either id is invalid (no such user can exist).
pub(crate) fn user_key(tenant: &str, id: &str) -> Option<Vec<u8>> {
    if is_valid_id(id) { scoped_key(tenant, id.as_bytes()) } else { None }
}

/// The username index's record of which [`fold_case`] its entries (and the e-mail index's)
/// follow; see `refold`. No tenant id is empty, so no entry's key begins with the separator.
pub(crate) const NAME_FOLD_MARKER: &[u8] = b"\0name-fold";
/// Today's folding: NFKC, full case folding, NFKC. (Version 1, never written, lowercased.)
pub(crate) const NAME_FOLD_VERSION: &[u8] = b"2";

/// `tenant \0 fold_case(value)`: a key of the username or e-mail index. Folding here, and only
/// here, is what makes both unique regardless of case and compatibility forms.
pub(crate) fn folded_key(tenant: &str, value: &str) -> Option<Vec<u8>> {
    scoped_key(tenant, fold_case(value).as_bytes())
}

/// `tenant \0 first \0 second`, or `None` unless all three are valid ids (which contain no
/// `\0`, so the parts split back unambiguously).
fn pair_key(tenant: &str, first: &str, second: &str) -> Option<Vec<u8>> {
    if !is_valid_id(first) || !is_valid_id(second) {
        return None;
    }
    let mut key = tenant_prefix(tenant)?;
    key.extend_from_slice(first.as_bytes());
    key.push(SEP);
    key.extend_from_slice(second.as_bytes());
    Some(key)
}

/// `tenant \0 user_id \0 client_id`: a consent record.
pub(crate) fn consent_key(tenant: &str, user_id: &str, client_id: &str) -> Option<Vec<u8>> {
    pair_key(tenant, user_id, client_id)
}

/// Swaps the two ids after the tenant: a consent key becomes its index key and back.
pub(crate) fn swap_pair(key: &[u8]) -> Option<Vec<u8>> {
    let (tenant, rest) = split_scoped(key)?;
    let (first, second) = split_scoped(rest)?;
    if first.is_empty() || second.is_empty() || second.contains(&SEP) {
        return None;
    }
    let mut out = Vec::with_capacity(key.len());
    out.extend_from_slice(tenant);
    out.push(SEP);
    out.extend_from_slice(second);
    out.push(SEP);
    out.extend_from_slice(first);
    Some(out)
}

/// `tenant \0 family` of a refresh-token family, or `None` if either id is invalid.
pub(crate) fn family_key(tenant: &str, family: &str) -> Option<Vec<u8>> {
    if is_valid_id(family) { scoped_key(tenant, family.as_bytes()) } else { None }
}

/// `tenant \0 user \0`: the prefix of a user's entries in [`Space::SessionUsers`] or
/// [`Space::FamilyUsers`], or `None` if either id is invalid (no such user can have any).
pub(crate) fn by_user_prefix(tenant: &str, user: &str) -> Option<Vec<u8>> {
    if !is_valid_id(user) {
        return None;
    }
    let mut key = tenant_prefix(tenant)?;
    key.extend_from_slice(user.as_bytes());
    key.push(SEP);
    Some(key)
}

/// `tenant \0 user \0 sha256(cookie)`: the [`Space::SessionUsers`] entry of the session
/// stored under `session_key` (`tenant \0 sha256(cookie)`) for `user`, or `None` if the user
/// id is invalid or `session_key` is not a session key.
pub(crate) fn session_user_key(session_key: &[u8], user: &str) -> Option<Vec<u8>> {
    let (tenant, digest) = split_scoped(session_key)?;
    let tenant = std::str::from_utf8(tenant).ok()?;
    if digest.len() != 32 {
        return None;
    }
    let mut key = by_user_prefix(tenant, user)?;
    key.extend_from_slice(digest);
    Some(key)
}

/// The session key (`tenant \0 sha256(cookie)`) a [`Space::SessionUsers`] entry points at.
pub(crate) fn session_of_user_entry(entry: &[u8]) -> Option<Vec<u8>> {
    let (tenant, rest) = split_scoped(entry)?;
    let (_, digest) = split_scoped(rest)?;
    (digest.len() == 32).then(|| [tenant, &[SEP][..], digest].concat())
}

/// `tenant \0 idp \0 subject`: a federated link's key, or `None` for a tenant, identity
/// provider or subject no link can have (`FederatedLink::validate`).
pub(crate) fn link_key(tenant: &str, idp: &str, subject: &str) -> Option<Vec<u8>> {
    if !is_valid_id(idp) || !is_valid_federated_subject(subject) {
        return None;
    }
    let mut key = tenant_prefix(tenant)?;
    key.extend_from_slice(idp.as_bytes());
    key.push(SEP);
    key.extend_from_slice(subject.as_bytes());
    Some(key)
}

/// `tenant \0 user \0 idp \0 subject`: the [`Space::FederatedLinkUsers`] entry of the link
/// under `link_key` for `user`, or `None` if the user id is invalid or `link_key` is no key.
pub(crate) fn link_user_key(link_key: &[u8], user: &str) -> Option<Vec<u8>> {
    let (tenant, rest) = split_scoped(link_key)?;
    let mut key = by_user_prefix(std::str::from_utf8(tenant).ok()?, user)?;
    key.extend_from_slice(rest);
    Some(key)
}

/// The link key (`tenant \0 idp \0 subject`) a [`Space::FederatedLinkUsers`] entry points at.
pub(crate) fn link_of_user_entry(entry: &[u8]) -> Option<Vec<u8>> {
    let (tenant, rest) = split_scoped(entry)?;
    let (_, link) = split_scoped(rest)?;
    (!link.is_empty()).then(|| [tenant, &[SEP][..], link].concat())
}

/// `tenant \0 sub \0 family`: the [`Space::FamilyUsers`] entry of a family, or `None` if an
/// id is invalid.
pub(crate) fn family_user_key(tenant: &str, sub: &str, family: &str) -> Option<Vec<u8>> {
    pair_key(tenant, sub, family)
}

/// The family key (`tenant \0 family`) a [`Space::FamilyUsers`] entry points at.
pub(crate) fn family_of_user_entry(entry: &[u8]) -> Option<Vec<u8>> {
    let (tenant, rest) = split_scoped(entry)?;
    let (_, family) = split_scoped(rest)?;
    (!family.is_empty() && !family.contains(&SEP)).then(|| [tenant, &[SEP][..], family].concat())
}

/// The one-byte tag of a role assignment's subject in [`Space::RoleGrants`] and
/// [`Space::RoleMembers`] keys, and its id.
fn subject_parts(subject: Subject<'_>) -> (u8, &str) {
    match subject {
        Subject::User(id) => (b'u', id),
        Subject::Client(id) => (b'c', id),
    }
}

/// `tenant \0 role_id` of a role, or `None` if either id is invalid.
pub(crate) fn role_key(tenant: &str, id: &str) -> Option<Vec<u8>> {
    if is_valid_id(id) { scoped_key(tenant, id.as_bytes()) } else { None }
}

/// The first key of a listing under `prefix` after the record with id `after`: ids hold no
/// separator, so key order under the prefix is id order, and the first key after the cursor's
/// own is the cursor's id followed by anything.
pub(crate) fn after_cursor(prefix: &[u8], after: Option<&str>) -> Vec<u8> {
    let mut start = prefix.to_vec();
    if let Some(after) = after {
        start.extend_from_slice(after.as_bytes());
        start.push(SEP);
    }
    start
}

/// `tenant \0 u|c \0 subject \0`: the prefix of a subject's [`Space::RoleGrants`] entries,
/// which is also the key its cached role ids live under; `None` if an id is invalid.
pub(crate) fn subject_prefix(tenant: &str, subject: Subject<'_>) -> Option<Vec<u8>> {
    let (tag, id) = subject_parts(subject);
    if !is_valid_id(id) || !is_valid_id(tenant) {
        return None;
    }
    // Read at every token issue: one allocation of the final size.
    let mut key = Vec::with_capacity(tenant.len() + id.len() + 4);
    key.extend_from_slice(tenant.as_bytes());
    key.extend_from_slice(&[SEP, tag, SEP]);
    key.extend_from_slice(id.as_bytes());
    key.push(SEP);
    Some(key)
}

/// The [`Space::RoleGrants`] and [`Space::RoleMembers`] keys of one assignment, or `None` if
/// an id is invalid.
pub(crate) fn assignment_keys(tenant: &str, subject: Subject<'_>, role: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    if !is_valid_id(role) {
        return None;
    }
    let mut grant = subject_prefix(tenant, subject)?;
    grant.extend_from_slice(role.as_bytes());
    let (tag, id) = subject_parts(subject);
    let mut member = members_prefix(tenant, role)?;
    member.extend_from_slice(&[tag, SEP]);
    member.extend_from_slice(id.as_bytes());
    Some((grant, member))
}

/// `tenant \0 role_id \0`: the prefix of a role's [`Space::RoleMembers`] entries.
pub(crate) fn members_prefix(tenant: &str, role: &str) -> Option<Vec<u8>> {
    let mut key = role_key(tenant, role)?;
    key.push(SEP);
    Some(key)
}

/// `tenant \0 role_id \0 u \0`: the prefix of the users among a role's members.
pub(crate) fn user_members_prefix(tenant: &str, role: &str) -> Option<Vec<u8>> {
    let mut key = members_prefix(tenant, role)?;
    key.extend_from_slice(&[b'u', SEP]);
    Some(key)
}

/// The parts of a [`Space::RoleGrants`] key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct GrantParts<'a> {
    pub(crate) tenant: &'a [u8],
    /// `u` for a user, `c` for a client.
    pub(crate) tag: u8,
    pub(crate) subject: &'a [u8],
    pub(crate) role: &'a [u8],
}

/// Splits a [`Space::RoleGrants`] key into its parts.
pub(crate) fn split_grant(key: &[u8]) -> Option<GrantParts<'_>> {
    let (tenant, rest) = split_scoped(key)?;
    let (tag, rest) = split_scoped(rest)?;
    let (subject, role) = split_scoped(rest)?;
    match tag {
        [tag @ (b'u' | b'c')] if !subject.is_empty() && !role.is_empty() && !role.contains(&SEP) => {
            Some(GrantParts { tenant, tag: *tag, subject, role })
        }
        _ => None,
    }
}

/// The [`Space::RoleGrants`] twin of a [`Space::RoleMembers`] key, and the other way round.
pub(crate) fn member_to_grant(member: &[u8]) -> Option<Vec<u8>> {
    let (tenant, rest) = split_scoped(member)?;
    let (role, rest) = split_scoped(rest)?;
    let (tag, subject) = split_scoped(rest)?;
    if !matches!(tag, [b'u' | b'c']) || subject.is_empty() || subject.contains(&SEP) || role.is_empty() {
        return None;
    }
    Some([tenant, &[SEP], tag, &[SEP], subject, &[SEP], role].concat())
}

/// The [`Space::RoleMembers`] twin of a [`Space::RoleGrants`] key.
pub(crate) fn grant_to_member(grant: &[u8]) -> Option<Vec<u8>> {
    let GrantParts { tenant, tag, subject, role } = split_grant(grant)?;
    Some([tenant, &[SEP], role, &[SEP], &[tag], &[SEP], subject].concat())
}

/// `tenant \0 id` of an audit event, or `None` if the tenant or the event id is invalid.
pub(crate) fn event_key(tenant: &str, id: &str) -> Option<Vec<u8>> {
    if tessera_core::model::event_id_millis(id).is_some() { scoped_key(tenant, id.as_bytes()) } else { None }
}

/// Expiry instants before the epoch sort as the epoch: they are long past either way.
fn exp_bytes(exp: UnixSecs) -> [u8; 8] {
    u64::try_from(exp).unwrap_or(0).to_be_bytes()
}

/// `exp \0 kind \0 key`.
pub(crate) fn expiry_key(exp: UnixSecs, kind: ExpiryKind, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 3 + key.len());
    out.extend_from_slice(&exp_bytes(exp));
    out.push(SEP);
    out.push(kind.byte());
    out.push(SEP);
    out.extend_from_slice(key);
    out
}

/// A parsed expiry-index key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ExpiryEntry<'a> {
    /// When the record expires, in seconds (negative instants read back as 0).
    pub(crate) exp_secs: u64,
    /// What kind of record it points at.
    pub(crate) kind: ExpiryKind,
    /// The record's key in its keyspace.
    pub(crate) key: &'a [u8],
}

/// Parses `exp \0 kind \0 key`; `None` for anything else.
pub(crate) fn parse_expiry_key(raw: &[u8]) -> Option<ExpiryEntry<'_>> {
    let (exp, rest) = raw.split_first_chunk::<8>()?;
    let [SEP, kind, SEP, key @ ..] = rest else {
        return None;
    };
    Some(ExpiryEntry { exp_secs: u64::from_be_bytes(*exp), kind: ExpiryKind::from_byte(*kind)?, key })
}

/// Exclusive upper bound of the index entries that have expired at `now` (`exp <= now`: RFC 7519
/// says a token must not be accepted on or after its `exp`).
pub(crate) fn expired_upper_bound(now: UnixSecs) -> [u8; 8] {
    exp_bytes(now.saturating_add(1))
}

/// A key made readable for error messages: ids as text, the `\0` as `/`, other bytes as hex
/// (token digests).
pub(crate) fn display_key(space: Space, key: &[u8]) -> String {
    let mut out = String::with_capacity(space.name().len() + 1 + key.len() * 2);
    out.push_str(space.name());
    out.push(':');
    for &b in key {
        match b {
            SEP => out.push('/'),
            b'!'..=b'~' if b != b'%' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_keys_reject_invalid_tenants_and_names() {
        assert_eq!(scoped_key("acme", b"web").as_deref(), Some(&b"acme\0web"[..]));
        assert_eq!(scoped_key("a/b", b"web"), None);
        assert_eq!(scoped_key("acme", b""), None);
        assert_eq!(scoped_key("acme", &[b'x'; MAX_NAME_BYTES + 1]), None);
        assert_eq!(tenant_key(""), None);
    }

    #[test]
    fn tenant_prefix_does_not_match_a_longer_tenant() {
        let acme = tenant_prefix("acme").unwrap_or_default();
        let acme2 = scoped_key("acme2", b"web").unwrap_or_default();
        assert!(!acme2.starts_with(&acme));
    }

    #[test]
    fn expiry_keys_round_trip_and_sort_by_time() {
        let a = expiry_key(5, ExpiryKind::Token, b"acme\0x");
        let b = expiry_key(256, ExpiryKind::Revocation, b"acme\0y");
        assert!(a < b);
        assert_eq!(
            parse_expiry_key(&b),
            Some(ExpiryEntry { exp_secs: 256, kind: ExpiryKind::Revocation, key: b"acme\0y" })
        );
        assert!(a.as_slice() < expired_upper_bound(5).as_slice());
        assert!(a.as_slice() >= expired_upper_bound(4).as_slice());
        assert_eq!(parse_expiry_key(&expiry_key(-7, ExpiryKind::Token, b"k")).map(|e| e.exp_secs), Some(0));
        assert_eq!(parse_expiry_key(b"short"), None);
    }

    #[test]
    fn owner_is_the_part_before_the_separator() {
        assert_eq!(owner(Space::Clients, b"acme\0web"), Some(&b"acme"[..]));
        assert_eq!(owner(Space::Tenants, b"acme"), Some(&b"acme"[..]));
        assert_eq!(owner(Space::Expiry, b"x"), None);
    }

    #[test]
    fn index_keys_fold_case() {
        assert_eq!(folded_key("acme", "Alice@Example.COM").as_deref(), Some(&b"acme\0alice@example.com"[..]));
        assert_eq!(user_key("acme", "a/b"), None);
        let names: Vec<&str> = Space::ALL.iter().map(|s| s.name()).collect();
        for (i, space) in Space::ALL.iter().enumerate() {
            assert_eq!(space.index(), i);
            assert_eq!(names.iter().filter(|n| **n == space.name()).count(), 1);
        }
    }

    #[test]
    fn consent_keys_swap_between_record_and_index() {
        let key = consent_key("acme", "u1", "web").unwrap();
        assert_eq!(key, b"acme\0u1\0web");
        let index = b"acme\0web\0u1".to_vec();
        assert_eq!(swap_pair(&key), Some(index.clone()));
        assert_eq!(swap_pair(&index), Some(key));
        assert_eq!(consent_key("acme", "a/b", "web"), None);
        assert_eq!(consent_key("acme", "u1", ""), None);
        assert_eq!(swap_pair(b"acme\0u1"), None);
        assert_eq!(swap_pair(b"acme\0u1\0"), None);
        assert_eq!(family_key("acme", "f\0x"), None);
    }

    #[test]
    fn by_user_entries_point_back_at_their_records() {
        let session = scoped_key("acme", &[7; 32]).unwrap();
        let entry = session_user_key(&session, "u1").unwrap();
        assert_eq!(entry, [&b"acme\0u1\0"[..], &[7u8; 32][..]].concat());
        assert!(entry.starts_with(&by_user_prefix("acme", "u1").unwrap()));
        assert!(!entry.starts_with(&by_user_prefix("acme", "u").unwrap()), "a prefix of another user's id");
        assert_eq!(session_of_user_entry(&entry), Some(session.clone()));
        assert_eq!(session_user_key(&session, "a/b"), None);
        assert_eq!(session_user_key(b"acme\0short", "u1"), None);
        assert_eq!(by_user_prefix("acme", ""), None);

        let entry = family_user_key("acme", "u1", "fam-1").unwrap();
        assert_eq!(entry, b"acme\0u1\0fam-1");
        assert_eq!(family_of_user_entry(&entry), family_key("acme", "fam-1"));
        assert_eq!(family_of_user_entry(b"acme\0u1"), None);
        assert_eq!(family_user_key("acme", "u1", "f\0x"), None);
    }

    #[test]
    fn link_keys_hold_any_subject_and_their_by_user_entries_point_back() {
        let key = link_key("acme", "idp1", "a/b:c\u{e9}").unwrap();
        assert_eq!(key, "acme\0idp1\0a/b:c\u{e9}".as_bytes());
        let entry = link_user_key(&key, "u1").unwrap();
        assert_eq!(entry, "acme\0u1\0idp1\0a/b:c\u{e9}".as_bytes());
        assert!(entry.starts_with(&by_user_prefix("acme", "u1").unwrap()));
        assert_eq!(link_of_user_entry(&entry), Some(key.clone()));
        assert_eq!(link_user_key(&key, "a/b"), None);
        assert_eq!(link_of_user_entry(b"acme\0u1"), None);
        assert_eq!(link_key("acme", "idp1", "a\0b"), None);
        assert_eq!(link_key("acme", "idp1", ""), None);
        assert_eq!(link_key("acme", "a/b", "s"), None);
        assert_eq!(link_key("a\0", "idp1", "s"), None);
    }

    #[test]
    fn role_assignment_keys_are_twins() {
        let (grant, member) = assignment_keys("acme", Subject::User("u1"), "r1").unwrap();
        assert_eq!(grant, b"acme\0u\0u1\0r1");
        assert_eq!(member, b"acme\0r1\0u\0u1");
        assert!(grant.starts_with(&subject_prefix("acme", Subject::User("u1")).unwrap()));
        assert!(!grant.starts_with(&subject_prefix("acme", Subject::Client("u1")).unwrap()));
        assert!(member.starts_with(&user_members_prefix("acme", "r1").unwrap()));
        assert_eq!(grant_to_member(&grant), Some(member.clone()));
        assert_eq!(member_to_grant(&member), Some(grant.clone()));
        let (client_grant, client_member) = assignment_keys("acme", Subject::Client("web"), "r1").unwrap();
        assert_eq!(member_to_grant(&client_member), Some(client_grant));
        assert!(!client_member.starts_with(&user_members_prefix("acme", "r1").unwrap()));
        assert_eq!(assignment_keys("acme", Subject::User("a/b"), "r1"), None);
        assert_eq!(assignment_keys("acme", Subject::User("u1"), ""), None);
        assert_eq!(split_grant(b"acme\0x\0u1\0r1"), None);
        assert_eq!(member_to_grant(b"acme\0r1\0u"), None);
    }

    #[test]
    fn display_key_escapes_binary() {
        assert_eq!(display_key(Space::Tokens, b"acme\0\x01"), "opaque_tokens:acme/%01");
    }
}

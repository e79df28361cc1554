//! What a subject's roles add up to, and what that allows: a tenant's roles as one set
//! ([`RoleSet`]), the [`Entitlements`] (role names and permissions) a subject's assignments
//! resolve to, which tokens carry as `roles` and `permissions`, and the rule that a scope
//! requiring a permission is granted only to a subject holding it ([`check_scope`]).
//!
//! Entitlements are resolved when a token is issued, from the assignments and roles stored
//! then: a role removed from a subject, or a permission removed from a role, is gone from the
//! next token (a JWT already issued keeps what it says until it expires, as any JWT does).

use std::sync::{Arc, LazyLock};

use crate::error::{OAuthError, Reason};
use crate::model::{Role, ScopePermission};
use crate::scope;

/// The roles of one tenant, sorted by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleSet {
    roles: Vec<Role>,
}

impl RoleSet {
    /// The set of `roles` (one tenant's).
    pub fn new(mut roles: Vec<Role>) -> Self {
        roles.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Self { roles }
    }

    /// Every role, in id order.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// How many roles the tenant has.
    pub fn len(&self) -> usize {
        self.roles.len()
    }

    /// Whether the tenant has no role.
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }

    /// The role with this id.
    pub fn get(&self, id: &str) -> Option<&Role> {
        self.roles.binary_search_by(|r| r.id.as_str().cmp(id)).ok().map(|i| &self.roles[i])
    }

    /// The role with this name, ASCII case ignored.
    pub fn named(&self, name: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.is_named(name))
    }

    /// The role an operator named, by id or else by name (the admin API takes either).
    pub fn find(&self, id_or_name: &str) -> Option<&Role> {
        self.get(id_or_name).or_else(|| self.named(id_or_name))
    }

    /// What the roles with ids `role_ids` add up to. Ids of roles no longer stored are
    /// skipped: an assignment outliving its role (deleted meanwhile) grants nothing.
    pub fn entitlements(&self, role_ids: &[String]) -> Entitlements {
        if role_ids.is_empty() {
            return Entitlements::default();
        }
        let mut roles = Vec::with_capacity(role_ids.len());
        let mut permissions: Vec<String> = Vec::new();
        for role in role_ids.iter().filter_map(|id| self.get(id)) {
            roles.push(role.name.clone());
            permissions.extend(role.permissions.iter().cloned());
        }
        roles.sort_unstable();
        roles.dedup();
        permissions.sort_unstable();
        permissions.dedup();
        Entitlements { roles, permissions }
    }
}

/// The entitlements of a subject without roles, shared: most tokens carry none, and handing
/// out this one costs a reference count rather than an allocation.
pub fn none() -> Arc<Entitlements> {
    static NONE: LazyLock<Arc<Entitlements>> = LazyLock::new(Arc::default);
    Arc::clone(&NONE)
}

/// A subject's role names and permissions, each sorted and without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entitlements {
    /// The names of the subject's roles.
    pub roles: Vec<String>,
    /// The union of their permissions.
    pub permissions: Vec<String>,
}

impl Entitlements {
    /// Whether the subject holds `permission`: that exact permission, or a wildcard
    /// `prefix:*` whose prefix (up to and including its `:`) begins it, so `admin:*` holds
    /// `admin:users:read`. Nothing else is a pattern: `*` alone is a permission of its own.
    pub fn has(&self, permission: &str) -> bool {
        self.permissions.iter().any(|held| {
            held == permission
                || held
                    .strip_suffix('*')
                    .is_some_and(|prefix| prefix.ends_with(':') && permission.starts_with(prefix))
        })
    }
}

/// The scope that releases the end-user's role names in ID tokens and userinfo answers.
pub const ROLES_SCOPE: &str = "roles";

/// The `roles` claim of an ID token or a userinfo answer: the subject's role names (an empty
/// list when it has none), when `scope` grants [`ROLES_SCOPE`].
pub fn roles_claim(scope: &str, held: &Entitlements) -> Option<serde_json::Value> {
    scope::contains(scope, ROLES_SCOPE).then(|| serde_json::Value::from(held.roles.clone()))
}

/// The scope to grant a subject holding `held`: `scope` whole if it came from the client and
/// every value is permitted (else `invalid_scope`), or without the values not permitted if the
/// server chose it; and refused when the subject holds more permissions than a token carries.
/// Grants that spend something before issuing (a refresh rotates its token) ask this first.
pub fn admit_scope(
    scope: &str,
    held: &Entitlements,
    rules: &[ScopePermission],
    requested: bool,
) -> Result<String, OAuthError> {
    check_size(held)?;
    if requested {
        check_scope(scope, rules, held)?;
        Ok(scope.to_owned())
    } else {
        Ok(permitted_scope(scope, rules, held))
    }
}

/// Most permissions one token carries. Roles are edited one at a time, so no single edit can
/// be refused for the sum a subject ends up with; a token whose subject holds more is refused
/// at issue instead ([`check_size`]), with a message that says why.
pub const MAX_PERMISSIONS_PER_TOKEN: usize = 100;

/// Refuses entitlements too large for a token: more than [`MAX_PERMISSIONS_PER_TOKEN`].
pub fn check_size(held: &Entitlements) -> Result<(), OAuthError> {
    if held.permissions.len() > MAX_PERMISSIONS_PER_TOKEN {
        return Err(OAuthError::new(
            Reason::TooManyPermissions,
            format!(
                "the subject's roles grant {} permissions; a token carries at most {MAX_PERMISSIONS_PER_TOKEN}",
                held.permissions.len()
            ),
        ));
    }
    Ok(())
}

/// The permission `requirements` ask for `scope_value`, if any.
fn required<'a>(requirements: &'a [ScopePermission], scope_value: &str) -> Option<&'a str> {
    requirements.iter().find(|r| r.scope == scope_value).map(|r| r.permission.as_str())
}

/// Checks a scope about to be granted (space-delimited, already within what the client
/// registered) against the tenant's `requirements`: every value that requires a permission
/// needs the subject to hold it, or the request fails with `invalid_scope` (RFC 6749 5.2: the
/// scope exceeds what may be granted).
pub fn check_scope(
    granted: &str,
    requirements: &[ScopePermission],
    held: &Entitlements,
) -> Result<(), OAuthError> {
    if requirements.is_empty() {
        return Ok(());
    }
    match scope::values(granted).find(|v| required(requirements, v).is_some_and(|p| !held.has(p))) {
        None => Ok(()),
        Some(v) => Err(OAuthError::new(
            Reason::ScopeNotPermitted,
            format!("scope `{v}` requires a permission the subject does not hold"),
        )),
    }
}

/// `granted` without the values whose permission the subject does not hold: for a scope the
/// server chose itself (a client's default scope, a refresh without `scope`), where RFC 6749
/// 3.3 lets the server grant less than the default rather than fail.
pub fn permitted_scope(granted: &str, requirements: &[ScopePermission], held: &Entitlements) -> String {
    if requirements.is_empty() {
        return granted.to_owned();
    }
    scope::values(granted)
        .filter(|v| required(requirements, v).is_none_or(|p| held.has(p)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: &str, name: &str, permissions: &[&str]) -> Role {
        Role {
            tenant: "t".into(),
            id: id.into(),
            name: name.into(),
            description: None,
            permissions: Role::normalize_permissions(permissions.iter().map(|p| (*p).to_owned()).collect()),
            created_at: 1,
            updated_at: 1,
        }
    }

    fn set() -> RoleSet {
        RoleSet::new(vec![
            role("r2", "writer", &["docs:write", "docs:read"]),
            role("r1", "reader", &["docs:read"]),
            role("r3", "Admin", &["admin:*"]),
        ])
    }

    fn rule(scope: &str, permission: &str) -> ScopePermission {
        ScopePermission { scope: scope.into(), permission: permission.into() }
    }

    #[test]
    fn roles_are_found_by_id_then_name() {
        let s = set();
        assert_eq!(s.get("r1").map(|r| r.name.as_str()), Some("reader"));
        assert_eq!(s.find("admin").map(|r| r.id.as_str()), Some("r3"));
        assert_eq!(s.find("r2").map(|r| r.name.as_str()), Some("writer"));
        assert!(s.find("nobody").is_none());
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn entitlements_are_the_sorted_union_and_skip_deleted_roles() {
        let s = set();
        let e = s.entitlements(&["r2".into(), "r1".into(), "gone".into(), "r1".into()]);
        assert_eq!(e.roles, ["reader", "writer"]);
        assert_eq!(e.permissions, ["docs:read", "docs:write"]);
        assert_eq!(s.entitlements(&[]), Entitlements::default());
    }

    #[test]
    fn wildcards_cover_their_prefix_only() {
        let e = set().entitlements(&["r3".into()]);
        assert!(e.has("admin:users:read"));
        assert!(e.has("admin:*"));
        assert!(!e.has("administrator"));
        assert!(!e.has("docs:read"));
        let star = Entitlements { roles: vec![], permissions: vec!["*".into(), "docs*".into()] };
        assert!(!star.has("docs:read"), "only `prefix:*` is a wildcard");
        assert!(star.has("*"));
    }

    #[test]
    fn a_scope_needing_a_permission_needs_the_subject_to_hold_it() {
        let rules = [rule("docs.write", "docs:write")];
        let reader = set().entitlements(&["r1".into()]);
        let writer = set().entitlements(&["r2".into()]);
        assert_eq!(check_scope("openid docs.read", &rules, &reader), Ok(()));
        let err = check_scope("openid docs.write", &rules, &reader).expect_err("not held");
        assert_eq!(
            (err.reason, err.code()),
            (Reason::ScopeNotPermitted, crate::error::ErrorCode::InvalidScope)
        );
        assert_eq!(check_scope("openid docs.write", &rules, &writer), Ok(()));
        assert_eq!(permitted_scope("openid docs.write read", &rules, &reader), "openid read");
        assert_eq!(permitted_scope("openid docs.write", &rules, &writer), "openid docs.write");
        assert_eq!(permitted_scope("a b", &[], &reader), "a b");
    }

    #[test]
    fn a_token_carries_a_bounded_number_of_permissions() {
        let mut held = Entitlements {
            roles: vec![],
            permissions: (0..MAX_PERMISSIONS_PER_TOKEN).map(|i| format!("p{i}")).collect(),
        };
        assert_eq!(check_size(&held), Ok(()));
        held.permissions.push("one:more".into());
        assert_eq!(check_size(&held).map_err(|e| e.reason), Err(Reason::TooManyPermissions));
    }

    #[test]
    fn the_roles_claim_needs_the_roles_scope() {
        let held = set().entitlements(&["r1".into()]);
        assert_eq!(roles_claim("openid roles", &held), Some(serde_json::json!(["reader"])));
        assert_eq!(roles_claim("openid roles", &Entitlements::default()), Some(serde_json::json!([])));
        assert_eq!(roles_claim("openid profile", &held), None);
    }

    #[test]
    fn admitting_a_scope() {
        let rules = [rule("docs.write", "docs:write")];
        let reader = set().entitlements(&["r1".into()]);
        assert_eq!(admit_scope("a docs.write", &reader, &rules, false), Ok("a".into()));
        assert!(admit_scope("a docs.write", &reader, &rules, true).is_err());
        assert_eq!(admit_scope("a", &reader, &rules, true), Ok("a".into()));
    }
}

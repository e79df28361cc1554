//! Roles of a tenant (RBAC): a named set of permissions that users and clients are assigned.
//! Owns the [`Role`] record, the grammar of role names and permission names, and the bounds
//! on both; what a subject's roles add up to is `crate::rbac`.
//!
//! Assignments are not fields of the user or client record: the store keeps them as records
//! of their own (one per subject and role), so assigning a role never rewrites a user (no
//! read-modify-write to race a profile change), and deleting a role removes its assignments
//! without touching the subjects.

use super::{UnixSecs, is_valid_id};

rkyv_record! {
    /// A role: a name operators and tokens use, and the permissions it grants.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Role {
        /// The tenant the role belongs to.
        pub tenant: String,
        /// The role id: 22 base64url characters of 16 random bytes. Assignments name roles by
        /// id, so renaming a role keeps them, and a role deleted and created again under the
        /// same name is not assigned to anyone the old one was.
        pub id: String,
        /// The name tokens carry in `roles`; unique per tenant regardless of ASCII case.
        pub name: String,
        /// What the role is for, for operators.
        pub description: Option<String>,
        /// The permissions the role grants, sorted, without duplicates.
        pub permissions: Vec<String>,
        /// When the role was created.
        pub created_at: UnixSecs,
        /// When the role was last changed.
        pub updated_at: UnixSecs,
    }

    /// A tenant's rule that a scope may only be granted to a subject holding a permission
    /// (`crate::rbac::check_scope`).
    #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(deny_unknown_fields)]
    pub struct ScopePermission {
        /// The scope value.
        pub scope: String,
        /// The permission a subject needs to be granted it.
        pub permission: String,
    }
}

/// Longest role name, in bytes.
pub const MAX_ROLE_NAME_BYTES: usize = 64;
/// Longest permission name, in bytes (a scope value's bound, so a permission can be a scope).
pub const MAX_PERMISSION_BYTES: usize = 128;
/// Most permissions one role grants.
pub const MAX_PERMISSIONS_PER_ROLE: usize = 256;
/// Most roles a tenant defines: a tenant's roles are held in memory as one set.
pub const MAX_ROLES_PER_TENANT: usize = 1000;
/// Most roles one user or client is assigned: bounds what one token carries.
pub const MAX_ROLES_PER_SUBJECT: usize = 64;
/// Longest role description, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;

/// What a role name is, for error messages.
pub const ROLE_NAME_RULE: &str = "1 to 64 characters of A-Z a-z 0-9 . _ : -";
/// What a permission name is, for error messages.
pub const PERMISSION_RULE: &str =
    "1 to 128 printable ASCII characters other than space, double quote and backslash";

/// Checks a role name: 1 to [`MAX_ROLE_NAME_BYTES`] of `[A-Za-z0-9._:-]`. Plain enough to sit
/// in a URL path (`DELETE .../users/{id}/roles/{role}`), a claim, and a log line unescaped.
pub fn is_valid_role_name(name: &str) -> bool {
    (1..=MAX_ROLE_NAME_BYTES).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Checks a permission name: 1 to [`MAX_PERMISSION_BYTES`] characters of the scope-token
/// grammar (RFC 6749 3.3 `NQCHAR`), so that a permission can be named as a scope and carried
/// in space-delimited lists. `*` is an ordinary character here; that `admin:*` covers every
/// `admin:` permission is [`crate::rbac::Entitlements::has`]'s rule.
pub fn is_valid_permission(permission: &str) -> bool {
    (1..=MAX_PERMISSION_BYTES).contains(&permission.len())
        && permission.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Most scope rules a tenant may set.
pub const MAX_SCOPE_PERMISSIONS: usize = 256;

/// Checks a tenant's scope rules: each scope a valid scope value named once, each permission
/// a valid permission, at most [`MAX_SCOPE_PERMISSIONS`].
pub fn validate_scope_permissions(requirements: &[ScopePermission]) -> Result<(), String> {
    if requirements.len() > MAX_SCOPE_PERMISSIONS {
        return Err(format!("at most {MAX_SCOPE_PERMISSIONS} scope permissions"));
    }
    for (i, r) in requirements.iter().enumerate() {
        let one = crate::scope::parse(&r.scope).ok().filter(|v| v.len() == 1 && v[0] == r.scope);
        if one.is_none() {
            return Err(format!("scope_permissions: {:?} is not one scope value", r.scope));
        }
        if !is_valid_permission(&r.permission) {
            return Err(format!("scope_permissions: {:?} is not {}", r.permission, PERMISSION_RULE));
        }
        if requirements[..i].iter().any(|o| o.scope == r.scope) {
            return Err(format!("scope_permissions: scope {:?} is named twice", r.scope));
        }
    }
    Ok(())
}

impl Role {
    /// Checks every invariant of a stored role; the error says which one failed.
    pub fn validate(&self) -> Result<(), String> {
        if !is_valid_id(&self.tenant) {
            return Err("the tenant id is not valid".into());
        }
        if !is_valid_id(&self.id) {
            return Err("the role id is not valid".into());
        }
        if !is_valid_role_name(&self.name) {
            return Err(format!("name must be {ROLE_NAME_RULE}"));
        }
        if let Some(d) = &self.description {
            if d.len() > MAX_DESCRIPTION_BYTES {
                return Err(format!("description must be at most {MAX_DESCRIPTION_BYTES} bytes"));
            }
            if d.chars().any(|c| c.is_control() && c != '\n') {
                return Err("description must not contain control characters".into());
            }
        }
        if self.permissions.len() > MAX_PERMISSIONS_PER_ROLE {
            return Err(format!("a role grants at most {MAX_PERMISSIONS_PER_ROLE} permissions"));
        }
        if let Some(p) = self.permissions.iter().find(|p| !is_valid_permission(p)) {
            return Err(format!("permission {p:?} is not {PERMISSION_RULE}"));
        }
        if self.permissions.windows(2).any(|w| w[0] >= w[1]) {
            return Err("permissions must be sorted and distinct".into());
        }
        if self.updated_at < self.created_at {
            return Err("updated_at is before created_at".into());
        }
        Ok(())
    }

    /// Sorts and de-duplicates `permissions` into the stored order.
    pub fn normalize_permissions(permissions: Vec<String>) -> Vec<String> {
        let mut permissions = permissions;
        permissions.sort_unstable();
        permissions.dedup();
        permissions
    }

    /// Whether `name` is this role's name, compared as uniqueness compares (ASCII case
    /// ignored: names are ASCII).
    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, permissions: &[&str]) -> Role {
        Role {
            tenant: "t".into(),
            id: format!("id-{name}"),
            name: name.into(),
            description: None,
            permissions: Role::normalize_permissions(permissions.iter().map(|p| (*p).to_owned()).collect()),
            created_at: 1,
            updated_at: 1,
        }
    }

    #[test]
    fn role_names() {
        for ok in ["editor", "org:admin", "a.b_c-d", &"r".repeat(64)] {
            assert!(is_valid_role_name(ok), "{ok}");
        }
        for bad in ["", "a b", "a/b", "é", "a*", &"r".repeat(65), "a\"b"] {
            assert!(!is_valid_role_name(bad), "{bad}");
        }
    }

    #[test]
    fn permission_names_follow_the_scope_grammar() {
        for ok in ["docs:write", "admin:*", "https://api.example/read", "!", &"p".repeat(128)] {
            assert!(is_valid_permission(ok), "{ok}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\nb", &"p".repeat(129)] {
            assert!(!is_valid_permission(bad), "{bad}");
        }
    }

    fn rule(scope: &str, permission: &str) -> ScopePermission {
        ScopePermission { scope: scope.into(), permission: permission.into() }
    }

    #[test]
    fn scope_rules_are_validated() {
        assert_eq!(validate_scope_permissions(&[rule("docs.write", "docs:write")]), Ok(()));
        for bad in [
            vec![rule("two words", "p")],
            vec![rule("", "p")],
            vec![rule("s", "bad permission")],
            vec![rule("s", "p"), rule("s", "q")],
        ] {
            assert!(validate_scope_permissions(&bad).is_err(), "{bad:?}");
        }
        let many: Vec<_> = (0..=MAX_SCOPE_PERMISSIONS).map(|i| rule(&format!("s{i}"), "p")).collect();
        assert!(validate_scope_permissions(&many).is_err());
    }

    #[test]
    fn validation_names_what_is_wrong() {
        assert_eq!(role("editor", &["b", "a", "a"]).validate(), Ok(()));
        assert_eq!(role("editor", &["b", "a"]).permissions, ["a", "b"]);
        let mut r = role("editor", &[]);
        r.permissions = vec!["b".into(), "a".into()];
        assert!(r.validate().expect_err("invalid").contains("sorted"));
        let mut r = role("editor", &[]);
        r.permissions = vec!["a b".into()];
        assert!(r.validate().expect_err("invalid").contains("permission"));
        let mut r = role("editor", &[]);
        r.permissions = (0..=MAX_PERMISSIONS_PER_ROLE).map(|i| format!("p{i:04}")).collect();
        assert!(r.validate().expect_err("invalid").contains("at most"));
        let mut r = role("editor", &[]);
        r.name = "a b".into();
        assert!(r.validate().expect_err("invalid").contains("name"));
        let mut r = role("editor", &[]);
        r.description = Some("x\u{7}".into());
        assert!(r.validate().expect_err("invalid").contains("control"));
        let mut r = role("editor", &[]);
        r.updated_at = 0;
        assert!(r.validate().expect_err("invalid").contains("updated_at"));
        assert!(role("Editor", &[]).is_named("EDITOR"));
    }
}

//! Who may do what through the admin API besides the bootstrap admin key: a tenant's own
//! access tokens (and API keys) whose `permissions` hold admin permissions, each naming an
//! area and an access (`admin:users:read`, `admin:users:write`, ...; `admin:*` for all). The
//! server says which [`Need`] each route has; [`permits`] decides.
//!
//! A write permission includes the read of its area (an operator who may change users may
//! see them: every change answers with the record anyway). Creating, listing and deleting
//! tenants need the bootstrap key: no tenant's token reaches beyond its tenant.

use crate::rbac::Entitlements;

/// A part of a tenant's administration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// Users, their profiles and passwords.
    Users,
    /// Clients and their secrets.
    Clients,
    /// Roles, and which users and clients hold them.
    Roles,
    /// Signing keys and API keys: the tenant's credentials.
    Keys,
    /// The operator's token tools and revoke-all.
    Tokens,
    /// The audit events.
    Events,
    /// The tenant record and its settings.
    Settings,
}

impl Area {
    /// The area's name in a permission.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Clients => "clients",
            Self::Roles => "roles",
            Self::Keys => "keys",
            Self::Tokens => "tokens",
            Self::Events => "events",
            Self::Settings => "settings",
        }
    }
}

/// Reading or changing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// GET.
    Read,
    /// Any change.
    Write,
}

impl Access {
    const fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// What a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// The bootstrap admin key, nothing less (tenants themselves).
    BootstrapKey,
    /// This access to this area of the route's tenant.
    Permission(Area, Access),
}

/// The permission that grants `access` to `area`: `admin:{area}:{read|write}`.
pub fn permission(area: Area, access: Access) -> String {
    format!("admin:{}:{}", area.name(), access.name())
}

/// Whether `held` allows `access` to `area`: the permission itself, its area's write for a
/// read, or a wildcard covering either (`admin:*`, `admin:users:*`).
pub fn permits(held: &Entitlements, area: Area, access: Access) -> bool {
    held.has(&permission(area, access))
        || (access == Access::Read && held.has(&permission(area, Access::Write)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(permissions: &[&str]) -> Entitlements {
        Entitlements { roles: vec![], permissions: permissions.iter().map(|p| (*p).to_owned()).collect() }
    }

    #[test]
    fn permissions_are_named_by_area_and_access() {
        assert_eq!(permission(Area::Users, Access::Read), "admin:users:read");
        assert_eq!(permission(Area::Settings, Access::Write), "admin:settings:write");
        assert_eq!(permission(Area::Events, Access::Read), "admin:events:read");
    }

    #[test]
    fn write_includes_read_and_wildcards_cover_their_prefix() {
        let reader = holding(&["admin:users:read"]);
        assert!(permits(&reader, Area::Users, Access::Read));
        assert!(!permits(&reader, Area::Users, Access::Write));
        assert!(!permits(&reader, Area::Clients, Access::Read));
        let writer = holding(&["admin:users:write"]);
        assert!(permits(&writer, Area::Users, Access::Read) && permits(&writer, Area::Users, Access::Write));
        let all = holding(&["admin:*"]);
        assert!(permits(&all, Area::Tokens, Access::Write) && permits(&all, Area::Settings, Access::Read));
        let users = holding(&["admin:users:*"]);
        assert!(permits(&users, Area::Users, Access::Write) && !permits(&users, Area::Roles, Access::Read));
        assert!(!permits(&holding(&["admin"]), Area::Users, Access::Read));
        assert!(!permits(&holding(&["users:read"]), Area::Users, Access::Read));
    }
}

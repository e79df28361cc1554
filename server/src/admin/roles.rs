//! Roles of a tenant and who holds them (API.md): `/roles` CRUD, and assigning roles to users
//! and to clients (a client's roles are its own tokens', from client credentials). A role is
//! named in a path by its id or its name. Names are unique per tenant regardless of case, the
//! store decides that atomically and its `Conflict` becomes a 409; deleting a role unassigns it
//! from everyone. A change reaches the next token issued: tokens read roles when they are made.

use http::StatusCode;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use tessera_core::model::{
    MAX_PERMISSIONS_PER_ROLE, PERMISSION_RULE, ROLE_NAME_RULE, Role, is_valid_permission, is_valid_role_name,
};
use tessera_core::rbac::RoleSet;
use tessera_core::secret;
use tessera_core::store::Subject;

use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, empty, json_no_store};
use crate::util::{now, random};

/// Reads a field that may be absent (leave it), `null` (clear it) or a value (set it).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A role as sent to create (`name` required) or change one (every field optional; a `null`
/// description clears it).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

/// `{"role": "<id or name>"}`, the body of an assignment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    role: String,
}

/// The role as the API shows it.
fn view(r: &Role) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "description": r.description,
        "permissions": r.permissions,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    })
}

/// Applies the body to `role` and checks the result, with messages that name the rule.
fn apply(role: &mut Role, b: RoleBody) -> Result<(), ApiError> {
    if let Some(name) = b.name {
        if !is_valid_role_name(&name) {
            return Err(ApiError::BadRequest(format!("name must be {ROLE_NAME_RULE}")));
        }
        role.name = name;
    }
    if let Some(description) = b.description {
        role.description = description;
    }
    if let Some(permissions) = b.permissions {
        if permissions.len() > MAX_PERMISSIONS_PER_ROLE {
            return Err(ApiError::BadRequest(format!(
                "a role grants at most {MAX_PERMISSIONS_PER_ROLE} permissions"
            )));
        }
        if let Some(bad) = permissions.iter().find(|p| !is_valid_permission(p)) {
            return Err(ApiError::BadRequest(format!("permission {bad:?} is not {PERMISSION_RULE}")));
        }
        role.permissions = Role::normalize_permissions(permissions);
    }
    role.validate().map_err(ApiError::BadRequest)
}

/// The tenant's roles, or 404 for an unknown tenant.
async fn roles_of_tenant(app: &App, tenant: &str) -> Result<std::sync::Arc<RoleSet>, ApiError> {
    tenant_or_404(app, tenant).await?;
    Ok(app.store.roles(tenant).await?)
}

/// The role an operator named by id or name, or 404.
async fn role_or_404(app: &App, tenant: &str, id_or_name: &str) -> Result<Role, ApiError> {
    roles_of_tenant(app, tenant).await?.find(id_or_name).cloned().ok_or(ApiError::NotFound("role"))
}

/// Creates a role; 201 with its `id`.
pub async fn create(app: &App, tenant: &str, b: RoleBody) -> Result<Resp, ApiError> {
    tenant_or_404(app, tenant).await?;
    if b.name.is_none() {
        return Err(ApiError::BadRequest("name is required".into()));
    }
    let id = random::<16>().map(|r| secret::encode_id(&r)).map_err(|e| ApiError::Internal(e.to_string()))?;
    let at = now();
    let mut role = Role {
        tenant: tenant.to_owned(),
        id,
        name: String::new(),
        description: None,
        permissions: Vec::new(),
        created_at: at,
        updated_at: at,
    };
    apply(&mut role, b)?;
    app.store.create_role(&role).await?;
    Ok(json_no_store(StatusCode::CREATED, &view(&role)))
}

/// Lists the tenant's roles, by name: `{"roles": [...]}` (a tenant's roles are bounded).
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    let set = roles_of_tenant(app, tenant).await?;
    let mut roles: Vec<&Role> = set.roles().iter().collect();
    roles.sort_by_key(|r| r.name.to_ascii_lowercase());
    let roles: Vec<Value> = roles.into_iter().map(view).collect();
    Ok(json_no_store(StatusCode::OK, &json!({ "roles": roles })))
}

/// Reads a role.
pub async fn get(app: &App, tenant: &str, id_or_name: &str) -> Result<Resp, ApiError> {
    Ok(json_no_store(StatusCode::OK, &view(&role_or_404(app, tenant, id_or_name).await?)))
}

/// Changes a role's name, description or permissions; the next token of every holder shows it.
pub async fn patch(app: &App, tenant: &str, id_or_name: &str, b: RoleBody) -> Result<Resp, ApiError> {
    let mut role = role_or_404(app, tenant, id_or_name).await?;
    apply(&mut role, b)?;
    role.updated_at = now().max(role.created_at);
    app.store.update_role(&role).await?;
    Ok(json_no_store(StatusCode::OK, &view(&role)))
}

/// Deletes a role, unassigning it from every user and client; 204.
pub async fn delete(app: &App, tenant: &str, id_or_name: &str) -> Result<Resp, ApiError> {
    let role = role_or_404(app, tenant, id_or_name).await?;
    app.store.delete_role(tenant, &role.id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Who an assignment route names, checked to exist (404 otherwise).
#[derive(Clone, Copy)]
pub enum Holder<'a> {
    /// A user, by id.
    User(&'a str),
    /// A client, by `client_id`.
    Client(&'a str),
}

impl<'a> Holder<'a> {
    fn subject(self) -> Subject<'a> {
        match self {
            Self::User(id) => Subject::User(id),
            Self::Client(id) => Subject::Client(id),
        }
    }

    async fn check_exists(self, app: &App, tenant: &str) -> Result<(), ApiError> {
        tenant_or_404(app, tenant).await?;
        let exists = match self {
            Self::User(id) => app.store.user(tenant, id).await?.is_some(),
            Self::Client(id) => app.store.client(tenant, id).await?.is_some(),
        };
        match (exists, self) {
            (true, _) => Ok(()),
            (false, Self::User(_)) => Err(ApiError::NotFound("user")),
            (false, Self::Client(_)) => Err(ApiError::NotFound("client")),
        }
    }
}

/// The roles `holder` holds, as `[{"id", "name"}]` in name order: what the assignment routes
/// answer with.
pub async fn held_view(app: &App, tenant: &str, holder: Subject<'_>) -> Result<Vec<Value>, ApiError> {
    let ids = app.store.roles_of(tenant, holder).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let set = app.store.roles(tenant).await?;
    let mut held: Vec<&Role> = ids.iter().filter_map(|id| set.get(id)).collect();
    held.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(held.into_iter().map(|r| json!({ "id": r.id, "name": r.name })).collect())
}

/// Lists the roles a user or client holds: `{"roles": [{"id", "name"}]}`.
pub async fn list_held(app: &App, tenant: &str, holder: Holder<'_>) -> Result<Resp, ApiError> {
    holder.check_exists(app, tenant).await?;
    let roles = held_view(app, tenant, holder.subject()).await?;
    Ok(json_no_store(StatusCode::OK, &json!({ "roles": roles })))
}

/// Assigns a role (by id or name) to a user or client; assigning one already held changes
/// nothing. 200 with the roles held afterwards; 404 for an unknown holder or role; 409 when
/// the holder has as many roles as it may.
pub async fn assign(app: &App, tenant: &str, holder: Holder<'_>, b: AssignBody) -> Result<Resp, ApiError> {
    holder.check_exists(app, tenant).await?;
    let role = role_or_404(app, tenant, &b.role).await?;
    // The store refuses it if the role or holder went meanwhile (409).
    app.store.assign_role(tenant, holder.subject(), &role.id).await?;
    let roles = held_view(app, tenant, holder.subject()).await?;
    Ok(json_no_store(StatusCode::OK, &json!({ "roles": roles })))
}

/// Takes a role (by id or name) from a user or client; 204, also when it was not held. 404
/// for an unknown holder or role.
pub async fn unassign(app: &App, tenant: &str, holder: Holder<'_>, role: &str) -> Result<Resp, ApiError> {
    holder.check_exists(app, tenant).await?;
    let role = role_or_404(app, tenant, role).await?;
    app.store.unassign_role(tenant, holder.subject(), &role.id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> Role {
        Role {
            tenant: "t".into(),
            id: "r1".into(),
            name: "editor".into(),
            description: None,
            permissions: vec![],
            created_at: 1,
            updated_at: 1,
        }
    }

    fn body(json: Value) -> RoleBody {
        serde_json::from_value(json).expect("body")
    }

    #[test]
    fn bodies_are_validated_with_the_rule_named() {
        let mut r = role();
        apply(&mut r, body(json!({"permissions": ["b", "a", "b"], "description": "d"}))).expect("valid");
        assert_eq!(
            (r.permissions.clone(), r.description.clone()),
            (vec!["a".into(), "b".into()], Some("d".into()))
        );
        apply(&mut r, body(json!({"description": null}))).expect("cleared");
        assert_eq!(r.description, None);
        for (bad, says) in [
            (json!({"name": "two words"}), "name must be"),
            (json!({"name": ""}), "name must be"),
            (json!({"permissions": ["a b"]}), "is not"),
            (
                json!({"permissions": (0..=MAX_PERMISSIONS_PER_ROLE).map(|i| format!("p{i}")).collect::<Vec<_>>()}),
                "at most",
            ),
            (json!({"description": "x".repeat(2000)}), "description"),
        ] {
            let err = apply(&mut role(), body(bad.clone())).expect_err("invalid");
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
        assert!(serde_json::from_value::<RoleBody>(json!({"nmae": "x"})).is_err(), "unknown fields refused");
        assert!(serde_json::from_value::<AssignBody>(json!({"role": "x", "y": 1})).is_err());
    }
}

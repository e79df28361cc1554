//! Roles of a tenant and who holds them (API.md): `/roles` CRUD, and assigning roles to users
//! and to clients (a client's roles are its own tokens', from client credentials). A role is
//! named in a path by its id or its name. Names are unique per tenant regardless of case, the
//! store decides that atomically and its `Conflict` becomes a 409; deleting a role unassigns it
//! from everyone. A change reaches the next token issued: tokens read roles when they are made.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::model::{
    MAX_PERMISSIONS_PER_ROLE, PERMISSION_RULE, ROLE_NAME_RULE, Role, is_valid_permission, is_valid_role_name,
};
use tessera_core::rbac::RoleSet;
use tessera_core::store::Subject;
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, Invalid, NotFound};
use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, empty, json_no_store};
use crate::util::now;

/// A role as sent to create (`name` required) or change one (every field optional; a `null`
/// description clears it).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// The name, unique in the tenant regardless of case.
    #[serde(default)]
    name: Option<String>,
    /// What the role is for; `null` clears it.
    #[serde(default, deserialize_with = "super::nullable")]
    description: Option<Option<String>>,
    /// The permissions the role grants (replacing the previous ones).
    #[serde(default)]
    permissions: Option<Vec<String>>,
}

/// `{"role": "<id or name>"}`, the body of an assignment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The role, by id or name.
    role: String,
}

/// A role as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct RoleView<'a> {
    /// The role id.
    id: &'a str,
    /// Its name.
    name: &'a str,
    /// What it is for.
    description: Option<&'a str>,
    /// The permissions it grants, sorted.
    permissions: &'a [String],
    /// When it was created, in seconds since the epoch.
    created_at: i64,
    /// When it last changed.
    updated_at: i64,
}

/// `GET .../roles`.
#[derive(Serialize, ToSchema)]
pub struct RoleList<'a> {
    /// The tenant's roles, by name.
    roles: Vec<RoleView<'a>>,
}

/// A role someone holds, as users, API keys and the assignment routes show it.
#[derive(Serialize, ToSchema)]
pub struct RoleRef {
    /// The role id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The roles a user or client holds: the answer of the assignment routes.
#[derive(Serialize, ToSchema)]
pub struct HeldRoles {
    /// The roles, in name order.
    roles: Vec<RoleRef>,
}

/// The role as the API shows it.
fn view(r: &Role) -> RoleView<'_> {
    RoleView {
        id: &r.id,
        name: &r.name,
        description: r.description.as_deref(),
        permissions: &r.permissions,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
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
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/roles", tag = "roles", operation_id = "create_role",
    request_body(content = RoleBody, description = "`name` is required"),
    responses((status = 201, description = "The role", body = RoleView), Invalid, NotFound, Conflict, Denied))]
pub async fn create(app: &App, tenant: &str, b: RoleBody) -> Result<Resp, ApiError> {
    tenant_or_404(app, tenant).await?;
    if b.name.is_none() {
        return Err(ApiError::BadRequest("name is required".into()));
    }
    let id = super::new_id()?;
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
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/roles", tag = "roles", operation_id = "list_roles",
    responses((status = 200, description = "The roles", body = RoleList), NotFound, Denied))]
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    let set = roles_of_tenant(app, tenant).await?;
    let mut roles: Vec<&Role> = set.roles().iter().collect();
    roles.sort_by_key(|r| r.name.to_ascii_lowercase());
    let roles = RoleList { roles: roles.into_iter().map(view).collect() };
    Ok(json_no_store(StatusCode::OK, &roles))
}

/// Reads a role.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/roles/{role}", tag = "roles", operation_id = "get_role",
    responses((status = 200, description = "The role", body = RoleView), NotFound, Denied))]
pub async fn get(app: &App, tenant: &str, id_or_name: &str) -> Result<Resp, ApiError> {
    Ok(json_no_store(StatusCode::OK, &view(&role_or_404(app, tenant, id_or_name).await?)))
}

/// Changes a role's name, description or permissions; the next token of every holder shows it.
#[utoipa::path(patch, path = "/api/v1/tenants/{tenant}/roles/{role}", tag = "roles", operation_id = "patch_role",
    request_body = RoleBody,
    responses((status = 200, description = "The changed role", body = RoleView),
        Invalid, NotFound, Conflict, Denied))]
pub async fn patch(app: &App, tenant: &str, id_or_name: &str, b: RoleBody) -> Result<Resp, ApiError> {
    let mut role = role_or_404(app, tenant, id_or_name).await?;
    apply(&mut role, b)?;
    role.updated_at = now().max(role.created_at);
    app.store.update_role(&role).await?;
    Ok(json_no_store(StatusCode::OK, &view(&role)))
}

/// Deletes a role, unassigning it from every user and client; 204.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/roles/{role}", tag = "roles", operation_id = "delete_role",
    responses((status = 204, description = "Deleted"), NotFound, Conflict, Denied))]
pub async fn delete(app: &App, tenant: &str, id_or_name: &str) -> Result<Resp, ApiError> {
    let role = role_or_404(app, tenant, id_or_name).await?;
    app.store.delete_role(tenant, &role.id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// 404 unless `holder` (of a route's path) is stored in the tenant.
async fn holder_or_404(app: &App, tenant: &str, holder: Subject<'_>) -> Result<(), ApiError> {
    tenant_or_404(app, tenant).await?;
    match holder {
        Subject::User(id) if app.store.user(tenant, id).await?.is_none() => Err(ApiError::NotFound("user")),
        Subject::Client(id) if app.store.client(tenant, id).await?.is_none() => {
            Err(ApiError::NotFound("client"))
        }
        Subject::User(_) | Subject::Client(_) => Ok(()),
    }
}

/// The roles `holder` holds, as `[{"id", "name"}]` in name order: what the assignment routes
/// answer with.
pub async fn held_view(app: &App, tenant: &str, holder: Subject<'_>) -> Result<Vec<RoleRef>, ApiError> {
    let ids = app.store.roles_of(tenant, holder).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let set = app.store.roles(tenant).await?;
    let mut held: Vec<&Role> = ids.iter().filter_map(|id| set.get(id)).collect();
    held.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(held.into_iter().map(|r| RoleRef { id: r.id.clone(), name: r.name.clone() }).collect())
}

/// Lists the roles a user or client holds: `{"roles": [{"id", "name"}]}`.
async fn list_held(app: &App, tenant: &str, holder: Subject<'_>) -> Result<Resp, ApiError> {
    holder_or_404(app, tenant, holder).await?;
    let roles = held_view(app, tenant, holder).await?;
    Ok(json_no_store(StatusCode::OK, &HeldRoles { roles }))
}

/// Assigns a role (by id or name) to a user or client; assigning one already held changes
/// nothing. 200 with the roles held afterwards; 404 for an unknown holder or role; 409 when
/// the holder has as many roles as it may.
async fn assign(app: &App, tenant: &str, holder: Subject<'_>, b: AssignBody) -> Result<Resp, ApiError> {
    holder_or_404(app, tenant, holder).await?;
    let role = role_or_404(app, tenant, &b.role).await?;
    // The store refuses it if the role or holder went meanwhile (409).
    app.store.assign_role(tenant, holder, &role.id).await?;
    let roles = held_view(app, tenant, holder).await?;
    Ok(json_no_store(StatusCode::OK, &HeldRoles { roles }))
}

/// Takes a role (by id or name) from a user or client; 204, also when it was not held. 404
/// for an unknown holder or role.
async fn unassign(app: &App, tenant: &str, holder: Subject<'_>, role: &str) -> Result<Resp, ApiError> {
    holder_or_404(app, tenant, holder).await?;
    let role = role_or_404(app, tenant, role).await?;
    app.store.unassign_role(tenant, holder, &role.id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

// One route per holder, each documented, over the shared handlers above.

/// Lists the roles a user holds.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/users/{user}/roles", tag = "roles",
    operation_id = "list_user_roles",
    responses((status = 200, description = "The roles held", body = HeldRoles), NotFound, Denied))]
pub async fn user_roles(app: &App, tenant: &str, user: &str) -> Result<Resp, ApiError> {
    list_held(app, tenant, Subject::User(user)).await
}

/// Assigns a role (by id or name) to a user; assigning one already held changes nothing. 409
/// when the user holds as many roles as they may.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/users/{user}/roles", tag = "roles",
    operation_id = "assign_user_role",
    request_body = AssignBody,
    responses((status = 200, description = "The roles held afterwards", body = HeldRoles),
        Invalid, NotFound, Conflict, Denied))]
pub async fn assign_to_user(app: &App, tenant: &str, user: &str, b: AssignBody) -> Result<Resp, ApiError> {
    assign(app, tenant, Subject::User(user), b).await
}

/// Takes a role (by id or name) from a user; 204, also when it was not held.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/users/{user}/roles/{role}", tag = "roles",
    operation_id = "unassign_user_role",
    responses((status = 204, description = "Not held any more"), NotFound, Conflict, Denied))]
pub async fn unassign_from_user(app: &App, tenant: &str, user: &str, role: &str) -> Result<Resp, ApiError> {
    unassign(app, tenant, Subject::User(user), role).await
}

/// Lists the roles a client holds (its own tokens', from client credentials).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/clients/{client}/roles", tag = "roles",
    operation_id = "list_client_roles",
    responses((status = 200, description = "The roles held", body = HeldRoles), NotFound, Denied))]
pub async fn client_roles(app: &App, tenant: &str, client: &str) -> Result<Resp, ApiError> {
    list_held(app, tenant, Subject::Client(client)).await
}

/// Assigns a role (by id or name) to a client; assigning one already held changes nothing.
/// 409 when the client holds as many roles as it may.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/clients/{client}/roles", tag = "roles",
    operation_id = "assign_client_role",
    request_body = AssignBody,
    responses((status = 200, description = "The roles held afterwards", body = HeldRoles),
        Invalid, NotFound, Conflict, Denied))]
pub async fn assign_to_client(
    app: &App,
    tenant: &str,
    client: &str,
    b: AssignBody,
) -> Result<Resp, ApiError> {
    assign(app, tenant, Subject::Client(client), b).await
}

/// Takes a role (by id or name) from a client; 204, also when it was not held.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/clients/{client}/roles/{role}", tag = "roles",
    operation_id = "unassign_client_role",
    responses((status = 204, description = "Not held any more"), NotFound, Conflict, Denied))]
pub async fn unassign_from_client(
    app: &App,
    tenant: &str,
    client: &str,
    role: &str,
) -> Result<Resp, ApiError> {
    unassign(app, tenant, Subject::Client(client), role).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

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

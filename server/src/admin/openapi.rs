//! The OpenAPI 3.1 document of the admin API (API.md), generated from the code with utoipa:
//! each handler carries its `#[utoipa::path]` (method, path, body, answers), the bodies and
//! views derive `ToSchema`, and [`AdminApi`] lists the handlers. What is already said elsewhere
//! in the code is filled in here, not written twice: the path parameters from the path
//! templates, and who may call each operation from `access::need`, the function that decides
//! it (a bootstrap-key-only route is documented with the admin key alone, the others with the
//! permission they need).
//!
//! Served at `GET /api/v1/openapi.json` without authentication: it describes the API, which
//! API.md publishes anyway, and holds no secret and nothing of any tenant. Built once, on the
//! first request, and served as bytes.
//!
//! Documenting a new route: `#[utoipa::path]` on its handler (path as in the router's table,
//! `{name}` parameters and all; its own answers, and its errors from `refusals`), `ToSchema` on
//! its body and answer types, the handler in `paths(...)` below, and the operation in the list
//! of `tests/openapi.rs` with a call that succeeds and one that fails; the unit tests here and
//! that test fail until it is done.

use std::sync::LazyLock;

use bytes::Bytes;
use http::{Method, StatusCode};
use tessera_core::admin_access::{self, Need};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{RefOr, Required, Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use super::{
    access, api_keys, apis, clients, direct_authz, events, grants, idps, keys, revoke_all, roles, sessions,
    tenants, tokens, trusted_issuers, users, validators,
};
use crate::http::respond::{ErrorBody, Resp, json_public, plain};
use crate::router::{Route, Router};

/// How long caches may keep the document: it changes only with the binary.
const MAX_AGE_SECS: u32 = 300;

/// The admin API's operations and the schemas no operation names directly.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera admin API",
        description = "Tenants, clients, signing keys, users, roles, API keys and the operator's \
            token tools and audit events of a Tessera authorization server. JSON in and out; errors are \
            `{\"error\", \"error_description\"}`."
    ),
    paths(
        tenants::list, tenants::create, tenants::get, tenants::patch, tenants::delete,
        tenants::get_settings, tenants::put_settings,
        clients::list, clients::create, clients::get, clients::patch, clients::delete,
        clients::rotate_secret,
        keys::list, keys::rotate,
        users::list, users::create, users::get, users::patch, users::delete, users::put_profile,
        revoke_all::user, revoke_all::client,
        tokens::introspect, tokens::revoke, grants::list, grants::revoke, sessions::read,
        roles::list, roles::create, roles::get, roles::patch, roles::delete,
        roles::user_roles, roles::assign_to_user, roles::unassign_from_user,
        roles::client_roles, roles::assign_to_client, roles::unassign_from_client,
        api_keys::list, api_keys::create, api_keys::get, api_keys::delete, api_keys::rotate,
        events::list,
        apis::list, apis::create, apis::get, apis::patch, apis::delete,
        validators::list, validators::create, validators::get, validators::patch, validators::delete,
        trusted_issuers::list, trusted_issuers::create, trusted_issuers::get, trusted_issuers::patch,
        trusted_issuers::delete, idps::list, idps::create, idps::get, idps::patch, idps::delete,
        direct_authz::issue_token, direct_authz::put_encryption_key,
        serve,
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "tenants", description = "Tenants and their settings"),
        (name = "clients", description = "Clients, with RFC 7591 metadata"),
        (name = "keys", description = "Signing keys"),
        (name = "users", description = "Local users"),
        (name = "roles", description = "Roles, their permissions, and who holds them"),
        (name = "api-keys", description = "Long-lived service credentials"),
        (name = "tokens", description = "The operator's token tools"),
        (name = "events", description = "Audit events"),
        (name = "apis", description = "APIs (resource servers): the audiences of access tokens (RFC 8707)"),
        (name = "identity-validators", description = "External password checkers for the password grant"),
        (name = "trusted-issuers", description = "Partners whose signed JWTs the JWT bearer grant (RFC 7523) accepts"),
        (name = "idps", description = "External OpenID providers the tenant's users may sign in with"),
        (name = "direct-authz", description = "Credentials of the direct authorisation API (POST /direct-authz/rest/v2)"),
        (name = "meta", description = "This document"),
    ),
    modifiers(&FromTheCode),
)]
pub struct AdminApi;

/// The document, serialized once.
static DOCUMENT: LazyLock<Result<Bytes, String>> =
    LazyLock::new(|| AdminApi::openapi().to_json().map(Bytes::from).map_err(|e| e.to_string()));

/// The OpenAPI document of the admin API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", operation_id = "openapi",
    responses((status = 200, description = "This document", body = DocumentShape)))]
pub fn serve() -> Resp {
    match &*DOCUMENT {
        Ok(bytes) => json_public(bytes.clone(), MAX_AGE_SECS),
        Err(err) => {
            tracing::error!(%err, "the OpenAPI document does not serialize");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// What the document itself is, as far as its own description goes: an OpenAPI 3.1 object.
pub struct DocumentShape;

impl PartialSchema for DocumentShape {
    fn schema() -> RefOr<Schema> {
        let string = || ObjectBuilder::new().schema_type(Type::String);
        let object = || ObjectBuilder::new().schema_type(Type::Object);
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)"))
            .property("openapi", string().pattern(Some(r"^3\.1\.\d+$")))
            .property("info", object())
            .property("paths", object())
            .property("components", object())
            .required("openapi")
            .required("info")
            .required("paths")
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl ToSchema for DocumentShape {}

/// The security scheme names.
const ADMIN_KEY: &str = "admin_key";
const ACCESS_TOKEN: &str = "access_token";
const API_KEY: &str = "api_key";

/// Fills in what the code says elsewhere: security schemes, each operation's security (from
/// `access::need`) and its path parameters (from the path template).
struct FromTheCode;

impl Modify for FromTheCode {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, description, format) in [
            (ADMIN_KEY, "The server's bootstrap admin key (`TESSERA_ADMIN_KEY`): may do everything.", None),
            (
                ACCESS_TOKEN,
                "An access token issued by the route's tenant whose `permissions` hold the admin \
                 permission the operation names (or `admin:*`).",
                Some("JWT or opaque"),
            ),
            (
                API_KEY,
                "An API key of the route's tenant whose roles hold the admin permission the operation names.",
                None,
            ),
        ] {
            let mut http = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(description));
            if let Some(format) = format {
                http = http.bearer_format(format);
            }
            components.add_security_scheme(name, SecurityScheme::Http(http.build()));
        }
        let router = Router::new();
        for (path, item) in doc.paths.paths.iter_mut() {
            let params = path_parameters(path);
            for (method, op) in [
                (Method::GET, &mut item.get),
                (Method::PUT, &mut item.put),
                (Method::POST, &mut item.post),
                (Method::PATCH, &mut item.patch),
                (Method::DELETE, &mut item.delete),
            ] {
                let Some(op) = op.as_mut() else { continue };
                if !params.is_empty() {
                    op.parameters.get_or_insert_with(Vec::new).splice(0..0, params.iter().cloned());
                }
                optional_body(op);
                secure(&router, path, &method, op);
            }
        }
    }
}

/// An `Option<T>` request body means the body may be absent, not that it may be `null`: the
/// admin API takes JSON objects only (`admin::json_object`). utoipa writes it as `oneOf: [T,
/// null]`; this leaves `T`, the body not required.
fn optional_body(op: &mut Operation) {
    let Some(RefOr::T(body)) = op.request_body.as_mut() else { return };
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else { continue };
        let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else { continue };
        let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
        if let [a, b] = one_of.items.as_slice() {
            let kept = match (is_null(a), is_null(b)) {
                (false, true) => a.clone(),
                (true, false) => b.clone(),
                _ => continue,
            };
            content.schema = Some(kept);
            body.required = Some(Required::False);
        }
    }
}

/// Sets who may call the operation `method` on `path`, as `access::need` decides it.
fn secure(router: &Router, path: &str, method: &Method, op: &mut Operation) {
    let sample = path.replace(['{', '}'], "");
    match router.route(&sample) {
        Some(Route::Admin(route)) => {
            let (_, need) = access::need(&route, method);
            let (schemes, says) = match need {
                Need::BootstrapKey => (vec![ADMIN_KEY], "Only the admin key may call this.".to_owned()),
                Need::Permission(area, access) => (
                    vec![ADMIN_KEY, ACCESS_TOKEN, API_KEY],
                    format!(
                        "Needs the admin key, or a token or API key of the tenant with `{}` (or `admin:*`).",
                        admin_access::permission(area, access)
                    ),
                ),
            };
            op.security = Some(
                schemes.into_iter().map(|s| SecurityRequirement::new(s, Vec::<String>::new())).collect(),
            );
            op.description = Some(match op.description.take() {
                Some(d) => format!("{d}\n\n{says}"),
                None => says,
            });
        }
        // The document itself: no credential (an empty list of requirements).
        Some(Route::OpenApi) => op.security = Some(Vec::new()),
        // Not a route of the router: the unit tests below refuse such a document.
        _ => {}
    }
}

/// The path parameters of a template such as `/api/v1/tenants/{tenant}/users/{user}`.
fn path_parameters(path: &str) -> Vec<RefOr<utoipa::openapi::path::Parameter>> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(parameter_description(name)))
                .schema(Some(String::schema()))
                .build()
                .into()
        })
        .collect()
}

/// What a path parameter names.
fn parameter_description(name: &str) -> &'static str {
    match name {
        "tenant" => "The tenant id",
        "client" => "The `client_id`",
        "user" => "The user id",
        "role" => "The role, by id or name",
        "key" => "The API key's id",
        "api" => "The API, by id or identifier (percent-encoded)",
        "validator" => "The identity validator's id",
        "trusted_issuer" => "The trusted issuer's id",
        "idp" => "The identity provider's id",
        "grant" => "The grant's id: its refresh-token family id, as `GET .../tokens/grants` lists it",
        // Caught by `every_path_parameter_is_described`.
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::router::api_paths;

    fn document() -> Value {
        match &*DOCUMENT {
            Ok(bytes) => serde_json::from_slice(bytes).expect("the document is JSON"),
            Err(err) => panic!("the document does not serialize: {err}"),
        }
    }

    const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

    #[test]
    fn it_is_openapi_3_1() {
        let doc = document();
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "{}", doc["openapi"]);
    }

    /// Every path of the router's table under `/api/v1` is documented with at least one
    /// operation, and every documented path is one of the table's: a route added to the
    /// router without documentation fails here.
    #[test]
    fn the_router_and_the_document_name_the_same_paths() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths");
        let table: Vec<&str> = api_paths().collect();
        for path in &table {
            let item = paths.get(*path).unwrap_or_else(|| panic!("{path} is not documented"));
            assert!(METHODS.iter().any(|m| item.get(m).is_some()), "{path} has no operation");
        }
        for path in paths.keys() {
            assert!(table.contains(&path.as_str()), "{path} is documented but not routed");
        }
    }

    /// Each operation's security was derived from `access::need`: a route the router does not
    /// know would have none.
    #[test]
    fn every_operation_says_who_may_call_it() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let security =
                    op["security"].as_array().unwrap_or_else(|| panic!("{method} {path}: no security"));
                if path == "/api/v1/openapi.json" {
                    assert!(security.is_empty(), "the document needs no credential");
                } else {
                    assert!(security.iter().any(|s| s.get(ADMIN_KEY).is_some()), "{method} {path}");
                }
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(!id.is_empty(), "{method} {path}: no operationId");
            }
        }
        let tenants = &doc["paths"]["/api/v1/tenants"]["post"]["security"];
        assert_eq!(tenants.as_array().map(Vec::len), Some(1), "only the admin key creates tenants");
        let users = doc["paths"]["/api/v1/tenants/{tenant}/users"]["get"]["description"].as_str();
        assert!(users.is_some_and(|d| d.contains("`admin:users:read`")), "{users:?}");
    }

    #[test]
    fn an_optional_body_is_one_that_may_be_absent() {
        let doc = document();
        let body = &doc["paths"]["/api/v1/tenants/{tenant}/api-keys/{key}/rotate"]["post"]["requestBody"];
        assert_eq!(body["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/RotateBody");
        assert_eq!(body["required"], false, "{body}");
        let create = &doc["paths"]["/api/v1/tenants/{tenant}/api-keys"]["post"]["requestBody"];
        assert_eq!(create["required"], true, "{create}");
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = document();
        let mut seen = std::collections::BTreeSet::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for method in METHODS {
                if let Some(id) = item.get(method).and_then(|op| op["operationId"].as_str()) {
                    assert!(seen.insert(id.to_owned()), "operationId {id} twice");
                }
            }
        }
    }

    #[test]
    fn every_path_parameter_is_described() {
        for path in api_paths() {
            for p in path_parameters(path) {
                let RefOr::T(p) = p else { panic!("an inline parameter") };
                assert!(p.description.is_some_and(|d| !d.is_empty()), "{path}: {} undescribed", p.name);
            }
        }
    }

    #[test]
    fn it_is_served_as_json() {
        let resp = serve();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[http::header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn error_answers_refer_to_the_error_body() {
        let doc = document();
        assert!(doc["components"]["schemas"]["ErrorBody"]["properties"]["error"].is_object());
        let op = &doc["paths"]["/api/v1/tenants/{tenant}/clients/{client}"]["get"];
        for status in ["401", "403", "404", "500", "503"] {
            let schema = &op["responses"][status]["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(schema, "#/components/schemas/ErrorBody", "{status}");
        }
    }
}

//! The admin API's OpenAPI document (`GET /api/v1/openapi.json`) against the real server: it
//! is served without a credential, is OpenAPI 3.1, documents exactly the operations listed
//! here, and every documented operation is called for real, once successfully and once with
//! an error at least, each answer's status documented for it and its body valid against the
//! schema documented for that status (JSON Schema 2020-12, the `jsonschema` crate). A method
//! the document does not list for a path must answer 405.
//!
//! The schemas are checked closed: an object schema that names its properties is taken to
//! allow no others, so a member the server sends but the document does not describe fails.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Backend, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

/// Every operation of the admin API, as `METHOD path`. A route added to the router must be
/// documented (the server's unit tests), and then added here and exercised below.
const OPERATIONS: &[&str] = &[
    "GET /api/v1/openapi.json",
    "GET /api/v1/tenants",
    "POST /api/v1/tenants",
    "GET /api/v1/tenants/{tenant}",
    "PATCH /api/v1/tenants/{tenant}",
    "DELETE /api/v1/tenants/{tenant}",
    "GET /api/v1/tenants/{tenant}/settings",
    "PUT /api/v1/tenants/{tenant}/settings",
    "GET /api/v1/tenants/{tenant}/clients",
    "POST /api/v1/tenants/{tenant}/clients",
    "GET /api/v1/tenants/{tenant}/clients/{client}",
    "PATCH /api/v1/tenants/{tenant}/clients/{client}",
    "DELETE /api/v1/tenants/{tenant}/clients/{client}",
    "POST /api/v1/tenants/{tenant}/clients/{client}/secret",
    "POST /api/v1/tenants/{tenant}/clients/{client}/revoke-all",
    "GET /api/v1/tenants/{tenant}/clients/{client}/roles",
    "POST /api/v1/tenants/{tenant}/clients/{client}/roles",
    "DELETE /api/v1/tenants/{tenant}/clients/{client}/roles/{role}",
    "GET /api/v1/tenants/{tenant}/keys",
    "POST /api/v1/tenants/{tenant}/keys/rotate",
    "GET /api/v1/tenants/{tenant}/users",
    "POST /api/v1/tenants/{tenant}/users",
    "GET /api/v1/tenants/{tenant}/users/{user}",
    "PATCH /api/v1/tenants/{tenant}/users/{user}",
    "DELETE /api/v1/tenants/{tenant}/users/{user}",
    "PUT /api/v1/tenants/{tenant}/users/{user}/profile",
    "POST /api/v1/tenants/{tenant}/users/{user}/revoke-all",
    "GET /api/v1/tenants/{tenant}/users/{user}/roles",
    "POST /api/v1/tenants/{tenant}/users/{user}/roles",
    "DELETE /api/v1/tenants/{tenant}/users/{user}/roles/{role}",
    "POST /api/v1/tenants/{tenant}/tokens/introspect",
    "POST /api/v1/tenants/{tenant}/tokens/revoke",
    "GET /api/v1/tenants/{tenant}/tokens/grants",
    "DELETE /api/v1/tenants/{tenant}/tokens/grants/{grant}",
    "POST /api/v1/tenants/{tenant}/tokens/session",
    "GET /api/v1/tenants/{tenant}/roles",
    "POST /api/v1/tenants/{tenant}/roles",
    "GET /api/v1/tenants/{tenant}/roles/{role}",
    "PATCH /api/v1/tenants/{tenant}/roles/{role}",
    "DELETE /api/v1/tenants/{tenant}/roles/{role}",
    "GET /api/v1/tenants/{tenant}/api-keys",
    "POST /api/v1/tenants/{tenant}/api-keys",
    "GET /api/v1/tenants/{tenant}/api-keys/{key}",
    "DELETE /api/v1/tenants/{tenant}/api-keys/{key}",
    "POST /api/v1/tenants/{tenant}/api-keys/{key}/rotate",
    "GET /api/v1/tenants/{tenant}/events",
    "GET /api/v1/tenants/{tenant}/apis",
    "POST /api/v1/tenants/{tenant}/apis",
    "GET /api/v1/tenants/{tenant}/apis/{api}",
    "PATCH /api/v1/tenants/{tenant}/apis/{api}",
    "DELETE /api/v1/tenants/{tenant}/apis/{api}",
    "GET /api/v1/tenants/{tenant}/identity-validators",
    "POST /api/v1/tenants/{tenant}/identity-validators",
    "GET /api/v1/tenants/{tenant}/identity-validators/{validator}",
    "PATCH /api/v1/tenants/{tenant}/identity-validators/{validator}",
    "DELETE /api/v1/tenants/{tenant}/identity-validators/{validator}",
    "GET /api/v1/tenants/{tenant}/trusted-issuers",
    "POST /api/v1/tenants/{tenant}/trusted-issuers",
    "GET /api/v1/tenants/{tenant}/trusted-issuers/{trusted_issuer}",
    "PATCH /api/v1/tenants/{tenant}/trusted-issuers/{trusted_issuer}",
    "DELETE /api/v1/tenants/{tenant}/trusted-issuers/{trusted_issuer}",
    "GET /api/v1/tenants/{tenant}/idps",
    "POST /api/v1/tenants/{tenant}/idps",
    "GET /api/v1/tenants/{tenant}/idps/{idp}",
    "PATCH /api/v1/tenants/{tenant}/idps/{idp}",
    "DELETE /api/v1/tenants/{tenant}/idps/{idp}",
    "POST /api/v1/tenants/{tenant}/direct-authz/token",
    "PUT /api/v1/tenants/{tenant}/direct-authz/encryption-key",
];

const METHODS: [&str; 5] = ["GET", "PUT", "POST", "PATCH", "DELETE"];

/// The document, and what the calls so far have shown of each operation.
struct Checker {
    doc: Value,
    /// The document's components, every object schema closed.
    components: Value,
    /// Per operation, the statuses seen.
    seen: BTreeMap<String, BTreeSet<u16>>,
}

impl Checker {
    fn new(doc: Value) -> Self {
        let mut components = doc["components"].clone();
        close(&mut components);
        Self { doc, components, seen: BTreeMap::new() }
    }

    fn operations(&self) -> BTreeSet<String> {
        let mut ops = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for method in METHODS {
                if item.get(method.to_ascii_lowercase()).is_some() {
                    ops.insert(format!("{method} {path}"));
                }
            }
        }
        ops
    }

    /// Calls `method template` on `server` (with the admin key unless `headers` are given),
    /// the template's parameters filled from `args` in order, and checks the answer against
    /// the document.
    async fn call(
        &mut self,
        server: &TestServer,
        method: Method,
        template: &str,
        args: &[&str],
        body: Option<Value>,
    ) -> Value {
        // A query string, if any, follows the template.
        let (template, query) = template.split_once('?').map_or((template, None), |(t, q)| (t, Some(q)));
        let mut path = fill(template, args);
        if let Some(query) = query {
            path = format!("{path}?{query}");
        }
        let reply =
            server.admin(method.clone(), path.strip_prefix("/api/v1").expect("/api/v1"), body.clone()).await;
        self.check(&method, template, reply.status.as_u16(), &reply.text, &reply.json);
        // A body the server took must be one the document describes.
        if let Some(body) = body.filter(|_| reply.status.is_success()) {
            let op = format!("{method} {template}");
            let operation = &self.doc["paths"][template][method.as_str().to_ascii_lowercase()];
            let schema = operation["requestBody"]["content"]["application/json"].get("schema");
            let schema = schema.unwrap_or_else(|| panic!("{op} took a body it does not document")).clone();
            self.validate(&format!("{op} request"), &schema, &body, &body.to_string());
        }
        reply.json
    }

    /// Like [`call`](Self::call), with these headers and this raw body instead.
    async fn call_raw(
        &mut self,
        server: &TestServer,
        method: Method,
        template: &str,
        args: &[&str],
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> u16 {
        let reply = server.send(method.clone(), &fill(template, args), headers, body).await;
        self.check(&method, template, reply.status.as_u16(), &reply.text, &reply.json);
        reply.status.as_u16()
    }

    #[track_caller]
    fn check(&mut self, method: &Method, template: &str, status: u16, text: &str, json: &Value) {
        let op = format!("{method} {template}");
        let operation = &self.doc["paths"][template][method.as_str().to_ascii_lowercase()];
        assert!(operation.is_object(), "{op} is not documented");
        let response = &operation["responses"][status.to_string()];
        assert!(response.is_object(), "{op} answered {status}, which is not documented: {text}");
        match response["content"]["application/json"].get("schema").cloned() {
            Some(schema) => self.validate(&format!("{op} {status}"), &schema, json, text),
            None => assert!(text.is_empty(), "{op} {status} documents no body but sent {text}"),
        }
        self.seen.entry(op).or_default().insert(status);
    }

    /// Validates `json` against `schema`, its `$ref`s resolved in the (closed) components.
    #[track_caller]
    fn validate(&self, what: &str, schema: &Value, json: &Value, text: &str) {
        let mut root = schema.clone();
        root["components"] = self.components.clone();
        let validator = jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("{what}: the schema does not compile: {e}"));
        let errors: Vec<String> = validator.iter_errors(json).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{what}: {errors:?}\nbody: {text}");
    }
}

/// Marks every object schema that lists its properties as allowing no others.
fn close(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close);
        }
        Value::Array(items) => items.iter_mut().for_each(close),
        _ => {}
    }
}

/// `template` with its `{...}` parameters replaced by `args`, in order.
fn fill(template: &str, args: &[&str]) -> String {
    let mut args = args.iter();
    template
        .split('/')
        .map(|segment| match segment.starts_with('{') {
            true => args.next().unwrap_or_else(|| panic!("too few arguments for {template}")).to_string(),
            false => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_operation_answers_as_documented() {
    let server = TestServer::start(Backend::Software).await;
    let reply = server.send(Method::GET, "/api/v1/openapi.json", &[], None).await;
    reply.expect_status(200, "the document, without a credential");
    assert!(reply.header("content-type").is_some_and(|c| c.starts_with("application/json")));
    let doc = reply.json.clone();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "{}", doc["openapi"]);
    let mut c = Checker::new(doc);
    let listed: BTreeSet<String> = OPERATIONS.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(c.operations(), listed, "the document's operations are not the ones listed here");
    c.check(&Method::GET, "/api/v1/openapi.json", 200, &reply.text, &reply.json);

    // Tenants and settings.
    const TENANTS: &str = "/api/v1/tenants";
    const TENANT: &str = "/api/v1/tenants/{tenant}";
    const SETTINGS: &str = "/api/v1/tenants/{tenant}/settings";
    c.call(&server, Method::POST, TENANTS, &[], Some(json!({ "id": "oa", "display_name": "OpenAPI" }))).await;
    c.call(&server, Method::POST, TENANTS, &[], Some(json!({ "id": "oa" }))).await;
    c.call(&server, Method::POST, TENANTS, &[], Some(json!({ "id": "x", "bogus": 1 }))).await;
    let admin = format!("Bearer {}", server.admin_key);
    let plain = [("authorization", admin.as_str()), ("content-type", "text/plain")];
    let status = c.call_raw(&server, Method::POST, TENANTS, &[], &plain, Some(b"{}".to_vec())).await;
    assert_eq!(status, 415);
    c.call(&server, Method::GET, TENANTS, &[], None).await;
    assert_eq!(c.call_raw(&server, Method::GET, TENANTS, &[], &[], None).await, 401);
    c.call(&server, Method::GET, TENANT, &["oa"], None).await;
    c.call(&server, Method::GET, TENANT, &["nope"], None).await;
    c.call(&server, Method::PATCH, TENANT, &["oa"], Some(json!({ "display_name": "OA" }))).await;
    c.call(&server, Method::PATCH, TENANT, &["oa"], Some(json!({ "settings": 5 }))).await;
    c.call(&server, Method::GET, SETTINGS, &["oa"], None).await;
    c.call(&server, Method::GET, SETTINGS, &["nope"], None).await;
    c.call(&server, Method::PUT, SETTINGS, &["oa"], Some(json!({ "session_ttl_secs": 600 }))).await;
    c.call(&server, Method::PUT, SETTINGS, &["oa"], Some(json!({ "access_token_ttl_secs": 0 }))).await;

    // Clients and keys.
    const CLIENTS: &str = "/api/v1/tenants/{tenant}/clients";
    const CLIENT: &str = "/api/v1/tenants/{tenant}/clients/{client}";
    const SECRET: &str = "/api/v1/tenants/{tenant}/clients/{client}/secret";
    let client = json!({ "grant_types": ["client_credentials"], "scope": "read" });
    let made = c.call(&server, Method::POST, CLIENTS, &["oa"], Some(client)).await;
    let cid = made["client_id"].as_str().expect("client_id").to_owned();
    let public = json!({ "client_id": "spa", "grant_types": ["authorization_code"],
        "redirect_uris": ["https://spa.example/cb"], "token_endpoint_auth_method": "none" });
    c.call(&server, Method::POST, CLIENTS, &["oa"], Some(public)).await;
    c.call(&server, Method::POST, CLIENTS, &["oa"], Some(json!({ "scope": "read" }))).await;
    c.call(&server, Method::GET, CLIENTS, &["oa"], None).await;
    c.call(&server, Method::GET, CLIENTS, &["nope"], None).await;
    c.call(&server, Method::GET, CLIENT, &["oa", &cid], None).await;
    c.call(&server, Method::GET, CLIENT, &["oa", "nope"], None).await;
    c.call(&server, Method::PATCH, CLIENT, &["oa", &cid], Some(json!({ "client_name": "Billing" }))).await;
    c.call(&server, Method::PATCH, CLIENT, &["oa", &cid], Some(json!({ "grant_types": ["bogus"] }))).await;
    c.call(&server, Method::POST, SECRET, &["oa", &cid], None).await;
    c.call(&server, Method::POST, SECRET, &["oa", "spa"], None).await;
    const KEYS: &str = "/api/v1/tenants/{tenant}/keys";
    const ROTATE_KEYS: &str = "/api/v1/tenants/{tenant}/keys/rotate";
    c.call(&server, Method::GET, KEYS, &["oa"], None).await;
    c.call(&server, Method::GET, KEYS, &["nope"], None).await;
    c.call(&server, Method::POST, ROTATE_KEYS, &["oa"], None).await;
    c.call(&server, Method::POST, ROTATE_KEYS, &["nope"], None).await;

    // Users.
    const USERS: &str = "/api/v1/tenants/{tenant}/users";
    const USER: &str = "/api/v1/tenants/{tenant}/users/{user}";
    const PROFILE: &str = "/api/v1/tenants/{tenant}/users/{user}/profile";
    let alice = json!({ "username": "alice", "password": "correct horse battery", "email": "a@oa.example",
        "name": "Alice", "locale": "fr", "address": { "locality": "Paris" } });
    let made = c.call(&server, Method::POST, USERS, &["oa"], Some(alice)).await;
    let uid = made["id"].as_str().expect("user id").to_owned();
    let bob = json!({ "username": "bob", "password": "correct horse battery", "disabled": true });
    c.call(&server, Method::POST, USERS, &["oa"], Some(bob)).await;
    c.call(&server, Method::POST, USERS, &["oa"], Some(json!({ "username": "carol" }))).await;
    let page = c.call(&server, Method::GET, &format!("{USERS}?limit=1"), &["oa"], None).await;
    assert!(page["next"].is_string(), "{page}");
    c.call(&server, Method::GET, &format!("{USERS}?disabled=maybe"), &["oa"], None).await;
    c.call(&server, Method::GET, USER, &["oa", &uid], None).await;
    c.call(&server, Method::GET, USER, &["oa", "nope"], None).await;
    c.call(&server, Method::PATCH, USER, &["oa", &uid], Some(json!({ "nickname": "al", "email": null })))
        .await;
    c.call(&server, Method::PATCH, USER, &["oa", &uid], Some(json!({ "bogus": 1 }))).await;
    let profile = json!({ "name": "Alice A", "phone_number": "+33100000000", "phone_number_verified": true });
    c.call(&server, Method::PUT, PROFILE, &["oa", &uid], Some(profile)).await;
    c.call(&server, Method::PUT, PROFILE, &["oa", &uid], Some(json!({ "username": "x" }))).await;

    // Roles and who holds them.
    const ROLES: &str = "/api/v1/tenants/{tenant}/roles";
    const ROLE: &str = "/api/v1/tenants/{tenant}/roles/{role}";
    let editor = json!({ "name": "editor", "permissions": ["docs:write"] });
    c.call(&server, Method::POST, ROLES, &["oa"], Some(editor.clone())).await;
    c.call(&server, Method::POST, ROLES, &["oa"], Some(editor)).await;
    c.call(&server, Method::GET, ROLES, &["oa"], None).await;
    c.call(&server, Method::GET, ROLES, &["nope"], None).await;
    c.call(&server, Method::GET, ROLE, &["oa", "editor"], None).await;
    c.call(&server, Method::GET, ROLE, &["oa", "nope"], None).await;
    c.call(&server, Method::PATCH, ROLE, &["oa", "editor"], Some(json!({ "description": "Writes docs" })))
        .await;
    c.call(&server, Method::PATCH, ROLE, &["oa", "editor"], Some(json!({ "name": "two words" }))).await;
    for (kind, holder) in [("users", uid.as_str()), ("clients", cid.as_str())] {
        let held = format!("/api/v1/tenants/{{tenant}}/{kind}/{{{}}}/roles", &kind[..kind.len() - 1]);
        let one = format!("{held}/{{role}}");
        c.call(&server, Method::POST, &held, &["oa", holder], Some(json!({ "role": "editor" }))).await;
        c.call(&server, Method::POST, &held, &["oa", holder], Some(json!({ "role": "nope" }))).await;
        c.call(&server, Method::GET, &held, &["oa", holder], None).await;
        c.call(&server, Method::GET, &held, &["oa", "nope"], None).await;
        c.call(&server, Method::DELETE, &one, &["oa", holder, "editor"], None).await;
        c.call(&server, Method::DELETE, &one, &["oa", holder, "nope"], None).await;
    }

    // API keys, and the token tools with one of them.
    const API_KEYS: &str = "/api/v1/tenants/{tenant}/api-keys";
    const API_KEY: &str = "/api/v1/tenants/{tenant}/api-keys/{key}";
    const ROTATE_KEY: &str = "/api/v1/tenants/{tenant}/api-keys/{key}/rotate";
    let made = c
        .call(
            &server,
            Method::POST,
            API_KEYS,
            &["oa"],
            Some(json!({ "name": "ci", "scope": "read", "roles": ["editor"] })),
        )
        .await;
    let kid = made["id"].as_str().expect("id").to_owned();
    assert!(made["key"].is_string(), "a new key is shown once: {made}");
    c.call(&server, Method::POST, API_KEYS, &["oa"], Some(json!({ "name": "" }))).await;
    c.call(&server, Method::GET, API_KEYS, &["oa"], None).await;
    c.call(&server, Method::GET, API_KEYS, &["nope"], None).await;
    c.call(&server, Method::GET, API_KEY, &["oa", &kid], None).await;
    c.call(&server, Method::GET, API_KEY, &["oa", "nope"], None).await;
    let rotated =
        c.call(&server, Method::POST, ROTATE_KEY, &["oa", &kid], Some(json!({ "grace_secs": 60 }))).await;
    let key_now = rotated["key"].as_str().expect("the new key").to_owned();
    c.call(&server, Method::POST, ROTATE_KEY, &["oa", "nope"], None).await;
    const INTROSPECT: &str = "/api/v1/tenants/{tenant}/tokens/introspect";
    const REVOKE: &str = "/api/v1/tenants/{tenant}/tokens/revoke";
    let active = c.call(&server, Method::POST, INTROSPECT, &["oa"], Some(json!({ "token": key_now }))).await;
    assert_eq!(active["active"], true, "{active}");
    c.call(&server, Method::POST, INTROSPECT, &["oa"], Some(json!({ "token": "unknown" }))).await;
    c.call(&server, Method::POST, INTROSPECT, &["oa"], Some(json!({}))).await;
    c.call(&server, Method::POST, REVOKE, &["oa"], Some(json!({ "token": "unknown" }))).await;
    c.call(&server, Method::POST, REVOKE, &["oa"], Some(json!({ "token": "" }))).await;
    // A live API key without admin permissions: 403.
    let bearer = format!("Bearer {key_now}");
    assert_eq!(
        c.call_raw(&server, Method::GET, CLIENTS, &["oa"], &[("authorization", &bearer)], None).await,
        403
    );
    c.call(&server, Method::DELETE, API_KEY, &["oa", &kid], None).await;
    c.call(&server, Method::DELETE, API_KEY, &["oa", &kid], None).await;

    // Revoke-all.
    const USER_ALL: &str = "/api/v1/tenants/{tenant}/users/{user}/revoke-all";
    const CLIENT_ALL: &str = "/api/v1/tenants/{tenant}/clients/{client}/revoke-all";
    c.call(&server, Method::POST, USER_ALL, &["oa", &uid], None).await;
    c.call(&server, Method::POST, USER_ALL, &["oa", "nope"], None).await;
    c.call(&server, Method::POST, CLIENT_ALL, &["oa", &cid], None).await;
    c.call(&server, Method::POST, CLIENT_ALL, &["oa", "nope"], None).await;

    // A method the document does not list for a path is not served.
    for (path, item) in c.doc["paths"].clone().as_object().expect("paths") {
        let args = ["oa", "x", "y"];
        for method in METHODS.iter().filter(|m| item.get(m.to_ascii_lowercase()).is_none()) {
            let method = Method::from_bytes(method.as_bytes()).expect("a method");
            let reply =
                server.send(method.clone(), &fill(path, &args), &[("authorization", &admin)], None).await;
            reply.expect_status(405, &format!("{method} {path}, undocumented"));
        }
    }

    // The audit events all this recorded (changes are readable as soon as they are made).
    const EVENTS: &str = "/api/v1/tenants/{tenant}/events";
    let page = c.call(&server, Method::GET, EVENTS, &["oa"], None).await;
    assert!(page["events"].as_array().is_some_and(|e| !e.is_empty()), "{page}");
    c.call(&server, Method::GET, EVENTS, &["nope"], None).await;

    // Deletions last.
    // APIs and identity validators.
    const APIS: &str = "/api/v1/tenants/{tenant}/apis";
    const API: &str = "/api/v1/tenants/{tenant}/apis/{api}";
    const VALIDATORS: &str = "/api/v1/tenants/{tenant}/identity-validators";
    const VALIDATOR: &str = "/api/v1/tenants/{tenant}/identity-validators/{validator}";
    let api_body = json!({ "identifier": "https://orders.example", "name": "Orders", "scopes": ["orders:read"],
        "access_token_format": "opaque", "access_token_ttl_secs": 60 });
    let api = c.call(&server, Method::POST, APIS, &["oa"], Some(api_body.clone())).await;
    let api_id = api["id"].as_str().expect("API id").to_owned();
    c.call(&server, Method::POST, APIS, &["oa"], Some(api_body)).await;
    c.call(&server, Method::GET, APIS, &["oa"], None).await;
    c.call(&server, Method::GET, APIS, &["nope"], None).await;
    c.call(&server, Method::GET, API, &["oa", &api_id], None).await;
    c.call(&server, Method::GET, API, &["oa", "nope"], None).await;
    c.call(&server, Method::PATCH, API, &["oa", &api_id], Some(json!({ "access_token_ttl_secs": null })))
        .await;
    c.call(&server, Method::PATCH, API, &["oa", &api_id], Some(json!({ "identifier": "urn:x" }))).await;
    let validator_body = json!({ "name": "ldap", "url": "http://127.0.0.1:9/check", "timeout_ms": 500,
        "headers": { "Authorization": "Bearer k" }, "apis": [api_id] });
    let v = c.call(&server, Method::POST, VALIDATORS, &["oa"], Some(validator_body)).await;
    let vid = v["id"].as_str().expect("validator id").to_owned();
    c.call(&server, Method::POST, VALIDATORS, &["oa"], Some(json!({ "name": "v", "url": "ftp://x" }))).await;
    c.call(&server, Method::GET, VALIDATORS, &["oa"], None).await;
    c.call(&server, Method::GET, VALIDATORS, &["nope"], None).await;
    c.call(&server, Method::GET, VALIDATOR, &["oa", &vid], None).await;
    c.call(&server, Method::GET, VALIDATOR, &["oa", "nope"], None).await;
    c.call(&server, Method::DELETE, API, &["oa", &api_id], None).await;
    c.call(&server, Method::PATCH, VALIDATOR, &["oa", &vid], Some(json!({ "apis": [] }))).await;
    c.call(&server, Method::PATCH, VALIDATOR, &["oa", &vid], Some(json!({ "timeout_ms": 1 }))).await;
    c.call(&server, Method::DELETE, VALIDATOR, &["oa", &vid], None).await;
    c.call(&server, Method::DELETE, VALIDATOR, &["oa", &vid], None).await;
    c.call(&server, Method::DELETE, API, &["oa", &api_id], None).await;
    c.call(&server, Method::DELETE, API, &["oa", &api_id], None).await;
    // Trusted issuers.
    const ISSUERS: &str = "/api/v1/tenants/{tenant}/trusted-issuers";
    const ISSUER: &str = "/api/v1/tenants/{tenant}/trusted-issuers/{trusted_issuer}";
    let issuer_body = json!({ "name": "Partner", "issuer": "https://partner.example",
        "jwks_uri": "https://partner.example/jwks", "allowed_subjects": "*@partner.example",
        "audience": "tessera", "subject_prefix": "partner" });
    let ti = c.call(&server, Method::POST, ISSUERS, &["oa"], Some(issuer_body.clone())).await;
    let tid = ti["id"].as_str().expect("trusted issuer id").to_owned();
    c.call(&server, Method::POST, ISSUERS, &["oa"], Some(issuer_body)).await;
    c.call(&server, Method::GET, ISSUERS, &["oa"], None).await;
    c.call(&server, Method::GET, ISSUERS, &["nope"], None).await;
    c.call(&server, Method::GET, ISSUER, &["oa", &tid], None).await;
    c.call(&server, Method::GET, ISSUER, &["oa", "nope"], None).await;
    let inline = json!({ "jwks": { "keys": [{ "kty": "EC", "crv": "P-256", "kid": "k",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }] },
        "subject_prefix": null });
    c.call(&server, Method::PATCH, ISSUER, &["oa", &tid], Some(inline)).await;
    c.call(&server, Method::PATCH, ISSUER, &["oa", &tid], Some(json!({ "jwks_uri": "ftp://x" }))).await;
    c.call(&server, Method::DELETE, ISSUER, &["oa", &tid], None).await;
    c.call(&server, Method::DELETE, ISSUER, &["oa", &tid], None).await;
    // Identity providers: the server's own `default` tenant plays the upstream.
    const IDPS: &str = "/api/v1/tenants/{tenant}/idps";
    const IDP: &str = "/api/v1/tenants/{tenant}/idps/{idp}";
    let idp_body = json!({ "issuer": server.issuer("default"), "client_id": "oa", "client_secret": "s",
        "claim_mappings": [{ "upstream": "mail", "local": "email" }], "domains": ["example.org"] });
    let made = c.call(&server, Method::POST, IDPS, &["oa"], Some(idp_body.clone())).await;
    let iid = made["id"].as_str().expect("idp id").to_owned();
    c.call(&server, Method::POST, IDPS, &["oa"], Some(idp_body)).await;
    c.call(&server, Method::GET, IDPS, &["oa"], None).await;
    c.call(&server, Method::GET, IDPS, &["nope"], None).await;
    c.call(&server, Method::GET, IDP, &["oa", &iid], None).await;
    c.call(&server, Method::GET, IDP, &["oa", "nope"], None).await;
    c.call(&server, Method::PATCH, IDP, &["oa", &iid], Some(json!({ "label": "Corp", "refresh": true })))
        .await;
    c.call(&server, Method::PATCH, IDP, &["oa", &iid], Some(json!({ "scope": "email" }))).await;
    c.call(&server, Method::DELETE, IDP, &["oa", &iid], None).await;
    c.call(&server, Method::DELETE, IDP, &["oa", &iid], None).await;
    // The direct authorisation API's credentials.
    const DA_TOKEN: &str = "/api/v1/tenants/{tenant}/direct-authz/token";
    const DA_KEY: &str = "/api/v1/tenants/{tenant}/direct-authz/encryption-key";
    c.call(&server, Method::POST, DA_TOKEN, &["oa"], None).await;
    c.call(&server, Method::POST, DA_TOKEN, &["nope"], None).await;
    let key = json!({ "key": "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio" });
    c.call(&server, Method::PUT, DA_KEY, &["oa"], Some(key)).await;
    c.call(&server, Method::PUT, DA_KEY, &["oa"], Some(json!({ "key": "short" }))).await;
    // Long-lived grants: a long-lived direct authorisation's, listed and revoked.
    const GRANTS: &str = "/api/v1/tenants/{tenant}/tokens/grants";
    const GRANT: &str = "/api/v1/tenants/{tenant}/tokens/grants/{grant}";
    let da = c.call(&server, Method::POST, DA_TOKEN, &["oa"], None).await;
    let da = format!("Bearer {}", da["token"].as_str().expect("the direct-authz token"));
    let app = json!({ "client_id": "app", "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": ["https://app.example/cb"], "scope": "read", "first_party": true });
    c.call(&server, Method::POST, CLIENTS, &["oa"], Some(app)).await;
    let authz = json!({ "sub": "customer-7", "client_id": "app", "scope": ["read"], "long_lived": true });
    let headers = [("content-type", "application/json"), ("tenant-id", "oa"), ("authorization", da.as_str())];
    let reply = server
        .send(Method::POST, "/direct-authz/rest/v2", &headers, Some(authz.to_string().into_bytes()))
        .await;
    reply.expect_status(200, "a long-lived direct authorisation");
    let listed = c.call(&server, Method::GET, &format!("{GRANTS}?sub=customer-7"), &["oa"], None).await;
    let gid = listed["grants"][0]["id"].as_str().unwrap_or_else(|| panic!("a grant: {listed}")).to_owned();
    c.call(&server, Method::GET, GRANTS, &["oa"], None).await;
    c.call(&server, Method::GET, &format!("{GRANTS}?sub=customer-7"), &["nope"], None).await;
    c.call(&server, Method::DELETE, GRANT, &["oa", &gid], None).await;
    c.call(&server, Method::DELETE, GRANT, &["oa", "bad~id"], None).await;
    // A session made by the API, with a broker's data, read back; and one never made.
    const SESSION: &str = "/api/v1/tenants/{tenant}/tokens/session";
    let with_session = json!({ "sub_session": { "sub": "customer-7", "data": { "tier": "gold" } },
        "client_id": "app", "scope": ["read"] });
    let reply = server
        .send(Method::POST, "/direct-authz/rest/v2", &headers, Some(with_session.to_string().into_bytes()))
        .await;
    reply.expect_status(200, "a direct authorisation with a session");
    let sub_sid = reply.json["sub_sid"].as_str().expect("sub_sid").to_owned();
    let read = c.call(&server, Method::POST, SESSION, &["oa"], Some(json!({ "sub_sid": sub_sid }))).await;
    assert_eq!(read["data"], json!({ "tier": "gold" }), "{read}");
    c.call(&server, Method::POST, SESSION, &["oa"], Some(json!({ "sub_sid": "never" }))).await;
    c.call(&server, Method::POST, SESSION, &["oa"], Some(json!({ "sub_sid": "" }))).await;

    c.call(&server, Method::DELETE, ROLE, &["oa", "editor"], None).await;
    c.call(&server, Method::DELETE, ROLE, &["oa", "editor"], None).await;
    c.call(&server, Method::DELETE, USER, &["oa", &uid], None).await;
    c.call(&server, Method::DELETE, USER, &["oa", &uid], None).await;
    c.call(&server, Method::DELETE, CLIENT, &["oa", &cid], None).await;
    c.call(&server, Method::DELETE, CLIENT, &["oa", &cid], None).await;
    c.call(&server, Method::DELETE, TENANT, &["oa"], None).await;
    c.call(&server, Method::DELETE, TENANT, &["oa"], None).await;

    // Every operation was seen succeeding and failing (the document itself cannot fail).
    for op in OPERATIONS {
        let seen = c.seen.get(*op).unwrap_or_else(|| panic!("{op} was not called"));
        assert!(seen.iter().any(|s| (200..300).contains(s)), "{op}: no success among {seen:?}");
        if !op.ends_with("openapi.json") {
            assert!(seen.iter().any(|s| *s >= 400), "{op}: no error among {seen:?}");
        }
    }
}

/// The checker refuses what it should: a member the document does not describe, and a status
/// it does not list.
#[test]
fn the_checker_can_fail() {
    let doc = json!({
        "paths": { "/x": { "get": { "responses": { "200": { "description": "ok", "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/A" } } } } } } } },
        "components": { "schemas": { "A": { "type": "object", "required": ["a"],
            "properties": { "a": { "type": "string" } } } } }
    });
    let mut c = Checker::new(doc);
    c.check(&Method::GET, "/x", 200, "{}", &json!({ "a": "b" }));
    for (status, body) in [(200, json!({ "a": "b", "extra": 1 })), (200, json!({ "a": 1 })), (404, json!({}))]
    {
        let mut c = Checker::new(c.doc.clone());
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            c.check(&Method::GET, "/x", status, "", &body);
        }));
        assert!(outcome.is_err(), "{status} {body} passed");
    }
}

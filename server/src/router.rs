//! Maps a path to an endpoint. Built once; a lookup is one radix-tree walk (matchit). The
//! route types live here, the admin API's included, so the modules that dispatch on them
//! import this leaf and never each other.

/// An admin route with its path parameters.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminRoute {
    /// `/api/v1/tenants`
    Tenants,
    /// `/api/v1/tenants/{t}`
    Tenant(String),
    /// `/api/v1/tenants/{t}/settings`
    Settings(String),
    /// `/api/v1/tenants/{t}/clients`
    Clients(String),
    /// `/api/v1/tenants/{t}/clients/{id}`
    Client(String, String),
    /// `/api/v1/tenants/{t}/clients/{id}/secret`
    ClientSecret(String, String),
    /// `/api/v1/tenants/{t}/keys`
    Keys(String),
    /// `/api/v1/tenants/{t}/keys/rotate`
    RotateKeys(String),
    /// `/api/v1/tenants/{t}/users`
    Users(String),
    /// `/api/v1/tenants/{t}/users/{id}`
    User(String, String),
    /// `/api/v1/tenants/{t}/users/{id}/profile`
    UserProfile(String, String),
    /// `/api/v1/tenants/{t}/users/{id}/revoke-all`
    UserRevokeAll(String, String),
    /// `/api/v1/tenants/{t}/clients/{id}/revoke-all`
    ClientRevokeAll(String, String),
    /// `/api/v1/tenants/{t}/tokens/introspect`
    TokensIntrospect(String),
    /// `/api/v1/tenants/{t}/tokens/revoke`
    TokensRevoke(String),
    /// `/api/v1/tenants/{t}/tokens/grants`
    TokensGrants(String),
    /// `/api/v1/tenants/{t}/tokens/grants/{id}`
    TokensGrant(String, String),
    /// `/api/v1/tenants/{t}/tokens/session`
    TokensSession(String),
    /// `/api/v1/tenants/{t}/roles`
    Roles(String),
    /// `/api/v1/tenants/{t}/roles/{role}`: by id or name
    Role(String, String),
    /// `/api/v1/tenants/{t}/users/{id}/roles`
    UserRoles(String, String),
    /// `/api/v1/tenants/{t}/users/{id}/roles/{role}`
    UserRole(String, String, String),
    /// `/api/v1/tenants/{t}/clients/{id}/roles`
    ClientRoles(String, String),
    /// `/api/v1/tenants/{t}/clients/{id}/roles/{role}`
    ClientRole(String, String, String),
    /// `/api/v1/tenants/{t}/api-keys`
    ApiKeys(String),
    /// `/api/v1/tenants/{t}/api-keys/{id}`
    ApiKey(String, String),
    /// `/api/v1/tenants/{t}/api-keys/{id}/rotate`
    ApiKeyRotate(String, String),
    /// `/api/v1/tenants/{t}/events`
    Events(String),
    /// `/api/v1/tenants/{t}/apis`
    Apis(String),
    /// `/api/v1/tenants/{t}/apis/{api}`: by id or identifier
    Api(String, String),
    /// `/api/v1/tenants/{t}/identity-validators`
    Validators(String),
    /// `/api/v1/tenants/{t}/identity-validators/{id}`
    Validator(String, String),
    /// `/api/v1/tenants/{t}/trusted-issuers`
    TrustedIssuers(String),
    /// `/api/v1/tenants/{t}/trusted-issuers/{id}`
    TrustedIssuer(String, String),
    /// `/api/v1/tenants/{t}/idps`
    Idps(String),
    /// `/api/v1/tenants/{t}/idps/{id}`
    Idp(String, String),
    /// `/api/v1/tenants/{t}/direct-authz/token`
    DirectAuthzToken(String),
    /// `/api/v1/tenants/{t}/direct-authz/encryption-key`
    DirectAuthzEncryptionKey(String),
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// A protocol endpoint of a tenant.
    Tenant(String, Endpoint),
    /// The admin API.
    Admin(AdminRoute),
    /// `/api/v1/openapi.json`, the admin API's OpenAPI document: no tenant, no credential.
    OpenApi,
    /// Liveness: the process answers.
    Live,
    /// Readiness: the store accepts writes and reads, the signer answers.
    Ready,
    /// The Prometheus scrape, when it is served on the main address.
    Metrics,
    /// `/direct-authz/rest/v2`, the direct authorisation API: the tenant is named by a header.
    DirectAuthz,
}

/// A protocol endpoint under `/t/{tenant}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
    Discovery,
    /// `/jwks`.
    Jwks,
    /// An endpoint that takes a form POST with client authentication.
    Form(FormEndpoint),
    /// `/userinfo`, GET and POST with a bearer token.
    Userinfo,
    /// A page a browser visits (`/authorize`, `/login`, `/consent`, `/logout`): HTML answers.
    Web(WebEndpoint),
}

/// The browser-facing endpoints (`crate::web`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebEndpoint {
    /// `/authorize`, GET and POST.
    Authorize,
    /// `/login`, the login form's POST.
    Login,
    /// `/consent`, the consent form's POST.
    Consent,
    /// `/logout`, GET and POST (RP-Initiated Logout).
    Logout,
    /// `/federation/{idp}/callback`: the browser back from an external identity provider.
    FederationCallback,
}

/// The endpoints that take `application/x-www-form-urlencoded` POSTs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormEndpoint {
    /// `/token`.
    Token,
    /// `/introspect`.
    Introspect,
    /// `/revoke`.
    Revoke,
}

#[derive(Clone, Copy)]
enum Kind {
    Endpoint(Endpoint),
    Tenants,
    Tenant,
    Settings,
    Clients,
    Client,
    ClientSecret,
    Keys,
    RotateKeys,
    Users,
    User,
    UserProfile,
    UserRevokeAll,
    ClientRevokeAll,
    TokensIntrospect,
    TokensRevoke,
    TokensGrants,
    TokensGrant,
    TokensSession,
    Roles,
    Role,
    UserRoles,
    UserRole,
    ClientRoles,
    ClientRole,
    ApiKeys,
    ApiKey,
    ApiKeyRotate,
    Events,
    Apis,
    Api,
    Validators,
    Validator,
    TrustedIssuers,
    TrustedIssuer,
    Idps,
    Idp,
    DirectAuthzToken,
    DirectAuthzEncryptionKey,
    DirectAuthz,
    OpenApi,
    Live,
    Ready,
    Metrics,
}

/// The route table.
pub struct Router {
    inner: matchit::Router<Kind>,
}

/// Every path template with its kind; `{name}` marks a parameter, as in OpenAPI.
const ROUTES: [(&str, Kind); 55] = [
    ("/t/{tenant}/.well-known/openid-configuration", Kind::Endpoint(Endpoint::Discovery)),
    ("/t/{tenant}/.well-known/oauth-authorization-server", Kind::Endpoint(Endpoint::Discovery)),
    ("/t/{tenant}/jwks", Kind::Endpoint(Endpoint::Jwks)),
    ("/t/{tenant}/token", Kind::Endpoint(Endpoint::Form(FormEndpoint::Token))),
    ("/t/{tenant}/introspect", Kind::Endpoint(Endpoint::Form(FormEndpoint::Introspect))),
    ("/t/{tenant}/revoke", Kind::Endpoint(Endpoint::Form(FormEndpoint::Revoke))),
    ("/t/{tenant}/userinfo", Kind::Endpoint(Endpoint::Userinfo)),
    ("/t/{tenant}/authorize", Kind::Endpoint(Endpoint::Web(WebEndpoint::Authorize))),
    ("/t/{tenant}/login", Kind::Endpoint(Endpoint::Web(WebEndpoint::Login))),
    ("/t/{tenant}/consent", Kind::Endpoint(Endpoint::Web(WebEndpoint::Consent))),
    ("/t/{tenant}/logout", Kind::Endpoint(Endpoint::Web(WebEndpoint::Logout))),
    ("/t/{tenant}/federation/{idp}/callback", Kind::Endpoint(Endpoint::Web(WebEndpoint::FederationCallback))),
    ("/api/v1/tenants", Kind::Tenants),
    ("/api/v1/tenants/{tenant}", Kind::Tenant),
    ("/api/v1/tenants/{tenant}/settings", Kind::Settings),
    ("/api/v1/tenants/{tenant}/clients", Kind::Clients),
    ("/api/v1/tenants/{tenant}/clients/{client}", Kind::Client),
    ("/api/v1/tenants/{tenant}/clients/{client}/secret", Kind::ClientSecret),
    ("/api/v1/tenants/{tenant}/keys", Kind::Keys),
    ("/api/v1/tenants/{tenant}/keys/rotate", Kind::RotateKeys),
    ("/api/v1/tenants/{tenant}/users", Kind::Users),
    ("/api/v1/tenants/{tenant}/users/{user}", Kind::User),
    ("/api/v1/tenants/{tenant}/users/{user}/profile", Kind::UserProfile),
    ("/api/v1/tenants/{tenant}/users/{user}/revoke-all", Kind::UserRevokeAll),
    ("/api/v1/tenants/{tenant}/clients/{client}/revoke-all", Kind::ClientRevokeAll),
    ("/api/v1/tenants/{tenant}/tokens/introspect", Kind::TokensIntrospect),
    ("/api/v1/tenants/{tenant}/tokens/revoke", Kind::TokensRevoke),
    ("/api/v1/tenants/{tenant}/tokens/grants", Kind::TokensGrants),
    ("/api/v1/tenants/{tenant}/tokens/grants/{grant}", Kind::TokensGrant),
    ("/api/v1/tenants/{tenant}/tokens/session", Kind::TokensSession),
    ("/api/v1/tenants/{tenant}/roles", Kind::Roles),
    ("/api/v1/tenants/{tenant}/roles/{role}", Kind::Role),
    ("/api/v1/tenants/{tenant}/users/{user}/roles", Kind::UserRoles),
    ("/api/v1/tenants/{tenant}/users/{user}/roles/{role}", Kind::UserRole),
    ("/api/v1/tenants/{tenant}/clients/{client}/roles", Kind::ClientRoles),
    ("/api/v1/tenants/{tenant}/clients/{client}/roles/{role}", Kind::ClientRole),
    ("/api/v1/tenants/{tenant}/api-keys", Kind::ApiKeys),
    ("/api/v1/tenants/{tenant}/api-keys/{key}", Kind::ApiKey),
    ("/api/v1/tenants/{tenant}/api-keys/{key}/rotate", Kind::ApiKeyRotate),
    ("/api/v1/tenants/{tenant}/events", Kind::Events),
    ("/api/v1/tenants/{tenant}/apis", Kind::Apis),
    ("/api/v1/tenants/{tenant}/apis/{api}", Kind::Api),
    ("/api/v1/tenants/{tenant}/identity-validators", Kind::Validators),
    ("/api/v1/tenants/{tenant}/identity-validators/{validator}", Kind::Validator),
    ("/api/v1/tenants/{tenant}/trusted-issuers", Kind::TrustedIssuers),
    ("/api/v1/tenants/{tenant}/trusted-issuers/{trusted_issuer}", Kind::TrustedIssuer),
    ("/api/v1/tenants/{tenant}/idps", Kind::Idps),
    ("/api/v1/tenants/{tenant}/idps/{idp}", Kind::Idp),
    ("/api/v1/tenants/{tenant}/direct-authz/token", Kind::DirectAuthzToken),
    ("/api/v1/tenants/{tenant}/direct-authz/encryption-key", Kind::DirectAuthzEncryptionKey),
    ("/direct-authz/rest/v2", Kind::DirectAuthz),
    ("/api/v1/openapi.json", Kind::OpenApi),
    ("/healthz", Kind::Live),
    ("/readyz", Kind::Ready),
    ("/metrics", Kind::Metrics),
];

/// The path templates of the admin API (`/api/v1/...`), the OpenAPI document's included: what
/// the document must describe (`admin::openapi`'s tests).
#[cfg(test)]
pub fn api_paths() -> impl Iterator<Item = &'static str> {
    ROUTES.iter().map(|(path, _)| *path).filter(|path| path.starts_with("/api/v1/"))
}

impl Router {
    /// Builds the table.
    pub fn new() -> Self {
        let mut inner = matchit::Router::new();
        for (path, kind) in ROUTES {
            // The table is static; a conflict is a programming error caught by the unit test.
            if let Err(err) = inner.insert(path, kind) {
                tracing::error!(%err, path, "route conflict");
            }
        }
        Self { inner }
    }

    /// The route of a path, or `None` for 404.
    pub fn route(&self, path: &str) -> Option<Route> {
        let m = self.inner.at(path).ok()?;
        let param = |name: &str| m.params.get(name).map(str::to_owned);
        let tenant = || param("tenant");
        let client = || param("client");
        Some(match *m.value {
            Kind::Endpoint(e) => Route::Tenant(tenant()?, e),
            Kind::Tenants => Route::Admin(AdminRoute::Tenants),
            Kind::Tenant => Route::Admin(AdminRoute::Tenant(tenant()?)),
            Kind::Settings => Route::Admin(AdminRoute::Settings(tenant()?)),
            Kind::Clients => Route::Admin(AdminRoute::Clients(tenant()?)),
            Kind::Client => Route::Admin(AdminRoute::Client(tenant()?, client()?)),
            Kind::ClientSecret => Route::Admin(AdminRoute::ClientSecret(tenant()?, client()?)),
            Kind::Keys => Route::Admin(AdminRoute::Keys(tenant()?)),
            Kind::RotateKeys => Route::Admin(AdminRoute::RotateKeys(tenant()?)),
            Kind::Users => Route::Admin(AdminRoute::Users(tenant()?)),
            Kind::User => Route::Admin(AdminRoute::User(tenant()?, param("user")?)),
            Kind::UserProfile => Route::Admin(AdminRoute::UserProfile(tenant()?, param("user")?)),
            Kind::UserRevokeAll => Route::Admin(AdminRoute::UserRevokeAll(tenant()?, param("user")?)),
            Kind::ClientRevokeAll => Route::Admin(AdminRoute::ClientRevokeAll(tenant()?, client()?)),
            Kind::TokensIntrospect => Route::Admin(AdminRoute::TokensIntrospect(tenant()?)),
            Kind::TokensRevoke => Route::Admin(AdminRoute::TokensRevoke(tenant()?)),
            Kind::TokensGrants => Route::Admin(AdminRoute::TokensGrants(tenant()?)),
            Kind::TokensGrant => Route::Admin(AdminRoute::TokensGrant(tenant()?, param("grant")?)),
            Kind::TokensSession => Route::Admin(AdminRoute::TokensSession(tenant()?)),
            Kind::Roles => Route::Admin(AdminRoute::Roles(tenant()?)),
            Kind::Role => Route::Admin(AdminRoute::Role(tenant()?, param("role")?)),
            Kind::UserRoles => Route::Admin(AdminRoute::UserRoles(tenant()?, param("user")?)),
            Kind::UserRole => Route::Admin(AdminRoute::UserRole(tenant()?, param("user")?, param("role")?)),
            Kind::ClientRoles => Route::Admin(AdminRoute::ClientRoles(tenant()?, client()?)),
            Kind::ClientRole => Route::Admin(AdminRoute::ClientRole(tenant()?, client()?, param("role")?)),
            Kind::ApiKeys => Route::Admin(AdminRoute::ApiKeys(tenant()?)),
            Kind::ApiKey => Route::Admin(AdminRoute::ApiKey(tenant()?, param("key")?)),
            Kind::ApiKeyRotate => Route::Admin(AdminRoute::ApiKeyRotate(tenant()?, param("key")?)),
            Kind::Events => Route::Admin(AdminRoute::Events(tenant()?)),
            Kind::Apis => Route::Admin(AdminRoute::Apis(tenant()?)),
            Kind::Api => Route::Admin(AdminRoute::Api(tenant()?, param("api")?)),
            Kind::Validators => Route::Admin(AdminRoute::Validators(tenant()?)),
            Kind::Validator => Route::Admin(AdminRoute::Validator(tenant()?, param("validator")?)),
            Kind::TrustedIssuers => Route::Admin(AdminRoute::TrustedIssuers(tenant()?)),
            Kind::Idps => Route::Admin(AdminRoute::Idps(tenant()?)),
            Kind::Idp => Route::Admin(AdminRoute::Idp(tenant()?, param("idp")?)),
            Kind::TrustedIssuer => {
                Route::Admin(AdminRoute::TrustedIssuer(tenant()?, param("trusted_issuer")?))
            }
            Kind::DirectAuthzToken => Route::Admin(AdminRoute::DirectAuthzToken(tenant()?)),
            Kind::DirectAuthzEncryptionKey => Route::Admin(AdminRoute::DirectAuthzEncryptionKey(tenant()?)),
            Kind::DirectAuthz => Route::DirectAuthz,
            Kind::OpenApi => Route::OpenApi,
            Kind::Live => Route::Live,
            Kind::Ready => Route::Ready,
            Kind::Metrics => Route::Metrics,
        })
    }
}

impl Default for Router {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = Router::new();
        assert_eq!(
            r.route("/t/acme/token"),
            Some(Route::Tenant("acme".into(), Endpoint::Form(FormEndpoint::Token)))
        );
        assert_eq!(
            r.route("/t/acme/.well-known/openid-configuration"),
            Some(Route::Tenant("acme".into(), Endpoint::Discovery))
        );
        assert_eq!(
            r.route("/api/v1/tenants/acme/clients/c1/secret"),
            Some(Route::Admin(AdminRoute::ClientSecret("acme".into(), "c1".into())))
        );
        assert_eq!(
            r.route("/api/v1/tenants/acme/users/u1"),
            Some(Route::Admin(AdminRoute::User("acme".into(), "u1".into())))
        );
        assert_eq!(
            r.route("/api/v1/tenants/acme/users/u1/profile"),
            Some(Route::Admin(AdminRoute::UserProfile("acme".into(), "u1".into())))
        );
        assert_eq!(
            r.route("/api/v1/tenants/acme/users/u1/revoke-all"),
            Some(Route::Admin(AdminRoute::UserRevokeAll("acme".into(), "u1".into())))
        );
        assert_eq!(
            r.route("/api/v1/tenants/acme/clients/c1/revoke-all"),
            Some(Route::Admin(AdminRoute::ClientRevokeAll("acme".into(), "c1".into())))
        );
        assert_eq!(
            r.route("/api/v1/tenants/acme/tokens/introspect"),
            Some(Route::Admin(AdminRoute::TokensIntrospect("acme".into())))
        );
        assert_eq!(
            r.route("/api/v1/tenants/acme/tokens/revoke"),
            Some(Route::Admin(AdminRoute::TokensRevoke("acme".into())))
        );
        assert_eq!(
            r.route("/api/v1/tenants/acme/tokens/grants"),
            Some(Route::Admin(AdminRoute::TokensGrants("acme".into())))
        );
        assert_eq!(
            r.route("/api/v1/tenants/acme/tokens/grants/fam-1"),
            Some(Route::Admin(AdminRoute::TokensGrant("acme".into(), "fam-1".into())))
        );
        assert_eq!(r.route("/api/v1/tenants/acme/tokens"), None);
        assert_eq!(
            r.route("/api/v1/tenants/acme/events"),
            Some(Route::Admin(AdminRoute::Events("acme".into())))
        );
        assert_eq!(
            r.route("/api/v1/tenants/acme/users"),
            Some(Route::Admin(AdminRoute::Users("acme".into())))
        );
        assert_eq!(
            r.route("/t/acme/authorize"),
            Some(Route::Tenant("acme".into(), Endpoint::Web(WebEndpoint::Authorize)))
        );
        assert_eq!(
            r.route("/t/acme/logout"),
            Some(Route::Tenant("acme".into(), Endpoint::Web(WebEndpoint::Logout)))
        );
        assert_eq!(r.route("/t/acme/userinfo"), Some(Route::Tenant("acme".into(), Endpoint::Userinfo)));
        assert_eq!(r.route("/t/acme/nope"), None);
        assert_eq!(r.route("/"), None);
        assert_eq!(r.inner.at("/t/x/jwks").map(|_| ()).ok(), Some(()), "every route inserted");
        assert!(r.route("/readyz").is_some());
        assert_eq!(r.route("/metrics"), Some(Route::Metrics));
        assert_eq!(r.route("/api/v1/openapi.json"), Some(Route::OpenApi));
        assert_eq!(r.route("/direct-authz/rest/v2"), Some(Route::DirectAuthz));
        assert_eq!(
            r.route("/api/v1/tenants/acme/direct-authz/token"),
            Some(Route::Admin(AdminRoute::DirectAuthzToken("acme".into())))
        );
    }

    /// Every template of the table was inserted (none conflicts) and gives a route.
    #[test]
    fn every_template_routes() {
        let r = Router::new();
        for (path, _) in ROUTES {
            let sample = path.replace(['{', '}'], "");
            let found = r.inner.at(&sample).map(|m| *m.value);
            assert!(found.is_ok(), "{path} is not routed");
            assert!(r.route(&sample).is_some(), "{path} has no route");
        }
    }
}

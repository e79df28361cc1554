//! An independent OpenID Connect client library, the `openidconnect` crate, driving the whole
//! code flow against the real binary: discovery of the tenant issuer, an authorization URL
//! with PKCE S256 and a nonce, the login form posted as a browser would (plain HTTP, CSRF
//! cookie and hidden fields), the code exchanged, the ID token verified by the library (JWKS
//! from discovery, `iss`, `aud`, `exp`, nonce, `at_hash`), `/userinfo`, and a refresh whose new
//! ID token is verified too.

mod common;

use common::{Backend, CSRF_COOKIE, EndUser, TestServer, expect_login_page, set_cookie_value};
use http::Method;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::reqwest;
use openidconnect::url::Url;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::json;

const TENANT: &str = "default";
const USERNAME: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";
/// Where the client says it receives codes: nothing listens there, since the test reads the
/// code from the `Location` header instead of following it.
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

#[tokio::test]
async fn openidconnect_crate_runs_the_code_flow_through_discovery() {
    let server = TestServer::start(Backend::Software).await;
    let issuer = server.issuer(TENANT);
    let user = server
        .create_user(
            TENANT,
            json!({
                "username": USERNAME, "password": PASSWORD, "email": "alice@example.com",
                "email_verified": true, "name": "Alice Liddell", "given_name": "Alice"
            }),
        )
        .await;
    let user_id = user["id"].as_str().expect("user id").to_owned();
    let (client_id, client_secret) = server
        .create_client(
            TENANT,
            json!({
                "client_name": "Library",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "redirect_uris": [REDIRECT_URI],
                "scope": "openid profile email offline_access",
                "first_party": true,
            }),
        )
        .await;

    // The library's HTTP client; redirects are not followed (OAuth 2.0 security BCP).
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");

    // Discovery and the client.
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).expect("issuer URL"), &http)
            .await
            .unwrap_or_else(|e| panic!("discovery of {issuer} fails: {e:?}"));
    assert_eq!(metadata.issuer().as_str(), issuer);
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).expect("redirect URL"));

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("offline_access".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    assert!(auth_url.as_str().starts_with(&format!("{issuer}/authorize?")), "{auth_url}");

    // The browser's part (the harness's cookie-keeping end-user): the login page at the URL the
    // library built, then the login form posted with its CSRF cookie.
    let path = format!("{}?{}", auth_url.path(), auth_url.query().expect("a query"));
    let mut browser = EndUser::new(&server, TENANT);
    let page = browser.send(Method::GET, &path, None, None).await;
    expect_login_page(&page, "the login page");
    assert!(set_cookie_value(&page, CSRF_COOKIE).is_some(), "a CSRF cookie with the login page");
    assert!(page.text.contains("id=\"username\""), "a login form:\n{}", page.text);
    let login = browser.login(&page, USERNAME, PASSWORD).await;
    assert!(login.status.is_redirection(), "a redirect after the login, got {}", login.status);
    let location = login.header("location").expect("Location after the login");
    let location = Url::parse(location).expect("Location is a URL");
    assert!(location.as_str().starts_with(REDIRECT_URI), "back at the client: {location}");
    let param = |name: &str| location.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("error"), None, "no error: {location}");
    assert_eq!(param("state").as_deref(), Some(state.secret().as_str()), "state comes back");
    let code = param("code").unwrap_or_else(|| panic!("a code in {location}"));

    // The code exchanged with the PKCE verifier; the library verifies the ID token.
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("discovery gave a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("code exchange fails: {e:?}"));
    let id_token = tokens.id_token().expect("an ID token for scope openid");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .unwrap_or_else(|e| panic!("openidconnect rejects the ID token: {e:?}"));
    assert_eq!(claims.subject().as_str(), user_id, "sub is the user's id");
    assert!(claims.auth_time().is_some(), "auth_time");
    let expected_hash = claims.access_token_hash().expect("at_hash with an access token");
    let actual_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("signing alg"),
        id_token.signing_key(&id_verifier).expect("signing key"),
    )
    .expect("hash of the access token");
    assert_eq!(&actual_hash, expected_hash, "at_hash");
    let refresh_token = tokens.refresh_token().expect("a refresh token for offline_access").clone();

    // /userinfo with the access token: the subject must match the ID token's.
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .expect("discovery gave a userinfo endpoint")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("userinfo fails: {e:?}"));
    assert_eq!(info.subject().as_str(), user_id);
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"), "email for scope email");
    assert_eq!(info.email_verified(), Some(true));
    let name = info.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned());
    assert_eq!(name.as_deref(), Some("Alice Liddell"), "name for scope profile");

    // A refresh: rotated refresh token, a new access token and a new ID token about the same
    // login (nonce, if any, the original one).
    let refreshed = client
        .exchange_refresh_token(&refresh_token)
        .expect("discovery gave a token endpoint")
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("refresh fails: {e:?}"));
    assert_ne!(refreshed.access_token().secret(), tokens.access_token().secret(), "a new access token");
    let rotated = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(rotated.secret(), refresh_token.secret(), "the refresh token rotates");
    let new_id_token = refreshed.id_token().expect("an ID token on refresh");
    let original_nonce = nonce.clone();
    let new_claims = new_id_token
        .claims(&id_verifier, |n: Option<&Nonce>| match n {
            None => Ok(()),
            Some(n) if n.secret() == original_nonce.secret() => Ok(()),
            Some(_) => Err("a refreshed ID token carries another nonce".to_owned()),
        })
        .unwrap_or_else(|e| panic!("openidconnect rejects the refreshed ID token: {e:?}"));
    assert_eq!(new_claims.subject(), claims.subject(), "same subject");
    assert_eq!(new_claims.auth_time(), claims.auth_time(), "same login");
    assert_eq!(new_claims.issuer(), claims.issuer());
    assert_eq!(new_claims.audiences(), claims.audiences());

    server.assert_alive();
}

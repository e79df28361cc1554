//! The HTML pages (askama templates in `server/templates/`, escaped by default) and the one
//! function that sends any of them with the headers every page carries: no caching, no
//! framing, no referrer, and a Content-Security-Policy that allows only the page's own inline
//! style and script (by nonce) and forms posting to this server or the client that asked.

use askama::Template;
use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, PRAGMA, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use tessera_core::secret;

use crate::http::respond::{Resp, plain};
use crate::util::random;

/// What every page shows and needs around its content.
pub struct Chrome<'a> {
    /// The CSP nonce of this response.
    pub nonce: &'a str,
    /// The tenant's display name.
    pub tenant_name: &'a str,
}

/// The login form.
#[derive(Template)]
#[template(path = "login.html")]
pub struct Login<'a> {
    /// Nonce and tenant name.
    pub chrome: Chrome<'a>,
    /// The client's name (or id).
    pub client_name: &'a str,
    /// The CSRF token for the hidden field.
    pub csrf: &'a str,
    /// The authorization request for the hidden field.
    pub request: &'a str,
    /// The username to show or prefill.
    pub username: &'a str,
    /// The message in the alert box, if any.
    pub error: Option<&'a str>,
    /// The tenant's identity providers, as (id, button label): a button each.
    pub idps: Vec<(&'a str, &'a str)>,
}

/// The consent form.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct Consent<'a> {
    /// Nonce and tenant name.
    pub chrome: Chrome<'a>,
    /// The client's name (or id).
    pub client_name: &'a str,
    /// The username to show or prefill.
    pub username: &'a str,
    /// What the client asks for, in words.
    pub scopes: Vec<String>,
    /// The CSRF token for the hidden field.
    pub csrf: &'a str,
    /// The authorization request for the hidden field.
    pub request: &'a str,
}

/// An error the end-user sees (never one for a client to act on).
#[derive(Template)]
#[template(path = "error.html")]
pub struct Error<'a> {
    /// Nonce and tenant name.
    pub chrome: Chrome<'a>,
    /// The page heading.
    pub heading: &'a str,
    /// What went wrong, for the end-user.
    pub message: &'a str,
}

/// The `form_post` response mode: an auto-submitting form to the client's redirect URI.
#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPost<'a> {
    /// Nonce and tenant name.
    pub chrome: Chrome<'a>,
    /// The client's redirect URI.
    pub action: &'a str,
    /// The response parameters.
    pub fields: &'a [(String, String)],
}

/// A page that sends the browser on to `url` by a navigation of its own: after a federated
/// sign-in, where a redirect would continue the provider's form submission, and browsers
/// check every redirect of a submission against the provider page's `form-action`.
#[derive(Template)]
#[template(path = "continue.html")]
pub struct Continue<'a> {
    /// Nonce and tenant name.
    pub chrome: Chrome<'a>,
    /// Where the browser goes next.
    pub url: &'a str,
}

/// "Sign out?", for a logout request that does not prove it comes from the session's client.
#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirm<'a> {
    /// Nonce and tenant name.
    pub chrome: Chrome<'a>,
    /// The client that asked, when known.
    pub client_name: Option<&'a str>,
    /// The CSRF token for the hidden field.
    pub csrf: &'a str,
    /// The logout request's parameters, passed on.
    pub fields: Vec<(&'static str, String)>,
}

/// "You have signed out".
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOut<'a> {
    /// Nonce and tenant name.
    pub chrome: Chrome<'a>,
}

/// A fresh CSP nonce (128 random bits, base64url), or `None` when the OS has no randomness.
pub fn nonce() -> Option<String> {
    random::<16>().ok().map(|r| secret::encode_id(&r))
}

/// The CSP source expression for where a form on the page may lead: the origin of `uri` (a
/// query or path would not be a valid source), or `scheme:` for a URI without an authority
/// (a native app's `com.example.app:/cb`). `None` if `uri` has characters no source may hold.
pub fn csp_source(uri: &str) -> Option<String> {
    let scheme_end = uri.find(':')?;
    let scheme = &uri[..scheme_end];
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let Some(rest) = uri[scheme_end..].strip_prefix("://") else {
        return Some(format!("{scheme}:"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host_ok = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    host_ok.then(|| format!("{scheme}://{host}"))
}

/// Sends a rendered page. `form_action` is the origin (see [`csp_source`]) a form on it may
/// end up at besides this server: browsers apply `form-action` to the redirects that follow a
/// form submission too, so the login and consent pages must name the client's redirect URI.
pub fn send(status: StatusCode, page: &impl Template, nonce: &str, form_action: Option<&str>) -> Resp {
    let body = match page.render() {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(%err, "page rendering failed");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    let extra = form_action.map(|s| format!(" {s}")).unwrap_or_default();
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; \
         form-action 'self'{extra}; frame-ancestors 'none'; base-uri 'none'"
    );
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    no_store_page_headers(headers);
    match HeaderValue::from_str(&csp) {
        Ok(v) => {
            headers.insert(CONTENT_SECURITY_POLICY, v);
        }
        Err(_) => {
            // `csp_source` admits only header-safe characters; should that ever fail, the page
            // goes out with the strictest policy rather than none.
            headers.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            );
        }
    }
    resp
}

/// The headers of every answer to a browser, pages and redirects alike.
pub fn no_store_page_headers(headers: &mut http::HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// Plain-language descriptions of the standard scopes (OpenID Connect Core 5.4); any other
/// scope is shown by its name.
pub fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "Confirm who you are with your account".into(),
        "profile" => "See your profile: name, username, picture, birthdate, locale and time zone".into(),
        "email" => "See your e-mail address".into(),
        "address" => "See your postal address".into(),
        "phone" => "See your phone number".into(),
        "offline_access" => "Keep access when you are not using it".into(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrome() -> Chrome<'static> {
        Chrome { nonce: "n0nce", tenant_name: "Acme <Corp>" }
    }

    #[test]
    fn csp_sources() {
        assert_eq!(csp_source("https://app.example/cb?x=1").as_deref(), Some("https://app.example"));
        assert_eq!(csp_source("http://127.0.0.1:8080/cb").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(csp_source("https://u@h.example/").as_deref(), Some("https://h.example"));
        assert_eq!(csp_source("com.example.app:/cb").as_deref(), Some("com.example.app:"));
        assert_eq!(csp_source("https://a b/").as_deref(), None);
        assert_eq!(csp_source("https://a;script-src */").as_deref(), None);
        assert_eq!(csp_source("nocolon"), None);
    }

    #[test]
    fn form_post_escapes_every_value() {
        let fields = vec![("code".to_owned(), "\"><script>x</script>".to_owned())];
        let page = FormPost { chrome: chrome(), action: "https://a.example/cb?a=1&b=\"2\"", fields: &fields };
        let resp = send(StatusCode::OK, &page, "n0nce", csp_source(page.action).as_deref());
        let body = page.render().expect("render");
        assert!(!body.contains("<script>x") && !body.contains("\"><"), "{body}");
        assert!(body.contains("&#34;&#62;&#60;script&#62;x"), "{body}");
        assert!(!body.contains("Acme <Corp>") && body.contains("Acme &#60;Corp&#62;"), "{body}");
        assert!(!body.contains("b=\"2\""), "the action is escaped too: {body}");
        assert!(body.contains("<script nonce=\"n0nce\">"), "{body}");
        let csp = resp.headers()[CONTENT_SECURITY_POLICY].to_str().expect("csp");
        assert!(csp.contains("form-action 'self' https://a.example;"), "{csp}");
        assert!(csp.contains("script-src 'nonce-n0nce'"), "{csp}");
        assert_eq!(resp.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(resp.headers()[X_FRAME_OPTIONS], "DENY");
    }

    #[test]
    fn login_page_is_accessible() {
        let page = Login {
            chrome: chrome(),
            client_name: "App",
            csrf: "c",
            request: "r",
            username: "al\"ice",
            error: Some("The username or password is incorrect."),
            idps: vec![("idp1", "Corp <SSO>")],
        };
        let body = page.render().expect("render");
        assert!(body.contains("<html lang=\"en\">"));
        assert_eq!(body.matches("<h1>").count(), 1);
        for id in ["username", "password"] {
            assert!(body.contains(&format!("<label for=\"{id}\">")), "{id}");
        }
        assert!(body.contains("autocomplete=\"username\""));
        assert!(body.contains("autocomplete=\"current-password\""));
        assert!(body.contains("id=\"error\" class=\"alert\" role=\"alert\""));
        assert!(body.contains("aria-describedby=\"error\""));
        assert!(body.contains("<button type=\"submit\" id=\"login\">"));
        assert!(!body.contains("al\"ice"), "the prefilled username is escaped");
        // The provider's button comes after the password's, so Enter signs in locally.
        let (local, idp) = (body.find("id=\"login\""), body.find("name=\"idp\" value=\"idp1\""));
        assert!(local.is_some() && idp.is_some() && local < idp, "{body}");
        assert!(
            body.contains("Sign in with Corp &lt;SSO&gt;")
                || body.contains("Sign in with Corp &#60;SSO&#62;")
        );
        assert!(body.contains("formnovalidate"));
    }
}

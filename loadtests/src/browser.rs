//! Just enough of a browser to log in before the end-user scenarios run: a cookie jar, redirects
//! followed on loopback URLs only, and the first HTML form of a page filled in (hidden inputs
//! as they are, the user name and the password typed in) and submitted.
//!
//! That covers Tessera's login page (hidden `csrf` and `request`, then `username`/`password`,
//! posted to `login`) and oidc-provider's development interactions (a `login`/`password` form,
//! then a consent form with only hidden inputs). It runs only during setup, never in a measured
//! window, and is not an HTML parser: it understands the markup these pages use.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::Full;

use crate::client::{self, Body, Fetched};
use crate::error::{Context, Error, Result};
use crate::request::RequestTemplate;
use crate::target::LoopbackUrl;

/// Most pages and redirects one login may take.
const MAX_STEPS: usize = 12;

/// A cookie: name, value and the `Path` it was set for (`/` when none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// `Path` attribute.
    pub path: String,
    /// Set with an empty value, `Max-Age=0` or an `Expires` in 1970: a deletion.
    pub deletes: bool,
}

/// Cookies by name, in the order first set. Domain and expiry dates are ignored (every URL this
/// tool visits is one loopback server); `Path` is kept, so that a request carries only the
/// cookies a browser would send with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieJar(Vec<Cookie>);

impl CookieJar {
    /// Takes in every `Set-Cookie` of a response; a deletion removes the cookie.
    pub fn update(&mut self, headers: &HeaderMap) {
        for raw in headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let Some(cookie) = parse_set_cookie(raw) else { continue };
            self.0.retain(|c| !(c.name == cookie.name && c.path == cookie.path));
            if !cookie.deletes {
                self.0.push(cookie);
            }
        }
    }

    /// The value of cookie `name`.
    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|c| c.name == name).map(|c| c.value.as_str())
    }

    /// The `Cookie` header value for a request to `path` (`a=1; b=2`), `None` when no cookie
    /// applies. RFC 6265 5.1.4 path match: equal, or a prefix ending at a `/`.
    pub fn header(&self, path: &str) -> Option<String> {
        let path = path.split(['?', '#']).next().unwrap_or("/");
        let matches = |cookie_path: &str| {
            path == cookie_path
                || (path.starts_with(cookie_path)
                    && (cookie_path.ends_with('/') || path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
        };
        let pairs: Vec<String> =
            self.0.iter().filter(|c| matches(&c.path)).map(|c| format!("{}={}", c.name, c.value)).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Cookie names, for the log (values are credentials).
    #[cfg(test)]
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|c| c.name.as_str()).collect()
    }
}

/// Parses one `Set-Cookie` value.
pub fn parse_set_cookie(raw: &str) -> Option<Cookie> {
    let mut parts = raw.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let value = value.trim().trim_matches('"');
    let mut path = "/".to_owned();
    let mut deletes = value.is_empty();
    for attr in parts {
        let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
        let (k, v) = (k.trim(), v.trim());
        if (k.eq_ignore_ascii_case("max-age") && v == "0")
            || (k.eq_ignore_ascii_case("expires") && v.contains("1970"))
        {
            deletes = true;
        } else if k.eq_ignore_ascii_case("path") && v.starts_with('/') {
            path = v.to_owned();
        }
    }
    Some(Cookie { name: name.to_owned(), value: value.to_owned(), path, deletes })
}

/// Decodes the character references HTML templates put in attribute values: `&amp;` `&lt;`
/// `&gt;` `&quot;` `&apos;` and numeric ones (`&#39;`, `&#x2f;`). Unknown ones stay as written.
pub fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let code =
                        if let Some(hex) = entity.strip_prefix("#x").or_else(|| entity.strip_prefix("#X")) {
                            u32::from_str_radix(hex, 16).ok()
                        } else {
                            entity.strip_prefix('#').and_then(|d| d.parse::<u32>().ok())
                        };
                    code.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The attributes of one start tag (the text between `<tag` and `>`), names lowercased, values
/// unescaped; a boolean attribute has an empty value.
pub fn tag_attributes(tag: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    let b = tag.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        if start == i {
            break;
        }
        let name = tag[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let quote = b[i];
                let vstart = i + 1;
                let vend = tag[vstart..].bytes().position(|c| c == quote).map_or(b.len(), |p| vstart + p);
                value = html_unescape(&tag[vstart..vend]);
                i = vend + 1;
            } else {
                let vstart = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = html_unescape(&tag[vstart..i]);
            }
        }
        attrs.push((name, value));
    }
    attrs
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// One `<input>` of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `name`.
    pub name: String,
    /// `type`, lowercased (`text` when absent).
    pub kind: String,
    /// `value` (empty when absent).
    pub value: String,
}

/// The first form of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// `action` as written (empty: the page's own URL).
    pub action: String,
    /// `method`, uppercased (`GET` when absent).
    pub method: String,
    /// Its named inputs, in order.
    pub inputs: Vec<Input>,
}

/// The start tags named `tag` in `html`, as their attribute text.
fn start_tags<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{tag}");
    let mut tags = Vec::new();
    let mut from = 0;
    while let Some(p) = lower[from..].find(&open) {
        let start = from + p + open.len();
        let next = lower.as_bytes().get(start).copied();
        if !matches!(next, Some(c) if c.is_ascii_whitespace() || c == b'>' || c == b'/') {
            from = start;
            continue;
        }
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        tags.push(&html[start..end]);
        from = end;
    }
    tags
}

/// Parses the first `<form>` of `html` and its named inputs.
pub fn first_form(html: &str) -> Option<Form> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<form")?;
    let end = lower[start..].find("</form").map_or(html.len(), |e| start + e);
    let form_html = &html[start..end];
    let form_attrs = tag_attributes(start_tags(form_html, "form").first()?);
    let inputs = start_tags(form_html, "input")
        .into_iter()
        .filter_map(|t| {
            let a = tag_attributes(t);
            Some(Input {
                name: attr(&a, "name").filter(|n| !n.is_empty())?.to_owned(),
                kind: attr(&a, "type").unwrap_or("text").to_ascii_lowercase(),
                value: attr(&a, "value").unwrap_or("").to_owned(),
            })
        })
        .collect();
    Some(Form {
        action: attr(&form_attrs, "action").unwrap_or("").to_owned(),
        method: attr(&form_attrs, "method").unwrap_or("get").to_ascii_uppercase(),
        inputs,
    })
}

/// The form body a user would send: hidden (and other valued) inputs as they are, the user name
/// in the text/e-mail input, the password in the password input; buttons are left out.
pub fn fill_form(form: &Form, username: &str, password: &str) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for input in &form.inputs {
        let value = match input.kind.as_str() {
            "password" => password,
            "text" | "email" if input.value.is_empty() => username,
            "submit" | "button" | "image" | "reset" => continue,
            _ => input.value.as_str(),
        };
        body.append_pair(&input.name, value);
    }
    body.finish()
}

/// Resolves `reference` (a Location or a form action) against the page's absolute `base` URL:
/// absolute `http://`, origin-relative `/path`, query-only `?q`, or relative to the base's
/// directory.
pub fn resolve(base: &str, reference: &str) -> String {
    if reference.starts_with("http://") || reference.starts_with("https://") {
        return reference.to_owned();
    }
    let (origin, path) = match base.strip_prefix("http://").and_then(|r| r.find('/').map(|i| i + 7)) {
        Some(slash) => (&base[..slash], &base[slash..]),
        None => (base, "/"),
    };
    let path_only = path.split(['?', '#']).next().unwrap_or("/");
    if reference.starts_with('/') {
        format!("{origin}{reference}")
    } else if reference.is_empty() {
        base.to_owned()
    } else if reference.starts_with('?') {
        format!("{origin}{path_only}{reference}")
    } else {
        let dir = path_only.rfind('/').map_or("/", |i| &path_only[..=i]);
        format!("{origin}{dir}{reference}")
    }
}

/// How a login ended: the redirect to the client and the cookies set on the way.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// The `Location` that went to the redirect URI.
    pub location: String,
    /// The cookies, the session among them.
    pub jar: CookieJar,
    /// Pages and redirects taken.
    pub steps: usize,
}

async fn visit(
    url: &str,
    method: Method,
    body: Option<String>,
    jar: &CookieJar,
    timeout: Duration,
) -> Result<Fetched> {
    let target = LoopbackUrl::parse(url)?;
    let addr = target.resolve().await?;
    let mut req: Request<Body> = RequestTemplate::get(&target, addr)?.build();
    *req.method_mut() = method;
    req.headers_mut().insert(http::header::ACCEPT, HeaderValue::from_static("text/html,application/json"));
    if let Some(cookie) = jar.header(target.path_and_query.path()) {
        req.headers_mut()
            .insert(COOKIE, HeaderValue::from_str(&cookie).context(|| "Cookie header".to_owned())?);
    }
    if let Some(body) = body {
        req.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        *req.body_mut() = Full::new(Bytes::from(body));
    }
    client::fetch(addr, req, timeout).await
}

/// Opens `start` (an authorization request) with `jar`'s cookies, follows redirects and fills in
/// the forms it meets until a redirect goes to `redirect_uri`.
pub async fn log_in(
    start: &str,
    redirect_uri: &str,
    username: &str,
    password: &str,
    jar: &mut CookieJar,
    timeout: Duration,
) -> Result<LoggedIn> {
    let mut url = start.to_owned();
    let mut method = Method::GET;
    let mut body = None;
    for step in 1..=MAX_STEPS {
        let resp = visit(&url, method.clone(), body.take(), jar, timeout).await?;
        jar.update(&resp.headers);
        if resp.status.is_redirection() {
            let location = resp.headers.get(LOCATION).and_then(|v| v.to_str().ok()).ok_or_else(|| {
                Error::msg(format!("{url}: HTTP {} without a Location", resp.status.as_u16()))
            })?;
            let next = resolve(&url, location);
            if next.starts_with(redirect_uri) {
                return Ok(LoggedIn { location: next, jar: jar.clone(), steps: step });
            }
            url = next;
            method = Method::GET;
        } else if resp.status.is_success() {
            let html = String::from_utf8_lossy(&resp.body);
            let form = first_form(&html).ok_or_else(|| {
                Error::msg(format!("{url}: a page without a form: {:?}", resp.body_excerpt(300)))
            })?;
            let filled = fill_form(&form, username, password);
            let action = resolve(&url, &form.action);
            if form.method == "POST" {
                url = action;
                method = Method::POST;
                body = Some(filled);
            } else {
                let sep = if action.contains('?') { '&' } else { '?' };
                url = format!("{action}{sep}{filled}");
                method = Method::GET;
            }
        } else {
            return Err(Error::msg(format!(
                "{url}: HTTP {} during login: {:?}",
                resp.status.as_u16(),
                resp.body_excerpt(300)
            )));
        }
    }
    Err(Error::msg(format!(
        "no redirect to {redirect_uri} after {MAX_STEPS} pages and redirects (last: {url})"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jar_keeps_the_latest_and_drops_deleted_cookies() {
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("tessera_csrf=abc; Path=/t/default; HttpOnly; SameSite=Lax"),
        );
        h.append(SET_COOKIE, HeaderValue::from_static("_session=s1; path=/"));
        let mut jar = CookieJar::default();
        jar.update(&h);
        assert_eq!(jar.get("tessera_csrf"), Some("abc"));
        assert_eq!(jar.header("/t/default/login").as_deref(), Some("tessera_csrf=abc; _session=s1"));
        assert_eq!(jar.header("/t/defaultx").as_deref(), Some("_session=s1"));
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("tessera_csrf=; Max-Age=0; Path=/t/default"));
        h.append(SET_COOKIE, HeaderValue::from_static("_session=s2; path=/"));
        h.append(SET_COOKIE, HeaderValue::from_static("tessera_session=xyz; Max-Age=3600; Path=/t/default"));
        jar.update(&h);
        assert_eq!(jar.get("tessera_csrf"), None);
        assert_eq!(jar.names(), ["_session", "tessera_session"]);
        assert_eq!(jar.get("_session"), Some("s2"));
        assert_eq!(
            jar.header("/t/default/authorize?x=1").as_deref(),
            Some("_session=s2; tessera_session=xyz")
        );
        assert_eq!(parse_set_cookie("=x"), None);
        assert_eq!(parse_set_cookie("novalue"), None);
        assert!(parse_set_cookie("a=1; max-age=0").expect("valid").deletes);
    }

    #[test]
    fn oidc_provider_interaction_cookies_stay_on_their_path() {
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("_interaction=u1; path=/interaction/u1; httponly"));
        h.append(SET_COOKIE, HeaderValue::from_static("_interaction_resume=u1; path=/auth/u1; httponly"));
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("_session=s; path=/; expires=Wed, 10 Dec 2026 12:00:00 GMT"),
        );
        let mut jar = CookieJar::default();
        jar.update(&h);
        assert_eq!(jar.header("/interaction/u1").as_deref(), Some("_interaction=u1; _session=s"));
        assert_eq!(jar.header("/auth").as_deref(), Some("_session=s"));
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static(
                "_interaction_resume=; path=/auth/u1; expires=Thu, 01 Jan 1970 00:00:00 GMT",
            ),
        );
        jar.update(&h);
        assert_eq!(jar.names(), ["_interaction", "_session"]);
    }

    #[test]
    fn unescapes_attribute_values() {
        assert_eq!(html_unescape("a&amp;b&lt;&gt;&quot;&#39;&#x27;&#x2f;&#47;&apos;"), "a&b<>\"''//'");
        assert_eq!(html_unescape("no entities"), "no entities");
        assert_eq!(html_unescape("AT&T &bogus; &#xZZ; tail&"), "AT&T &bogus; &#xZZ; tail&");
    }

    #[test]
    fn parses_tessera_login_page() {
        let html = r#"<!doctype html><html><body><h1>Sign in</h1>
<form method="post" action="login">
<input type="hidden" name="csrf" value="c&#x2f;s+rf">
<input type="hidden" name="request" value="eyJhIjoxfQ.x&amp;y">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required value="">
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login">Sign in</button>
</form></body></html>"#;
        let form = first_form(html).expect("a form");
        assert_eq!(form.action, "login");
        assert_eq!(form.method, "POST");
        let names: Vec<_> = form.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["csrf", "request", "username", "password"]);
        assert_eq!(form.inputs[0].value, "c/s+rf");
        assert_eq!(form.inputs[1].value, "eyJhIjoxfQ.x&y");
        assert_eq!(
            fill_form(&form, "alice", "p w&d"),
            "csrf=c%2Fs%2Brf&request=eyJhIjoxfQ.x%26y&username=alice&password=p+w%26d"
        );
    }

    #[test]
    fn parses_oidc_provider_dev_interaction_forms() {
        let login = r#"<div class="login-card"><h1>Sign-in</h1>
<form autocomplete="off" action="http://127.0.0.1:3100/interaction/Ab_9" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
  <input required type="password" name="password" placeholder="and password" >
  <button type="submit" class="login login-submit">Sign-in</button>
</form><div class="login-help"><a href="/interaction/Ab_9/abort">[ Cancel ]</a></div>"#;
        let form = first_form(login).expect("a form");
        assert_eq!(form.action, "http://127.0.0.1:3100/interaction/Ab_9");
        assert_eq!(fill_form(&form, "u1", "pw"), "prompt=login&login=u1&password=pw");
        let consent = r#"<form autocomplete="off" action="/interaction/Cd" method="post">
  <input type="hidden" name="prompt" value="consent"/>
  <button autofocus type="submit" class="login login-submit">Continue</button>
</form>"#;
        assert_eq!(fill_form(&first_form(consent).expect("a form"), "u", "p"), "prompt=consent");
        assert_eq!(first_form("<p>no form <formula></p>"), None);
    }

    #[test]
    fn tag_attributes_handle_quotes_and_flags() {
        let a = tag_attributes(r#" type=hidden name='x' value="a b" required data-x = "1"/"#);
        assert_eq!(
            a,
            [
                ("type".to_owned(), "hidden".to_owned()),
                ("name".to_owned(), "x".to_owned()),
                ("value".to_owned(), "a b".to_owned()),
                ("required".to_owned(), String::new()),
                ("data-x".to_owned(), "1".to_owned()),
            ]
        );
        assert!(tag_attributes("").is_empty());
        // An unterminated quote takes the rest of the tag, nothing panics.
        assert_eq!(tag_attributes(r#"value="abc"#)[0].1, "abc");
    }

    #[test]
    fn resolves_references() {
        let page = "http://127.0.0.1:8080/t/default/authorize?client_id=x";
        assert_eq!(resolve(page, "login"), "http://127.0.0.1:8080/t/default/login");
        assert_eq!(resolve(page, "/interaction/1"), "http://127.0.0.1:8080/interaction/1");
        assert_eq!(resolve(page, "http://127.0.0.1:9/cb?code=1"), "http://127.0.0.1:9/cb?code=1");
        assert_eq!(resolve(page, ""), page);
        assert_eq!(resolve(page, "?a=1"), "http://127.0.0.1:8080/t/default/authorize?a=1");
        assert_eq!(resolve("http://127.0.0.1:3100", "auth/x"), "http://127.0.0.1:3100/auth/x");
    }
}

//! `application/x-www-form-urlencoded` request bodies, parsed once at the edge into a [`Form`]
//! that refuses what RFC 6749 3.1/3.2 forbids: repeated parameters. Empty values count as
//! absent ("parameters sent without a value MUST be treated as if they were omitted").

use std::borrow::Cow;

use crate::error::{OAuthError, Reason};

/// Largest request body a protocol endpoint reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Most parameters one request may carry.
pub const MAX_PARAMS: usize = 64;

/// A decoded form: at most one value per name.
#[derive(Debug, Default)]
pub struct Form<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Form<'a> {
    /// Decodes a body. Fails on a repeated parameter, too many parameters, or invalid UTF-8.
    pub fn parse(body: &'a [u8]) -> Result<Self, OAuthError> {
        Self::decode_pairs(body, false).map(|(form, _)| form)
    }

    /// Decodes a body like [`parse`](Self::parse), except that a repeated parameter keeps its
    /// first value and its name is returned instead of an error. For `/authorize` only: such a
    /// request is still refused, but RFC 6749 4.1.2.1 owes the refusal to the client when its
    /// `client_id` and `redirect_uri` are sound, so the server must be able to read them.
    pub fn parse_first(body: &'a [u8]) -> Result<(Self, Vec<String>), OAuthError> {
        Self::decode_pairs(body, true)
    }

    fn decode_pairs(body: &'a [u8], keep_first: bool) -> Result<(Self, Vec<String>), OAuthError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(OAuthError::new(Reason::BodyTooLarge, "request body is too large"));
        }
        let mut pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
        let mut repeated: Vec<String> = Vec::new();
        for (count, part) in body.split(|&b| b == b'&').filter(|p| !p.is_empty()).enumerate() {
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &part[part.len()..]),
            };
            let (name, value) = (decode(name)?, decode(value)?);
            let repeat = pairs.iter().any(|(n, _)| *n == name);
            if repeat && !keep_first && name == "resource" {
                // RFC 8707 2 allows several resources; Tessera issues a token for one API at
                // a time, and says so in the RFC's own terms.
                return Err(OAuthError::new(Reason::MalformedResource, "one resource per request"));
            }
            if repeat && !keep_first {
                return Err(OAuthError::new(Reason::RepeatedParameter, repeated_description(&name)));
            }
            // Repeats count towards the limit too.
            if count == MAX_PARAMS {
                return Err(OAuthError::new(Reason::TooManyParameters, "too many parameters"));
            }
            if !repeat {
                pairs.push((name, value));
            } else if !repeated.iter().any(|r| *r == name) {
                repeated.push(name.into_owned());
            }
        }
        Ok((Self { pairs }, repeated))
    }

    /// The value of `name`, or `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_ref()).filter(|v| !v.is_empty())
    }

    /// Every parameter received, in order, empty values included. For tests and fuzz targets
    /// that check what the parser kept; endpoints read parameters by name.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// The value of `name`, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| {
            OAuthError::new(Reason::MissingParameter, format!("parameter `{name}` is required"))
        })
    }
}

/// Decodes one name or value: `+` is a space, `%XX` a byte, and the result must be UTF-8
/// (no lossy replacement: a client that sends other bytes gets an error, not altered input).
pub(crate) fn decode(raw: &[u8]) -> Result<Cow<'_, str>, OAuthError> {
    let malformed = || OAuthError::new(Reason::MalformedBody, "request body is not valid form encoding");
    if !raw.iter().any(|&b| b == b'+' || b == b'%') {
        return std::str::from_utf8(raw).map(Cow::Borrowed).map_err(|_| malformed());
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3).ok_or_else(malformed)?;
                let hi = hex_value(hex[0]).ok_or_else(malformed)?;
                let lo = hex_value(hex[1]).ok_or_else(malformed)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| malformed())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The parameters of the requests Tessera reads. An error names a parameter only when it is
/// one of these: any other name is the sender's text, and an error page or description must
/// not become a place where an attacker writes what users read.
const KNOWN_PARAMETERS: &[&str] = &[
    "acr_values",
    "assertion",
    "audience",
    "claims",
    "client_assertion",
    "client_assertion_type",
    "client_id",
    "client_secret",
    "code",
    "code_challenge",
    "code_challenge_method",
    "code_verifier",
    "consent",
    "csrf",
    "display",
    "grant_type",
    "id_token_hint",
    "login_hint",
    "max_age",
    "nonce",
    "password",
    "post_logout_redirect_uri",
    "prompt",
    "redirect_uri",
    "refresh_token",
    "request",
    "request_uri",
    "resource",
    "response_mode",
    "response_type",
    "scope",
    "state",
    "token",
    "token_type_hint",
    "ui_locales",
    "username",
];

/// Says that `name` was repeated, naming it only if it is one of Tessera's own parameters.
pub fn repeated_description(name: &str) -> String {
    if KNOWN_PARAMETERS.contains(&name) {
        format!("parameter `{name}` is repeated")
    } else {
        "a parameter is repeated".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_err(body: &str, reason: Reason) {
        let err = Form::parse(body.as_bytes()).expect_err(body);
        assert_eq!(err.reason, reason, "{body}");
    }

    #[test]
    fn decodes_percent_and_plus() {
        let f = Form::parse(b"grant_type=client_credentials&scope=a+b%3Ac").expect("form");
        assert_eq!(f.get("grant_type"), Some("client_credentials"));
        assert_eq!(f.get("scope"), Some("a b:c"));
    }

    #[test]
    fn empty_value_is_absent() {
        let f = Form::parse(b"scope=&grant_type=x").expect("form");
        assert_eq!(f.get("scope"), None);
        assert_eq!(f.require("scope").expect_err("absent").reason, Reason::MissingParameter);
    }

    #[test]
    fn repeated_parameter_is_refused_even_when_empty() {
        check_err("scope=a&scope=b", Reason::RepeatedParameter);
        check_err("scope=&scope=", Reason::RepeatedParameter);
    }

    #[test]
    fn parse_first_keeps_the_first_value_and_names_the_repeats() {
        let (f, repeated) = Form::parse_first(b"a=1&b=2&a=3&a=4&c=&c=").expect("form");
        assert_eq!((f.get("a"), f.get("b"), f.get("c")), (Some("1"), Some("2"), None));
        assert_eq!(repeated, ["a", "c"]);
        let (_, repeated) = Form::parse_first(b"a=1&b=2").expect("form");
        assert!(repeated.is_empty());
        let many: Vec<&str> = (0..=MAX_PARAMS).map(|_| "a=1").collect();
        let err = Form::parse_first(many.join("&").as_bytes()).expect_err("too many");
        assert_eq!(err.reason, Reason::TooManyParameters);
    }

    #[test]
    fn limits() {
        let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=v")).collect();
        check_err(&many.join("&"), Reason::TooManyParameters);
        check_err(&"a".repeat(MAX_BODY_BYTES + 1), Reason::BodyTooLarge);
    }

    #[test]
    fn invalid_encoding_is_refused_but_a_real_replacement_char_is_kept() {
        check_err("scope=%FF", Reason::MalformedBody);
        check_err("scope=%2", Reason::MalformedBody);
        check_err("scope=%zz", Reason::MalformedBody);
        let f = Form::parse("scope=%EF%BF%BD".as_bytes()).expect("form");
        assert_eq!(f.get("scope"), Some("\u{FFFD}"));
    }
}

#[cfg(test)]
mod echo_tests {
    use super::*;

    #[test]
    fn only_tessera_s_own_parameter_names_are_echoed() {
        let err = Form::parse(b"scope=a&scope=b").expect_err("repeated");
        assert_eq!(err.description, "parameter `scope` is repeated");
        for body in [
            "Call+0800+123+to+unlock+your+account=1&Call+0800+123+to+unlock+your+account=2",
            "x=1&x=2",
            "%22%3E%3Cb%3E=1&%22%3E%3Cb%3E=2",
            "scope%00=1&scope%00=2",
        ] {
            let err = Form::parse(body.as_bytes()).expect_err(body);
            assert_eq!(err.description, "a parameter is repeated", "{body}");
        }
    }
}

//! Trusted issuers of a tenant: the partners whose signed JWTs the JWT bearer grant (RFC 7523
//! 2.1) exchanges for the tenant's tokens, each with where its keys are, which subjects it may
//! assert, and how its subjects become the tenant's. Kept inside the tenant record, like
//! identity validators: few (bounded here), read on every assertion, changed rarely.

use super::UnixSecs;
use super::api::{
    MAX_NAME_BYTES, MAX_URI_BYTES, is_valid_display_name, is_valid_resource, is_valid_validator_url,
};

/// Most trusted issuers a tenant may define.
pub const MAX_TRUSTED_ISSUERS_PER_TENANT: usize = 32;
/// Largest inline JWK Set, as JSON text.
pub const MAX_INLINE_JWKS_BYTES: usize = 16 * 1024;
/// Longest subject prefix, in bytes.
pub const MAX_SUBJECT_PREFIX_BYTES: usize = 64;
/// Longest allowed-subjects pattern, in bytes.
pub const MAX_SUBJECT_PATTERN_BYTES: usize = 255;

rkyv_record! {
    /// A partner whose assertions the JWT bearer grant accepts.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct TrustedIssuer {
        /// The trusted issuer's id (22 base64url characters).
        pub id: String,
        /// A human-readable name.
        pub name: String,
        /// The `iss` its assertions carry, compared exactly; unique in its tenant.
        pub issuer: String,
        /// Where its JWK Set is fetched (`http` or `https`); exactly one of this and `jwks`.
        pub jwks_uri: Option<String>,
        /// Its JWK Set inline, as JSON text; exactly one of this and `jwks_uri`.
        pub jwks: Option<String>,
        /// The subjects it may assert: `*` matches any run of characters, everything else
        /// itself (`*@partner.example`); `None`: any subject.
        pub allowed_subjects: Option<String>,
        /// An `aud` its assertions may carry besides the tenant's issuer and token endpoint
        /// URL (RFC 7523 3: a value that identifies this authorization server to the partner).
        pub audience: Option<String>,
        /// How its `sub` becomes the tenant's subject: `None` as it is, `Some(p)` as `p:sub`,
        /// so two partners' subjects (and the tenant's own users) never collide.
        pub subject_prefix: Option<String>,
        /// When it was created.
        pub created_at: UnixSecs,
    }
}

impl TrustedIssuer {
    /// Whether this issuer may assert `sub` ([`TrustedIssuer::allowed_subjects`]).
    pub fn allows_subject(&self, sub: &str) -> bool {
        self.allowed_subjects.as_deref().is_none_or(|pattern| glob_matches(pattern, sub))
    }

    /// The tenant's subject for this issuer's `sub`.
    pub fn map_subject(&self, sub: &str) -> String {
        match &self.subject_prefix {
            Some(prefix) => format!("{prefix}:{sub}"),
            None => sub.to_owned(),
        }
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (none included)
/// and every other character itself. Iterative, with one backtrack point: linear in practice,
/// never exponential, whatever the pattern.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Checks one trusted issuer: its name, issuer, key source, pattern, audience and prefix.
/// Whether an inline `jwks` holds usable keys is the server's check (it parses them with the
/// JOSE library); here it need only be a bounded JSON object.
pub fn validate_trusted_issuer(t: &TrustedIssuer) -> Result<(), String> {
    if !super::is_valid_id(&t.id) {
        return Err(format!("trusted issuer id {:?} is not a valid id", t.id));
    }
    if !is_valid_display_name(&t.name) {
        return Err(format!("name must be 1 to {MAX_NAME_BYTES} bytes without control characters"));
    }
    if !is_valid_resource(&t.issuer) {
        return Err("issuer must be an absolute URI without a fragment".into());
    }
    match (&t.jwks_uri, &t.jwks) {
        (Some(uri), None) if is_valid_validator_url(uri) => {}
        (Some(_), None) => return Err("jwks_uri must be an absolute http or https URL".into()),
        (None, Some(jwks)) => {
            if jwks.len() > MAX_INLINE_JWKS_BYTES {
                return Err(format!("jwks must be at most {MAX_INLINE_JWKS_BYTES} bytes"));
            }
            let parsed: Result<serde_json::Value, _> = serde_json::from_str(jwks);
            if !parsed.is_ok_and(|v| v.get("keys").is_some_and(serde_json::Value::is_array)) {
                return Err("jwks must be a JWK Set: an object with a keys array".into());
            }
        }
        _ => return Err("exactly one of jwks_uri and jwks is required".into()),
    }
    if let Some(pattern) = &t.allowed_subjects
        && (pattern.is_empty()
            || pattern.len() > MAX_SUBJECT_PATTERN_BYTES
            || pattern.chars().any(char::is_control))
    {
        return Err(format!("allowed_subjects must be 1 to {MAX_SUBJECT_PATTERN_BYTES} bytes"));
    }
    if let Some(aud) = &t.audience
        && (aud.is_empty() || aud.len() > MAX_URI_BYTES || aud.chars().any(char::is_control))
    {
        return Err(format!("audience must be 1 to {MAX_URI_BYTES} bytes"));
    }
    if let Some(prefix) = &t.subject_prefix
        && (prefix.is_empty()
            || prefix.len() > MAX_SUBJECT_PREFIX_BYTES
            || !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
    {
        return Err(format!(
            "subject_prefix must be 1 to {MAX_SUBJECT_PREFIX_BYTES} letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(())
}

/// Checks a tenant's trusted issuers together: each one, their bound, unique ids and `iss`.
pub fn validate_trusted_issuers(issuers: &[TrustedIssuer]) -> Result<(), String> {
    if issuers.len() > MAX_TRUSTED_ISSUERS_PER_TENANT {
        return Err(format!("at most {MAX_TRUSTED_ISSUERS_PER_TENANT} trusted issuers"));
    }
    for (i, t) in issuers.iter().enumerate() {
        validate_trusted_issuer(t)?;
        if issuers[..i].iter().any(|o| o.id == t.id || o.issuer == t.issuer) {
            return Err(format!("trusted issuer {} is defined twice", t.issuer));
        }
    }
    Ok(())
}

/// A trusted issuer for tests: inline keys, any subject, no prefix.
#[cfg(test)]
pub(crate) fn sample_trusted_issuer() -> TrustedIssuer {
    TrustedIssuer {
        id: "partner1".into(),
        name: "Partner".into(),
        issuer: "https://partner.example".into(),
        jwks_uri: None,
        jwks: Some(r#"{"keys":[]}"#.into()),
        allowed_subjects: None,
        audience: None,
        subject_prefix: None,
        created_at: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_and_nothing_else() {
        assert!(glob_matches("*@partner.example", "alice@partner.example"));
        assert!(glob_matches("*@partner.example", "@partner.example"));
        assert!(!glob_matches("*@partner.example", "alice@partner.example.evil"));
        assert!(glob_matches("svc-*", "svc-1"));
        assert!(!glob_matches("svc-*", "xsvc-1"));
        assert!(glob_matches("a*b*c", "aXXbYYc"));
        assert!(!glob_matches("a*b*c", "aXXbYY"));
        assert!(glob_matches("exact", "exact") && !glob_matches("exact", "exactly"));
        assert!(glob_matches("*", ""));
        let long = "a".repeat(5000);
        assert!(!glob_matches("*a*a*a*a*a*b", &long), "no blow-up");
    }

    #[test]
    fn subjects_map_as_is_or_prefixed_and_patterns_hold() {
        let mut t = sample_trusted_issuer();
        assert_eq!(t.map_subject("u1"), "u1");
        assert!(t.allows_subject("anything"));
        t.subject_prefix = Some("acme".into());
        t.allowed_subjects = Some("u*".into());
        assert_eq!(t.map_subject("u1"), "acme:u1");
        assert!(t.allows_subject("u1") && !t.allows_subject("x1"));
    }

    #[test]
    fn one_key_source_and_bounded_fields() {
        let ok = sample_trusted_issuer();
        assert!(validate_trusted_issuer(&ok).is_ok());
        let both = TrustedIssuer { jwks_uri: Some("https://p.example/jwks".into()), ..ok.clone() };
        assert!(validate_trusted_issuer(&both).is_err());
        let neither = TrustedIssuer { jwks: None, ..ok.clone() };
        assert!(validate_trusted_issuer(&neither).is_err());
        let uri = TrustedIssuer { jwks: None, jwks_uri: Some("https://p.example/jwks".into()), ..ok.clone() };
        assert!(validate_trusted_issuer(&uri).is_ok());
        let bad_uri = TrustedIssuer { jwks_uri: Some("ftp://p".into()), ..uri.clone() };
        assert!(validate_trusted_issuer(&bad_uri).is_err());
        let not_a_set = TrustedIssuer { jwks: Some("[]".into()), ..ok.clone() };
        assert!(validate_trusted_issuer(&not_a_set).is_err());
        let bad_prefix = TrustedIssuer { subject_prefix: Some("a:b".into()), ..ok.clone() };
        assert!(validate_trusted_issuer(&bad_prefix).is_err());
        let twice = [ok.clone(), TrustedIssuer { id: "other".into(), ..ok.clone() }];
        assert!(validate_trusted_issuers(&twice).is_err(), "one issuer, two records");
        let many: Vec<_> = (0..=MAX_TRUSTED_ISSUERS_PER_TENANT)
            .map(|i| TrustedIssuer {
                id: format!("id{i}"),
                issuer: format!("https://p{i}.example"),
                ..ok.clone()
            })
            .collect();
        assert!(validate_trusted_issuers(&many).is_err());
        assert!(validate_trusted_issuers(&many[1..]).is_ok());
    }
}

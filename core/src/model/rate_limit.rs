//! Token-endpoint rate limits: the quota a tenant gives every client by default
//! ([`super::TenantSettings::token_rate_limit`]), a client's own override
//! ([`super::Client::token_rate_limit`]), the bounds a quota must keep, and which quota applies
//! ([`effective_token_rate_limit`]). The server keeps the token buckets; this is the rule.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most requests a second a quota may allow: far above what one node serves, so a larger
/// value can only be a typo (and keeps governor's per-cell arithmetic exact).
pub const MAX_RATE_PER_SECOND: u32 = 1_000_000;
/// Most requests a quota may allow at once.
pub const MAX_RATE_BURST: u32 = 1_000_000;

rkyv_record! {
    /// A token bucket: `per_second` requests a second on average, up to `burst` at once.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct RateLimit {
        /// Requests a second, on average: 1 to [`MAX_RATE_PER_SECOND`].
        pub per_second: u32,
        /// Requests allowed at once, after a quiet spell: 1 to [`MAX_RATE_BURST`].
        pub burst: u32,
    }

    /// A client's own token-endpoint quota, overriding its tenant's default. On the wire
    /// (the admin API) `"unlimited"` or `{"per_second": n, "burst": m}`; a client without an
    /// override has none (`null`) and takes the tenant's.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum RateLimitOverride {
        /// No limit for this client, whatever the tenant's default.
        Unlimited,
        /// This quota instead of the tenant's.
        Limit(RateLimit),
    }
}

impl RateLimit {
    /// Checks the bounds; `field` names the setting in the message (a 400 of the admin API).
    pub fn validate(&self, field: &str) -> Result<(), String> {
        if !(1..=MAX_RATE_PER_SECOND).contains(&self.per_second) {
            return Err(format!("{field}.per_second must be between 1 and {MAX_RATE_PER_SECOND}"));
        }
        if !(1..=MAX_RATE_BURST).contains(&self.burst) {
            return Err(format!("{field}.burst must be between 1 and {MAX_RATE_BURST}"));
        }
        Ok(())
    }
}

impl RateLimitOverride {
    /// Checks the quota of an override, if it has one.
    pub fn validate(&self, field: &str) -> Result<(), String> {
        match self {
            Self::Unlimited => Ok(()),
            Self::Limit(limit) => limit.validate(field),
        }
    }
}

/// The quota a client's token requests are held to: its override, else its tenant's default;
/// `None` is unlimited.
pub fn effective_token_rate_limit(
    tenant_default: Option<RateLimit>,
    client_override: Option<RateLimitOverride>,
) -> Option<RateLimit> {
    match client_override {
        Some(RateLimitOverride::Unlimited) => None,
        Some(RateLimitOverride::Limit(limit)) => Some(limit),
        None => tenant_default,
    }
}

/// The word that says "no limit" on the wire.
const UNLIMITED: &str = "unlimited";

impl Serialize for RateLimitOverride {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Unlimited => s.serialize_str(UNLIMITED),
            Self::Limit(limit) => limit.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for RateLimitOverride {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Word(String),
            Limit(RateLimit),
        }
        match Wire::deserialize(d)? {
            Wire::Word(w) if w == UNLIMITED => Ok(Self::Unlimited),
            Wire::Word(w) => Err(serde::de::Error::custom(format!(
                "`{w}` is not a rate limit: \"unlimited\" or {{\"per_second\": n, \"burst\": m}}"
            ))),
            Wire::Limit(limit) => Ok(Self::Limit(limit)),
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for RateLimitOverride {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let unlimited = ObjectBuilder::new().schema_type(Type::String).enum_values(Some([UNLIMITED]));
        OneOfBuilder::new()
            .item(unlimited)
            .item(utoipa::openapi::Ref::from_schema_name("RateLimit"))
            .description(Some("A client's own token-endpoint quota: \"unlimited\" or a RateLimit"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for RateLimitOverride {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        use utoipa::PartialSchema;
        schemas.push(("RateLimit".to_owned(), RateLimit::schema()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit { per_second, burst }
    }

    #[test]
    fn quotas_must_be_positive_and_bounded() {
        assert!(limit(1, 1).validate("q").is_ok());
        assert!(limit(MAX_RATE_PER_SECOND, MAX_RATE_BURST).validate("q").is_ok());
        let zero_rate = limit(0, 5).validate("token_rate_limit").expect_err("zero rate");
        assert!(zero_rate.contains("token_rate_limit.per_second"), "{zero_rate}");
        assert!(limit(5, 0).validate("q").expect_err("zero burst").contains("q.burst"));
        assert!(limit(MAX_RATE_PER_SECOND + 1, 1).validate("q").is_err());
        assert!(limit(1, MAX_RATE_BURST + 1).validate("q").is_err());
        assert!(RateLimitOverride::Unlimited.validate("q").is_ok());
        assert!(RateLimitOverride::Limit(limit(0, 1)).validate("q").is_err());
    }

    #[test]
    fn the_client_override_beats_the_tenant_default() {
        let tenant = Some(limit(10, 20));
        assert_eq!(effective_token_rate_limit(None, None), None, "unlimited unless set");
        assert_eq!(effective_token_rate_limit(tenant, None), tenant);
        let own = RateLimitOverride::Limit(limit(1, 2));
        assert_eq!(effective_token_rate_limit(tenant, Some(own)), Some(limit(1, 2)));
        assert_eq!(effective_token_rate_limit(None, Some(own)), Some(limit(1, 2)));
        assert_eq!(effective_token_rate_limit(tenant, Some(RateLimitOverride::Unlimited)), None);
    }

    #[test]
    fn overrides_read_and_write_the_wire_shapes() {
        let unlimited: RateLimitOverride = serde_json::from_str(r#""unlimited""#).expect("unlimited");
        assert_eq!(unlimited, RateLimitOverride::Unlimited);
        assert_eq!(serde_json::to_string(&unlimited).expect("json"), r#""unlimited""#);
        let own: RateLimitOverride = serde_json::from_str(r#"{"per_second":3,"burst":4}"#).expect("a quota");
        assert_eq!(own, RateLimitOverride::Limit(limit(3, 4)));
        assert_eq!(serde_json::to_string(&own).expect("json"), r#"{"per_second":3,"burst":4}"#);
        assert!(serde_json::from_str::<RateLimitOverride>(r#""none""#).is_err());
        assert!(serde_json::from_str::<RateLimitOverride>(r#"{"per_second":3}"#).is_err());
        assert!(serde_json::from_str::<RateLimitOverride>(r#"{"per_second":3,"burst":4,"x":1}"#).is_err());
        assert!(serde_json::from_str::<RateLimitOverride>("-1").is_err());
    }
}

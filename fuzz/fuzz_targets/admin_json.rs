//! Admin API JSON bodies. The body types themselves (`ClientMetadata`, `UserBody`,
//! `CreateTenant`) live in the server binary, which no fuzz target can link; this target runs
//! the server's decoding steps (`admin::json_body`: a `serde_json::Value` first, objects only,
//! then the typed value; `tenants::merge_settings` for a PATCH) over the core types those bodies
//! carry and the server stores: `TenantSettings` (PUT and PATCH settings, `settings` of a new
//! tenant) and `Address` (a user's `address`). Unknown members are refused, accepted values
//! survive a round trip, and settings that validate are within their bounds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use tessera_core::model::{Address, MAX_TTL_SECS, TenantSettings};
use tessera_core::password_policy::{MAX_MIN_PASSWORD_CHARS, MIN_PASSWORD_CHARS};

/// `admin::json_body` without the media-type check: a JSON object, then the typed value.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    let value: Value = serde_json::from_slice(body).ok()?;
    if !value.is_object() {
        return None;
    }
    serde_json::from_value(value).ok()
}

/// The member names a type writes, which are all the members it may read.
fn members<T: serde::Serialize>(value: &T) -> Vec<String> {
    match serde_json::to_value(value) {
        Ok(Value::Object(m)) => m.keys().cloned().collect(),
        other => panic!("not an object: {other:?}"),
    }
}

fn round_trips<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(value).expect("serialises");
    let back: T = serde_json::from_str(&text).expect("what was written reads back");
    assert_eq!(&back, value, "{text}");
}

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(members) => members.values().any(has_float),
        _ => false,
    }
}

fn check_settings(settings: &TenantSettings, object: &Map<String, Value>) {
    let known = members(&TenantSettings::default());
    assert!(object.keys().all(|k| known.contains(k)), "an unknown member was accepted: {object:?}");
    round_trips(settings);
    if settings.validate().is_ok() {
        for ttl in [
            settings.access_token_ttl_secs,
            settings.id_token_ttl_secs,
            settings.refresh_token_ttl_secs,
            settings.code_ttl_secs,
        ] {
            assert!((1..=MAX_TTL_SECS).contains(&ttl));
        }
        assert!((MIN_PASSWORD_CHARS..=MAX_MIN_PASSWORD_CHARS).contains(&settings.password_min_length));
    }
}

fuzz_target!(|body: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return };
    // What the server's JSON reader accepted, it writes back the same. Floats are left out:
    // serde_json without `float_roundtrip` may read a decimal one ulp off (the first run found
    // 6.666666666666665e52), and no admin body carries a float.
    if !has_float(&value) {
        let again: Value = serde_json::from_str(&value.to_string()).expect("re-encoded JSON parses");
        assert_eq!(again, value);
    }
    let Value::Object(object) = &value else {
        assert!(json_body::<TenantSettings>(body).is_none(), "a non-object body was accepted");
        return;
    };

    if let Some(settings) = json_body::<TenantSettings>(body) {
        check_settings(&settings, object);
    }
    // PATCH: the changes are laid over the current settings, then read as a whole.
    let mut merged = match serde_json::to_value(TenantSettings::default()) {
        Ok(Value::Object(m)) => m,
        other => panic!("settings are not an object: {other:?}"),
    };
    merged.extend(object.clone());
    if let Ok(settings) = serde_json::from_value::<TenantSettings>(Value::Object(merged)) {
        check_settings(&settings, object);
    }

    if let Some(address) = json_body::<Address>(body) {
        let known = ["formatted", "street_address", "locality", "region", "postal_code", "country"];
        assert!(object.keys().all(|k| known.contains(&k.as_str())), "unknown address member: {object:?}");
        round_trips(&address);
        if let Some(Value::String(s)) = object.get("locality") {
            assert_eq!(address.locality.as_deref(), Some(s.as_str()));
        }
    }
});

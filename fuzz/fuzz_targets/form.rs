//! Form decoding (`tessera_core::form`): any bytes either are refused or decode to at most
//! `MAX_PARAMS` distinct names whose canonical re-encoding decodes to the same pairs; the
//! strict and the first-value parsers agree wherever nothing is repeated.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::error::Reason;
use tessera_core::form::{Form, MAX_BODY_BYTES, MAX_PARAMS};

/// Percent-encodes every byte outside the unreserved set (the encoder a client would use).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fuzz_target!(|body: &[u8]| {
    let strict = Form::parse(body);
    let first = Form::parse_first(body);
    if body.len() > MAX_BODY_BYTES {
        assert!(strict.is_err() && first.is_err(), "an oversized body was read");
        return;
    }
    match (&strict, &first) {
        (Ok(form), Ok((first_form, repeated))) => {
            assert!(repeated.is_empty(), "the strict parser accepted a repeat");
            let pairs: Vec<(&str, &str)> = form.pairs().collect();
            assert_eq!(pairs, first_form.pairs().collect::<Vec<_>>());
            assert!(pairs.len() <= MAX_PARAMS, "{} parameters kept", pairs.len());
            for (i, (name, value)) in pairs.iter().enumerate() {
                assert!(pairs[..i].iter().all(|(n, _)| n != name), "{name:?} kept twice");
                assert_eq!(form.get(name), Some(*value).filter(|v| !v.is_empty()));
            }
            let again: Vec<String> =
                pairs.iter().map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect();
            let again = again.join("&");
            // Re-encoding may grow the body past the limit; only a body within it must round-trip.
            if again.len() <= MAX_BODY_BYTES {
                let back = Form::parse(again.as_bytes()).expect("a canonical encoding of a form decodes");
                assert_eq!(back.pairs().collect::<Vec<_>>(), pairs, "{again}");
            }
        }
        (Err(e), Ok((first_form, repeated))) => {
            // Only a repeat separates the two parsers.
            assert_eq!(e.reason, Reason::RepeatedParameter, "{e:?}");
            assert!(!repeated.is_empty(), "refused for a repeat that parse_first did not see");
            let names: Vec<&str> = first_form.pairs().map(|(n, _)| n).collect();
            for r in repeated {
                assert!(names.contains(&r.as_str()), "repeat {r:?} is not a kept name");
            }
        }
        (Ok(_), Err(e)) => panic!("parse_first refused what parse accepted: {e:?}"),
        (Err(a), Err(b)) => {
            assert!(
                matches!(
                    a.reason,
                    Reason::MalformedBody | Reason::TooManyParameters | Reason::RepeatedParameter
                ),
                "{a:?}"
            );
            assert!(matches!(b.reason, Reason::MalformedBody | Reason::TooManyParameters), "{b:?}");
        }
    }
});

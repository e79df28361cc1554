//! `GET /metrics`, `--metrics-listen`, `/readyz`: the series exist with the right labels,
//! counts move by exactly what was done, the text parses as Prometheus text, and no label
//! carries a token, a secret or anything a client put in a path.

mod common;

use std::collections::BTreeMap;

use common::{Backend, Options, TestServer, both_backends, random_string};

/// A parsed scrape: each sample `name{labels}` (as written) and its value.
struct Scrape {
    text: String,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    /// The value of `series` (`name{labels}` exactly as written), 0 when absent.
    fn value(&self, series: &str) -> f64 {
        self.samples.get(series).copied().unwrap_or(0.0)
    }

    fn has(&self, series: &str) -> bool {
        self.samples.contains_key(series)
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Checks `text` line by line against the OpenMetrics text format Tessera writes (metadata
/// lines, then samples `name{label="value",...} number`, `# EOF` last) and returns its samples.
/// Panics, naming the line, on anything else.
fn parse(text: &str) -> Scrape {
    let mut samples = BTreeMap::new();
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "a scrape ends with # EOF");
    for line in &lines[..lines.len() - 1] {
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            assert!(matches!(kind, "HELP" | "TYPE" | "UNIT"), "metadata line: {line}");
            assert!(is_name(name), "metric name in: {line}");
            if kind == "TYPE" {
                let t = parts.next().unwrap_or("");
                assert!(
                    matches!(t, "counter" | "gauge" | "histogram" | "unknown" | "info"),
                    "type in: {line}"
                );
                assert!(typed.insert(name.to_owned(), t.to_owned()).is_none(), "one TYPE per family: {line}");
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a sample: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("a number in: {line}")),
        };
        let name = series.split('{').next().unwrap_or("");
        assert!(is_name(name), "sample name in: {line}");
        if let Some(labels) = series.strip_prefix(name)
            && !labels.is_empty()
        {
            let inner = labels.strip_prefix('{').and_then(|l| l.strip_suffix('}'));
            let inner = inner.unwrap_or_else(|| panic!("labels in braces: {line}"));
            for pair in inner.split("\",") {
                let (key, val) = pair.split_once("=\"").unwrap_or_else(|| panic!("label in: {line}"));
                assert!(is_name(key), "label name in: {line}");
                assert!(!val.trim_end_matches('"').contains('"'), "label value in: {line}");
            }
        }
        let family = typed
            .keys()
            .filter(|f| name.starts_with(f.as_str()))
            .max_by_key(|f| f.len())
            .unwrap_or_else(|| panic!("a sample of a typed family: {line}"));
        assert!(name == family || name.len() > family.len(), "{line}");
        assert!(samples.insert(series.to_owned(), value).is_none(), "one sample per series: {line}");
    }
    let scrape = Scrape { text: text.to_owned(), samples };
    check_histograms(&scrape);
    scrape
}

/// Every histogram series: buckets never decrease and `+Inf` equals `_count`.
fn check_histograms(scrape: &Scrape) {
    for (series, count) in scrape.samples.iter().filter(|(s, _)| s.contains("_count")) {
        let (name, labels) = series.split_once("_count").unwrap_or_default();
        let inner = labels.trim_start_matches('{').trim_end_matches('}');
        let prefix =
            if inner.is_empty() { format!("{name}_bucket{{") } else { format!("{name}_bucket{{{inner},") };
        let buckets: Vec<f64> =
            scrape.samples.iter().filter(|(s, _)| s.starts_with(&prefix)).map(|(_, v)| *v).collect();
        if buckets.is_empty() {
            continue; // a counter's `_count` would not get here; only histograms have buckets
        }
        let inf = scrape.value(&format!("{prefix}le=\"+Inf\"}}"));
        assert_eq!(inf, *count, "{series}: +Inf bucket");
        assert!(buckets.iter().all(|b| *b <= *count), "{series}: buckets within the count");
    }
}

async fn scrape(server: &TestServer) -> Scrape {
    let reply = server.get("/metrics").await;
    reply.expect_status(200, "scrape");
    assert!(
        reply.header("content-type").is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "content type {:?}",
        reply.header("content-type")
    );
    parse(&reply.text)
}

const TOKEN_200: &str = r#"tessera_http_request_duration_seconds_count{endpoint="token",status="200"}"#;
const TOKEN_401: &str = r#"tessera_http_request_duration_seconds_count{endpoint="token",status="401"}"#;
const INTROSPECT_200: &str =
    r#"tessera_http_request_duration_seconds_count{endpoint="introspect",status="200"}"#;
const NOT_FOUND: &str = r#"tessera_http_request_duration_seconds_count{endpoint="not_found",status="404"}"#;
const ISSUED_CC_JWT: &str =
    r#"tessera_tokens_issued_total{grant="client_credentials",token="access",format="jwt"}"#;
const SIGNED_ES384: &str = r#"tessera_signer_sign_duration_seconds_count{alg="ES384"}"#;

#[tokio::test]
async fn a_scrape_counts_what_was_done_and_names_no_secret() {
    let server = TestServer::start(Backend::Software).await;
    let (id, secret) = server.cc_client("default", "api:read").await;
    let before = scrape(&server).await;

    let token = server.cc_token("default", &id, &secret).await;
    server.introspect("default", &id, &secret, &token).await.expect_status(200, "introspection");
    let wrong =
        server.token_basic("default", &id, "not-the-secret", &[("grant_type", "client_credentials")]).await;
    wrong.expect_status(401, "a wrong secret");
    let planted = random_string();
    server.get(&format!("/t/default/{planted}")).await.expect_status(404, "an unknown path");
    server.get(&format!("/{planted}/x")).await.expect_status(404, "another unknown path");
    let after = scrape(&server).await;

    let moved = |series: &str| after.value(series) - before.value(series);
    assert_eq!(moved(TOKEN_200), 1.0, "one token issued");
    assert_eq!(moved(TOKEN_401), 1.0, "one token refused");
    assert_eq!(moved(INTROSPECT_200), 1.0, "one introspection");
    assert_eq!(moved(NOT_FOUND), 2.0, "two unknown paths");
    assert_eq!(moved(ISSUED_CC_JWT), 1.0, "one JWT access token issued");
    assert_eq!(moved(SIGNED_ES384), 1.0, "one ES384 signature");
    assert_eq!(
        moved(r#"tessera_http_request_duration_seconds_count{endpoint="metrics",status="200"}"#),
        1.0,
        "the first scrape"
    );
    for series in [
        r#"tessera_tokens_issued_total{grant="authorization_code",token="refresh",format="opaque"}"#,
        r#"tessera_refusals_total{limit="connections"}"#,
        r#"tessera_refusals_total{limit="connections_per_address"}"#,
        r#"tessera_refusals_total{limit="login_attempts_per_address"}"#,
        r#"tessera_refusals_total{limit="login_attempts_per_user_at_address"}"#,
        r#"tessera_refusals_total{limit="password_work"}"#,
        r#"tessera_cache_lookups_total{cache="clients",result="hit"}"#,
        r#"tessera_cache_lookups_total{cache="tenants",result="hit"}"#,
        r#"tessera_cache_lookups_total{cache="opaque_tokens",result="miss"}"#,
        r#"tessera_cache_lookups_total{cache="verified_jwts",result="hit"}"#,
        "tessera_signer_queue_depth",
        "tessera_store_commit_duration_seconds_count",
        "tessera_store_commit_writes_count",
        "tessera_store_writable",
    ] {
        assert!(after.has(series), "{series} is scraped");
    }
    assert_eq!(after.value("tessera_store_writable"), 1.0);
    assert!(after.value("tessera_connections_open") >= 1.0, "this scrape's own connection is open");
    assert!(after.value("tessera_store_commit_writes_count") >= 1.0, "the client's creation was committed");
    // The token request and the introspection each found the tenant and the client in memory.
    let hits = |cache: &str| format!(r#"tessera_cache_lookups_total{{cache="{cache}",result="hit"}}"#);
    assert!(moved(&hits("clients")) >= 2.0 && moved(&hits("tenants")) >= 2.0);

    for secret_like in [token.as_str(), secret.as_str(), id.as_str(), planted.as_str(), "not-the-secret"] {
        assert!(!after.text.contains(secret_like), "the scrape must not carry {secret_like}");
    }
}

#[tokio::test]
async fn metrics_listen_serves_the_scrape_on_its_own_address_only() {
    let mut options = Options::new(Backend::Software);
    options.extra_args = vec!["--metrics-listen".into(), "127.0.0.1:0".into()];
    let server = TestServer::start_with(options).await;
    let printed = server.stdout.lock().expect("stdout").clone();
    let url = printed
        .lines()
        .find_map(|l| l.strip_prefix("metrics on "))
        .unwrap_or_else(|| panic!("the metrics address is printed: {printed}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/metrics"), "{url}");
    let http = reqwest::Client::new();
    let reply = http.get(&url).send().await.expect("scrape");
    assert_eq!(reply.status(), 200);
    let scrape = parse(&reply.text().await.expect("body"));
    assert!(scrape.has("tessera_connections_open"));
    let elsewhere = url.trim_end_matches("/metrics").to_owned() + "/healthz";
    assert_eq!(http.get(&elsewhere).send().await.expect("get").status(), 404, "only /metrics there");
    server.get("/metrics").await.expect_status(404, "/metrics on the main address");
    server.get("/healthz").await.expect_status(200, "health stays on the main address");
}

/// Ready only when the store and the signer answer: with software keys and through the
/// PKCS#11 session pool.
async fn ready_when_store_and_signer_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ready = server.get("/readyz").await;
    ready.expect_status(200, "readiness");
    assert_eq!(ready.text, "ready");
    let scrape = scrape(&server).await;
    assert_eq!(scrape.value("tessera_signer_queue_depth"), 0.0, "nothing waits for the signer");
}

both_backends!(ready_when_store_and_signer_answer);

#[test]
fn the_parser_refuses_what_is_not_prometheus_text() {
    for bad in ["x 1\n", "# TYPE a counter\na{b=c} 1\n# EOF\n", "# TYPE a gauge\na one\n# EOF\n"] {
        assert!(std::panic::catch_unwind(|| parse(bad)).is_err(), "{bad:?}");
    }
}

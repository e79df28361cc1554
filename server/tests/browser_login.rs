//! End-user flows in a real headless browser (Chromium through chromedriver, see
//! `common/browser.rs`) against the real binary.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::Browser;
use common::{Backend, TestServer};
use serde_json::Value;

/// The browser opens a tenant's discovery document and shows the tenant's issuer; a page
/// outside loopback is refused by the harness's network guard.
#[tokio::test]
async fn browser_reads_discovery() {
    let server = TestServer::start(Backend::Software).await;
    let browser = Browser::start().await;
    let issuer = server.issuer("default");

    browser.goto(&format!("{issuer}/.well-known/openid-configuration")).await;
    let text = browser.text("body").await;
    let start = text.find('{').unwrap_or_else(|| panic!("no JSON object in the page text: {text}"));
    let end = text.rfind('}').map_or(text.len(), |i| i + 1);
    let doc: Value = serde_json::from_str(&text[start..end])
        .unwrap_or_else(|e| panic!("the page text is not the JSON document ({e}): {text}"));
    assert_eq!(doc["issuer"].as_str(), Some(issuer.as_str()), "issuer shown in the browser: {text}");

    // The guard: a navigation off loopback never leaves the machine (the proxy refuses it).
    let outside = "http://192.0.2.1/tessera-browser-guard";
    let _ = browser.client.goto(outside).await;
    assert!(
        browser.blocked().iter().any(|line| line.contains("192.0.2.1")),
        "the request to {outside} did not go to the refusing proxy; it saw {:?}",
        browser.blocked()
    );
    assert!(!browser.has("#callback").await);

    browser.close().await;
    server.assert_alive();
}

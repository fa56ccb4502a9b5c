//! A table of hostile inputs against a running server: each gets a clear
//! error or safe handling, never a 5xx or a panic, and nothing half-stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Db, Server, Upstream, client};
use serde_json::json;

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
    /// Acceptable statuses.
    expect: &'static [u16],
}

fn billion_laughs() -> Vec<u8> {
    let mut s = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        s.push_str(&format!(
            " <!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    s.push_str("]>\n<rss version=\"2.0\"><channel><title>&lol9;</title><item><title>&lol9;</title><description>&lol9;</description></item></channel></rss>");
    s.into_bytes()
}

fn yaml_alias_bomb() -> String {
    let mut s = String::from(
        "title: bomb\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\nlogsource: {product: windows}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..12 {
        let p = i - 1;
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    s.push_str("detection:\n  sel:\n    CommandLine: *a11\n  condition: sel\n");
    s
}

fn cases() -> Vec<Case> {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let big_string = format!(
        "{{\"type\":\"bundle\",\"id\":\"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d\",\"objects\":[{{\"type\":\"x-custom\",\"id\":\"x-custom--5d0092c5-5f74-4287-9642-33f4c354e56d\",\"blob\":\"{}\"}}]}}",
        "A".repeat(50 << 20)
    );
    let json = "application/json";
    let sigma = |content: String| {
        serde_json::to_vec(&json!({"language": "sigma", "content": content})).unwrap()
    };
    vec![
        Case { name: "billion laughs XML feed", method: "POST", path: "/api/pipeline/import/feed", content_type: "application/rss+xml", body: billion_laughs(), headers: vec![], expect: &[201, 400, 422] },
        Case { name: "YAML alias bomb in Sigma", method: "POST", path: "/api/pipeline/rules/validate", content_type: json, body: sigma(yaml_alias_bomb()), headers: vec![], expect: &[200] },
        Case { name: "100k-deep JSON nesting", method: "POST", path: "/api/pipeline/import/stix", content_type: json, body: deep.clone().into_bytes(), headers: vec![], expect: &[400, 422] },
        Case { name: "100k-deep JSON in a JSON API body", method: "POST", path: "/api/pipeline/observables", content_type: json, body: deep.into_bytes(), headers: vec![], expect: &[400, 422] },
        Case { name: "50 MB single string", method: "POST", path: "/api/pipeline/import/stix", content_type: json, body: big_string.into_bytes(), headers: vec![], expect: &[201, 422] },
        Case { name: "invalid UTF-8", method: "POST", path: "/api/pipeline/import/stix", content_type: json, body: b"{\"type\":\"bundle\",\"objects\":[\"\xff\xfe\"]}".to_vec(), headers: vec![], expect: &[400, 422] },
        Case { name: "invalid UTF-8 in a feed", method: "POST", path: "/api/pipeline/import/feed", content_type: "application/xml", body: b"<rss version=\"2.0\"><channel><title>\xff</title><item><title>x\xfe</title></item></channel></rss>".to_vec(), headers: vec![], expect: &[201, 400, 422] },
        Case { name: "NUL bytes", method: "POST", path: "/api/pipeline/import/misp", content_type: json, body: b"{\"Event\":{\"info\":\"a\x00b\",\"Attribute\":[]}}".to_vec(), headers: vec![], expect: &[400, 422] },
        Case { name: "NUL escaped in JSON", method: "POST", path: "/api/pipeline/import/misp", content_type: json, body: br#"{"Event":{"info":"nul \u0000 inside","Attribute":[{"type":"ip-dst","value":"198.51.100.3\u0000"}]}}"#.to_vec(), headers: vec![], expect: &[201, 422] },
        Case { name: "spoofed identity headers in local mode are ignored", method: "GET", path: "/api/pipeline/me", content_type: json, body: vec![], headers: vec![("X-Auth-User", "admin".into()), ("X-Auth-Roles", "admin".into())], expect: &[200] },
        Case { name: "header injection in a source URL", method: "POST", path: "/api/pipeline/sources", content_type: json, body: serde_json::to_vec(&json!({"url": "http://feeds.example.org/x\r\nX-Auth-User: admin", "kind": "rss", "interval_minutes": 5, "enabled": true})).unwrap(), headers: vec![], expect: &[422] },
        Case { name: "SSRF 127.0.0.1", method: "POST", path: "/api/pipeline/sources", content_type: json, body: source("http://127.0.0.1:8080/feed"), headers: vec![], expect: &[422] },
        Case { name: "SSRF cloud metadata", method: "POST", path: "/api/pipeline/sources", content_type: json, body: source("http://169.254.169.254/latest/meta-data/"), headers: vec![], expect: &[422] },
        Case { name: "SSRF IPv4-mapped IPv6", method: "POST", path: "/api/pipeline/sources", content_type: json, body: source("http://[::ffff:10.0.0.1]/feed"), headers: vec![], expect: &[422] },
        Case { name: "SSRF decimal-encoded IP", method: "POST", path: "/api/pipeline/sources", content_type: json, body: source("http://2130706433/feed"), headers: vec![], expect: &[422] },
        Case { name: "SSRF octal/hex-encoded IP", method: "POST", path: "/api/pipeline/sources", content_type: json, body: source("http://0x7f.0.0.01/feed"), headers: vec![], expect: &[422] },
        Case { name: "SSRF name resolving to private space", method: "POST", path: "/api/pipeline/sources", content_type: json, body: source("http://localhost/feed"), headers: vec![], expect: &[422] },
        Case { name: "SSRF NAT64 of loopback", method: "POST", path: "/api/pipeline/sources", content_type: json, body: source("http://[64:ff9b::7f00:1]/feed"), headers: vec![], expect: &[422] },
        Case { name: "non-http scheme", method: "POST", path: "/api/pipeline/sources", content_type: json, body: source("gopher://example.org/"), headers: vec![], expect: &[422] },
        Case { name: "huge limit", method: "GET", path: "/api/pipeline/intake?limit=99999999999", content_type: json, body: vec![], headers: vec![], expect: &[400] },
        Case { name: "negative id", method: "GET", path: "/api/pipeline/reports/-1", content_type: json, body: vec![], headers: vec![], expect: &[404] },
        Case { name: "id overflow", method: "GET", path: "/api/pipeline/reports/99999999999999999999999", content_type: json, body: vec![], headers: vec![], expect: &[400] },
    ]
}

fn source(url: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"url": url, "kind": "rss", "interval_minutes": 5, "enabled": true}))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_inputs_get_clear_answers_and_store_nothing_partial() {
    let db = Db::sqlite();
    let store = db.open().await;
    let s = Server::start(store.clone(), &[("SCHEDULER_ENABLED", "false")]).await;
    let c = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut report = Vec::new();
    for case in cases() {
        let before = store.intake(&Default::default()).await.unwrap().total;
        let t = Instant::now();
        let mut rb = c
            .request(case.method.parse().unwrap(), s.url(case.path))
            .header("content-type", case.content_type);
        for (k, v) in &case.headers {
            rb = rb.header(*k, v);
        }
        if case.method != "GET" {
            rb = rb.body(case.body.clone());
        }
        let r = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        report.push(format!("{:<50} {status} in {:?}", case.name, t.elapsed()));
        assert!(
            case.expect.contains(&status),
            "{}: {status} {body}",
            case.name
        );
        if status >= 400 {
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{}: {body}",
                case.name
            );
            let after = store.intake(&Default::default()).await.unwrap().total;
            assert_eq!(
                before, after,
                "{}: a refused input stored something",
                case.name
            );
        }
        if case.name == "YAML alias bomb in Sigma" {
            assert_eq!(body["status"], "invalid", "{body}");
        }
        if case.name.starts_with("billion laughs") && status == 201 {
            // Nothing expanded: stored text stays small.
            let page = store.intake(&Default::default()).await.unwrap();
            for item in page.items {
                let d = store.report(item.id).await.unwrap().unwrap();
                assert!(d.report.content.len() < 10_000 && d.report.summary.title.len() < 10_000);
            }
        }
    }
    eprintln!("{}", report.join("\n"));
    // The server still answers.
    assert_eq!(
        c.get(s.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    store.close().await;
}

#[tokio::test]
async fn hostile_bodies_over_the_limit_and_scripts_in_content() {
    let db = Db::sqlite();
    let store = db.open().await;
    let s = Server::start(store.clone(), &[("MAX_BODY_BYTES", "65536")]).await;
    let c = client();
    let r = c
        .post(s.url("/api/pipeline/import/stix"))
        .header("content-type", "application/json")
        .body(vec![b' '; 1 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    // HTML and script in report content are stored and served as data.
    let feed = common::feed_xml(&[(
        "&lt;img src=x onerror=alert(1)&gt;",
        "https://x.example.org/p",
        "&lt;script&gt;alert(1)&lt;/script&gt; C2 198.51.100.9",
    )]);
    let r = c
        .post(s.url("/api/pipeline/import/feed"))
        .header("content-type", "application/rss+xml")
        .body(feed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    // Markup that is not even XML is refused with its position.
    let bad = common::feed_xml(&[(
        "<img src=x onerror=alert(1)>",
        "https://x.example.org/q",
        "",
    )]);
    let r2 = c
        .post(s.url("/api/pipeline/import/feed"))
        .header("content-type", "application/rss+xml")
        .body(bad)
        .send()
        .await
        .unwrap();
    let status = r2.status().as_u16();
    let e: serde_json::Value = r2.json().await.unwrap();
    assert!(status == 400 || status == 422, "{status} {e}");
    assert!(e["error"]["message"].is_string());
    let r = c
        .get(s.url(&format!("/api/pipeline/reports/{}", v["report_ids"][0])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let d: serde_json::Value = r.json().await.unwrap();
    // Feed titles and descriptions are HTML: they are reduced to text, so no
    // markup survives into what the page shows (which inserts text anyway).
    for field in ["title", "content"] {
        let text = d[field].as_str().unwrap();
        assert!(
            !text.contains("<img") && !text.contains("<script"),
            "{field}: {text}"
        );
    }
    assert!(d["content"].as_str().unwrap().contains("198.51.100.9"));
    store.close().await;
}

#[tokio::test]
async fn redirects_into_private_space_are_blocked() {
    let up = Upstream::start().await;
    let db = Db::sqlite();
    let store = db.open().await;
    // The feed host itself is allowed (listed), the redirect target is not.
    let s = Server::start(store.clone(), &[("FETCH_ALLOWED_CIDRS", "127.0.0.1/32")]).await;
    let c = client();
    let (st, src) = common::post(&c, &s.url("/api/pipeline/sources"), json!({"url": up.url("/redirect-metadata"), "kind": "rss", "interval_minutes": 5, "enabled": false})).await;
    assert_eq!(st, 201, "{src}");
    let (_, run) = common::post(
        &c,
        &s.url(&format!("/api/pipeline/sources/{}/run", src["id"])),
        json!({}),
    )
    .await;
    assert_eq!(run["status"], "blocked", "{run}");
    assert_eq!(store.intake(&Default::default()).await.unwrap().total, 0);
    store.close().await;
}

#[tokio::test]
async fn a_feed_server_that_resets_connections_fails_the_run_cleanly() {
    // Accept and close at once, before any HTTP response.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..20 {
            let Ok((sock, _)) = listener.accept().await else {
                break;
            };
            drop(sock);
        }
    });
    let db = Db::sqlite();
    let store = db.open().await;
    let s = Server::start(store.clone(), &[("FETCH_ALLOWED_CIDRS", "127.0.0.1/32")]).await;
    let c = client();
    let (st, src) = common::post(&c, &s.url("/api/pipeline/sources"), json!({"url": format!("http://{addr}/feed.xml"), "kind": "rss", "interval_minutes": 5, "enabled": false})).await;
    assert_eq!(st, 201, "{src}");
    let (st, run) = common::post(
        &c,
        &s.url(&format!("/api/pipeline/sources/{}/run", src["id"])),
        json!({}),
    )
    .await;
    assert_eq!(st, 200);
    assert!(
        matches!(run["status"].as_str(), Some("connect" | "http")),
        "{run}"
    );
    assert!(run["error"].is_string());
    assert_eq!(store.intake(&Default::default()).await.unwrap().total, 0);
    store.close().await;
}

//! `threatmapper serve`, `collect` and `enrich` as processes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Start `threatmapper serve` on an ephemeral port; returns the child and its base URL.
fn serve(db: &str, extra: &[(&str, &str)]) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_threatmapper"));
    cmd.args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", db)
        .env("SCHEDULER_ENABLED", "false")
        .env_remove("AUTH_ENABLED")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    (child, base)
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_and_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let (mut child, base) = serve(&db, &[]);
    let c = common::client();
    let (st, h) = common::get(&c, &format!("{base}/healthz")).await;
    assert_eq!((st, h["status"].as_str()), (200, Some("ok")));
    assert_eq!(common::get(&c, &format!("{base}/readyz")).await.0, 200);
    let page = c.get(format!("{base}/")).send().await.unwrap();
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );

    // A long import is in flight when SIGTERM arrives: it completes.
    let mut feed = String::from("<rss version=\"2.0\"><channel><title>t</title>");
    for i in 0..40_000 {
        feed.push_str(&format!("<item><title>Item {i}</title><link>https://e.example/{i}</link><description>10.{}.{}.9</description></item>", i / 250, i % 250));
    }
    feed.push_str("</channel></rss>");
    let url = format!("{base}/api/pipeline/import/feed");
    let inflight = tokio::spawn({
        let c = c.clone();
        async move {
            c.post(url)
                .header("content-type", "application/rss+xml")
                .body(feed)
                .send()
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    sigterm(&child);
    let resp = inflight
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert_eq!(resp.status().as_u16(), 201);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["reports"], 40_000);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn serve_refuses_public_bind_in_local_mode_and_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_threatmapper"))
        .args(["serve", "--bind", "0.0.0.0:0"])
        .env("DATABASE_URL", &db)
        .env_remove("AUTH_ENABLED")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-unauthenticated-remote"));
    let out = Command::new(env!("CARGO_BIN_EXE_threatmapper"))
        .args(["serve"])
        .env("DATABASE_URL", &db)
        .env("AUTH_ENABLED", "true")
        .env("AUTH_TRUSTED_PROXIES", "0.0.0.0/0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AUTH_TRUSTED_PROXIES"));
}

#[tokio::test(flavor = "multi_thread")]
async fn collect_and_enrich_commands() {
    let up = common::Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    let store = threatmapper_store::Store::open(&db).await.unwrap();
    let src = store
        .create_source(
            &threatmapper_store::NewSource {
                url: up.url("/feed.xml"),
                kind: threatmapper_store::SourceKind::Rss,
                name: None,
                interval_minutes: 5,
                enabled: true,
            },
            &threatmapper_store::Actor::new("t", &["admin"]),
        )
        .await
        .unwrap();
    store.close().await;
    let run = |args: Vec<String>| {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_threatmapper"))
                .args(&args)
                .args(["--db", &db])
                .env("FETCH_ALLOW_PRIVATE_NETWORKS", "true")
                .output()
                .unwrap()
        })
    };
    let out = run(vec!["collect".into(), "--all-due".into()])
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"][0]["source_id"], src.id);
    assert_eq!(
        (
            v["runs"][0]["status"].as_str(),
            v["runs"][0]["new"].as_i64()
        ),
        (Some("ok"), Some(2))
    );
    let out = run(vec![
        "collect".into(),
        "--all-due".into(),
        "--format".into(),
        "text".into(),
    ])
    .await
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no source was due\n");
    let out = run(vec![
        "collect".into(),
        "--source".into(),
        src.id.to_string(),
    ])
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"][0]["status"], "not_modified");
    assert_eq!(
        run(vec!["collect".into()]).await.unwrap().status.code(),
        Some(2),
        "--source or --all-due required"
    );

    // Enrichment against the local RDAP server.
    let mut args: Vec<String> = ["enrich", "--kind", "ipv4", "--value", "198.51.100.20"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = {
        let db = db.clone();
        let rdap = up.url("/rdap/");
        args.extend(["--db".to_owned(), db]);
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_threatmapper"))
                .args(&args)
                .env("FETCH_ALLOW_PRIVATE_NETWORKS", "true")
                .env("RDAP_BASE_URL", rdap)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (e["provider"].as_str(), e["status"].as_str()),
        (Some("rdap"), Some("ok"))
    );
}

//! Faults under load: the database connections are killed mid-load
//! (PostgreSQL backends terminated) — requests fail with a clear 503 and the
//! server recovers without a restart; nothing acknowledged is lost and
//! nothing is stored twice. A full disk is simulated on SQLite with
//! `max_page_count`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Server, client, pg_url};

fn feed(i: usize) -> String {
    common::feed_xml(&[(
        &format!("Fault load report {i}"),
        &format!("https://faults.example.org/{i}"),
        &format!("C2 10.9.{}.{}", i / 250, i % 250),
    )])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_mid_load_gives_503_then_recovers() {
    let Some(url) = pg_url() else {
        eprintln!("note: skipped (TEST_POSTGRES_URL not set)");
        return;
    };
    // A role and schema of its own, so the outage touches nothing else: the
    // role's connections are refused (connection limit 0) and its running
    // backends terminated, as when the server goes away.
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (role, schema) = (format!("tm_fault_role_{id}"), format!("tm_fault_{id}"));
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let admin2 = admin.clone();
    let exec = move |sql: String| {
        let admin = admin2.clone();
        async move {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&admin)
                .await
                .unwrap()
        }
    };
    let database = url::Url::parse(&url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_owned();
    exec(format!(
        "CREATE ROLE {role} LOGIN; CREATE SCHEMA {schema} AUTHORIZATION {role}; GRANT CREATE ON DATABASE \"{database}\" TO {role};"
    ))
    .await;
    let mut role_url = url::Url::parse(&url).unwrap();
    role_url.set_username(&role).unwrap();
    let _ = role_url.set_password(None);
    let mut opts = threatmapper_store::StoreOptions::new(role_url.as_str());
    opts.postgres_schema = Some(schema.clone());
    opts.acquire_timeout = Duration::from_millis(400);
    let store = threatmapper_store::Store::open_with(opts).await.unwrap();
    let s = Server::start(store.clone(), &[("SCHEDULER_ENABLED", "false")]).await;
    let c = client();

    let outage = {
        let exec = exec.clone();
        let role = role.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            exec(format!("ALTER ROLE {role} CONNECTION LIMIT 0; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}';")).await;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            exec(format!("ALTER ROLE {role} CONNECTION LIMIT -1;")).await;
        })
    };
    let deadline = Instant::now() + Duration::from_millis(3500);
    let mut i = 0usize;
    let (mut ok, mut unavailable, mut acknowledged) = (0, 0, HashSet::new());
    while Instant::now() < deadline {
        let r = c
            .post(s.url("/api/pipeline/import/feed"))
            .header("content-type", "application/rss+xml")
            .body(feed(i))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let retry_after = r.headers().get("retry-after").is_some();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        match status {
            201 => {
                ok += 1;
                acknowledged.insert(format!("Fault load report {i}"));
            }
            503 => {
                unavailable += 1;
                assert_eq!(body["error"]["code"], "unavailable", "{body}");
                assert!(retry_after, "503 carries Retry-After");
            }
            other => panic!("import {i}: {other} {body}"),
        }
        let r = c
            .get(s.url("/api/pipeline/intake?limit=5&q=Fault"))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 200 | 503),
            "read: {}",
            r.status()
        );
        i += 1;
    }
    outage.await.unwrap();
    assert!(unavailable > 0, "the outage produced no 503");
    // Recovered without a restart.
    let mut ready = false;
    for _ in 0..50 {
        if c.get(s.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
            == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the server did not recover");
    let r = c
        .post(s.url("/api/pipeline/import/feed"))
        .header("content-type", "application/rss+xml")
        .body(feed(1_000_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "imports work again");
    acknowledged.insert("Fault load report 1000000".to_owned());

    // Nothing acknowledged is lost, nothing is stored twice.
    let mut stored = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .intake(&threatmapper_store::IntakeQuery {
                limit: Some(500),
                cursor: cursor.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        stored.extend(page.items.into_iter().map(|r| r.title));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "a report was stored twice");
    for t in &acknowledged {
        assert!(unique.contains(t), "acknowledged import lost: {t}");
    }
    eprintln!(
        "imports: {ok} acknowledged, {unavailable} answered 503 during the outage; {} stored in all",
        stored.len()
    );
    assert!(store.verify_audit_chain().await.unwrap().ok);
    drop(s);
    store.close().await;
    exec(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'; DROP SCHEMA {schema} CASCADE; REVOKE CREATE ON DATABASE \"{database}\" FROM {role}; DROP ROLE {role};")).await;
    admin.close().await;
}

#[tokio::test]
async fn a_full_disk_gives_a_clear_error_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.db");
    let url = format!("sqlite://{}", path.display());
    let store = threatmapper_store::Store::open(&url).await.unwrap();
    let s = Server::start(store.clone(), &[]).await;
    let c = client();
    let r = c
        .post(s.url("/api/pipeline/import/feed"))
        .header("content-type", "application/rss+xml")
        .body(feed(1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    // Cap the file at its current size: the next large write fails like a full disk.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    drop(s);
    store.close().await;
    let mut opts = threatmapper_store::StoreOptions::new(&url);
    opts.sqlite_pragmas = vec![("max_page_count".into(), (pages + 2).to_string())];
    let store = threatmapper_store::Store::open_with(opts).await.unwrap();
    let s = Server::start(store.clone(), &[]).await;
    let items: Vec<(String, String, String)> = (0..400)
        .map(|i| {
            (
                format!("Big report {i}"),
                format!("https://big.example.org/{i}"),
                "x ".repeat(2000),
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    let r = c
        .post(s.url("/api/pipeline/import/feed"))
        .header("content-type", "application/rss+xml")
        .body(common::feed_xml(&refs))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    eprintln!("{status} {body}");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "write_refused");
    assert_eq!(
        store.intake(&Default::default()).await.unwrap().total,
        1,
        "nothing of the refused import stored"
    );
    store.close().await;
}

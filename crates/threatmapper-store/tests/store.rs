//! Store behaviour on SQLite always and on PostgreSQL when `TEST_POSTGRES_URL`
//! (or a `postgres://` `DATABASE_URL`) is set. Every test gets its own SQLite
//! file or PostgreSQL schema, dropped afterwards, so tests run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::time::Duration;

use threatmapper_core::{ObservableKind, Origin, ReportDraft};
use threatmapper_store::{
    Actor, AuditQuery, Backend, Error, IngestContext, IntakeQuery, IntakeStatus, NewAuditEvent,
    NewEnrichment, NewRule, NewSource, ObservableQuery, RunRecord, SourceKind, SourceUpdate, Store,
    StoreOptions,
};

/// The PostgreSQL server for tests, if configured.
fn pg_url() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

/// A database for one test; dropped (schema removed) by `cleanup`.
struct TestDb {
    store: Store,
    url: String,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        TestDb {
            store: Store::open(&url).await.unwrap(),
            url,
            schema: None,
            _dir: Some(dir),
        }
    }

    async fn postgres(url: &str) -> TestDb {
        let schema = format!("tm_test_{}", uuid::Uuid::new_v4().simple());
        TestDb {
            store: open_pg(url, &schema).await,
            url: url.to_owned(),
            schema: Some(schema),
            _dir: None,
        }
    }

    /// A second store on the same database (another server replica).
    async fn replica(&self) -> Store {
        match &self.schema {
            Some(s) => open_pg(&self.url, s).await,
            None => Store::open(&self.url).await.unwrap(),
        }
    }

    async fn cleanup(self) {
        self.store.close().await;
        if let Some(schema) = &self.schema {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }

    /// Run raw SQL on this test's database (to tamper or to inject faults).
    async fn raw(&self, sql_sqlite: &str, sql_pg: &str) -> Result<(), sqlx::Error> {
        match &self.schema {
            Some(schema) => {
                let opts: sqlx::postgres::PgConnectOptions = self.url.parse().unwrap();
                let pool =
                    sqlx::PgPool::connect_with(opts.options([("search_path", schema.as_str())]))
                        .await
                        .unwrap();
                let r = sqlx::raw_sql(sqlx::AssertSqlSafe(sql_pg.to_owned()))
                    .execute(&pool)
                    .await;
                pool.close().await;
                r.map(|_| ())
            }
            None => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
                let r = sqlx::raw_sql(sqlx::AssertSqlSafe(sql_sqlite.to_owned()))
                    .execute(&pool)
                    .await;
                pool.close().await;
                r.map(|_| ())
            }
        }
    }
}

async fn open_pg(url: &str, schema: &str) -> Store {
    let mut o = StoreOptions::new(url);
    o.postgres_schema = Some(schema.to_owned());
    o.max_connections = Some(12);
    Store::open_with(o).await.unwrap()
}

/// Run a test body against SQLite and, when configured, PostgreSQL. The
/// database is removed afterwards even when the body fails.
async fn each_backend<F, Fut>(f: F)
where
    F: Fn(std::sync::Arc<TestDb>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut dbs = vec![TestDb::sqlite().await];
    match pg_url() {
        Some(url) => dbs.push(TestDb::postgres(&url).await),
        None => eprintln!("note: PostgreSQL part skipped (TEST_POSTGRES_URL not set)"),
    }
    for db in dbs {
        let db = std::sync::Arc::new(db);
        let backend = db.store.backend();
        let result = tokio::spawn(f(db.clone())).await;
        let db = std::sync::Arc::try_unwrap(db)
            .ok()
            .expect("test kept the database");
        db.cleanup().await;
        if let Err(e) = result {
            panic!("{backend:?}: {e}");
        }
    }
}

fn alice() -> Actor {
    Actor::new("alice", &["analyst"])
}

fn draft(title: &str, url: Option<&str>, ips: &[&str]) -> ReportDraft {
    let mut d = ReportDraft::new(Origin::Stix, title);
    d.url = url.map(str::to_owned);
    d.summary = format!("{title}: seen {}", ips.join(", "));
    d.published = Some("2026-11-30T10:00:00Z".into());
    d.labels = vec!["apt".into()];
    for ip in ips {
        d.add_observable(
            ObservableKind::Ipv4,
            (*ip).to_owned(),
            "indicator--x".into(),
        );
    }
    d
}

fn ctx() -> IngestContext {
    IngestContext::new(alice(), "import.stix")
}

/// The intake total from the maintained counters equals a row count (a
/// filter that matches everything forces the counting path).
async fn assert_counters_agree(store: &Store) {
    for status in [
        None,
        Some(IntakeStatus::Pending),
        Some(IntakeStatus::Accepted),
        Some(IntakeStatus::Rejected),
    ] {
        for origin in [
            None,
            Some(Origin::Stix),
            Some(Origin::Misp),
            Some(Origin::Feed),
        ] {
            let fast = store
                .intake(&IntakeQuery {
                    status,
                    origin,
                    limit: Some(1),
                    ..Default::default()
                })
                .await
                .unwrap()
                .total;
            let counted = store
                .intake(&IntakeQuery {
                    status,
                    origin,
                    limit: Some(1),
                    collected_from: Some(chrono::DateTime::UNIX_EPOCH),
                    ..Default::default()
                })
                .await
                .unwrap()
                .total;
            assert_eq!(fast, counted, "{status:?} {origin:?}");
        }
    }
}

async fn count(store: &Store) -> (i64, usize) {
    let page = store.intake(&IntakeQuery::default()).await.unwrap();
    let obs = store
        .observables(&ObservableQuery {
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap();
    (page.total, obs.items.len())
}

#[tokio::test]
async fn migrations_apply_once_and_schema_versions() {
    each_backend(|db| async move {
        assert_eq!(db.store.schema_version().await.unwrap(), 2);
        assert!(
            db.store.migrate().await.unwrap().is_empty(),
            "second run applies nothing"
        );
        let again = db.replica().await;
        assert_eq!(again.schema_version().await.unwrap(), 2);
        again.close().await;
        // A build older than the database refuses to run on it.
        db.raw(
            "INSERT INTO tm_migrations VALUES (99, 'future', 'x', 0)",
            "INSERT INTO tm_migrations VALUES (99, 'future', 'x', 0)",
        )
        .await
        .unwrap();
        let err = db.store.migrate().await.unwrap_err();
        assert!(matches!(err, Error::Migration { version: 99, .. }), "{err}");
        assert!(err.to_string().contains("newer than this build"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn migrations_are_in_step_across_backends() {
    let Some(url) = pg_url() else {
        eprintln!("note: skipped (TEST_POSTGRES_URL not set)");
        return;
    };
    let lite = TestDb::sqlite().await;
    let pg = TestDb::postgres(&url).await;
    let lite_pool = sqlx::SqlitePool::connect(&lite.url).await.unwrap();
    let lite_cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1, 2",
    )
    .fetch_all(&lite_pool)
    .await
    .unwrap();
    lite_pool.close().await;
    let pg_pool = sqlx::PgPool::connect(&url).await.unwrap();
    let pg_cols: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = $1 ORDER BY table_name::text COLLATE \"C\", column_name::text COLLATE \"C\"",
    )
    .bind(pg.schema.clone().unwrap())
    .fetch_all(&pg_pool)
    .await
    .unwrap();
    pg_pool.close().await;
    assert!(lite_cols.len() > 50);
    assert_eq!(lite_cols, pg_cols);
    lite.cleanup().await;
    pg.cleanup().await;
}

#[tokio::test]
async fn ingest_stores_pending_reports_and_suppresses_duplicates() {
    each_backend(|db| async move {
        let s = &db.store;
        let a = draft(
            "APT99 targets routers",
            Some("https://blog.example.com/apt99?utm_source=x"),
            &["198.51.100.7", "203.0.113.9"],
        );
        let b = draft("Ransomware wave", None, &["198.51.100.7"]);
        let out = s.ingest(&[a.clone(), b.clone()], &ctx()).await.unwrap();
        assert_eq!((out.reports, out.suppressed), (2, 0));
        assert_eq!((out.observables_new, out.observables_existing), (2, 0));
        assert_eq!(out.report_ids.len(), 2);

        // Same URL key (tracking parameter, case) or same title key → suppressed.
        let mut same_url = draft(
            "Different title",
            Some("HTTPS://BLOG.example.com/apt99"),
            &["192.0.2.1"],
        );
        same_url.origin = Origin::Feed;
        let same_title = draft(
            "  ransomware WAVE!! ",
            Some("https://other.example.org/x"),
            &[],
        );
        let fresh = draft("Fresh report", None, &["203.0.113.9", "192.0.2.55"]);
        let dup_in_batch = draft("fresh report", None, &[]);
        let out2 = s
            .ingest(&[same_url, same_title, fresh, dup_in_batch], &ctx())
            .await
            .unwrap();
        assert_eq!((out2.reports, out2.suppressed), (1, 3));
        assert_eq!((out2.observables_new, out2.observables_existing), (1, 1));
        let matched: Vec<(usize, &str, Option<i64>)> = out2
            .suppressed_reports
            .iter()
            .map(|r| (r.index, r.matched, r.existing_id))
            .collect();
        assert_eq!(
            matched,
            [
                (0, "url", Some(out.report_ids[0])),
                (1, "title", Some(out.report_ids[1])),
                (3, "title", Some(out2.report_ids[0])),
            ]
        );

        let page = s.intake(&IntakeQuery::default()).await.unwrap();
        assert_eq!(page.total, 3);
        assert!(page.items.iter().all(|r| r.status == IntakeStatus::Pending));
        assert_eq!(page.items[0].title, "Fresh report", "newest first");

        let detail = s.report(out.report_ids[0]).await.unwrap().unwrap();
        assert_eq!(
            detail.report.url_key.as_deref(),
            Some("https://blog.example.com/apt99")
        );
        assert_eq!(detail.observables.len(), 2);
        let ip = &detail.observables[0];
        assert_eq!(
            (ip.kind.as_str(), ip.value.as_str()),
            ("ipv4", "198.51.100.7")
        );
        let [start, end] = ip.spans[0];
        assert_eq!(&detail.report.content[start..end], "198.51.100.7");
        assert_eq!(
            detail.report.summary.published_at.as_deref(),
            Some("2026-11-30T10:00:00Z")
        );

        // Every ingest is audited, suppression included.
        let audit = s
            .audit(&AuditQuery {
                action_prefix: Some("import.".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.items.len(), 2);
        assert_eq!(audit.items[0].details["suppressed"], 3);
        assert!(s.verify_audit_chain().await.unwrap().ok);
    })
    .await;
}

#[tokio::test]
async fn intake_filters_and_keyset_pages() {
    each_backend(|db| async move {
        let s = &db.store;
        let drafts: Vec<ReportDraft> = (0..23)
            .map(|i| {
                let mut d = draft(&format!("Report number {i}"), None, &[]);
                if i % 2 == 0 {
                    d.origin = Origin::Misp;
                }
                d
            })
            .collect();
        s.ingest(&drafts, &ctx()).await.unwrap();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = s
                .intake(&IntakeQuery {
                    limit: Some(5),
                    cursor: cursor.clone(),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(page.total, 23);
            seen.extend(page.items.iter().map(|r| r.id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), 23);
        assert!(
            seen.windows(2).all(|w| w[0] > w[1]),
            "strictly newest first, no repeats"
        );

        let misp = s
            .intake(&IntakeQuery {
                origin: Some(Origin::Misp),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(misp.total, 12);
        let text = s
            .intake(&IntakeQuery {
                text: Some("NUMBER 1".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(text.total, 11, "1 and 10..19");
        assert_counters_agree(s).await;
        let pct = s
            .intake(&IntakeQuery {
                text: Some("%".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(pct.total, 0, "LIKE wildcards are literal");
        let bad = s
            .intake(&IntakeQuery {
                cursor: Some("abc".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(bad, Error::Invalid { .. }));
        let later = s
            .intake(&IntakeQuery {
                published_from: Some("2026-12-01T00:00:00Z".parse().unwrap()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(later.total, 0);
    })
    .await;
}

#[tokio::test]
async fn failed_ingest_rolls_back_everything() {
    each_backend(|db| async move {
        let s = &db.store;
        s.ingest(&[draft("Before", None, &["192.0.2.1"])], &ctx()).await.unwrap();
        let before = count(s).await;
        let audit_before = s.audit(&AuditQuery::default()).await.unwrap().items.len();
        db.raw(
            "CREATE TRIGGER boom BEFORE INSERT ON report_observables WHEN NEW.source = 'boom'
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.source = 'boom' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$;
             CREATE TRIGGER boom BEFORE INSERT ON report_observables FOR EACH ROW EXECUTE FUNCTION boom();",
        )
        .await
        .unwrap();
        let ok = draft("Good one", None, &["192.0.2.2"]);
        let mut bad = draft("Bad one", None, &[]);
        bad.add_observable(ObservableKind::Ipv4, "192.0.2.3".into(), "boom".into());
        let err = s.ingest(&[ok, bad], &ctx()).await.unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");
        assert_eq!(count(s).await, before, "no report, no observable stored");
        assert_counters_agree(s).await;
        assert_eq!(s.audit(&AuditQuery::default()).await.unwrap().items.len(), audit_before);
        assert!(s.verify_audit_chain().await.unwrap().ok);
    })
    .await;
}

#[tokio::test]
async fn oversized_input_is_refused_before_the_database() {
    each_backend(|db| async move {
        let s = &db.store;
        let mut big = draft("ok", None, &[]);
        big.title = "t".repeat(threatmapper_store::limits::TITLE + 1);
        let err = s
            .ingest(&[draft("fine", None, &[]), big], &ctx())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "drafts[1].title: longer than {} bytes",
                threatmapper_store::limits::TITLE
            )
        );
        let mut long_value = draft("ok", None, &[]);
        long_value.add_observable(ObservableKind::Domain, "a".repeat(5000), "x".into());
        let err = s.ingest(&[long_value], &ctx()).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("drafts[0].observables[0].value"),
            "{err}"
        );
        assert_eq!(count(s).await, (0, 0));
    })
    .await;
}

#[tokio::test]
async fn concurrent_ingests_of_one_bundle_store_it_once() {
    each_backend(|db| async move {
        let drafts: Vec<ReportDraft> = (0..20)
            .map(|i| {
                let ips: Vec<String> = (0..15)
                    .map(|j| format!("10.{i}.{j}.1"))
                    .chain(["192.0.2.99".to_owned()])
                    .collect();
                let refs: Vec<&str> = ips.iter().map(String::as_str).collect();
                draft(
                    &format!("Bundle report {i}"),
                    Some(&format!("https://x.example/{i}")),
                    &refs,
                )
            })
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let store = db.store.clone();
            let drafts = drafts.clone();
            tasks.spawn(async move { store.ingest(&drafts, &ctx()).await });
        }
        let mut reports = 0;
        let mut suppressed = 0;
        let mut new = 0;
        while let Some(r) = tasks.join_next().await {
            let out = r.unwrap().unwrap();
            reports += out.reports;
            suppressed += out.suppressed;
            new += out.observables_new;
        }
        assert_eq!((reports, suppressed), (20, 7 * 20));
        assert_eq!(new, 20 * 15 + 1);
        let page = db.store.intake(&IntakeQuery::default()).await.unwrap();
        assert_eq!(page.total, 20);
        let obs = db
            .store
            .observables(&ObservableQuery {
                limit: Some(500),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(obs.items.len(), 301);
        let shared = obs.items.iter().find(|o| o.value == "192.0.2.99").unwrap();
        assert_eq!(shared.report_count, 20);
        assert_counters_agree(&db.store).await;
        let v = db.store.verify_audit_chain().await.unwrap();
        assert!(v.ok, "{v:?}");
        assert_eq!(v.checked, 8);
    })
    .await;
}

#[tokio::test]
async fn review_transitions() {
    each_backend(|db| async move {
        let s = &db.store;
        let ids = s
            .ingest(&[draft("One", None, &[]), draft("Two", None, &[])], &ctx())
            .await
            .unwrap()
            .report_ids;
        let r = s
            .review(ids[0], IntakeStatus::Accepted, None, &alice())
            .await
            .unwrap();
        assert_eq!(r.summary.status, IntakeStatus::Accepted);
        assert_eq!(r.review.as_ref().unwrap().reviewed_by, "alice");
        let err = s
            .review(ids[0], IntakeStatus::Rejected, Some("no"), &alice())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidTransition { ref from, .. } if from == "accepted"),
            "{err}"
        );
        let err = s
            .review(ids[1], IntakeStatus::Rejected, Some("  "), &alice())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Invalid { ref field, .. } if field == "reason"));
        let r = s
            .review(
                ids[1],
                IntakeStatus::Rejected,
                Some("duplicate of vendor post"),
                &alice(),
            )
            .await
            .unwrap();
        assert_eq!(
            r.review.unwrap().reason.as_deref(),
            Some("duplicate of vendor post")
        );
        let err = s
            .review(999_999, IntakeStatus::Accepted, None, &alice())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { what: "report", .. }));
        let pending = s
            .intake(&IntakeQuery {
                status: Some(IntakeStatus::Pending),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(pending.total, 0);
        let reviews = s
            .audit(&AuditQuery {
                action_prefix: Some("report.review".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(reviews.items.len(), 2);
        assert_eq!(reviews.items[0].target, format!("report:{}", ids[1]));
        assert_counters_agree(s).await;
        let activity = s.activity(chrono::Utc::now(), 7).await.unwrap();
        let per_status: Vec<(&str, i64)> = activity
            .per_status
            .iter()
            .map(|s| (s.status.as_str(), s.count))
            .collect();
        assert_eq!(per_status, [("accepted", 1), ("rejected", 1)]);
        assert_eq!(activity.per_day.iter().map(|d| d.count).sum::<i64>(), 2);
    })
    .await;
}

#[tokio::test]
async fn manual_observables_and_enrichment_evidence() {
    each_backend(|db| async move {
        let s = &db.store;
        let rid = s
            .ingest(&[draft("Host", None, &["192.0.2.1"])], &ctx())
            .await
            .unwrap()
            .report_ids[0];
        let (o, created) = s
            .add_manual_observable(
                ObservableKind::Domain,
                "Evil.EXAMPLE.com",
                Some("from call"),
                Some(rid),
                &alice(),
            )
            .await
            .unwrap();
        assert!(created);
        assert_eq!(
            (o.value.as_str(), o.manual, o.report_count),
            ("evil.example.com", true, 1)
        );
        let (again, created) = s
            .add_manual_observable(ObservableKind::Ipv4, "192.0.2.1", None, None, &alice())
            .await
            .unwrap();
        assert!(!created, "already known from the report");
        assert!(!again.manual);
        let err = s
            .add_manual_observable(ObservableKind::Ipv4, "999.1.1.1", None, None, &alice())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "value"),
            "{err}"
        );
        let err = s
            .add_manual_observable(
                ObservableKind::Cve,
                "CVE-2024-3094",
                None,
                Some(424242),
                &alice(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }));

        let found = s
            .observables(&ObservableQuery {
                kind: Some(ObservableKind::Domain),
                value_prefix: Some("EVIL.".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(found.items.len(), 1);

        let mut e = NewEnrichment {
            provider: "rdap".into(),
            status: "ok".into(),
            confidence: 60,
            summary: serde_json::json!({"registrar": "Example Registrar"}),
            raw_sha256: Some("ab".repeat(32)),
            raw_excerpt: Some("x".repeat(10_000)),
            fetched_at: None,
        };
        let first = s.add_enrichment(o.id, &e, &alice()).await.unwrap();
        assert_eq!(
            first.raw_excerpt.as_ref().unwrap().len(),
            threatmapper_store::limits::RAW_EXCERPT
        );
        e.status = "rate_limited".into();
        e.confidence = 0;
        s.add_enrichment(o.id, &e, &alice()).await.unwrap();
        e.status = "maybe".into();
        assert!(matches!(
            s.add_enrichment(o.id, &e, &alice()).await,
            Err(Error::Invalid { .. })
        ));
        e.status = "ok".into();
        assert!(matches!(
            s.add_enrichment(77_777, &e, &alice()).await,
            Err(Error::NotFound { .. })
        ));
        let detail = s.observable(o.id).await.unwrap().unwrap();
        let statuses: Vec<&str> = detail
            .enrichments
            .iter()
            .map(|e| e.status.as_str())
            .collect();
        assert_eq!(
            statuses,
            ["rate_limited", "ok"],
            "newest first, nothing overwritten"
        );
        assert_eq!(detail.report_ids, [rid]);
        let report = s.report(rid).await.unwrap().unwrap();
        assert_eq!(report.enrichments.len(), 2);
    })
    .await;
}

fn new_source(url: &str) -> NewSource {
    NewSource {
        url: url.into(),
        kind: SourceKind::Rss,
        name: Some("Vendor blog".into()),
        interval_minutes: 60,
        enabled: true,
    }
}

fn run(status: &str, at: chrono::DateTime<chrono::Utc>) -> RunRecord {
    RunRecord {
        started_at: at,
        finished_at: at,
        status: status.into(),
        fetched: 3,
        new: 2,
        suppressed: 1,
        error: (status != "ok").then(|| "connection refused".into()),
        etag: Some("\"v1\"".into()),
        last_modified: None,
    }
}

#[tokio::test]
async fn sources_crud_runs_and_backoff() {
    each_backend(|db| async move {
        let s = &db.store;
        let src = s
            .create_source(&new_source("https://feeds.example.com/rss"), &alice())
            .await
            .unwrap();
        assert!(src.enabled);
        let dup = s
            .create_source(&new_source("https://feeds.example.com/rss"), &alice())
            .await
            .unwrap_err();
        assert!(matches!(dup, Error::Duplicate { .. }), "{dup}");
        let mut bad = new_source("https://feeds.example.com/2");
        bad.interval_minutes = 0;
        assert!(matches!(
            s.create_source(&bad, &alice()).await,
            Err(Error::Invalid { .. })
        ));
        let bad = new_source("file:///etc/passwd");
        assert!(matches!(
            s.create_source(&bad, &alice()).await,
            Err(Error::Invalid { .. })
        ));

        let upd = s
            .update_source(
                src.id,
                &SourceUpdate {
                    interval_minutes: Some(30),
                    enabled: Some(false),
                    ..Default::default()
                },
                &alice(),
            )
            .await
            .unwrap();
        assert_eq!((upd.interval_minutes, upd.enabled), (30, false));
        assert_eq!(upd.url, src.url);

        let now = chrono::Utc::now();
        let lease = Duration::from_secs(300);
        assert!(
            s.claim_due_sources("w1", now, lease, 10)
                .await
                .unwrap()
                .is_empty(),
            "disabled"
        );
        s.update_source(
            src.id,
            &SourceUpdate {
                enabled: Some(true),
                ..Default::default()
            },
            &alice(),
        )
        .await
        .unwrap();
        let claimed = s.claim_due_sources("w1", now, lease, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].lease_owner.as_deref(), Some("w1"));
        assert!(
            s.claim_due_sources("w2", now, lease, 10)
                .await
                .unwrap()
                .is_empty(),
            "leased"
        );
        let err = s.claim_source(src.id, "w2", now, lease).await.unwrap_err();
        assert!(
            matches!(err, Error::Leased { ref owner, .. } if owner == "w1"),
            "{err}"
        );
        // An expired lease is reclaimable.
        let later = now + chrono::Duration::seconds(301);
        assert_eq!(
            s.claim_due_sources("w2", later, lease, 10)
                .await
                .unwrap()
                .len(),
            1
        );

        let r = s
            .record_run(
                src.id,
                "w2",
                &run("connect", later),
                &Actor::system("scheduler"),
            )
            .await
            .unwrap();
        assert_eq!((r.status.as_str(), r.fetched), ("connect", 3));
        let after = s.source(src.id).await.unwrap().unwrap();
        assert_eq!(after.failure_count, 1);
        assert_eq!(after.lease_owner, None, "lease released");
        assert_eq!(after.etag.as_deref(), Some("\"v1\""));
        let due = chrono::DateTime::parse_from_rfc3339(&after.next_due_at).unwrap();
        assert_eq!(
            (due.timestamp() - later.timestamp()) / 60,
            60,
            "30 min × 2^1"
        );
        s.record_run(
            src.id,
            "w2",
            &run("timeout", later),
            &Actor::system("scheduler"),
        )
        .await
        .unwrap();
        let after = s.source(src.id).await.unwrap().unwrap();
        let due = chrono::DateTime::parse_from_rfc3339(&after.next_due_at).unwrap();
        assert_eq!(
            (due.timestamp() - later.timestamp()) / 60,
            120,
            "30 min × 2^2"
        );
        s.record_run(src.id, "w2", &run("ok", later), &Actor::system("scheduler"))
            .await
            .unwrap();
        let after = s.source(src.id).await.unwrap().unwrap();
        assert_eq!(after.failure_count, 0, "reset on success");
        let due = chrono::DateTime::parse_from_rfc3339(&after.next_due_at).unwrap();
        assert_eq!((due.timestamp() - later.timestamp()) / 60, 30);
        let runs = s.runs(src.id, 10).await.unwrap();
        assert_eq!(
            runs.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
            ["ok", "timeout", "connect"]
        );

        s.delete_source(src.id, &alice()).await.unwrap();
        assert!(s.source(src.id).await.unwrap().is_none());
        assert!(matches!(
            s.delete_source(src.id, &alice()).await,
            Err(Error::NotFound { .. })
        ));
        let actions: Vec<String> = s
            .audit(&AuditQuery {
                action_prefix: Some("source.".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions[0], "source.delete");
        assert_eq!(actions.iter().filter(|a| *a == "source.run").count(), 3);
    })
    .await;
}

#[tokio::test]
async fn two_replicas_never_claim_one_source_twice() {
    each_backend(|db| async move {
        for i in 0..30 {
            db.store
                .create_source(
                    &new_source(&format!("https://feeds.example.com/{i}")),
                    &alice(),
                )
                .await
                .unwrap();
        }
        let other = db.replica().await;
        let now = chrono::Utc::now();
        let mut tasks = tokio::task::JoinSet::new();
        for (w, store) in [
            db.store.clone(),
            other.clone(),
            db.store.clone(),
            other.clone(),
        ]
        .into_iter()
        .enumerate()
        {
            tasks.spawn(async move {
                let mut mine = Vec::new();
                for _ in 0..20 {
                    let got = store
                        .claim_due_sources(&format!("worker{w}"), now, Duration::from_secs(600), 3)
                        .await
                        .unwrap();
                    mine.extend(got.into_iter().map(|s| s.id));
                }
                mine
            });
        }
        let mut all = Vec::new();
        while let Some(r) = tasks.join_next().await {
            all.extend(r.unwrap());
        }
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!(n, all.len(), "a source was claimed twice");
        assert_eq!(n, 30, "every due source claimed once");
        other.close().await;
    })
    .await;
}

#[tokio::test]
async fn rule_versions() {
    each_backend(|db| async move {
        let s = &db.store;
        let rid = s.ingest(&[draft("Rules", None, &["192.0.2.1"])], &ctx()).await.unwrap().report_ids[0];
        let content = "DeviceNetworkEvents\n| where RemoteIP in (\"192.0.2.1\")\n| where InitiatingProcessCommandLine has \"REPLACE_WITH_BEHAVIOR\"";
        let h = s
            .create_rule(
                &NewRule {
                    report_id: Some(rid),
                    language: threatmapper_rules::Language::Kql,
                    rule_uuid: uuid::Uuid::new_v4(),
                    title: "Rules".into(),
                    content: content.into(),
                },
                &alice(),
            )
            .await
            .unwrap();
        assert_eq!(h.versions.len(), 1);
        assert_eq!(h.versions[0].status, "needs_analyst");
        assert_eq!(h.versions[0].diagnostics[0]["severity"], "warning");
        let v2 = s
            .add_rule_version(h.rule.id, &content.replace("REPLACE_WITH_BEHAVIOR", "-enc"), &alice())
            .await
            .unwrap();
        assert_eq!((v2.version, v2.parent_version, v2.status.as_str()), (2, Some(1), "ready"));
        let v3 = s.add_rule_version(h.rule.id, "| where", &alice()).await.unwrap();
        assert_eq!((v3.version, v3.status.as_str()), (3, "invalid"));
        let full = s.rule(h.rule.id).await.unwrap().unwrap();
        assert_eq!(full.rule.latest_version, 3);
        assert_eq!(full.versions[0].content, content, "old versions stay");
        assert!(matches!(s.add_rule_version(31337, "x", &alice()).await, Err(Error::NotFound { .. })));
        let detail = s.report(rid).await.unwrap().unwrap();
        assert_eq!(detail.rules.len(), 1);
        assert_eq!(s.rules(None, 10).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn audit_chain_detects_edits_and_deletions() {
    each_backend(|db| async move {
        let s = &db.store;
        for i in 0..5 {
            s.record_audit(&NewAuditEvent {
                actor: Actor::new("mallory", &[]),
                action: "auth.denied".into(),
                target: format!("/api/pipeline/x/{i}"),
                outcome: "denied".into(),
                details: serde_json::json!({"why": "untrusted peer"}),
            })
            .await
            .unwrap();
        }
        let v = s.verify_audit_chain().await.unwrap();
        assert!(v.ok && v.checked == 5, "{v:?}");
        let denied = s
            .audit(&AuditQuery { outcome: Some("denied".into()), limit: Some(2), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(denied.items.len(), 2);
        assert_eq!(denied.items[0].seq, 5);
        assert_eq!(denied.next_cursor.as_deref(), Some("4"));

        // The database itself refuses to change audit rows.
        let refused = db
            .raw(
                "UPDATE audit_events SET actor = 'eve' WHERE seq = 3",
                "UPDATE audit_events SET actor = 'eve' WHERE seq = 3",
            )
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
        assert!(db.raw("DELETE FROM audit_events", "DELETE FROM audit_events").await.is_err());
        if db.store.backend() == Backend::Postgres {
            assert!(db.raw("", "TRUNCATE audit_events").await.is_err());
        }

        // Someone with full access edits a row behind the triggers' back.
        db.raw(
            "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET actor = 'eve' WHERE seq = 3;",
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;
             UPDATE audit_events SET actor = 'eve' WHERE seq = 3;",
        )
        .await
        .unwrap();
        let v = s.verify_audit_chain().await.unwrap();
        assert_eq!((v.ok, v.first_bad_seq, v.checked), (false, Some(3), 2), "{v:?}");
        assert!(v.problem.unwrap().contains("edited"));
        // ... or deletes one.
        db.raw(
            "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq = 3;",
            "DELETE FROM audit_events WHERE seq = 3;",
        )
        .await
        .unwrap();
        let v = s.verify_audit_chain().await.unwrap();
        assert_eq!((v.ok, v.first_bad_seq), (false, Some(3)), "{v:?}");
        assert!(v.problem.unwrap().contains("missing"));
        // ... or removes the newest events.
        db.raw(
            "DELETE FROM audit_events WHERE seq >= 3; ",
            "DELETE FROM audit_events WHERE seq >= 3;",
        )
        .await
        .unwrap();
        let v = s.verify_audit_chain().await.unwrap();
        assert_eq!((v.ok, v.first_bad_seq), (false, Some(3)), "{v:?}");
        assert!(v.problem.unwrap().contains("tail deleted"));
    })
    .await;
}

#[tokio::test]
async fn unreachable_and_read_only_databases_give_typed_errors() {
    // Nothing listens on port 1: the error is retryable, not a panic.
    let mut o = StoreOptions::new("postgres://postgres@127.0.0.1:1/none");
    o.acquire_timeout = Duration::from_secs(2);
    let err = Store::open_with(o).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let err = Store::open("mysql://localhost/x").await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    let url = format!("sqlite://{}", path.display());
    let s = Store::open(&url).await.unwrap();
    s.close().await;
    let ro = Store::open(&format!("{url}?mode=ro")).await.unwrap();
    let err = ro
        .ingest(&[draft("x", None, &[])], &ctx())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WriteRefused(_)), "{err:?}");
    assert!(
        ro.intake(&IntakeQuery::default()).await.is_ok(),
        "reads still work"
    );
    ro.close().await;
    let err = ro.ping().await.unwrap_err();
    assert!(err.is_retryable(), "closed pool: {err:?}");
    let err = Store::open(&format!(
        "sqlite://{}/missing/dir/x.db",
        dir.path().display()
    ))
    .await
    .unwrap_err();
    assert!(
        err.is_retryable() || matches!(err, Error::Database(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn cached_intake_pages_follow_every_change() {
    each_backend(|db| async move {
        let s = &db.store;
        let other = db.replica().await;
        let q = IntakeQuery {
            status: Some(IntakeStatus::Pending),
            ..Default::default()
        };
        assert_eq!(s.intake(&q).await.unwrap().total, 0);
        s.ingest(&[draft("First", None, &[])], &ctx())
            .await
            .unwrap();
        assert_eq!(
            s.intake(&q).await.unwrap().total,
            1,
            "a change in this process"
        );
        assert_eq!(s.intake(&q).await.unwrap().total, 1, "served again");
        // Another process/replica writes the same database.
        let id = other
            .ingest(&[draft("Second", None, &[])], &ctx())
            .await
            .unwrap()
            .report_ids[0];
        let page = s.intake(&q).await.unwrap();
        assert_eq!((page.total, page.items[0].title.as_str()), (2, "Second"));
        other
            .review(id, IntakeStatus::Accepted, None, &alice())
            .await
            .unwrap();
        let page = s.intake(&q).await.unwrap();
        assert_eq!(page.total, 1);
        assert!(page.items.iter().all(|r| r.status == IntakeStatus::Pending));
        other.close().await;
    })
    .await;
}

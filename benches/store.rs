//! Store throughput: ingest of 100k observables in 1k reports, re-ingest of
//! the same data (all suppressed), and intake-page latency on a large table.
//!
//! ```text
//! cargo bench --bench store                       # SQLite, 1M-report intake
//! cargo bench --bench store -- --pg postgres://postgres@127.0.0.1:5432/test
//! cargo bench --bench store -- --intake-reports 200000
//! ```
//!
//! Figures, not assertions: it prints observables/s, the re-ingest speed-up
//! and intake latency percentiles. PostgreSQL runs in a throw-away schema.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use threatmapper_core::{ObservableKind, Origin, ReportDraft};
use threatmapper_store::{Actor, IngestContext, IntakeQuery, IntakeStatus, Store, StoreOptions};

fn drafts(reports: usize, per_report: usize, offset: usize) -> Vec<ReportDraft> {
    (0..reports)
        .map(|r| {
            let n = offset + r;
            let mut d = ReportDraft::new(Origin::Stix, format!("Benchmark report {n}"));
            d.url = Some(format!("https://intel.example.org/reports/{n}"));
            d.published = Some("2026-11-30T10:00:00Z".into());
            let mut text = format!("Report {n}. Observed infrastructure: ");
            for j in 0..per_report {
                let k = n * per_report + j;
                let (kind, value) = match j % 4 {
                    0 => (
                        ObservableKind::Ipv4,
                        format!("10.{}.{}.{}", (k >> 16) & 255, (k >> 8) & 255, k & 255),
                    ),
                    1 => (ObservableKind::Domain, format!("host{k}.example.net")),
                    2 => (ObservableKind::Sha256, format!("{k:064x}")),
                    _ => (ObservableKind::Md5, format!("{k:032x}")),
                };
                text.push_str(&value);
                text.push(' ');
                d.add_observable(kind, value, format!("indicator--{k}"));
            }
            d.summary = text;
            d
        })
        .collect()
}

fn pct(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(label: &str, store: &Store, intake_reports: usize, smoke: bool) {
    let ctx = IngestContext::new(Actor::system("bench"), "import.stix");
    let (reports, per_report) = if smoke { (50, 20) } else { (1_000, 100) };
    let data = drafts(reports, per_report, 0);
    let t = Instant::now();
    let first = store.ingest(&data, &ctx).await.unwrap();
    let t1 = t.elapsed();
    assert_eq!(first.observables_new, reports * per_report);
    let t = Instant::now();
    let again = store.ingest(&data, &ctx).await.unwrap();
    let t2 = t.elapsed();
    assert_eq!(again.suppressed, reports);
    println!(
        "{label}: ingest {reports} reports / {} new observables: {:.2} s = {:.0} observables/s",
        reports * per_report,
        t1.as_secs_f64(),
        (reports * per_report) as f64 / t1.as_secs_f64()
    );
    println!(
        "{label}: re-ingest (all suppressed): {:.3} s = {:.1}x faster than first ingest",
        t2.as_secs_f64(),
        t1.as_secs_f64() / t2.as_secs_f64()
    );

    // Grow the report table, then time intake pages.
    let mut have = reports;
    let t = Instant::now();
    while have < intake_reports {
        let batch = (intake_reports - have).min(20_000);
        let mut ds = drafts(batch, 1, 10_000_000 + have);
        for (i, d) in ds.iter_mut().enumerate() {
            d.origin = if i % 3 == 0 {
                Origin::Feed
            } else {
                Origin::Misp
            };
        }
        store.ingest(&ds, &ctx).await.unwrap();
        have += batch;
    }
    if t.elapsed() > Duration::from_millis(10) {
        println!(
            "{label}: grew to {have} reports in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    for (name, q) in [
        (
            "first page, status=pending",
            IntakeQuery {
                status: Some(IntakeStatus::Pending),
                limit: Some(50),
                ..Default::default()
            },
        ),
        (
            "first page, origin=feed",
            IntakeQuery {
                origin: Some(Origin::Feed),
                limit: Some(50),
                ..Default::default()
            },
        ),
        (
            "page at cursor mid-table",
            IntakeQuery {
                limit: Some(50),
                cursor: Some((have / 2).to_string()),
                ..Default::default()
            },
        ),
    ] {
        let mut samples = Vec::new();
        for _ in 0..100 {
            let t = Instant::now();
            let page = store.intake(&q).await.unwrap();
            samples.push(t.elapsed());
            assert_eq!(page.items.len(), 50);
        }
        println!(
            "{label}: intake {name} at {have} reports: p50 {:.2} ms, p99 {:.2} ms (items + total)",
            pct(&mut samples, 0.5).as_secs_f64() * 1e3,
            pct(&mut samples, 0.99).as_secs_f64() * 1e3
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs bench binaries without `--bench`: then
    // only a smoke run (so the suite stays fast), measured runs come from
    // `cargo bench`.
    let smoke = !args.iter().any(|a| a == "--bench");
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let intake_reports: usize = if smoke {
        1_000
    } else {
        opt("--intake-reports")
            .map(|s| s.parse().unwrap())
            .unwrap_or(1_000_000)
    };
    // One core: a current-thread runtime (SQLite's connection worker is the
    // only other busy thread).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::open(&url).await.unwrap();
        run("sqlite", &store, intake_reports, smoke).await;
        store.close().await;
        if let Some(pg) = opt("--pg") {
            let schema = format!("tm_bench_{}", std::process::id());
            let mut o = StoreOptions::new(&pg);
            o.postgres_schema = Some(schema.clone());
            let store = Store::open_with(o).await.unwrap();
            run("postgres", &store, intake_reports, smoke).await;
            store.close().await;
            let pool = sqlx::PgPool::connect(&pg).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&pool)
                .await
                .unwrap();
        }
    });
}

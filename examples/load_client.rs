//! A bounded HTTP load client for `benches/http_load.sh`.
//!
//! ```text
//! cargo run --release --example load_client -- --base http://127.0.0.1:8080 \
//!     [--seconds 10] [--connections 32] [--bundles 20] [--indicators 1000] [--import-concurrency 2]
//! ```
//!
//! Phase 1 reads the intake queue (`GET /api/pipeline/intake?status=pending&limit=50`)
//! from N keep-alive connections for a fixed time and prints requests/s and
//! latency percentiles. Phase 2 posts distinct STIX bundles to
//! `/api/pipeline/import/stix` and prints observables/s, then parses and
//! ingests the same bundles directly into a fresh SQLite store in this process
//! and prints the ratio. Every loop is bounded by time or count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use threatmapper_store::{Actor, IngestContext, Store};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

fn bundle(i: usize, indicators: usize) -> String {
    threatmapper_suite::stix_bundle(indicators, 10_000 + i as u64).replace(
        "\"name\":\"Bench report\"",
        &format!("\"name\":\"Bench report {i}\""),
    )
}

/// GET `urls` round-robin from `conns` connections for `seconds`; with
/// `writer`, one more task posts the documents meanwhile. Prints req/s and
/// latency percentiles.
async fn read_phase(
    label: &str,
    client: &reqwest::Client,
    urls: Vec<String>,
    seconds: u64,
    conns: usize,
    writer: Option<(String, Vec<String>)>,
) {
    let urls = std::sync::Arc::new(urls);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let writes = writer.map(|(url, docs)| {
        let c = client.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            for d in docs {
                if Instant::now() >= deadline {
                    break;
                }
                let r = c
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(d)
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status().as_u16() == 201) {
                    n += 1;
                }
            }
            n
        })
    });
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..conns {
        let c = client.clone();
        let urls = urls.clone();
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = t;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                match c.get(&urls[i % urls.len()]).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t0.elapsed());
                    }
                    _ => errors += 1,
                }
                i += conns;
            }
            (lat, errors)
        });
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r.unwrap();
        lat.extend(l);
        errors += e;
    }
    let imports = match writes {
        Some(w) => format!(", {} imports meanwhile", w.await.unwrap()),
        None => String::new(),
    };
    println!(
        "{label}: {} requests in {seconds} s over {conns} connections = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, errors {errors}{imports}",
        lat.len(),
        lat.len() as f64 / seconds as f64,
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99)
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base: String = arg(&args, "--base", "http://127.0.0.1:8080".to_owned());
    let seconds: u64 = arg(&args, "--seconds", 10);
    let conns: usize = arg(&args, "--connections", 32);
    let bundles: usize = arg(&args, "--bundles", 20);
    let indicators: usize = arg(&args, "--indicators", 1000);
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(conns)
        .build()
        .unwrap();

    // Phase 1: intake listing. (a) one query repeated: after the first
    // request every answer is a cache hit validated by one single-row read;
    // (b) a different cursor on every request (cache misses);
    // (c) the repeated query while STIX imports keep changing the data.
    let fixed = vec![format!(
        "{base}/api/pipeline/intake?status=pending&limit=50"
    )];
    read_phase(
        "intake listing, one query repeated",
        &client,
        fixed.clone(),
        seconds,
        conns,
        None,
    )
    .await;
    let cursors: Vec<String> = (0..10_000)
        .map(|i| format!("{base}/api/pipeline/intake?limit=50&cursor={}", 100 + i))
        .collect();
    read_phase(
        "intake listing, a new cursor each request",
        &client,
        cursors,
        seconds,
        conns,
        None,
    )
    .await;
    let writers: Vec<String> = (0..200).map(|i| bundle(100_000 + i, 50)).collect();
    read_phase(
        "intake listing during STIX imports",
        &client,
        fixed,
        seconds,
        conns,
        Some((format!("{base}/api/pipeline/import/stix"), writers)),
    )
    .await;

    // Phase 2: STIX imports over HTTP vs direct ingest.
    // Distinct reports on every run (a rerun against the same server would
    // otherwise be all suppressed).
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as usize % 1_000_000_000)
        .unwrap_or(0);
    let docs: Vec<String> = (0..bundles).map(|i| bundle(run + i, indicators)).collect();
    // Two requests in flight: one parses while the other holds the write lock.
    let t = Instant::now();
    let mut new = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 0usize;
    let in_flight: usize = arg(&args, "--import-concurrency", 2);
    loop {
        while tasks.len() < in_flight && next < docs.len() {
            let c = client.clone();
            let url = format!("{base}/api/pipeline/import/stix");
            let body = docs[next].clone();
            next += 1;
            tasks.spawn(async move {
                let r = c
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201);
                let v: serde_json::Value = r.json().await.unwrap();
                v["observables_new"].as_u64().unwrap()
            });
        }
        match tasks.join_next().await {
            Some(r) => new += r.unwrap(),
            None => break,
        }
    }
    let http = t.elapsed();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("direct.db").display()
    ))
    .await
    .unwrap();
    let ctx = IngestContext::new(Actor::system("bench"), "import.stix");
    let mut ingest_only = Duration::ZERO;
    let t = Instant::now();
    for d in &docs {
        let r = threatmapper_core::stix::parse(d.as_bytes()).unwrap();
        let ti = Instant::now();
        store.ingest(&r.drafts, &ctx).await.unwrap();
        ingest_only += ti.elapsed();
    }
    let direct = t.elapsed();
    let total = (bundles * indicators) as f64;
    println!(
        "STIX import over HTTP: {bundles} bundles × {indicators} indicators ({new} new observables) in {:.2} s = {:.0} observables/s",
        http.as_secs_f64(),
        total / http.as_secs_f64()
    );
    println!(
        "direct parse+ingest: {:.2} s = {:.0} observables/s; ingest alone: {:.0} observables/s",
        direct.as_secs_f64(),
        total / direct.as_secs_f64(),
        total / ingest_only.as_secs_f64()
    );
    println!(
        "HTTP import throughput = {:.0}% of direct parse+ingest, {:.0}% of direct ingest alone",
        100.0 * direct.as_secs_f64() / http.as_secs_f64(),
        100.0 * ingest_only.as_secs_f64() / http.as_secs_f64()
    );
}

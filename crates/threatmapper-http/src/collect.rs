//! Collection: run a feed source once (fetch, parse, ingest, record the run)
//! and the scheduler that runs due sources in the background.

use std::sync::Arc;
use std::time::Duration;

use threatmapper_store::{Actor, CollectionRun, IngestContext, RunRecord, Source, Store};
use tokio::sync::{Semaphore, watch};

use crate::fetch::{FetchError, Fetcher, Validators};

/// What the collector needs: the store, the guarded client and a worker id
/// for leases.
#[derive(Debug, Clone)]
pub struct Collector {
    /// The store.
    pub store: Store,
    /// The guarded client.
    pub fetcher: Fetcher,
    /// This worker's lease owner id (`hostname:pid:random`).
    pub owner: String,
    /// How long a claimed source stays leased.
    pub lease: Duration,
}

/// A lease owner id unique to this process.
pub fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1";

/// Run one source now, due or not; [`threatmapper_store::Error::Leased`]
/// when another worker is collecting it.
pub async fn run_now(
    c: &Collector,
    id: i64,
    actor: &Actor,
) -> Result<CollectionRun, threatmapper_store::Error> {
    let source = c
        .store
        .claim_source(id, &c.owner, chrono::Utc::now(), c.lease)
        .await?;
    collect(c, &source, actor).await
}

/// Fetch, parse and ingest a claimed source, then record the run (which
/// releases the lease). Fetch and parse failures are recorded as the run's
/// status; only a store failure is returned as an error.
pub async fn collect(
    c: &Collector,
    source: &Source,
    actor: &Actor,
) -> Result<CollectionRun, threatmapper_store::Error> {
    let started = chrono::Utc::now();
    let validators = Validators {
        etag: source.etag.clone(),
        last_modified: source.last_modified.clone(),
    };
    let mut run = RunRecord {
        started_at: started,
        finished_at: started,
        status: "ok".to_owned(),
        fetched: 0,
        new: 0,
        suppressed: 0,
        error: None,
        etag: None,
        last_modified: None,
    };
    match c.fetcher.get(&source.url, ACCEPT, &validators).await {
        Err(e) => fail(&mut run, &e),
        Ok(f) if f.status == 304 => {
            run.status = "not_modified".to_owned();
            run.etag = f.validators.etag;
            run.last_modified = f.validators.last_modified;
        }
        Ok(f) => {
            let url = source.url.clone();
            let body = f.body;
            let parsed = tokio::task::spawn_blocking(move || {
                threatmapper_core::feed::parse(&body, Some(&url))
            })
            .await;
            match parsed {
                Ok(Ok(result)) => {
                    run.fetched = result.drafts.len() as i64;
                    let mut ctx = IngestContext::new(actor.clone(), "source.collect");
                    ctx.source_id = Some(source.id);
                    match c.store.ingest(&result.drafts, &ctx).await {
                        Ok(o) => {
                            run.new = o.reports as i64;
                            run.suppressed = o.suppressed as i64;
                            run.etag = f.validators.etag;
                            run.last_modified = f.validators.last_modified;
                            if !result.rejected.is_empty() {
                                run.error = Some(format!(
                                    "{} entr{} refused: {}",
                                    result.rejected.len(),
                                    if result.rejected.len() == 1 {
                                        "y"
                                    } else {
                                        "ies"
                                    },
                                    result
                                        .rejected
                                        .iter()
                                        .take(3)
                                        .map(|r| format!("{} ({})", r.location, r.reason))
                                        .collect::<Vec<_>>()
                                        .join("; ")
                                ));
                            }
                        }
                        Err(e) if e.is_retryable() => return Err(e),
                        Err(e) => {
                            run.status = "store".to_owned();
                            run.error = Some(e.to_string());
                        }
                    }
                }
                Ok(Err(e)) => {
                    run.status = "not_a_feed".to_owned();
                    run.error = Some(e.to_string());
                }
                Err(e) => {
                    run.status = "parser".to_owned();
                    run.error = Some(format!("parser task failed: {e}"));
                }
            }
        }
    }
    run.finished_at = chrono::Utc::now();
    c.store.record_run(source.id, &c.owner, &run, actor).await
}

fn fail(run: &mut RunRecord, e: &FetchError) {
    run.status = e.class().to_owned();
    run.error = Some(e.to_string());
}

/// Claim every due source (in batches) and collect them with at most
/// `concurrency` at once. Returns the recorded runs.
pub async fn run_due(
    c: &Collector,
    actor: &Actor,
    concurrency: usize,
    mut progress: impl FnMut(&CollectionRun),
) -> Result<Vec<CollectionRun>, threatmapper_store::Error> {
    let sem = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut runs = Vec::new();
    // Bounded: each round claims at most 4×concurrency, and a claimed source
    // is not due again until its run moves next_due_at forward.
    for _round in 0..1000 {
        let claimed = c
            .store
            .claim_due_sources(
                &c.owner,
                chrono::Utc::now(),
                c.lease,
                (concurrency * 4) as u32,
            )
            .await?;
        if claimed.is_empty() {
            break;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for s in claimed {
            let c = c.clone();
            let actor = actor.clone();
            let sem = sem.clone();
            tasks.spawn(async move {
                let _permit = sem.acquire_owned().await;
                collect(&c, &s, &actor).await
            });
        }
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok(Ok(run)) => {
                    progress(&run);
                    runs.push(run);
                }
                Ok(Err(e)) => tracing::error!(error = %e, "collection run could not be recorded"),
                Err(e) => tracing::error!(error = %e, "collection task failed"),
            }
        }
    }
    Ok(runs)
}

/// The background scheduler: every `tick` it collects the due sources,
/// until `shutdown` turns true.
pub fn spawn_scheduler(
    c: Collector,
    tick: Duration,
    concurrency: usize,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let actor = Actor::system("scheduler");
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
            match run_due(&c, &actor, concurrency, |r| {
                tracing::info!(source = r.source_id, status = %r.status, fetched = r.fetched, new = r.new, suppressed = r.suppressed, "collected");
            })
            .await
            {
                Ok(runs) if !runs.is_empty() => tracing::info!(runs = runs.len(), "scheduler tick done"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "scheduler could not claim sources"),
            }
        }
    })
}

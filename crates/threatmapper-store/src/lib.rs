//! # threatmapper-store
//!
//! Persistence for ThreatMapper with sqlx: SQLite is the embedded default
//! (`sqlite://threatmapper.db`, created on first use, WAL mode), PostgreSQL
//! (`postgres://...`) serves teams and server replicas. One [`Store`] type
//! covers both; the SQL is written once (`backend.rs`) and compiled for each
//! backend, with the few dialect differences named where they occur.
//!
//! What it guarantees:
//! - **Transactional ingest with dedup.** [`Store::ingest`] stores report
//!   drafts as `pending` in one transaction. A report whose canonical URL key
//!   or normalized title key is already known is suppressed (counted and
//!   returned, never silently dropped); observables are unique by
//!   `(kind, canonical value)`. Unique constraints enforce this, so
//!   concurrent imports of the same data store it once.
//! - **An append-only, hash-chained audit trail.** Every mutation writes its
//!   audit event in the same transaction; [`Store::verify_audit_chain`]
//!   detects an edited or deleted event. Triggers refuse updates and deletes
//!   of audit rows on both backends.
//! - **Leases for collection.** [`Store::claim_due_sources`] hands each due
//!   source to one worker at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
//!   an atomic conditional `UPDATE` on SQLite); expired leases are reclaimable.
//! - **Typed errors.** A database that is down or busy gives a retryable
//!   [`Error`] ([`Error::is_retryable`]); bad input is refused before the
//!   database is touched.
//!
//! Architecture invariant: this crate knows SQL, not HTTP. It calls the pure
//! core for dedup keys and spans and the rules crate to validate rule versions.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use threatmapper_core::{ObservableKind, Origin, ReportDraft};
//! use threatmapper_store::{Actor, IngestContext, IntakeQuery, Store};
//!
//! let store = Store::open("sqlite::memory:").await?;
//! let mut draft = ReportDraft::new(Origin::Stix, "APT99 targets routers");
//! draft.summary = "C2 at 203.0.113.7".into();
//! draft.add_observable(ObservableKind::Ipv4, "203.0.113.7".into(), "indicator--1".into());
//! let ctx = IngestContext::new(Actor::new("alice", &["analyst"]), "import.stix");
//!
//! let first = store.ingest(&[draft.clone()], &ctx).await?;
//! assert_eq!((first.reports, first.observables_new), (1, 1));
//! let again = store.ingest(&[draft], &ctx).await?;
//! assert_eq!((again.reports, again.suppressed), (0, 1));
//!
//! let page = store.intake(&IntakeQuery::default()).await?;
//! assert_eq!(page.total, 1);
//! assert_eq!(page.items[0].status.as_str(), "pending");
//! assert!(store.verify_audit_chain().await?.ok);
//! # Ok::<(), threatmapper_store::Error>(())
//! # }).unwrap();
//! ```

use std::str::FromStr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use threatmapper_core::ReportDraft;

mod error;
pub mod model;
mod prepare;

pub use error::{Error, Result};
pub use model::*;

/// Largest value accepted for one text field, by field.
pub mod limits {
    /// Report title, bytes.
    pub const TITLE: usize = 4 * 1024;
    /// Report URL, bytes.
    pub const URL: usize = 4 * 1024;
    /// Report content, bytes.
    pub const CONTENT: usize = 16 * 1024 * 1024;
    /// One observable value, bytes.
    pub const OBSERVABLE: usize = 4 * 1024;
    /// Observables per report.
    pub const OBSERVABLES_PER_REPORT: usize = 200_000;
    /// One label, external id, author or TLP, bytes.
    pub const SHORT: usize = 1024;
    /// Labels or external ids per report.
    pub const LIST: usize = 10_000;
    /// Reports per ingest call.
    pub const REPORTS_PER_INGEST: usize = 100_000;
    /// A rule's text, bytes.
    pub const RULE: usize = 1024 * 1024;
    /// An enrichment's raw excerpt, bytes (longer excerpts are cut).
    pub const RAW_EXCERPT: usize = 4 * 1024;
    /// An enrichment's summary JSON, bytes.
    pub const SUMMARY: usize = 64 * 1024;
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (embedded).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// How to open a [`Store`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path`, `sqlite::memory:`, a plain file path, or
    /// `postgres://...`.
    pub url: String,
    /// Pool size (default: 8 for SQLite files, 1 for in-memory SQLite, 10
    /// for PostgreSQL).
    pub max_connections: Option<u32>,
    /// How long to wait for a connection before answering
    /// [`Error::Unavailable`] (default 5 s).
    pub acquire_timeout: Duration,
    /// PostgreSQL only: use (and create) this schema instead of `public`.
    /// Tests use it to run in parallel without touching each other.
    pub postgres_schema: Option<String>,
    /// Apply pending migrations on open (default true).
    pub migrate: bool,
    /// PostgreSQL `application_name` of the connections (default
    /// `threatmapper`), visible in `pg_stat_activity`.
    pub application_name: Option<String>,
    /// SQLite only: extra `PRAGMA name = value` settings for every
    /// connection (e.g. `max_page_count` to cap the file's size).
    pub sqlite_pragmas: Vec<(String, String)>,
}

impl StoreOptions {
    /// Options for a URL with the defaults.
    pub fn new(url: impl Into<String>) -> StoreOptions {
        StoreOptions {
            url: url.into(),
            max_connections: None,
            acquire_timeout: Duration::from_secs(5),
            postgres_schema: None,
            migrate: true,
            application_name: None,
            sqlite_pragmas: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// The ThreatMapper database: cheap to clone (a shared connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    intake_cache: std::sync::Arc<std::sync::Mutex<IntakeCache>>,
}

/// Recently served intake pages, each valid for one audit-chain position.
///
/// Every change that can alter the intake queue (ingest, review, source
/// deletion) appends an audit event in its own transaction, moving
/// `audit_head.seq` — in this process or any other writing the same
/// database. A page cached at seq N is served only while the head is still
/// at N, so a cache hit costs one single-row read and is never stale.
#[derive(Debug, Default)]
struct IntakeCache {
    pages: std::collections::HashMap<String, (i64, IntakePage)>,
}

impl IntakeCache {
    const MAX: usize = 256;

    fn get(&self, key: &str, seq: i64) -> Option<IntakePage> {
        match self.pages.get(key) {
            Some((s, page)) if *s == seq => Some(page.clone()),
            _ => None,
        }
    }

    fn put(&mut self, key: String, seq: i64, page: IntakePage) {
        if self.pages.len() >= Self::MAX {
            self.pages.retain(|_, (s, _)| *s == seq);
            if self.pages.len() >= Self::MAX {
                self.pages.clear();
            }
        }
        self.pages.insert(key, (seq, page));
    }
}

/// Run one backend function on whichever pool the store holds.
macro_rules! dispatch {
    ($self:ident . $f:ident ( $($arg:expr),* $(,)? )) => {
        match &$self.pool {
            Pool::Sqlite(p) => sqlite::$f(p, $($arg),*).await,
            Pool::Postgres(p) => pg::$f(p, $($arg),*).await,
        }
    };
}

/// One applied migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Version number.
    pub version: i64,
    /// Name.
    pub name: &'static str,
}

/// Whether a URL names a PostgreSQL database.
fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Is `name` a plain SQL identifier (schema names are interpolated).
fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Store {
    /// Open (creating an SQLite file if needed) and migrate.
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with(StoreOptions::new(url)).await
    }

    /// Open with explicit options.
    pub async fn open_with(opts: StoreOptions) -> Result<Store> {
        let store = if is_postgres_url(&opts.url) {
            let mut co = PgConnectOptions::from_str(&opts.url)
                .map_err(|e| Error::Config(format!("{}: {e}", redact(&opts.url))))?
                .application_name(opts.application_name.as_deref().unwrap_or("threatmapper"));
            if let Some(schema) = &opts.postgres_schema {
                if !valid_identifier(schema) {
                    return Err(Error::invalid(
                        "postgres_schema",
                        "must be a lowercase identifier of at most 63 characters",
                    ));
                }
                // Create the schema on one short-lived connection first.
                let setup = PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(co.clone())
                    .await?;
                let sql = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&setup)
                    .await?;
                setup.close().await;
                co = co.options([("search_path", schema.as_str())]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.unwrap_or(10))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(co)
                .await?;
            Store {
                pool: Pool::Postgres(pool),
                intake_cache: Default::default(),
            }
        } else {
            let memory = opts.url.contains(":memory:") || opts.url.contains("mode=memory");
            let co = if opts.url.starts_with("sqlite:") {
                SqliteConnectOptions::from_str(&opts.url)
                    .map_err(|e| Error::Config(format!("{}: {e}", opts.url)))?
            } else if opts.url.contains("://") {
                return Err(Error::Config(format!(
                    "{}: unsupported database URL (use sqlite://PATH or postgres://...)",
                    redact(&opts.url)
                )));
            } else {
                SqliteConnectOptions::new().filename(&opts.url)
            };
            let mut co = co
                .create_if_missing(true)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            if !memory {
                co = co
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal);
            }
            for (k, v) in &opts.sqlite_pragmas {
                if !valid_identifier(k)
                    || !v
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(Error::invalid(
                        "sqlite_pragmas",
                        format!("`{k} = {v}` is not a plain pragma setting"),
                    ));
                }
                co = co.pragma(k.clone(), v.clone());
            }
            let max = opts.max_connections.unwrap_or(if memory { 1 } else { 8 });
            let pool = SqlitePoolOptions::new()
                .max_connections(if memory { 1 } else { max })
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(co)
                .await?;
            Store {
                pool: Pool::Sqlite(pool),
                intake_cache: Default::default(),
            }
        };
        if opts.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Apply pending migrations; returns the ones applied now.
    pub async fn migrate(&self) -> Result<Vec<Migration>> {
        dispatch!(self.migrate())
    }

    /// The schema version of the database (0 before any migration).
    pub async fn schema_version(&self) -> Result<i64> {
        dispatch!(self.schema_version())
    }

    /// Check that the database answers.
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self.ping())
    }

    /// Close every connection.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    /// Store report drafts as pending intake in one transaction.
    ///
    /// Drafts whose canonical URL key or normalized title key is already
    /// stored (or appears earlier in `drafts`) are suppressed and listed in
    /// the outcome. Observables are upserted by `(kind, value)` and linked
    /// with their spans in the report content. The audit event is written in
    /// the same transaction. Contention (SQLite busy, PostgreSQL deadlock)
    /// is retried a few times before [`Error::Busy`].
    pub async fn ingest(
        &self,
        drafts: &[ReportDraft],
        ctx: &IngestContext,
    ) -> Result<IngestOutcome> {
        let prepared = prepare::prepare(drafts)?;
        let mut attempt = 0u32;
        loop {
            let r = dispatch!(self.ingest(&prepared, ctx));
            match r {
                Err(Error::Busy(_)) if attempt < 6 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(10u64 << attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// A page of the intake queue, newest first, with the total matching.
    ///
    /// Pages are cached per query and audit-chain position (see the
    /// `IntakeCache` notes): a repeated query with no change in between
    /// costs one single-row read.
    pub async fn intake(&self, q: &IntakeQuery) -> Result<IntakePage> {
        let key = format!("{q:?}");
        let seq = dispatch!(self.audit_seq())?;
        if let Ok(cache) = self.intake_cache.lock()
            && let Some(page) = cache.get(&key, seq)
        {
            return Ok(page);
        }
        let page = dispatch!(self.intake(q))?;
        if let Ok(mut cache) = self.intake_cache.lock() {
            cache.put(key, seq, page.clone());
        }
        Ok(page)
    }

    /// A report with its observables, their enrichments and its rules.
    pub async fn report(&self, id: i64) -> Result<Option<ReportDetail>> {
        dispatch!(self.report(id))
    }

    /// Review a pending report: accept, or reject with a reason. Any other
    /// transition is [`Error::InvalidTransition`].
    pub async fn review(
        &self,
        id: i64,
        to: IntakeStatus,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Result<Report> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if to == IntakeStatus::Rejected && reason.is_none() {
            return Err(Error::invalid(
                "reason",
                "a reason is required to reject a report",
            ));
        }
        if reason.is_some_and(|r| r.len() > limits::SHORT * 4) {
            return Err(Error::invalid("reason", "longer than 4096 bytes"));
        }
        if to == IntakeStatus::Pending {
            return Err(Error::invalid(
                "status",
                "a report can only become accepted or rejected",
            ));
        }
        dispatch!(self.review(id, to, reason, actor))
    }

    /// List or search observables, newest first.
    pub async fn observables(&self, q: &ObservableQuery) -> Result<ObservablePage> {
        dispatch!(self.observables(q))
    }

    /// One observable with its reports and enrichment history.
    pub async fn observable(&self, id: i64) -> Result<Option<ObservableDetail>> {
        dispatch!(self.observable(id))
    }

    /// Add an observable by hand. The value is validated and canonicalized by
    /// the core ([`threatmapper_core::canonical_observable`]); returns the
    /// stored observable and whether it is new. When `report_id` is given the
    /// observable is also linked to that report.
    pub async fn add_manual_observable(
        &self,
        kind: ObservableKind,
        value: &str,
        note: Option<&str>,
        report_id: Option<i64>,
        actor: &Actor,
    ) -> Result<(Observable, bool)> {
        if value.len() > limits::OBSERVABLE {
            return Err(Error::invalid(
                "value",
                format!("longer than {} bytes", limits::OBSERVABLE),
            ));
        }
        let canonical = threatmapper_core::canonical_observable(kind, value)
            .map_err(|e| Error::invalid("value", e.to_string()))?;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.len() > limits::SHORT * 4) {
            return Err(Error::invalid("note", "longer than 4096 bytes"));
        }
        dispatch!(self.add_manual_observable(kind, &canonical, note, report_id, actor))
    }

    /// Record an enrichment result (a new evidence row; earlier ones stay).
    pub async fn add_enrichment(
        &self,
        observable_id: i64,
        e: &NewEnrichment,
        actor: &Actor,
    ) -> Result<Enrichment> {
        if !matches!(
            e.status.as_str(),
            "ok" | "not_found" | "error" | "rate_limited"
        ) {
            return Err(Error::invalid(
                "status",
                "must be ok, not_found, error or rate_limited",
            ));
        }
        if !(0..=100).contains(&e.confidence) {
            return Err(Error::invalid("confidence", "must be between 0 and 100"));
        }
        if e.provider.is_empty() || e.provider.len() > 64 {
            return Err(Error::invalid("provider", "must be 1 to 64 bytes"));
        }
        let summary = serde_json::to_string(&e.summary)
            .map_err(|err| Error::invalid("summary", err.to_string()))?;
        if summary.len() > limits::SUMMARY {
            return Err(Error::invalid(
                "summary",
                format!("longer than {} bytes", limits::SUMMARY),
            ));
        }
        let excerpt = e
            .raw_excerpt
            .as_deref()
            .map(|x| clip(x, limits::RAW_EXCERPT));
        dispatch!(self.add_enrichment(observable_id, e, &summary, excerpt, actor))
    }

    /// Every source, by id.
    pub async fn sources(&self) -> Result<Vec<Source>> {
        dispatch!(self.sources())
    }

    /// One source.
    pub async fn source(&self, id: i64) -> Result<Option<Source>> {
        dispatch!(self.source(id))
    }

    /// Create a collection source (due immediately when enabled).
    pub async fn create_source(&self, s: &NewSource, actor: &Actor) -> Result<Source> {
        validate_source_url(&s.url)?;
        validate_interval(s.interval_minutes)?;
        validate_name(s.name.as_deref())?;
        dispatch!(self.create_source(s, actor))
    }

    /// Change a source.
    pub async fn update_source(&self, id: i64, u: &SourceUpdate, actor: &Actor) -> Result<Source> {
        if let Some(url) = &u.url {
            validate_source_url(url)?;
        }
        if let Some(i) = u.interval_minutes {
            validate_interval(i)?;
        }
        validate_name(u.name.as_deref())?;
        dispatch!(self.update_source(id, u, actor))
    }

    /// Delete a source and its runs (its reports stay, unlinked).
    pub async fn delete_source(&self, id: i64, actor: &Actor) -> Result<()> {
        dispatch!(self.delete_source(id, actor))
    }

    /// Lease up to `limit` enabled sources whose next due time has passed
    /// and whose lease is free or expired, for `lease` to `owner`.
    pub async fn claim_due_sources(
        &self,
        owner: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Source>> {
        let lease = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 4);
        dispatch!(self.claim_due_sources(owner, micros(now), lease, i64::from(limit.max(1))))
    }

    /// Lease one source now, due or not (a manual run). [`Error::Leased`]
    /// when another worker holds an unexpired lease.
    pub async fn claim_source(
        &self,
        id: i64,
        owner: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease: Duration,
    ) -> Result<Source> {
        let lease = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 4);
        dispatch!(self.claim_source(id, owner, micros(now), lease))
    }

    /// Record a finished run: stores the run, moves the source's next due
    /// time (interval on success; exponential backoff capped at 24 h after
    /// failures), keeps the conditional-GET state, releases `owner`'s lease
    /// and writes the audit event, in one transaction.
    pub async fn record_run(
        &self,
        source_id: i64,
        owner: &str,
        run: &RunRecord,
        actor: &Actor,
    ) -> Result<CollectionRun> {
        dispatch!(self.record_run(source_id, owner, run, actor))
    }

    /// Runs of a source, newest first.
    pub async fn runs(&self, source_id: i64, limit: u32) -> Result<Vec<CollectionRun>> {
        dispatch!(self.runs(source_id, i64::from(limit.clamp(1, 1000))))
    }

    /// Store a new rule as version 1 (validated by the rules crate).
    pub async fn create_rule(&self, r: &NewRule, actor: &Actor) -> Result<RuleHistory> {
        if r.content.len() > limits::RULE {
            return Err(Error::invalid(
                "content",
                format!("longer than {} bytes", limits::RULE),
            ));
        }
        if r.title.len() > limits::TITLE {
            return Err(Error::invalid(
                "title",
                format!("longer than {} bytes", limits::TITLE),
            ));
        }
        let v = validated(r.language, &r.content)?;
        dispatch!(self.create_rule(r, &v, actor))
    }

    /// Store an edited rule text as version n+1 (parent: the latest).
    pub async fn add_rule_version(
        &self,
        rule_id: i64,
        content: &str,
        actor: &Actor,
    ) -> Result<StoredRuleVersion> {
        if content.len() > limits::RULE {
            return Err(Error::invalid(
                "content",
                format!("longer than {} bytes", limits::RULE),
            ));
        }
        dispatch!(self.add_rule_version(rule_id, content, actor))
    }

    /// A rule with all its versions.
    pub async fn rule(&self, id: i64) -> Result<Option<RuleHistory>> {
        dispatch!(self.rule(id))
    }

    /// Rules, newest first, optionally of one report.
    pub async fn rules(&self, report_id: Option<i64>, limit: u32) -> Result<Vec<RuleSummary>> {
        dispatch!(self.rules(report_id, i64::from(limit.clamp(1, 1000))))
    }

    /// Append an audit event on its own (for events without a data change,
    /// such as a denied request).
    pub async fn record_audit(&self, e: &NewAuditEvent) -> Result<i64> {
        dispatch!(self.record_audit(e))
    }

    /// A page of the audit trail, newest first.
    pub async fn audit(&self, q: &AuditQuery) -> Result<AuditPage> {
        dispatch!(self.audit(q))
    }

    /// Recompute the hash chain and compare it with every stored event and
    /// the chain head; the first break is reported.
    pub async fn verify_audit_chain(&self) -> Result<AuditVerification> {
        dispatch!(self.verify_audit_chain())
    }

    /// Reports per day by origin over the last `days` days, and per status.
    pub async fn activity(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        days: u32,
    ) -> Result<Activity> {
        let from = micros(now) - i64::from(days.clamp(1, 366)) * 86_400_000_000;
        dispatch!(self.activity(from))
    }
}

/// A validated rule text ready to store.
#[derive(Debug)]
struct ValidatedRule {
    hash: String,
    status: &'static str,
    diagnostics: String,
}

fn validated(language: threatmapper_rules::Language, content: &str) -> Result<ValidatedRule> {
    let diags = threatmapper_rules::validate(language, content);
    let status = threatmapper_rules::Status::of(&diags).as_str();
    let diagnostics = serde_json::to_string(&diags).map_err(|e| Error::Corrupt {
        what: "diagnostics",
        message: e.to_string(),
    })?;
    Ok(ValidatedRule {
        hash: threatmapper_rules::versions::content_hash(content),
        status,
        diagnostics,
    })
}

fn validate_source_url(url: &str) -> Result<()> {
    if url.len() > 2048 {
        return Err(Error::invalid("url", "longer than 2048 bytes"));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "url",
            "contains whitespace or control characters",
        ));
    }
    let parsed = url::Url::parse(url).map_err(|e| Error::invalid("url", e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid(
            "url",
            "only http and https sources are supported",
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid("url", "has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid("url", "must not carry credentials"));
    }
    Ok(())
}

fn validate_interval(minutes: i64) -> Result<()> {
    if !(1..=525_600).contains(&minutes) {
        return Err(Error::invalid(
            "interval_minutes",
            "must be between 1 and 525600 (a year)",
        ));
    }
    Ok(())
}

fn validate_name(name: Option<&str>) -> Result<()> {
    if name.is_some_and(|n| n.len() > 256 || n.chars().any(char::is_control)) {
        return Err(Error::invalid(
            "name",
            "must be at most 256 bytes without control characters",
        ));
    }
    Ok(())
}

/// The URL with any password replaced, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

pub(crate) fn now_micros() -> i64 {
    micros(chrono::Utc::now())
}

pub(crate) fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

/// RFC 3339 text of a stored time.
pub(crate) fn rfc3339(us: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(t) if t.timestamp_subsec_micros() == 0 => {
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        }
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        None => us.to_string(),
    }
}

/// The audit hash of an event: SHA-256 over an unambiguous JSON array of the
/// previous hash and every stored field.
#[allow(clippy::too_many_arguments)]
pub(crate) fn audit_hash(
    prev: &str,
    seq: i64,
    at: i64,
    actor: &str,
    roles: &str,
    action: &str,
    target: &str,
    outcome: &str,
    details: &str,
) -> String {
    let canonical = serde_json::json!([
        prev, seq, at, actor, roles, action, target, outcome, details
    ]);
    hex(&Sha256::digest(canonical.to_string().as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The genesis `prev_hash` of the first audit event.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

mod sqlite {
    //! The backend code compiled for SQLite.
    pub(crate) type Db = sqlx::Sqlite;
    const DIALECT: super::prepare::Dialect = super::prepare::Dialect::Sqlite;
    const MIGRATIONS: &[(i64, &str, &str)] = &[
        (
            1,
            "init",
            include_str!("../migrations/sqlite/0001_init.sql"),
        ),
        (
            2,
            "intake_counts",
            include_str!("../migrations/sqlite/0002_intake_counts.sql"),
        ),
    ];

    /// SQLite write transactions take the write lock up front, so two
    /// writers never deadlock upgrading a read lock.
    async fn begin_write(
        pool: &sqlx::Pool<Db>,
    ) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    include!("backend.rs");
}

mod pg {
    //! The backend code compiled for PostgreSQL.
    pub(crate) type Db = sqlx::Postgres;
    const DIALECT: super::prepare::Dialect = super::prepare::Dialect::Postgres;
    const MIGRATIONS: &[(i64, &str, &str)] = &[
        (
            1,
            "init",
            include_str!("../migrations/postgres/0001_init.sql"),
        ),
        (
            2,
            "intake_counts",
            include_str!("../migrations/postgres/0002_intake_counts.sql"),
        ),
    ];

    async fn begin_write(
        pool: &sqlx::Pool<Db>,
    ) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
        pool.begin().await
    }

    include!("backend.rs");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_urls() {
        assert!(valid_identifier("tm_test_1"));
        assert!(!valid_identifier("x; drop"));
        assert!(!valid_identifier("Upper"));
        assert!(validate_source_url("https://example.com/feed.xml").is_ok());
        assert!(validate_source_url("ftp://example.com/").is_err());
        assert!(validate_source_url("https://example.com/\r\nX-Auth-User: a").is_err());
        assert!(validate_source_url("https://u:p@example.com/").is_err());
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(clip("héllo", 2), "h");
    }

    #[test]
    fn audit_hash_covers_every_field() {
        let base = audit_hash("p", 1, 2, "a", "[]", "x", "t", "ok", "{}");
        assert_ne!(
            base,
            audit_hash("p", 1, 2, "a", "[]", "x", "t", "ok", "{ }")
        );
        assert_ne!(base, audit_hash("q", 1, 2, "a", "[]", "x", "t", "ok", "{}"));
        assert_ne!(
            base,
            audit_hash("p", 1, 2, "a", "[]", "x", "t", "denied", "{}")
        );
        assert_eq!(base.len(), 64);
    }
}

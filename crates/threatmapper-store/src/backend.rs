// The backend code, written once and compiled for each database: `lib.rs`
// includes this file in `mod sqlite` and in `mod pg`, where `Db`, `DIALECT`,
// `MIGRATIONS` and `begin_write` are defined. Every SQL statement here runs
// on both SQLite (3.35+) and PostgreSQL (12+); the few that cannot are
// chosen by `DIALECT` where they occur.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Row};

use crate::prepare::{Dialect, PreparedReport};
use crate::{
    Activity, Actor, AuditEvent, AuditPage, AuditQuery, AuditVerification, CollectionRun,
    Enrichment, Error, IngestContext, IngestOutcome, IntakePage, IntakeQuery, IntakeStatus,
    LinkedObservable, Migration, NewAuditEvent, NewEnrichment, NewRule, NewSource, Observable,
    ObservableDetail, ObservableKind, ObservablePage, ObservableQuery, Report, ReportDetail,
    ReportSummary, Result, Review, RuleHistory, RuleSummary, RunRecord, Source, SourceKind,
    SourceUpdate, StoredRuleVersion, SuppressedReport, ValidatedRule, now_micros, rfc3339,
};

type Pool = sqlx::Pool<Db>;
type Conn = <Db as sqlx::Database>::Connection;
type DbRow = <Db as sqlx::Database>::Row;

/// Rows per multi-row INSERT (6 parameters each stays far below both
/// backends' bind-parameter limits).
const CHUNK: usize = 500;

fn sql(s: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(s)
}

fn get<'r, T>(row: &'r DbRow, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get::<T, _>(col).map_err(Error::from)
}

fn json_list(row: &DbRow, col: &'static str) -> Result<Vec<String>> {
    let s: String = get(row, col)?;
    serde_json::from_str(&s).map_err(|e| Error::Corrupt {
        what: col,
        message: e.to_string(),
    })
}

fn json_value(row: &DbRow, col: &'static str) -> Result<serde_json::Value> {
    let s: String = get(row, col)?;
    serde_json::from_str(&s).map_err(|e| Error::Corrupt {
        what: col,
        message: e.to_string(),
    })
}

fn opt_time(row: &DbRow, col: &str) -> Result<Option<String>> {
    Ok(get::<Option<i64>>(row, col)?.map(rfc3339))
}

fn time(row: &DbRow, col: &str) -> Result<String> {
    Ok(rfc3339(get::<i64>(row, col)?))
}

/// `LIKE` pattern for a literal prefix/substring, escaped with `\`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Keyset paging: queries fetch `limit + 1` rows; keep `limit` and return
/// the cursor (the last kept key) when there was more.
fn page_end<T>(items: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> i64) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(|x| key(x).to_string())
}

fn parse_cursor(c: Option<&str>) -> Result<Option<i64>> {
    match c {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| Error::invalid("cursor", "not a cursor returned by a previous page")),
    }
}

// ---------------------------------------------------------------- migrations

pub(crate) async fn migrate(pool: &Pool) -> Result<Vec<Migration>> {
    let mut tx = begin_write(pool).await?;
    if DIALECT == Dialect::Postgres {
        // Several servers starting at once migrate one at a time.
        sqlx::query("SELECT pg_advisory_xact_lock(7305241)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS tm_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query("SELECT version, name, checksum FROM tm_migrations ORDER BY version")
        .fetch_all(&mut *tx)
        .await?;
    let mut applied = HashMap::new();
    for r in &rows {
        applied.insert(get::<i64>(r, "version")?, get::<String>(r, "checksum")?);
    }
    let known_max = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if let Some(&newest) = applied.keys().max()
        && newest > known_max
    {
        return Err(Error::Migration {
            version: newest,
            name: String::new(),
            message: format!(
                "the database schema is newer than this build knows (version {known_max}); upgrade threatmapper"
            ),
        });
    }
    let mut done = Vec::new();
    for &(version, name, text) in MIGRATIONS {
        let checksum = crate::hex(&<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
        match applied.get(&version) {
            Some(c) if *c == checksum => continue,
            Some(_) => {
                return Err(Error::Migration {
                    version,
                    name: name.to_owned(),
                    message: "already applied with different content (edited migration file)"
                        .into(),
                });
            }
            None => {}
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(text))
            .execute(&mut *tx)
            .await
            .map_err(|e| Error::Migration {
                version,
                name: name.to_owned(),
                message: e.to_string(),
            })?;
        sqlx::query("INSERT INTO tm_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)")
            .bind(version)
            .bind(name)
            .bind(checksum)
            .bind(now_micros())
            .execute(&mut *tx)
            .await?;
        done.push(Migration { version, name });
    }
    tx.commit().await?;
    Ok(done)
}

pub(crate) async fn schema_version(pool: &Pool) -> Result<i64> {
    let exists: i64 = if DIALECT == Dialect::Postgres {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'tm_migrations'",
        )
        .fetch_one(pool)
        .await?
    } else {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'tm_migrations'",
        )
        .fetch_one(pool)
        .await?
    };
    if exists == 0 {
        return Ok(0);
    }
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM tm_migrations")
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0))
}

/// The audit chain's head position (moves with every audited change).
pub(crate) async fn audit_seq(pool: &Pool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await?)
}

pub(crate) async fn ping(pool: &Pool) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

// --------------------------------------------------------------------- audit

/// Append an audit event inside the caller's transaction; returns its seq.
async fn append_audit(conn: &mut Conn, e: &NewAuditEvent) -> Result<i64> {
    let head_sql = if DIALECT == Dialect::Postgres {
        "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
    } else {
        "SELECT seq, hash FROM audit_head WHERE id = 1"
    };
    let head = sqlx::query(head_sql).fetch_one(&mut *conn).await?;
    let prev_seq: i64 = get(&head, "seq")?;
    let prev_hash: String = get(&head, "hash")?;
    let seq = prev_seq + 1;
    let at = now_micros();
    let roles = serde_json::to_string(&e.actor.roles).unwrap_or_else(|_| "[]".into());
    let details = e.details.to_string();
    let hash = crate::audit_hash(
        &prev_hash,
        seq,
        at,
        &e.actor.name,
        &roles,
        &e.action,
        &e.target,
        &e.outcome,
        &details,
    );
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor, roles, action, target, outcome, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(seq)
    .bind(at)
    .bind(e.actor.name.clone())
    .bind(roles)
    .bind(e.action.clone())
    .bind(e.target.clone())
    .bind(e.outcome.clone())
    .bind(details)
    .bind(prev_hash)
    .bind(hash.clone())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(hash)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

fn event(actor: &Actor, action: &str, target: String, details: serde_json::Value) -> NewAuditEvent {
    NewAuditEvent {
        actor: actor.clone(),
        action: action.to_owned(),
        target,
        outcome: "ok".to_owned(),
        details,
    }
}

pub(crate) async fn record_audit(pool: &Pool, e: &NewAuditEvent) -> Result<i64> {
    let mut tx = begin_write(pool).await?;
    let seq = append_audit(&mut tx, e).await?;
    tx.commit().await?;
    Ok(seq)
}

fn audit_row(r: &DbRow) -> Result<AuditEvent> {
    Ok(AuditEvent {
        seq: get(r, "seq")?,
        at: time(r, "at")?,
        actor: get(r, "actor")?,
        roles: json_list(r, "roles")?,
        action: get(r, "action")?,
        target: get(r, "target")?,
        outcome: get(r, "outcome")?,
        details: json_value(r, "details")?,
        prev_hash: get(r, "prev_hash")?,
        hash: get(r, "hash")?,
    })
}

pub(crate) async fn audit(pool: &Pool, q: &AuditQuery) -> Result<AuditPage> {
    let limit = i64::from(q.limit.unwrap_or(100).clamp(1, 1000));
    let mut qb = QueryBuilder::<Db>::new(
        "SELECT seq, at, actor, roles, action, target, outcome, details, prev_hash, hash FROM audit_events WHERE 1=1",
    );
    if let Some(a) = &q.actor {
        qb.push(" AND actor = ").push_bind(a.clone());
    }
    if let Some(a) = &q.action_prefix {
        qb.push(" AND action LIKE ")
            .push_bind(format!("{}%", like_escape(a)))
            .push(" ESCAPE '\\'");
    }
    if let Some(t) = &q.target {
        qb.push(" AND target = ").push_bind(t.clone());
    }
    if let Some(o) = &q.outcome {
        qb.push(" AND outcome = ").push_bind(o.clone());
    }
    if let Some(f) = q.from {
        qb.push(" AND at >= ").push_bind(f.timestamp_micros());
    }
    if let Some(t) = q.to {
        qb.push(" AND at < ").push_bind(t.timestamp_micros());
    }
    if let Some(c) = q.cursor {
        qb.push(" AND seq < ").push_bind(c);
    }
    qb.push(" ORDER BY seq DESC LIMIT ").push_bind(limit + 1);
    let rows = qb.build().fetch_all(pool).await?;
    let mut items = rows.iter().map(audit_row).collect::<Result<Vec<_>>>()?;
    let next_cursor = page_end(&mut items, limit, |e| e.seq);
    Ok(AuditPage { items, next_cursor })
}

pub(crate) async fn verify_audit_chain(pool: &Pool) -> Result<AuditVerification> {
    // One read transaction so the head and the rows are one snapshot.
    let mut tx = pool.begin().await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?;
    let head_seq: i64 = get(&head, "seq")?;
    let head_hash: String = get(&head, "hash")?;
    let mut prev_hash = crate::AUDIT_GENESIS.to_owned();
    let mut expected_seq = 1i64;
    let mut checked = 0i64;
    let bad = |seq: i64, checked: i64, problem: String| AuditVerification {
        ok: false,
        checked,
        first_bad_seq: Some(seq),
        problem: Some(problem),
    };
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT seq, at, actor, roles, action, target, outcome, details, prev_hash, hash
             FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 5000",
        )
        .bind(after)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let seq: i64 = get(r, "seq")?;
            if seq != expected_seq {
                return Ok(bad(
                    expected_seq,
                    checked,
                    format!("event {expected_seq} is missing (next stored is {seq})"),
                ));
            }
            let stored_prev: String = get(r, "prev_hash")?;
            if stored_prev != prev_hash {
                return Ok(bad(
                    seq,
                    checked,
                    "prev_hash does not match the previous event's hash".into(),
                ));
            }
            let at: i64 = get(r, "at")?;
            let actor: String = get(r, "actor")?;
            let roles: String = get(r, "roles")?;
            let action: String = get(r, "action")?;
            let target: String = get(r, "target")?;
            let outcome: String = get(r, "outcome")?;
            let details: String = get(r, "details")?;
            let hash: String = get(r, "hash")?;
            let computed = crate::audit_hash(
                &prev_hash, seq, at, &actor, &roles, &action, &target, &outcome, &details,
            );
            if computed != hash {
                return Ok(bad(
                    seq,
                    checked,
                    "content does not match its hash (edited)".into(),
                ));
            }
            prev_hash = hash;
            expected_seq += 1;
            checked += 1;
            after = seq;
        }
    }
    if checked != head_seq || prev_hash != head_hash {
        return Ok(bad(
            checked + 1,
            checked,
            format!(
                "the chain head records {head_seq} events but {checked} are stored (tail deleted)"
            ),
        ));
    }
    tx.commit().await?;
    Ok(AuditVerification {
        ok: true,
        checked,
        first_bad_seq: None,
        problem: None,
    })
}

// -------------------------------------------------------------------- ingest

pub(crate) async fn ingest(
    pool: &Pool,
    reports: &[PreparedReport],
    ctx: &IngestContext,
) -> Result<IngestOutcome> {
    let now = now_micros();
    let mut tx = begin_write(pool).await?;
    let mut out = IngestOutcome::default();
    // Reports that were inserted, with their id.
    let mut stored: Vec<(usize, i64)> = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO reports (origin, source_id, title, url, url_key, title_key, published_at, author,
                content, external_ids, labels, tlp, observable_count, status, collected_at, ingested_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', $14, $15)
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(r.origin)
        .bind(ctx.source_id)
        .bind(r.title.clone())
        .bind(r.url.clone())
        .bind(r.url_key.clone())
        .bind(r.title_key.clone())
        .bind(r.published_at)
        .bind(r.author.clone())
        .bind(r.content.clone())
        .bind(r.external_ids.clone())
        .bind(r.labels.clone())
        .bind(r.tlp.clone())
        .bind(r.links.len() as i64)
        .bind(now)
        .bind(ctx.actor.name.clone())
        .fetch_optional(&mut *tx)
        .await?;
        match id {
            Some(id) => {
                stored.push((i, id));
                out.report_ids.push(id);
            }
            None => {
                let existing = sqlx::query(
                    "SELECT id, url_key FROM reports WHERE url_key = $1 OR title_key = $2 ORDER BY id LIMIT 1",
                )
                .bind(r.url_key.clone())
                .bind(r.title_key.clone())
                .fetch_optional(&mut *tx)
                .await?;
                let (existing_id, matched) = match &existing {
                    Some(row) => {
                        let key: Option<String> = get(row, "url_key")?;
                        let matched = if key.is_some() && key == r.url_key {
                            "url"
                        } else {
                            "title"
                        };
                        (Some(get::<i64>(row, "id")?), matched)
                    }
                    None => (None, "title"),
                };
                out.suppressed_reports.push(SuppressedReport {
                    index: i,
                    title: r.title.clone(),
                    matched,
                    existing_id,
                    observables: r.links.len(),
                });
            }
        }
    }
    out.reports = stored.len();
    out.suppressed = out.suppressed_reports.len();

    // Observables of the stored reports, unique and sorted so concurrent
    // transactions take row locks in one order.
    let mut wanted: Vec<(&'static str, &str)> = stored
        .iter()
        .flat_map(|&(i, _)| reports[i].links.iter().map(|l| (l.kind, l.value.as_str())))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut ids: HashMap<(&str, &str), i64> = HashMap::with_capacity(wanted.len());
    for chunk in wanted.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO observables (kind, value, first_seen_at, manual) ",
        );
        qb.push_values(chunk, |mut b, (k, v)| {
            b.push_bind(*k)
                .push_bind((*v).to_owned())
                .push_bind(now)
                .push_bind(false);
        });
        qb.push(" ON CONFLICT (kind, value) DO NOTHING RETURNING id, kind, value");
        let rows = qb.build().fetch_all(&mut *tx).await?;
        // Inserted rows by kind, then value (looked up by `&str`).
        let mut fresh: HashMap<String, HashMap<String, i64>> = HashMap::new();
        for r in &rows {
            fresh
                .entry(get(r, "kind")?)
                .or_default()
                .insert(get(r, "value")?, get(r, "id")?);
        }
        let mut missing: HashMap<&'static str, Vec<&str>> = HashMap::new();
        for &(k, v) in chunk {
            match fresh.get(k).and_then(|m| m.get(v)) {
                Some(id) => {
                    ids.insert((k, v), *id);
                    out.observables_new += 1;
                }
                None => missing.entry(k).or_default().push(v),
            }
        }
        for (k, values) in missing {
            let mut qb = QueryBuilder::<Db>::new("SELECT id, value FROM observables WHERE kind = ");
            qb.push_bind(k).push(" AND value IN (");
            let mut sep = qb.separated(", ");
            for v in &values {
                sep.push_bind((*v).to_owned());
            }
            qb.push(")");
            let rows = qb.build().fetch_all(&mut *tx).await?;
            let mut found: HashMap<String, i64> = HashMap::with_capacity(rows.len());
            for r in &rows {
                found.insert(get(r, "value")?, get(r, "id")?);
            }
            for v in values {
                let id = found.get(v).ok_or_else(|| {
                    Error::Busy(format!("observable {k} {v} vanished during ingest"))
                })?;
                ids.insert((k, v), *id);
                out.observables_existing += 1;
            }
        }
    }

    // Links with where each observable was found.
    let links: Vec<(i64, i64, &crate::prepare::PreparedLink)> = stored
        .iter()
        .flat_map(|&(i, report_id)| reports[i].links.iter().map(move |l| (report_id, l)))
        .filter_map(|(report_id, l)| {
            ids.get(&(l.kind, l.value.as_str()))
                .map(|&oid| (report_id, oid, l))
        })
        .collect();
    for chunk in links.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO report_observables (report_id, observable_id, source, spans, to_ids, category) ",
        );
        qb.push_values(chunk, |mut b, (rid, oid, l)| {
            b.push_bind(*rid)
                .push_bind(*oid)
                .push_bind(l.source.clone())
                .push_bind(l.spans.clone())
                .push_bind(l.to_ids)
                .push_bind(l.category.clone());
        });
        qb.push(" ON CONFLICT DO NOTHING");
        qb.build().execute(&mut *tx).await?;
    }

    if !stored.is_empty() {
        let mut per_origin: Vec<(&str, i64)> = Vec::new();
        for &(i, _) in &stored {
            match per_origin.iter_mut().find(|(o, _)| *o == reports[i].origin) {
                Some((_, n)) => *n += 1,
                None => per_origin.push((reports[i].origin, 1)),
            }
        }
        per_origin.sort_unstable();
        for (origin, n) in per_origin {
            bump_count(&mut tx, "pending", origin, n).await?;
        }
    }

    let suppressed: Vec<serde_json::Value> = out
        .suppressed_reports
        .iter()
        .take(50)
        .map(|s| serde_json::json!({"index": s.index, "title": s.title, "matched": s.matched, "existing_id": s.existing_id}))
        .collect();
    let details = serde_json::json!({
        "reports": out.reports,
        "suppressed": out.suppressed,
        "observables_new": out.observables_new,
        "observables_existing": out.observables_existing,
        "report_ids": out.report_ids.iter().take(1000).collect::<Vec<_>>(),
        "suppressed_reports": suppressed,
        "source_id": ctx.source_id,
    });
    let target = match ctx.source_id {
        Some(s) => format!("source:{s}"),
        None => "reports".to_owned(),
    };
    out.audit_seq = append_audit(&mut tx, &event(&ctx.actor, &ctx.action, target, details)).await?;
    tx.commit().await?;
    Ok(out)
}

// ------------------------------------------------------------------- reports

/// Move the intake counter of `(status, origin)` by `n`.
async fn bump_count(conn: &mut Conn, status: &str, origin: &str, n: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO intake_counts (status, origin, n) VALUES ($1, $2, $3)
         ON CONFLICT (status, origin) DO UPDATE SET n = intake_counts.n + excluded.n",
    )
    .bind(status.to_owned())
    .bind(origin.to_owned())
    .bind(n)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const SUMMARY_COLS: &str = "id, title, url, origin, source_id, published_at, collected_at, status, observable_count, tlp, labels";

fn summary_row(r: &DbRow) -> Result<ReportSummary> {
    let status: String = get(r, "status")?;
    Ok(ReportSummary {
        id: get(r, "id")?,
        title: get(r, "title")?,
        url: get(r, "url")?,
        origin: get(r, "origin")?,
        source_id: get(r, "source_id")?,
        published_at: opt_time(r, "published_at")?,
        collected_at: time(r, "collected_at")?,
        status: IntakeStatus::parse(&status).ok_or(Error::Corrupt {
            what: "status",
            message: status.clone(),
        })?,
        observable_count: get(r, "observable_count")?,
        tlp: get(r, "tlp")?,
        labels: json_list(r, "labels")?,
    })
}

fn push_intake_filters(qb: &mut QueryBuilder<Db>, q: &IntakeQuery) {
    if let Some(s) = q.status {
        qb.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(o) = q.origin {
        qb.push(" AND origin = ").push_bind(o.as_str());
    }
    if let Some(s) = q.source_id {
        qb.push(" AND source_id = ").push_bind(s);
    }
    if let Some(t) = q.published_from {
        qb.push(" AND published_at >= ")
            .push_bind(t.timestamp_micros());
    }
    if let Some(t) = q.published_to {
        qb.push(" AND published_at < ")
            .push_bind(t.timestamp_micros());
    }
    if let Some(t) = q.collected_from {
        qb.push(" AND collected_at >= ")
            .push_bind(t.timestamp_micros());
    }
    if let Some(t) = q.collected_to {
        qb.push(" AND collected_at < ")
            .push_bind(t.timestamp_micros());
    }
    if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let op = if DIALECT == Dialect::Postgres {
            " AND title ILIKE "
        } else {
            " AND title LIKE "
        };
        qb.push(op)
            .push_bind(format!("%{}%", like_escape(text)))
            .push(" ESCAPE '\\'");
    }
}

pub(crate) async fn intake(pool: &Pool, q: &IntakeQuery) -> Result<IntakePage> {
    let limit = i64::from(q.limit.unwrap_or(50).clamp(1, 500));
    let cursor = parse_cursor(q.cursor.as_deref())?;
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT {SUMMARY_COLS} FROM reports WHERE 1=1"));
    push_intake_filters(&mut qb, q);
    if let Some(c) = cursor {
        qb.push(" AND id < ").push_bind(c);
    }
    qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit + 1);
    let rows = qb.build().fetch_all(pool).await?;
    let mut items = rows.iter().map(summary_row).collect::<Result<Vec<_>>>()?;
    let next_cursor = page_end(&mut items, limit, |r| r.id);
    let counted = q.source_id.is_none()
        && q.published_from.is_none()
        && q.published_to.is_none()
        && q.collected_from.is_none()
        && q.collected_to.is_none()
        && q.text.as_deref().is_none_or(|t| t.trim().is_empty());
    let total: i64 = if counted {
        // Only status/origin filters: the maintained counters answer.
        let mut cq = QueryBuilder::<Db>::new(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM intake_counts WHERE 1=1",
        );
        if let Some(s) = q.status {
            cq.push(" AND status = ").push_bind(s.as_str());
        }
        if let Some(o) = q.origin {
            cq.push(" AND origin = ").push_bind(o.as_str());
        }
        cq.build_query_scalar().fetch_one(pool).await?
    } else {
        let mut cq = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM reports WHERE 1=1");
        push_intake_filters(&mut cq, q);
        cq.build_query_scalar().fetch_one(pool).await?
    };
    Ok(IntakePage {
        items,
        next_cursor,
        total,
    })
}

fn report_row(r: &DbRow) -> Result<Report> {
    let reviewed_by: Option<String> = get(r, "reviewed_by")?;
    let review = match reviewed_by {
        Some(by) => Some(Review {
            reviewed_by: by,
            reviewed_at: opt_time(r, "reviewed_at")?.unwrap_or_default(),
            reason: get(r, "review_reason")?,
        }),
        None => None,
    };
    Ok(Report {
        summary: summary_row(r)?,
        author: get(r, "author")?,
        content: get(r, "content")?,
        external_ids: json_list(r, "external_ids")?,
        url_key: get(r, "url_key")?,
        title_key: get(r, "title_key")?,
        ingested_by: get(r, "ingested_by")?,
        review,
    })
}

const REPORT_COLS: &str = "id, title, url, origin, source_id, published_at, collected_at, status, observable_count, tlp, labels,
    author, content, external_ids, url_key, title_key, ingested_by, reviewed_by, reviewed_at, review_reason";

async fn report_by_id(conn: &mut Conn, id: i64) -> Result<Option<Report>> {
    let row = sqlx::query(sql(format!(
        "SELECT {REPORT_COLS} FROM reports WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(report_row).transpose()
}

fn enrichment_row(r: &DbRow) -> Result<Enrichment> {
    Ok(Enrichment {
        id: get(r, "id")?,
        observable_id: get(r, "observable_id")?,
        provider: get(r, "provider")?,
        status: get(r, "status")?,
        confidence: get(r, "confidence")?,
        summary: json_value(r, "summary")?,
        raw_sha256: get(r, "raw_sha256")?,
        raw_excerpt: get(r, "raw_excerpt")?,
        fetched_at: time(r, "fetched_at")?,
        requested_by: get(r, "requested_by")?,
    })
}

const ENRICHMENT_COLS: &str = "e.id, e.observable_id, e.provider, e.status, e.confidence, e.summary, e.raw_sha256, e.raw_excerpt, e.fetched_at, e.requested_by";

pub(crate) async fn report(pool: &Pool, id: i64) -> Result<Option<ReportDetail>> {
    let mut conn = pool.acquire().await?;
    let Some(report) = report_by_id(&mut conn, id).await? else {
        return Ok(None);
    };
    let rows = sqlx::query(
        "SELECT o.id, o.kind, o.value, ro.source, ro.spans, ro.to_ids, ro.category
         FROM report_observables ro JOIN observables o ON o.id = ro.observable_id
         WHERE ro.report_id = $1 ORDER BY o.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut observables = Vec::with_capacity(rows.len());
    for r in &rows {
        let spans: String = get(r, "spans")?;
        observables.push(LinkedObservable {
            id: get(r, "id")?,
            kind: get(r, "kind")?,
            value: get(r, "value")?,
            source: get(r, "source")?,
            spans: serde_json::from_str(&spans).map_err(|e| Error::Corrupt {
                what: "spans",
                message: e.to_string(),
            })?,
            to_ids: get(r, "to_ids")?,
            category: get(r, "category")?,
        });
    }
    let rows = sqlx::query(sql(format!(
        "SELECT {ENRICHMENT_COLS} FROM enrichments e
         JOIN report_observables ro ON ro.observable_id = e.observable_id
         WHERE ro.report_id = $1 ORDER BY e.id DESC LIMIT 1000"
    )))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let enrichments = rows
        .iter()
        .map(enrichment_row)
        .collect::<Result<Vec<_>>>()?;
    let rules = rules_of(&mut conn, Some(id), 1000).await?;
    Ok(Some(ReportDetail {
        report,
        observables,
        enrichments,
        rules,
    }))
}

pub(crate) async fn review(
    pool: &Pool,
    id: i64,
    to: IntakeStatus,
    reason: Option<&str>,
    actor: &Actor,
) -> Result<Report> {
    let mut tx = begin_write(pool).await?;
    let changed = sqlx::query(
        "UPDATE reports SET status = $1, reviewed_by = $2, reviewed_at = $3, review_reason = $4
         WHERE id = $5 AND status = 'pending'",
    )
    .bind(to.as_str())
    .bind(actor.name.clone())
    .bind(now_micros())
    .bind(reason.map(str::to_owned))
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let report = report_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("report", id))?;
    if changed == 0 {
        return Err(Error::InvalidTransition {
            what: "report",
            id,
            from: report.summary.status.as_str().to_owned(),
            to: to.as_str().to_owned(),
        });
    }
    let origin = report.summary.origin.clone();
    bump_count(&mut tx, "pending", &origin, -1).await?;
    bump_count(&mut tx, to.as_str(), &origin, 1).await?;
    let details =
        serde_json::json!({"status": to.as_str(), "reason": reason, "title": report.summary.title});
    append_audit(
        &mut tx,
        &event(actor, "report.review", format!("report:{id}"), details),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

pub(crate) async fn activity(pool: &Pool, from: i64) -> Result<Activity> {
    let day = 86_400_000_000i64;
    let rows = sqlx::query(
        "SELECT (collected_at / $1) AS day, origin, COUNT(*) AS n FROM reports
         WHERE collected_at >= $2 GROUP BY (collected_at / $1), origin ORDER BY 1, 2",
    )
    .bind(day)
    .bind(from)
    .fetch_all(pool)
    .await?;
    let mut out = Activity::default();
    for r in &rows {
        let d: i64 = get(r, "day")?;
        let date = chrono::DateTime::from_timestamp(d * 86_400, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        out.per_day.push(crate::DayCount {
            day: date,
            origin: get(r, "origin")?,
            count: get(r, "n")?,
        });
    }
    let rows =
        sqlx::query("SELECT status, COUNT(*) AS n FROM reports GROUP BY status ORDER BY status")
            .fetch_all(pool)
            .await?;
    for r in &rows {
        out.per_status.push(crate::StatusCount {
            status: get(r, "status")?,
            count: get(r, "n")?,
        });
    }
    Ok(out)
}

// --------------------------------------------------------------- observables

const OBSERVABLE_COLS: &str =
    "o.id, o.kind, o.value, o.first_seen_at, o.manual, o.created_by, o.note,
    (SELECT COUNT(*) FROM report_observables ro WHERE ro.observable_id = o.id) AS report_count";

fn observable_row(r: &DbRow) -> Result<Observable> {
    Ok(Observable {
        id: get(r, "id")?,
        kind: get(r, "kind")?,
        value: get(r, "value")?,
        first_seen_at: time(r, "first_seen_at")?,
        manual: get(r, "manual")?,
        created_by: get(r, "created_by")?,
        note: get(r, "note")?,
        report_count: get(r, "report_count")?,
    })
}

pub(crate) async fn observables(pool: &Pool, q: &ObservableQuery) -> Result<ObservablePage> {
    let limit = i64::from(q.limit.unwrap_or(50).clamp(1, 500));
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT {OBSERVABLE_COLS} FROM observables o WHERE 1=1"
    ));
    if let Some(k) = q.kind {
        qb.push(" AND o.kind = ").push_bind(k.as_str());
    }
    if let Some(p) = q
        .value_prefix
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        qb.push(" AND lower(o.value) LIKE ")
            .push_bind(format!("{}%", like_escape(&p.to_lowercase())))
            .push(" ESCAPE '\\'");
    }
    if let Some(m) = q.manual {
        qb.push(" AND o.manual = ").push_bind(m);
    }
    if let Some(c) = q.cursor {
        qb.push(" AND o.id < ").push_bind(c);
    }
    qb.push(" ORDER BY o.id DESC LIMIT ").push_bind(limit + 1);
    let rows = qb.build().fetch_all(pool).await?;
    let mut items = rows
        .iter()
        .map(observable_row)
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = page_end(&mut items, limit, |o| o.id);
    Ok(ObservablePage { items, next_cursor })
}

async fn observable_by_id(conn: &mut Conn, id: i64) -> Result<Option<Observable>> {
    let row = sqlx::query(sql(format!(
        "SELECT {OBSERVABLE_COLS} FROM observables o WHERE o.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(observable_row).transpose()
}

pub(crate) async fn observable(pool: &Pool, id: i64) -> Result<Option<ObservableDetail>> {
    let mut conn = pool.acquire().await?;
    let Some(observable) = observable_by_id(&mut conn, id).await? else {
        return Ok(None);
    };
    let report_ids: Vec<i64> = sqlx::query_scalar(
        "SELECT report_id FROM report_observables WHERE observable_id = $1 ORDER BY report_id DESC LIMIT 1000",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let rows = sqlx::query(sql(format!(
        "SELECT {ENRICHMENT_COLS} FROM enrichments e WHERE e.observable_id = $1 ORDER BY e.id DESC LIMIT 1000"
    )))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let enrichments = rows
        .iter()
        .map(enrichment_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(ObservableDetail {
        observable,
        report_ids,
        enrichments,
    }))
}

pub(crate) async fn add_manual_observable(
    pool: &Pool,
    kind: ObservableKind,
    value: &str,
    note: Option<&str>,
    report_id: Option<i64>,
    actor: &Actor,
) -> Result<(Observable, bool)> {
    let mut tx = begin_write(pool).await?;
    if let Some(rid) = report_id {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM reports WHERE id = $1")
            .bind(rid)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Error::not_found("report", rid));
        }
    }
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO observables (kind, value, first_seen_at, manual, created_by, note)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, value) DO NOTHING RETURNING id",
    )
    .bind(kind.as_str())
    .bind(value.to_owned())
    .bind(now_micros())
    .bind(true)
    .bind(actor.name.clone())
    .bind(note.map(str::to_owned))
    .fetch_optional(&mut *tx)
    .await?;
    let created = inserted.is_some();
    let id: i64 = match inserted {
        Some(id) => id,
        None => {
            sqlx::query_scalar("SELECT id FROM observables WHERE kind = $1 AND value = $2")
                .bind(kind.as_str())
                .bind(value.to_owned())
                .fetch_one(&mut *tx)
                .await?
        }
    };
    if let Some(rid) = report_id {
        sqlx::query(
            "INSERT INTO report_observables (report_id, observable_id, source, spans, to_ids, category)
             VALUES ($1, $2, $3, '[]', NULL, NULL) ON CONFLICT DO NOTHING",
        )
        .bind(rid)
        .bind(id)
        .bind(format!("manual:{}", actor.name))
        .execute(&mut *tx)
        .await?;
    }
    let details = serde_json::json!({"kind": kind.as_str(), "value": value, "created": created, "report_id": report_id});
    append_audit(
        &mut tx,
        &event(actor, "observable.add", format!("observable:{id}"), details),
    )
    .await?;
    let o = observable_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("observable", id))?;
    tx.commit().await?;
    Ok((o, created))
}

pub(crate) async fn add_enrichment(
    pool: &Pool,
    observable_id: i64,
    e: &NewEnrichment,
    summary: &str,
    excerpt: Option<&str>,
    actor: &Actor,
) -> Result<Enrichment> {
    let mut tx = begin_write(pool).await?;
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM observables WHERE id = $1")
        .bind(observable_id)
        .fetch_optional(&mut *tx)
        .await?;
    if kind.is_none() {
        return Err(Error::not_found("observable", observable_id));
    }
    let fetched_at = e
        .fetched_at
        .map(|t| t.timestamp_micros())
        .unwrap_or_else(now_micros);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO enrichments (observable_id, provider, status, confidence, summary, raw_sha256, raw_excerpt, fetched_at, requested_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(observable_id)
    .bind(e.provider.clone())
    .bind(e.status.clone())
    .bind(e.confidence)
    .bind(summary.to_owned())
    .bind(e.raw_sha256.clone())
    .bind(excerpt.map(str::to_owned))
    .bind(fetched_at)
    .bind(actor.name.clone())
    .fetch_one(&mut *tx)
    .await?;
    let details = serde_json::json!({"enrichment_id": id, "provider": e.provider, "status": e.status, "confidence": e.confidence});
    append_audit(
        &mut tx,
        &event(
            actor,
            "observable.enrich",
            format!("observable:{observable_id}"),
            details,
        ),
    )
    .await?;
    let row = sqlx::query(sql(format!(
        "SELECT {ENRICHMENT_COLS} FROM enrichments e WHERE e.id = $1"
    )))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let out = enrichment_row(&row)?;
    tx.commit().await?;
    Ok(out)
}

// ------------------------------------------------------------------- sources

const SOURCE_COLS: &str =
    "id, url, kind, name, enabled, interval_minutes, etag, last_modified, last_run_at, last_status,
    failure_count, next_due_at, lease_owner, lease_until, created_by, created_at, updated_at";

fn source_row(r: &DbRow) -> Result<Source> {
    let kind: String = get(r, "kind")?;
    Ok(Source {
        id: get(r, "id")?,
        url: get(r, "url")?,
        kind: SourceKind::parse(&kind).ok_or(Error::Corrupt {
            what: "source kind",
            message: kind.clone(),
        })?,
        name: get(r, "name")?,
        enabled: get(r, "enabled")?,
        interval_minutes: get(r, "interval_minutes")?,
        etag: get(r, "etag")?,
        last_modified: get(r, "last_modified")?,
        last_run_at: opt_time(r, "last_run_at")?,
        last_status: get(r, "last_status")?,
        failure_count: get(r, "failure_count")?,
        next_due_at: time(r, "next_due_at")?,
        lease_owner: get(r, "lease_owner")?,
        lease_until: opt_time(r, "lease_until")?,
        created_by: get(r, "created_by")?,
        created_at: time(r, "created_at")?,
        updated_at: time(r, "updated_at")?,
    })
}

async fn source_by_id(conn: &mut Conn, id: i64) -> Result<Option<Source>> {
    let row = sqlx::query(sql(format!(
        "SELECT {SOURCE_COLS} FROM sources WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(source_row).transpose()
}

pub(crate) async fn sources(pool: &Pool) -> Result<Vec<Source>> {
    let rows = sqlx::query(sql(format!(
        "SELECT {SOURCE_COLS} FROM sources ORDER BY id"
    )))
    .fetch_all(pool)
    .await?;
    rows.iter().map(source_row).collect()
}

pub(crate) async fn source(pool: &Pool, id: i64) -> Result<Option<Source>> {
    let mut conn = pool.acquire().await?;
    source_by_id(&mut conn, id).await
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

pub(crate) async fn create_source(pool: &Pool, s: &NewSource, actor: &Actor) -> Result<Source> {
    let now = now_micros();
    let mut tx = begin_write(pool).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sources (url, kind, name, enabled, interval_minutes, next_due_at, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(s.url.clone())
    .bind(s.kind.as_str())
    .bind(s.name.clone())
    .bind(s.enabled)
    .bind(s.interval_minutes)
    .bind(now)
    .bind(actor.name.clone())
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Duplicate {
                what: "source",
                detail: format!("url {}", s.url),
            }
        } else {
            e.into()
        }
    })?;
    let details = serde_json::json!({"url": s.url, "kind": s.kind.as_str(), "interval_minutes": s.interval_minutes, "enabled": s.enabled});
    append_audit(
        &mut tx,
        &event(actor, "source.create", format!("source:{id}"), details),
    )
    .await?;
    let out = source_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("source", id))?;
    tx.commit().await?;
    Ok(out)
}

pub(crate) async fn update_source(
    pool: &Pool,
    id: i64,
    u: &SourceUpdate,
    actor: &Actor,
) -> Result<Source> {
    let mut tx = begin_write(pool).await?;
    let before = source_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("source", id))?;
    let now = now_micros();
    let interval = u.interval_minutes.unwrap_or(before.interval_minutes);
    // Re-enabling or shortening the interval makes the source due by the new rule.
    sqlx::query(
        "UPDATE sources SET url = $1, kind = $2, name = $3, enabled = $4, interval_minutes = $5, updated_at = $6,
            etag = CASE WHEN url = $1 THEN etag ELSE NULL END,
            last_modified = CASE WHEN url = $1 THEN last_modified ELSE NULL END
         WHERE id = $7",
    )
    .bind(u.url.clone().unwrap_or_else(|| before.url.clone()))
    .bind(u.kind.unwrap_or(before.kind).as_str())
    .bind(u.name.clone().or_else(|| before.name.clone()))
    .bind(u.enabled.unwrap_or(before.enabled))
    .bind(interval)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Duplicate {
                what: "source",
                detail: format!("url {}", u.url.clone().unwrap_or_default()),
            }
        } else {
            e.into()
        }
    })?;
    let details = serde_json::to_value(u).unwrap_or(serde_json::Value::Null);
    append_audit(
        &mut tx,
        &event(actor, "source.update", format!("source:{id}"), details),
    )
    .await?;
    let out = source_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("source", id))?;
    tx.commit().await?;
    Ok(out)
}

pub(crate) async fn delete_source(pool: &Pool, id: i64, actor: &Actor) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let before = source_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("source", id))?;
    sqlx::query("DELETE FROM sources WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let details = serde_json::json!({"url": before.url});
    append_audit(
        &mut tx,
        &event(actor, "source.delete", format!("source:{id}"), details),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn claim_due_sources(
    pool: &Pool,
    owner: &str,
    now: i64,
    lease: i64,
    limit: i64,
) -> Result<Vec<Source>> {
    let lock = if DIALECT == Dialect::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let q = format!(
        "UPDATE sources SET lease_owner = $1, lease_until = $2
         WHERE id IN (SELECT id FROM sources
                      WHERE enabled = TRUE AND next_due_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
                      ORDER BY next_due_at, id LIMIT $4{lock})
           AND enabled = TRUE AND next_due_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
         RETURNING {SOURCE_COLS}"
    );
    let mut tx = begin_write(pool).await?;
    let rows = sqlx::query(sql(q))
        .bind(owner.to_owned())
        .bind(now.saturating_add(lease))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut out = rows.iter().map(source_row).collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|s| s.id);
    Ok(out)
}

pub(crate) async fn claim_source(
    pool: &Pool,
    id: i64,
    owner: &str,
    now: i64,
    lease: i64,
) -> Result<Source> {
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query(sql(format!(
        "UPDATE sources SET lease_owner = $1, lease_until = $2
         WHERE id = $3 AND (lease_until IS NULL OR lease_until <= $4 OR lease_owner = $1)
         RETURNING {SOURCE_COLS}"
    )))
    .bind(owner.to_owned())
    .bind(now.saturating_add(lease))
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    match row {
        Some(r) => {
            tx.commit().await?;
            source_row(&r)
        }
        None => {
            let s = source_by_id(&mut tx, id)
                .await?
                .ok_or_else(|| Error::not_found("source", id))?;
            Err(Error::Leased {
                id,
                owner: s.lease_owner.unwrap_or_default(),
                until: s.lease_until.unwrap_or_default(),
            })
        }
    }
}

/// Cap of the failure backoff.
const MAX_BACKOFF_MICROS: i64 = 24 * 3_600_000_000;

pub(crate) async fn record_run(
    pool: &Pool,
    source_id: i64,
    owner: &str,
    run: &RunRecord,
    actor: &Actor,
) -> Result<CollectionRun> {
    let mut tx = begin_write(pool).await?;
    let s = source_by_id(&mut tx, source_id)
        .await?
        .ok_or_else(|| Error::not_found("source", source_id))?;
    let finished = run.finished_at.timestamp_micros();
    let interval = s.interval_minutes.saturating_mul(60_000_000);
    let failures = if run.succeeded() {
        0
    } else {
        s.failure_count.saturating_add(1)
    };
    let delay = if failures == 0 {
        interval
    } else {
        // interval × 2^failures, capped (but never sooner than the interval).
        let factor = 1i64 << failures.min(20);
        interval
            .saturating_mul(factor)
            .min(MAX_BACKOFF_MICROS)
            .max(interval)
    };
    let run_id: i64 = sqlx::query_scalar(
        "INSERT INTO collection_runs (source_id, started_at, finished_at, status, fetched, new, suppressed, error, actor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(source_id)
    .bind(run.started_at.timestamp_micros())
    .bind(finished)
    .bind(run.status.clone())
    .bind(run.fetched)
    .bind(run.new)
    .bind(run.suppressed)
    .bind(run.error.clone())
    .bind(actor.name.clone())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE sources SET last_run_at = $1, last_status = $2, failure_count = $3, next_due_at = $4,
            etag = COALESCE($5, etag), last_modified = COALESCE($6, last_modified),
            lease_owner = CASE WHEN lease_owner = $7 THEN NULL ELSE lease_owner END,
            lease_until = CASE WHEN lease_owner = $7 THEN NULL ELSE lease_until END
         WHERE id = $8",
    )
    .bind(finished)
    .bind(run.status.clone())
    .bind(failures)
    .bind(finished.saturating_add(delay))
    .bind(run.etag.clone())
    .bind(run.last_modified.clone())
    .bind(owner.to_owned())
    .bind(source_id)
    .execute(&mut *tx)
    .await?;
    let details = serde_json::json!({
        "run_id": run_id, "status": run.status, "fetched": run.fetched, "new": run.new,
        "suppressed": run.suppressed, "error": run.error, "failure_count": failures,
    });
    let mut ev = event(actor, "source.run", format!("source:{source_id}"), details);
    if !run.succeeded() {
        ev.outcome = "error".to_owned();
    }
    append_audit(&mut tx, &ev).await?;
    let row = sqlx::query(
        "SELECT id, source_id, started_at, finished_at, status, fetched, new, suppressed, error, actor
         FROM collection_runs WHERE id = $1",
    )
    .bind(run_id)
    .fetch_one(&mut *tx)
    .await?;
    let out = run_row(&row)?;
    tx.commit().await?;
    Ok(out)
}

fn run_row(r: &DbRow) -> Result<CollectionRun> {
    Ok(CollectionRun {
        id: get(r, "id")?,
        source_id: get(r, "source_id")?,
        started_at: time(r, "started_at")?,
        finished_at: time(r, "finished_at")?,
        duration_ms: (get::<i64>(r, "finished_at")? - get::<i64>(r, "started_at")?) / 1000,
        status: get(r, "status")?,
        fetched: get(r, "fetched")?,
        new: get(r, "new")?,
        suppressed: get(r, "suppressed")?,
        error: get(r, "error")?,
        actor: get(r, "actor")?,
    })
}

pub(crate) async fn runs(pool: &Pool, source_id: i64, limit: i64) -> Result<Vec<CollectionRun>> {
    let rows = sqlx::query(
        "SELECT id, source_id, started_at, finished_at, status, fetched, new, suppressed, error, actor
         FROM collection_runs WHERE source_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(source_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(run_row).collect()
}

// --------------------------------------------------------------------- rules

const RULE_COLS: &str =
    "id, rule_uuid, report_id, language, title, latest_version, created_by, created_at";

fn rule_row(r: &DbRow) -> Result<RuleSummary> {
    Ok(RuleSummary {
        id: get(r, "id")?,
        rule_uuid: get(r, "rule_uuid")?,
        report_id: get(r, "report_id")?,
        language: get(r, "language")?,
        title: get(r, "title")?,
        latest_version: get(r, "latest_version")?,
        created_by: get(r, "created_by")?,
        created_at: time(r, "created_at")?,
    })
}

fn version_row(r: &DbRow) -> Result<StoredRuleVersion> {
    Ok(StoredRuleVersion {
        rule_id: get(r, "rule_id")?,
        version: get(r, "version")?,
        parent_version: get(r, "parent_version")?,
        content: get(r, "content")?,
        content_hash: get(r, "content_hash")?,
        status: get(r, "status")?,
        diagnostics: json_value(r, "diagnostics")?,
        author: get(r, "author")?,
        created_at: time(r, "created_at")?,
    })
}

async fn rules_of(conn: &mut Conn, report_id: Option<i64>, limit: i64) -> Result<Vec<RuleSummary>> {
    let rows = match report_id {
        Some(rid) => {
            sqlx::query(sql(format!(
                "SELECT {RULE_COLS} FROM rules WHERE report_id = $1 ORDER BY id DESC LIMIT $2"
            )))
            .bind(rid)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(sql(format!(
                "SELECT {RULE_COLS} FROM rules ORDER BY id DESC LIMIT $1"
            )))
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.iter().map(rule_row).collect()
}

pub(crate) async fn rules(
    pool: &Pool,
    report_id: Option<i64>,
    limit: i64,
) -> Result<Vec<RuleSummary>> {
    let mut conn = pool.acquire().await?;
    rules_of(&mut conn, report_id, limit).await
}

async fn rule_in(conn: &mut Conn, id: i64) -> Result<Option<RuleHistory>> {
    let Some(row) = sqlx::query(sql(format!("SELECT {RULE_COLS} FROM rules WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let rule = rule_row(&row)?;
    let rows = sqlx::query(
        "SELECT rule_id, version, parent_version, content, content_hash, status, diagnostics, author, created_at
         FROM rule_versions WHERE rule_id = $1 ORDER BY version",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let versions = rows.iter().map(version_row).collect::<Result<Vec<_>>>()?;
    Ok(Some(RuleHistory { rule, versions }))
}

pub(crate) async fn rule(pool: &Pool, id: i64) -> Result<Option<RuleHistory>> {
    let mut conn = pool.acquire().await?;
    rule_in(&mut conn, id).await
}

#[allow(clippy::too_many_arguments)]
async fn insert_version(
    conn: &mut Conn,
    rule_id: i64,
    version: i64,
    parent: Option<i64>,
    content: &str,
    v: &ValidatedRule,
    author: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO rule_versions (rule_id, version, parent_version, content, content_hash, status, diagnostics, author, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(rule_id)
    .bind(version)
    .bind(parent)
    .bind(content.to_owned())
    .bind(v.hash.clone())
    .bind(v.status)
    .bind(v.diagnostics.clone())
    .bind(author.to_owned())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn create_rule(
    pool: &Pool,
    r: &NewRule,
    v: &ValidatedRule,
    actor: &Actor,
) -> Result<RuleHistory> {
    let now = now_micros();
    let mut tx = begin_write(pool).await?;
    if let Some(rid) = r.report_id {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM reports WHERE id = $1")
            .bind(rid)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(Error::not_found("report", rid));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO rules (rule_uuid, report_id, language, title, latest_version, created_by, created_at)
         VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING id",
    )
    .bind(r.rule_uuid.to_string())
    .bind(r.report_id)
    .bind(r.language.as_str())
    .bind(r.title.clone())
    .bind(actor.name.clone())
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Duplicate {
                what: "rule",
                detail: format!("uuid {}", r.rule_uuid),
            }
        } else {
            e.into()
        }
    })?;
    insert_version(&mut tx, id, 1, None, &r.content, v, &actor.name, now).await?;
    let details = serde_json::json!({"language": r.language.as_str(), "report_id": r.report_id, "version": 1, "status": v.status, "content_hash": v.hash});
    append_audit(
        &mut tx,
        &event(actor, "rule.generate", format!("rule:{id}"), details),
    )
    .await?;
    let out = rule_in(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("rule", id))?;
    tx.commit().await?;
    Ok(out)
}

pub(crate) async fn add_rule_version(
    pool: &Pool,
    rule_id: i64,
    content: &str,
    actor: &Actor,
) -> Result<StoredRuleVersion> {
    let now = now_micros();
    let mut tx = begin_write(pool).await?;
    let row = sqlx::query("SELECT language, latest_version FROM rules WHERE id = $1")
        .bind(rule_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("rule", rule_id))?;
    let language: String = get(&row, "language")?;
    let latest: i64 = get(&row, "latest_version")?;
    let lang = threatmapper_rules::Language::parse(&language).ok_or(Error::Corrupt {
        what: "rule language",
        message: language.clone(),
    })?;
    let v = crate::validated(lang, content)?;
    let version = latest + 1;
    insert_version(
        &mut tx,
        rule_id,
        version,
        Some(latest),
        content,
        &v,
        &actor.name,
        now,
    )
    .await?;
    sqlx::query("UPDATE rules SET latest_version = $1 WHERE id = $2")
        .bind(version)
        .bind(rule_id)
        .execute(&mut *tx)
        .await?;
    let details = serde_json::json!({"version": version, "parent_version": latest, "status": v.status, "content_hash": v.hash});
    append_audit(
        &mut tx,
        &event(actor, "rule.edit", format!("rule:{rule_id}"), details),
    )
    .await?;
    let row = sqlx::query(
        "SELECT rule_id, version, parent_version, content, content_hash, status, diagnostics, author, created_at
         FROM rule_versions WHERE rule_id = $1 AND version = $2",
    )
    .bind(rule_id)
    .bind(version)
    .fetch_one(&mut *tx)
    .await?;
    let out = version_row(&row)?;
    tx.commit().await?;
    Ok(out)
}

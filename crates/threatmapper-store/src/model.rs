//! The values the store returns and takes. All serialize to JSON in the
//! shapes the HTTP API and the Python bindings expose.

use serde::{Deserialize, Serialize};

pub use threatmapper_core::{ObservableKind, Origin};

/// Who made a change: written into every audit event and authored row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User name (`local` in local mode, the proxy's `X-Auth-User` in team mode).
    pub name: String,
    /// Roles as given by the identity provider.
    pub roles: Vec<String>,
}

impl Actor {
    /// An actor with a name and roles.
    pub fn new(name: impl Into<String>, roles: &[&str]) -> Actor {
        Actor {
            name: name.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    /// The system actor used by the scheduler and the command line.
    pub fn system(name: &str) -> Actor {
        Actor::new(name, &["system"])
    }
}

/// Intake review state of a report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntakeStatus {
    /// Waiting for an analyst (every external report starts here).
    Pending,
    /// Accepted by an analyst.
    Accepted,
    /// Rejected by an analyst, with a reason.
    Rejected,
}

impl IntakeStatus {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            IntakeStatus::Pending => "pending",
            IntakeStatus::Accepted => "accepted",
            IntakeStatus::Rejected => "rejected",
        }
    }

    /// Parse a stored or requested name.
    pub fn parse(s: &str) -> Option<IntakeStatus> {
        match s {
            "pending" => Some(IntakeStatus::Pending),
            "accepted" => Some(IntakeStatus::Accepted),
            "rejected" => Some(IntakeStatus::Rejected),
            _ => None,
        }
    }
}

/// What an ingest call is and who made it.
#[derive(Debug, Clone)]
pub struct IngestContext {
    /// Who is importing.
    pub actor: Actor,
    /// The audit action, e.g. `import.stix` or `source.collect`.
    pub action: String,
    /// The collection source the drafts came from, if any.
    pub source_id: Option<i64>,
}

impl IngestContext {
    /// A context for an import by `actor` recorded as `action`.
    pub fn new(actor: Actor, action: impl Into<String>) -> IngestContext {
        IngestContext {
            actor,
            action: action.into(),
            source_id: None,
        }
    }
}

/// A draft that was not stored because its report is already known.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuppressedReport {
    /// Position of the draft in the ingested list.
    pub index: usize,
    /// The draft's title.
    pub title: String,
    /// Which key matched: `url` or `title`.
    pub matched: &'static str,
    /// The stored report it duplicates (absent only if that report was
    /// deleted concurrently).
    pub existing_id: Option<i64>,
    /// How many observables the draft carried (not linked again).
    pub observables: usize,
}

/// What one ingest stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestOutcome {
    /// Newly stored reports.
    pub reports: usize,
    /// Drafts suppressed as duplicates of known reports.
    pub suppressed: usize,
    /// Observables stored for the first time.
    pub observables_new: usize,
    /// Observables that were already known (now also linked to the new reports).
    pub observables_existing: usize,
    /// Ids of the new reports, in draft order.
    pub report_ids: Vec<i64>,
    /// The suppressed drafts.
    pub suppressed_reports: Vec<SuppressedReport>,
    /// Sequence number of the audit event recording this ingest.
    pub audit_seq: i64,
}

/// A stored report as listed in the intake queue.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    /// Report id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// URL, if any.
    pub url: Option<String>,
    /// Origin format.
    pub origin: String,
    /// Collection source, for feed reports.
    pub source_id: Option<i64>,
    /// Publication time (RFC 3339), when known.
    pub published_at: Option<String>,
    /// When it was stored (RFC 3339).
    pub collected_at: String,
    /// Intake status.
    pub status: IntakeStatus,
    /// Number of linked observables.
    pub observable_count: i64,
    /// TLP marking.
    pub tlp: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
}

/// The review of a report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    /// Reviewer.
    pub reviewed_by: String,
    /// When (RFC 3339).
    pub reviewed_at: String,
    /// Reason given (required for rejection).
    pub reason: Option<String>,
}

/// A full stored report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The listed fields.
    #[serde(flatten)]
    pub summary: ReportSummary,
    /// Author or producing organisation.
    pub author: Option<String>,
    /// Plain-text content.
    pub content: String,
    /// External ids (STIX id, MISP uuid, ...).
    pub external_ids: Vec<String>,
    /// Canonical URL key (dedup).
    pub url_key: Option<String>,
    /// Normalized title key (dedup).
    pub title_key: String,
    /// Who ingested it.
    pub ingested_by: String,
    /// The review, once reviewed.
    pub review: Option<Review>,
}

/// A report with its observables, their enrichments and its rules.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportDetail {
    /// The report.
    #[serde(flatten)]
    pub report: Report,
    /// Linked observables with where they were found.
    pub observables: Vec<LinkedObservable>,
    /// Enrichments of those observables, newest first.
    pub enrichments: Vec<Enrichment>,
    /// Rules generated for this report.
    pub rules: Vec<RuleSummary>,
}

/// A byte range `[start, end)` of a report's content.
pub type SpanPair = [usize; 2];

/// An observable as linked to one report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedObservable {
    /// Observable id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Canonical value.
    pub value: String,
    /// Where in the input it came from (object id, JSON path, entry).
    pub source: String,
    /// Byte spans in the report's `content` where it occurs (may be empty
    /// when it came from structured data only).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<u64>>))]
    pub spans: Vec<SpanPair>,
    /// MISP `to_ids`, when known.
    pub to_ids: Option<bool>,
    /// MISP category, when known.
    pub category: Option<String>,
}

/// A stored observable.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observable {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Canonical value.
    pub value: String,
    /// First stored (RFC 3339).
    pub first_seen_at: String,
    /// Added by hand rather than extracted.
    pub manual: bool,
    /// Who added it by hand.
    pub created_by: Option<String>,
    /// Analyst note on a manual observable.
    pub note: Option<String>,
    /// Number of reports it is linked to.
    pub report_count: i64,
}

/// Filter for observable listing/search.
#[derive(Debug, Clone, Default)]
pub struct ObservableQuery {
    /// Only this kind.
    pub kind: Option<ObservableKind>,
    /// Only values starting with this (compared case-insensitively).
    pub value_prefix: Option<String>,
    /// Only manual ones.
    pub manual: Option<bool>,
    /// Page size (1..=500, default 50).
    pub limit: Option<u32>,
    /// Continue after this id (descending order).
    pub cursor: Option<i64>,
}

/// A page of observables.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservablePage {
    /// The observables, newest first.
    pub items: Vec<Observable>,
    /// Cursor for the next page.
    pub next_cursor: Option<String>,
}

/// An enrichment result to record.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEnrichment {
    /// Provider name (`rdap`, ...).
    pub provider: String,
    /// `ok`, `not_found`, `error` or `rate_limited`.
    pub status: String,
    /// 0..=100.
    pub confidence: i64,
    /// Bounded summary of the response.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub summary: serde_json::Value,
    /// Hex SHA-256 of the raw response body.
    pub raw_sha256: Option<String>,
    /// The first bytes of the raw response (capped).
    pub raw_excerpt: Option<String>,
    /// When the provider answered (RFC 3339); now when absent.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub fetched_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A stored enrichment (evidence, not a verdict).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enrichment {
    /// Id.
    pub id: i64,
    /// Enriched observable.
    pub observable_id: i64,
    /// Provider.
    pub provider: String,
    /// Status.
    pub status: String,
    /// Confidence 0..=100.
    pub confidence: i64,
    /// Bounded summary.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub summary: serde_json::Value,
    /// Hex SHA-256 of the raw response.
    pub raw_sha256: Option<String>,
    /// Capped excerpt of the raw response.
    pub raw_excerpt: Option<String>,
    /// When fetched (RFC 3339).
    pub fetched_at: String,
    /// Who asked for it.
    pub requested_by: String,
}

/// An observable with its reports and enrichment history.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservableDetail {
    /// The observable.
    #[serde(flatten)]
    pub observable: Observable,
    /// Ids of reports it is linked to, newest first (at most 1000).
    pub report_ids: Vec<i64>,
    /// Enrichments, newest first.
    pub enrichments: Vec<Enrichment>,
}

/// Feed kind of a collection source.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// RSS 0.9x/1.0/2.0.
    Rss,
    /// Atom.
    Atom,
    /// JSON Feed.
    Json,
}

impl SourceKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Rss => "rss",
            SourceKind::Atom => "atom",
            SourceKind::Json => "json",
        }
    }

    /// Parse a stored or requested name.
    pub fn parse(s: &str) -> Option<SourceKind> {
        match s {
            "rss" => Some(SourceKind::Rss),
            "atom" => Some(SourceKind::Atom),
            "json" => Some(SourceKind::Json),
            _ => None,
        }
    }
}

/// A source to create.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSource {
    /// Feed URL (http or https).
    #[cfg_attr(feature = "openapi", schema(pattern = "^https?://[^\\s]+$"))]
    pub url: String,
    /// Feed kind.
    pub kind: SourceKind,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Minutes between runs (1 ..= 525600).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 525600))]
    pub interval_minutes: i64,
    /// Whether the scheduler runs it.
    pub enabled: bool,
}

/// Changes to a source; absent fields stay.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceUpdate {
    /// New URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New kind.
    #[serde(default)]
    pub kind: Option<SourceKind>,
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New interval (1 ..= 525600).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 525600))]
    pub interval_minutes: Option<i64>,
    /// Enable or disable.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// A stored collection source.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// Id.
    pub id: i64,
    /// Feed URL.
    pub url: String,
    /// Feed kind.
    pub kind: SourceKind,
    /// Display name.
    pub name: Option<String>,
    /// Whether the scheduler runs it.
    pub enabled: bool,
    /// Minutes between runs.
    pub interval_minutes: i64,
    /// Conditional-GET state: last ETag.
    pub etag: Option<String>,
    /// Conditional-GET state: last Last-Modified.
    pub last_modified: Option<String>,
    /// Last run (RFC 3339).
    pub last_run_at: Option<String>,
    /// Last run's status.
    pub last_status: Option<String>,
    /// Consecutive failures (drives backoff).
    pub failure_count: i64,
    /// When the scheduler next runs it (RFC 3339).
    pub next_due_at: String,
    /// Worker holding the run lease.
    pub lease_owner: Option<String>,
    /// Lease end (RFC 3339).
    pub lease_until: Option<String>,
    /// Creator.
    pub created_by: String,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// The result of one collection run, to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    /// When the run started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// When it finished.
    pub finished_at: chrono::DateTime<chrono::Utc>,
    /// `ok`, `not_modified`, or an error class (`dns`, `connect`, `timeout`,
    /// `http_status`, `too_large`, `not_a_feed`, `blocked`, `store`, ...).
    pub status: String,
    /// Entries fetched.
    pub fetched: i64,
    /// New reports stored.
    pub new: i64,
    /// Entries suppressed as duplicates.
    pub suppressed: i64,
    /// Error message for failed runs.
    pub error: Option<String>,
    /// New ETag to remember (`None` keeps the old one).
    pub etag: Option<String>,
    /// New Last-Modified to remember (`None` keeps the old one).
    pub last_modified: Option<String>,
}

impl RunRecord {
    /// Whether this run counts as a success for backoff.
    pub fn succeeded(&self) -> bool {
        self.status == "ok" || self.status == "not_modified"
    }
}

/// A stored collection run.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionRun {
    /// Id.
    pub id: i64,
    /// Source.
    pub source_id: i64,
    /// Started (RFC 3339).
    pub started_at: String,
    /// Finished (RFC 3339).
    pub finished_at: String,
    /// How long the run took, milliseconds.
    pub duration_ms: i64,
    /// Status.
    pub status: String,
    /// Entries fetched.
    pub fetched: i64,
    /// New reports.
    pub new: i64,
    /// Suppressed entries.
    pub suppressed: i64,
    /// Error, for failed runs.
    pub error: Option<String>,
    /// Who ran it (`scheduler` or a user).
    pub actor: String,
}

/// A rule as listed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSummary {
    /// Id.
    pub id: i64,
    /// Stable UUID (the Sigma `id`).
    pub rule_uuid: String,
    /// Report it was generated for.
    pub report_id: Option<i64>,
    /// `sigma`, `kql`, `spl` or `eql`.
    pub language: String,
    /// Title.
    pub title: String,
    /// Newest version number.
    pub latest_version: i64,
    /// Creator.
    pub created_by: String,
    /// Created (RFC 3339).
    pub created_at: String,
}

/// One stored version of a rule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRuleVersion {
    /// Rule id.
    pub rule_id: i64,
    /// Version number (1-based).
    pub version: i64,
    /// Parent version.
    pub parent_version: Option<i64>,
    /// Rule text.
    pub content: String,
    /// Hex SHA-256 of the text.
    pub content_hash: String,
    /// Readiness from validation (`ready`, `needs_analyst`, `invalid`).
    pub status: String,
    /// Validation diagnostics.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub diagnostics: serde_json::Value,
    /// Author.
    pub author: String,
    /// Created (RFC 3339).
    pub created_at: String,
}

/// A rule with every version, oldest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleHistory {
    /// The rule.
    #[serde(flatten)]
    pub rule: RuleSummary,
    /// Its versions.
    pub versions: Vec<StoredRuleVersion>,
}

/// A rule to create (version 1).
#[derive(Debug, Clone)]
pub struct NewRule {
    /// Report it belongs to.
    pub report_id: Option<i64>,
    /// Language.
    pub language: threatmapper_rules::Language,
    /// Stable UUID.
    pub rule_uuid: uuid::Uuid,
    /// Title.
    pub title: String,
    /// Text of version 1.
    pub content: String,
}

/// An audit event to append.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAuditEvent {
    /// Who.
    pub actor: Actor,
    /// What (`import.stix`, `report.review`, `auth.denied`, ...).
    pub action: String,
    /// On what (`report:12`, `source:3`, a path).
    pub target: String,
    /// `ok`, `denied` or `error`.
    pub outcome: String,
    /// Details.
    pub details: serde_json::Value,
}

/// A stored audit event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    /// Position in the chain (1-based, contiguous).
    pub seq: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub actor: String,
    /// Their roles.
    pub roles: Vec<String>,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// Outcome.
    pub outcome: String,
    /// Details.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    /// Hash of the previous event.
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

/// Filter for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only actions starting with this (`import.` matches every import).
    pub action_prefix: Option<String>,
    /// Only this target.
    pub target: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// From this time (inclusive).
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Until this time (exclusive).
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Continue below this sequence number (newest first).
    pub cursor: Option<i64>,
    /// Page size (1..=1000, default 100).
    pub limit: Option<u32>,
}

/// A page of audit events.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditPage {
    /// Events, newest first.
    pub items: Vec<AuditEvent>,
    /// Cursor for the next page.
    pub next_cursor: Option<String>,
}

/// The result of checking the audit hash chain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    /// Whether every event and the head are intact.
    pub ok: bool,
    /// Events checked.
    pub checked: i64,
    /// The first sequence number where the chain breaks.
    pub first_bad_seq: Option<i64>,
    /// What is wrong there.
    pub problem: Option<String>,
}

/// Filter and page of the intake queue.
#[derive(Debug, Clone, Default)]
pub struct IntakeQuery {
    /// Only this status.
    pub status: Option<IntakeStatus>,
    /// Only this origin.
    pub origin: Option<Origin>,
    /// Only reports from this source.
    pub source_id: Option<i64>,
    /// Published at or after.
    pub published_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Published before.
    pub published_to: Option<chrono::DateTime<chrono::Utc>>,
    /// Collected at or after.
    pub collected_from: Option<chrono::DateTime<chrono::Utc>>,
    /// Collected before.
    pub collected_to: Option<chrono::DateTime<chrono::Utc>>,
    /// Title contains this (case-insensitive).
    pub text: Option<String>,
    /// Page size (1..=500, default 50).
    pub limit: Option<u32>,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
}

/// A page of the intake queue.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntakePage {
    /// Reports, newest first.
    pub items: Vec<ReportSummary>,
    /// Cursor for the next page, absent on the last.
    pub next_cursor: Option<String>,
    /// How many reports match the filter in all.
    pub total: i64,
}

/// Reports collected on one day from one origin.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// Day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Origin.
    pub origin: String,
    /// Reports collected.
    pub count: i64,
}

/// Reports with one intake status.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusCount {
    /// Status.
    pub status: String,
    /// Reports.
    pub count: i64,
}

/// Counts for the activity view: reports per day by origin, and per status.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// Per day and origin, oldest first.
    pub per_day: Vec<DayCount>,
    /// Per intake status.
    pub per_status: Vec<StatusCount>,
}

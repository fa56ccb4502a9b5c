//! Report drafts: what every importer produces and the store ingests.

use serde::Serialize;

use crate::ObservableKind;

/// Where a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// An RSS/Atom/JSON feed entry.
    Feed,
    /// A STIX 2.1 bundle or TAXII envelope.
    Stix,
    /// A MISP event.
    Misp,
    /// MITRE ATLAS data.
    Atlas,
    /// Entered by an analyst.
    Manual,
}

impl Origin {
    /// Every origin.
    pub const ALL: [Origin; 5] = [
        Origin::Feed,
        Origin::Stix,
        Origin::Misp,
        Origin::Atlas,
        Origin::Manual,
    ];

    /// The lowercase name used in JSON and storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Origin::Feed => "feed",
            Origin::Stix => "stix",
            Origin::Misp => "misp",
            Origin::Atlas => "atlas",
            Origin::Manual => "manual",
        }
    }

    /// Parse a lowercase name.
    ///
    /// ```
    /// use threatmapper_core::Origin;
    /// assert_eq!(Origin::parse("stix"), Some(Origin::Stix));
    /// assert_eq!(Origin::parse("STIX"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Origin> {
        Origin::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// An observable attached to a draft, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftObservable {
    /// Kind.
    pub kind: ObservableKind,
    /// Canonical value.
    pub value: String,
    /// Where in the input it came from (an object id, a JSON path).
    pub source: String,
    /// MISP's `to_ids` flag, when the input has one.
    pub to_ids: Option<bool>,
    /// MISP's attribute category, when the input has one.
    pub category: Option<String>,
}

/// A report parsed from an external format, not yet stored. Every draft
/// enters the intake queue as pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportDraft {
    /// Title.
    pub title: String,
    /// The report's URL (canonical report-URL form when it is http/https/ftp).
    pub url: Option<String>,
    /// Publication time, RFC 3339 in UTC.
    pub published: Option<String>,
    /// Author or producing organisation.
    pub author: Option<String>,
    /// Plain-text summary.
    pub summary: String,
    /// Origin format.
    pub origin: Origin,
    /// External ids (STIX id, MISP uuid, ATLAS id, feed entry id).
    pub external_ids: Vec<String>,
    /// Labels, tags and technique ids.
    pub labels: Vec<String>,
    /// TLP marking (`TLP:CLEAR`, `TLP:GREEN`, `TLP:AMBER`, `TLP:AMBER+STRICT`, `TLP:RED`).
    pub tlp: Option<String>,
    /// Observables, unique by (kind, value), in input order.
    pub observables: Vec<DraftObservable>,
    /// Hashes of (kind, value) already in `observables`, so adding is O(1).
    #[serde(skip)]
    seen: std::collections::HashSet<u64, std::hash::BuildHasherDefault<KeyHasher>>,
}

/// The hasher of a set whose keys are hashes already: it passes them through.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The key of a (kind, value) in a draft's `seen` set: foldhash with a seed
/// drawn once per process, so drafts can be cloned (the seed is the same) and
/// values cannot be chosen to collide (it is unknown outside the process).
fn observable_key(kind: ObservableKind, value: &str) -> u64 {
    use std::hash::BuildHasher as _;
    static SEED: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
        foldhash::fast::RandomState::default().hash_one(0x7461_6d70u64)
    });
    foldhash::fast::FixedState::with_seed(*SEED).hash_one((kind, value))
}

impl ReportDraft {
    /// An empty draft of an origin.
    pub fn new(origin: Origin, title: impl Into<String>) -> Self {
        ReportDraft {
            title: title.into(),
            url: None,
            published: None,
            author: None,
            summary: String::new(),
            origin,
            external_ids: Vec::new(),
            labels: Vec::new(),
            tlp: None,
            observables: Vec::new(),
            seen: Default::default(),
        }
    }

    /// Add an observable unless the same (kind, value) is already there.
    pub fn add_observable(&mut self, kind: ObservableKind, value: String, source: String) {
        self.add_observable_with(kind, value, source, None, None);
    }

    /// [`ReportDraft::add_observable`] with MISP's `to_ids` and category.
    pub fn add_observable_with(
        &mut self,
        kind: ObservableKind,
        value: String,
        source: String,
        to_ids: Option<bool>,
        category: Option<String>,
    ) {
        // Equal keys are confirmed against the values, so a collision costs
        // a scan, never a lost observable.
        let key = observable_key(kind, &value);
        let fresh = self.seen.insert(key)
            || !self
                .observables
                .iter()
                .any(|o| o.kind == kind && o.value == value);
        if fresh {
            self.observables.push(DraftObservable {
                kind,
                value,
                source,
                to_ids,
                category,
            });
        }
    }
}

/// An input object or attribute that was refused, with where and why; the
/// rest of the input is still imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// Where: a JSON path (`objects[17]`), with the object id when known.
    pub location: String,
    /// Why.
    pub reason: String,
}

/// What an importer produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportResult {
    /// Report drafts.
    pub drafts: Vec<ReportDraft>,
    /// Objects, attributes or patterns of kinds ThreatMapper does not import
    /// (counted, never silently dropped).
    pub unsupported: usize,
    /// Refused parts of the input.
    pub rejected: Vec<Rejected>,
    /// Warnings (dangling references, invalid dates, ...).
    pub warnings: Vec<String>,
}

impl ImportResult {
    /// Total observables over all drafts.
    pub fn observable_count(&self) -> usize {
        self.drafts.iter().map(|d| d.observables.len()).sum()
    }
}

/// The host of a canonical URL value as an observable (domain, IPv4 or IPv6).
pub(crate) fn url_host(url: &str) -> Option<(ObservableKind, String)> {
    let rest = url.split_once("://")?.1;
    let host = if let Some(r) = rest.strip_prefix('[') {
        r.split(']').next()?
    } else {
        let end = rest.find([':', '/', '?', '#']).unwrap_or(rest.len());
        &rest[..end]
    };
    [
        ObservableKind::Ipv4,
        ObservableKind::Ipv6,
        ObservableKind::Domain,
    ]
    .into_iter()
    .find_map(|k| crate::canonical_observable(k, host).ok().map(|v| (k, v)))
}

/// Whether [`rfc3339`] accepts a timestamp (without formatting it).
pub(crate) fn is_rfc3339(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s.trim()).is_ok()
}

/// Normalise a timestamp to RFC 3339 UTC, if it is one.
pub(crate) fn rfc3339(s: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| {
            d.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
}

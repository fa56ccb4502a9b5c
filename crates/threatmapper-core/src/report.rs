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

/// Whether [`rfc3339`] accepts a timestamp (without formatting it). The
/// form STIX producers write, `YYYY-MM-DDTHH:MM:SS[.fff]Z`, is checked
/// directly; anything else is left to chrono (a test checks the shortcut
/// accepts nothing chrono refuses).
pub(crate) fn is_rfc3339(s: &str) -> bool {
    canonical_utc_timestamp(s.as_bytes()) || chrono::DateTime::parse_from_rfc3339(s.trim()).is_ok()
}

/// `YYYY-MM-DDTHH:MM:SS` with an optional 1–9 digit fraction and `Z`, every
/// field in range (the day within its month, leap years included).
fn canonical_utc_timestamp(b: &[u8]) -> bool {
    let n = b.len();
    if !(20..=30).contains(&n) || b[n - 1] != b'Z' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let punct = b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':';
    let frac_ok = match n {
        20 => true,
        _ => b[19] == b'.' && n >= 22 && b[20..n - 1].iter().all(u8::is_ascii_digit),
    };
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    punct && frac_ok && (1..=days).contains(&d) && h <= 23 && mi <= 59 && sec <= 59
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

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The timestamp shortcut accepts nothing chrono refuses.
        #[test]
        fn timestamp_shortcut_is_within_chrono(
            y in 0u32..10000, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62,
            sec in 0u32..62, frac in proptest::option::of("[0-9]{0,11}"), sep in "[-T:. Zz]",
        ) {
            let f = frac.map(|f| format!(".{f}")).unwrap_or_default();
            for s in [
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{sec:02}{f}Z"),
                format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{sec:02}{f}Z"),
            ] {
                if canonical_utc_timestamp(s.as_bytes()) {
                    proptest::prop_assert!(chrono::DateTime::parse_from_rfc3339(&s).is_ok(), "{}", s);
                }
            }
        }
    }

    #[test]
    fn timestamp_shortcut_takes_the_common_forms() {
        for ok in [
            "2024-01-01T00:00:00Z",
            "2024-02-29T23:59:59.123Z",
            "2000-02-29T00:00:00.000000001Z",
        ] {
            assert!(canonical_utc_timestamp(ok.as_bytes()), "{ok}");
        }
        for no in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00+00:00",
        ] {
            assert!(!canonical_utc_timestamp(no.as_bytes()), "{no}");
        }
        // What the shortcut leaves alone still goes to chrono.
        assert!(is_rfc3339("2024-01-01T00:00:00+00:00"));
        assert!(!is_rfc3339("2023-02-29T00:00:00Z"));
    }
}

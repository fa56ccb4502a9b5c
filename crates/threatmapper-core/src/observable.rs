//! Observable kinds and extraction results.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of an observable (indicator) that ThreatMapper extracts and stores.
///
/// The first five kinds are the ones every feature of the pipeline supports
/// (enrichment, rule generation); the others are extracted as well so that no
/// evidence in a report is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ObservableKind {
    /// A CVE identifier, canonical form `CVE-YYYY-NNNN`.
    Cve,
    /// An IPv4 address in canonical dotted-decimal form.
    Ipv4,
    /// A registrable host name (lowercase, IDNA/punycode, no trailing dot).
    Domain,
    /// An MD5 digest (32 lowercase hex digits).
    Md5,
    /// A SHA-256 digest (64 lowercase hex digits).
    Sha256,
    /// A URL with a refanged, lowercased scheme and host.
    Url,
    /// An e-mail address (lowercase).
    Email,
    /// A SHA-1 digest (40 lowercase hex digits).
    Sha1,
    /// An IPv6 address in RFC 5952 canonical form.
    Ipv6,
}

impl ObservableKind {
    /// Every kind, in the order used for output keys.
    pub const ALL: [ObservableKind; 9] = [
        ObservableKind::Cve,
        ObservableKind::Ipv4,
        ObservableKind::Domain,
        ObservableKind::Md5,
        ObservableKind::Sha256,
        ObservableKind::Url,
        ObservableKind::Email,
        ObservableKind::Sha1,
        ObservableKind::Ipv6,
    ];

    /// The lowercase name used in JSON, the CLI and the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            ObservableKind::Cve => "cve",
            ObservableKind::Ipv4 => "ipv4",
            ObservableKind::Domain => "domain",
            ObservableKind::Md5 => "md5",
            ObservableKind::Sha256 => "sha256",
            ObservableKind::Url => "url",
            ObservableKind::Email => "email",
            ObservableKind::Sha1 => "sha1",
            ObservableKind::Ipv6 => "ipv6",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ObservableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ObservableKind {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        ObservableKind::ALL
            .into_iter()
            .find(|k| k.as_str() == lower)
            .ok_or_else(|| crate::Error::UnknownKind { kind: s.to_owned() })
    }
}

/// A half-open byte range `[start, end)` in the input where an observable occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

/// One unique observable found in a text, with every place it occurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extracted {
    /// What kind of observable this is.
    pub kind: ObservableKind,
    /// The canonical value (refanged, lowercased where the kind is case-insensitive).
    pub value: String,
    /// Every byte span of the input where the value occurs, in input order.
    pub spans: Vec<Span>,
}

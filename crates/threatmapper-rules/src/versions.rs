//! Rule versions: editing or regenerating a rule appends version n+1 with its
//! parent, content hash and validation result; nothing is overwritten.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Status};
use crate::generate::Language;

/// One immutable version of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleVersion {
    /// 1-based version number.
    pub version: u32,
    /// The version this one was derived from (`None` for version 1).
    pub parent: Option<u32>,
    /// The rule's language.
    pub language: Language,
    /// The rule text.
    pub content: String,
    /// Hex SHA-256 of the content.
    pub content_hash: String,
    /// Readiness from the diagnostics.
    pub status: Status,
    /// Validation diagnostics of this content.
    pub diagnostics: Vec<Diagnostic>,
    /// Who made this version.
    pub author: String,
    /// When (given by the caller; this crate reads no clock).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The history of one rule.
///
/// ```
/// use threatmapper_rules::{generate::Language, versions::RuleSet, Status};
/// let at = chrono::DateTime::from_timestamp(1_764_806_400, 0).unwrap();
/// let mut rs = RuleSet::new(uuid::Uuid::nil(), Language::Kql,
///     "DeviceProcessEvents | where ProcessCommandLine has \"REPLACE_WITH_BEHAVIOR\"", "gen", at);
/// assert_eq!(rs.latest().status, Status::NeedsAnalyst);
/// let v2 = rs.revise("DeviceProcessEvents | where ProcessCommandLine has \"-enc\"", "alice", at);
/// assert_eq!((v2.version, v2.parent, v2.status), (2, Some(1), Status::Ready));
/// assert_eq!(rs.versions().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSet {
    /// The rule's id.
    pub rule_id: uuid::Uuid,
    /// The rule's language.
    pub language: Language,
    versions: Vec<RuleVersion>,
}

impl RuleSet {
    /// A new rule whose version 1 is `content`.
    pub fn new(
        rule_id: uuid::Uuid,
        language: Language,
        content: impl Into<String>,
        author: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let mut rs = RuleSet {
            rule_id,
            language,
            versions: Vec::new(),
        };
        rs.push(content.into(), None, author, at);
        rs
    }

    /// Append version n+1 (parent: the latest version) and return it.
    pub fn revise(
        &mut self,
        content: impl Into<String>,
        author: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> &RuleVersion {
        let parent = self.latest().version;
        self.push(content.into(), Some(parent), author, at)
    }

    fn push(
        &mut self,
        content: String,
        parent: Option<u32>,
        author: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> &RuleVersion {
        let diagnostics = crate::validate(self.language, &content);
        let version = u32::try_from(self.versions.len() + 1).unwrap_or(u32::MAX);
        self.versions.push(RuleVersion {
            version,
            parent,
            language: self.language,
            content_hash: content_hash(&content),
            status: Status::of(&diagnostics),
            diagnostics,
            content,
            author: author.to_owned(),
            created_at: at,
        });
        // Just pushed, so there is a last element.
        &self.versions[self.versions.len() - 1]
    }

    /// The newest version.
    pub fn latest(&self) -> &RuleVersion {
        // `new` always creates version 1 and versions are never removed.
        &self.versions[self.versions.len() - 1]
    }

    /// Version `n` (1-based).
    pub fn version(&self, n: u32) -> Option<&RuleVersion> {
        self.versions.get(usize::try_from(n).ok()?.checked_sub(1)?)
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[RuleVersion] {
        &self.versions
    }
}

/// Hex SHA-256 of a rule's text.
pub fn content_hash(content: &str) -> String {
    Sha256::digest(content.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

//! MITRE ATLAS data into report drafts and a technique catalogue.
//!
//! Inputs: the data distribution `ATLAS.yaml` (atlas-data) or its JSON form,
//! and the ATLAS STIX bundle (atlas-navigator-data).
//!
//! Mapping (distribution): every case study (`AML.CS*`) becomes a draft —
//! `name` → title, `summary` → summary, `incident-date` → published,
//! `reporter` → author, the first reference URL → url, `atlas:<id>` as external
//! id, and the technique ids of its procedure (`AML.T0043.003`, in order, unique)
//! as labels. Tactics and techniques (with their tactics and parent technique)
//! form the [`Catalogue`] that drafts' labels refer to. A case study with an
//! impossible date or without a name fails alone, with a warning.
//!
//! The STIX bundle has no case studies: it yields the catalogue only
//! (`x-mitre-tactic` and `attack-pattern` objects with their `mitre-atlas`
//! external ids), and no drafts.

use serde::Serialize;
use serde_json::Value;

use crate::canonical_report_url;
use crate::error::{Error, Result};
use crate::report::{ImportResult, Origin, Rejected, ReportDraft};

/// An ATLAS tactic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tactic {
    /// `AML.TA0002`.
    pub id: String,
    /// Name.
    pub name: String,
}

/// An ATLAS technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Technique {
    /// `AML.T0043` or `AML.T0043.003`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Tactic ids it belongs to.
    pub tactics: Vec<String>,
    /// The parent technique of a sub-technique.
    pub subtechnique_of: Option<String>,
}

/// Tactics and techniques, for citing techniques in rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    /// Tactics.
    pub tactics: Vec<Tactic>,
    /// Techniques.
    pub techniques: Vec<Technique>,
}

/// What an ATLAS import produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AtlasImport {
    /// Case-study drafts and the usual counts.
    pub result: ImportResult,
    /// The technique catalogue.
    pub catalogue: Catalogue,
}

fn bad(location: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Format {
        format: "ATLAS",
        location: location.into(),
        reason: reason.into(),
    }
}

fn s(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(x) => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parse ATLAS data (YAML, its JSON form, or the ATLAS STIX bundle).
///
/// ```
/// let yaml = b"id: ATLAS\nmatrices:\n- id: ATLAS\n  tactics:\n  - {id: AML.TA0002, name: Reconnaissance}\n  techniques:\n  - {id: AML.T0000, name: Search, tactics: [AML.TA0002]}\ncase-studies:\n- id: AML.CS0000\n  name: Evasion\n  summary: s\n  incident-date: 2020-01-01\n  procedure:\n  - {tactic: AML.TA0002, technique: AML.T0000}\n";
/// let a = threatmapper_core::atlas::parse(yaml).unwrap();
/// assert_eq!(a.result.drafts[0].labels, ["AML.T0000"]);
/// assert_eq!(a.catalogue.techniques[0].tactics, ["AML.TA0002"]);
/// ```
pub fn parse(bytes: &[u8]) -> Result<AtlasImport> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| bad(format!("byte {}", e.valid_up_to()), "not UTF-8 text"))?;
    let root: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| {
            bad(
                format!("line {} column {}", e.line(), e.column()),
                format!("not JSON: {e}"),
            )
        })?
    } else {
        serde_saphyr::from_str(text).map_err(|e| {
            let at = e.location().map_or_else(
                || "document".to_owned(),
                |l| format!("line {} column {}", l.line(), l.column()),
            );
            bad(
                at,
                format!("not YAML: {}", e.to_string().lines().next().unwrap_or("")),
            )
        })?
    };
    if root.get("type").and_then(Value::as_str) == Some("bundle") {
        return Ok(from_stix(&root));
    }
    let Some(top) = root.as_object() else {
        return Err(bad(
            "$",
            "ATLAS data is a mapping with `matrices` and `case-studies`",
        ));
    };
    if !top.contains_key("matrices") && !top.contains_key("case-studies") {
        return Err(bad("$", "no `matrices` or `case-studies`: not ATLAS data"));
    }
    let mut out = AtlasImport::default();
    for m in top
        .get("matrices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for t in m
            .get("tactics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(id), Some(name)) = (s(t.get("id")), s(t.get("name"))) {
                out.catalogue.tactics.push(Tactic { id, name });
            }
        }
        for t in m
            .get("techniques")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(id), Some(name)) = (s(t.get("id")), s(t.get("name"))) {
                out.catalogue.techniques.push(Technique {
                    id,
                    name,
                    tactics: t
                        .get("tactics")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|x| s(Some(x)))
                        .collect(),
                    subtechnique_of: s(t.get("subtechnique-of")),
                });
            }
        }
    }
    for (i, cs) in top
        .get("case-studies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let path = format!("case-studies[{i}]");
        match case_study(cs) {
            Ok(d) => out.result.drafts.push(d),
            Err(reason) => {
                out.result.warnings.push(format!("{path}: {reason}"));
                out.result.rejected.push(Rejected {
                    location: path,
                    reason,
                });
            }
        }
    }
    Ok(out)
}

fn case_study(cs: &Value) -> std::result::Result<ReportDraft, String> {
    let id = s(cs.get("id")).unwrap_or_default();
    let name = s(cs.get("name"))
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| format!("{id}: case study without a name"))?;
    let mut d = ReportDraft::new(Origin::Atlas, name.trim());
    d.summary = s(cs.get("summary")).unwrap_or_default();
    if !id.is_empty() {
        d.external_ids.push(format!("atlas:{id}"));
    }
    if let Some(date) = s(cs.get("incident-date")) {
        let day = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
            .map_err(|_| format!("{id}: impossible incident-date `{date}`"))?;
        d.published = Some(format!("{day}T00:00:00Z"));
    }
    d.author = s(cs.get("reporter"));
    for r in cs
        .get("references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(u) = s(r.get("url"))
            && let Ok(c) = canonical_report_url(&u)
        {
            d.url = Some(c);
            break;
        }
    }
    for step in cs
        .get("procedure")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(t) = s(step.get("technique"))
            && !d.labels.contains(&t)
        {
            d.labels.push(t);
        }
    }
    Ok(d)
}

fn from_stix(root: &Value) -> AtlasImport {
    let mut out = AtlasImport::default();
    let atlas_id = |o: &Value| -> Option<String> {
        o.get("external_references")?
            .as_array()?
            .iter()
            .find(|r| r.get("source_name").and_then(Value::as_str) == Some("mitre-atlas"))
            .and_then(|r| s(r.get("external_id")))
    };
    let mut short_to_tactic = std::collections::HashMap::new();
    let objects = root
        .get("objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for o in &objects {
        if o.get("type").and_then(Value::as_str) == Some("x-mitre-tactic")
            && let (Some(id), Some(name)) = (atlas_id(o), s(o.get("name")))
        {
            if let Some(short) = s(o.get("x_mitre_shortname")) {
                short_to_tactic.insert(short, id.clone());
            }
            out.catalogue.tactics.push(Tactic { id, name });
        }
    }
    for o in &objects {
        if o.get("type").and_then(Value::as_str) == Some("attack-pattern")
            && let (Some(id), Some(name)) = (atlas_id(o), s(o.get("name")))
        {
            let tactics = o
                .get("kill_chain_phases")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|k| s(k.get("phase_name")))
                .map(|p| short_to_tactic.get(&p).cloned().unwrap_or(p))
                .collect();
            let subtechnique_of = id
                .rsplit_once('.')
                .filter(|(_, sub)| sub.len() == 3 && id.matches('.').count() == 2)
                .map(|(p, _)| p.to_owned());
            out.catalogue.techniques.push(Technique {
                id,
                name,
                tactics,
                subtechnique_of,
            });
        }
    }
    out
}

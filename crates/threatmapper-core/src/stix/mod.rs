//! STIX 2.1 import: bundles and TAXII 2.1 envelopes into report drafts.
//!
//! - Each object is checked as an importer must (`type`, an `id` of the form
//!   `type--UUID`, `spec_version` 2.1, `created`/`modified` on SDOs and SROs).
//!   One bad object is rejected with its JSON path and field; the rest import.
//! - `report` objects become drafts. Their `object_refs` are resolved:
//!   indicators (through the [`pattern`] parser), observed-data and cyber
//!   observables (SCOs) give observables, vulnerabilities give CVE ids. Dangling
//!   references are warnings.
//! - Indicators, observables and vulnerabilities no report references are kept
//!   in one extra draft titled `Unreferenced objects in <bundle id>` (with the
//!   producing identity's name when there is one).
//! - TLP markings map to `TLP:CLEAR` (the WHITE marking, also when named
//!   `TLP:CLEAR`), `TLP:GREEN`, `TLP:AMBER`, `TLP:AMBER+STRICT`, `TLP:RED`.
//! - Unknown object types and custom properties are tolerated and counted;
//!   pattern comparisons on object paths ThreatMapper does not import are
//!   counted as unsupported.
//! - STIX 2.0 input is refused with "unsupported spec_version".

pub mod pattern;

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::report::{ImportResult, Origin, Rejected, ReportDraft, rfc3339};
use crate::{ObservableKind, canonical_observable, canonical_report_url};

const SCO_TYPES: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];
const SDO_SRO_TYPES: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    "relationship",
    "sighting",
];

/// The well-known TLP 1.0/2.0 marking-definition ids.
fn tlp_by_id(id: &str) -> Option<&'static str> {
    Some(match id {
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9" => "TLP:CLEAR",
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da" => "TLP:GREEN",
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82" => "TLP:AMBER",
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed" => "TLP:RED",
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487" => "TLP:CLEAR",
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb" => "TLP:GREEN",
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421" => "TLP:AMBER",
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003" => "TLP:AMBER+STRICT",
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1" => "TLP:RED",
        _ => return None,
    })
}

fn tlp_name(s: &str) -> Option<&'static str> {
    let u = s
        .trim()
        .to_ascii_uppercase()
        .replace("TLP:", "")
        .replace("TLP_", "");
    Some(match u.as_str() {
        "WHITE" | "CLEAR" => "TLP:CLEAR",
        "GREEN" => "TLP:GREEN",
        "AMBER" => "TLP:AMBER",
        "AMBER+STRICT" => "TLP:AMBER+STRICT",
        "RED" => "TLP:RED",
        _ => return None,
    })
}

fn bad(path: &str, reason: impl Into<String>) -> Error {
    Error::Format {
        format: "STIX",
        location: path.to_owned(),
        reason: reason.into(),
    }
}

/// Parse a STIX 2.1 bundle or TAXII 2.1 envelope.
///
/// ```
/// let bundle = br#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
///   {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
///    "created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z","pattern_type":"stix",
///    "pattern":"[ipv4-addr:value = '198.51.100.7']","valid_from":"2024-01-01T00:00:00Z"}]}"#;
/// let r = threatmapper_core::stix::parse(bundle).unwrap();
/// assert_eq!(r.drafts.len(), 1);
/// assert_eq!(r.drafts[0].observables[0].value, "198.51.100.7");
/// ```
pub fn parse(bytes: &[u8]) -> Result<ImportResult> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| {
        bad(
            &format!("line {} column {}", e.line(), e.column()),
            format!("not JSON: {e}"),
        )
    })?;
    let Some(top) = root.as_object() else {
        return Err(bad("$", "a STIX bundle is a JSON object"));
    };
    if top.get("spec_version").and_then(Value::as_str) == Some("2.0") {
        return Err(bad(
            "$.spec_version",
            "unsupported spec_version 2.0: export STIX 2.1",
        ));
    }
    match top.get("type").and_then(Value::as_str) {
        Some("bundle") | None => {}
        Some(t) => {
            return Err(bad(
                "$.type",
                format!("expected a bundle or a TAXII envelope, found a `{t}` object"),
            ));
        }
    }
    let Some(objects) = top.get("objects").and_then(Value::as_array) else {
        return Err(bad("$.objects", "missing `objects` array"));
    };
    let bundle_id = top
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("the envelope")
        .to_owned();

    let mut out = ImportResult::default();
    let mut by_id: HashMap<&str, &serde_json::Map<String, Value>> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    let mut v20 = 0usize;
    for (i, o) in objects.iter().enumerate() {
        let path = format!("objects[{i}]");
        match check_object(o, &path) {
            Ok(obj) => {
                let id = obj.get("id").and_then(Value::as_str).unwrap_or("");
                if obj.get("spec_version").and_then(Value::as_str) == Some("2.0") {
                    v20 += 1;
                }
                let typ = obj.get("type").and_then(Value::as_str).unwrap_or("");
                if !SCO_TYPES.contains(&typ)
                    && !SDO_SRO_TYPES.contains(&typ)
                    && typ != "marking-definition"
                    && typ != "language-content"
                    && typ != "extension-definition"
                {
                    out.unsupported += 1;
                }
                // Two relationships may share an id with different content
                // (the ATLAS bundle does): keep the first by id for lookups;
                // relationships are not looked up by id.
                by_id.entry(id).or_insert(obj);
                order.push(id);
            }
            Err(r) => out.rejected.push(r),
        }
    }
    if v20 > 0 && v20 == order.len() {
        return Err(bad(
            "$.objects",
            "unsupported spec_version 2.0: export STIX 2.1",
        ));
    }

    let identity_name = |id: Option<&str>| -> Option<String> {
        by_id
            .get(id?)
            .and_then(|o| o.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let marking_tlp = |refs: Option<&Value>| -> Option<String> {
        for r in refs?.as_array()? {
            let id = r.as_str()?;
            if let Some(t) = tlp_by_id(id) {
                return Some(t.to_owned());
            }
            if let Some(m) = by_id.get(id) {
                let named = m.get("name").and_then(Value::as_str).and_then(tlp_name);
                let def = m
                    .get("definition")
                    .and_then(|d| d.get("tlp"))
                    .and_then(Value::as_str)
                    .and_then(tlp_name);
                if let Some(t) = named.or(def) {
                    return Some(t.to_owned());
                }
            }
        }
        None
    };

    let mut referenced: HashSet<&str> = HashSet::new();
    for id in &order {
        let Some(obj) = by_id.get(id) else { continue };
        if obj.get("type").and_then(Value::as_str) != Some("report") {
            continue;
        }
        let title = obj
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("Untitled STIX report");
        let mut d = ReportDraft::new(Origin::Stix, title);
        d.summary = obj
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        d.external_ids.push((*id).to_owned());
        if let Some(p) = obj.get("published").and_then(Value::as_str) {
            match rfc3339(p) {
                Some(t) => d.published = Some(t),
                None => out
                    .warnings
                    .push(format!("{id}: invalid `published` timestamp `{p}`")),
            }
        }
        d.author = identity_name(obj.get("created_by_ref").and_then(Value::as_str));
        for key in ["labels", "report_types"] {
            for l in obj.get(key).and_then(Value::as_array).into_iter().flatten() {
                if let Some(s) = l.as_str()
                    && !d.labels.iter().any(|x| x == s)
                {
                    d.labels.push(s.to_owned());
                }
            }
        }
        for r in obj
            .get("external_references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if d.url.is_none()
                && let Some(u) = r.get("url").and_then(Value::as_str)
            {
                d.url = Some(canonical_report_url(u).unwrap_or_else(|_| u.to_owned()));
            }
            if let (Some(s), Some(e)) = (
                r.get("source_name").and_then(Value::as_str),
                r.get("external_id").and_then(Value::as_str),
            ) {
                d.external_ids.push(format!("{s}:{e}"));
            }
        }
        d.tlp = marking_tlp(obj.get("object_marking_refs"));
        for r in obj
            .get("object_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(rid) = r.as_str() else { continue };
            match by_id.get(rid) {
                Some(target) => {
                    referenced.insert(rid);
                    observables_of(rid, target, &by_id, &mut d, &mut out, &mut referenced);
                }
                None => out.warnings.push(format!(
                    "{id}: object_refs names {rid}, which is not in the bundle (kept unresolved)"
                )),
            }
        }
        out.drafts.push(d);
    }

    // Observables nobody referenced are not lost.
    let mut rest = ReportDraft::new(Origin::Stix, "");
    let mut producer = None;
    for id in &order {
        if referenced.contains(id) {
            continue;
        }
        let Some(obj) = by_id.get(id) else { continue };
        let typ = obj.get("type").and_then(Value::as_str).unwrap_or("");
        if matches!(typ, "indicator" | "observed-data" | "vulnerability")
            || SCO_TYPES.contains(&typ)
        {
            if producer.is_none() {
                producer = identity_name(obj.get("created_by_ref").and_then(Value::as_str));
            }
            let mut seen = HashSet::new();
            observables_of(id, obj, &by_id, &mut rest, &mut out, &mut seen);
            if rest.tlp.is_none() {
                rest.tlp = marking_tlp(obj.get("object_marking_refs"));
            }
        }
    }
    if !rest.observables.is_empty() {
        rest.title = match &producer {
            Some(p) => format!("Unreferenced objects in {bundle_id} from {p}"),
            None => format!("Unreferenced objects in {bundle_id}"),
        };
        rest.author = producer;
        rest.external_ids.push(bundle_id.clone());
        out.drafts.push(rest);
    }
    Ok(out)
}

/// Check what an importer must; returns the object or the rejection.
fn check_object<'a>(
    o: &'a Value,
    path: &str,
) -> std::result::Result<&'a serde_json::Map<String, Value>, Rejected> {
    let reject = |field: &str, reason: String, id: Option<&str>| Rejected {
        location: match id {
            Some(id) => format!("{path}.{field} ({id})"),
            None => format!("{path}.{field}"),
        },
        reason,
    };
    let Some(obj) = o.as_object() else {
        return Err(Rejected {
            location: path.to_owned(),
            reason: "an object must be a JSON object".into(),
        });
    };
    let Some(typ) = obj.get("type").and_then(Value::as_str) else {
        return Err(reject("type", "missing or not a string".into(), None));
    };
    let Some(id) = obj.get("id").and_then(Value::as_str) else {
        return Err(reject("id", "missing or not a string".into(), None));
    };
    let ok_id = id.split_once("--").is_some_and(|(t, u)| {
        t == typ
            && u.len() == 36
            && u.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
            && u.matches('-').count() == 4
    });
    if !ok_id {
        return Err(reject(
            "id",
            format!("`{id}` is not `{typ}--<UUID>`"),
            Some(id),
        ));
    }
    if SDO_SRO_TYPES.contains(&typ) {
        match obj.get("spec_version").and_then(Value::as_str) {
            Some("2.1") => {}
            Some(v) => {
                return Err(reject(
                    "spec_version",
                    format!("unsupported spec_version {v}"),
                    Some(id),
                ));
            }
            None => {
                return Err(reject(
                    "spec_version",
                    "missing (STIX 2.1 objects carry spec_version \"2.1\")".into(),
                    Some(id),
                ));
            }
        }
        for f in ["created", "modified"] {
            match obj.get(f).and_then(Value::as_str) {
                Some(t) if rfc3339(t).is_some() => {}
                Some(t) => {
                    return Err(reject(
                        f,
                        format!("`{t}` is not an RFC 3339 timestamp"),
                        Some(id),
                    ));
                }
                None => return Err(reject(f, "missing".into(), Some(id))),
            }
        }
    }
    Ok(obj)
}

/// Observables of one object into `d`.
fn observables_of<'a>(
    id: &'a str,
    obj: &serde_json::Map<String, Value>,
    by_id: &HashMap<&'a str, &'a serde_json::Map<String, Value>>,
    d: &mut ReportDraft,
    out: &mut ImportResult,
    referenced: &mut HashSet<&'a str>,
) {
    let typ = obj.get("type").and_then(Value::as_str).unwrap_or("");
    match typ {
        "indicator" => {
            if obj
                .get("pattern_type")
                .and_then(Value::as_str)
                .is_some_and(|t| t != "stix")
            {
                out.unsupported += 1;
                return;
            }
            let Some(p) = obj.get("pattern").and_then(Value::as_str) else {
                out.rejected.push(Rejected {
                    location: format!("{id}.pattern"),
                    reason: "missing".into(),
                });
                return;
            };
            match pattern::parse(p) {
                Ok(cmps) => {
                    for c in cmps {
                        if c.negated || !matches!(c.operator.as_str(), "=" | "IN") {
                            out.unsupported += 1;
                            continue;
                        }
                        let kind =
                            match (c.object_type.as_str(), c.path.to_ascii_lowercase().as_str()) {
                                ("ipv4-addr", "value") => Some(ObservableKind::Ipv4),
                                ("ipv6-addr", "value") => Some(ObservableKind::Ipv6),
                                ("domain-name", "value") => Some(ObservableKind::Domain),
                                ("url", "value") => Some(ObservableKind::Url),
                                ("email-addr", "value") => Some(ObservableKind::Email),
                                ("file", "hashes.md5") => Some(ObservableKind::Md5),
                                ("file", "hashes.sha-256" | "hashes.sha256") => {
                                    Some(ObservableKind::Sha256)
                                }
                                ("file", "hashes.sha-1" | "hashes.sha1") => {
                                    Some(ObservableKind::Sha1)
                                }
                                _ => None,
                            };
                        match kind {
                            Some(k) => {
                                for v in c.values {
                                    add(d, out, k, &v, &format!("{id} pattern"));
                                }
                            }
                            None => out.unsupported += 1,
                        }
                    }
                }
                Err(e) => out.rejected.push(Rejected {
                    location: format!("{id}.pattern column {}", e.column),
                    reason: e.message,
                }),
            }
        }
        "vulnerability" => {
            let mut found = false;
            for r in obj
                .get("external_references")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if r.get("source_name")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case("cve"))
                    && let Some(e) = r.get("external_id").and_then(Value::as_str)
                {
                    found |= add(d, out, ObservableKind::Cve, e, id);
                }
            }
            if !found
                && let Some(n) = obj.get("name").and_then(Value::as_str)
                && canonical_observable(ObservableKind::Cve, n).is_ok()
            {
                add(d, out, ObservableKind::Cve, n, id);
            }
        }
        "observed-data" => {
            for r in obj
                .get("object_refs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(rid) = r.as_str()
                    && let Some((k, t)) = by_id.get_key_value(rid)
                {
                    referenced.insert(k);
                    sco(rid, t, d, out);
                }
            }
            // STIX 2.0-style embedded `objects`.
            if let Some(m) = obj.get("objects").and_then(Value::as_object) {
                for (k, v) in m {
                    if let Some(o) = v.as_object() {
                        sco(&format!("{id}.objects.{k}"), o, d, out);
                    }
                }
            }
        }
        t if SCO_TYPES.contains(&t) => sco(id, obj, d, out),
        _ => {}
    }
}

fn sco(
    id: &str,
    obj: &serde_json::Map<String, Value>,
    d: &mut ReportDraft,
    out: &mut ImportResult,
) {
    let typ = obj.get("type").and_then(Value::as_str).unwrap_or("");
    let value = obj.get("value").and_then(Value::as_str);
    match (typ, value) {
        ("ipv4-addr", Some(v)) => {
            add(d, out, ObservableKind::Ipv4, v, id);
        }
        ("ipv6-addr", Some(v)) => {
            add(d, out, ObservableKind::Ipv6, v, id);
        }
        ("domain-name", Some(v)) => {
            add(d, out, ObservableKind::Domain, v, id);
        }
        ("url", Some(v)) => {
            add(d, out, ObservableKind::Url, v, id);
        }
        ("email-addr", Some(v)) => {
            add(d, out, ObservableKind::Email, v, id);
        }
        ("file", _) => {
            let mut any = false;
            if let Some(h) = obj.get("hashes").and_then(Value::as_object) {
                for (alg, v) in h {
                    let kind = match alg.to_ascii_uppercase().as_str() {
                        "MD5" => ObservableKind::Md5,
                        "SHA-1" | "SHA1" => ObservableKind::Sha1,
                        "SHA-256" | "SHA256" => ObservableKind::Sha256,
                        _ => {
                            out.unsupported += 1;
                            continue;
                        }
                    };
                    if let Some(v) = v.as_str() {
                        any |= add(d, out, kind, v, id);
                    }
                }
            }
            if !any {
                out.unsupported += 1;
            }
        }
        _ => out.unsupported += 1,
    }
}

/// Canonicalise and add; an invalid value is rejected (with its source) and a
/// CIDR range wider than one address is counted as unsupported.
fn add(
    d: &mut ReportDraft,
    out: &mut ImportResult,
    kind: ObservableKind,
    raw: &str,
    source: &str,
) -> bool {
    let raw = raw.trim();
    let raw = match (kind, raw.split_once('/')) {
        (ObservableKind::Ipv4, Some((a, "32"))) | (ObservableKind::Ipv6, Some((a, "128"))) => a,
        (ObservableKind::Ipv4 | ObservableKind::Ipv6, Some(_)) => {
            out.unsupported += 1;
            return false;
        }
        _ => raw,
    };
    match canonical_observable(kind, raw) {
        Ok(v) => {
            let host = (kind == ObservableKind::Url)
                .then(|| crate::report::url_host(&v))
                .flatten();
            d.add_observable(kind, v, source.to_owned());
            if let Some((k, h)) = host {
                d.add_observable(k, h, format!("{source} host"));
            }
            true
        }
        Err(e) => {
            out.rejected.push(Rejected {
                location: source.to_owned(),
                reason: e.to_string(),
            });
            false
        }
    }
}

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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde_json::value::RawValue;

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

type Str<'a> = Cow<'a, str>;

/// The top level: a bundle or a TAXII envelope. Objects stay raw JSON until
/// each is read on its own, so one bad object cannot sink the bundle and no
/// generic JSON tree of the whole input is ever built.
#[derive(Deserialize)]
struct Top<'a> {
    #[serde(rename = "type", borrow, default)]
    typ: Option<Str<'a>>,
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
    #[serde(borrow, default)]
    spec_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    objects: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize, Default)]
struct ExtRef<'a> {
    #[serde(borrow, default)]
    source_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    external_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    url: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Definition<'a> {
    #[serde(borrow, default)]
    tlp: Option<Str<'a>>,
}

/// The properties of any STIX object that the importer reads; everything
/// else (custom properties included) is skipped.
#[derive(Deserialize)]
struct Obj<'a> {
    #[serde(rename = "type", borrow)]
    typ: Str<'a>,
    #[serde(borrow)]
    id: Str<'a>,
    #[serde(borrow, default)]
    spec_version: Option<Str<'a>>,
    #[serde(borrow, default)]
    created: Option<Str<'a>>,
    #[serde(borrow, default)]
    modified: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(borrow, default)]
    description: Option<Str<'a>>,
    #[serde(borrow, default)]
    published: Option<Str<'a>>,
    #[serde(borrow, default)]
    created_by_ref: Option<Str<'a>>,
    #[serde(borrow, default)]
    pattern: Option<Str<'a>>,
    #[serde(borrow, default)]
    pattern_type: Option<Str<'a>>,
    #[serde(borrow, default)]
    value: Option<Str<'a>>,
    #[serde(borrow, default)]
    object_refs: Vec<Str<'a>>,
    #[serde(borrow, default)]
    object_marking_refs: Vec<Str<'a>>,
    #[serde(borrow, default)]
    labels: Vec<Str<'a>>,
    #[serde(borrow, default)]
    report_types: Vec<Str<'a>>,
    #[serde(borrow, default)]
    external_references: Vec<ExtRef<'a>>,
    #[serde(borrow, default)]
    hashes: BTreeMap<Str<'a>, Str<'a>>,
    #[serde(borrow, default)]
    definition: Option<Definition<'a>>,
    /// STIX 2.0-style observed-data: embedded observables.
    #[serde(borrow, default)]
    objects: BTreeMap<Str<'a>, &'a RawValue>,
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
    let text = std::str::from_utf8(bytes)
        .map_err(|e| bad(&format!("byte {}", e.valid_up_to()), "not UTF-8 JSON"))?;
    if !text.trim_start().starts_with('{') {
        // Still report malformed JSON with its position.
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
            return Err(bad(
                &format!("line {} column {}", e.line(), e.column()),
                format!("not JSON: {e}"),
            ));
        }
        return Err(bad("$", "a STIX bundle is a JSON object"));
    }
    let top: Top<'_> = serde_json::from_str(text).map_err(|e| {
        bad(
            &format!("line {} column {}", e.line(), e.column()),
            format!("not a STIX bundle: {e}"),
        )
    })?;
    if top.spec_version.as_deref() == Some("2.0") {
        return Err(bad(
            "$.spec_version",
            "unsupported spec_version 2.0: export STIX 2.1",
        ));
    }
    match top.typ.as_deref() {
        Some("bundle") | None => {}
        Some(t) => {
            return Err(bad(
                "$.type",
                format!("expected a bundle or a TAXII envelope, found a `{t}` object"),
            ));
        }
    }
    let Some(raw_objects) = top.objects else {
        return Err(bad("$.objects", "missing `objects` array"));
    };
    let bundle_id = top.id.as_deref().unwrap_or("the envelope").to_owned();

    let mut out = ImportResult::default();
    let mut objs: Vec<Obj<'_>> = Vec::with_capacity(raw_objects.len());
    let mut v20 = 0usize;
    for (i, raw) in raw_objects.iter().enumerate() {
        let path = format!("objects[{i}]");
        match check_object(raw, &path) {
            Ok(obj) => {
                if obj.spec_version.as_deref() == Some("2.0") {
                    v20 += 1;
                }
                let typ = obj.typ.as_ref();
                if !SCO_TYPES.contains(&typ)
                    && !SDO_SRO_TYPES.contains(&typ)
                    && !matches!(
                        typ,
                        "marking-definition" | "language-content" | "extension-definition"
                    )
                {
                    out.unsupported += 1;
                }
                objs.push(obj);
            }
            Err(r) => out.rejected.push(r),
        }
    }
    if v20 > 0 && v20 == objs.len() {
        return Err(bad(
            "$.objects",
            "unsupported spec_version 2.0: export STIX 2.1",
        ));
    }
    // Two relationships may share an id with different content (the ATLAS
    // bundle does): lookups keep the first by id; relationships are never
    // looked up by id.
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(objs.len());
    for (i, o) in objs.iter().enumerate() {
        by_id.entry(o.id.as_ref()).or_insert(i);
    }
    let get = |id: &str| by_id.get(id).map(|&i| &objs[i]);
    let identity_name = |id: Option<&str>| -> Option<String> {
        get(id?).and_then(|o| o.name.as_deref()).map(str::to_owned)
    };
    let marking_tlp = |refs: &[Str<'_>]| -> Option<String> {
        for r in refs {
            if let Some(t) = tlp_by_id(r) {
                return Some(t.to_owned());
            }
            if let Some(m) = get(r) {
                let named = m.name.as_deref().and_then(tlp_name);
                let def = m
                    .definition
                    .as_ref()
                    .and_then(|d| d.tlp.as_deref())
                    .and_then(tlp_name);
                if let Some(t) = named.or(def) {
                    return Some(t.to_owned());
                }
            }
        }
        None
    };

    let mut referenced: HashSet<usize> = HashSet::new();
    for obj in &objs {
        if obj.typ != "report" {
            continue;
        }
        let id = obj.id.as_ref();
        let mut d = ReportDraft::new(
            Origin::Stix,
            obj.name.as_deref().unwrap_or("Untitled STIX report"),
        );
        d.summary = obj.description.as_deref().unwrap_or("").to_owned();
        d.external_ids.push(id.to_owned());
        if let Some(p) = obj.published.as_deref() {
            match rfc3339(p) {
                Some(t) => d.published = Some(t),
                None => out
                    .warnings
                    .push(format!("{id}: invalid `published` timestamp `{p}`")),
            }
        }
        d.author = identity_name(obj.created_by_ref.as_deref());
        for l in obj.labels.iter().chain(&obj.report_types) {
            if !d.labels.iter().any(|x| x == l) {
                d.labels.push(l.to_string());
            }
        }
        for r in &obj.external_references {
            if d.url.is_none()
                && let Some(u) = r.url.as_deref()
            {
                d.url = Some(canonical_report_url(u).unwrap_or_else(|_| u.to_owned()));
            }
            if let (Some(s), Some(e)) = (r.source_name.as_deref(), r.external_id.as_deref()) {
                d.external_ids.push(format!("{s}:{e}"));
            }
        }
        d.tlp = marking_tlp(&obj.object_marking_refs);
        for rid in &obj.object_refs {
            match by_id.get(rid.as_ref()) {
                Some(&ti) => {
                    referenced.insert(ti);
                    observables_of(ti, &objs, &by_id, &mut d, &mut out, &mut referenced);
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
    for (i, obj) in objs.iter().enumerate() {
        if referenced.contains(&i) {
            continue;
        }
        let typ = obj.typ.as_ref();
        if matches!(typ, "indicator" | "observed-data" | "vulnerability")
            || SCO_TYPES.contains(&typ)
        {
            if producer.is_none() {
                producer = identity_name(obj.created_by_ref.as_deref());
            }
            let mut seen = HashSet::new();
            observables_of(i, &objs, &by_id, &mut rest, &mut out, &mut seen);
            if rest.tlp.is_none() {
                rest.tlp = marking_tlp(&obj.object_marking_refs);
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

/// Read one object and check what an importer must.
fn check_object<'a>(raw: &'a RawValue, path: &str) -> std::result::Result<Obj<'a>, Rejected> {
    let obj: Obj<'a> = match serde_json::from_str(raw.get()) {
        Ok(o) => o,
        Err(e) => {
            return Err(Rejected {
                location: path.to_owned(),
                reason: format!("not a readable STIX object: {e}"),
            });
        }
    };
    let typ = obj.typ.as_ref();
    let id = obj.id.as_ref();
    let reject = |field: &str, reason: String| Rejected {
        location: format!("{path}.{field} ({id})"),
        reason,
    };
    let ok_id = id.split_once("--").is_some_and(|(t, u)| {
        t == typ
            && u.len() == 36
            && u.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
            && u.matches('-').count() == 4
    });
    if !ok_id {
        return Err(reject("id", format!("`{id}` is not `{typ}--<UUID>`")));
    }
    if SDO_SRO_TYPES.contains(&typ) {
        match obj.spec_version.as_deref() {
            Some("2.1") => {}
            Some(v) => {
                return Err(reject(
                    "spec_version",
                    format!("unsupported spec_version {v}"),
                ));
            }
            None => {
                return Err(reject(
                    "spec_version",
                    "missing (STIX 2.1 objects carry spec_version \"2.1\")".into(),
                ));
            }
        }
        for (f, v) in [("created", &obj.created), ("modified", &obj.modified)] {
            match v.as_deref() {
                Some(t) if rfc3339(t).is_some() => {}
                Some(t) => return Err(reject(f, format!("`{t}` is not an RFC 3339 timestamp"))),
                None => return Err(reject(f, "missing".into())),
            }
        }
    }
    Ok(obj)
}

/// Observables of object `i` into `d`.
fn observables_of(
    i: usize,
    objs: &[Obj<'_>],
    by_id: &HashMap<&str, usize>,
    d: &mut ReportDraft,
    out: &mut ImportResult,
    referenced: &mut HashSet<usize>,
) {
    let obj = &objs[i];
    let id = obj.id.as_ref();
    match obj.typ.as_ref() {
        "indicator" => {
            if obj.pattern_type.as_deref().is_some_and(|t| t != "stix") {
                out.unsupported += 1;
                return;
            }
            let Some(p) = obj.pattern.as_deref() else {
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
            for r in &obj.external_references {
                if r.source_name
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("cve"))
                    && let Some(e) = r.external_id.as_deref()
                {
                    found |= add(d, out, ObservableKind::Cve, e, id);
                }
            }
            if !found
                && let Some(n) = obj.name.as_deref()
                && canonical_observable(ObservableKind::Cve, n).is_ok()
            {
                add(d, out, ObservableKind::Cve, n, id);
            }
        }
        "observed-data" => {
            for rid in &obj.object_refs {
                if let Some(&ti) = by_id.get(rid.as_ref()) {
                    referenced.insert(ti);
                    sco(rid, &objs[ti], d, out);
                }
            }
            // STIX 2.0-style embedded `objects`.
            for (k, raw) in &obj.objects {
                let at = format!("{id}.objects.{k}");
                #[derive(Deserialize)]
                struct Embedded<'b> {
                    #[serde(rename = "type", borrow)]
                    typ: Str<'b>,
                    #[serde(borrow, default)]
                    value: Option<Str<'b>>,
                    #[serde(borrow, default)]
                    hashes: BTreeMap<Str<'b>, Str<'b>>,
                }
                match serde_json::from_str::<Embedded<'_>>(raw.get()) {
                    Ok(e) => sco_parts(&at, &e.typ, e.value.as_deref(), &e.hashes, d, out),
                    Err(e) => out.rejected.push(Rejected {
                        location: at,
                        reason: e.to_string(),
                    }),
                }
            }
        }
        t if SCO_TYPES.contains(&t) => sco(id, obj, d, out),
        _ => {}
    }
}

fn sco(id: &str, obj: &Obj<'_>, d: &mut ReportDraft, out: &mut ImportResult) {
    sco_parts(id, &obj.typ, obj.value.as_deref(), &obj.hashes, d, out);
}

fn sco_parts(
    id: &str,
    typ: &str,
    value: Option<&str>,
    hashes: &BTreeMap<Str<'_>, Str<'_>>,
    d: &mut ReportDraft,
    out: &mut ImportResult,
) {
    let kind = match typ {
        "ipv4-addr" => Some(ObservableKind::Ipv4),
        "ipv6-addr" => Some(ObservableKind::Ipv6),
        "domain-name" => Some(ObservableKind::Domain),
        "url" => Some(ObservableKind::Url),
        "email-addr" => Some(ObservableKind::Email),
        _ => None,
    };
    match (typ, kind, value) {
        (_, Some(k), Some(v)) => {
            add(d, out, k, v, id);
        }
        ("file", _, _) => {
            let mut any = false;
            for (alg, v) in hashes {
                let kind = match alg.to_ascii_uppercase().as_str() {
                    "MD5" => ObservableKind::Md5,
                    "SHA-1" | "SHA1" => ObservableKind::Sha1,
                    "SHA-256" | "SHA256" => ObservableKind::Sha256,
                    _ => {
                        out.unsupported += 1;
                        continue;
                    }
                };
                any |= add(d, out, kind, v, id);
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

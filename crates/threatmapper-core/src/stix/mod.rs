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
use std::collections::BTreeMap;
use std::hash::BuildHasher;

use hashbrown::hash_table::{Entry, HashTable};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::report::{ImportResult, Origin, Rejected, ReportDraft, is_rfc3339, rfc3339};
use crate::{ObservableKind, canonical_observable, canonical_report_url};

/// What STIX 2.1 says an object type is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Category {
    /// A cyber-observable object.
    Sco,
    /// A domain object or relationship object (checked for `spec_version`,
    /// `created`, `modified`).
    SdoSro,
    /// A meta object (markings, language content, extension definitions).
    Meta,
    /// A type STIX 2.1 does not define (tolerated, counted as unsupported).
    Unknown,
}

fn category(typ: &str) -> Category {
    match typ {
        "artifact"
        | "autonomous-system"
        | "directory"
        | "domain-name"
        | "email-addr"
        | "email-message"
        | "file"
        | "ipv4-addr"
        | "ipv6-addr"
        | "mac-addr"
        | "mutex"
        | "network-traffic"
        | "process"
        | "software"
        | "url"
        | "user-account"
        | "windows-registry-key"
        | "x509-certificate" => Category::Sco,
        "attack-pattern" | "campaign" | "course-of-action" | "grouping" | "identity"
        | "incident" | "indicator" | "infrastructure" | "intrusion-set" | "location"
        | "malware" | "malware-analysis" | "note" | "observed-data" | "opinion" | "report"
        | "threat-actor" | "tool" | "vulnerability" | "relationship" | "sighting" => {
            Category::SdoSro
        }
        "marking-definition" | "language-content" | "extension-definition" => Category::Meta,
        _ => Category::Unknown,
    }
}

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

/// A JSON string borrowed from the input when it has no escapes. (serde's
/// own `Cow<str>` only borrows as a direct field, never inside an `Option`,
/// a `Vec` or a map, so every property would be copied.)
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Str<'a>(Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Str<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(
                self,
                v: String,
            ) -> std::result::Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// The top level: a bundle or a TAXII envelope, with its objects read as `O`.
/// First as [`Objects`]: each object is digested into a [`Rec`] as the parser
/// reaches it, so no generic JSON tree and no second reading of the input is
/// needed. When an object does not fit the expected shape the whole input is
/// read again with `O` = raw JSON values, object by object, so that one bad
/// object is rejected on its own.
#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a, O: Deserialize<'de>"))]
struct Top<'a, O> {
    #[serde(rename = "type", default)]
    typ: Option<Str<'a>>,
    #[serde(default)]
    id: Option<Str<'a>>,
    #[serde(default)]
    spec_version: Option<Str<'a>>,
    #[serde(default = "Option::default")]
    objects: Option<O>,
}

/// The objects of a bundle, digested.
#[derive(Default)]
struct Objects<'a> {
    recs: Vec<Rec<'a>>,
    rejected: Vec<Rejected>,
    unsupported: usize,
    /// Accepted objects that say `spec_version: "2.0"`.
    v20: usize,
}

impl<'a> Objects<'a> {
    /// Check object `i` and keep what the drafts need of it.
    fn push(&mut self, i: usize, mut obj: Obj<'a>) {
        match check_object(&obj, i) {
            Ok(()) => {
                if obj.spec_version.as_deref() == Some("2.0") {
                    self.v20 += 1;
                }
                match Rec::digest(&mut obj, i) {
                    Ok((rec, known)) => {
                        if !known {
                            self.unsupported += 1;
                        }
                        self.recs.push(rec);
                    }
                    Err(r) => self.rejected.push(r),
                }
            }
            Err(r) => self.rejected.push(r),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Objects<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Objects<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of STIX objects")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Objects<'a>, A::Error> {
                let mut o = Objects {
                    recs: Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16)),
                    ..Objects::default()
                };
                let mut i = 0;
                while let Some(obj) = seq.next_element::<Obj<'a>>()? {
                    o.push(i, obj);
                    i += 1;
                }
                Ok(o)
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// One accepted object, reduced to what the drafts need and borrowed from
/// the input: a bundle's objects are held in this form while references are
/// resolved, a fraction of the size of the parsed objects.
struct Rec<'a> {
    id: Str<'a>,
    name: Option<Str<'a>>,
    created_by_ref: Option<Str<'a>>,
    marking_refs: Vec<Str<'a>>,
    data: Data<'a>,
}

/// What a cyber observable yields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScoType {
    /// Its `value` is an observable of this kind.
    Value(ObservableKind),
    /// A `file`: its `hashes`.
    File,
    /// Nothing ThreatMapper imports.
    Other,
}

impl ScoType {
    fn of(typ: &str) -> ScoType {
        match typ {
            "ipv4-addr" => ScoType::Value(ObservableKind::Ipv4),
            "ipv6-addr" => ScoType::Value(ObservableKind::Ipv6),
            "domain-name" => ScoType::Value(ObservableKind::Domain),
            "url" => ScoType::Value(ObservableKind::Url),
            "email-addr" => ScoType::Value(ObservableKind::Email),
            "file" => ScoType::File,
            _ => ScoType::Other,
        }
    }
}

/// The class-specific part of a [`Rec`].
enum Data<'a> {
    None,
    /// A marking definition's `definition.tlp`.
    Marking(Option<Str<'a>>),
    Indicator {
        pattern: Option<Str<'a>>,
        stix: bool,
    },
    Sco {
        typ: ScoType,
        value: Option<Str<'a>>,
        hashes: BTreeMap<Str<'a>, Str<'a>>,
    },
    Vulnerability(Vec<ExtRef<'a>>),
    Observed {
        refs: Vec<Str<'a>>,
        embedded: BTreeMap<Str<'a>, &'a RawValue>,
    },
    Report(Box<Report<'a>>),
}

/// A report's own properties.
struct Report<'a> {
    description: String,
    published: Option<Str<'a>>,
    labels: Vec<Str<'a>>,
    report_types: Vec<Str<'a>>,
    external_references: Vec<ExtRef<'a>>,
    object_refs: Vec<Str<'a>>,
}

/// Read a list property kept raw; absent is empty. A property that is not a
/// list of the expected shape rejects the object, naming the property.
fn raw_list<'a, T: Deserialize<'a>>(
    raw: Option<&'a RawValue>,
    field: &str,
    id: &str,
    i: usize,
) -> std::result::Result<Vec<T>, Rejected> {
    match raw {
        None => Ok(Vec::new()),
        Some(r) => serde_json::from_str(r.get()).map_err(|e| Rejected {
            location: format!("objects[{i}].{field} ({id})"),
            reason: format!("not a list of the expected shape: {e}"),
        }),
    }
}

impl<'a> Rec<'a> {
    /// Reduce a checked object; the flag says whether its type is one STIX
    /// defines (other types are counted as unsupported). The object is
    /// emptied, never copied: it is large. List properties are read here,
    /// for the classes that use them only.
    fn digest(o: &mut Obj<'a>, i: usize) -> std::result::Result<(Rec<'a>, bool), Rejected> {
        let cat = category(&o.typ);
        let data = match o.typ.as_ref() {
            "report" => Data::Report(Box::new(Report::read(o, i)?)),
            "indicator" => Data::Indicator {
                stix: o.pattern_type.as_deref().is_none_or(|t| t == "stix"),
                pattern: o.pattern.take(),
            },
            "observed-data" => Data::Observed {
                refs: raw_list(o.object_refs, "object_refs", &o.id, i)?,
                embedded: std::mem::take(&mut o.objects),
            },
            "vulnerability" => Data::Vulnerability(raw_list(
                o.external_references,
                "external_references",
                &o.id,
                i,
            )?),
            "marking-definition" => Data::Marking(o.definition.take().and_then(|d| d.tlp)),
            t if cat == Category::Sco => Data::Sco {
                typ: ScoType::of(t),
                value: o.value.take(),
                hashes: std::mem::take(&mut o.hashes),
            },
            _ => Data::None,
        };
        let rec = Rec {
            id: std::mem::take(&mut o.id),
            name: o.name.take(),
            created_by_ref: o.created_by_ref.take(),
            marking_refs: std::mem::take(&mut o.object_marking_refs),
            data,
        };
        Ok((rec, cat != Category::Unknown))
    }

    /// Whether the object yields observables (indicators, observed-data,
    /// vulnerabilities, cyber observables).
    fn bears_observables(&self) -> bool {
        matches!(
            self.data,
            Data::Indicator { .. }
                | Data::Observed { .. }
                | Data::Vulnerability(_)
                | Data::Sco { .. }
        )
    }
}

impl<'a> Report<'a> {
    /// A report's own properties, read from object `i`.
    fn read(o: &mut Obj<'a>, i: usize) -> std::result::Result<Report<'a>, Rejected> {
        let id: &str = &o.id;
        let description = match o.description {
            None => None,
            Some(raw) => {
                serde_json::from_str::<Option<String>>(raw.get()).map_err(|e| Rejected {
                    location: format!("objects[{i}].description ({id})"),
                    reason: format!("not a string: {e}"),
                })?
            }
        };
        Ok(Report {
            description: description.unwrap_or_default(),
            labels: raw_list(o.labels, "labels", id, i)?,
            report_types: raw_list(o.report_types, "report_types", id, i)?,
            external_references: raw_list(o.external_references, "external_references", id, i)?,
            object_refs: raw_list(o.object_refs, "object_refs", id, i)?,
            published: o.published.take(),
        })
    }
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
/// else (custom properties included) is skipped. Properties only some
/// classes use are kept as raw JSON and read by [`Rec::digest`] for those.
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
    /// Kept as raw JSON: only a report's is read, and descriptions are long
    /// and full of escapes (reading one means copying it).
    #[serde(borrow, default)]
    description: Option<&'a RawValue>,
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
    object_refs: Option<&'a RawValue>,
    #[serde(borrow, default)]
    object_marking_refs: Vec<Str<'a>>,
    #[serde(borrow, default)]
    labels: Option<&'a RawValue>,
    #[serde(borrow, default)]
    report_types: Option<&'a RawValue>,
    #[serde(borrow, default)]
    external_references: Option<&'a RawValue>,
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
    // simdutf8 for the common valid case; std locates the first bad byte.
    let text = match simdutf8::basic::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => std::str::from_utf8(bytes)
            .map_err(|e| bad(&format!("byte {}", e.valid_up_to()), "not UTF-8 JSON"))?,
    };
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
    let (typ, id, spec_version, objects) = match serde_json::from_str::<Top<'_, Objects<'_>>>(text)
    {
        Ok(t) => (t.typ, t.id, t.spec_version, t.objects),
        Err(_) => {
            // Some object does not have the expected shape (or the input is
            // not JSON): read again with each object on its own, so the bad
            // object is rejected alone, or the input's error is located.
            let top: Top<'_, Vec<&RawValue>> = serde_json::from_str(text).map_err(|e| {
                bad(
                    &format!("line {} column {}", e.line(), e.column()),
                    format!("not a STIX bundle: {e}"),
                )
            })?;
            let objects = top.objects.map(|raw| {
                let mut o = Objects {
                    recs: Vec::with_capacity(raw.len()),
                    ..Objects::default()
                };
                for (i, r) in raw.iter().enumerate() {
                    match serde_json::from_str::<Obj<'_>>(r.get()) {
                        Ok(obj) => o.push(i, obj),
                        Err(e) => o.rejected.push(Rejected {
                            location: format!("objects[{i}]"),
                            reason: format!("not a readable STIX object: {e}"),
                        }),
                    }
                }
                o
            });
            (top.typ, top.id, top.spec_version, objects)
        }
    };
    if spec_version.as_deref() == Some("2.0") {
        return Err(bad(
            "$.spec_version",
            "unsupported spec_version 2.0: export STIX 2.1",
        ));
    }
    match typ.as_deref() {
        Some("bundle") | None => {}
        Some(t) => {
            return Err(bad(
                "$.type",
                format!("expected a bundle or a TAXII envelope, found a `{t}` object"),
            ));
        }
    }
    let Some(mut objects) = objects else {
        return Err(bad("$.objects", "missing `objects` array"));
    };
    if objects.v20 > 0 && objects.v20 == objects.recs.len() {
        return Err(bad(
            "$.objects",
            "unsupported spec_version 2.0: export STIX 2.1",
        ));
    }
    let bundle_id = id.as_deref().unwrap_or("the envelope");
    let rejected = std::mem::take(&mut objects.rejected);
    Ok(Build::new(&objects).drafts(bundle_id, objects.unsupported, rejected))
}

/// Check what an importer must of object `i`.
fn check_object(obj: &Obj<'_>, i: usize) -> std::result::Result<(), Rejected> {
    let typ = obj.typ.as_ref();
    let id = obj.id.as_ref();
    let reject = |field: &str, reason: String| Rejected {
        location: format!("objects[{i}].{field} ({id})"),
        reason,
    };
    let ok_id = id
        .split_once("--")
        .is_some_and(|(t, u)| t == typ && is_uuid(u.as_bytes()));
    if !ok_id {
        return Err(reject("id", format!("`{id}` is not `{typ}--<UUID>`")));
    }
    if category(typ) == Category::SdoSro {
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
                Some(t) if is_rfc3339(t) => {}
                Some(t) => return Err(reject(f, format!("`{t}` is not an RFC 3339 timestamp"))),
                None => return Err(reject(f, "missing".into())),
            }
        }
    }
    Ok(())
}

/// The textual UUID form: 8-4-4-4-12 hex digits (any version, any case).
fn is_uuid(u: &[u8]) -> bool {
    u.len() == 36
        && u.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Drafts from digested objects: references resolved through an id index.
struct Build<'r, 'a> {
    recs: &'r [Rec<'a>],
    /// Id → first object with it. Two relationships may share an id with
    /// different content (the ATLAS bundle has such): relationships are never
    /// looked up by id, and both are kept.
    /// (Indexes into `recs`, hashed by id: four bytes a bucket.)
    by_id: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    /// Objects a report references (directly or through observed-data).
    referenced: Vec<bool>,
    /// Objects whose rejections and unsupported parts are counted already:
    /// an object referenced by two reports is counted once.
    counted: Vec<bool>,
    out: ImportResult,
}

impl<'r, 'a> Build<'r, 'a> {
    fn new(objects: &'r Objects<'a>) -> Self {
        let recs = objects.recs.as_slice();
        let hasher = foldhash::fast::RandomState::default();
        let mut by_id = HashTable::with_capacity(recs.len());
        for (i, r) in recs.iter().enumerate() {
            // More than 2^32 objects would need a 200 GiB input; any beyond
            // that are not indexed rather than indexed wrongly.
            let Ok(i) = u32::try_from(i) else {
                break;
            };
            let id: &str = &r.id;
            let h = hasher.hash_one(id);
            if let Entry::Vacant(v) = by_id.entry(
                h,
                |&j: &u32| *recs[j as usize].id == *id,
                |&j: &u32| hasher.hash_one(&*recs[j as usize].id),
            ) {
                v.insert(i);
            }
        }
        Build {
            recs,
            by_id,
            hasher,
            referenced: vec![false; recs.len()],
            counted: vec![false; recs.len()],
            out: ImportResult::default(),
        }
    }

    fn get(&self, id: &str) -> Option<&'r Rec<'a>> {
        self.index(id).map(|i| &self.recs[i])
    }

    /// The index of the first object with this id.
    fn index(&self, id: &str) -> Option<usize> {
        let h = self.hasher.hash_one(id);
        self.by_id
            .find(h, |&j| *self.recs[j as usize].id == *id)
            .map(|&j| j as usize)
    }

    fn identity_name(&self, id: Option<&str>) -> Option<String> {
        self.get(id?)
            .and_then(|o| o.name.as_deref())
            .map(str::to_owned)
    }

    fn marking_tlp(&self, refs: &[Str<'_>]) -> Option<String> {
        for r in refs {
            if let Some(t) = tlp_by_id(r) {
                return Some(t.to_owned());
            }
            if let Some(m) = self.get(r) {
                let named = m.name.as_deref().and_then(tlp_name);
                let def = match &m.data {
                    Data::Marking(t) => t.as_deref().and_then(tlp_name),
                    _ => None,
                };
                if let Some(t) = named.or(def) {
                    return Some(t.to_owned());
                }
            }
        }
        None
    }

    fn drafts(
        mut self,
        bundle_id: &str,
        unsupported: usize,
        rejected: Vec<Rejected>,
    ) -> ImportResult {
        self.out.unsupported = unsupported;
        self.out.rejected = rejected;
        let recs = self.recs;
        for rec in recs {
            let Data::Report(obj) = &rec.data else {
                continue;
            };
            let id = rec.id.as_ref();
            let mut d = ReportDraft::new(
                Origin::Stix,
                rec.name.as_deref().unwrap_or("Untitled STIX report"),
            );
            d.summary = obj.description.clone();
            d.external_ids.push(id.to_owned());
            if let Some(p) = obj.published.as_deref() {
                match rfc3339(p) {
                    Some(t) => d.published = Some(t),
                    None => self
                        .out
                        .warnings
                        .push(format!("{id}: invalid `published` timestamp `{p}`")),
                }
            }
            d.author = self.identity_name(rec.created_by_ref.as_deref());
            for l in obj.labels.iter().chain(&obj.report_types) {
                if !d.labels.iter().any(|x| **x == **l) {
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
            d.tlp = self.marking_tlp(&rec.marking_refs);
            for rid in &obj.object_refs {
                match self.index(rid) {
                    Some(ti) => {
                        self.referenced[ti] = true;
                        self.observables_of(ti, &mut d, true);
                    }
                    None => self.out.warnings.push(format!(
                        "{id}: object_refs names {rid}, which is not in the bundle (kept unresolved)"
                    )),
                }
            }
            self.out.drafts.push(d);
        }

        // Observables nobody referenced are not lost.
        let mut rest = ReportDraft::new(Origin::Stix, "");
        let mut producer = None;
        for (i, rec) in recs.iter().enumerate() {
            if self.referenced[i] {
                continue;
            }
            if rec.bears_observables() {
                if producer.is_none() {
                    producer = self.identity_name(rec.created_by_ref.as_deref());
                }
                self.observables_of(i, &mut rest, false);
                if rest.tlp.is_none() {
                    rest.tlp = self.marking_tlp(&rec.marking_refs);
                }
            }
        }
        if !rest.observables.is_empty() {
            rest.title = match &producer {
                Some(p) => format!("Unreferenced objects in {bundle_id} from {p}"),
                None => format!("Unreferenced objects in {bundle_id}"),
            };
            rest.author = producer;
            rest.external_ids.push(bundle_id.to_owned());
            self.out.drafts.push(rest);
        }
        self.out
    }

    /// Observables of object `i` into `d`; `mark` records the SCOs an
    /// observed-data object names as referenced.
    fn observables_of(&mut self, i: usize, d: &mut ReportDraft, mark: bool) {
        let rec = &self.recs[i];
        let count = !std::mem::replace(&mut self.counted[i], true);
        let id = rec.id.as_ref();
        match &rec.data {
            Data::Indicator { stix: false, .. } => {
                if count {
                    self.out.unsupported += 1;
                }
            }
            Data::Indicator {
                pattern: None,
                stix: true,
            } => {
                if count {
                    self.out.rejected.push(Rejected {
                        location: format!("{id}.pattern"),
                        reason: "missing".into(),
                    });
                }
            }
            Data::Indicator {
                pattern: Some(p),
                stix: true,
            } => match pattern::comparisons(p) {
                Ok(cmps) => {
                    for c in cmps {
                        if c.negated || !matches!(c.operator, "=" | "IN") {
                            self.unsupported(count);
                            continue;
                        }
                        match pattern_kind(c.object_type, &c.path) {
                            Some(k) => {
                                for v in &c.values {
                                    self.add(d, k, v, id, " pattern", count);
                                }
                            }
                            None => self.unsupported(count),
                        }
                    }
                }
                Err(e) => {
                    if count {
                        self.out.rejected.push(Rejected {
                            location: format!("{id}.pattern column {}", e.column),
                            reason: e.message,
                        });
                    }
                }
            },
            Data::Vulnerability(refs) => {
                let mut found = false;
                for r in refs {
                    if r.source_name
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("cve"))
                        && let Some(e) = r.external_id.as_deref()
                    {
                        found |= self.add(d, ObservableKind::Cve, e, id, "", count);
                    }
                }
                if !found
                    && let Some(n) = rec.name.as_deref()
                    && canonical_observable(ObservableKind::Cve, n).is_ok()
                {
                    self.add(d, ObservableKind::Cve, n, id, "", count);
                }
            }
            Data::Observed { refs, embedded } => {
                for rid in refs {
                    if let Some(ti) = self.index(rid) {
                        if mark {
                            self.referenced[ti] = true;
                        }
                        let count = !std::mem::replace(&mut self.counted[ti], true);
                        if let Data::Sco { typ, value, hashes } = &self.recs[ti].data {
                            self.sco(rid, "", *typ, value.as_deref(), hashes, d, count);
                        } else {
                            self.unsupported(count);
                        }
                    }
                }
                // STIX 2.0-style embedded `objects`.
                for (k, raw) in embedded {
                    #[derive(Deserialize)]
                    struct Embedded<'b> {
                        #[serde(rename = "type", borrow)]
                        typ: Str<'b>,
                        #[serde(borrow, default)]
                        value: Option<Str<'b>>,
                        #[serde(borrow, default)]
                        hashes: BTreeMap<Str<'b>, Str<'b>>,
                    }
                    let at = format!(".objects.{k}");
                    match serde_json::from_str::<Embedded<'_>>(raw.get()) {
                        Ok(e) => {
                            let typ = ScoType::of(&e.typ);
                            self.sco(id, &at, typ, e.value.as_deref(), &e.hashes, d, count)
                        }
                        Err(e) => {
                            if count {
                                self.out.rejected.push(Rejected {
                                    location: format!("{id}{at}"),
                                    reason: e.to_string(),
                                });
                            }
                        }
                    }
                }
            }
            Data::Sco { typ, value, hashes } => {
                self.sco(id, "", *typ, value.as_deref(), hashes, d, count)
            }
            Data::None | Data::Marking(_) | Data::Report(_) => {}
        }
    }

    fn unsupported(&mut self, count: bool) {
        if count {
            self.out.unsupported += 1;
        }
    }

    /// The observables of a cyber observable; `id` and `at` name its source.
    #[allow(clippy::too_many_arguments)]
    fn sco(
        &mut self,
        id: &str,
        at: &str,
        typ: ScoType,
        value: Option<&str>,
        hashes: &BTreeMap<Str<'_>, Str<'_>>,
        d: &mut ReportDraft,
        count: bool,
    ) {
        match (typ, value) {
            (ScoType::Value(k), Some(v)) => {
                self.add(d, k, v, id, at, count);
            }
            (ScoType::File, _) => {
                let mut any = false;
                for (alg, v) in hashes {
                    let kind = match alg.to_ascii_uppercase().as_str() {
                        "MD5" => ObservableKind::Md5,
                        "SHA-1" | "SHA1" => ObservableKind::Sha1,
                        "SHA-256" | "SHA256" => ObservableKind::Sha256,
                        _ => {
                            self.unsupported(count);
                            continue;
                        }
                    };
                    any |= self.add(d, kind, v, id, at, count);
                }
                if !any {
                    self.unsupported(count);
                }
            }
            _ => self.unsupported(count),
        }
    }

    /// Canonicalise and add, with the source `{id}{at}`; an invalid value is
    /// rejected (once, when `count`) and a CIDR range wider than one address
    /// is counted as unsupported.
    fn add(
        &mut self,
        d: &mut ReportDraft,
        kind: ObservableKind,
        raw: &str,
        id: &str,
        at: &str,
        count: bool,
    ) -> bool {
        let raw = raw.trim();
        let raw = match (kind, raw.split_once('/')) {
            (ObservableKind::Ipv4, Some((a, "32"))) | (ObservableKind::Ipv6, Some((a, "128"))) => a,
            (ObservableKind::Ipv4 | ObservableKind::Ipv6, Some(_)) => {
                self.unsupported(count);
                return false;
            }
            _ => raw,
        };
        match canonical_observable(kind, raw) {
            Ok(v) => {
                let host = (kind == ObservableKind::Url)
                    .then(|| crate::report::url_host(&v))
                    .flatten();
                let source = [id, at].concat();
                if let Some((k, h)) = host {
                    let host_source = [id, at, " host"].concat();
                    d.add_observable(kind, v, source);
                    d.add_observable(k, h, host_source);
                } else {
                    d.add_observable(kind, v, source);
                }
                true
            }
            Err(e) => {
                if count {
                    self.out.rejected.push(Rejected {
                        location: format!("{id}{at}"),
                        reason: e.to_string(),
                    });
                }
                false
            }
        }
    }
}

/// The observable kind a pattern comparison's object path names.
fn pattern_kind(object_type: &str, path: &str) -> Option<ObservableKind> {
    let lower = |s: &str| path.eq_ignore_ascii_case(s);
    Some(match object_type {
        "ipv4-addr" if lower("value") => ObservableKind::Ipv4,
        "ipv6-addr" if lower("value") => ObservableKind::Ipv6,
        "domain-name" if lower("value") => ObservableKind::Domain,
        "url" if lower("value") => ObservableKind::Url,
        "email-addr" if lower("value") => ObservableKind::Email,
        "file" if lower("hashes.md5") => ObservableKind::Md5,
        "file" if lower("hashes.sha-256") || lower("hashes.sha256") => ObservableKind::Sha256,
        "file" if lower("hashes.sha-1") || lower("hashes.sha1") => ObservableKind::Sha1,
        _ => return None,
    })
}

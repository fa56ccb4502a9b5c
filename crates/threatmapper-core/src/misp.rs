//! MISP event JSON into report drafts.
//!
//! Shapes: `{"Event": {...}}`, `{"response": [{"Event": ...}, ...]}` (every
//! event, not only the first), a bare event, and a JSON array of either. A
//! feed's per-event files are events in the `{"Event": ...}` shape; a feed's
//! `manifest.json` (an object of event uuids) is recognised and refused with a
//! message pointing at the per-event files.
//!
//! Event `info` → title, `date` → published, `uuid` → external id, `Orgc.name`
//! → author, tags (TLP tags recognised) and galaxy clusters → labels.
//! Attributes and the attributes of `Object`s map by MISP type (see
//! [`map_type`]); composite values split on the last `|`; types outside the
//! mapping are counted as unsupported; one bad attribute is rejected with its
//! uuid and reason, never the event. Numbers arriving as strings are accepted.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::report::{ImportResult, Origin, Rejected, ReportDraft};
use crate::{ObservableKind, canonical_observable, canonical_report_url};

fn bad(location: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Format {
        format: "MISP",
        location: location.into(),
        reason: reason.into(),
    }
}

/// What a MISP attribute type yields: the observable kind of each part of a
/// (possibly composite `a|b`) value; `None` for a part that is not imported.
pub fn map_type(t: &str) -> Option<&'static [Option<ObservableKind>]> {
    use ObservableKind as K;
    Some(match t {
        "ip-src" | "ip-dst" => &[Some(K::Ipv4)],
        "ip-src|port" | "ip-dst|port" => &[Some(K::Ipv4), None],
        "domain" | "hostname" => &[Some(K::Domain)],
        "domain|ip" => &[Some(K::Domain), Some(K::Ipv4)],
        "hostname|port" => &[Some(K::Domain), None],
        "md5" => &[Some(K::Md5)],
        "sha1" => &[Some(K::Sha1)],
        "sha256" => &[Some(K::Sha256)],
        "filename|md5" => &[None, Some(K::Md5)],
        "filename|sha1" => &[None, Some(K::Sha1)],
        "filename|sha256" => &[None, Some(K::Sha256)],
        "url" | "link" | "uri" => &[Some(K::Url)],
        "vulnerability" => &[Some(K::Cve)],
        "email-src" | "email-dst" | "email" | "email-reply-to" => &[Some(K::Email)],
        _ => return None,
    })
}

/// Parse MISP event JSON.
///
/// ```
/// let ev = br#"{"response":[{"Event":{"info":"Phish wave","uuid":"5c5b2d1e-0b0a-4f6c-9a1e-1a2b3c4d5e6f",
///   "date":"2024-03-01","Tag":[{"name":"tlp:amber"}],
///   "Attribute":[{"type":"ip-dst|port","value":"198.51.100.7|443","to_ids":"1","uuid":"a"},
///                {"type":"regkey","value":"HKLM\\x","uuid":"b"}]}}]}"#;
/// let r = threatmapper_core::misp::parse(ev).unwrap();
/// assert_eq!(r.drafts[0].tlp.as_deref(), Some("TLP:AMBER"));
/// assert_eq!(r.drafts[0].observables[0].value, "198.51.100.7");
/// assert_eq!(r.unsupported, 1);
/// ```
pub fn parse(bytes: &[u8]) -> Result<ImportResult> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| {
        bad(
            format!("line {} column {}", e.line(), e.column()),
            format!("not JSON: {e}"),
        )
    })?;
    let mut events: Vec<(String, &Value)> = Vec::new();
    collect(&root, "$", &mut events)?;
    if events.is_empty() {
        return Err(bad(
            "$",
            "no MISP event found (expected {\"Event\": ...}, {\"response\": [...]} or an event object)",
        ));
    }
    let mut out = ImportResult::default();
    for (path, ev) in events {
        event(&path, ev, &mut out);
    }
    Ok(out)
}

fn is_event(v: &Value) -> bool {
    v.get("info").is_some()
        || v.get("Attribute").is_some()
        || v.get("Object").is_some() && v.get("uuid").is_some()
}

fn collect<'a>(v: &'a Value, path: &str, out: &mut Vec<(String, &'a Value)>) -> Result<()> {
    match v {
        Value::Array(items) => {
            for (i, it) in items.iter().enumerate() {
                collect(it, &format!("{path}[{i}]"), out)?;
            }
        }
        Value::Object(m) => {
            if let Some(e) = m.get("Event") {
                out.push((format!("{path}.Event"), e));
            } else if let Some(r) = m.get("response") {
                collect(r, &format!("{path}.response"), out)?;
            } else if is_event(v) {
                out.push((path.to_owned(), v));
            } else if !m.is_empty()
                && m.values()
                    .all(|x| x.get("info").is_some() && x.get("Attribute").is_none())
            {
                return Err(bad(
                    path,
                    "this is a MISP feed manifest.json: import the per-event <uuid>.json files it lists",
                ));
            } else if m.contains_key("Object") {
                return Err(bad(
                    path,
                    "a partial event (objects without `info` or `uuid`) is not a MISP event",
                ));
            } else {
                return Err(bad(path, "not a MISP event"));
            }
        }
        _ => return Err(bad(path, "not a MISP event")),
    }
    Ok(())
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn tlp_of(tag: &str) -> Option<&'static str> {
    let t = tag.trim().to_ascii_lowercase();
    let t = t.strip_prefix("tlp:")?;
    Some(match t.trim_matches('"') {
        "white" | "clear" => "TLP:CLEAR",
        "green" => "TLP:GREEN",
        "amber" => "TLP:AMBER",
        "amber+strict" => "TLP:AMBER+STRICT",
        "red" => "TLP:RED",
        _ => return None,
    })
}

fn event(path: &str, ev: &Value, out: &mut ImportResult) {
    let title = text(ev.get("info")).filter(|s| !s.trim().is_empty());
    let Some(title) = title else {
        out.rejected.push(Rejected {
            location: format!("{path}.info"),
            reason: "event without `info`".into(),
        });
        return;
    };
    let mut d = ReportDraft::new(Origin::Misp, title.trim());
    if let Some(u) = text(ev.get("uuid")) {
        d.external_ids.push(format!("misp:{u}"));
    }
    if let Some(date) = text(ev.get("date")) {
        match chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d") {
            Ok(dt) => d.published = Some(format!("{dt}T00:00:00Z")),
            Err(_) => out
                .warnings
                .push(format!("{path}.date: invalid date `{date}`")),
        }
    }
    d.author = ev.get("Orgc").and_then(|o| text(o.get("name")));
    for t in ev
        .get("Tag")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = text(t.get("name")) {
            if let Some(tlp) = tlp_of(&name) {
                d.tlp = Some(tlp.to_owned());
            }
            if !d.labels.contains(&name) {
                d.labels.push(name);
            }
        }
    }
    for g in ev
        .get("Galaxy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for c in g
            .get("GalaxyCluster")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(tag) = text(c.get("tag_name")).or_else(|| text(c.get("value")))
                && !d.labels.contains(&tag)
            {
                d.labels.push(tag);
            }
        }
    }
    let mut n = 0;
    for (i, a) in ev
        .get("Attribute")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        attribute(&format!("{path}.Attribute[{i}]"), a, &mut d, out);
        n += 1;
    }
    for (j, o) in ev
        .get("Object")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (i, a) in o
            .get("Attribute")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            attribute(
                &format!("{path}.Object[{j}].Attribute[{i}]"),
                a,
                &mut d,
                out,
            );
            n += 1;
        }
    }
    if n == 0 {
        out.warnings
            .push(format!("{path}: event has no attributes"));
    }
    // A `link` attribute is the natural report URL.
    if d.url.is_none()
        && let Some(u) = d.observables.iter().find(|o| o.kind == ObservableKind::Url)
    {
        d.url = canonical_report_url(&u.value).ok();
    }
    out.drafts.push(d);
}

fn attribute(path: &str, a: &Value, d: &mut ReportDraft, out: &mut ImportResult) {
    let uuid = text(a.get("uuid")).unwrap_or_default();
    let at = if uuid.is_empty() {
        path.to_owned()
    } else {
        format!("{path} ({uuid})")
    };
    let (Some(typ), Some(value)) = (text(a.get("type")), text(a.get("value"))) else {
        out.rejected.push(Rejected {
            location: at,
            reason: "attribute without `type` or `value`".into(),
        });
        return;
    };
    let Some(kinds) = map_type(&typ) else {
        out.unsupported += 1;
        return;
    };
    // Composite values split on the last `|` (a filename may contain `|`).
    let parts: Vec<&str> = if kinds.len() == 2 {
        match value.rsplit_once('|') {
            Some((x, y)) => vec![x, y],
            None => {
                out.rejected.push(Rejected {
                    location: at,
                    reason: format!("`{typ}` needs a composite value `a|b`, got `{value}`"),
                });
                return;
            }
        }
    } else {
        vec![value.as_str()]
    };
    let to_ids = match a.get("to_ids") {
        Some(Value::Bool(b)) => *b,
        Some(v) => text(Some(v)).is_some_and(|s| s == "1" || s.eq_ignore_ascii_case("true")),
        None => false,
    };
    let category = text(a.get("category")).filter(|c| !c.is_empty());
    let source = format!("{path} {typ}");
    for (kind, part) in kinds.iter().zip(parts) {
        let Some(kind) = kind else { continue };
        let part = part.trim();
        // MISP writes IPs in `domain|ip` and `ip|port` plainly; an IPv6 in an
        // ip-* attribute is still an address.
        let kind = if *kind == ObservableKind::Ipv4 && part.contains(':') {
            ObservableKind::Ipv6
        } else {
            *kind
        };
        match canonical_observable(kind, part) {
            Ok(v) => {
                let host = (kind == ObservableKind::Url)
                    .then(|| crate::report::url_host(&v))
                    .flatten();
                d.add_observable_with(kind, v, source.clone(), Some(to_ids), category.clone());
                if let Some((k, h)) = host {
                    d.add_observable_with(
                        k,
                        h,
                        format!("{source} host"),
                        Some(to_ids),
                        category.clone(),
                    );
                }
            }
            Err(e) => out.rejected.push(Rejected {
                location: at.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

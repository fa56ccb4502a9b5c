//! Backend-independent work done before a transaction opens: input limits,
//! dedup keys, spans and JSON columns. Nothing here touches the database, so
//! bad input is refused before any write.

use std::collections::HashMap;

use threatmapper_core::{Extractor, ObservableKind, ReportDraft};

use crate::{Error, Result, limits};

/// The SQL dialect a backend module was compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// One observable link, ready to write.
#[derive(Debug, Clone)]
pub(crate) struct PreparedLink {
    pub(crate) kind: &'static str,
    pub(crate) value: String,
    pub(crate) source: String,
    pub(crate) spans: String,
    pub(crate) to_ids: Option<bool>,
    pub(crate) category: Option<String>,
}

/// One report, ready to write.
#[derive(Debug, Clone)]
pub(crate) struct PreparedReport {
    pub(crate) origin: &'static str,
    pub(crate) title: String,
    pub(crate) url: Option<String>,
    pub(crate) url_key: Option<String>,
    pub(crate) title_key: String,
    pub(crate) published_at: Option<i64>,
    pub(crate) author: Option<String>,
    pub(crate) content: String,
    pub(crate) external_ids: String,
    pub(crate) labels: String,
    pub(crate) tlp: Option<String>,
    pub(crate) links: Vec<PreparedLink>,
}

fn too_long(path: String, max: usize) -> Error {
    Error::invalid(path, format!("longer than {max} bytes"))
}

fn check_len(path: impl FnOnce() -> String, s: &str, max: usize) -> Result<()> {
    if s.len() > max {
        return Err(too_long(path(), max));
    }
    Ok(())
}

fn check_list(path: impl Fn() -> String, list: &[String]) -> Result<()> {
    if list.len() > limits::LIST {
        return Err(Error::invalid(
            path(),
            format!("more than {} entries", limits::LIST),
        ));
    }
    for (i, s) in list.iter().enumerate() {
        check_len(|| format!("{}[{i}]", path()), s, limits::SHORT)?;
    }
    Ok(())
}

/// Validate every draft and compute what the transaction writes.
pub(crate) fn prepare(drafts: &[ReportDraft]) -> Result<Vec<PreparedReport>> {
    if drafts.len() > limits::REPORTS_PER_INGEST {
        return Err(Error::invalid(
            "drafts",
            format!(
                "more than {} reports in one ingest",
                limits::REPORTS_PER_INGEST
            ),
        ));
    }
    drafts
        .iter()
        .enumerate()
        .map(|(i, d)| prepare_one(i, d))
        .collect()
}

fn prepare_one(i: usize, d: &ReportDraft) -> Result<PreparedReport> {
    let at = |f: &str| format!("drafts[{i}].{f}");
    check_len(|| at("title"), &d.title, limits::TITLE)?;
    check_len(|| at("summary"), &d.summary, limits::CONTENT)?;
    if let Some(u) = &d.url {
        check_len(|| at("url"), u, limits::URL)?;
    }
    if let Some(a) = &d.author {
        check_len(|| at("author"), a, limits::SHORT)?;
    }
    if let Some(t) = &d.tlp {
        check_len(|| at("tlp"), t, limits::SHORT)?;
    }
    check_list(|| at("external_ids"), &d.external_ids)?;
    check_list(|| at("labels"), &d.labels)?;
    if d.observables.len() > limits::OBSERVABLES_PER_REPORT {
        return Err(Error::invalid(
            at("observables"),
            format!("more than {} observables", limits::OBSERVABLES_PER_REPORT),
        ));
    }
    for (j, o) in d.observables.iter().enumerate() {
        check_len(
            || format!("drafts[{i}].observables[{j}].value"),
            &o.value,
            limits::OBSERVABLE,
        )?;
        check_len(
            || format!("drafts[{i}].observables[{j}].source"),
            &o.source,
            limits::SHORT,
        )?;
        if o.value.is_empty() {
            return Err(Error::invalid(
                format!("drafts[{i}].observables[{j}].value"),
                "is empty",
            ));
        }
    }

    let url_key = d
        .url
        .as_deref()
        .and_then(|u| threatmapper_core::canonical_report_url(u).ok());
    let title_key = title_key(d);
    let published_at = d
        .published
        .as_deref()
        .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
        .map(|t| t.with_timezone(&chrono::Utc).timestamp_micros());
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned());

    let spans = spans_in(&d.summary, d);
    let links = d
        .observables
        .iter()
        .map(|o| PreparedLink {
            kind: o.kind.as_str(),
            spans: spans
                .get(&(o.kind, o.value.as_str()))
                .map(|s| s.as_str())
                .unwrap_or("[]")
                .to_owned(),
            value: o.value.clone(),
            source: o.source.clone(),
            to_ids: o.to_ids,
            category: o.category.clone(),
        })
        .collect();
    Ok(PreparedReport {
        origin: d.origin.as_str(),
        title: d.title.clone(),
        url: d.url.clone(),
        url_key,
        title_key,
        published_at,
        author: d.author.clone(),
        content: d.summary.clone(),
        external_ids: json(&d.external_ids),
        labels: json(&d.labels),
        tlp: d.tlp.clone(),
        links,
    })
}

/// The normalized title key; a title that normalizes to nothing falls back
/// to the first external id, so untitled reports do not all collide.
fn title_key(d: &ReportDraft) -> String {
    let key = threatmapper_core::normalized_title(&d.title);
    if !key.is_empty() {
        return key;
    }
    match d.external_ids.first() {
        Some(id) => format!("#id:{id}"),
        None => {
            use sha2::Digest;
            let h = sha2::Sha256::digest(d.summary.as_bytes());
            format!("#content:{}", crate::hex(&h[..16]))
        }
    }
}

/// Spans (as JSON `[[start,end],...]`) of the draft's observables in its
/// content, found by running the extractor once over the content.
fn spans_in<'a>(content: &str, d: &'a ReportDraft) -> HashMap<(ObservableKind, &'a str), String> {
    let mut out = HashMap::new();
    if content.is_empty() || d.observables.is_empty() {
        return out;
    }
    // By value (borrowing `str` lookups), then matched on kind.
    let mut wanted: HashMap<&'a str, Vec<ObservableKind>> = HashMap::new();
    for o in &d.observables {
        wanted.entry(o.value.as_str()).or_default().push(o.kind);
    }
    let found = Extractor::new().all_spans(true).extract(content.as_bytes());
    for e in found.observables {
        if let Some((v, kinds)) = wanted.get_key_value(e.value.as_str())
            && kinds.contains(&e.kind)
        {
            let pairs: Vec<[usize; 2]> = e.spans.iter().map(|s| [s.start, s.end]).collect();
            if let Ok(json) = serde_json::to_string(&pairs) {
                out.insert((e.kind, *v), json);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use threatmapper_core::Origin;

    #[test]
    fn keys_spans_and_limits() {
        let mut d = ReportDraft::new(Origin::Feed, "  APT99:  New   Campaign! ");
        d.url = Some("HTTPS://Example.com:443/a?utm_source=x&b=1#frag".into());
        d.summary = "beacon to 198.51.100.7 and again 198.51.100.7".into();
        d.add_observable(ObservableKind::Ipv4, "198.51.100.7".into(), "text".into());
        d.add_observable(
            ObservableKind::Md5,
            "d41d8cd98f00b204e9800998ecf8427e".into(),
            "attr".into(),
        );
        let p = prepare(&[d.clone()]).unwrap();
        assert_eq!(p[0].url_key.as_deref(), Some("https://example.com/a?b=1"));
        assert_eq!(
            p[0].title_key,
            threatmapper_core::normalized_title(&d.title)
        );
        assert_eq!(p[0].links[0].spans, "[[10,22],[33,45]]");
        assert_eq!(p[0].links[1].spans, "[]");

        let mut untitled = ReportDraft::new(Origin::Misp, " ");
        untitled.external_ids.push("uuid-1".into());
        assert_eq!(prepare(&[untitled]).unwrap()[0].title_key, "#id:uuid-1");

        d.title = "x".repeat(limits::TITLE + 1);
        let err = prepare(&[ReportDraft::new(Origin::Stix, "ok"), d]).unwrap_err();
        assert!(
            err.to_string().starts_with("drafts[1].title: longer than"),
            "{err}"
        );
    }
}

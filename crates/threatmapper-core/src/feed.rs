//! RSS 0.9x/1.0/2.0, Atom and JSON Feed documents into report drafts
//! (parsing by feed-rs, which expands only the five predefined XML entities).
//!
//! - Each entry becomes a draft: title, canonical link, published (or
//!   updated) time, authors, categories as labels, and the plain text of the
//!   summary and content (HTML stripped) from which observables are extracted.
//! - Entry identity: the canonical link, else the entry id, else a stable hash
//!   of the feed URL and the normalised title (never random).
//! - An empty document, an HTML page served instead of a feed, or XML that
//!   does not parse is a located error, not "0 new items".

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};

use crate::error::{Error, Result};
use crate::report::{ImportResult, Origin, ReportDraft};
use crate::{Extractor, canonical_report_url, normalized_title};

fn bad(location: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Format {
        format: "feed",
        location: location.into(),
        reason: reason.into(),
    }
}

/// Parse a feed document. `feed_url` (where it was fetched from) resolves
/// relative links and seeds identities for entries with neither id nor link.
///
/// ```
/// let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>CERT</title>
///   <item><title>Loader hits banks</title><link>https://cert.example.org/p/1?utm_source=rss</link>
///   <description>&lt;p&gt;C2 at 203.0.113[.]7&lt;/p&gt;</description>
///   <pubDate>Tue, 03 Dec 2024 10:00:00 GMT</pubDate></item></channel></rss>"#;
/// let r = threatmapper_core::feed::parse(rss, None).unwrap();
/// let d = &r.drafts[0];
/// assert_eq!(d.url.as_deref(), Some("https://cert.example.org/p/1"));
/// assert_eq!(d.summary, "C2 at 203.0.113[.]7");
/// assert_eq!(d.observables[0].value, "203.0.113.7");
/// assert_eq!(d.published.as_deref(), Some("2024-12-03T10:00:00Z"));
/// ```
pub fn parse(bytes: &[u8], feed_url: Option<&str>) -> Result<ImportResult> {
    let head: Vec<u8> = bytes
        .iter()
        .skip_while(|b| b.is_ascii_whitespace() || **b == 0xEF || **b == 0xBB || **b == 0xBF)
        .take(512)
        .map(u8::to_ascii_lowercase)
        .collect();
    if head.is_empty() {
        return Err(bad("document", "empty document: not a feed"));
    }
    let text_head = String::from_utf8_lossy(&head);
    if text_head.starts_with("<!doctype html") || text_head.starts_with("<html") {
        return Err(bad("document", "not a feed (HTML)"));
    }
    // A UTF-8 document with invalid bytes (often one bad title) keeps its
    // entries: the bytes are replaced with U+FFFD and a warning names where.
    // Documents that declare another encoding are left to the parser.
    let declared = text_head
        .split_once("encoding=")
        .map(|(_, r)| {
            r.trim_start_matches(['"', '\''])
                .split(['"', '\''])
                .next()
                .unwrap_or("")
        })
        .filter(|_| text_head.starts_with("<?xml"));
    let mut lossy_warning = None;
    let lossy: Vec<u8>;
    // (simdutf8 answers the common valid case several times faster than std
    // on non-ASCII text; std then locates the first bad byte.)
    let valid = simdutf8::basic::from_utf8(bytes).map(|_| ());
    let bytes = match valid.map_err(|_| std::str::from_utf8(bytes).err()) {
        Err(Some(e)) if declared.is_none_or(|d| d == "utf-8" || d == "utf8") => {
            lossy_warning = Some(format!(
                "invalid UTF-8 at byte {} (and possibly later) replaced with U+FFFD",
                e.valid_up_to()
            ));
            lossy = String::from_utf8_lossy(bytes).into_owned().into_bytes();
            lossy.as_slice()
        }
        _ => bytes,
    };
    // A DOCTYPE (even an HTML one before an RSS root) is dropped, internal
    // subset and all: its entity declarations are never expanded.
    let stripped = strip_doctype(bytes);
    // An `<rss>` root without a version (common in the wild) is read as RSS 2.0.
    let versioned = add_rss_version(&stripped);
    let bytes: &[u8] = &versioned;
    let parser = builder(feed_url);
    // A parser panic is a bug in a dependency (quick-xml panics on some
    // documents whose XML declaration follows other text); it must not take
    // the caller down, so it becomes a located error like any other bad input.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(bytes)))
        .map_err(|_| {
            bad(
                "document",
                "not a feed: the XML parser gave up on this document",
            )
        })?;
    let mut out = ImportResult::default();
    out.warnings.extend(lossy_warning);
    let (feed_title, entries) = match parsed {
        Ok(feed) => (
            feed.title.as_ref().map(|t| html_to_text(&t.content)),
            feed.entries.into_iter().enumerate().collect::<Vec<_>>(),
        ),
        Err(e) => {
            let msg = e.to_string();
            let whole = if text_head.contains("<html") {
                bad("document", "not a feed (HTML)")
            } else {
                bad(location_of(&msg, bytes.len()), format!("not a feed: {msg}"))
            };
            // One malformed entry must not sink the feed: parse the entries
            // one by one in the feed's own envelope and report the bad ones.
            match recover_entries(bytes, feed_url) {
                Some((title, entries, rejected)) => {
                    out.warnings.push(format!(
                        "the feed is not well-formed ({msg}); its {} entries were read one by one",
                        entries.len() + rejected.len()
                    ));
                    out.rejected.extend(rejected);
                    (title, entries)
                }
                None => return Err(whole),
            }
        }
    };
    // feed-rs drops a date it cannot read; say so for each entry whose date
    // element is there but came out empty.
    let ranges = entry_ranges(bytes);
    if !ranges.is_empty() {
        for (i, e) in &entries {
            if e.published.is_none()
                && e.updated.is_none()
                && let Some(&(start, end)) = ranges.get(*i)
                && let Some(raw) = date_text(&bytes[start..end])
            {
                out.warnings.push(format!("entries[{i}]: date `{raw}` is not a date this importer reads; the entry has no publication time"));
            }
        }
    }
    for (i, e) in entries.iter() {
        let i = *i;
        let title = e
            .title
            .as_ref()
            .map(|t| html_to_text(&t.content))
            .filter(|t| !t.is_empty());
        let link = e
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or_else(|| e.links.first())
            .map(|l| l.href.trim().to_owned())
            .filter(|h| !h.is_empty());
        let summary = e
            .summary
            .as_ref()
            .map(|t| html_to_text(&t.content))
            .unwrap_or_default();
        let content = e
            .content
            .as_ref()
            .and_then(|c| c.body.as_deref())
            .map(html_to_text)
            .unwrap_or_default();
        let Some(title) = title.or_else(|| {
            // An entry without a title takes the start of its text.
            let t: String = summary.chars().chain(content.chars()).take(80).collect();
            (!t.trim().is_empty()).then(|| t.trim().to_owned())
        }) else {
            out.rejected.push(crate::Rejected {
                location: format!("entries[{i}]"),
                reason: "entry has neither a title nor any text".into(),
            });
            continue;
        };
        let mut d = ReportDraft::new(Origin::Feed, title.clone());
        d.url = link.map(|l: String| canonical_report_url(&l).unwrap_or(l));
        d.published = e
            .published
            .or(e.updated)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        let authors: Vec<String> = e.authors.iter().filter_map(|p| p.name.clone()).collect();
        d.author = (!authors.is_empty())
            .then(|| authors.join(", "))
            .or_else(|| feed_title.clone());
        for c in &e.categories {
            let t = c.term.trim();
            if !t.is_empty() && !d.labels.iter().any(|x| x == t) {
                d.labels.push(t.to_owned());
            }
        }
        // Identity: the entry id, else a stable hash of feed, link and title
        // (the store also keys reports by canonical link and title).
        let id = if !e.id.is_empty() {
            e.id.clone()
        } else {
            let key = [
                feed_url.unwrap_or(""),
                d.url.as_deref().unwrap_or(""),
                &normalized_title(&title),
            ]
            .join("\0");
            format!("feed-entry:{:016x}", fnv1a(key.as_bytes()))
        };
        d.external_ids.push(id);
        let mut text = String::with_capacity(title.len() + summary.len() + content.len() + 2);
        for part in [title.as_str(), "\n", &summary, "\n", &content] {
            text.push_str(part);
        }
        d.summary = if content.len() > summary.len() {
            content
        } else {
            summary
        };
        let found = Extractor::new().all_spans(false).extract(text.as_bytes());
        if !found.observables.is_empty() {
            let source = format!("entries[{i}] text");
            for o in found.observables {
                d.add_observable(o.kind, o.value, source.clone());
            }
        }
        out.drafts.push(d);
    }
    Ok(out)
}

/// The feed-rs parser as this importer configures it: dates read by
/// [`feed_date`]; no identifiers invented for entries without one (feed-rs
/// would make up a random UUID when there is neither link nor base URI), so
/// that [`parse`] gives them a stable one.
fn builder(feed_url: Option<&str>) -> feed_rs::parser::Parser {
    let mut b = feed_rs::parser::Builder::new()
        .timestamp_parser(feed_date)
        .id_generator(|_, _, _| String::new());
    if let Some(u) = feed_url {
        b = b.base_uri(Some(u));
    }
    b.build()
}

/// 64-bit FNV-1a: a fixed, documented hash, so entry identities stay the same
/// across releases and toolchains.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Read a feed date: RFC 3339 and RFC 2822 as written, then the common
/// deviations (no `T`, an offset without a colon, a date alone, a full day or
/// month name, month before day, `UTC`/`Z`/US zone names, no zone = UTC).
/// A date that does not exist (month 13, 30 February) or a year outside
/// 1900–2200 is no date: never rolled over into a neighbouring month, never
/// read in another zone than the one written.
///
/// ```
/// use threatmapper_core::feed::feed_date;
/// let t = |s| feed_date(s).map(|d| d.to_rfc3339());
/// assert_eq!(t("Tue, 03 Dec 2024 10:00:00 GMT").as_deref(), Some("2024-12-03T10:00:00+00:00"));
/// assert_eq!(t("Tuesday, December 3 2024 9:00 EST").as_deref(), Some("2024-12-03T14:00:00+00:00"));
/// assert_eq!(t("2024-12-03 10:00:00+0200").as_deref(), Some("2024-12-03T08:00:00+00:00"));
/// assert_eq!(t("2024-02-30T00:00:00Z"), None);
/// assert_eq!(t("Mon, 01 Jan 99999 00:00:00 GMT"), None);
/// ```
pub fn feed_date(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    let t = DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_rfc2822(s))
        .ok()
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| iso_lenient(s))
        .or_else(|| rfc2822_lenient(s))?;
    (1900..=2200).contains(&t.year()).then_some(t)
}

/// `YYYY-MM-DD`, optionally with a time after `T` or a space, seconds and
/// fractions optional, and a zone `Z`, `±HH:MM`, `±HHMM`, `±HH` or none (UTC).
fn iso_lenient(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let date = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    if !(b.len() >= 10 && b[4] == b'-' && b[7] == b'-') {
        return None;
    }
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(date.and_time(NaiveTime::MIN).and_utc());
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    // The time runs to the zone: `Z`, `+`, `-` or a space.
    let zone_at = rest.find(['Z', 'z', '+', '-', ' ']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let time = NaiveTime::parse_from_str(time, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
        .ok()?;
    let offset = zone_offset(zone.trim())?;
    let local = date.and_time(time);
    Some((local - chrono::Duration::seconds(i64::from(offset))).and_utc())
}

/// A zone as seconds east of UTC: empty (UTC), `Z`, `UT`, `UTC`, `GMT`, the US
/// zone names of RFC 822, or a numeric `±HH:MM`, `±HHMM`, `±HH`.
fn zone_offset(z: &str) -> Option<i32> {
    let hours = |h: i32| Some(h * 3600);
    match z.to_ascii_uppercase().as_str() {
        "" | "Z" | "UT" | "UTC" | "GMT" => return Some(0),
        "EST" => return hours(-5),
        "EDT" => return hours(-4),
        "CST" => return hours(-6),
        "CDT" => return hours(-5),
        "MST" => return hours(-7),
        "MDT" => return hours(-6),
        "PST" => return hours(-8),
        "PDT" => return hours(-7),
        _ => {}
    }
    let (sign, digits) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|&c| c != ':').collect();
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// RFC 2822 as feeds really write it: an optional day name (full or short,
/// with or without a comma), day and month in either order, full or short
/// month names, a 4-digit year, `H:MM[:SS]`, and a zone or none (UTC).
fn rfc2822_lenient(s: &str) -> Option<DateTime<Utc>> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let lower = |w: &str| w.to_ascii_lowercase();
    if words.first().is_some_and(|w| {
        let w = lower(w);
        DAYS.iter().any(|d| w.starts_with(d)) && w.chars().all(|c| c.is_ascii_alphabetic())
    }) {
        words.remove(0);
    }
    let month_of = |w: &str| {
        let w = lower(w);
        (w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic()))
            .then(|| MONTHS.iter().position(|m| w.starts_with(m)))
            .flatten()
            .map(|i| i as u32 + 1)
    };
    let (day, month, year, rest) = match words.as_slice() {
        [d, m, y, rest @ ..] if month_of(m).is_some() => (*d, month_of(m)?, *y, rest),
        [m, d, y, rest @ ..] if month_of(m).is_some() => (*d, month_of(m)?, *y, rest),
        _ => return None,
    };
    if year.len() != 4 || day.len() > 2 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year.parse().ok()?, month, day.parse().ok()?)?;
    let (time, zone) = match rest {
        [] => (None, ""),
        [t] => (Some(*t), ""),
        [t, z] => (Some(*t), *z),
        _ => return None,
    };
    let time = match time {
        None => NaiveTime::MIN,
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .ok()?,
    };
    let offset = zone_offset(zone)?;
    Some((date.and_time(time) - chrono::Duration::seconds(i64::from(offset))).and_utc())
}

/// The document without its `<!DOCTYPE ...>` declaration (which may hold an
/// internal subset in brackets).
fn strip_doctype(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let window = &bytes[..bytes.len().min(8192)];
    let Some(start) = window
        .windows(9)
        .position(|w| w.eq_ignore_ascii_case(b"<!doctype"))
    else {
        return std::borrow::Cow::Borrowed(bytes);
    };
    let mut depth = 0usize;
    let mut quote = None;
    for (i, &b) in bytes[start..].iter().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'[') => depth += 1,
            (None, b']') => depth = depth.saturating_sub(1),
            (None, b'>') if depth == 0 => {
                let mut out = bytes[..start].to_vec();
                out.extend_from_slice(&bytes[start + i + 1..]);
                return std::borrow::Cow::Owned(out);
            }
            _ => {}
        }
    }
    std::borrow::Cow::Borrowed(bytes)
}

/// `<rss>` without a `version` attribute gets `version="2.0"`, which feed-rs
/// needs to recognise the document.
fn add_rss_version(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let window = &bytes[..bytes.len().min(8192)];
    let Some(at) = window
        .windows(4)
        .position(|w| w.eq_ignore_ascii_case(b"<rss"))
    else {
        return std::borrow::Cow::Borrowed(bytes);
    };
    let after = at + 4;
    if !bytes
        .get(after)
        .is_some_and(|b| b.is_ascii_whitespace() || *b == b'>')
    {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let Some(close) = bytes[after..].iter().position(|&b| b == b'>') else {
        return std::borrow::Cow::Borrowed(bytes);
    };
    let tag = &bytes[after..after + close];
    if tag.windows(7).any(|w| w.eq_ignore_ascii_case(b"version")) {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() + 16);
    out.extend_from_slice(&bytes[..after]);
    out.extend_from_slice(b" version=\"2.0\"");
    out.extend_from_slice(&bytes[after..]);
    std::borrow::Cow::Owned(out)
}

/// Pull a byte position out of a parser message when it has one.
/// The byte ranges of the entries (`<item>` or `<entry>` elements) of an XML
/// feed, found by their tags alone (the document is not well-formed).
fn entry_ranges(bytes: &[u8]) -> Vec<(usize, usize)> {
    let find =
        |from: usize, pat: &[u8]| memchr::memmem::find(&bytes[from..], pat).map(|p| p + from);
    let mut out = Vec::new();
    for (open, close) in [
        (&b"<item"[..], &b"</item>"[..]),
        (&b"<entry"[..], &b"</entry>"[..]),
    ] {
        let mut at = 0;
        while let Some(start) = find(at, open) {
            let after = bytes.get(start + open.len()).copied().unwrap_or(b' ');
            if !(after == b'>' || after == b'/' || after.is_ascii_whitespace()) {
                at = start + open.len();
                continue;
            }
            let Some(end) = find(start, close) else { break };
            out.push((start, end + close.len()));
            at = end + close.len();
        }
        if !out.is_empty() {
            break;
        }
    }
    out
}

/// The text of the first date element (`pubDate`, `published`, `updated`,
/// `dc:date`, `lastBuildDate`) inside an entry's bytes.
fn date_text(entry: &[u8]) -> Option<String> {
    for tag in [
        "pubDate",
        "published",
        "updated",
        "dc:date",
        "lastBuildDate",
    ] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        if let Some(a) = memchr::memmem::find(entry, open.as_bytes()) {
            let from = a + open.len();
            if let Some(b) = memchr::memmem::find(&entry[from..], close.as_bytes()) {
                let raw = String::from_utf8_lossy(&entry[from..from + b])
                    .trim()
                    .to_owned();
                if !raw.is_empty() {
                    return Some(raw.chars().take(80).collect());
                }
            }
        }
    }
    None
}

type Recovered = (
    Option<String>,
    Vec<(usize, feed_rs::model::Entry)>,
    Vec<crate::Rejected>,
);

/// Parse each entry of a document that does not parse as a whole, inside
/// the document's envelope (everything before the first entry and after the
/// last). `None` when there are no entries, none of them parses, or the
/// envelope itself is broken.
fn recover_entries(bytes: &[u8], feed_url: Option<&str>) -> Option<Recovered> {
    let ranges = entry_ranges(bytes);
    let (first, last) = (ranges.first()?.0, ranges.last()?.1);
    let (head, tail) = (&bytes[..first], &bytes[last..]);
    let parse = |doc: &[u8]| {
        let parser = builder(feed_url);
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(doc)))
            .map_err(|_| "the XML parser gave up on this entry".to_owned())
            .and_then(|r| r.map_err(|e| e.to_string()))
    };
    let envelope = parse(&[head, tail].concat()).ok()?;
    let title = envelope.title.as_ref().map(|t| html_to_text(&t.content));
    let mut entries = Vec::new();
    let mut rejected = Vec::new();
    for (i, (start, end)) in ranges.into_iter().enumerate() {
        match parse(&[head, &bytes[start..end], tail].concat()) {
            Ok(f) => match f.entries.into_iter().next() {
                Some(e) => entries.push((i, e)),
                None => rejected.push(crate::Rejected {
                    location: format!("entries[{i}] (byte {start})"),
                    reason: "not an entry".into(),
                }),
            },
            Err(e) => rejected.push(crate::Rejected {
                location: format!("entries[{i}] (byte {start})"),
                reason: format!("malformed entry: {e}"),
            }),
        }
    }
    // With nothing readable left the document is broken as a whole.
    if entries.is_empty() {
        return None;
    }
    Some((title, entries, rejected))
}

fn location_of(msg: &str, len: usize) -> String {
    if msg.contains("end of input") {
        return format!("byte {len} (the XML ends inside an unclosed construct)");
    }
    let digits: String = msg
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|s| !s.is_empty())
        .unwrap_or("")
        .to_owned();
    if msg.contains("position") && !digits.is_empty() {
        format!("byte {digits}")
    } else {
        format!("document of {len} bytes")
    }
}

/// Plain text of an HTML fragment: tags dropped, `script`/`style` content
/// dropped, block tags become line breaks, the common entities decoded,
/// whitespace collapsed. No HTML survives, so the result is safe to show.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = memchr::memchr(b'<', rest.as_bytes()) {
        push_decoded(&mut out, &rest[..lt]);
        let after = &rest[lt + 1..];
        let starts_tag = after
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?'));
        let gt = if starts_tag {
            memchr::memchr(b'>', after.as_bytes())
        } else {
            None
        };
        let Some(gt) = gt else {
            // A lone `<`: text, not a tag.
            out.push('<');
            rest = after;
            continue;
        };
        let tag = after[..gt].trim_start_matches('/');
        let name_len = tag.bytes().take_while(u8::is_ascii_alphanumeric).count();
        let name = &tag[..name_len];
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        rest = &after[gt + 1..];
        if (is("script") || is("style")) && !after.starts_with('/') {
            // Skip to the end of the matching closing tag (any case).
            rest = match find_close(rest, name) {
                Some(p) => {
                    memchr::memchr(b'>', &rest.as_bytes()[p..]).map_or("", |q| &rest[p + q + 1..])
                }
                None => "",
            };
            out.push(' ');
            continue;
        }
        let block = [
            "p",
            "br",
            "div",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "pre",
            "blockquote",
        ]
        .iter()
        .any(|b| is(b));
        out.push(if block { '\n' } else { ' ' });
    }
    push_decoded(&mut out, rest);
    collapse_whitespace(&out)
}

/// Words joined by one space, lines by one line break, at most one blank
/// line in a row, none at the ends ("whitespace" as `char::is_whitespace`).
/// Byte-wise: only the lead bytes of the few non-ASCII whitespace characters
/// are decoded.
fn collapse_whitespace(text: &str) -> String {
    let mut clean = String::with_capacity(text.len());
    for line in text.split('\n') {
        let b = line.as_bytes();
        let mut i = 0;
        let mut words = 0;
        while i < b.len() {
            let w = whitespace_len(line, i);
            if w > 0 {
                i += w;
                continue;
            }
            let start = i;
            i += 1;
            loop {
                // Bytes that cannot start whitespace are skipped in a tight loop.
                while i < b.len() && !MAY_START_WS[usize::from(b[i])] {
                    i += 1;
                }
                if i >= b.len() || whitespace_len(line, i) > 0 {
                    break;
                }
                i += 1;
            }
            if words == 0 {
                if !clean.is_empty() && !clean.ends_with('\n') {
                    clean.push('\n');
                }
            } else {
                clean.push(' ');
            }
            clean.push_str(&line[start..i]);
            words += 1;
        }
        if words == 0 && !clean.is_empty() && !clean.ends_with("\n\n") {
            clean.push('\n');
        }
    }
    while clean.ends_with('\n') {
        clean.pop();
    }
    clean
}

/// Bytes that can start a whitespace character: ASCII whitespace and the
/// lead bytes of the non-ASCII ones.
static MAY_START_WS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = matches!(
            i as u8,
            b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xC2 | 0xE1 | 0xE2 | 0xE3
        );
        i += 1;
    }
    t
};

/// The byte length of the whitespace character at byte `i` of `s`, or 0
/// (also for a continuation byte, which is never the start of one).
fn whitespace_len(s: &str, i: usize) -> usize {
    let b = s.as_bytes()[i];
    if b < 0x80 {
        return usize::from(matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'));
    }
    // U+0085 and U+00A0 start with 0xC2; U+1680 with 0xE1; U+2000..U+205F
    // with 0xE2; U+3000 with 0xE3. Nothing else non-ASCII is whitespace.
    if !matches!(b, 0xC2 | 0xE1 | 0xE2 | 0xE3) {
        return 0;
    }
    match s.get(i..).and_then(|r| r.chars().next()) {
        Some(c) if c.is_whitespace() => c.len_utf8(),
        _ => 0,
    }
}

/// The offset of the first `</name` in `s`, ASCII case ignored.
fn find_close(s: &str, name: &str) -> Option<usize> {
    let b = s.as_bytes();
    memchr::memmem::find_iter(b, b"</").find(|&p| {
        b.get(p + 2..p + 2 + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    })
}

fn push_decoded(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(amp) = memchr::memchr(b'&', rest.as_bytes()) {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // An entity is short: look for its `;` in the next 11 bytes only, so
        // text full of bare `&` stays linear.
        let window = &after.as_bytes()[..after.len().min(11)];
        let end = memchr::memchr(b';', window);
        let decoded = end.and_then(|e| {
            let ent = &after[..e];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some(' '),
                _ => ent
                    .strip_prefix("#x")
                    .or_else(|| ent.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_text_is_plain() {
        assert_eq!(
            html_to_text("<p>A &amp; B</p><p>C&#x41;&#66;</p>"),
            "A & B\nCAB"
        );
        assert_eq!(html_to_text("x<script>alert(1)</script>y"), "x y");
        assert_eq!(
            html_to_text("<b>1 < 2</b> &bogus; &amp"),
            "1 < 2 &bogus; &amp"
        );
        assert_eq!(html_to_text("&lt;script&gt;"), "<script>");
        assert_eq!(
            html_to_text("evil[.]com<br/>1.2.3[.]4"),
            "evil[.]com\n1.2.3[.]4"
        );
    }

    #[test]
    fn not_feeds_are_located_errors() {
        let e = |b: &[u8]| parse(b, None).unwrap_err().to_string();
        assert!(e(b"").contains("empty document"));
        assert!(e(b"   \n ").contains("empty document"));
        assert!(e(b"<!DOCTYPE html><html><body>hi</body></html>").contains("not a feed (HTML)"));
        assert!(e(b"<rss version=\"2.0\"><channel><item><title>x").contains("feed"));
        assert!(e(b"{\"not\": \"a feed\"}").contains("not a feed"));
        // Found by fuzzing: quick-xml panics when an XML declaration with an
        // encoding follows other text; that is an error, not a crash.
        let doc =
            b"title\x0a           \x22thre<?xml version=\x221.0\x22 encoding=\x22ISO-8859-1\x22?>";
        assert!(parse(doc, None).is_err());
    }

    #[test]
    fn invalid_utf8_keeps_a_lossy_title_and_warns() {
        let doc = b"<rss version=\"2.0\"><channel><title>c</title><item><title>Bad \xff title</title><link>https://x.example.org/a</link></item><item><title>Good</title><link>https://x.example.org/b</link></item></channel></rss>";
        let r = parse(doc, None).unwrap();
        assert_eq!(r.drafts.len(), 2);
        assert_eq!(r.drafts[0].title, "Bad \u{FFFD} title");
        assert!(
            r.warnings[0].contains("invalid UTF-8 at byte"),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn entries_without_id_or_link_have_stable_identity() {
        let rss = b"<rss version=\"2.0\"><channel><title>t</title><item><title>Same</title><description>x</description></item></channel></rss>";
        let a = parse(rss, Some("https://f.example.org/rss")).unwrap();
        let b = parse(rss, Some("https://f.example.org/rss")).unwrap();
        assert_eq!(a.drafts[0].external_ids, b.drafts[0].external_ids);
        assert!(a.drafts[0].url.is_none());
        // Without a feed URL too (a file import): feed-rs alone would invent
        // a random UUID here, new on every read.
        let c = parse(rss, None).unwrap();
        let d = parse(rss, None).unwrap();
        assert_eq!(c.drafts[0].external_ids, d.drafts[0].external_ids);
        assert!(c.drafts[0].external_ids[0].starts_with("feed-entry:"));
        assert_ne!(a.drafts[0].external_ids, c.drafts[0].external_ids);
        // The value is fixed across releases (FNV-1a of feed, link, title).
        assert_eq!(
            c.drafts[0].external_ids[0],
            format!("feed-entry:{:016x}", fnv1a(b"\0\0same"))
        );
    }

    #[test]
    fn dates_are_read_or_refused_never_shifted() {
        let t =
            |s: &str| feed_date(s).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        for (raw, want) in [
            (
                "Tue, 03 Dec 2024 10:00:00 GMT",
                Some("2024-12-03T10:00:00Z"),
            ),
            (
                "Tue, 3 Dec 2024 10:00:00 +0100",
                Some("2024-12-03T09:00:00Z"),
            ),
            (
                "Tuesday, 03 December 2024 10:00:00 UTC",
                Some("2024-12-03T10:00:00Z"),
            ),
            ("Dec 03 2024 10:00 PST", Some("2024-12-03T18:00:00Z")),
            ("03 Dec 2024", Some("2024-12-03T00:00:00Z")),
            (
                "2024-12-03T10:00:00.123-05:00",
                Some("2024-12-03T15:00:00Z"),
            ),
            ("2024-12-03 10:00:00", Some("2024-12-03T10:00:00Z")),
            ("2024-12-03T10:00:00+0530", Some("2024-12-03T04:30:00Z")),
            ("2024-12-03", Some("2024-12-03T00:00:00Z")),
            // Impossible dates are no dates, not the next month.
            ("2024-13-01T00:00:00Z", None),
            ("Fri, 30 Feb 2024 10:00:00 GMT", None),
            ("2023-02-29", None),
            ("Tue, 03 Dec 2024 25:00:00 GMT", None),
            // Years out of range, unknown zones, words.
            ("Mon, 01 Jan 99999 00:00:00 GMT", None),
            ("0001-01-01T00:00:00Z", None),
            ("Tue, 03 Dec 2024 10:00:00 XYZ", None),
            ("2024-12-03T10:00:00+25:00", None),
            ("the day after tomorrow", None),
            ("", None),
        ] {
            assert_eq!(t(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn whitespace_by_bytes_is_char_is_whitespace() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let s = format!("{c}x");
            let want = if c.is_whitespace() { c.len_utf8() } else { 0 };
            assert_eq!(whitespace_len(&s, 0), want, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn html_to_text_stays_linear_on_hostile_text() {
        let amps = "&".repeat(1 << 20);
        assert_eq!(html_to_text(&amps).len(), 1 << 20);
        let scripts = "<script>x</SCRIPT >".repeat(50_000);
        assert_eq!(html_to_text(&format!("a{scripts}b")), "a b");
        let open = "<style>".repeat(50_000);
        assert_eq!(html_to_text(&format!("a{open}b")), "a");
    }
}

//! Normalisation and dedup keys for reports and observables.
//!
//! A report is a duplicate when its canonical URL or its normalised title is
//! already known. Both functions here are idempotent: applying one to its own
//! output returns the output unchanged.

use unicode_normalization::UnicodeNormalization;
use url::Url;

use crate::ObservableKind;
use crate::error::{Error, Result, clip};
use crate::extract::Extractor;

/// Query parameters that track a click rather than name a resource. A name
/// ending in `*` is a prefix.
pub const TRACKING_PARAMETERS: &[&str] = &[
    "utm_*",
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "twclid",
    "ttclid",
    "li_fat_id",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "__hstc",
    "__hssc",
    "__hsfp",
    "hsctatracking",
    "igshid",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "rb_clickid",
    "s_cid",
    "spm",
    "ref_src",
    "ref_url",
    "cmpid",
    "wt.mc_id",
];

fn is_tracking(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    TRACKING_PARAMETERS
        .iter()
        .any(|p| match p.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => key == *p,
        })
}

/// The dedup key of a report URL.
///
/// - scheme and host lowercased, IDNA host, trailing dot of the host removed;
/// - default port removed (`:80` for http, `:443` for https);
/// - fragment removed;
/// - tracking parameters ([`TRACKING_PARAMETERS`]) removed, the remaining
///   parameters sorted by name (stable: repeated names keep their order), an
///   empty query dropped;
/// - trailing slashes removed from a non-root path (`/blog/post/` and
///   `/blog/post` are one report); the root path is `/`.
///
/// Only absolute `http`, `https` and `ftp` URLs are report URLs; anything else
/// is an error naming the input.
///
/// ```
/// use threatmapper_core::canonical_report_url;
/// assert_eq!(
///     canonical_report_url("HTTPS://Blog.Example.COM:443/post/?utm_source=x&b=2&a=1#top").unwrap(),
///     "https://blog.example.com/post?a=1&b=2"
/// );
/// ```
pub fn canonical_report_url(input: &str) -> Result<String> {
    let bad = |reason: &str| Error::InvalidUrl {
        url: clip(input),
        reason: reason.to_owned(),
    };
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    let mut url = Url::parse(trimmed).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https" | "ftp") {
        return Err(bad("scheme must be http, https or ftp"));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?.to_owned();
    if host.ends_with('.') && host.len() > 1 {
        url.set_host(Some(host.trim_end_matches('.')))
            .map_err(|e| bad(&e.to_string()))?;
    }
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);

    let query = url.query().map(|q| {
        let mut keep: Vec<(String, &str)> = q
            .split('&')
            .filter(|seg| !seg.is_empty())
            .filter_map(|seg| {
                let raw_key = seg.split('=').next().unwrap_or(seg);
                let key: String = url::form_urlencoded::parse(raw_key.as_bytes())
                    .next()
                    .map(|(k, _)| k.into_owned())
                    .unwrap_or_default();
                (!is_tracking(&key)).then_some((key, seg))
            })
            .collect();
        keep.sort_by(|a, b| a.0.cmp(&b.0));
        keep.iter().map(|(_, s)| *s).collect::<Vec<_>>().join("&")
    });
    match query {
        Some(q) if !q.is_empty() => url.set_query(Some(&q)),
        _ => url.set_query(None),
    }
    let path = url.path();
    if path.len() > 1 && path.ends_with('/') {
        let p = path.trim_end_matches('/');
        let p = if p.is_empty() { "/" } else { p }.to_owned();
        url.set_path(&p);
    }
    Ok(url.into())
}

/// The dedup key of a report title: Unicode NFKC, case-folded, every run of
/// characters that are not letters, digits or marks collapsed to one space,
/// trimmed.
///
/// ```
/// use threatmapper_core::normalized_title;
/// assert_eq!(normalized_title("  APT-29:  New   Phishing — Campaign!! "), "apt 29 new phishing campaign");
/// assert_eq!(normalized_title("Straße ＡＢＣ"), "strasse abc");
/// ```
pub fn normalized_title(title: &str) -> String {
    let mut cur = title_step(title);
    // Case folding can produce characters NFKC changes again (and vice versa);
    // iterate to the fixed point, which two or three steps reach.
    for _ in 0..4 {
        let next = title_step(&cur);
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

fn title_step(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfkc() {
        for f in fold(c) {
            if f.is_alphanumeric() || is_mark(f) {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(f);
            } else {
                pending_space = true;
            }
        }
    }
    out
}

/// Full case folding for the characters where it differs from lowercasing.
fn fold(c: char) -> impl Iterator<Item = char> {
    let special: Option<&'static str> = match c {
        'ß' | 'ẞ' => Some("ss"),
        'ς' => Some("σ"),
        'ﬀ' => Some("ff"),
        'ﬁ' => Some("fi"),
        'ﬂ' => Some("fl"),
        _ => None,
    };
    let (a, b) = match special {
        Some(s) => (Some(s.chars()), None),
        None => (None, Some(c.to_lowercase())),
    };
    a.into_iter().flatten().chain(b.into_iter().flatten())
}

fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Canonicalise a single observable an analyst typed in: the whole input
/// (surrounding whitespace aside) must be one observable of `kind`. Defanged
/// forms are accepted and refanged.
///
/// ```
/// use threatmapper_core::{canonical_observable, ObservableKind};
/// assert_eq!(canonical_observable(ObservableKind::Domain, "Evil[.]Example[.]COM").unwrap(), "evil.example.com");
/// assert_eq!(canonical_observable(ObservableKind::Ipv4, "010.000.000.001").unwrap(), "10.0.0.1");
/// assert_eq!(canonical_observable(ObservableKind::Cve, "cve 2021-44228").unwrap(), "CVE-2021-44228");
/// assert!(canonical_observable(ObservableKind::Domain, "localhost").is_err());
/// ```
pub fn canonical_observable(kind: ObservableKind, value: &str) -> Result<String> {
    let bad = |reason| Error::InvalidObservable {
        kind,
        value: clip(value),
        reason,
    };
    let t = value.trim();
    if t.is_empty() {
        return Err(bad("empty value"));
    }
    if t.len() > 4096 {
        return Err(bad("longer than 4096 bytes"));
    }
    if let Some(len) = hash_len(kind) {
        // The scanner's hash rule, without a scan: exactly `len` hex digits,
        // not all of them decimal (a test checks the two agree).
        let b = t.as_bytes();
        return if b.len() == len
            && b.iter().all(u8::is_ascii_hexdigit)
            && !b.iter().all(u8::is_ascii_digit)
        {
            Ok(t.to_ascii_lowercase())
        } else {
            Err(bad(expected(kind)))
        };
    }
    canonical_plain(kind, t)
        .or_else(|| canonical_by_scan(kind, t))
        .ok_or_else(|| bad(expected(kind)))
}

/// The common plain forms (an undecorated dotted-decimal IPv4 address, an
/// ASCII host name) judged by the scanner's own rules without a scan. Only
/// an acceptance is final; anything else goes through the scanner (tests
/// check that the two agree).
fn canonical_plain(kind: ObservableKind, t: &str) -> Option<String> {
    use crate::extract::host::{HostContext, domain_into, ipv4_from_labels, write_ipv4};
    let b = t.as_bytes();
    match kind {
        ObservableKind::Ipv4 => {
            if !b.iter().all(|&c| c.is_ascii_digit() || c == b'.') {
                return None;
            }
            let o = ipv4_from_labels(b.split(|&c| c == b'.'))?;
            let mut s = String::with_capacity(15);
            write_ipv4(o, &mut s);
            Some(s)
        }
        ObservableKind::Domain => {
            if b.len() > 253
                || !b
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            {
                return None;
            }
            let mut labels = [(0usize, 0usize); 127];
            let mut n = 0;
            let mut start = 0;
            for (i, &c) in b.iter().chain(std::iter::once(&b'.')).enumerate() {
                if c == b'.' {
                    if i == start || n == labels.len() {
                        return None;
                    }
                    labels[n] = (start, i);
                    n += 1;
                    start = i + 1;
                }
            }
            let labels = &labels[..n];
            if labels
                .iter()
                .all(|&(s, e)| b[s..e].iter().all(u8::is_ascii_digit))
            {
                return None;
            }
            let ctx = HostContext {
                explicit: true,
                ..HostContext::default()
            };
            let mut name = String::with_capacity(b.len());
            domain_into(b, labels, ctx, &mut name).then_some(name)
        }
        _ => None,
    }
}

/// The hex length of a hash kind.
fn hash_len(kind: ObservableKind) -> Option<usize> {
    match kind {
        ObservableKind::Md5 => Some(32),
        ObservableKind::Sha1 => Some(40),
        ObservableKind::Sha256 => Some(64),
        _ => None,
    }
}

/// The one observable of `kind` that spans all of `t`, found by the extractor.
fn canonical_by_scan(kind: ObservableKind, t: &str) -> Option<String> {
    let found = Extractor::new()
        .explicit_hosts(true)
        .kinds(&[kind])
        .extract(t.as_bytes())
        .observables;
    found
        .into_iter()
        .find(|o| o.spans.iter().any(|s| s.start == 0 && s.end == t.len()))
        .map(|o| o.value)
}

fn expected(kind: ObservableKind) -> &'static str {
    match kind {
        ObservableKind::Cve => "expected CVE-YYYY-NNNN",
        ObservableKind::Ipv4 => "expected four dotted decimal octets 0-255",
        ObservableKind::Domain => "expected a host name under a public suffix",
        ObservableKind::Md5 => "expected 32 hex digits",
        ObservableKind::Sha256 => "expected 64 hex digits",
        ObservableKind::Sha1 => "expected 40 hex digits",
        ObservableKind::Url => "expected an absolute URL with a public host",
        ObservableKind::Email => "expected local@domain with a public domain",
        ObservableKind::Ipv6 => "expected an IPv6 address",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_keys() {
        let c = |s: &str| canonical_report_url(s).unwrap();
        assert_eq!(c("http://Example.com:80/"), "http://example.com/");
        assert_eq!(c("https://example.com"), "https://example.com/");
        assert_eq!(c("https://example.com./a//"), "https://example.com/a");
        assert_eq!(
            c("https://x.com/p?fbclid=1&z=1&gclid=2&a=2&a=1&mc_cid=3&UTM_Medium=m"),
            "https://x.com/p?a=2&a=1&z=1"
        );
        assert_eq!(c("https://x.com/p?utm_source=a"), "https://x.com/p");
        assert_eq!(c("https://user:pw@x.com/#frag"), "https://x.com/");
        assert_eq!(c("https://bücher.de/"), "https://xn--bcher-kva.de/");
        assert!(canonical_report_url("/relative/path").is_err());
        assert!(canonical_report_url("mailto:a@b.com").is_err());
        assert!(canonical_report_url("").is_err());
    }

    proptest::proptest! {
        /// The hash shortcut agrees with the scanner on hash-like strings.
        #[test]
        fn hash_shortcut_agrees_with_scan(s in "[0-9a-fA-FgG -]{0,70}", pick in 0usize..3) {
            let kind = [ObservableKind::Md5, ObservableKind::Sha1, ObservableKind::Sha256][pick];
            let t = s.trim();
            let scanned = if t.is_empty() { None } else { canonical_by_scan(kind, t) };
            proptest::prop_assert_eq!(canonical_observable(kind, &s).ok(), scanned);
        }

        /// The plain-form shortcuts accept only what the scanner accepts, with
        /// the same canonical value.
        #[test]
        fn plain_ipv4_agrees_with_scan(s in "[0-9.]{1,20}") {
            if let Some(v) = canonical_plain(ObservableKind::Ipv4, &s) {
                proptest::prop_assert_eq!(Some(v), canonical_by_scan(ObservableKind::Ipv4, &s));
            }
        }

        #[test]
        fn plain_domain_agrees_with_scan(
            parts in proptest::collection::vec(
                "[a-zA-Z0-9_-]{0,6}|com|co|uk|io|github|local|zip|exe|xn--bcher-kva|de|[0-9]{1,3}|-|_",
                1..7,
            )
        ) {
            let s = parts.join(".");
            if let Some(v) = canonical_plain(ObservableKind::Domain, &s) {
                proptest::prop_assert_eq!(Some(v), canonical_by_scan(ObservableKind::Domain, &s), "{}", s);
            }
        }

        #[test]
        fn exact_length_hashes_agree(s in "[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9]{32}") {
            for kind in [ObservableKind::Md5, ObservableKind::Sha1, ObservableKind::Sha256] {
                proptest::prop_assert_eq!(canonical_observable(kind, &s).ok(), canonical_by_scan(kind, &s));
            }
        }
    }

    #[test]
    fn plain_shortcuts_take_the_common_forms() {
        let d = |s: &str| canonical_plain(ObservableKind::Domain, s);
        assert_eq!(
            d("Evil.Example.co.uk").as_deref(),
            Some("evil.example.co.uk")
        );
        assert_eq!(d("cdn-1.evil.com").as_deref(), Some("cdn-1.evil.com"));
        assert_eq!(d("co.uk"), None);
        assert_eq!(d("host.local"), None);
        let ip = |s: &str| canonical_plain(ObservableKind::Ipv4, s);
        assert_eq!(ip("198.51.100.7").as_deref(), Some("198.51.100.7"));
        assert_eq!(ip("010.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(ip("1.2.3.256"), None);
    }

    #[test]
    fn titles() {
        assert_eq!(normalized_title("Hello,   World!"), "hello world");
        assert_eq!(normalized_title("ＦＵＬＬ width"), "full width");
        assert_eq!(normalized_title("---"), "");
        assert_eq!(normalized_title("Ǆemal"), "džemal");
    }
}

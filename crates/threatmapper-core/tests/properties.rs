//! Property tests for the extractor and the normalisers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use threatmapper_core::{
    Extractor, ObservableKind, canonical_observable, canonical_report_url, extract, extract_bytes,
    normalized_title,
};

fn ipv4() -> impl Strategy<Value = String> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop::bool::ANY,
    )
        .prop_map(|(a, b, c, d, pad)| {
            if pad {
                format!("{a:03}.{b}.{c:03}.{d}")
            } else {
                format!("{a}.{b}.{c}.{d}")
            }
        })
}

fn domain() -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9-]{0,10}[a-z0-9]",
        prop::sample::select(vec!["com", "net", "org", "co.uk", "ru", "io", "de", "zip"]),
        prop::option::of("[a-z]{1,6}"),
    )
        .prop_map(|(name, tld, sub)| match sub {
            Some(s) => format!("{s}.{name}.{tld}"),
            None => format!("{name}.{tld}"),
        })
}

fn defang(s: String, how: u8) -> String {
    match how % 6 {
        0 => s,
        1 => s.replace('.', "[.]"),
        2 => s.replace('.', "(.)"),
        3 => s.replace('.', "[dot]"),
        4 => s.replace('.', "\\."),
        _ => s.to_uppercase(),
    }
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        (ipv4(), any::<u8>()).prop_map(|(s, h)| defang(s, h)),
        (domain(), any::<u8>()).prop_map(|(s, h)| defang(s, h)),
        (domain(), "[a-z0-9/._?=&-]{0,20}", prop::bool::ANY)
            .prop_map(|(d, p, x)| format!("{}://{d}/{p}", if x { "hxxps" } else { "http" })),
        ("[a-z0-9._+-]{1,10}", domain()).prop_map(|(l, d)| format!("{l}@{d}")),
        "[0-9a-fA-F]{32}",
        "[0-9a-f]{40}",
        "[0-9a-fA-F]{64}",
        (1999u32..2030, 0u32..99_999_999).prop_map(|(y, n)| format!("cve-{y}-{n:04}")),
        "[0-9a-f]{1,4}(:[0-9a-f]{1,4}){1,3}::[0-9a-f]{1,4}",
        "[ -~]{0,12}",
        ".{0,6}",
        prop::sample::select(vec![
            " ", ". ", ", ", "\n", "(", ")", "[", "]", "\"", "`", "|", "_", "-", "/", "。", "：",
            "\t"
        ])
        .prop_map(str::to_owned),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = extract_bytes(&bytes);
    }

    #[test]
    fn never_panics_on_ioc_soup(t in text()) {
        let _ = extract(&t);
    }

    #[test]
    fn spans_and_canonical_values_round_trip(t in text()) {
        for o in extract(&t) {
            for s in &o.spans {
                prop_assert!(s.start < s.end && s.end <= t.len());
            }
            // The canonical value, given back as a single observable, is itself.
            let again = canonical_observable(o.kind, &o.value);
            prop_assert_eq!(again.as_deref().ok(), Some(o.value.as_str()), "{:?} {:?}", o.kind, o.value);
            // Kinds with no prose heuristics are found in their own text too.
            if !matches!(o.kind, ObservableKind::Domain | ObservableKind::Url | ObservableKind::Email) {
                let own = extract(&o.value);
                prop_assert!(own.iter().any(|x| x.kind == o.kind && x.value == o.value));
            }
        }
    }

    #[test]
    fn output_is_unique_with_ordered_spans(t in text()) {
        let found = extract(&t);
        let mut seen = std::collections::HashSet::new();
        let mut firsts = Vec::new();
        for o in &found {
            prop_assert!(seen.insert((o.kind, o.value.clone())));
            prop_assert!(o.spans.windows(2).all(|w| w[0].start <= w[1].start));
            firsts.push(o.spans[0].start);
        }
        // First appearances come in input order.
        prop_assert!(firsts.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn title_key_is_idempotent(s in ".{0,64}") {
        let once = normalized_title(&s);
        prop_assert_eq!(normalized_title(&once), once);
    }

    #[test]
    fn url_key_is_idempotent(
        host in "[a-zA-Z][a-zA-Z0-9-]{0,10}\\.(com|org|de)",
        path in "(/[a-zA-Z0-9._~%-]{0,8}){0,4}/?",
        query in prop::collection::vec(("[a-z_]{1,8}", "[a-zA-Z0-9%+]{0,6}"), 0..5),
        frag in prop::option::of("[a-z]{0,5}"),
        port in prop::option::of(prop::sample::select(vec![80u16, 443, 8080])),
    ) {
        let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut url = format!("https://{host}");
        if let Some(p) = port { url.push_str(&format!(":{p}")); }
        url.push_str(&path);
        if !q.is_empty() { url.push('?'); url.push_str(&q.join("&")); }
        if let Some(f) = frag { url.push('#'); url.push_str(&f); }
        let once = canonical_report_url(&url).unwrap();
        prop_assert_eq!(canonical_report_url(&once).unwrap(), once.clone());
        prop_assert!(!once.contains("utm_"));
        prop_assert!(!once.contains('#'));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Streaming in windows (with any chunk size) equals whole-input extraction.
    #[test]
    fn chunked_streaming_equals_whole(parts in prop::collection::vec(text(), 1..4), chunk in 4096usize..20_000) {
        let mut t = String::new();
        while t.len() < 60_000 {
            for p in &parts { t.push_str(p); t.push(' '); }
            if parts.iter().all(String::is_empty) { break; }
        }
        let whole = extract_bytes(t.as_bytes());
        let streamed = Extractor::new().chunk_size(chunk).extract_reader(t.as_bytes()).unwrap().observables;
        prop_assert_eq!(streamed, whole);
    }
}

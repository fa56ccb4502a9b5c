//! Feed import over the public samples in `../shared/corpus/feeds` (skipped
//! when absent): per-file counts, and the malformed samples fail with located
//! errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use threatmapper_core::feed;

#[test]
fn corpus_feeds() {
    let Some(dir) = common::corpus("feeds") else {
        return;
    };
    // (file, drafts, observables)
    let ok = [
        ("feed-rs/atom_example_reddit.xml", 1, 6),
        ("feed-rs/atom_relative.xml", 1, 0),
        ("feed-rs/atom_xml_base.xml", 1, 0),
        ("feed-rs/jsonfeed_example_1.json", 2, 0),
        ("feed-rs/rss_0.91_missing_id.xml", 1, 0),
        ("feed-rs/rss_1.0_debian.xml", 1, 0),
        ("feed-rs/rss_1.0_iso8859.xml", 1, 0),
        ("feed-rs/rss_2.0_bbc.xml", 1, 0),
        ("feed-rs/rss_2.0_cloudflare.xml", 1, 9),
        ("feed-rs/rss_2.0_relurl_1.xml", 2, 0),
        ("feed-rs/rss_2.0_spiegel.xml", 1, 1),
        (
            "feedparser/large_atom_feed_that_needs_css_sanitisation.xml",
            15,
            7,
        ),
        ("feedparser/doctype_contains_entity_decl.xml", 0, 0),
        ("feedparser/http_high_bit_date.xml", 0, 0),
        ("feedparser/rss_version_10.xml", 0, 0),
        // A DOCTYPE before the root is dropped, not fatal.
        ("feedparser/always_strip_doctype.xml", 0, 0),
        ("feedparser/undeclared_namespace.xml", 0, 0),
    ];
    for (f, drafts, obs) in ok {
        let r = feed::parse(
            &std::fs::read(dir.join(f)).unwrap(),
            Some("https://feeds.example.org/feed"),
        )
        .unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!((r.drafts.len(), r.observable_count()), (drafts, obs), "{f}");
    }
    // A relative link resolves against the feed's own base.
    let r = feed::parse(
        &std::fs::read(dir.join("feed-rs/atom_relative.xml")).unwrap(),
        Some("https://feeds.example.org/feed"),
    )
    .unwrap();
    assert_eq!(
        r.drafts[0].url.as_deref(),
        Some("https://feeds.example.org/blog/2003/12/13/atom03")
    );
    // A corrupted link is rejected with its entry, the feed still parses.
    let r = feed::parse(
        &std::fs::read(dir.join("feedparser/rss_item_link_corrupted_ampersands.xml")).unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(r.rejected.len(), 1);
    // KOI8-R with no encoding declared: read as UTF-8, lossily, with a warning.
    let r = feed::parse(
        &std::fs::read(dir.join("feedparser/koi8r.xml")).unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(r.drafts.len(), 1);
    assert!(r.warnings[0].contains("invalid UTF-8"));
    // Malformed documents are located errors, never "0 new items".
    for (f, want) in [
        ("feed-rs/rss_2.0_invalid_1.xml", "byte 1311"),
        ("feedparser/aaa_illformed.xml", "byte 79"),
        ("feedparser/rss_incomplete_cdata.xml", "byte 371"),
        ("feedparser/rss_empty_document.xml", "not a feed"),
    ] {
        let e = feed::parse(&std::fs::read(dir.join(f)).unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{f}: {e}");
    }
}

#[test]
fn one_malformed_entry_does_not_sink_the_feed() {
    let doc = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Vendor</title>
<item><title>First</title><link>https://v.example.org/1</link><description>C2 198.51.100.1</description></item>
<item><title>Broken <b>markup</title><link>https://v.example.org/2</link></item>
<item><title>Third</title><link>https://v.example.org/3</link><description>C2 198.51.100.3</description></item>
</channel></rss>"#;
    let r = threatmapper_core::feed::parse(doc.as_bytes(), None).unwrap();
    let titles: Vec<&str> = r.drafts.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(titles, ["First", "Third"]);
    assert_eq!(r.rejected.len(), 1);
    assert!(
        r.rejected[0].location.starts_with("entries[1] (byte "),
        "{:?}",
        r.rejected
    );
    assert!(
        r.rejected[0].reason.starts_with("malformed entry"),
        "{:?}",
        r.rejected
    );
    assert!(r.warnings.iter().any(|w| w.contains("read one by one")));
    assert_eq!(r.drafts[1].observables[0].value, "198.51.100.3");
    assert_eq!(
        r.drafts[0].author.as_deref(),
        Some("Vendor"),
        "the envelope's title still names the feed"
    );

    // Atom too.
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2026-01-01T00:00:00Z</updated>
<entry><title>Good</title><id>urn:1</id><updated>2026-01-01T00:00:00Z</updated><link href="https://a.example.org/1"/></entry>
<entry><title>Bad</title><id>urn:2</id><updated>2026-01-01T00:00:00Z</updated><summary><p>unclosed</summary></entry>
</feed>"#;
    let r = threatmapper_core::feed::parse(atom.as_bytes(), None).unwrap();
    assert_eq!(r.drafts.len(), 1);
    assert_eq!(r.rejected[0].location.split(' ').next(), Some("entries[1]"));

    // A broken envelope is still a document error, located.
    let broken =
        "<rss version=\"2.0\"><channel><title>x<item><title>a</title></item></channel></rss>";
    assert!(threatmapper_core::feed::parse(broken.as_bytes(), None).is_err());
    // And a document without entries that does not parse stays an error.
    assert!(
        threatmapper_core::feed::parse(b"<rss version=\"2.0\"><channel><title>x</channel>", None)
            .is_err()
    );
}

#[test]
fn unreadable_dates_are_reported() {
    let doc = r#"<rss version="2.0"><channel><title>V</title>
<item><title>Good date</title><link>https://v.example.org/1</link><pubDate>Tue, 03 Dec 2024 10:00:00 GMT</pubDate></item>
<item><title>Bad date</title><link>https://v.example.org/2</link><pubDate>the day after tomorrow</pubDate></item>
</channel></rss>"#;
    let r = threatmapper_core::feed::parse(doc.as_bytes(), None).unwrap();
    assert_eq!(r.drafts.len(), 2);
    assert_eq!(
        r.drafts[0].published.as_deref(),
        Some("2024-12-03T10:00:00Z")
    );
    assert_eq!(r.drafts[1].published, None);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(
        r.warnings[0].starts_with("entries[1]: date `the day after tomorrow`"),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_feed_whose_only_entries_are_malformed_is_an_error() {
    let doc = "<rss version=\"2.0\"><channel><title>V</title><item><title><img src=x></title></item></channel></rss>";
    assert!(threatmapper_core::feed::parse(doc.as_bytes(), None).is_err());
}

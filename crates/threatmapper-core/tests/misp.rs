//! MISP import: fixtures for the traps real data sets hold, and per-file
//! counts over the public samples in `../shared/corpus/misp`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use threatmapper_core::{ObservableKind as K, misp};

#[test]
fn every_event_of_a_response_and_composites() {
    let doc = br#"{"response":[
      {"Event":{"info":"One","uuid":"u1","date":"2024-03-01","threat_level_id":"3","Orgc":{"name":"CIRCL"},
        "Attribute":[
          {"uuid":"a1","type":"filename|sha256","value":"we|ird.exe|E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855","to_ids":"1","category":"Payload delivery"},
          {"uuid":"a2","type":"domain|ip","value":"evil.example.net|198.51.100.7","to_ids":false},
          {"uuid":"a3","type":"ip-dst","value":"not-an-ip"},
          {"uuid":"a4","type":"link","value":"https://blog.example.org/post?utm_source=x"}]}},
      {"Event":{"info":"Two","date":"2024-13-45","Attribute":[{"type":"vulnerability","value":"cve-2021-44228"}],
        "Galaxy":[{"GalaxyCluster":[{"tag_name":"misp-galaxy:threat-actor=\"APT28\""}]}]}}]}"#;
    let r = misp::parse(doc).unwrap();
    assert_eq!(r.drafts.len(), 2);
    let a = &r.drafts[0];
    assert_eq!(a.author.as_deref(), Some("CIRCL"));
    assert_eq!(a.published.as_deref(), Some("2024-03-01T00:00:00Z"));
    let obs: Vec<(K, &str, Option<bool>)> = a
        .observables
        .iter()
        .map(|o| (o.kind, o.value.as_str(), o.to_ids))
        .collect();
    assert_eq!(
        obs,
        [
            (
                K::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                Some(true)
            ),
            (K::Domain, "evil.example.net", Some(false)),
            (K::Ipv4, "198.51.100.7", Some(false)),
            (
                K::Url,
                "https://blog.example.org/post?utm_source=x",
                Some(false)
            ),
            (K::Domain, "blog.example.org", Some(false)),
        ]
    );
    assert_eq!(
        a.observables[0].category.as_deref(),
        Some("Payload delivery")
    );
    assert_eq!(a.url.as_deref(), Some("https://blog.example.org/post"));
    // One bad attribute is rejected with its uuid; the event still imports.
    assert_eq!(r.rejected.len(), 1);
    assert!(
        r.rejected[0].location.ends_with("Attribute[2] (a3)"),
        "{:?}",
        r.rejected
    );
    let b = &r.drafts[1];
    assert_eq!(b.observables[0].value, "CVE-2021-44228");
    assert!(b.labels.iter().any(|l| l.contains("APT28")));
    assert!(b.published.is_none());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("invalid date `2024-13-45`"))
    );
}

#[test]
fn not_events_are_located_errors() {
    let e = |b: &[u8]| misp::parse(b).unwrap_err().to_string();
    assert!(
        e(br#"{"5c5b2d1e-0b0a-4f6c-9a1e-1a2b3c4d5e6f":{"info":"x","Orgc":{}}}"#)
            .contains("manifest.json")
    );
    assert!(e(br#"{"Object":[]}"#).contains("partial event"));
    assert!(e(b"[1]").contains("$[0]"));
    assert!(e(b"{\"Event\": ").contains("line 1"));
}

#[test]
fn corpus_events() {
    let Some(dir) = common::corpus("misp") else {
        return;
    };
    // (file, drafts, observables, unsupported, rejected)
    for (f, drafts, obs, unsupported, rejected) in [
        ("57c4445b-c548-4654-af0b-4be3950d210f.json", 1, 7, 4, 0),
        ("existing_event.json", 1, 68, 53, 0),
        ("galaxy_1.json", 1, 7, 4, 0),
        ("japanese_test.json", 1, 0, 1, 0),
        ("mainly_objects_1.json", 1, 17, 48, 0),
        ("misp_event.json", 1, 2, 1, 0),
        ("sighting_1.json", 1, 6, 0, 0),
    ] {
        let r = misp::parse(&std::fs::read(dir.join(f)).unwrap()).unwrap();
        assert_eq!(
            (
                r.drafts.len(),
                r.observable_count(),
                r.unsupported,
                r.rejected.len()
            ),
            (drafts, obs, unsupported, rejected),
            "{f}"
        );
    }
    let r = misp::parse(&std::fs::read(dir.join("existing_event.json")).unwrap()).unwrap();
    assert_eq!(r.drafts[0].tlp.as_deref(), Some("TLP:CLEAR"));
    assert!(r.drafts[0].title.starts_with("OSINT - Sednit update"));
    for f in [
        "event_obj_attr_tag.json",
        "describeTypes.json",
        "schema.json",
    ] {
        assert!(
            misp::parse(&std::fs::read(dir.join(f)).unwrap()).is_err(),
            "{f}"
        );
    }
}

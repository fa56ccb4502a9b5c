//! STIX 2.1 import: own fixtures for every rule, and per-file expected counts
//! over the public samples in `../shared/corpus` (skipped when absent).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use threatmapper_core::{ObservableKind as K, stix};

const TS: &str = r#""created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z""#;

fn bundle(objects: &[String]) -> Vec<u8> {
    format!(
        r#"{{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{}]}}"#,
        objects.join(",")
    )
    .into_bytes()
}

fn indicator(uuid: &str, pattern: &str) -> String {
    format!(
        r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{uuid}",{TS},"pattern_type":"stix","pattern":{},"valid_from":"2024-01-01T00:00:00Z"}}"#,
        serde_json::to_string(pattern).unwrap()
    )
}

#[test]
fn report_resolves_refs_and_markings() {
    let objs = vec![
        format!(r#"{{"type":"identity","spec_version":"2.1","id":"identity--11111111-1111-4111-8111-111111111111",{TS},"name":"ACME CERT"}}"#),
        indicator("22222222-2222-4222-8222-222222222222", "[domain-name:value = 'Evil.Example.NET' OR file:hashes.'SHA-256' = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855']"),
        format!(r#"{{"type":"vulnerability","spec_version":"2.1","id":"vulnerability--33333333-3333-4333-8333-333333333333",{TS},"name":"Log4Shell","external_references":[{{"source_name":"cve","external_id":"CVE-2021-44228"}}]}}"#),
        r#"{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--44444444-4444-4444-8444-444444444444","value":"198.51.100.9"}"#.to_owned(),
        format!(r#"{{"type":"report","spec_version":"2.1","id":"report--55555555-5555-4555-8555-555555555555",{TS},"name":"Campaign X","description":"About X","published":"2024-02-03T04:05:06.789+02:00","created_by_ref":"identity--11111111-1111-4111-8111-111111111111","report_types":["threat-report"],"labels":["apt"],"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],"external_references":[{{"source_name":"blog","url":"https://Blog.Example.org/x/?utm_source=t"}}],"object_refs":["indicator--22222222-2222-4222-8222-222222222222","vulnerability--33333333-3333-4333-8333-333333333333","ipv4-addr--44444444-4444-4444-8444-444444444444","malware--66666666-6666-4666-8666-666666666666"]}}"#),
    ];
    let r = stix::parse(&bundle(&objs)).unwrap();
    assert_eq!(r.drafts.len(), 1);
    let d = &r.drafts[0];
    assert_eq!(d.title, "Campaign X");
    assert_eq!(d.author.as_deref(), Some("ACME CERT"));
    assert_eq!(d.published.as_deref(), Some("2024-02-03T02:05:06Z"));
    assert_eq!(d.tlp.as_deref(), Some("TLP:GREEN"));
    assert_eq!(d.url.as_deref(), Some("https://blog.example.org/x"));
    assert_eq!(d.labels, ["apt", "threat-report"]);
    let obs: Vec<(K, &str)> = d
        .observables
        .iter()
        .map(|o| (o.kind, o.value.as_str()))
        .collect();
    assert_eq!(
        obs,
        [
            (K::Domain, "evil.example.net"),
            (
                K::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
            (K::Cve, "CVE-2021-44228"),
            (K::Ipv4, "198.51.100.9"),
        ]
    );
    // The dangling malware reference is a warning, not a failure.
    assert!(r.warnings[0].contains("malware--66666666"));
}

#[test]
fn bad_objects_are_rejected_one_by_one() {
    let objs = vec![
        indicator("22222222-2222-4222-8222-222222222222", "[ipv4-addr:value = '198.51.100.1']"),
        r#"{"type":"indicator","spec_version":"2.1","id":"indicator--not-a-uuid","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z"}"#.to_owned(),
        // Four dashes and 32 hex digits, but not laid out as a UUID.
        r#"{"type":"mutex","spec_version":"2.1","id":"mutex--2222-22222222-4222-8222-222222222222","name":"m"}"#.to_owned(),
        r#"{"type":"malware","spec_version":"2.1","id":"malware--66666666-6666-4666-8666-666666666666","modified":"2024-01-01T00:00:00Z"}"#.to_owned(),
        indicator("77777777-7777-4777-8777-777777777777", "[ipv4-addr:value = '198.51.100.2'"),
        r#"{"type":"x-acme-thing","id":"x-acme-thing--88888888-8888-4888-8888-888888888888","spec_version":"2.1"}"#.to_owned(),
        "17".to_owned(),
    ];
    let r = stix::parse(&bundle(&objs)).unwrap();
    let locs: Vec<&str> = r.rejected.iter().map(|x| x.location.as_str()).collect();
    assert_eq!(locs[0], "objects[1].id (indicator--not-a-uuid)");
    assert_eq!(
        locs[1],
        "objects[2].id (mutex--2222-22222222-4222-8222-222222222222)"
    );
    assert_eq!(
        locs[2],
        "objects[3].created (malware--66666666-6666-4666-8666-666666666666)"
    );
    assert_eq!(locs[3], "objects[6]");
    assert_eq!(
        locs[4],
        "indicator--77777777-7777-4777-8777-777777777777.pattern column 34"
    );
    assert_eq!(r.unsupported, 1); // the custom x-acme-thing
    assert_eq!(r.drafts.len(), 1);
    assert_eq!(r.drafts[0].observables[0].value, "198.51.100.1");
}

#[test]
fn one_bad_shape_reads_the_rest_the_same_and_counts_once() {
    let good = vec![
        indicator("22222222-2222-4222-8222-222222222222", "[ipv4-addr:value = '198.51.100.1']"),
        // Escaped strings are read (and copied) like plain ones.
        r#"{"type":"domain-name","spec_version":"2.1","id":"domain-name--99999999-9999-4999-8999-999999999999","value":"ev\u0069l.example.net"}"#.to_owned(),
        // An unsupported pattern referenced by two reports is counted once.
        indicator("33333333-3333-4333-8333-333333333333", "[process:name = 'x.exe']"),
        format!(r#"{{"type":"report","spec_version":"2.1","id":"report--55555555-5555-4555-8555-555555555555",{TS},"name":"A","object_refs":["indicator--22222222-2222-4222-8222-222222222222","indicator--33333333-3333-4333-8333-333333333333","domain-name--99999999-9999-4999-8999-999999999999"]}}"#),
        format!(r#"{{"type":"report","spec_version":"2.1","id":"report--66666666-6666-4666-8666-666666666666",{TS},"name":"B","object_refs":["indicator--33333333-3333-4333-8333-333333333333"]}}"#),
    ];
    let r = stix::parse(&bundle(&good)).unwrap();
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(r.unsupported, 1);
    assert_eq!(r.drafts.len(), 2);
    let values: Vec<&str> = r.drafts[0]
        .observables
        .iter()
        .map(|o| o.value.as_str())
        .collect();
    assert_eq!(values, ["198.51.100.1", "evil.example.net"]);

    // The same objects after one whose `name` is a number: that object is
    // rejected where it stands, and everything else reads as before.
    let mut with_bad = vec![format!(
        r#"{{"type":"malware","spec_version":"2.1","id":"malware--77777777-7777-4777-8777-777777777777",{TS},"name":5}}"#
    )];
    with_bad.extend(good);
    let r2 = stix::parse(&bundle(&with_bad)).unwrap();
    assert_eq!(r2.rejected.len(), 1);
    assert_eq!(r2.rejected[0].location, "objects[0]");
    assert!(r2.rejected[0].reason.contains("not a readable STIX object"));
    assert_eq!((r2.drafts, r2.unsupported), (r.drafts, r.unsupported));
}

#[test]
fn descriptions_are_read_only_where_used() {
    let objs = vec![
        // Not read for an indicator: any JSON is tolerated there.
        format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--22222222-2222-4222-8222-222222222222",{TS},"description":{{"x":[1]}},"pattern_type":"stix","pattern":"[ipv4-addr:value = '198.51.100.1']","valid_from":"2024-01-01T00:00:00Z"}}"#
        ),
        format!(
            r#"{{"type":"report","spec_version":"2.1","id":"report--55555555-5555-4555-8555-555555555555",{TS},"name":"A","description":"line 1\nline \"2\"","object_refs":["indicator--22222222-2222-4222-8222-222222222222"]}}"#
        ),
        format!(
            r#"{{"type":"report","spec_version":"2.1","id":"report--66666666-6666-4666-8666-666666666666",{TS},"name":"B","description":null,"object_refs":[]}}"#
        ),
        format!(
            r#"{{"type":"report","spec_version":"2.1","id":"report--77777777-7777-4777-8777-777777777777",{TS},"name":"C","description":7,"object_refs":[]}}"#
        ),
        // List properties likewise: read (and checked) for reports only.
        format!(
            r#"{{"type":"report","spec_version":"2.1","id":"report--88888888-8888-4888-8888-888888888888",{TS},"name":"D","labels":"apt","object_refs":[]}}"#
        ),
        format!(
            r#"{{"type":"malware","spec_version":"2.1","id":"malware--99999999-9999-4999-8999-999999999999",{TS},"name":"M","labels":"apt","external_references":{{"not":"a list"}}}}"#
        ),
    ];
    let r = stix::parse(&bundle(&objs)).unwrap();
    assert_eq!(r.drafts.len(), 2);
    assert_eq!(r.drafts[0].summary, "line 1\nline \"2\"");
    assert_eq!(r.drafts[0].observables.len(), 1);
    assert_eq!(r.drafts[1].summary, "");
    let locs: Vec<&str> = r.rejected.iter().map(|x| x.location.as_str()).collect();
    assert_eq!(
        locs,
        [
            "objects[3].description (report--77777777-7777-4777-8777-777777777777)",
            "objects[4].labels (report--88888888-8888-4888-8888-888888888888)",
        ]
    );
}

#[test]
fn envelopes_versions_and_garbage() {
    let taxii = format!(
        r#"{{"more":false,"objects":[{}]}}"#,
        indicator(
            "22222222-2222-4222-8222-222222222222",
            "[url:value = 'hxxp://evil[.]com/a']"
        )
    );
    let r = stix::parse(taxii.as_bytes()).unwrap();
    assert_eq!(r.drafts[0].observables[0].value, "http://evil.com/a");
    assert!(
        r.drafts[0]
            .title
            .starts_with("Unreferenced objects in the envelope")
    );

    let v20 = br#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","spec_version":"2.0","objects":[]}"#;
    assert!(
        stix::parse(v20)
            .unwrap_err()
            .to_string()
            .contains("unsupported spec_version 2.0")
    );
    let e = stix::parse(b"{\"type\":\"bundle\",")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1"), "{e}");
    assert!(stix::parse(b"[1,2]").is_err());
    assert!(stix::parse(br#"{"type":"indicator"}"#).is_err());
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(stix::parse(deep.as_bytes()).is_err());
    // CIDR ranges wider than one address are counted, not imported.
    let r = stix::parse(&bundle(&[indicator(
        "22222222-2222-4222-8222-222222222222",
        "[ipv4-addr:value = '10.0.0.0/8' OR ipv4-addr:value = '10.1.1.1/32']",
    )]))
    .unwrap();
    assert_eq!(r.unsupported, 1);
    assert_eq!(r.drafts[0].observables[0].value, "10.1.1.1");
}

#[test]
fn corpus_samples_parse_with_expected_counts() {
    let Some(dir) = common::corpus("") else {
        return;
    };
    // (file, drafts, observables, unsupported, rejected)
    let expect = [
        ("stix/apt1.json", 1, 6, 8, 0),
        ("stix/poisonivy.json", 1, 48, 2, 1),
        ("stix/indicator-for-c2-ip-address.json", 1, 1, 0, 0),
        ("stix/indicator-to-campaign-relationship.json", 1, 1, 0, 0),
        ("stix/indicators-for-C2-with-COA.json", 1, 2, 0, 0),
        ("stix/infrastructure.json", 1, 2, 0, 0),
        (
            "stix/malicious-email-indicator-with-attachment.json",
            0,
            0,
            2,
            0,
        ),
        ("stix/opencti-atlas-AMLCS0010_full.json", 1, 0, 0, 0),
    ];
    for (f, drafts, obs, unsupported, rejected) in expect {
        let r = stix::parse(&std::fs::read(dir.join(f)).unwrap()).unwrap();
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
    let r =
        stix::parse(&std::fs::read(dir.join("stix/opencti-atlas-AMLCS0010_full.json")).unwrap())
            .unwrap();
    // The WHITE marking id named TLP:CLEAR is accepted.
    assert_eq!(r.drafts[0].tlp.as_deref(), Some("TLP:CLEAR"));
    let r = stix::parse(&std::fs::read(dir.join("stix/poisonivy.json")).unwrap()).unwrap();
    // The sample's own bad value is rejected with its indicator id and reason.
    assert!(r.rejected[0].location.starts_with("indicator--4e4c4ad7"));
    assert!(r.rejected[0].reason.contains("domain autuo.xicp.net"));
    assert_eq!(
        r.drafts[0].published.as_deref(),
        Some("2013-08-21T00:00:00Z")
    );
}

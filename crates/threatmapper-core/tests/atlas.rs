//! MITRE ATLAS import: the real distribution and STIX bundle from
//! `../shared/corpus/atlas` (skipped when absent) and own fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use threatmapper_core::atlas;

#[test]
fn impossible_date_fails_only_its_case_study() {
    let yaml = b"id: ATLAS\nmatrices: []\ncase-studies:\n- id: AML.CS0001\n  name: Good\n  incident-date: 2021-03-04\n  references:\n  - {title: r, url: 'https://example.org/a?utm_source=x'}\n  procedure:\n  - {tactic: AML.TA0001, technique: AML.T0043.003}\n  - {tactic: AML.TA0001, technique: AML.T0043.003}\n- id: AML.CS0002\n  name: Bad date\n  incident-date: 2021-02-30\n- id: AML.CS0003\n  summary: no name\n";
    let a = atlas::parse(yaml).unwrap();
    assert_eq!(a.result.drafts.len(), 1);
    let d = &a.result.drafts[0];
    assert_eq!(d.published.as_deref(), Some("2021-03-04T00:00:00Z"));
    assert_eq!(d.url.as_deref(), Some("https://example.org/a"));
    assert_eq!(d.labels, ["AML.T0043.003"]);
    assert_eq!(d.external_ids, ["atlas:AML.CS0001"]);
    assert_eq!(a.result.rejected.len(), 2);
    assert!(a.result.warnings[0].contains("impossible incident-date `2021-02-30`"));
}

#[test]
fn json_form_and_bad_input() {
    let json = br#"{"id":"ATLAS","matrices":[{"tactics":[{"id":"AML.TA0002","name":"Recon"}],"techniques":[]}],"case-studies":[{"id":"AML.CS0000","name":"X","incident-date":"2020-01-01"}]}"#;
    let a = atlas::parse(json).unwrap();
    assert_eq!((a.result.drafts.len(), a.catalogue.tactics.len()), (1, 1));
    let e = |b: &[u8]| atlas::parse(b).unwrap_err().to_string();
    assert!(e(b"- a\n- b\n").contains("mapping"));
    assert!(e(b"title: x\n").contains("not ATLAS"));
    assert!(e(b"a: [1, 2\n").contains("line"));
    assert!(e(b"{\"a\": ").contains("line 1"));
    // YAML alias bombs are bounded by the parser's budget.
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    assert!(atlas::parse(bomb.as_bytes()).is_err());
}

#[test]
fn real_distribution_and_bundle() {
    let Some(dir) = common::corpus("atlas") else {
        return;
    };
    let a = atlas::parse(&std::fs::read(dir.join("ATLAS.yaml")).unwrap()).unwrap();
    assert_eq!(a.result.drafts.len(), 57);
    assert_eq!(a.catalogue.tactics.len(), 16);
    assert_eq!(a.catalogue.techniques.len(), 170);
    assert_eq!(
        a.catalogue
            .techniques
            .iter()
            .filter(|t| t.subtechnique_of.is_some())
            .count(),
        69
    );
    assert!(a.result.rejected.is_empty(), "{:?}", a.result.rejected);
    let cs0 = &a.result.drafts[0];
    assert_eq!(
        cs0.title,
        "Evasion of Deep Learning Detector for Malware C&C Traffic"
    );
    assert_eq!(cs0.published.as_deref(), Some("2020-01-01T00:00:00Z"));
    assert_eq!(cs0.labels[0], "AML.T0000.001");
    // Every technique a case study cites is in the catalogue.
    let known: std::collections::HashSet<&str> = a
        .catalogue
        .techniques
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    for d in &a.result.drafts {
        for l in &d.labels {
            assert!(known.contains(l.as_str()), "{} cites unknown {l}", d.title);
        }
    }
    let s = atlas::parse(&std::fs::read(dir.join("stix-atlas.json")).unwrap()).unwrap();
    assert_eq!(s.result.drafts.len(), 0);
    assert_eq!(
        (s.catalogue.tactics.len(), s.catalogue.techniques.len()),
        (16, 170)
    );
    assert_eq!(
        s.catalogue
            .techniques
            .iter()
            .filter(|t| t.subtechnique_of.is_some())
            .count(),
        69
    );
}

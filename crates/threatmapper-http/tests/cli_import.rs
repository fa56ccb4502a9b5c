//! End-to-end tests of `threatmapper import ... --dry-run`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_threatmapper"))
        .args(args)
        .output()
        .unwrap()
}

/// Run, require success, and parse standard output as JSON.
fn run_json(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const BUNDLE: &str = r#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
  "created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z","pattern_type":"stix",
  "pattern":"[ipv4-addr:value = '198.51.100.7' OR process:pid = 4]","valid_from":"2024-01-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--bad"}]}"#;

#[test]
fn dry_run_json_counts() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("b.json");
    std::fs::write(&f, BUNDLE).unwrap();
    let v = run_json(&[
        "import",
        "stix",
        f.to_str().unwrap(),
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(v["reports"], 1);
    assert_eq!(v["observables"], 1);
    assert_eq!(v["unsupported"], 1);
    assert_eq!(v["rejected"], 1);
    assert!(v["warnings"].is_array());
    assert_eq!(v["drafts"][0]["observables"][0]["value"], "198.51.100.7");
    assert_eq!(
        v["rejections"][0]["location"],
        "objects[1].id (indicator--bad)"
    );
}

#[test]
fn invalid_input_exits_1_and_usage_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("b.json");
    std::fs::write(&f, "{\"type\": \"bundle\", \"objects\": [").unwrap();
    let out = run(&["import", "stix", f.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
    assert!(out.stdout.is_empty());
    assert_eq!(
        run(&["import", "stix", "/nonexistent.json", "--dry-run"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["import", "stix", f.to_str().unwrap()]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["import", "yaml", f.to_str().unwrap(), "--dry-run"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn feed_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f.xml");
    std::fs::write(&f, "<rss version=\"2.0\"><channel><title>c</title><item><title>Loader</title><link>https://x.example.org/a</link><description>C2 198.51.100[.]7 CVE-2024-3094</description></item></channel></rss>").unwrap();
    let out = run(&["import", "feed", f.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["reports"].as_u64(), v["observables"].as_u64()),
        (Some(1), Some(2))
    );
    std::fs::write(&f, "<!doctype html><html></html>").unwrap();
    let out = run(&["import", "feed", f.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a feed (HTML)"));
}

#[test]
fn misp_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("e.json");
    std::fs::write(&f, r#"{"Event":{"info":"x","Attribute":[{"type":"ip-dst","value":"198.51.100.9"},{"type":"mutex","value":"m"}]}}"#).unwrap();
    let out = run(&[
        "import",
        "misp",
        f.to_str().unwrap(),
        "--dry-run",
        "--format",
        "text",
    ]);
    assert!(out.status.success());
    let t = String::from_utf8(out.stdout).unwrap();
    assert!(
        t.starts_with("1 report(s), 1 observable(s), 1 unsupported, 0 rejected"),
        "{t}"
    );
}

#[test]
fn atlas_dry_run_reports_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.yaml");
    std::fs::write(&f, "id: ATLAS\nmatrices:\n- tactics: [{id: AML.TA0002, name: Recon}]\n  techniques: [{id: AML.T0000, name: S, tactics: [AML.TA0002]}]\ncase-studies:\n- {id: AML.CS0000, name: X, incident-date: 2020-01-01}\n").unwrap();
    let v = run_json(&["import", "atlas", f.to_str().unwrap(), "--dry-run"]);
    assert_eq!(
        (
            v["reports"].as_u64(),
            v["tactics"].as_u64(),
            v["techniques"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
}

#[test]
fn misp_feed_directory() {
    let dir = tempfile::tempdir().unwrap();
    let u1 = "5c5b2d1e-0b0a-4f6c-9a1e-1a2b3c4d5e6f";
    let u2 = "6c5b2d1e-0b0a-4f6c-9a1e-1a2b3c4d5e6f";
    std::fs::write(
        dir.path().join("manifest.json"),
        format!(r#"{{"{u1}":{{"info":"a"}},"{u2}":{{"info":"b"}}}}"#),
    )
    .unwrap();
    std::fs::write(
        dir.path().join(format!("{u1}.json")),
        r#"{"Event":{"info":"a","Attribute":[{"type":"domain","value":"evil.example.net"}]}}"#,
    )
    .unwrap();
    // u2's file is missing: rejected by name, the rest imports.
    let v = run_json(&["import", "misp", dir.path().to_str().unwrap(), "--dry-run"]);
    assert_eq!(
        (
            v["reports"].as_u64(),
            v["observables"].as_u64(),
            v["rejected"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert!(
        v["rejections"][0]["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{u2}.json"))
    );
}

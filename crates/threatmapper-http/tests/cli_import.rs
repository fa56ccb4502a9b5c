//! End-to-end tests of `threatmapper import`, `migrate` and `audit verify`.

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
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let out = run(&["import", "stix", f.to_str().unwrap(), "--db", &db]);
    assert_eq!(out.status.code(), Some(1), "invalid input is not stored");
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

#[test]
fn import_stores_then_suppresses_and_audits() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("b.json");
    std::fs::write(&f, BUNDLE).unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let v = run_json(&["import", "stix", f.to_str().unwrap(), "--db", &db]);
    assert_eq!(
        (
            &v["reports"],
            &v["suppressed"],
            &v["observables_new"],
            &v["observables_existing"]
        ),
        (&1.into(), &0.into(), &1.into(), &0.into())
    );
    assert_eq!(v["report_ids"].as_array().unwrap().len(), 1);
    let again = run_json(&["import", "stix", f.to_str().unwrap(), "--db", &db]);
    assert_eq!(
        (&again["reports"], &again["suppressed"]),
        (&0.into(), &1.into())
    );
    assert_eq!(again["suppressed_reports"][0]["matched"], "title");

    let out = run(&[
        "import",
        "stix",
        f.to_str().unwrap(),
        "--db",
        &db,
        "--format",
        "text",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("stored 0 report(s), suppressed 1,"),
        "{text}"
    );

    let m = run_json(&["migrate", "--db", &db]);
    assert_eq!(m["schema_version"], 2);
    let a = run_json(&["audit", "verify", "--db", &db]);
    assert_eq!((&a["ok"], &a["checked"]), (&true.into(), &3.into()));

    // DATABASE_URL is the default for --db.
    let out = Command::new(env!("CARGO_BIN_EXE_threatmapper"))
        .args(["audit", "verify", "--format", "text"])
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "audit chain intact: 3 event(s)\n"
    );
}

#[test]
fn unreachable_database_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("b.json");
    std::fs::write(&f, BUNDLE).unwrap();
    let out = run(&[
        "import",
        "stix",
        f.to_str().unwrap(),
        "--db",
        "postgres://postgres@127.0.0.1:1/x",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open the database"));
    let out = run(&["migrate", "--db", "mysql://x"]);
    assert_eq!(out.status.code(), Some(3));
}

/// A feed of `n` items, each with its own title, link and five addresses.
fn big_feed(n: usize) -> String {
    let mut s = String::from("<rss version=\"2.0\"><channel><title>load</title>");
    for i in 0..n {
        let (a, b) = (i / 250, i % 250);
        s.push_str(&format!(
            "<item><title>Campaign {i}</title><link>https://intel.example.org/r/{i}</link>\
             <description>C2 10.{a}.{b}.1 10.{a}.{b}.2 10.{a}.{b}.3 10.{a}.{b}.4 and 10.{a}.{b}.5</description></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

#[cfg(unix)]
#[test]
fn killing_an_import_leaves_no_partial_data() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("feed.xml");
    let n = 30_000;
    std::fs::write(&f, big_feed(n)).unwrap();
    let path = dir.path().join("t.db");
    let db = format!("sqlite://{}", path.display());
    // Create the schema first so the write-ahead log below is the import's.
    assert!(run(&["migrate", "--db", &db]).status.success());
    let wal = dir.path().join("t.db-wal");
    let base = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);

    let mut child = Command::new(env!("CARGO_BIN_EXE_threatmapper"))
        .args(["import", "feed", f.to_str().unwrap(), "--db", &db])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the transaction has written well into the log.
    let start = Instant::now();
    let mut killed_mid_write = false;
    while start.elapsed() < Duration::from_secs(120) {
        let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if len > base + (4 << 20) {
            child.kill().unwrap();
            killed_mid_write = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = child.wait().unwrap();
    assert!(
        killed_mid_write,
        "the import finished before it could be killed ({status})"
    );
    assert!(!status.success());

    // Nothing of the killed import is visible, and the chain is intact.
    let a = run_json(&["audit", "verify", "--db", &db]);
    assert_eq!((&a["ok"], &a["checked"]), (&true.into(), &0.into()));
    let v = run_json(&["import", "feed", f.to_str().unwrap(), "--db", &db]);
    assert_eq!(
        (&v["reports"], &v["suppressed"]),
        (&n.into(), &0.into()),
        "all of it stores on a rerun"
    );
    assert_eq!(v["observables_new"], 5 * n);
}

//! End-to-end tests of `threatmapper rules validate` (the real binary).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const GOOD: &str = "title: Whoami\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\nstatus: test\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  selection:\n    Image|endswith: '\\whoami.exe'\n  condition: selection\nlevel: low\n";

fn validate(args: &[&str], paths: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_threatmapper"))
        .args(["rules", "validate"])
        .args(args)
        .args(paths)
        .output()
        .unwrap()
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    w("a_good.yml", GOOD);
    w(
        "b_placeholder.yml",
        &GOOD
            .replace(
                "929a690e-bef0-4204-a928-ef5e620d6fcc",
                "11111111-2222-4333-8444-555555555555",
            )
            .replace("Whoami", "Placeholder")
            .replace("'\\whoami.exe'", "REPLACE_WITH_BEHAVIOR"),
    );
    w(
        "c_bad_level.yml",
        &GOOD
            .replace("level: low", "level: High")
            .replace(
                "929a690e-bef0-4204-a928-ef5e620d6fcc",
                "aaaaaaaa-2222-4333-8444-555555555555",
            )
            .replace("Whoami", "Bad level"),
    );
    w("d_tabs.yaml", "title: x\n\tlevel: high\n");
    w("e_list.yml", "- title: a\n- title: b\n");
    w("notes.txt", "ignored: not a rule extension");
    dir
}

#[test]
fn json_keeps_going_past_bad_files() {
    let dir = fixture();
    let out = validate(&["--format", "json"], &[dir.path()]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 5);
    let status: Vec<&str> = files
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        ["ready", "needs_analyst", "invalid", "invalid", "invalid"]
    );
    assert!(files[0]["path"].as_str().unwrap().ends_with("a_good.yml"));
    assert_eq!(files[0]["language"], "sigma");
    let d = &files[2]["diagnostics"][0];
    assert_eq!(
        (d["code"].as_str(), d["line"].as_u64(), d["column"].as_u64()),
        (Some("SIGMA031"), Some(11), Some(8))
    );
    assert_eq!(d["severity"], "error");
    assert_eq!(v["summary"]["files"], 5);
    assert_eq!(v["summary"]["invalid"], 3);
}

#[test]
fn exit_codes_and_deny_warnings() {
    let dir = fixture();
    let good = dir.path().join("a_good.yml");
    let ph = dir.path().join("b_placeholder.yml");
    assert_eq!(validate(&[], &[&good]).status.code(), Some(0));
    assert_eq!(validate(&[], &[&ph]).status.code(), Some(0));
    assert_eq!(
        validate(&["--deny-warnings"], &[&ph]).status.code(),
        Some(1)
    );
    let missing = dir.path().join("nope");
    let out = validate(&[], &[&good, &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
    assert_eq!(
        Command::new(env!("CARGO_BIN_EXE_threatmapper"))
            .args(["rules", "validate"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn text_sarif_and_junit() {
    let dir = fixture();
    let bad = dir.path().join("c_bad_level.yml");
    let text = String::from_utf8(validate(&[], &[&bad]).stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.ends_with("c_bad_level.yml:11:8: error[SIGMA031]: `level` must be one of informational, low, medium, high, critical (lowercase), not `High`"), "{first}");

    let sarif: serde_json::Value =
        serde_json::from_slice(&validate(&["--format", "sarif"], &[dir.path()]).stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "SIGMA900" && r["level"] == "warning")
    );
    let loc = &results.iter().find(|r| r["ruleId"] == "SIGMA031").unwrap()["locations"][0]["physicalLocation"];
    assert_eq!(loc["region"]["startLine"], 11);
    assert!(
        loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("c_bad_level.yml")
    );
    assert!(
        sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "SIGMA031")
    );

    let junit = String::from_utf8(validate(&["--format", "junit"], &[dir.path()]).stdout).unwrap();
    assert!(junit.starts_with("<?xml"));
    assert!(junit.contains("tests=\"5\" failures=\"3\""));
    assert_eq!(junit.matches("<testcase ").count(), 5);
    assert_eq!(junit.matches("<failure ").count(), 3);
    assert!(junit.contains("REPLACE_WITH_BEHAVIOR"));
}

/// `rules generate --report FILE` with the default language.
fn generate_from(report: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_threatmapper"))
        .args(["rules", "generate", "--report"])
        .arg(report)
        .output()
        .unwrap()
}

#[test]
fn generate_then_validate_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    std::fs::write(
        &report,
        r#"{"id":"r1","title":"Loader","labels":["T1059.001"],
            "observables":[{"kind":"ipv4","value":"203.0.113[.]7"},{"kind":"sha256","value":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}]}"#,
    )
    .unwrap();
    for (lang, ext) in [
        ("sigma", "yml"),
        ("kql", "kql"),
        ("spl", "spl"),
        ("eql", "eql"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_threatmapper"))
            .args([
                "rules",
                "generate",
                "--lang",
                lang,
                "--date",
                "2026-12-04",
                "--report",
            ])
            .arg(&report)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = dir.path().join(format!("rule.{ext}"));
        std::fs::write(&path, &out.stdout).unwrap();
        let v = validate(&["--format", "json"], &[&path]);
        assert_eq!(v.status.code(), Some(0), "{lang}");
        let j: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
        assert_eq!(j["files"][0]["language"], lang);
        assert_eq!(j["files"][0]["status"], "needs_analyst", "{lang}: {j}");
        let fixed = String::from_utf8(out.stdout)
            .unwrap()
            .replace("REPLACE_WITH_BEHAVIOR", "-EncodedCommand");
        std::fs::write(&path, fixed).unwrap();
        let v = validate(&["--deny-warnings"], &[&path]);
        assert_eq!(
            v.status.code(),
            Some(0),
            "{lang}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
    // Bad input: a located JSON error, exit 1; an unknown kind, exit 1.
    std::fs::write(&report, "{\"title\": 1}").unwrap();
    let out = generate_from(&report);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":1:"));
    std::fs::write(
        &report,
        r#"{"title":"x","observables":[{"kind":"asn","value":"1"}]}"#,
    )
    .unwrap();
    let out = generate_from(&report);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("observables[0].kind"));
}

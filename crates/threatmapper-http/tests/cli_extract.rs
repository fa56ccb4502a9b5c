//! End-to-end tests of `threatmapper extract` (the real binary).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_threatmapper"))
}

const REPORT: &str = "Exploited cve-2021-44228 via hxxp://evil[.]example[.]net/x.\n\
                      C2 10.0.0.1:443 and 185.220.101[.]45; mail ops[at]bad[.]ru\n\
                      sha256 E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n";

/// Run the binary with `args`, feeding `input` on standard input.
fn run_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).expect("valid JSON")
}

#[test]
fn extract_file_json_has_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.txt");
    std::fs::write(&path, REPORT).unwrap();
    let out = bin().arg("extract").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out.stdout);
    for k in [
        "cve", "ipv4", "domain", "md5", "sha256", "url", "email", "sha1", "ipv6",
    ] {
        assert!(v[k].is_array(), "missing {k}");
    }
    assert_eq!(v["cve"], serde_json::json!(["CVE-2021-44228"]));
    assert_eq!(v["ipv4"], serde_json::json!(["10.0.0.1", "185.220.101.45"]));
    assert_eq!(
        v["domain"],
        serde_json::json!(["evil.example.net", "bad.ru"])
    );
    assert_eq!(v["url"], serde_json::json!(["http://evil.example.net/x"]));
    assert_eq!(v["email"], serde_json::json!(["ops@bad.ru"]));
    assert_eq!(
        v["sha256"],
        serde_json::json!(["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
    );
    assert_eq!(v["md5"], serde_json::json!([]));
}

#[test]
fn extract_stdin_with_spans_and_text() {
    let out = run_stdin(&["extract", "-", "--spans"], b"see 1.2.3.4 and 1.2.3.4");
    assert!(out.status.success());
    let v = json(&out.stdout);
    assert_eq!(
        v["ipv4"],
        serde_json::json!([{"value": "1.2.3.4", "spans": [[4, 11], [16, 23]]}])
    );

    let out = run_stdin(&["extract", "--format", "text"], REPORT.as_bytes());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("cve\tCVE-2021-44228\nurl\thttp://evil.example.net/x\n"));
}

#[test]
fn extract_kinds_and_warninglist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.txt");
    let wl = dir.path().join("wl.txt");
    std::fs::write(&path, REPORT).unwrap();
    std::fs::write(&wl, "# private ranges\n10.0.0.0/8\n*.ru\n").unwrap();
    let out = bin()
        .arg("extract")
        .arg(&path)
        .args(["--kinds", "ipv4,domain", "--warninglist"])
        .arg(&wl)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = json(&out.stdout);
    assert_eq!(v["ipv4"], serde_json::json!(["185.220.101.45"]));
    assert_eq!(v["domain"], serde_json::json!(["evil.example.net"]));
    assert_eq!(v["cve"], serde_json::json!([]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("suppressed 2"), "{err}");
}

#[test]
fn unreadable_file_exits_2_with_message() {
    let out = bin()
        .args(["extract", "/nonexistent/report.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/report.txt"), "{err}");
    assert!(out.stdout.is_empty());

    let out = bin()
        .args(["extract", "--kinds", "bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus"));

    let out = bin().args(["extract", "--format", "xml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn invalid_utf8_input_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.dat");
    std::fs::write(&path, b"\xff\xfeevil[.]com\x00\x80 8.8.8.8").unwrap();
    let out = bin().arg("extract").arg(&path).output().unwrap();
    assert!(out.status.success());
    let v = json(&out.stdout);
    assert_eq!(v["domain"], serde_json::json!(["evil.com"]));
    assert_eq!(v["ipv4"], serde_json::json!(["8.8.8.8"]));
}

#[test]
fn version_flag() {
    let out = bin().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("threatmapper "));
}

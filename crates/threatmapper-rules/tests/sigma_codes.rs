//! One fixture per diagnostic code, with its position.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use threatmapper_rules::{Status, sigma};

const GOOD: &str = "\
title: Whoami Execution
id: 929a690e-bef0-4204-a928-ef5e620d6fcc
status: experimental
description: Detects whoami
author: ThreatMapper tests
date: 2025-03-01
tags:
    - attack.discovery
    - attack.t1033
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\whoami.exe'
    filter_admin:
        User|startswith: 'adm_'
    condition: selection and not 1 of filter_*
falsepositives:
    - Admin scripts
level: low
";

/// (code, line, column) of each diagnostic.
fn codes(text: &str) -> Vec<(&'static str, usize, usize)> {
    sigma::validate(text)
        .into_iter()
        .map(|d| (d.code, d.line, d.column))
        .collect()
}

#[track_caller]
fn has(text: &str, code: &str, line: usize, column: usize) {
    let got = codes(text);
    assert!(
        got.contains(&(code, line, column)),
        "expected {code} at {line}:{column}, got {got:?}"
    );
}

#[test]
fn the_good_rule_is_ready() {
    assert_eq!(codes(GOOD), []);
    assert_eq!(Status::of(&sigma::validate(GOOD)), Status::Ready);
}

#[test]
fn each_code_at_its_place() {
    has("- a\n- b\n", "SIGMA001", 1, 1);
    has("", "SIGMA001", 1, 1);
    has(
        &GOOD.replace("level: low", "level: low\nlevel: high"),
        "SIGMA002",
        22,
        1,
    );
    has(
        &GOOD.replace("title: Whoami Execution\n", ""),
        "SIGMA010",
        1,
        1,
    );
    has(
        &GOOD.replace("title: Whoami Execution", "title: ''"),
        "SIGMA011",
        1,
        8,
    );
    has(
        &GOOD.replace(
            "title: Whoami Execution",
            &format!("title: {}", "x".repeat(300)),
        ),
        "SIGMA012",
        1,
        8,
    );
    has(
        &GOOD.replace("929a690e-bef0-4204-a928-ef5e620d6fcc", "1234"),
        "SIGMA020",
        2,
        5,
    );
    has(
        &GOOD.replace("id: 929a690e-bef0-4204-a928-ef5e620d6fcc\n", ""),
        "SIGMA021",
        1,
        1,
    );
    has(
        &GOOD.replace("status: experimental", "status: Experimental"),
        "SIGMA030",
        3,
        9,
    );
    has(
        &GOOD.replace("level: low", "level: High"),
        "SIGMA031",
        21,
        8,
    );
    has(
        &GOOD.replace("date: 2025-03-01", "date: 2025/03/01"),
        "SIGMA032",
        6,
        7,
    );
    has(
        &GOOD.replace("date: 2025-03-01", "date: 2025-02-30"),
        "SIGMA032",
        6,
        7,
    );
    has(
        &GOOD.replace("author: ThreatMapper tests", "author: [a, b]"),
        "SIGMA033",
        5,
        9,
    );
    has(
        &GOOD.replace("    - Admin scripts", "    - {a: b}"),
        "SIGMA034",
        20,
        7,
    );
    has(
        &GOOD.replace("attack.t1033", "Attack.T1033"),
        "SIGMA040",
        9,
        7,
    );
    has(
        &GOOD.replace("attack.t1033", "attack.discovery"),
        "SIGMA041",
        9,
        7,
    );
    has(
        &GOOD.replace(
            "logsource:\n    category: process_creation\n    product: windows\n",
            "",
        ),
        "SIGMA050",
        1,
        1,
    );
    has(
        &GOOD.replace(
            "logsource:\n    category: process_creation\n    product: windows\n",
            "logsource: windows\n",
        ),
        "SIGMA051",
        10,
        12,
    );
    has(
        &GOOD.replace(
            "    category: process_creation\n    product: windows\n",
            "    definition: x\n",
        ),
        "SIGMA052",
        11,
        5,
    );
    let no_detection = GOOD.split("detection:").next().unwrap().to_owned() + "level: low\n";
    has(&no_detection, "SIGMA060", 1, 1);
    has(
        &GOOD.replace(
            "    condition: selection and not 1 of filter_*",
            "    condition: selection and not 1 of filter_*\n    empty:",
        ),
        "SIGMA064",
        19,
        10,
    );
    has(
        &GOOD.replace("    condition: selection and not 1 of filter_*\n", ""),
        "SIGMA065",
        14,
        5,
    );
    has(
        &GOOD.replace(
            "selection and not 1 of filter_*",
            "selection and (not filter_admin",
        ),
        "SIGMA066",
        18,
        47,
    );
    has(
        &GOOD.replace(
            "selection and not 1 of filter_*",
            "selection | count() by User > 5",
        ),
        "SIGMA067",
        18,
        16,
    );
    has(
        &GOOD.replace("selection and not 1 of filter_*", "selection and not other"),
        "SIGMA068",
        18,
        16,
    );
    has(
        &GOOD.replace("Image|endswith", "Image|endswth"),
        "SIGMA070",
        15,
        9,
    );
    has(
        &GOOD.replace("Image|endswith", "Image|contains|startswith"),
        "SIGMA071",
        15,
        9,
    );
    has(
        &GOOD.replace("Image|endswith", "Image|re|i|contains"),
        "SIGMA071",
        15,
        9,
    );
    has(
        &GOOD.replace("Image|endswith", "Image|endswith|all"),
        "SIGMA072",
        15,
        9,
    );
    has(
        &GOOD.replace("Whoami Execution", "REPLACE_WITH_BEHAVIOR"),
        "SIGMA900",
        1,
        8,
    );
    // The YAML scanner reports the tab where the plain scalar it continues ends.
    has("title: x\n\tlevel: high\n", "SIGMA000", 1, 8);
}

#[test]
fn correlation_and_filter_rules() {
    let corr = "title: Many failed logins\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  group-by: [User]\n  timespan: 5m\n  condition: {gte: 10}\n";
    assert_eq!(codes(corr), [("SIGMA021", 1, 1)]);
    has(&corr.replace("event_count", "event_cnt"), "SIGMA080", 3, 9);
    has(
        &corr.replace("rules: [failed_login]", "rules: []"),
        "SIGMA081",
        4,
        10,
    );
    has(&corr.replace("5m", "five minutes"), "SIGMA082", 6, 13);
    has(&corr.replace("{gte: 10}", "{gte: ten}"), "SIGMA083", 7, 20);
    let filter = "title: f\nlogsource: {product: windows}\nfilter:\n  rules: [x]\n  selection: {User: adm}\n  condition: selection\n";
    assert_eq!(codes(filter), [("SIGMA021", 1, 1)]);
    has(&filter.replace("  rules: [x]\n", ""), "SIGMA085", 4, 3);
}

#[test]
fn multi_document_files_and_cross_file_checks() {
    let two = format!("{GOOD}---\n{}", GOOD.replace("level: low", "level: Low"));
    let (diags, ids) = sigma::validate_with_identity(&two);
    assert_eq!(ids.len(), 2);
    assert_eq!(diags.len(), 1);
    assert_eq!((diags[0].code, diags[0].line), ("SIGMA031", 43));
    let cross = sigma::cross_file(
        &[(0, ids[0].clone()), (1, ids[1].clone())],
        &["a.yml", "b.yml"],
    );
    let found: Vec<(usize, &str, usize)> =
        cross.iter().map(|(f, d)| (*f, d.code, d.line)).collect();
    assert_eq!(found, [(1, "SIGMA022", 24), (1, "SIGMA013", 23)]);
    assert!(cross[0].1.message.ends_with("also used by a.yml"));
}

#[test]
fn old_mac_line_endings_count_as_lines() {
    // Found by fuzzing: YAML counts a lone CR as a line break.
    let cr = GOOD.replace('\n', "\r");
    let d = sigma::validate(&cr.replace("level: low", "level: High"));
    assert_eq!(
        d.iter().map(|x| (x.code, x.line)).collect::<Vec<_>>(),
        [("SIGMA031", 21)]
    );
}

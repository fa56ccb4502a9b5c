//! Table tests for every extraction rule.

use super::*;
use crate::ObservableKind as K;

fn got(text: &str) -> Vec<(K, String)> {
    extract(text)
        .into_iter()
        .map(|o| (o.kind, o.value))
        .collect()
}

fn of(text: &str, kind: K) -> Vec<String> {
    extract(text)
        .into_iter()
        .filter(|o| o.kind == kind)
        .map(|o| o.value)
        .collect()
}

#[track_caller]
fn check(text: &str, kind: K, want: &[&str]) {
    assert_eq!(of(text, kind), want, "input: {text:?}");
}

#[test]
fn cve_forms() {
    let cases: &[(&str, &[&str])] = &[
        ("CVE-2021-44228", &["CVE-2021-44228"]),
        ("cve-2021-44228", &["CVE-2021-44228"]),
        ("Cve-2021-44228", &["CVE-2021-44228"]),
        ("CVE 2021-44228", &["CVE-2021-44228"]),
        ("CVE\u{2013}2021\u{2013}44228", &["CVE-2021-44228"]),
        ("CVE\u{2011}2024\u{2011}3094", &["CVE-2024-3094"]),
        ("CVE-2021-0001", &["CVE-2021-0001"]),
        ("CVE-2023-1234567", &["CVE-2023-1234567"]),
        ("CVE-2021-123", &[]),
        ("CVE-2024-XXXX", &[]),
        ("CVE-2021-01234", &[]), // 5+ digits cannot start with 0
        ("CVE-21-44228", &[]),
        ("XCVE-2021-44228", &[]),
        ("CVE-2021-44228a", &[]),
        ("(CVE-2021-44228)", &["CVE-2021-44228"]),
        ("see CVE-2021-44228.", &["CVE-2021-44228"]),
        ("`CVE-2021-44228`", &["CVE-2021-44228"]),
        (
            "CVE-2021-44228和CVE-2022-22965",
            &["CVE-2021-44228", "CVE-2022-22965"],
        ),
        (
            "https://nvd.nist.gov/vuln/detail/CVE-2021-44228",
            &["CVE-2021-44228"],
        ),
        ("CVE-1899-1234", &[]),
        // Documented trade-offs of judging whole tokens.
        ("advisory.CVE-2021-44228", &[]),
        ("cve-2021-1234.evil.com", &["CVE-2021-1234"]),
    ];
    for (text, want) in cases {
        check(text, K::Cve, want);
    }
}

#[test]
fn ipv4_forms() {
    let cases: &[(&str, &[&str])] = &[
        ("1.2.3.4", &["1.2.3.4"]),
        ("connect to 8.8.8.8.", &["8.8.8.8"]),
        ("8.8.8[.]8", &["8.8.8.8"]),
        ("8[.]8[.]8[.]8", &["8.8.8.8"]),
        ("8(.)8(.)8(.)8", &["8.8.8.8"]),
        ("8{.}8{.}8{.}8", &["8.8.8.8"]),
        ("8[dot]8[dot]8[dot]8", &["8.8.8.8"]),
        ("8\\.8\\.8\\.8", &["8.8.8.8"]),
        ("010.001.002.003", &["10.1.2.3"]),
        ("192.168.001.010", &["192.168.1.10"]),
        ("256.1.1.1", &[]),
        ("1.2.3.4.5", &[]),
        ("1.3.6.1.4.1.311", &[]), // OID
        ("10.0.0.1.443", &[]),    // netstat ip.port
        ("version 1.2.3", &[]),
        ("10.0.0.1:8080", &["10.0.0.1"]),
        ("10.0.0.0/8", &["10.0.0.0"]),
        ("10.0.0.1-10.0.0.9", &["10.0.0.1", "10.0.0.9"]),
        ("a1.2.3.4", &[]),
        ("1.2.3.4a", &[]),
        ("_1.2.3.4_", &["1.2.3.4"]),
        ("\"1.2.3.4\"", &["1.2.3.4"]),
        ("ip=1.2.3.4&x=1", &["1.2.3.4"]),
        ("|1.2.3.4|", &["1.2.3.4"]),
        ("（1.2.3.4）", &["1.2.3.4"]),
        ("地址1.2.3.4。", &["1.2.3.4"]),
        ("**1.2.3.4**", &["1.2.3.4"]),
        ("<td>1.2.3.4</td>", &["1.2.3.4"]),
        ("0001.2.3.4", &[]),
    ];
    for (text, want) in cases {
        check(text, K::Ipv4, want);
    }
}

#[test]
fn domain_forms() {
    let cases: &[(&str, &[&str])] = &[
        ("evil.com", &["evil.com"]),
        ("Evil.COM", &["evil.com"]),
        ("visit evil.com.", &["evil.com"]),
        ("evil.com.", &["evil.com"]),
        ("evil[.]com", &["evil.com"]),
        ("evil(.)com", &["evil.com"]),
        ("evil{.}com", &["evil.com"]),
        ("evil[dot]com", &["evil.com"]),
        ("evil(dot)com", &["evil.com"]),
        ("evil [.] com", &["evil.com"]),
        ("evil dot com", &["evil.com"]),
        ("evil DOT example DOT net", &["evil.example.net"]),
        ("evil\\.com", &["evil.com"]),
        ("sub.evil.co.uk", &["sub.evil.co.uk"]),
        ("co.uk", &[]),
        ("x.github.io", &["x.github.io"]),
        ("bücher.de", &["xn--bcher-kva.de"]),
        ("BÜCHER.de", &["xn--bcher-kva.de"]),
        ("update.com.exe", &[]),
        ("System.Net.WebClient", &[]),
        ("document.getElementById", &[]),
        ("invoice.zip", &[]),
        ("install.sh", &[]),
        ("x[.]zip", &["x.zip"]),
        ("cdn.files.zip", &["cdn.files.zip"]),
        ("host.local", &[]),
        ("db.internal", &[]),
        ("a.test", &[]),
        ("www.example", &[]),
        ("x.invalid", &[]),
        ("foo.localhost", &[]),
        ("-evil.com", &["evil.com"]),
        ("evil-.com", &[]),
        ("my-site.com", &["my-site.com"]),
        ("evil_x.com", &[]),
        ("a_b.evil.com", &["a_b.evil.com"]),
        ("Win64/X.PE!MTB", &[]),
        ("Trojan.Win32.Agent", &[]),
        ("Backdoor.Cobalt.Strike", &[]),
        ("/usr/lib/site.py", &[]),
        ("/var/www/evil.com", &[]),
        ("C:\\Temp\\evil.com", &[]),
        ("//cdn.evil.com/x.js", &["cdn.evil.com"]),
        ("ycombinator.com", &["ycombinator.com"]),
        ("mdot-pay.com", &["mdot-pay.com"]),
        ("the dot com bubble", &[]),
        ("self.app", &[]),
        ("window.top", &[]),
        ("os.system(cmd)", &[]),
        ("obj.run()", &[]),
        ("(evil.com)", &["evil.com"]),
        ("[evil.com]", &["evil.com"]),
        ("\"evil.com\"", &["evil.com"]),
        ("`evil.com`", &["evil.com"]),
        ("**evil.com**", &["evil.com"]),
        ("访问evil.com获取", &["evil.com"]),
        ("ｅｖｉｌ.com", &[]),
        ("evil.com/path", &["evil.com"]),
        ("evil.com:8443", &["evil.com"]),
        ("a.b.c.d.evil.com", &["a.b.c.d.evil.com"]),
        ("123.com", &["123.com"]),
        ("1.2.3.com", &["1.2.3.com"]),
        ("evil.123", &[]),
        ("v1.2.3", &[]),
        ("e.g. something", &[]),
        ("i.e. something", &[]),
    ];
    for (text, want) in cases {
        check(text, K::Domain, want);
    }
}

#[test]
fn url_forms() {
    let cases: &[(&str, &[&str])] = &[
        ("http://evil.com/a", &["http://evil.com/a"]),
        ("HTTPS://Evil.COM/Path?Q=1", &["https://evil.com/Path?Q=1"]),
        ("hxxp://evil[.]com/gate.php", &["http://evil.com/gate.php"]),
        ("hXXps://evil[.]com/", &["https://evil.com/"]),
        ("hxxps[://]evil[.]com/x", &["https://evil.com/x"]),
        ("http[:]//evil[.]com/x", &["http://evil.com/x"]),
        (
            "fxp://files.evil.net/a.bin",
            &["ftp://files.evil.net/a.bin"],
        ),
        ("http://1.2.3.4:8080/x", &["http://1.2.3.4:8080/x"]),
        (
            "http://[2001:db8::1]:443/p",
            &["http://[2001:db8::1]:443/p"],
        ),
        ("see http://evil.com/a.", &["http://evil.com/a"]),
        ("(http://evil.com/a)", &["http://evil.com/a"]),
        ("[x](http://evil.com/a)", &["http://evil.com/a"]),
        (
            "http://en.wikipedia.org/wiki/Foo_(bar)",
            &["http://en.wikipedia.org/wiki/Foo_(bar)"],
        ),
        (
            "<a href=\"https://evil.com/x?y=1\">",
            &["https://evil.com/x?y=1"],
        ),
        ("'https://evil.com/x'", &["https://evil.com/x"]),
        ("https://evil.com/a[.]php", &["https://evil.com/a.php"]),
        ("http://localhost/x", &[]),
        ("http://intranet/x", &[]),
        ("https://evil.com", &["https://evil.com"]),
        ("https://evil.com, then", &["https://evil.com"]),
        ("https://bücher.de/x", &["https://xn--bcher-kva.de/x"]),
        ("https://x.zip/a", &["https://x.zip/a"]),
    ];
    for (text, want) in cases {
        check(text, K::Url, want);
    }
    // The URL's host is also an observable.
    assert_eq!(
        got("hxxp://evil[.]com/gate.php"),
        [
            (K::Url, "http://evil.com/gate.php".to_owned()),
            (K::Domain, "evil.com".to_owned())
        ]
    );
    assert_eq!(of("http://1.2.3.4:8080/x", K::Ipv4), ["1.2.3.4"]);
    assert_eq!(of("https://x.zip/a", K::Domain), ["x.zip"]);
    // Observables inside a URL's path and query are found too.
    assert_eq!(
        of("https://t.co/r?u=evil.net&cve=CVE-2021-44228", K::Domain),
        ["t.co", "evil.net"]
    );
    assert_eq!(
        of("https://t.co/r?u=evil.net&cve=CVE-2021-44228", K::Cve),
        ["CVE-2021-44228"]
    );
}

#[test]
fn email_forms() {
    let cases: &[(&str, &[&str])] = &[
        ("john@evil.com", &["john@evil.com"]),
        ("John.Doe@Evil.COM", &["john.doe@evil.com"]),
        ("a+tag@evil.com", &["a+tag@evil.com"]),
        ("john[at]evil[.]com", &["john@evil.com"]),
        ("john(at)evil.com", &["john@evil.com"]),
        ("john [at] evil [dot] com", &["john@evil.com"]),
        ("john[@]evil.com", &["john@evil.com"]),
        ("john@localhost", &[]),
        ("@evil.com", &[]),
        ("mailto:john@evil.com", &["john@evil.com"]),
        ("<john@evil.com>", &["john@evil.com"]),
        ("john@evil.zip", &["john@evil.zip"]),
    ];
    for (text, want) in cases {
        check(text, K::Email, want);
    }
    assert_eq!(of("john@evil.com", K::Domain), ["evil.com"]);
    assert_eq!(of("john.smith@evil.com", K::Domain), ["evil.com"]);
}

#[test]
fn hash_forms() {
    let md5 = "d41d8cd98f00b204e9800998ecf8427e";
    let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    check(md5, K::Md5, &[md5]);
    check(&md5.to_uppercase(), K::Md5, &[md5]);
    check(sha1, K::Sha1, &[sha1]);
    check(sha256, K::Sha256, &[sha256]);
    check(sha256, K::Md5, &[]);
    check(&format!("md5:{md5}"), K::Md5, &[md5]);
    check(&format!("({md5})"), K::Md5, &[md5]);
    check(&format!("_{md5}_"), K::Md5, &[md5]);
    check(&format!("0x{sha256}"), K::Sha256, &[]);
    check(&format!("{sha256}aabbcc"), K::Sha256, &[]);
    check(&format!("{md5}{sha256}"), K::Sha256, &[]);
    check(&format!("{md5}{sha256}"), K::Md5, &[]);
    check(&format!("{sha256}g"), K::Sha256, &[]);
    check("12345678901234567890123456789012", K::Md5, &[]);
    check("123e4567-e89b-12d3-a456-426614174000", K::Md5, &[]);
    check(
        &format!("https://www.virustotal.com/gui/file/{sha256}/detection"),
        K::Sha256,
        &[sha256],
    );
    // Every block alignment of the stride scan.
    for pad in 0..40 {
        let text = format!("{}{md5} and {sha256}", " ".repeat(pad));
        assert_eq!(of(&text, K::Md5), [md5], "pad {pad}");
        assert_eq!(of(&text, K::Sha256), [sha256], "pad {pad}");
    }
    check(&md5[..31], K::Md5, &[]);
}

#[test]
fn ipv6_forms() {
    let cases: &[(&str, &[&str])] = &[
        ("2001:db8::1", &["2001:db8::1"]),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", &["2001:db8::1"]),
        ("fe80::1ff:fe23:4567:890a", &["fe80::1ff:fe23:4567:890a"]),
        ("[2001:db8::1]:443", &["2001:db8::1"]),
        ("::ffff:10.0.0.1", &["::ffff:10.0.0.1"]),
        ("12:30:45", &[]),
        ("00:1a:2b:3c:4d:5e", &[]),
        ("std::vec", &[]),
        ("Base::add", &[]),
        ("::", &[]),
        ("see 2001:db8::1.", &["2001:db8::1"]),
        // Found by fuzzing: `1::0` is `1::` canonically, a single group.
        ("date: 1010-1::0-12", &[]),
    ];
    for (text, want) in cases {
        check(text, K::Ipv6, want);
    }
}

#[test]
fn order_dedup_and_spans() {
    let text = "evil.com then 1.2.3.4 then EVIL.com and evil[.]com";
    let found = extract(text);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].value, "evil.com");
    assert_eq!(found[0].spans.len(), 3);
    for s in &found[0].spans {
        assert!(
            text[s.start..s.end].eq_ignore_ascii_case("evil.com")
                || &text[s.start..s.end] == "evil[.]com"
        );
    }
    assert_eq!(found[1].value, "1.2.3.4");
    assert_eq!(
        &text[found[1].spans[0].start..found[1].spans[0].end],
        "1.2.3.4"
    );
}

#[test]
fn markdown_and_html_contexts() {
    let text =
        "| ip | 10.1.1.1 |\n- `bad.example.org`\n<li>CVE-2020-1472</li>\n> hxxp://x[.]evil.ru/a";
    let values: Vec<String> = extract(text).into_iter().map(|o| o.value).collect();
    assert_eq!(
        values,
        [
            "10.1.1.1",
            "bad.example.org",
            "CVE-2020-1472",
            "http://x.evil.ru/a",
            "x.evil.ru"
        ]
    );
}

#[test]
fn bytes_and_garbage_never_panic() {
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff, 0xfe, b'.', 0x80],
        b"\x00evil.com\x00".to_vec(),
        b"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z".repeat(100),
        b"[.][.][.]((((((.)))))){.}".repeat(50),
        b"http://".repeat(1000),
        b"@@@@....::::".repeat(1000),
        vec![b'a'; 100_000],
        b"CVE-".repeat(1000),
        [b"evil".as_slice(), &[0xc3], b".com"].concat(),
    ];
    for i in inputs {
        let _ = extract_bytes(&i);
    }
    assert_eq!(
        extract_bytes(b"\xffevil.com\xfe")
            .first()
            .map(|o| o.value.as_str()),
        Some("evil.com")
    );
}

#[test]
fn warninglist_suppression() {
    let mut wl = Warninglist::new();
    wl.add_value("8.8.8.8");
    wl.add_domain_suffix("microsoft.com").unwrap();
    wl.add_cidr("10.0.0.0/8").unwrap();
    let ex = Extractor::new().warninglist(wl);
    let got = ex.extract(
        b"8.8.8.8 10.2.3.4 update.microsoft.com https://microsoft.com/x a@microsoft.com 1.1.1.1",
    );
    let values: Vec<&str> = got.observables.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(values, ["1.1.1.1"]);
    // 8.8.8.8, 10.2.3.4, update.microsoft.com, the URL, its host, the e-mail.
    assert_eq!(got.suppressed, 6);
}

#[test]
fn streaming_matches_whole_input() {
    let text = crate::extract::tests::sample_corpus();
    let whole = extract_bytes(text.as_bytes());
    assert!(text.len() > 200_000);
    for chunk in [1, 4096, 10_000, 65_536] {
        let streamed = Extractor::new()
            .chunk_size(chunk)
            .extract_reader(text.as_bytes())
            .unwrap()
            .observables;
        assert_eq!(streamed, whole, "chunk {chunk}");
    }
}

pub(super) fn sample_corpus() -> String {
    let parts = [
        "Actor used hxxps://evil[.]example[.]net/dl?id=1 and 185.220.101[.]45 ",
        "with e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855. ",
        "Mail from ops[at]bad-mail[.]ru about CVE-2024-3094; ",
        "beacon to c2 dot badhost dot ru and 2001:db8::7. ",
        "Noise: System.Net.WebClient, invoice.pdf, 10.0.19045.2965. ",
    ];
    let mut s = String::new();
    for i in 0..4000 {
        s.push_str(parts[i % parts.len()]);
        if i % 7 == 0 {
            s.push_str(&format!("host{i}.example.org {i}.{}.1.2 ", i % 250));
        }
    }
    s
}

#[test]
fn threads_and_span_modes_agree() {
    let base = sample_corpus();
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&base);
        text.push_str(&format!(" unique{i}.example.net 10.9.{i}.1 "));
    }
    assert!(text.len() > 3 << 20);
    let one = Extractor::new().extract(text.as_bytes()).observables;
    for t in [2, 3, 4] {
        let many = Extractor::new()
            .threads(t)
            .extract(text.as_bytes())
            .observables;
        assert_eq!(many, one, "threads {t}");
        let streamed = Extractor::new()
            .threads(t)
            .chunk_size(1 << 20)
            .extract_reader(text.as_bytes())
            .unwrap()
            .observables;
        assert_eq!(streamed, one, "streamed threads {t}");
    }
    let first_only = Extractor::new()
        .all_spans(false)
        .extract(text.as_bytes())
        .observables;
    assert_eq!(first_only.len(), one.len());
    for (a, b) in first_only.iter().zip(&one) {
        assert_eq!(a.value, b.value);
        assert_eq!(a.spans, b.spans[..1]);
    }
}

#[test]
fn review_regressions() {
    // A dotted local part followed by `+`/`%` is still an e-mail.
    check(
        "john.doe+tag@gmail.com",
        K::Email,
        &["john.doe+tag@gmail.com"],
    );
    check(
        "first.last%ops@evil.net",
        K::Email,
        &["first.last%ops@evil.net"],
    );
    check("0+_.0@aa.com", K::Email, &["0+_.0@aa.com"]);
    check("0+@a0.com", K::Email, &["0+@a0.com"]);
    // Found by the round-trip property: a CVE-like run inside a local part.
    check(
        "0_cve-1999-0000_@a0.com",
        K::Email,
        &["0_cve-1999-0000_@a0.com"],
    );
    check("0_cve-1999-0000_@a0.com", K::Cve, &[]);
    // Over-long dotted runs are judged whole: no suffix of them is a host.
    check(&format!("{}evil.com", "a.".repeat(512)), K::Domain, &[]);
    check(&format!("{}evil.com", "a.".repeat(200)), K::Domain, &[]);
    check(&format!("x{}evil.com", "-".repeat(255)), K::Domain, &[]);
    check(&format!("{}evil.com", "a[.]".repeat(400)), K::Domain, &[]);
    // Spaced dots next to country codes that are also English words.
    check("evil dot it", K::Domain, &["evil.it"]);
    check("c2 dot evil dot in", K::Domain, &["c2.evil.in"]);
    check("the dot com bubble", K::Domain, &[]);
    // Unbalanced closers in a long URL path are trimmed in linear time.
    let hostile = format!("{}{} ", "http://x.com/".repeat(80), ")".repeat(1000)).repeat(50);
    assert!(!extract(&hostile).is_empty());
}

#[test]
fn long_runs_stream_like_whole_input() {
    for chain in [
        format!("{}evil.com ok.evil.net", "a.".repeat(20_000)),
        format!("{} 1.2.3.4", "7.".repeat(30_000)),
        format!("{}@evil.com x@evil.org", "a".repeat(50_000)),
    ] {
        let whole = extract_bytes(chain.as_bytes());
        for chunk in [4096, 10_000] {
            let streamed = Extractor::new()
                .chunk_size(chunk)
                .extract_reader(chain.as_bytes())
                .unwrap()
                .observables;
            assert_eq!(streamed, whole, "chunk {chunk}");
        }
        assert!(!whole.is_empty());
    }
}

#[test]
fn warninglist_entries_are_canonicalised() {
    let wl =
        Warninglist::parse("010.0.0.1\nevil[.]com\n2001:DB8:0::1\n*.bücher.de\nCVE-2021-44228\n")
            .unwrap();
    assert!(wl.matches(K::Ipv4, "10.0.0.1"));
    assert!(wl.matches(K::Domain, "evil.com"));
    assert!(wl.matches(K::Ipv6, "2001:db8::1"));
    assert!(wl.matches(K::Domain, "shop.xn--bcher-kva.de"));
    assert!(wl.matches(K::Cve, "CVE-2021-44228"));
    assert!(!wl.matches(K::Domain, "notevil.com"));
    assert!(Warninglist::parse("ok.com\n10.0.0.0/99\n").is_err());
}

//! # threatmapper-suite
//!
//! Helpers shared by ThreatMapper's cross-crate tests, examples and
//! benchmarks. Today: a deterministic generator of report-like text with
//! observables (some defanged) and the decoys real reports contain, so that
//! benchmarks and the peer comparison scripts run on the same input.
//!
//! ```
//! let a = threatmapper_suite::report_corpus(10_000, 7);
//! let b = threatmapper_suite::report_corpus(10_000, 7);
//! assert_eq!(a, b);
//! assert!(a.len() >= 10_000);
//! ```

/// A small deterministic PRNG (xorshift64*), so the corpus is identical on
/// every machine and in every run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (a zero seed is replaced by a fixed constant).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One element of a non-empty slice.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "the",
    "actor",
    "campaign",
    "observed",
    "payload",
    "loader",
    "initial",
    "access",
    "via",
    "spearphishing",
    "attachment",
    "which",
    "drops",
    "a",
    "second",
    "stage",
    "that",
    "beacons",
    "to",
    "its",
    "command",
    "and",
    "control",
    "server",
    "over",
    "encrypted",
    "channel",
    "we",
    "assess",
    "with",
    "moderate",
    "confidence",
    "this",
    "activity",
    "overlaps",
    "previous",
    "reporting",
    "on",
    "ransomware",
    "affiliates",
    "targeting",
    "healthcare",
    "finance",
    "sectors",
    "in",
    "several",
    "regions",
    "during",
    "last",
    "quarter",
    "analysts",
    "recommend",
    "blocking",
    "following",
    "indicators",
    "monitoring",
    "for",
    "suspicious",
    "process",
    "creation",
    "events",
    "credential",
    "dumping",
    "lateral",
    "movement",
    "using",
    "remote",
    "services",
    "scheduled",
    "tasks",
    "persistence",
    "registry",
    "run",
    "keys",
    "exfiltration",
    "cloud",
    "storage",
    "infrastructure",
    "rotated",
    "frequently",
    "between",
    "hosting",
    "providers",
    "victims",
    "received",
    "emails",
    "impersonating",
    "invoice",
    "notifications",
    "from",
    "vendors",
];

const TLDS: &[&str] = &[
    "com", "net", "org", "info", "ru", "io", "co.uk", "xyz", "top", "de",
];

fn hex(rng: &mut Rng, n: usize) -> String {
    const H: &[u8] = b"0123456789abcdef";
    (0..n).map(|_| char::from(H[rng.below(16)])).collect()
}

fn name(rng: &mut Rng) -> String {
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    let len = 4 + rng.below(9);
    let mut s: String = (0..len).map(|_| char::from(A[rng.below(26)])).collect();
    if rng.below(4) == 0 {
        s.push('-');
        s.push_str(rng.pick(&["cdn", "update", "secure", "mail", "api"]));
    }
    s
}

fn ip(rng: &mut Rng) -> String {
    format!(
        "{}.{}.{}.{}",
        1 + rng.below(222),
        rng.below(256),
        rng.below(256),
        1 + rng.below(254)
    )
}

fn domain(rng: &mut Rng) -> String {
    let base = format!("{}.{}", name(rng), rng.pick(TLDS));
    if rng.below(3) == 0 {
        format!(
            "{}.{}",
            rng.pick(&["www", "cdn", "api", "login", "files"]),
            base
        )
    } else {
        base
    }
}

fn defang(s: &str, rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => s.replace('.', "[.]"),
        1 => s.replace('.', "(.)"),
        2 => match s.rfind('.') {
            Some(i) => format!("{}[.]{}", &s[..i], &s[i + 1..]),
            None => s.to_owned(),
        },
        _ => s.replace('.', "[dot]"),
    }
}

/// One observable or decoy, as it would be written in a report.
fn ioc(rng: &mut Rng) -> String {
    match rng.below(20) {
        0 | 1 => ip(rng),
        2 => defang(&ip(rng), rng),
        3 | 4 => domain(rng),
        5 => defang(&domain(rng), rng),
        6 => format!("https://{}/{}/{}.php", domain(rng), name(rng), name(rng)),
        7 => format!(
            "hxxp://{}/gate?id={}",
            defang(&domain(rng), rng),
            rng.below(100_000)
        ),
        8 => format!("{}@{}", name(rng), domain(rng)),
        9 => hex(rng, 32),
        10 => hex(rng, 40),
        11 | 12 => hex(rng, 64).to_uppercase(),
        13 => format!("CVE-{}-{}", 2015 + rng.below(11), 1000 + rng.below(60_000)),
        // Decoys: versions, file names, code, paths, times, GUIDs, AV names.
        14 => format!("v{}.{}.{}", rng.below(10), rng.below(30), rng.below(200)),
        15 => format!(
            "{}.{}",
            name(rng),
            rng.pick(&["exe", "dll", "pdf", "docx", "zip", "ps1"])
        ),
        16 => rng
            .pick(&[
                "System.Net.WebClient",
                "document.getElementById",
                "os.system",
                "Trojan.Win32.Agent",
            ])
            .to_owned(),
        17 => format!(
            "C:\\Users\\{}\\AppData\\Roaming\\{}.dat",
            name(rng),
            name(rng)
        ),
        18 => format!(
            "{:02}:{:02}:{:02} UTC",
            rng.below(24),
            rng.below(60),
            rng.below(60)
        ),
        _ => format!(
            "{}-{}-{}-{}-{}",
            hex(rng, 8),
            hex(rng, 4),
            hex(rng, 4),
            hex(rng, 4),
            hex(rng, 12)
        ),
    }
}

/// Report-like English prose of at least `target_bytes` bytes with about one
/// observable or decoy every 300 bytes; identical for the same seed.
pub fn report_corpus(target_bytes: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(target_bytes + 256);
    while out.len() < target_bytes {
        let words = 8 + rng.below(16);
        for w in 0..words {
            if w == 0 {
                let word = rng.pick(WORDS);
                let mut cs = word.chars();
                if let Some(f) = cs.next() {
                    out.extend(f.to_uppercase());
                    out.push_str(cs.as_str());
                }
            } else {
                out.push_str(rng.pick(WORDS));
            }
            if w + 1 < words {
                out.push(if rng.below(12) == 0 { ',' } else { ' ' });
                if out.ends_with(',') {
                    out.push(' ');
                }
            }
        }
        if rng.below(2) == 0 {
            out.push_str(rng.pick(&[" at ", " (", " including ", ": "]));
            out.push_str(&ioc(&mut rng));
            if out.ends_with(|c: char| c.is_alphanumeric()) && rng.below(3) == 0 {
                out.push(')');
            }
        }
        out.push_str(rng.pick(&[". ", ". ", ".\n", ".\n\n"]));
    }
    out
}

/// A STIX 2.1 bundle with one report referencing `n` indicators (IPv4,
/// domain and SHA-256 patterns in turn) plus an identity; deterministic.
pub fn stix_bundle(n: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let ts = "2024-01-01T00:00:00.000Z";
    let uuid = |rng: &mut Rng| {
        format!(
            "{}-{}-4{}-8{}-{}",
            hex(rng, 8),
            hex(rng, 4),
            hex(rng, 3),
            hex(rng, 3),
            hex(rng, 12)
        )
    };
    let mut objects = Vec::with_capacity(n + 2);
    let identity = format!("identity--{}", uuid(&mut rng));
    objects.push(format!(
        r#"{{"type":"identity","spec_version":"2.1","id":"{identity}","created":"{ts}","modified":"{ts}","name":"Bench CERT","identity_class":"organization"}}"#
    ));
    let mut refs = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("indicator--{}", uuid(&mut rng));
        let pattern = match i % 3 {
            0 => format!("[ipv4-addr:value = '{}']", ip(&mut rng)),
            1 => format!("[domain-name:value = '{}']", domain(&mut rng)),
            _ => format!("[file:hashes.'SHA-256' = '{}']", hex(&mut rng, 64)),
        };
        objects.push(format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created":"{ts}","modified":"{ts}","created_by_ref":"{identity}","name":"Indicator {i}","indicator_types":["malicious-activity"],"pattern_type":"stix","pattern":"{pattern}","valid_from":"{ts}"}}"#
        ));
        refs.push(format!("\"{id}\""));
    }
    objects.push(format!(
        r#"{{"type":"report","spec_version":"2.1","id":"report--{}","created":"{ts}","modified":"{ts}","created_by_ref":"{identity}","name":"Bench report","published":"{ts}","report_types":["threat-report"],"object_refs":[{}]}}"#,
        uuid(&mut rng),
        refs.join(",")
    ));
    format!(
        r#"{{"type":"bundle","id":"bundle--{}","objects":[{}]}}"#,
        uuid(&mut rng),
        objects.join(",")
    )
}

/// An RSS 2.0 feed of `n` report-like entries (HTML descriptions with
/// observables); deterministic.
pub fn rss_feed(n: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Bench CERT</title><link>https://cert.example.org/</link><description>bench</description>\n",
    );
    for i in 0..n {
        let body = report_corpus(600, rng.next_u64());
        let body = body
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        s.push_str(&format!(
            "<item><title>Advisory {i}: {}</title><link>https://cert.example.org/advisories/{i}</link><guid>adv-{i}</guid><pubDate>Tue, 03 Dec 2024 10:00:00 GMT</pubDate><category>malware</category><description>&lt;p&gt;{body}&lt;/p&gt;</description></item>\n",
            name(&mut rng)
        ));
    }
    s.push_str("</channel></rss>\n");
    s
}

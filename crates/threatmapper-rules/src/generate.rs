//! Rule skeletons generated from a report and its observables.
//!
//! Every skeleton carries [`PLACEHOLDER`] where analyst judgement is needed
//! (the behaviour to detect); the observables go into one clause per family
//! (network addresses, DNS names, file hashes). Output is deterministic: the
//! rule id and the date are parameters, and values keep their input order.

use std::fmt::Write as _;

use threatmapper_core::ObservableKind;

use crate::sigma::PLACEHOLDER;

/// A rule language of the Detection Studio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Sigma (YAML).
    Sigma,
    /// Kusto (Microsoft Sentinel / Defender).
    Kql,
    /// Splunk SPL.
    Spl,
    /// Elastic EQL.
    Eql,
}

impl Language {
    /// Every language.
    pub const ALL: [Language; 4] = [Language::Sigma, Language::Kql, Language::Spl, Language::Eql];

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Sigma => "sigma",
            Language::Kql => "kql",
            Language::Spl => "spl",
            Language::Eql => "eql",
        }
    }

    /// Parse a lowercase name.
    pub fn parse(s: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The language of a file, by extension (`.yml`/`.yaml` are Sigma).
    pub fn from_extension(ext: &str) -> Option<Language> {
        match ext.to_ascii_lowercase().as_str() {
            "yml" | "yaml" => Some(Language::Sigma),
            "kql" => Some(Language::Kql),
            "spl" => Some(Language::Spl),
            "eql" => Some(Language::Eql),
            _ => None,
        }
    }
}

/// What a skeleton is generated from.
#[derive(Debug, Clone)]
pub struct RuleContext<'a> {
    /// The report's id in the store (cited in the rule).
    pub report_id: &'a str,
    /// The report's title.
    pub title: &'a str,
    /// The report's summary.
    pub description: &'a str,
    /// Reference URLs.
    pub references: &'a [String],
    /// Labels; ATT&CK (`T1059.001`) and ATLAS (`AML.T0043`) technique ids and
    /// CVE ids among them become tags.
    pub labels: &'a [String],
    /// Observables (kind, canonical value).
    pub observables: &'a [(ObservableKind, String)],
    /// Author written into the rule.
    pub author: &'a str,
    /// Date written into the rule.
    pub date: chrono::NaiveDate,
    /// Rule id (a UUID chosen by the caller).
    pub rule_id: uuid::Uuid,
}

struct Families<'a> {
    ips: Vec<&'a str>,
    domains: Vec<&'a str>,
    md5: Vec<&'a str>,
    sha1: Vec<&'a str>,
    sha256: Vec<&'a str>,
    cves: Vec<&'a str>,
}

impl<'a> Families<'a> {
    fn of(obs: &'a [(ObservableKind, String)]) -> Self {
        let pick = |k: &[ObservableKind]| -> Vec<&'a str> {
            let mut v: Vec<&str> = obs
                .iter()
                .filter(|(kind, _)| k.contains(kind))
                .map(|(_, v)| v.as_str())
                .collect();
            let mut seen = std::collections::HashSet::new();
            v.retain(|x| seen.insert(*x));
            v
        };
        Families {
            ips: pick(&[ObservableKind::Ipv4, ObservableKind::Ipv6]),
            domains: pick(&[ObservableKind::Domain]),
            md5: pick(&[ObservableKind::Md5]),
            sha1: pick(&[ObservableKind::Sha1]),
            sha256: pick(&[ObservableKind::Sha256]),
            cves: pick(&[ObservableKind::Cve]),
        }
    }

    /// Every hash value, MD5 first, then SHA-1, then SHA-256.
    fn all_hashes(&self) -> Vec<&'a str> {
        self.md5
            .iter()
            .chain(&self.sha1)
            .chain(&self.sha256)
            .copied()
            .collect()
    }

    fn hashes(&self) -> bool {
        !(self.md5.is_empty() && self.sha1.is_empty() && self.sha256.is_empty())
    }

    fn any(&self) -> bool {
        !self.ips.is_empty() || !self.domains.is_empty() || self.hashes()
    }
}

/// Generate a skeleton in one language.
///
/// ```
/// use threatmapper_core::ObservableKind;
/// use threatmapper_rules::generate::{generate, Language, RuleContext};
/// let obs = [(ObservableKind::Ipv4, "203.0.113.7".to_string())];
/// let ctx = RuleContext {
///     report_id: "r-1", title: "Loader campaign", description: "", references: &[],
///     labels: &["T1059.001".to_string()], observables: &obs, author: "analyst",
///     date: chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
///     rule_id: uuid::Uuid::nil(),
/// };
/// let kql = generate(Language::Kql, &ctx);
/// assert!(kql.contains(r#"dynamic(["203.0.113.7"])"#));
/// assert!(kql.contains("REPLACE_WITH_BEHAVIOR"));
/// ```
pub fn generate(lang: Language, ctx: &RuleContext<'_>) -> String {
    let f = Families::of(ctx.observables);
    match lang {
        Language::Sigma => sigma(ctx, &f),
        Language::Kql => kql(ctx, &f),
        Language::Spl => spl(ctx, &f),
        Language::Eql => eql(ctx, &f),
    }
}

/// One line of text: newlines and control characters become spaces.
fn one_line(s: &str, max: usize) -> String {
    let t: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    t.chars().take(max).collect()
}

/// A YAML single-quoted scalar.
fn yq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A Sigma value: `\`, `*` and `?` are escaped (they are wildcards in Sigma).
fn sigma_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '*' | '?') {
            out.push('\\');
        }
        out.push(c);
    }
    yq(&out)
}

/// A double-quoted string literal with `\` and `"` escaped (KQL, SPL, EQL).
fn dq(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn dq_list(v: &[&str]) -> String {
    v.iter().map(|s| dq(s)).collect::<Vec<_>>().join(", ")
}

/// Sigma tags for technique ids and CVE ids among the labels and observables.
fn tags(ctx: &RuleContext<'_>, f: &Families<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for l in ctx.labels {
        let l = l.trim();
        let upper = l.to_ascii_uppercase();
        let technique = |t: &str| {
            t.strip_prefix('T').is_some_and(|rest| {
                let (main, sub) = rest.split_once('.').unwrap_or((rest, ""));
                main.len() == 4
                    && main.bytes().all(|b| b.is_ascii_digit())
                    && (sub.is_empty()
                        || (sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit())))
            })
        };
        if technique(&upper) {
            out.push(format!("attack.{}", upper.to_ascii_lowercase()));
        } else if let Some(rest) = upper.strip_prefix("AML.")
            && technique(rest)
        {
            out.push(format!("atlas.aml.{}", rest.to_ascii_lowercase()));
        }
    }
    for c in &f.cves {
        if let Some(rest) = c.strip_prefix("CVE-") {
            out.push(format!("cve.{rest}"));
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| seen.insert(t.clone()));
    out
}

fn sigma(ctx: &RuleContext<'_>, f: &Families<'_>) -> String {
    let mut s = String::new();
    let title = one_line(ctx.title, 200);
    let title = if title.is_empty() {
        "Untitled report".to_owned()
    } else {
        title
    };
    let _ = writeln!(s, "title: {}", yq(&title));
    let _ = writeln!(s, "id: {}", ctx.rule_id);
    s.push_str("status: experimental\n");
    let desc = one_line(ctx.description, 800);
    let _ = writeln!(
        s,
        "description: {}",
        yq(&format!(
            "{}{}Skeleton generated by ThreatMapper from report {}; review every value before deploying.",
            desc,
            if desc.is_empty() { "" } else { " " },
            one_line(ctx.report_id, 100)
        ))
    );
    if !ctx.references.is_empty() {
        s.push_str("references:\n");
        for r in ctx.references {
            let _ = writeln!(s, "    - {}", yq(&one_line(r, 2048)));
        }
    }
    let _ = writeln!(s, "author: {}", yq(&one_line(ctx.author, 200)));
    let _ = writeln!(s, "date: {}", ctx.date.format("%Y-%m-%d"));
    let t = tags(ctx, f);
    if !t.is_empty() {
        s.push_str("tags:\n");
        for tag in t {
            let _ = writeln!(s, "    - {tag}");
        }
    }
    s.push_str("logsource:\n    product: windows\n    service: sysmon\ndetection:\n");
    let list = |s: &mut String, name: &str, field: &str, vals: &[String]| {
        let _ = writeln!(s, "    {name}:\n        {field}:");
        for v in vals {
            let _ = writeln!(s, "            - {v}");
        }
    };
    if !f.ips.is_empty() {
        let vals: Vec<String> = f.ips.iter().map(|v| sigma_value(v)).collect();
        list(&mut s, "ioc_network", "DestinationIp", &vals);
    }
    if !f.domains.is_empty() {
        let vals: Vec<String> = f.domains.iter().map(|v| sigma_value(v)).collect();
        list(&mut s, "ioc_dns", "QueryName", &vals);
    }
    if f.hashes() {
        let vals: Vec<String> = f
            .md5
            .iter()
            .map(|h| format!("MD5={h}"))
            .chain(f.sha1.iter().map(|h| format!("SHA1={h}")))
            .chain(f.sha256.iter().map(|h| format!("SHA256={h}")))
            .map(|v| sigma_value(&v))
            .collect();
        list(&mut s, "ioc_hashes", "Hashes|contains", &vals);
    }
    let _ = writeln!(
        s,
        "    behavior:\n        CommandLine|contains: {}",
        yq(PLACEHOLDER)
    );
    if f.any() {
        s.push_str("    condition: 1 of ioc_* and behavior\n");
    } else {
        s.push_str("    condition: behavior\n");
    }
    s.push_str("falsepositives:\n    - 'Legitimate activity involving the listed infrastructure: review each value'\n");
    s.push_str("level: medium\n");
    s
}

fn header(ctx: &RuleContext<'_>, open: &str, close: &str) -> String {
    // Report text must not be able to close the comment early.
    let safe = |t: String| t.replace("*/", "* /").replace("```", "'''");
    format!(
        "{open} ThreatMapper skeleton for report {}: {}{close}\n{open} Analyst review required: replace {PLACEHOLDER} with the behaviour to detect.{close}\n",
        safe(one_line(ctx.report_id, 100)),
        safe(one_line(ctx.title, 200)),
    )
}

fn kql(ctx: &RuleContext<'_>, f: &Families<'_>) -> String {
    let mut s = header(ctx, "//", "");
    let behavior = format!(
        "| where InitiatingProcessCommandLine has {}",
        dq(PLACEHOLDER)
    );
    if !f.any() {
        let _ = writeln!(
            s,
            "DeviceProcessEvents\n| where ProcessCommandLine has {}\n| project Timestamp, DeviceName, AccountName, ProcessCommandLine",
            dq(PLACEHOLDER)
        );
        return s;
    }
    let hashes = f.all_hashes();
    if !f.ips.is_empty() {
        let _ = writeln!(s, "let ioc_ips = dynamic([{}]);", dq_list(&f.ips));
    }
    if !f.domains.is_empty() {
        let _ = writeln!(s, "let ioc_domains = dynamic([{}]);", dq_list(&f.domains));
    }
    if !hashes.is_empty() {
        let _ = writeln!(s, "let ioc_hashes = dynamic([{}]);", dq_list(&hashes));
    }
    let mut legs = Vec::new();
    let mut net = Vec::new();
    if !f.ips.is_empty() {
        net.push("RemoteIP in (ioc_ips)");
    }
    if !f.domains.is_empty() {
        net.push("RemoteUrl has_any (ioc_domains)");
    }
    if !net.is_empty() {
        legs.push(format!(
            "(DeviceNetworkEvents | where {})",
            net.join(" or ")
        ));
    }
    if !hashes.is_empty() {
        legs.push(
            "(DeviceFileEvents | where SHA256 in (ioc_hashes) or SHA1 in (ioc_hashes) or MD5 in (ioc_hashes))"
                .to_owned(),
        );
    }
    let _ = writeln!(s, "union isfuzzy=true\n    {}", legs.join(",\n    "));
    let _ = writeln!(s, "{behavior}");
    s.push_str("| project Timestamp, DeviceName, ActionType, RemoteIP, RemoteUrl, SHA256, InitiatingProcessCommandLine\n");
    s
}

fn spl(ctx: &RuleContext<'_>, f: &Families<'_>) -> String {
    let mut s = header(ctx, "```", "```");
    let mut terms = Vec::new();
    if !f.ips.is_empty() {
        terms.push(format!("dest_ip IN ({})", dq_list(&f.ips)));
    }
    if !f.domains.is_empty() {
        terms.push(format!("query IN ({})", dq_list(&f.domains)));
    }
    let hashes = f.all_hashes();
    if !hashes.is_empty() {
        terms.push(format!("file_hash IN ({})", dq_list(&hashes)));
    }
    let behavior = format!("process={}", dq(&format!("*{PLACEHOLDER}*")));
    if terms.is_empty() {
        let _ = writeln!(s, "index=* {behavior}");
    } else {
        let _ = writeln!(s, "index=* ({}) {behavior}", terms.join(" OR "));
    }
    s.push_str(
        "| stats count min(_time) AS first_seen max(_time) AS last_seen BY host, src_ip, dest_ip\n",
    );
    s
}

fn eql(ctx: &RuleContext<'_>, f: &Families<'_>) -> String {
    let mut s = header(ctx, "/*", " */");
    let mut terms = Vec::new();
    if !f.ips.is_empty() {
        terms.push(format!("destination.ip in ({})", dq_list(&f.ips)));
    }
    if !f.domains.is_empty() {
        terms.push(format!("dns.question.name in ({})", dq_list(&f.domains)));
    }
    for (field, v) in [
        ("process.hash.md5", &f.md5),
        ("process.hash.sha1", &f.sha1),
        ("process.hash.sha256", &f.sha256),
    ] {
        if !v.is_empty() {
            terms.push(format!("{field} in ({})", dq_list(v)));
        }
    }
    let behavior = format!("process.command_line : {}", dq(&format!("*{PLACEHOLDER}*")));
    if terms.is_empty() {
        let _ = writeln!(s, "any where {behavior}");
    } else {
        let _ = writeln!(s, "any where ({}) and {behavior}", terms.join(" or "));
    }
    s
}
